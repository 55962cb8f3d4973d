// Retention on real segment files over in-process Raft groups: the leader decides (LogStart
// through the log), every replica trims whole segments behind a snapshot at its log start, and a
// follower down for longer than the retention period comes back through that snapshot and
// converges byte for byte on the committed range.
import { expect } from 'chai';
import { encodeBatch } from '../../lib/records/encode.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFlotillaError } from '../../lib/base/errors.js';
import { Partition } from '../../lib/broker/partition.js';
import { retentionTarget, trimBoundary } from '../../lib/broker/retention.js';
import { topicConfigOf } from '../../lib/metadata/topic-config.js';
import type { NodeId } from '../../lib/raft/core/types.js';
import { RaftHost } from '../../lib/raft/host.js';
import { MemoryKv } from '../../lib/storage/memory-kv.js';
import type { SegmentInfo } from '../../lib/storage/segment-log.js';
import { LocalNet, batchOf, clock, until } from './helpers.js';

const seg = (base: number, last: number, baseOffset: number, nextOffset: number, bytes: number, maxTimestamp: number, active = false): SegmentInfo =>
  ({ base, last, baseOffset, nextOffset, bytes, maxTimestamp, active });

describe('retention decisions', () => {
  const segs = [seg(1, 10, 0, 20, 1000, 100), seg(11, 20, 20, 40, 1000, 200), seg(21, 30, 40, 60, 1000, 300), seg(31, 35, 60, 70, 500, 400, true)];
  const cfg = { delete: true, retentionMs: -1, retentionBytes: -1 };

  it('by time: sealed segments whose newest batch is older than retention.ms, oldest first', () => {
    expect(retentionTarget(segs, { ...cfg, retentionMs: 1000 }, 1150, 70, 0)).to.equal(20);
    expect(retentionTarget(segs, { ...cfg, retentionMs: 1000 }, 1250, 70, 0)).to.equal(40);
    // Never the active segment, never past the high watermark, never back.
    expect(retentionTarget(segs, { ...cfg, retentionMs: 0 }, 10_000, 70, 0)).to.equal(60);
    expect(retentionTarget(segs, { ...cfg, retentionMs: 0 }, 10_000, 45, 0)).to.equal(40);
    expect(retentionTarget(segs, { ...cfg, retentionMs: 0 }, 10_000, 70, 60)).to.equal(null);
    expect(retentionTarget(segs, { ...cfg, retentionMs: -1 }, 10_000, 70, 0)).to.equal(null);
    expect(retentionTarget(segs, { ...cfg, delete: false, retentionMs: 0 }, 10_000, 70, 0)).to.equal(null);
  });

  it('by size: oldest sealed segments while the rest still holds retention.bytes', () => {
    expect(retentionTarget(segs, { ...cfg, retentionBytes: 1500 }, 0, 70, 0)).to.equal(40);
    expect(retentionTarget(segs, { ...cfg, retentionBytes: 3500 }, 0, 70, 0)).to.equal(null);
    expect(retentionTarget(segs, { ...cfg, retentionBytes: 0 }, 0, 70, 0)).to.equal(60);
    // Segments already below the log start do not count.
    expect(retentionTarget(segs, { ...cfg, retentionBytes: 1500 }, 0, 70, 20)).to.equal(40);
  });

  it('trims whole sealed segments below the log start that are applied', () => {
    expect(trimBoundary(segs, 45, 100)).to.equal(20);
    expect(trimBoundary(segs, 60, 100)).to.equal(30);
    expect(trimBoundary(segs, 60, 25)).to.equal(20);
    expect(trimBoundary(segs, 10, 100)).to.equal(null);
    expect(trimBoundary(segs, 1000, 100)).to.equal(30); // never the active segment
  });
});

describe('Partition retention: snapshots at the log start', function () {
  this.timeout(60_000);
  const ids = [1, 2, 3];
  const topicId = '00000000-0000-4000-8000-000000000007';
  let dir: string;
  let net: LocalNet;
  let hosts: Map<NodeId, RaftHost>;
  let kvs: Map<NodeId, MemoryKv>;
  let parts: Map<NodeId, Partition>;
  const config = topicConfigOf(new Map([['segment.bytes', '2048'], ['retention.bytes', '6000']]));

  async function open(id: NodeId): Promise<void> {
    const host = new RaftHost({ nodeId: id, transport: net.transport(id), settings: { tickMs: 5 } });
    host.start();
    hosts.set(id, host);
    const p = await Partition.open({
      host, kv: kvs.get(id)!, dir: join(dir, `n${id}`), topic: 't', topicId, partition: 0,
      bootstrap: { voters: ids, learners: [] }, fsync: false, clock, offsetLayout: 2,
    });
    p.configure(config);
    parts.set(id, p);
  }

  async function close(id: NodeId): Promise<void> {
    await parts.get(id)!.close();
    await hosts.get(id)!.close();
    parts.delete(id);
    hosts.delete(id);
  }

  const leader = (): Partition => [...parts.values()].find((p) => p.serving)!;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-retention-'));
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
    for (const id of [...parts.keys()]) await close(id);
    rmSync(dir, { recursive: true, force: true });
    expect(failed).to.deep.equal([]);
  });

  /** Every committed batch from the log start offset to the high watermark, as one buffer. */
  function committedBytes(p: Partition): Buffer {
    const log = p.segmentLog;
    const from = log.indexOfOffset(p.logStartOffset());
    return Buffer.concat(from <= p.appliedIndex ? log.readBatches(from, p.appliedIndex, 1 << 30) : []);
  }

  it('a follower down for longer than the retention period comes back through the snapshot and converges byte for byte', async () => {
    let l = leader();
    const down = ids.find((id) => id !== l.node.nodeId)!;
    for (let i = 0; i < 10; i++) await l.produce({ batch: batchOf(3, `early${i}`), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    await until(() => parts.get(down)!.appliedIndex === l.appliedIndex);
    const downLast = parts.get(down)!.segmentLog.lastIndex();
    await close(down);
    // While it is down: enough produce that retention.bytes condemns everything it holds.
    for (let i = 0; i < 150; i++) {
      await l.produce({ batch: batchOf(3, `late${i}`), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
      if (i % 10 === 9) {
        await l.enforceRetention(Date.now(), 5000);
        for (const p of parts.values()) await p.trimLog();
      }
    }
    l = leader();
    await until(() => [...parts.values()].every((p) => p.logStartOffset() === l.logStartOffset()));
    for (const p of parts.values()) await p.trimLog();
    expect(l.segmentLog.firstIndex()).to.be.greaterThan(downLast + 1);
    expect(l.segmentLog.logBytes()).to.be.lessThan(6000 + 2 * 2048);
    // Reads below the log start are out of range; ListOffsets earliest is the log start.
    expect(() => l.read(0, 1 << 20)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'OFFSET_OUT_OF_RANGE'));
    await open(down);
    const back = parts.get(down)!;
    await until(() => back.appliedIndex === leader().appliedIndex && back.segmentLog.lastIndex() === leader().segmentLog.lastIndex(), 20_000);
    // It installed the leader's snapshot (its own log could not be continued) and fetched the rest.
    expect(back.node.latestSnapshotIndex).to.equal(leader().node.latestSnapshotIndex);
    expect(back.segmentLog.firstIndex()).to.equal(leader().node.latestSnapshotIndex + 1);
    expect(back.logStartOffset()).to.equal(leader().logStartOffset());
    expect(back.highWatermark()).to.equal(leader().highWatermark());
    const want = committedBytes(leader());
    expect(want.length).to.be.greaterThan(1000);
    for (const p of parts.values()) expect(committedBytes(p).equals(want)).to.equal(true);
    // And it keeps up with new produce, offsets continuing from the snapshot.
    const next = await leader().produce({ batch: batchOf(2, 'after'), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    await until(() => back.appliedIndex === leader().appliedIndex);
    expect(committedBytes(back).equals(committedBytes(leader()))).to.equal(true);
    expect(next).to.be.greaterThan(0);
    // A restart of the whole group keeps the trimmed log, its snapshot and its log start.
    const start = leader().logStartOffset();
    for (const id of ids) await close(id);
    for (const id of ids) await open(id);
    await until(() => [...parts.values()].some((p) => p.serving));
    await until(() => leader().logStartOffset() === start && leader().highWatermark() > next);
  });

  it('by time: batches older than retention.ms go once their segments are sealed', async () => {
    const l = leader();
    for (const p of parts.values()) p.configure(topicConfigOf(new Map([['segment.bytes', '2048'], ['retention.ms', '60000']])));
    const old = Date.now() - 3_600_000;
    for (let i = 0; i < 40; i++) await l.produce({ batch: batchOf(3, `old${i}`, old), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    const fresh = await l.produce({ batch: batchOf(3, 'fresh', Date.now()), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    const moved = await l.enforceRetention(Date.now(), 5000);
    expect(moved).to.be.a('number');
    expect(moved!).to.be.at.most(fresh);
    expect(l.logStartOffset()).to.equal(moved);
    await until(() => [...parts.values()].every((p) => p.logStartOffset() === moved));
    for (const p of parts.values()) expect(await p.trimLog()).to.equal(true);
    for (const p of parts.values()) expect(p.segmentLog.offsetAfter(p.segmentLog.firstIndex() - 1)).to.be.at.most(moved!);
    // The fresh batch is still served.
    expect(l.read(fresh, 1 << 20).records).to.not.equal(null);
  });
  it('idempotent producers across a snapshot install: the follower holds the leader\'s producer state, hides nothing, and still knows a retry', async () => {
    const idem = (seq: number, tag: string): Buffer => encodeBatch({
      baseOffset: 0, baseTimestamp: 1_000, producerId: 5, producerEpoch: 0, baseSequence: seq,
      records: Array.from({ length: 3 }, (_, i) => ({ key: null, value: Buffer.from(`${tag}-${i}`) })),
    });
    let l = leader();
    const down = ids.find((id) => id !== l.node.nodeId)!;
    await close(down);
    let last = 0;
    for (let i = 0; i < 150; i++) {
      last = await l.produce({ batch: idem(i * 3, `p${i}`), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
      if (i % 10 === 9) {
        await l.enforceRetention(Date.now(), 5000);
        for (const p of parts.values()) await p.trimLog();
      }
    }
    l = leader();
    await until(() => [...parts.values()].every((p) => p.logStartOffset() === l.logStartOffset()));
    for (const p of parts.values()) await p.trimLog();
    await open(down);
    const back = parts.get(down)!;
    await until(() => back.appliedIndex === leader().appliedIndex, 20_000);
    expect(back.node.latestSnapshotIndex).to.be.greaterThan(0);
    // The snapshot carried the state as of when it was taken; the entries above it applied again
    // are recognised as already in it (not as duplicates to hide).
    expect(back.producers()).to.deep.equal(leader().producers());
    expect(back.status()['hiddenEntries']).to.equal(0);
    await leader().node.transferLeadership(down);
    await until(() => back.serving, 20_000);
    expect(await back.produce({ batch: idem(149 * 3, 'p149'), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 })).to.equal(last);
  });
});
