import { expect } from 'chai';
import fc from 'fast-check';
import { isFlotillaError } from '../../lib/base/errors.js';
import { MetadataDelta } from '../../lib/metadata/delta.js';
import { MetadataImage, imageToRecords, imagesEqual } from '../../lib/metadata/image.js';
import type { MetadataRecord } from '../../lib/metadata/records.js';
import { decodeRecord, encodeRecord, metadataPackr, recordToValue } from '../../lib/metadata/records.js';
import { decodeSnapshot, encodeSnapshot } from '../../lib/metadata/snapshot.js';
import { createTopicRecords, deleteTopicRecords } from '../../lib/metadata/topics.js';
import { register, replay, uuidOf } from './helpers.js';
import { quotaEntries } from '../../lib/quota/entries.js';

function expectCorrupt(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isFlotillaError(err, 'CORRUPT'), String(err)).to.equal(true);
    expect(String(err)).to.match(pattern);
    return;
  }
  expect.fail('expected CORRUPT');
}

const T1 = uuidOf(1);

describe('metadata/delta', () => {
  const cluster = replay([register(0, 'a'), register(1, 'b'), register(2, 'c')]);

  it('creates a topic: image by name and id, changes, replicas to start on each node', () => {
    const records = createTopicRecords(cluster, { name: 'orders', topicId: T1, partitionCount: 3, replicationFactor: 2, configs: new Map([['retention.ms', '1000']]) });
    const delta = new MetadataDelta(cluster).replayAll(records);
    const image = delta.apply();
    const topic = image.topicsByName.get('orders');
    expect(topic?.topicId).to.equal(T1);
    expect(image.topicsById.get(T1)).to.equal(topic);
    expect(topic?.partitions.map((p) => p.partition)).to.deep.equal([0, 1, 2]);
    expect(image.topicConfig('orders').get('retention.ms')).to.equal('1000');
    const changes = delta.changes();
    expect(changes.topicsCreated).to.deep.equal([T1]);
    expect(changes.topicsDeleted).to.deep.equal([]);
    expect(changes.partitionsChanged.map((p) => p.partition)).to.deep.equal([0, 1, 2]);
    expect(changes.configsChanged).to.deep.equal(['topic:orders']);
    expect(changes.brokersChanged).to.deep.equal([]);
    for (const node of [0, 1, 2]) {
      const rc = delta.replicaChangesFor(node);
      const expected = (topic?.partitions ?? []).filter((p) => p.replicas.includes(node)).map((p) => p.partition);
      expect(rc.start.map((s) => s.partition)).to.deep.equal(expected);
      expect(rc.stop).to.deep.equal([]);
      expect(rc.update).to.deep.equal([]);
      for (const s of rc.start) expect(s.topicName).to.equal('orders');
    }
    // 3 partitions x 2 replicas over 3 nodes: 2 each.
    expect([0, 1, 2].map((n) => delta.replicaChangesFor(n).start.length)).to.deep.equal([2, 2, 2]);
    // The base image is untouched.
    expect(cluster.topicsByName.size).to.equal(0);
    expect(Object.isFrozen(image)).to.equal(true);
  });

  it('offset layouts: a new topic is layout 2, a Topic record without the field (before layouts) is layout 1; both survive a snapshot', () => {
    const fresh = replay(createTopicRecords(cluster, { name: 'dense', topicId: T1, partitionCount: 1, replicationFactor: 1 }), cluster);
    const old = new MetadataDelta(fresh).replayAll([{ type: 'Topic', topicId: uuidOf(2), name: 'old', replicationFactor: 1 }]).apply();
    expect(old.topicsByName.get('dense')?.offsetLayout).to.equal(2);
    expect(old.topicsByName.get('old')?.offsetLayout).to.equal(1);
    const records = imageToRecords(old);
    // Layout 1 topics are written as version-0 records, as before; layout 2 as version 1.
    expect(records.filter((r) => r.type === 'Topic').map((r) => recordToValue(r).slice(0, 2))).to.deep.equal([[4, 1], [4, 0]]);
    const again = replay(records.map((r) => decodeRecord(encodeRecord(r))));
    expect(imagesEqual(again, old)).to.equal(true);
    expect(again.topicsByName.get('dense')?.offsetLayout).to.equal(2);
    expect(again.topicsByName.get('old')?.offsetLayout).to.equal(1);
  });

  it('deletes a topic: stops with deleted=true, drops its configs, frees the name', () => {
    const created = replay(createTopicRecords(cluster, { name: 'orders', topicId: T1, partitionCount: 2, replicationFactor: 3, configs: new Map([['a', 'b']]) }), cluster);
    const delta = new MetadataDelta(created).replayAll(deleteTopicRecords(created, 'orders'));
    const image = delta.apply();
    expect(image.topicsByName.has('orders')).to.equal(false);
    expect(image.topicsById.has(T1)).to.equal(false);
    expect(image.topicConfig('orders').size).to.equal(0);
    expect(delta.changes().topicsDeleted).to.deep.equal([T1]);
    expect(delta.changes().configsChanged).to.deep.equal(['topic:orders']);
    for (const node of [0, 1, 2]) {
      const rc = delta.replicaChangesFor(node);
      expect(rc.start).to.deep.equal([]);
      expect(rc.stop.map((s) => [s.partition, s.deleted])).to.deep.equal([[0, true], [1, true]]);
    }
    // The name can be taken again, by a new id.
    const again = replay(createTopicRecords(image, { name: 'orders', topicId: uuidOf(2), partitionCount: 1, replicationFactor: 1 }), image);
    expect(again.topicsByName.get('orders')?.topicId).to.equal(uuidOf(2));
  });

  it('a topic created and deleted in one delta is neither created nor deleted, and starts nothing', () => {
    const delta = new MetadataDelta(cluster).replayAll([
      ...createTopicRecords(cluster, { name: 'tmp', topicId: T1, partitionCount: 2, replicationFactor: 3 }),
      { type: 'RemoveTopic', topicId: T1 },
    ]);
    const changes = delta.changes();
    expect(changes.topicsCreated).to.deep.equal([]);
    expect(changes.topicsDeleted).to.deep.equal([]);
    expect(delta.replicaChangesFor(0)).to.deep.equal({ start: [], stop: [], update: [] });
    expect(imagesEqual(delta.apply(), cluster)).to.equal(true);
  });

  it('reassigns: the new replica starts, the removed one stops (data kept), the kept ones update', () => {
    const base = replay([
      register(3, 'd'),
      { type: 'Topic', topicId: T1, name: 'orders', replicationFactor: 3 },
      { type: 'Partition', topicId: T1, partition: 0, replicas: [0, 1, 2] },
      { type: 'Partition', topicId: T1, partition: 1, replicas: [1, 2, 3] },
      { type: 'PartitionLeader', topicId: T1, partition: 0, leaderId: 2, leaderEpoch: 5 },
    ], cluster);
    const delta = new MetadataDelta(base);
    delta.replay({ type: 'Partition', topicId: T1, partition: 0, replicas: [3, 0, 1] });
    expect(delta.replicaChangesFor(3).start).to.deep.equal([{ topicId: T1, topicName: 'orders', partition: 0, replicas: [3, 0, 1] }]);
    expect(delta.replicaChangesFor(2).stop).to.deep.equal([{ topicId: T1, topicName: 'orders', partition: 0, deleted: false }]);
    expect(delta.replicaChangesFor(0).update.map((u) => u.partition)).to.deep.equal([0]);
    expect(delta.replicaChangesFor(0).start).to.deep.equal([]);
    const image = delta.apply();
    // The leader hint named a node that left the replica set: it is cleared, the epoch is kept.
    expect(image.topicsById.get(T1)?.partitions[0]).to.include({ leaderId: -1, leaderEpoch: 5 });
    // The untouched partition is shared with the base image.
    expect(image.topicsById.get(T1)?.partitions[1]).to.equal(base.topicsById.get(T1)?.partitions[1]);
    expect(delta.changes().partitionsChanged.map((p) => p.partition)).to.deep.equal([0]);
  });

  it('leader hints: the newest epoch wins, stale ones are ignored', () => {
    const base = replay([{ type: 'Topic', topicId: T1, name: 't', replicationFactor: 2 }, { type: 'Partition', topicId: T1, partition: 0, replicas: [0, 1] }], cluster);
    const image = replay([
      { type: 'PartitionLeader', topicId: T1, partition: 0, leaderId: 1, leaderEpoch: 7 },
      { type: 'PartitionLeader', topicId: T1, partition: 0, leaderId: 0, leaderEpoch: 6 },
    ], base);
    expect(image.topicsById.get(T1)?.partitions[0]).to.include({ leaderId: 1, leaderEpoch: 7 });
    expectCorrupt(() => replay([{ type: 'PartitionLeader', topicId: T1, partition: 0, leaderId: 2, leaderEpoch: 8 }], base), /not a replica/);
  });

  it('brokers: registration, fencing, re-registration with a new incarnation, unregistration', () => {
    const delta = new MetadataDelta(cluster).replayAll([
      { type: 'BrokerFencing', brokerId: 0, fenced: true },
      register(1, 'b', true, 99),
      { type: 'UnregisterBroker', brokerId: 2 },
      register(7),
    ]);
    const image = delta.apply();
    expect(delta.changes().brokersChanged).to.deep.equal([0, 1, 2, 7]);
    expect(delta.changes().brokersReincarnated).to.deep.equal([1]);
    expect(image.brokers.get(0)?.fenced).to.equal(true);
    expect(image.brokers.get(1)?.incarnationId).to.equal(uuidOf(1099));
    expect(image.brokers.has(2)).to.equal(false);
    expect(image.unfencedBrokers().map((b) => b.brokerId)).to.deep.equal([7]);
  });

  it('records that do not fit the image are CORRUPT', () => {
    const withTopic = replay([{ type: 'Topic', topicId: T1, name: 't', replicationFactor: 1 }], cluster);
    expectCorrupt(() => replay([{ type: 'Partition', topicId: uuidOf(5), partition: 0, replicas: [0] }], cluster), /unknown topic id/);
    expectCorrupt(() => replay([{ type: 'Partition', topicId: T1, partition: 1, replicas: [0] }], withTopic), /skips 0/);
    expectCorrupt(() => replay([{ type: 'Topic', topicId: uuidOf(2), name: 't', replicationFactor: 1 }], withTopic), /topic "t" exists/);
    expectCorrupt(() => replay([{ type: 'Topic', topicId: T1, name: 'u', replicationFactor: 1 }], withTopic), /topic id .* exists/);
    expectCorrupt(() => replay([{ type: 'RemoveTopic', topicId: uuidOf(5) }], cluster), /unknown topic id/);
    expectCorrupt(() => replay([{ type: 'UnregisterBroker', brokerId: 9 }], cluster), /not registered/);
    expectCorrupt(() => replay([{ type: 'BrokerFencing', brokerId: 9, fenced: true }], cluster), /not registered/);
    expectCorrupt(() => replay([{ type: 'Config', resourceType: 'topic', resourceName: 'nope', key: 'k', value: 'v' }], cluster), /unknown topic/);
    expectCorrupt(() => replay([{ type: 'ProducerIds', brokerId: 0, nextProducerId: 1000 }, { type: 'ProducerIds', brokerId: 1, nextProducerId: 1000 }]), /not above 1000/);
    expectCorrupt(() => replay([{ type: 'RemoveAcl', aclId: uuidOf(3) }]), /unknown ACL/);
    expectCorrupt(() => replay([{ type: 'RemoveScramCredential', name: 'x', mechanism: 'SCRAM-SHA-256' }]), /unknown credential/);
  });

  it('producer ids, ACLs, credentials and quotas land in the image and survive a snapshot', () => {
    const image = replay([
      { type: 'ProducerIds', brokerId: 1, nextProducerId: 1000 },
      { type: 'ProducerIds', brokerId: 2, nextProducerId: 2000 },
      { type: 'Acl', aclId: uuidOf(3), resourceType: 'group', resourceName: 'g', patternType: 'literal', principal: 'User:bob', host: '*', operation: 'read', permission: 'deny' },
      { type: 'ScramCredential', name: 'bob', mechanism: 'SCRAM-SHA-512', salt: Buffer.from([1]), storedKey: Buffer.from([2]), serverKey: Buffer.from([3]), iterations: 8192 },
      { type: 'ClientQuota', entity: [{ type: 'user', name: 'bob' }], key: 'producer_byte_rate', value: 100 },
      { type: 'ClientQuota', entity: [{ type: 'user', name: null }], key: 'producer_byte_rate', value: 50 },
      { type: 'ClientQuota', entity: [{ type: 'user', name: null }], key: 'producer_byte_rate', value: null },
      { type: 'ClientQuota', entity: [{ type: 'user', name: 'bob' }, { type: 'client-id', name: null }], key: 'request_percentage', value: 12.5 },
      { type: 'ClientQuota', entity: [{ type: 'ip', name: '10.0.0.1' }], key: 'connection_creation_rate', value: 30 },
    ], cluster);
    expect(image.producerIds).to.deep.equal({ nextProducerId: 2000, lastBrokerId: 2 });
    expect(image.acls.get(uuidOf(3))?.principal).to.equal('User:bob');
    expect(image.scramCredentials.size).to.equal(1);
    expect(quotaEntries(image).map((e) => [e.entity, Object.fromEntries(e.values)])).to.deep.equal([
      [[{ type: 'ip', name: '10.0.0.1' }], { connection_creation_rate: 30 }],
      [[{ type: 'user', name: 'bob' }, { type: 'client-id', name: null }], { request_percentage: 12.5 }],
      [[{ type: 'user', name: 'bob' }], { producer_byte_rate: 100 }],
    ]);
    const restored = decodeSnapshot(encodeSnapshot(image));
    expect(imagesEqual(restored, image)).to.equal(true);
    expect(quotaEntries(restored)).to.deep.equal(quotaEntries(image));
    expect(restored.scramCredentials.get('SCRAM-SHA-512:bob')?.iterations).to.equal(8192);
  });

  it('snapshots: CORRUPT on garbage, on a bad envelope and on a record that does not fit', () => {
    expectCorrupt(() => decodeSnapshot(Buffer.from([0xc1])), /metadata snapshot/);
    const misfit = metadataPackr.pack(['flotilla-metadata', 0, [recordToValue({ type: 'Partition', topicId: T1, partition: 0, replicas: [0] })]]);
    expectCorrupt(() => decodeSnapshot(misfit), /unknown topic id/);
    expectCorrupt(() => decodeSnapshot(metadataPackr.pack(['flotilla-metadata', 1, []])), /unknown version 1/);
    expectCorrupt(() => decodeSnapshot(Buffer.from('hello')), /metadata snapshot/);
    const good = encodeSnapshot(replay([{ type: 'Topic', topicId: T1, name: 't', replicationFactor: 1 }], cluster));
    for (let n = 0; n < good.length; n++) expectCorrupt(() => decodeSnapshot(good.subarray(0, n)), /./);
    expect(imagesEqual(decodeSnapshot(encodeSnapshot(MetadataImage.EMPTY)), MetadataImage.EMPTY)).to.equal(true);
  });

  describe('determinism (property)', () => {
    /** An operation, turned into valid records against the image it meets (or none). */
    type Op =
      | { k: 'register'; id: number; rack: number; fenced: boolean; inc: number }
      | { k: 'fence'; id: number; fenced: boolean }
      | { k: 'unregister'; id: number }
      | { k: 'create'; name: number; partitions: number; rf: number }
      | { k: 'delete'; name: number }
      | { k: 'reassign'; name: number; partition: number; shift: number }
      | { k: 'leader'; name: number; partition: number; at: number; epoch: number }
      | { k: 'config'; name: number; key: number; value: string | null }
      | { k: 'pids' }
      | { k: 'quota'; user: number; value: number | null };

    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { arbitrary: fc.record({ k: fc.constant('register' as const), id: fc.nat(5), rack: fc.nat(2), fenced: fc.nat(3).map((n) => n === 0), inc: fc.nat(3) }), weight: 3 },
      fc.record({ k: fc.constant('fence' as const), id: fc.nat(5), fenced: fc.boolean() }),
      fc.record({ k: fc.constant('unregister' as const), id: fc.nat(5) }),
      { arbitrary: fc.record({ k: fc.constant('create' as const), name: fc.nat(4), partitions: fc.integer({ min: 1, max: 4 }), rf: fc.integer({ min: 1, max: 3 }) }), weight: 3 },
      fc.record({ k: fc.constant('delete' as const), name: fc.nat(4) }),
      fc.record({ k: fc.constant('reassign' as const), name: fc.nat(4), partition: fc.nat(3), shift: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ k: fc.constant('leader' as const), name: fc.nat(4), partition: fc.nat(3), at: fc.nat(2), epoch: fc.nat(20) }),
      fc.record({ k: fc.constant('config' as const), name: fc.nat(4), key: fc.nat(2), value: fc.option(fc.string({ maxLength: 5 }), { nil: null }) }),
      fc.record({ k: fc.constant('pids' as const) }),
      fc.record({ k: fc.constant('quota' as const), user: fc.nat(2), value: fc.option(fc.nat(1000), { nil: null }) }),
    );

    let topicIds = 0;
    let totalRecords = 0;
    function recordsFor(op: Op, image: MetadataImage): MetadataRecord[] {
      const topic = (n: number) => image.topicsByName.get(`topic-${n}`);
      switch (op.k) {
        case 'register': return [register(op.id, `rack-${op.rack}`, op.fenced, op.inc)];
        case 'fence': return image.brokers.has(op.id) ? [{ type: 'BrokerFencing', brokerId: op.id, fenced: op.fenced }] : [];
        case 'unregister': return image.brokers.has(op.id) ? [{ type: 'UnregisterBroker', brokerId: op.id }] : [];
        case 'create':
          try {
            return createTopicRecords(image, { name: `topic-${op.name}`, topicId: uuidOf(++topicIds), partitionCount: op.partitions, replicationFactor: op.rf });
          } catch {
            return [];
          }
        case 'delete': return topic(op.name) === undefined ? [] : deleteTopicRecords(image, `topic-${op.name}`);
        case 'reassign': {
          const t = topic(op.name);
          const p = t?.partitions[op.partition % (t.partitions.length || 1)];
          if (t === undefined || p === undefined) return [];
          return [{ type: 'Partition', topicId: t.topicId, partition: p.partition, replicas: p.replicas.map((r) => (r + op.shift) % 6).filter((r, i, a) => a.indexOf(r) === i) }];
        }
        case 'leader': {
          const t = topic(op.name);
          const p = t?.partitions[op.partition % (t.partitions.length || 1)];
          if (t === undefined || p === undefined) return [];
          return [{ type: 'PartitionLeader', topicId: t.topicId, partition: p.partition, leaderId: p.replicas[op.at % p.replicas.length] ?? -1, leaderEpoch: op.epoch }];
        }
        case 'config':
          return topic(op.name) === undefined ? [] : [{ type: 'Config', resourceType: 'topic', resourceName: `topic-${op.name}`, key: `k${op.key}`, value: op.value }];
        case 'pids': return [{ type: 'ProducerIds', brokerId: 0, nextProducerId: image.producerIds.nextProducerId + 1000 }];
        case 'quota': return [{ type: 'ClientQuota', entity: [{ type: 'user', name: `u${op.user}` }], key: 'producer_byte_rate', value: op.value }];
      }
    }

    /** Records for the ops, each made against the image so far. */
    function build(ops: readonly Op[]): MetadataRecord[] {
      let image = MetadataImage.EMPTY;
      const all: MetadataRecord[] = [];
      for (const op of ops) {
        const rs = recordsFor(op, image);
        image = replay(rs, image);
        all.push(...rs);
      }
      return all;
    }

    /** The set of "topicId/partition" replicas a node holds in an image. */
    function held(image: MetadataImage, node: number): Set<string> {
      return new Set(image.replicasOn(node).map((p) => `${p.topicId}/${p.partition}`));
    }

    it('same records, any batching, through the wire and through snapshots: equal images', () => {
      fc.assert(fc.property(fc.array(opArb, { minLength: 10, maxLength: 60 }), fc.array(fc.nat(), { maxLength: 8 }), (ops, cutsRaw) => {
        const records = build(ops).map((r) => decodeRecord(encodeRecord(r)));
        totalRecords += records.length;
        const once = replay(records);
        expect(imagesEqual(replay(records), once)).to.equal(true);
        // Replay in batches, each on the image of the one before, sometimes through a snapshot.
        const cuts = [...new Set(cutsRaw.map((c) => c % (records.length + 1)))].sort((a, b) => a - b);
        let image = MetadataImage.EMPTY;
        let from = 0;
        const heldByNode = [0, 1, 2, 3, 4, 5].map(() => new Set<string>());
        for (const to of [...cuts, records.length]) {
          const delta = new MetadataDelta(image).replayAll(records.slice(from, to));
          for (const node of [0, 1, 2, 3, 4, 5]) {
            const rc = delta.replicaChangesFor(node);
            const mine = heldByNode[node] ?? new Set<string>();
            for (const s of rc.stop) {
              expect(mine.has(`${s.topicId}/${s.partition}`), 'stop of a replica not held').to.equal(true);
              mine.delete(`${s.topicId}/${s.partition}`);
            }
            for (const s of rc.start) {
              expect(mine.has(`${s.topicId}/${s.partition}`), 'start of a replica already held').to.equal(false);
              mine.add(`${s.topicId}/${s.partition}`);
            }
          }
          image = delta.apply();
          // The two topic indexes agree, object for object.
          expect(image.topicsByName.size).to.equal(image.topicsById.size);
          for (const t of image.topicsById.values()) expect(image.topicsByName.get(t.name)).to.equal(t);
          for (const node of [0, 1, 2, 3, 4, 5]) expect([...(heldByNode[node] ?? [])].sort()).to.deep.equal([...held(image, node)].sort());
          if (to % 2 === 0) image = decodeSnapshot(encodeSnapshot(image));
          from = to;
        }
        expect(imagesEqual(image, once)).to.equal(true);
        expect(encodeSnapshot(image).equals(encodeSnapshot(once))).to.equal(true);
        // The canonical records rebuild the image.
        expect(imagesEqual(replay(imageToRecords(once)), once)).to.equal(true);
      }), { numRuns: 150 });
      // The generator must produce real histories, not empty ones.
      expect(totalRecords).to.be.greaterThan(150 * 10);
    });
  });
});
