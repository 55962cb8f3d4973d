import { expect } from 'chai';
import type { ErrorCode } from '../../lib/base/errors.js';
import { isFlotillaError } from '../../lib/base/errors.js';
import { MetadataDelta } from '../../lib/metadata/delta.js';
import { partitionsOf, placementNodes, planDecommission } from '../../lib/metadata/placement.js';
import type { MetadataRecord } from '../../lib/metadata/records.js';
import { createPartitionsRecords, createTopicRecords, deleteTopicRecords, validateTopicName } from '../../lib/metadata/topics.js';
import { register, replay, uuidOf } from './helpers.js';

function expectCode(fn: () => unknown, code: ErrorCode, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isFlotillaError(err, code), String(err)).to.equal(true);
    expect(String(err)).to.match(pattern);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('metadata/topics', () => {
  const cluster = replay([register(0, 'a'), register(1, 'b'), register(2, 'c'), register(3, 'a', true)]);

  it('validates topic names as Kafka does', () => {
    for (const ok of ['orders', 'a.b-c_D9', 'x'.repeat(249)]) validateTopicName(ok);
    expectCode(() => validateTopicName(''), 'INVALID_TOPIC', /is empty/);
    expectCode(() => validateTopicName('.'), 'INVALID_TOPIC', /cannot be "\." or "\.\."/);
    expectCode(() => validateTopicName('..'), 'INVALID_TOPIC', /cannot be/);
    expectCode(() => validateTopicName('x'.repeat(250)), 'INVALID_TOPIC', /longer than 249/);
    expectCode(() => validateTopicName('a b'), 'INVALID_TOPIC', /may contain only/);
  });

  it('creates a topic on the unfenced nodes only, spreading racks', () => {
    const records = createTopicRecords(cluster, { name: 'orders', topicId: uuidOf(1), partitionCount: 6, replicationFactor: 3 });
    // New topics take the dense offset layout (only client batches and markers take offsets).
    expect(records[0]).to.deep.equal({ type: 'Topic', topicId: uuidOf(1), name: 'orders', replicationFactor: 3, offsetLayout: 2 });
    const partitions = records.slice(1);
    expect(partitions).to.have.length(6);
    for (const r of partitions) {
      if (r.type !== 'Partition') throw new Error(r.type);
      expect([...r.replicas].sort()).to.deep.equal([0, 1, 2]);
    }
  });

  it('rejects bad requests with clear errors', () => {
    const req = { name: 'orders', topicId: uuidOf(1), partitionCount: 1, replicationFactor: 1 };
    expectCode(() => createTopicRecords(cluster, { ...req, name: 'a/b' }), 'INVALID_TOPIC', /topic name "a\/b"/);
    expectCode(() => createTopicRecords(cluster, { ...req, topicId: 'nope' }), 'INVALID_TOPIC', /not a UUID/);
    expectCode(() => createTopicRecords(cluster, { ...req, partitionCount: 0 }), 'INVALID_TOPIC', /partition count 0/);
    expectCode(() => createTopicRecords(cluster, { ...req, replicationFactor: 0 }), 'INVALID_TOPIC', /replication factor 0/);
    // Node 3 is fenced: three eligible nodes.
    expectCode(() => createTopicRecords(cluster, { ...req, replicationFactor: 4 }), 'NOT_ENOUGH_NODES', /replication factor 4 exceeds the 3 eligible/);
    const withTopic = replay(createTopicRecords(cluster, req), cluster);
    expectCode(() => createTopicRecords(withTopic, { ...req, topicId: uuidOf(2) }), 'TOPIC_EXISTS', /"orders" already exists/);
    expectCode(() => createTopicRecords(withTopic, { ...req, name: 'other' }), 'TOPIC_EXISTS', /is taken/);
    expectCode(() => deleteTopicRecords(withTopic, 'missing'), 'UNKNOWN_TOPIC', /"missing" does not exist/);
    expectCode(() => createPartitionsRecords(withTopic, 'orders', 1), 'INVALID_TOPIC', /must be larger/);
    expectCode(() => createPartitionsRecords(withTopic, 'missing', 3), 'UNKNOWN_TOPIC', /does not exist/);
  });

  it('grows a topic, placing the new partitions by load', () => {
    const req = { name: 'orders', topicId: uuidOf(1), partitionCount: 2, replicationFactor: 2 };
    const image = replay(createTopicRecords(cluster, req), cluster);
    const grown = replay(createPartitionsRecords(image, 'orders', 5), image);
    const partitions = grown.topicsByName.get('orders')?.partitions ?? [];
    expect(partitions.map((p) => p.partition)).to.deep.equal([0, 1, 2, 3, 4]);
    const load = [0, 1, 2].map((id) => partitions.filter((p) => p.replicas.includes(id)).length);
    expect(Math.max(...load) - Math.min(...load)).to.be.at.most(1);
    expect(load.reduce((a, b) => a + b)).to.equal(10);
  });

  it('decommissions a node end to end: the plan as records, the node stops everything, others start', () => {
    const four = replay([register(3, 'a', false)], cluster);
    const image = replay(createTopicRecords(four, { name: 'orders', topicId: uuidOf(1), partitionCount: 8, replicationFactor: 3 }), four);
    const held = image.replicasOn(3).length;
    expect(held).to.be.greaterThan(0);
    const plan = planDecommission({ nodeId: 3, partitions: partitionsOf(image), nodes: placementNodes(image) });
    const records: MetadataRecord[] = plan.map((p) => ({ type: 'Partition', topicId: p.topicId, partition: p.partition, replicas: p.replicas }));
    records.push({ type: 'BrokerFencing', brokerId: 3, fenced: true });
    const delta = new MetadataDelta(image).replayAll(records);
    const leaving = delta.replicaChangesFor(3);
    expect(leaving.start).to.deep.equal([]);
    expect(leaving.stop).to.have.length(held);
    for (const s of leaving.stop) expect(s.deleted).to.equal(false);
    // Node 3 was in rack "a" with node 0: rack spread sends its replicas to node 0.
    expect(delta.replicaChangesFor(0).start).to.have.length(held);
    expect(delta.apply().replicasOn(3)).to.deep.equal([]);
  });
});
