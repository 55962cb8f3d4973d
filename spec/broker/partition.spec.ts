import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFlotillaError } from '../../lib/base/errors.js';
import { Partition, partitionGroupId } from '../../lib/broker/partition.js';
import { Attributes, BatchHeader, batchSizeAt, decodeRecords, markUnassigned } from '../../lib/records/batch.js';
import { encodeBatch } from '../../lib/records/encode.js';
import { keySegment } from '../../lib/storage/kv.js';
import type { NodeId } from '../../lib/raft/core/types.js';
import { RaftHost } from '../../lib/raft/host.js';
import { MemoryKv } from '../../lib/storage/memory-kv.js';
import { LocalNet, batchOf, clock, parse, until } from './helpers.js';

function idempotent(producerId: number, producerEpoch: number, baseSequence: number, n: number, tag: string, transactional = false): Buffer {
  return encodeBatch({
    baseOffset: 0, baseTimestamp: 1_000, producerId, producerEpoch, baseSequence, attributes: transactional ? Attributes.Transactional : 0,
    records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`${tag}-${i}`) })),
  });
}

// Layout 2 (new topics): only client batches and markers take Kafka offsets. Layout 1 (topics made
// before it): Raft's and the broker's own entries take one each, and are left out of fetch answers.
for (const layout of [2, 1] as const) describe(`Partition: a replica as a Raft group over batch-format segments (offset layout ${layout})`, function () {
  this.timeout(30_000);
  /** The first offset a client's batch gets: layout 1's first leader no-op takes offset 0. */
  const first = layout === 2 ? 0 : 1;
  const ids = [1, 2, 3];
  let dir: string;
  let net: LocalNet;
  let hosts: Map<NodeId, RaftHost>;
  let kvs: Map<NodeId, MemoryKv>;
  let parts: Map<NodeId, Partition>;

  /** Opens replica `id`; `joining`: a new replica (empty bootstrap), added by the leader. */
  async function open(id: NodeId, joining = false): Promise<void> {
    const host = new RaftHost({ nodeId: id, transport: net.transport(id), settings: { tickMs: 5 } });
    host.start();
    hosts.set(id, host);
    if (!kvs.has(id)) kvs.set(id, new MemoryKv());
    parts.set(id, await Partition.open({
      host, kv: kvs.get(id)!, dir: join(dir, `n${id}`), topic: 't', topicId: '00000000-0000-4000-8000-000000000001', partition: 0,
      bootstrap: { voters: joining ? [] : ids, learners: [] }, fsync: false, clock, offsetLayout: layout,
    }));
  }

  async function closeAll(): Promise<void> {
    for (const p of parts.values()) await p.close();
    for (const h of hosts.values()) await h.close();
    parts.clear();
    hosts.clear();
  }

  const leader = (): Partition => [...parts.values()].find((p) => p.serving)!;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-partition-'));
    net = new LocalNet();
    hosts = new Map();
    kvs = new Map(ids.map((id) => [id, new MemoryKv()]));
    parts = new Map();
    for (const id of ids) await open(id);
    await until(() => [...parts.values()].some((p) => p.serving));
  });

  afterEach(async () => {
    // No host stopped on a fatal error (a follower refusing the offsets its leader gave, say).
    const failed = [...hosts].filter(([, h]) => h.failed !== null).map(([id, h]) => `node ${id}: ${String(h.failed)}`);
    await closeAll();
    rmSync(dir, { recursive: true, force: true });
    expect(failed).to.deep.equal([]);
  });

  it('an empty partition: high watermark, log start and log end 0 (layout 2); the first records get offsets from there', async () => {
    const l = leader();
    expect(l.highWatermark()).to.equal(first);
    expect(l.logEndOffset()).to.equal(first);
    expect(l.logStartOffset()).to.equal(0);
    expect(l.lastStableOffset()).to.equal(first);
    expect(l.read(first, 1 << 20).records).to.equal(null);
    if (layout === 1) {
      // The no-op at offset 0 is served (alone, at the tail) as one control record with a 6-byte value.
      const only = parse(l.read(0, 1 << 20).records);
      expect(only).to.deep.equal([{ base: 0, last: 0, values: ['control'] }]);
    }
    const offsets: number[] = [];
    for (let i = 0; i < 10; i++) offsets.push(await produce(l, batchOf(1, `s${i}`)));
    expect(offsets).to.deep.equal(offsets.map((_, i) => first + i));
    expect(l.highWatermark()).to.equal(first + 10);
    expect(parse(l.read(0, 1 << 20).records).map((b) => b.values[0])).to.deep.equal(offsets.map((_, i) => `s${i}-0`));
  });

  it('gives committed batches consecutive offsets (after the leader\'s no-op) and serves them raw up to the high watermark', async () => {
    const l = leader();
    const bases: number[] = [];
    for (let i = 0; i < 20; i++) bases.push(await l.produce({ batch: batchOf(1 + (i % 3), `b${i}`), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 }));
    expect(bases[0]).to.equal(first);
    for (let i = 1; i < bases.length; i++) expect(bases[i]).to.equal(bases[i - 1]! + 1 + ((i - 1) % 3));
    // acks=1: answered once the leader's log holds the batch, with the offset it got.
    const one = await l.produce({ batch: batchOf(2, 'acks1'), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000, ack: 'appended' });
    expect(one).to.equal(bases.at(-1)! + 1 + (19 % 3));
    await until(() => l.highWatermark() === one + 2);
    bases.push(one);
    const read = l.read(0, 1 << 20);
    expect(read.highWatermark).to.equal(bases.at(-1)! + 2);
    const batches = parse(read.records);
    // Only the clients' batches are served, contiguous from the first; Raft's own entries never.
    let next = first;
    for (const b of batches) {
      expect(b.base).to.equal(next);
      expect(b.values[0]).to.not.equal('control');
      next = b.last + 1;
    }
    expect(next).to.equal(read.highWatermark);
    const data = batches;
    expect(data.map((b) => b.base)).to.deep.equal(bases);
    expect(data.at(-1)!.values).to.deep.equal(['acks1-0', 'acks1-1']);
    expect(data[5]!.values).to.deep.equal(['b5-0', 'b5-1', 'b5-2']);
    // A fetch from the middle of a batch returns that whole batch first.
    expect(parse(l.read(bases[5]! + 1, 1).records)[0]!.base).to.equal(bases[5]);
    // At the high watermark: nothing yet; past the log end: out of range.
    expect(l.read(read.highWatermark, 1 << 20).records).to.equal(null);
    expect(() => l.read(read.highWatermark + 100, 1 << 20)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'OFFSET_OUT_OF_RANGE'));
  });

  const produce = (p: Partition, batch: Buffer, timeoutMs = 5000): Promise<number> => p.produce({ batch, maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs });
  const values = (p: Partition, readCommitted = false): string[] => parse(p.read(0, 1 << 22, readCommitted).records).flatMap((b) => b.values).filter((v) => v !== 'control');

  it('idempotent batches: a retry gets the original offset without a new entry (applied or in flight); a gap and an old epoch are refused', async () => {
    const l = leader();
    const first = await produce(l, idempotent(7, 0, 0, 3, 'a'));
    const hw = l.highWatermark();
    expect(await produce(l, idempotent(7, 0, 0, 3, 'a'))).to.equal(first);
    expect(l.highWatermark()).to.equal(hw);
    // Two copies of the next batch at once (a client retrying while the first is in flight).
    const [x, y] = await Promise.all([produce(l, idempotent(7, 0, 3, 2, 'b')), produce(l, idempotent(7, 0, 3, 2, 'b'))]);
    expect(x).to.equal(y);
    expect(l.highWatermark()).to.equal(x + 2);
    await expectCode(produce(l, idempotent(7, 0, 9, 1, 'gap')), 'OUT_OF_ORDER_SEQUENCE');
    expect(await produce(l, idempotent(7, 1, 0, 1, 'c'))).to.equal(x + 2);
    await expectCode(produce(l, idempotent(7, 0, 5, 1, 'old')), 'INVALID_PRODUCER_EPOCH');
    // Pipelined batches of one producer are checked against those still in flight.
    const piped = await Promise.all([1, 2, 3].map((i) => produce(l, idempotent(7, 1, i, 1, `p${i}`))));
    expect(piped).to.deep.equal([x + 3, x + 4, x + 5]);
    expect(values(l)).to.deep.equal(['a-0', 'a-1', 'a-2', 'b-0', 'b-1', 'c-0', 'p1-0', 'p2-0', 'p3-0']);
    expect(l.producers().find((p) => p.producerId === 7)).to.include({ epoch: 1, lastSequence: 3, lastOffset: x + 5, txnFirstOffset: -1, coordinatorEpoch: -1 });
  });

  it('a duplicate that reaches the log anyway is answered with the original offsets and never visible twice, on every replica and after a restart from the checkpoint', async () => {
    const l = leader();
    const first = await produce(l, idempotent(9, 0, 0, 2, 'once'));
    // Proposed past the leader's check: apply decides on the log order, and hides the entry.
    // (Layout 2: marked as carrying no offset yet, as Partition marks what it proposes.)
    const raw = (b: Buffer): Buffer => {
      if (layout === 2) markUnassigned(b);
      return b;
    };
    const applied = await l.node.propose(raw(idempotent(9, 0, 0, 2, 'once')));
    expect(applied).to.deep.equal({ kind: 'duplicate', offset: first });
    const refused = await l.node.propose(raw(idempotent(9, 0, 7, 1, 'gap')));
    expect(refused).to.include({ kind: 'rejected', code: 'OUT_OF_ORDER_SEQUENCE' });
    // Nothing but hidden entries between the fetch offset and the high watermark: the last of them
    // is served as one control record at its last offset with a 6-byte value (never an answer of
    // record-less batches; Sarama < 1.29 reads 6 bytes of every control record's value).
    const tail = l.read(first + 2, 1 << 22).records!;
    expect(parse(tail)).to.deep.equal([{ base: first + 4, last: first + 4, values: ['control'] }]);
    const [gapRecord] = decodeRecords(tail);
    expect(gapRecord!.value).to.have.length(6);
    expect(new BatchHeader(tail).recordCount).to.equal(1);
    const after = await produce(l, idempotent(9, 0, 2, 1, 'next'));
    await until(() => [...parts.values()].every((p) => p.highWatermark() === l.highWatermark()));
    expect(after).to.equal(first + 5);
    for (const p of parts.values()) {
      const batches = parse(p.read(0, 1 << 22).records);
      // The hidden entries keep their offsets (given at append) but are left out: a gap, as after
      // compaction, and a fetch inside the gap starts at the next record.
      expect(batches.map((b) => [b.base, b.last])).to.deep.equal([[first, first + 1], [after, after]]);
      expect(batches.flatMap((b) => b.values)).to.deep.equal(['once-0', 'once-1', 'next-0']);
      expect(parse(p.read(first + 2, 1 << 22).records).map((b) => b.base)).to.deep.equal([after]);
    }
    // A new leader knows the producer: the retry is still a duplicate.
    const next = ids.find((id) => id !== l.node.nodeId)!;
    await l.node.transferLeadership(next);
    await until(() => parts.get(next)!.serving);
    expect(await produce(parts.get(next)!, idempotent(9, 0, 2, 1, 'next'))).to.equal(after);
    // A restart starts from the LevelDB checkpoint, not from the start of the log.
    await closeAll();
    const key = `producers/${keySegment(partitionGroupId('00000000-0000-4000-8000-000000000001', 0))}`;
    const saved = new Map<NodeId, number>();
    for (const id of ids) saved.set(id, ((await kvs.get(id)!.get(key)) as { applied: number }).applied);
    for (const id of ids) {
      await open(id);
      expect(parts.get(id)!.node.appliedIndex).to.equal(saved.get(id));
    }
    await until(() => [...parts.values()].some((p) => p.serving));
    expect(await produce(leader(), idempotent(9, 0, 0, 2, 'once'))).to.equal(first);
    expect(await produce(leader(), idempotent(9, 0, 2, 1, 'next'))).to.equal(after);
    expect(values(leader())).to.deep.equal(['once-0', 'once-1', 'next-0']);
  });

  it('transactions: the last stable offset holds read_committed readers below an open transaction; markers end it, aborted ranges are listed', async () => {
    const l = leader();
    await produce(l, batchOf(1, 'plain'));
    const t1 = await produce(l, idempotent(11, 0, 0, 2, 'tx1', true));
    const t2 = await produce(l, idempotent(12, 0, 0, 1, 'tx2', true));
    await produce(l, batchOf(1, 'after'));
    expect(l.lastStableOffset()).to.equal(t1);
    expect(values(l, true)).to.deep.equal(['plain-0']);
    expect(values(l)).to.deep.equal(['plain-0', 'tx1-0', 'tx1-1', 'tx2-0', 'after-0']);
    // A non-transactional write of a producer with an open transaction is refused.
    await expectCode(produce(l, idempotent(11, 0, 2, 1, 'x')), 'INVALID_TXN_STATE');
    const commit = await l.writeMarker({ producerId: 11, producerEpoch: 0, commit: true, coordinatorEpoch: 1, txn: 0 }, 5000);
    expect(l.lastStableOffset()).to.equal(t2);
    const abort = await l.writeMarker({ producerId: 12, producerEpoch: 0, commit: false, coordinatorEpoch: 1, txn: 0 }, 5000);
    expect(l.lastStableOffset()).to.equal(l.highWatermark());
    // The same marker again is a success that changes nothing and is not seen.
    expect(await l.writeMarker({ producerId: 12, producerEpoch: 0, commit: false, coordinatorEpoch: 1, txn: 0 }, 5000)).to.be.a('number');
    await expectCode(l.writeMarker({ producerId: 12, producerEpoch: 0, commit: false, coordinatorEpoch: 0, txn: 1 }, 5000), 'TRANSACTION_COORDINATOR_FENCED');
    const read = l.read(0, 1 << 22, true);
    expect(read.abortedTransactions).to.deep.equal([{ producerId: 12, firstOffset: t2, lastOffset: abort }]);
    expect(l.read(abort + 1, 1 << 22, true).abortedTransactions).to.deep.equal([]);
    const markers = parse(read.records).filter((b) => b.base === commit || b.base === abort);
    expect(markers).to.have.length(2);
    await until(() => [...parts.values()].every((p) => p.lastStableOffset() === l.highWatermark()));
    // Markers take one offset each, as in Kafka; nothing else does in layout 2. The repeated and
    // the fenced marker reached the log and are hidden: they keep the offsets they got at append.
    expect([t1, t2, commit, abort, l.highWatermark()]).to.deep.equal([first + 1, first + 3, first + 5, first + 6, first + 9]);
  });

  it('transactions across a leader change: no offset appears inside the transaction, the last stable offset stays at its first offset', async () => {
    const l = leader();
    const t = await produce(l, idempotent(21, 0, 0, 2, 'tx', true));
    const plain = await produce(l, batchOf(1, 'plain'));
    const next = ids.find((id) => id !== l.node.nodeId)!;
    await l.node.transferLeadership(next);
    await until(() => parts.get(next)!.serving);
    const n = parts.get(next)!;
    expect(n.lastStableOffset()).to.equal(t);
    // Layout 2: the new leader's no-op took no offset; layout 1: it took one.
    expect(n.highWatermark()).to.equal(plain + (layout === 2 ? 1 : 2));
    const more = await produce(n, idempotent(21, 0, 2, 1, 'tx', true));
    expect(more).to.equal(plain + (layout === 2 ? 1 : 2));
    const abort = await n.writeMarker({ producerId: 21, producerEpoch: 0, commit: false, coordinatorEpoch: 1, txn: 0 }, 5000);
    expect(abort).to.equal(more + 1);
    expect(n.lastStableOffset()).to.equal(n.highWatermark());
    const committed = n.read(t, 1 << 22, true);
    expect(committed.abortedTransactions).to.deep.equal([{ producerId: 21, firstOffset: t, lastOffset: abort }]);
    // read_committed and read_uncommitted serve the same batches (the client drops the aborted ones).
    expect(parse(committed.records)).to.deep.equal(parse(n.read(t, 1 << 22).records));
    expect(parse(committed.records).map((b) => b.base)).to.deep.equal([t, plain, more, abort]);
  });

  it('membership changes: a new replica added as a learner, promoted and removed computes the same offsets and bytes from index 1', async () => {
    let l = leader();
    const offsets: number[] = [];
    const one = async (tag: string): Promise<void> => {
      offsets.push(await produce(leader(), batchOf(1, tag)));
    };
    for (let i = 0; i < 4; i++) await one(`a${i}`);
    await open(4, true);
    await l.node.addLearner(4);
    for (let i = 0; i < 3; i++) await one(`b${i}`);
    await l.node.promoteLearner(4);
    for (let i = 0; i < 3; i++) await one(`c${i}`);
    // The new voter leads for a while, then leaves again.
    await l.node.transferLeadership(4);
    await until(() => parts.get(4)!.serving);
    for (let i = 0; i < 3; i++) await one(`d${i}`);
    await parts.get(4)!.node.transferLeadership(l.node.nodeId);
    await until(() => l.serving);
    l = leader();
    await l.node.removeMember(4);
    for (let i = 0; i < 2; i++) await one(`e${i}`);
    // Layout 2: dense over the records, whatever the configuration entries and elections between.
    if (layout === 2) expect(offsets).to.deep.equal(offsets.map((_, i) => i));
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]).to.be.greaterThan(offsets[i - 1]!);
    // Replica 4 (its log from index 1, offsets computed by its own appends) holds the leader's bytes
    // up to where it left.
    const four = parts.get(4)!;
    await until(() => four.segmentLog.lastIndex() >= four.appliedIndex && four.appliedIndex > 0);
    const upTo = Math.min(four.appliedIndex, l.appliedIndex);
    const bytes = (p: Partition): Buffer => Buffer.concat(p.segmentLog.readBatches(1, upTo, 1 << 30));
    expect(bytes(four).equals(bytes(l))).to.equal(true);
    await until(() => [...parts.values()].filter((p) => p !== four).every((p) => p.appliedIndex === l.appliedIndex));
    for (const p of parts.values()) if (p !== four) expect(bytes(p).equals(bytes(l))).to.equal(true);
    await four.close();
    parts.delete(4);
    await hosts.get(4)!.close();
    expect(hosts.get(4)!.failed).to.equal(null);
    hosts.delete(4);
  });

  it('ListOffsets -3: the first record with the largest timestamp, found within its batch; -1, -1 on an empty log', async () => {
    const l = leader();
    expect(l.offsetOfMaxTimestamp()).to.deep.equal({ offset: -1, timestamp: -1 });
    const stamped = (base: number, deltas: number[]): Buffer => encodeBatch({
      baseOffset: 0, baseTimestamp: base, records: deltas.map((timestampDelta, i) => ({ key: null, value: Buffer.from(`r${i}`), timestampDelta })),
    });
    const a = await produce(l, stamped(5_000, [0, 10]));
    // The batch holding the largest timestamp (5_900) has it at its second record, and again at its fourth.
    const b = await produce(l, stamped(5_000, [0, 900, 3, 900]));
    await produce(l, stamped(5_100, [0, 50]));
    expect(a).to.be.lessThan(b);
    expect(l.offsetOfMaxTimestamp()).to.deep.equal({ offset: b + 1, timestamp: 5_900 });
    // Records below the log start offset no longer count.
    await l.deleteRecords(b + 2, 5000);
    expect(l.offsetOfMaxTimestamp()).to.deep.equal({ offset: b + 3, timestamp: 5_900 });
  });

  it('refuses clients on followers and on stale or future leader epochs', async () => {
    const l = leader();
    const follower = [...parts.values()].find((p) => p !== l)!;
    expect(() => follower.checkServing()).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'NOT_LEADER'));
    expect(() => l.checkServing(l.leaderEpoch - 1)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'FENCED_LEADER_EPOCH'));
    expect(() => l.checkServing(l.leaderEpoch + 1)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'UNKNOWN_LEADER_EPOCH'));
    l.checkServing(l.leaderEpoch);
    l.checkServing(-1);
    // Bad input loses nothing: a corrupt batch, two batches in one, a control batch.
    const bad = batchOf(2, 'x');
    bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 0xff, bad.length - 1);
    await expectCode(l.produce({ batch: bad, maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 1000 }), 'CORRUPT');
    await expectCode(l.produce({ batch: Buffer.concat([batchOf(1, 'a'), batchOf(1, 'b')]), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 1000 }), 'INVALID_RECORD');
    await expectCode(l.produce({ batch: batchOf(50, 'big'), maxBatchBytes: 200, logAppendTime: false, timeoutMs: 1000 }), 'TOO_LARGE');
  });

  it('DeleteRecords moves the log start offset on every replica, through the log, and it survives a restart', async () => {
    const l = leader();
    const bases: number[] = [];
    for (let i = 0; i < 6; i++) bases.push(await l.produce({ batch: batchOf(2, `d${i}`), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 }));
    expect(l.logStartOffset()).to.equal(0);
    const hw = l.highWatermark();
    const low = await l.deleteRecords(bases[3]!, 5000);
    expect(low).to.equal(bases[3]);
    expect(l.logStartOffset()).to.equal(bases[3]);
    // Layout 2: the LogStart entry takes no offset, so the high watermark does not move.
    expect(l.highWatermark()).to.equal(layout === 2 ? hw : hw + 1);
    // Going back is a no-op; past the high watermark is out of range.
    expect(await l.deleteRecords(bases[1]!, 5000)).to.equal(bases[3]);
    await expectCode(l.deleteRecords(l.highWatermark() + 1, 5000), 'OFFSET_OUT_OF_RANGE');
    expect(() => l.read(bases[2]!, 1 << 20)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'OFFSET_OUT_OF_RANGE'));
    expect(parse(l.read(bases[3]!, 1 << 20).records).filter((b) => b.values[0] !== 'control').map((b) => b.base)).to.deep.equal(bases.slice(3));
    await until(() => [...parts.values()].every((p) => p.logStartOffset() === bases[3]));
    await closeAll();
    for (const id of ids) await open(id);
    await until(() => [...parts.values()].some((p) => p.serving));
    await until(() => leader().logStartOffset() === bases[3]);
    // Up to the high watermark: nothing left to read, and the next record takes the next offset.
    const end = leader().highWatermark();
    expect(await leader().deleteRecords(-1, 5000)).to.equal(end);
    expect(leader().logStartOffset()).to.equal(end);
    // Layout 1: the LogStart entry took offset `end` (served alone as one control record).
    expect(parse(leader().read(end, 1 << 20).records)).to.deep.equal(layout === 2 ? [] : [{ base: end, last: end, values: ['control'] }]);
    if (layout === 2) {
      expect(leader().highWatermark()).to.equal(end);
      expect(await produce(leader(), batchOf(1, 'after'))).to.equal(end);
    }
  });

  it('keeps offsets monotonic and the high watermark from going back across leader changes and restarts', async () => {
    let hw = 0;
    const produced: number[] = [];
    const epochEnds: [number, number][] = []; // [term, the offset after its last entry]
    for (let round = 0; round < 3; round++) {
      const l = leader();
      for (let i = 0; i < 5; i++) produced.push(await l.produce({ batch: batchOf(2, `r${round}-${i}`), maxBatchBytes: 1 << 20, logAppendTime: true, timeoutMs: 5000 }));
      expect(l.highWatermark()).to.be.at.least(hw);
      hw = l.highWatermark();
      epochEnds.push([l.leaderEpoch, hw]);
      const next = ids.find((id) => id !== l.node.nodeId)!;
      await l.node.transferLeadership(next);
      await until(() => parts.get(next)!.serving);
      expect(parts.get(next)!.highWatermark()).to.be.at.least(hw);
    }
    for (let i = 1; i < produced.length; i++) expect(produced[i]).to.be.greaterThan(produced[i - 1]!);
    // Layout 2: dense across the leader changes (each new leader's no-op takes no offset).
    if (layout === 2) expect(produced).to.deep.equal(produced.map((_, i) => 2 * i));
    await closeAll();
    if (layout === 1) {
      // A partition written before layouts existed has the same bytes and no layout file: it opens
      // as layout 1 and serves its old numbering.
      for (const id of ids) rmSync(join(dir, `n${id}`, 'log', 'offset-layout'));
    } else {
      expect(readFileSync(join(dir, 'n1', 'log', 'offset-layout'), 'utf8')).to.equal('2\n');
    }
    for (const id of ids) await open(id);
    await until(() => [...parts.values()].some((p) => p.serving));
    const batches = parse(leader().read(0, 1 << 22).records);
    expect(batches.map((b) => b.base)).to.deep.equal(produced);
    // OffsetForLeaderEpoch: each past term ends where the next starts; the current term at the log end.
    const now = leader();
    for (const [term, end] of epochEnds) expect(now.endOffsetForEpoch(term), `term ${term}`).to.deep.equal({ leaderEpoch: term, endOffset: end });
    expect(now.endOffsetForEpoch(now.leaderEpoch)).to.deep.equal({ leaderEpoch: now.leaderEpoch, endOffset: now.logEndOffset() });
    expect(() => now.endOffsetForEpoch(now.leaderEpoch + 5)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'UNKNOWN_LEADER_EPOCH'));
    expect(now.endOffsetForEpoch(0)).to.deep.equal({ leaderEpoch: 0, endOffset: 0 });
    if (layout === 2) expect(leader().highWatermark()).to.equal(2 * produced.length);
    // LogAppendTime: the broker stamped the batches and fixed their CRC (parse checked it).
    const raw = leader().read(produced[0]!, 1).records!;
    expect(new BatchHeader(raw).maxTimestamp).to.be.closeTo(Date.now(), 60_000);
  });

  /** The end offset of every term, read off the batches themselves (an oracle independent of the term runs). */
  function termEnds(p: Partition): Map<number, number> {
    const ends = new Map<number, number>();
    const records = p.read(p.logStartOffset(), 1 << 22).records!;
    for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) {
      const h = new BatchHeader(records.subarray(pos));
      ends.set(h.partitionLeaderEpoch, h.lastOffset + 1);
    }
    return ends;
  }

  it('OffsetForLeaderEpoch: after two leader changes every earlier term ends exactly where the next began; the current term at the log end', async () => {
    const terms: number[] = [];
    const endsBefore: number[] = [];
    for (let round = 0; round < 3; round++) {
      const l = leader();
      terms.push(l.leaderEpoch);
      for (let i = 0; i < 3 + round; i++) await produce(l, batchOf(1 + i, `e${round}-${i}`));
      endsBefore.push(l.logEndOffset());
      if (round === 2) break;
      const next = ids.find((id) => id !== l.node.nodeId)!;
      await l.node.transferLeadership(next);
      await until(() => parts.get(next)!.serving);
    }
    const l = leader();
    const oracle = termEnds(l);
    expect(terms[1]).to.be.greaterThan(terms[0]!);
    expect(terms[2]).to.be.greaterThan(terms[1]!);
    // Earlier terms: the offset after their last batch, which is where the next term's no-op begins.
    for (const t of terms.slice(0, 2)) {
      const want = oracle.get(t)!;
      expect(want).to.equal(endsBefore[terms.indexOf(t)]);
      expect(l.endOffsetForEpoch(t)).to.deep.equal({ leaderEpoch: t, endOffset: want });
      expect(l.endOffsetForEpoch(t, l.leaderEpoch)).to.deep.equal({ leaderEpoch: t, endOffset: want });
    }
    // A term between two with entries (none here unless elections skipped one): the largest term below it with entries.
    for (let e = terms[0]!; e < terms[2]!; e++) {
      const floor = Math.max(...[...oracle.keys()].filter((t) => t <= e));
      expect(l.endOffsetForEpoch(e)).to.deep.equal({ leaderEpoch: floor, endOffset: oracle.get(floor) });
    }
    // The current term: the log end offset.
    expect(l.endOffsetForEpoch(terms[2]!)).to.deep.equal({ leaderEpoch: terms[2], endOffset: l.logEndOffset() });
    // Below every term in the log (the first entry has term >= 1): the requested epoch with the log start.
    expect(l.endOffsetForEpoch(0)).to.deep.equal({ leaderEpoch: 0, endOffset: 0 });
    expect(l.endOffsetForEpoch(-1)).to.deep.equal({ leaderEpoch: -1, endOffset: -1 });
    // Fencing and leadership, as every read.
    expect(() => l.endOffsetForEpoch(terms[0]!, l.leaderEpoch - 1)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'FENCED_LEADER_EPOCH'));
    expect(() => l.endOffsetForEpoch(terms[0]!, l.leaderEpoch + 1)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'UNKNOWN_LEADER_EPOCH'));
    expect(() => l.endOffsetForEpoch(l.leaderEpoch + 1)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'UNKNOWN_LEADER_EPOCH'));
    const follower = [...parts.values()].find((p) => p !== l)!;
    expect(() => follower.endOffsetForEpoch(terms[0]!)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'NOT_LEADER'));
    // After DeleteRecords past the first term's records: that term is gone, the log start answers.
    await l.deleteRecords(endsBefore[0]! + 1, 5000);
    expect(l.endOffsetForEpoch(terms[0]!)).to.deep.equal({ leaderEpoch: terms[0], endOffset: l.logStartOffset() });
    expect(l.endOffsetForEpoch(terms[1]!)).to.deep.equal({ leaderEpoch: terms[1], endOffset: endsBefore[1] });
    // The same answers from the term runs of sealed segments (after a restart, from the .index files).
    await closeAll();
    for (const id of ids) await open(id);
    await until(() => [...parts.values()].some((p) => p.serving));
    const again = leader();
    expect(again.endOffsetForEpoch(terms[1]!)).to.deep.equal({ leaderEpoch: terms[1], endOffset: endsBefore[1] });
    const ends = termEnds(again);
    if (layout === 2) {
      expect(again.endOffsetForEpoch(terms[2]!)).to.deep.equal({ leaderEpoch: terms[2], endOffset: ends.get(terms[2]!) });
    } else {
      // Layout 1: the DeleteRecords step of that term took an offset and is not served (the oracle
      // reads served batches), so the term ends one past its last served batch.
      expect(again.endOffsetForEpoch(terms[2]!)).to.deep.equal({ leaderEpoch: terms[2], endOffset: ends.get(terms[2]!)! + 1 });
    }
  });

  it('OffsetForLeaderEpoch: a position past the end of a truncated term is detected (end offset below it)', async () => {
    const old = leader();
    for (let i = 0; i < 3; i++) await produce(old, batchOf(2, `c${i}`));
    await until(() => old.highWatermark() === old.logEndOffset());
    const committedEnd = old.logEndOffset();
    const term = old.leaderEpoch;
    // Cut the leader off; acks=1 appends land in its log only, and the client that got their
    // offsets holds a position past anything committed.
    net.down.add(old.node.nodeId);
    let position = 0;
    for (let i = 0; i < 2; i++) {
      const base = await old.produce({ batch: batchOf(3, `lost${i}`), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000, ack: 'appended' });
      position = base + 3;
    }
    expect(position).to.be.greaterThan(committedEnd);
    await until(() => [...parts.values()].some((p) => p !== old && p.serving));
    const now = [...parts.values()].find((p) => p !== old && p.serving)!;
    net.down.delete(old.node.nodeId);
    await until(() => !old.isLeader);
    expect(now.leaderEpoch).to.be.greaterThan(term);
    // The new leader's answer for the old term: its committed end, below the client's position.
    const r = now.endOffsetForEpoch(term, now.leaderEpoch);
    expect(r).to.deep.equal({ leaderEpoch: term, endOffset: committedEnd });
    expect(r.endOffset).to.be.lessThan(position);
    // The old leader drops its tail and then agrees.
    await until(() => old.logEndOffset() === now.logEndOffset() && old.appliedIndex === now.appliedIndex);
    const back = termEnds(old);
    expect(back.get(term)).to.equal(committedEnd);
  });
});

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(isFlotillaError(err) ? err.code : String(err)).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}
