import { expect } from 'chai';
import { isFlotillaError } from '../../lib/base/errors.js';
import type { MetadataChanges } from '../../lib/metadata/delta.js';
import { imagesEqual } from '../../lib/metadata/image.js';
import type { MetadataRecord } from '../../lib/metadata/records.js';
import { MetadataStateMachine, decodeRecordBatch, diffImages, encodeRecordBatch } from '../../lib/metadata/state-machine.js';
import { createTopicRecords } from '../../lib/metadata/topics.js';
import { register, replay, uuidOf } from './helpers.js';

const T1 = uuidOf(1);
const T2 = uuidOf(2);

function batch(...records: MetadataRecord[]): Buffer {
  return encodeRecordBatch(records);
}

describe('metadata/state-machine', () => {
  it('round-trips a record batch and refuses malformed ones as CORRUPT', () => {
    const records = [register(1), register(2, 'r2'), { type: 'BrokerFencing', brokerId: 1, fenced: false } as const];
    expect(decodeRecordBatch(encodeRecordBatch(records))).to.deep.equal(records);
    for (const bad of [Buffer.from([0xc1]), Buffer.from([0x90]), Buffer.from([0x91, 0x01])]) {
      expect(() => decodeRecordBatch(bad)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
    }
  });

  it('applies a batch atomically, publishes image, changes, delta and index, and wakes waiters', async () => {
    const sm = new MetadataStateMachine();
    const seen: { changes: MetadataChanges; index: number; hasDelta: boolean }[] = [];
    sm.subscribe((image, changes, delta, index) => {
      expect(image).to.equal(sm.image());
      seen.push({ changes, index, hasDelta: delta !== null });
    });
    const waiting = sm.waitForIndex(2, 10_000);
    expect(sm.apply(batch(register(1), register(2), register(3)), 1)).to.deep.equal({ index: 1, records: 3 });
    const topic = createTopicRecords(sm.image(), { name: 'orders', topicId: T1, partitionCount: 3, replicationFactor: 2 });
    sm.apply(batch(...topic), 2);
    await waiting;
    expect(sm.appliedIndex).to.equal(2);
    expect(sm.image().topicsByName.get('orders')?.partitions).to.have.length(3);
    expect(seen.map((s) => s.index)).to.deep.equal([1, 2]);
    expect(seen[0]?.changes.brokersChanged).to.deep.equal([1, 2, 3]);
    expect(seen[1]?.changes.topicsCreated).to.deep.equal([T1]);
    expect(seen.every((s) => s.hasDelta)).to.equal(true);
  });

  it('never half-applies: a batch with a record that does not fit leaves the image unchanged', () => {
    const sm = new MetadataStateMachine();
    sm.apply(batch(register(1)), 1);
    const before = sm.image();
    let published = 0;
    sm.subscribe(() => published++);
    // The Topic fits, the Partition of an unknown topic does not: neither may land.
    const bad = batch(
      { type: 'Topic', topicId: T1, name: 'a', replicationFactor: 1 },
      { type: 'Partition', topicId: T2, partition: 0, replicas: [1] },
    );
    expect(() => sm.apply(bad, 2)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
    expect(sm.image()).to.equal(before);
    expect(sm.appliedIndex).to.equal(2);
    expect(published).to.equal(0);
    expect(sm.stats.batchesRejected).to.equal(1);
  });

  it('snapshot/restore gives an equal image and the applied index, and publishes the difference', () => {
    const a = new MetadataStateMachine();
    a.apply(batch(register(1, 'x'), register(2, 'y'), register(3, 'z')), 1);
    a.apply(batch(...createTopicRecords(a.image(), { name: 'orders', topicId: T1, partitionCount: 4, replicationFactor: 3, configs: new Map([['retention.ms', '5']]) })), 5);
    a.apply(batch({ type: 'ProducerIds', brokerId: 2, nextProducerId: 1000 }), 7);
    const b = new MetadataStateMachine();
    b.apply(batch(register(9), { type: 'Topic', topicId: T2, name: 'old', replicationFactor: 1 }), 1);
    let changes: MetadataChanges | undefined;
    b.subscribe((_image, c, delta) => {
      changes = c;
      expect(delta).to.equal(null);
    });
    b.restore(a.snapshot());
    expect(imagesEqual(a.image(), b.image())).to.equal(true);
    expect(b.appliedIndex).to.equal(7);
    expect(Buffer.from(b.snapshot()).equals(Buffer.from(a.snapshot()))).to.equal(true);
    expect(changes?.topicsCreated).to.deep.equal([T1]);
    expect(changes?.topicsDeleted).to.deep.equal([T2]);
    expect(changes?.brokersChanged).to.deep.equal([1, 2, 3, 9]);
    expect(changes?.producerIdsChanged).to.equal(true);
    expect(() => b.restore(Buffer.from('nope'))).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
  });

  it('waitForIndex times out with TIMEOUT, and close fails waiters with CLOSED', async () => {
    const sm = new MetadataStateMachine();
    await sm.waitForIndex(0, 1);
    const timedOut = await sm.waitForIndex(5, 1).then(() => null, (e: unknown) => e);
    expect(isFlotillaError(timedOut, 'TIMEOUT')).to.equal(true);
    const pending = sm.waitForIndex(5, 60_000).then(() => null, (e: unknown) => e);
    sm.close();
    expect(isFlotillaError(await pending, 'CLOSED')).to.equal(true);
  });

  it('diffImages says nothing changed between equal images', () => {
    const img = replay([register(1), register(2)]);
    const d = diffImages(img, replay([register(1), register(2)]));
    expect(d.brokersChanged).to.deep.equal([]);
    expect(d.topicsCreated).to.deep.equal([]);
    expect(d.configsChanged).to.deep.equal([]);
  });
});
