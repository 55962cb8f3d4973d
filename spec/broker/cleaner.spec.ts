// The log cleaner over in-process Raft groups on real segment files: the leader orders passes,
// every replica cleans on its own (with its own map budget), and all converge on the same bytes;
// tombstones go once delete.retention.ms has passed; a pass cut short resumes to the same bytes.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isFlotillaError } from '../../lib/base/errors.js';
import { LogCleaner } from '../../lib/broker/cleaner.js';
import { Partition } from '../../lib/broker/partition.js';
import { cleanCommand } from '../../lib/broker/retention.js';
import { topicConfigOf } from '../../lib/metadata/topic-config.js';
import {
  ATTRIBUTES_POS, BATCH_HEADER_BYTES, BATCH_LENGTH_POS, BatchHeader, LOG_OVERHEAD_BYTES, batchSizeAt, checkBatch, updateBatchCrc,
} from '../../lib/records/batch.js';
import { Codec, codecsReady, compressRecords } from '../../lib/records/codecs.js';
import { controlTypeOf, rawRecords } from '../../lib/records/compaction.js';
import { ControlType, encodeBatch } from '../../lib/records/encode.js';
import type { NodeId } from '../../lib/raft/core/types.js';
import { RaftHost } from '../../lib/raft/host.js';
import { MemoryKv } from '../../lib/storage/memory-kv.js';
import { LocalNet, clock, until } from './helpers.js';

type Rec = { key: string; value: string | null };

const XERIAL_HEADER = Buffer.from('82534e41505059000000000100000001', 'hex');

function keyed(records: readonly Rec[], ts = Date.now()): Buffer {
  return encodeBatch({ baseOffset: 0, baseTimestamp: ts, records: records.map((r) => ({ key: Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value) })) });
}

/** The same batch with its records compressed with `codec` (snappy: xerial-framed, as Java writes it). */
function compressed(batch: Buffer, codec: number): Buffer {
  const body = compressRecords(codec, batch.subarray(BATCH_HEADER_BYTES), codec === Codec.Snappy ? XERIAL_HEADER : Buffer.alloc(0));
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), body]);
  out.writeInt32BE(out.length - LOG_OVERHEAD_BYTES, BATCH_LENGTH_POS);
  out.writeInt16BE(out.readInt16BE(ATTRIBUTES_POS) | codec, ATTRIBUTES_POS);
  updateBatchCrc(out);
  return out;
}

/** Key -> [offset, value] of every record a consumer from the log start would see, in order. */
function consume(records: Buffer, contiguous = true): { seen: Map<string, { offset: number; value: string | null }>; count: number; compacted: number } {
  const seen = new Map<string, { offset: number; value: string | null }>();
  let count = 0;
  let compacted = 0;
  let next = -1;
  for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) {
    const b = records.subarray(pos, pos + batchSizeAt(records, pos));
    expect(checkBatch(b)).to.equal(null);
    const h = new BatchHeader(b);
    if (next >= 0 && contiguous) expect(h.baseOffset).to.equal(next);
    next = h.lastOffset + 1;
    if (h.isControl) {
      if (controlTypeOf(b) === ControlType.Compacted) compacted++;
      continue;
    }
    for (const r of rawRecords(b, 1 << 24)) {
      count++;
      const key = Buffer.from(r.key!).toString();
      // What a compacting consumer keeps: the latest value; a tombstone deletes.
      seen.set(key, { offset: r.offset, value: r.tombstone ? null : Buffer.from(r.raw).toString('latin1') });
    }
  }
  return { seen, count, compacted };
}

describe('LogCleaner', function () {
  this.timeout(60_000);
  const ids = [1, 2, 3];
  const topicId = '00000000-0000-4000-8000-00000000c1ea';
  let dir: string;
  let net: LocalNet;
  let hosts: Map<NodeId, RaftHost>;
  let kvs: Map<NodeId, MemoryKv>;
  let parts: Map<NodeId, Partition>;
  let cleaners: Map<NodeId, LogCleaner>;
  const config = topicConfigOf(new Map([['cleanup.policy', 'compact'], ['segment.bytes', '4096'], ['min.cleanable.dirty.ratio', '0.5'], ['delete.retention.ms', '1000']]));

  async function open(id: NodeId, cleaner?: LogCleaner): Promise<void> {
    const host = new RaftHost({ nodeId: id, transport: net.transport(id), settings: { tickMs: 5 } });
    host.start();
    hosts.set(id, host);
    const p = await Partition.open({
      host, kv: kvs.get(id)!, dir: join(dir, `n${id}`), topic: 'c', topicId, partition: 0,
      bootstrap: { voters: ids, learners: [] }, fsync: false, clock, offsetLayout: 2,
      // Election timeouts of 200-400 ms: a leader change in the middle of a test (a loaded
      // machine stalls the event loop beyond the default 50-100 ms) would refuse its produces.
      raft: { electionTicksMin: 40, electionTicksMax: 80 },
    });
    p.configure(config);
    parts.set(id, p);
    // Replicas clean with different map budgets: node 2's fits a few dozen keys per pass.
    cleaners.set(id, cleaner ?? new LogCleaner({ settings: { dedupeBytesMax: id === 2 ? 2048 : 1 << 20, chunkBytes: 4096, ioBytesPerSecond: 1 << 30 } }));
  }

  async function close(id: NodeId): Promise<void> {
    await parts.get(id)!.close();
    await hosts.get(id)!.close();
    parts.delete(id);
    hosts.delete(id);
  }

  const leader = (): Partition => [...parts.values()].find((p) => p.serving)!;

  /** Runs every replica's cleaner until none has a pass due. */
  async function cleanAll(): Promise<void> {
    // (No leader for a moment, on a loaded machine: wait for one.)
    await until(() => leader() !== undefined && [...parts.values()].every((p) => p.appliedIndex === leader().appliedIndex));
    for (let round = 0; round < 100; round++) {
      let any = false;
      for (const [id, p] of parts) {
        const c = cleaners.get(id)!;
        if (await c.due(p)) {
          any = true;
          await c.clean(p);
        }
      }
      if (!any) return;
    }
    throw new Error('the cleaners never finished');
  }

  function committed(p: Partition): Buffer {
    const log = p.segmentLog;
    return Buffer.concat(log.readBatches(log.indexOfOffset(p.logStartOffset()), p.appliedIndex, 1 << 30));
  }

  before(() => codecsReady());

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-cleaner-'));
    net = new LocalNet();
    hosts = new Map();
    kvs = new Map(ids.map((id) => [id, new MemoryKv()]));
    parts = new Map();
    cleaners = new Map();
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

  /**
   * 60 keys x 10 updates (10 records per batch; a third of the batches compressed with `codec`, or
   * all of them with `all`), then tombstones for 6 keys.
   */
  async function produceUpdates(codec: number = Codec.Gzip, all = false): Promise<Map<string, { offset: number; value: string | null }>> {
    const l = leader();
    const latest = new Map<string, { offset: number; value: string | null }>();
    for (let round = 0; round < 10; round++) {
      for (let k = 0; k < 60; k += 10) {
        const recs = Array.from({ length: 10 }, (_, j) => ({ key: `k${k + j}`, value: `v${k + j}.${round}` }));
        let batch = keyed(recs);
        if (all || k % 30 === 0) batch = compressed(batch, codec);
        const base = await l.produce({ batch, maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
        recs.forEach((r, i) => latest.set(r.key, { offset: base + i, value: r.value }));
      }
    }
    for (const k of [3, 7, 11, 30, 31, 59]) {
      const tombstone = keyed([{ key: `k${k}`, value: null }]);
      const base = await l.produce({ batch: all ? compressed(tombstone, codec) : tombstone, maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
      latest.set(`k${k}`, { offset: base, value: null });
    }
    return latest;
  }

  it('keeps the latest record per key at its offset, removes tombstones after delete.retention.ms, and every replica holds the same bytes', async () => {
    const latest = await produceUpdates();
    const l = leader();
    const bytesBefore = l.segmentLog.logBytes();
    const t0 = Date.now();
    expect(await l.orderCleaning(t0, 0, 5000)).to.equal(true);
    await cleanAll();
    const once = consume(committed(leader()));
    expect(once.count).to.equal(60); // 54 values and 6 tombstones, each the latest of its key
    for (const [key, want] of latest) {
      const got = once.seen.get(key)!;
      expect(got.offset, key).to.equal(want.offset);
      expect(got.value === null, key).to.equal(want.value === null);
    }
    expect(once.compacted).to.be.greaterThan(50);
    // What a client is served from the log start to the high watermark: the same records; the
    // emptied batches are gaps, never served (a tail of them would be one 6-byte control record).
    const served: Buffer[] = [];
    for (let offset = leader().logStartOffset(); offset < leader().highWatermark();) {
      const answer = leader().read(offset, 4096).records!;
      for (let pos = 0; pos < answer.length; pos += batchSizeAt(answer, pos)) {
        const b = answer.subarray(pos, pos + batchSizeAt(answer, pos));
        const h = new BatchHeader(b);
        if (h.isControl) expect(answer.length, 'a control batch served beside records').to.equal(b.length);
        served.push(b);
        offset = h.lastOffset + 1;
      }
    }
    const view = consume(Buffer.concat(served), false);
    expect(view.count).to.equal(once.count);
    expect([...view.seen]).to.deep.equal([...once.seen]);
    expect(view.compacted).to.equal(0);
    expect(leader().segmentLog.logBytes()).to.be.lessThan(bytesBefore / 2);
    const bytes = committed(leader());
    for (const p of parts.values()) expect(committed(p).equals(bytes), `node ${p.node.nodeId}`).to.equal(true);
    // Not yet delete.retention.ms after the first pass: no tombstone horizon, no pass due.
    expect(await leader().orderCleaning(t0 + 500, 0, 5000)).to.equal(false);
    expect(await leader().orderCleaning(t0 + 1500, 0, 5000)).to.equal(true);
    await cleanAll();
    const twice = consume(committed(leader()));
    expect(twice.count).to.equal(54);
    for (const [key, want] of latest) expect(twice.seen.has(key), key).to.equal(want.value !== null);
    const after = committed(leader());
    for (const p of parts.values()) expect(committed(p).equals(after), `node ${p.node.nodeId}`).to.equal(true);
    // A compacted topic refuses records without a key, and loses nothing doing so; the error names
    // each keyless record by its index in the batch (Produce v8 recordErrors).
    try {
      const records = [{ key: Buffer.from('k'), value: Buffer.from('x') }, { key: null, value: Buffer.from('x') }, { key: null, value: Buffer.from('y') }];
      await leader().produce({ batch: encodeBatch({ records }), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 1000 });
      expect.fail('accepted a record without a key');
    } catch (err) {
      expect(isFlotillaError(err, 'INVALID_RECORD')).to.equal(true);
      const recordErrors = (err as { details: { recordErrors: { batchIndex: number; message: string }[] } }).details.recordErrors;
      expect(recordErrors.map((r) => r.batchIndex)).to.deep.equal([1, 2]);
      expect(recordErrors[0]!.message).to.match(/without a key/);
    }
  });

  for (const [name, codec] of [['snappy', Codec.Snappy], ['lz4', Codec.Lz4], ['zstd', Codec.Zstd], ['gzip', Codec.Gzip]] as const) {
    it(`cleans a topic written with ${name} like an uncompressed one: it shrinks, keeps the latest of each key, in ${name}, the same bytes on every replica`, async () => {
      const latest = await produceUpdates(codec, true);
      const l = leader();
      const bytesBefore = l.segmentLog.logBytes();
      expect(await l.orderCleaning(Date.now(), 0, 5000)).to.equal(true);
      await cleanAll();
      const bytes = committed(leader());
      const got = consume(bytes);
      expect(got.count).to.equal(60);
      for (const [key, want] of latest) {
        expect(got.seen.get(key)?.offset, key).to.equal(want.offset);
        expect(got.seen.get(key)?.value === null, key).to.equal(want.value === null);
        if (want.value !== null) expect(got.seen.get(key)?.value, key).to.contain(want.value);
      }
      // 540 of 600 updates go; most batches become a Compacted control batch (about 70 bytes).
      expect(leader().segmentLog.logBytes()).to.be.lessThan(bytesBefore * 0.6);
      for (const b of batchesOf(bytes)) {
        const h = new BatchHeader(b);
        if (!h.isControl) expect(h.compression, `batch at ${h.baseOffset}`).to.equal(codec);
      }
      for (const p of parts.values()) expect(committed(p).equals(bytes), `node ${p.node.nodeId}`).to.equal(true);
      // A record without a key is refused in this codec too (its records are read on produce).
      try {
        await leader().produce({ batch: compressed(encodeBatch({ records: [{ key: null, value: Buffer.from('x') }] }), codec), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 1000 });
        expect.fail('accepted a record without a key');
      } catch (err) {
        expect(isFlotillaError(err, 'INVALID_RECORD'), String(err)).to.equal(true);
      }
    });
  }

  it('a pass cut short before a segment swap (a crash) runs again from its checkpoint to the same bytes (zstd batches)', async () => {
    await produceUpdates(Codec.Zstd, true);
    const victim = ids.find((id) => id !== leader().node.nodeId)!;
    let swaps = 0;
    const crashing = new LogCleaner({
      settings: { chunkBytes: 4096 },
      beforeSwap: () => {
        if (++swaps === 3) throw new Error('kill -9');
      },
    });
    cleaners.set(victim, crashing);
    expect(await leader().orderCleaning(Date.now(), 0, 5000)).to.equal(true);
    await until(() => parts.get(victim)!.cleanState().x > 0);
    let crashed = false;
    try {
      await crashing.clean(parts.get(victim)!);
    } catch (err) {
      crashed = (err as Error).message === 'kill -9';
    }
    expect(crashed).to.equal(true);
    expect(parts.get(victim)!.segmentLog.stats.rewrites).to.equal(2);
    // The node dies here; it comes back with what LevelDB (no checkpoint yet) and the files hold.
    await close(victim);
    await open(victim);
    await cleanAll();
    const bytes = committed(leader());
    for (const p of parts.values()) expect(committed(p).equals(bytes), `node ${p.node.nodeId}`).to.equal(true);
    expect(consume(bytes).count).to.equal(60);
  });

  it('a follower down while the others clean and drop tombstones catches up without bringing a deleted key back', async () => {
    // The follower holds the first values of every key; while it is down the keys are updated,
    // some deleted, and the others clean. Were the tombstones dropped before it holds them, the
    // leader's cleaned log would give it neither the newer values nor the tombstones, and its old
    // values of the deleted keys would live on (the e2e kill -9 test found it).
    const l = leader();
    const down = ids.find((id) => id !== l.node.nodeId)!;
    for (let k = 0; k < 20; k += 10) {
      await l.produce({ batch: keyed(Array.from({ length: 10 }, (_, j) => ({ key: `k${k + j}`, value: `first${k + j}` }))), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    }
    await until(() => parts.get(down)!.appliedIndex === l.appliedIndex);
    await close(down);
    for (let round = 0; round < 5; round++) {
      for (let k = 0; k < 20; k += 10) {
        await l.produce({ batch: keyed(Array.from({ length: 10 }, (_, j) => ({ key: `k${k + j}`, value: `v${k + j}.${round}` }))), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
      }
    }
    const deleted = ['k2', 'k5', 'k13'];
    await l.produce({ batch: keyed(deleted.map((key) => ({ key, value: null }))), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    const t0 = Date.now();
    expect(await l.orderCleaning(t0, 0, 5000)).to.equal(true);
    await cleanAll();
    // delete.retention.ms later the tombstones may go — but not while a replica lacks them.
    await l.orderCleaning(t0 + 1500, 0, 5000);
    await cleanAll();
    await open(down);
    await until(() => parts.get(down)!.appliedIndex === leader().appliedIndex, 20_000);
    await cleanAll();
    // Once every replica holds them, the tombstones go everywhere (the leader orders it now, if
    // it has not already).
    await leader().orderCleaning(t0 + 3000, 0, 5000);
    await cleanAll();
    const bytes = committed(leader());
    for (const p of parts.values()) {
      const seen = consume(committed(p)).seen;
      for (const key of deleted) expect(seen.get(key), `node ${p.node.nodeId}: ${key}`).to.equal(undefined);
      expect(seen.size, `node ${p.node.nodeId}`).to.equal(20 - deleted.length);
      expect(committed(p).equals(bytes), `node ${p.node.nodeId}`).to.equal(true);
    }
  });

  it('keeps batches of codecs it cannot decode whole, and the tombstones after them', async () => {
    const l = leader();
    // A batch flagged with codec 7 (none Kafka knows): valid to the log, opaque to the cleaner.
    const opaque = keyed([{ key: 'a', value: 'old' }]);
    opaque.writeInt16BE(opaque.readInt16BE(ATTRIBUTES_POS) | 7, ATTRIBUTES_POS);
    updateBatchCrc(opaque);
    const o1 = await l.produce({ batch: opaque, maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    await l.produce({ batch: keyed([{ key: 'b', value: 'old' }]), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    await l.produce({ batch: keyed([{ key: 'a', value: null }, { key: 'b', value: 'new' }]), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    const t0 = Date.now();
    expect(await l.orderCleaning(t0, 0, 5000)).to.equal(true);
    await cleanAll();
    expect(await l.orderCleaning(t0 + 2000, 0, 5000)).to.equal(true);
    await cleanAll();
    const records = committed(leader());
    // The opaque batch is still there, unchanged; the tombstone of a (a may hide in it) too.
    expect(leader().read(o1, 1).records!.subarray(16).equals(opaque.subarray(16))).to.equal(true);
    const seen = consume(Buffer.concat([...batchesOf(records)].filter((b) => new BatchHeader(b).compression === 0)), false);
    expect(seen.seen.get('a')?.value).to.equal(null);
    expect(seen.seen.has('b')).to.equal(true);
    expect(seen.count).to.equal(2);
  });

  it('decides when to clean: dirty ratio, backoff, min.compaction.lag.ms, and the tombstone horizon', () => {
    const seg = (baseOffset: number, nextOffset: number, bytes: number, maxTimestamp: number, active = false) =>
      ({ base: baseOffset + 1, last: nextOffset, baseOffset, nextOffset, bytes, maxTimestamp, active });
    const segments = [seg(0, 100, 1000, 10), seg(100, 200, 1000, 20), seg(200, 300, 1000, 30, true)];
    const cfg = { compact: true, minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, deleteRetentionMs: 100 };
    const base = { segments, cfg, nowMs: 1000, highWatermark: 300, lastStableOffset: 300, logStartOffset: 0, backoffMs: 0, replicatedOffset: 300 };
    expect(cleanCommand({ ...base, state: { x: 0, h: 0, history: [] } })).to.deep.equal({ x: 300, h: 0 });
    // Only a third dirty: below the ratio; a transaction open at 250 caps the cleanable point.
    expect(cleanCommand({ ...base, state: { x: 200, h: 0, history: [[200, 950]] } })).to.equal(null);
    expect(cleanCommand({ ...base, lastStableOffset: 250, state: { x: 0, h: 0, history: [] } })).to.deep.equal({ x: 250, h: 0 });
    // min.compaction.lag.ms: segments with records younger than it stay dirty.
    expect(cleanCommand({ ...base, cfg: { ...cfg, minCompactionLagMs: 985 }, state: { x: 0, h: 0, history: [] } })).to.deep.equal({ x: 100, h: 0 });
    // The tombstone horizon: the x of the last pass at least delete.retention.ms old.
    expect(cleanCommand({ ...base, state: { x: 300, h: 0, history: [[100, 800], [300, 950]] } })).to.deep.equal({ x: 300, h: 100 });
    expect(cleanCommand({ ...base, nowMs: 1100, state: { x: 300, h: 100, history: [[100, 800], [300, 950]] } })).to.deep.equal({ x: 300, h: 300 });
    // ... and never above what every replica holds (a replica lacking a tombstone would keep the
    // value it deleted); a horizon already ordered stays.
    expect(cleanCommand({ ...base, replicatedOffset: 50, state: { x: 300, h: 0, history: [[100, 800], [300, 950]] } })).to.deep.equal({ x: 300, h: 50 });
    expect(cleanCommand({ ...base, replicatedOffset: 0, state: { x: 300, h: 0, history: [[100, 800], [300, 950]] } })).to.equal(null);
    expect(cleanCommand({ ...base, nowMs: 1100, replicatedOffset: 50, state: { x: 300, h: 100, history: [[100, 800], [300, 950]] } })).to.equal(null);
    // Backoff between two commands.
    expect(cleanCommand({ ...base, backoffMs: 100, state: { x: 0, h: 0, history: [[0, 950]] } })).to.equal(null);
    // max.compaction.lag.ms forces a pass whatever the ratio.
    expect(cleanCommand({ ...base, cfg: { ...cfg, maxCompactionLagMs: 10 }, state: { x: 200, h: 0, history: [[200, 950]] } })).to.deep.equal({ x: 300, h: 0 });
    expect(cleanCommand({ ...base, cfg: { ...cfg, compact: false }, state: { x: 0, h: 0, history: [] } })).to.equal(null);
  });
});

function* batchesOf(records: Buffer): Generator<Buffer> {
  for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) yield records.subarray(pos, pos + batchSizeAt(records, pos));
}
