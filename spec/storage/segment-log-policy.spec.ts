// SegmentLogStore's run-time policy (a topic's segment.bytes / segment.ms / flush.messages /
// flush.ms), roll(), segment summaries for retention, and segment rewrites for the cleaner.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../lib/base/clock.js';
import { BatchHeader, decodeRecords } from '../../lib/records/batch.js';
import { encodeBatch } from '../../lib/records/encode.js';
import { type Entry, EntryType } from '../../lib/raft/core/types.js';
import { SegmentLogStore } from '../../lib/storage/segment-log.js';

class ManualClock implements Clock {
  ms = 1_000;
  nowMs(): number {
    return this.ms;
  }
  wallMs(): number {
    return 1_700_000_000_000 + this.ms;
  }
}

/** A Normal 'batch' entry of `n` keyed records with timestamp `ts`. */
function entryOf(index: number, n: number, ts: number, tag = `e${index}`): Entry {
  const data = encodeBatch({ baseOffset: 0, baseTimestamp: ts, records: Array.from({ length: n }, (_, j) => ({ key: Buffer.from(`${tag}-k${j}`), value: Buffer.alloc(40, j) })) });
  return { index, term: 1, type: EntryType.Normal, data };
}

function valuesOf(batch: Uint8Array): string[] {
  return decodeRecords(batch).map((r) => Buffer.from(r.key ?? []).toString());
}

describe('SegmentLogStore: policy, roll, segment summaries and rewrites', () => {
  let dir: string;
  let clock: ManualClock;
  const open = (settings: Record<string, unknown> = {}): Promise<SegmentLogStore> =>
    SegmentLogStore.open({ dir, clock, settings: { format: 'batch', indexIntervalBytes: 256, cacheBytesMax: 1024, ...settings } });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-log-policy-'));
    clock = new ManualClock();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('rolls by the policy set at run time, and roll() seals the active segment now', async () => {
    const s = await open({ segmentBytesMax: 1 << 20 });
    for (let i = 1; i <= 10; i++) s.append([entryOf(i, 2, 100 + i)]);
    expect(s.segmentBases()).to.deep.equal([1]);
    s.setPolicy({ segmentBytesMax: 600 });
    for (let i = 11; i <= 20; i++) s.append([entryOf(i, 2, 100 + i)]);
    expect(s.segmentBases().length).to.be.greaterThan(2);
    s.setPolicy({ segmentBytesMax: 1 << 20, segmentAgeMsMax: 50 });
    const before = s.segmentBases().length;
    s.append([entryOf(21, 1, 500)]);
    clock.ms += 60;
    s.append([entryOf(22, 1, 501)]);
    expect(s.segmentBases().length).to.equal(before + 1);
    s.roll();
    expect(s.segmentBases().at(-1)).to.equal(23);
    s.roll(); // an empty active segment is not rolled again
    expect(s.segmentBases().at(-1)).to.equal(23);
    s.append([entryOf(23, 1, 502)]);
    await s.flush();
    const infos = s.segmentInfos();
    // Contiguous in indexes and offsets; timestamps are each segment's largest.
    for (let i = 1; i < infos.length; i++) {
      expect(infos[i]!.base).to.equal(infos[i - 1]!.last + 1);
      expect(infos[i]!.baseOffset).to.equal(infos[i - 1]!.nextOffset);
    }
    expect(infos[0]!.maxTimestamp).to.equal(110);
    expect(infos.at(-1)!.maxTimestamp).to.equal(502);
    expect(infos.at(-1)!.active).to.equal(true);
    await s.close();
    // After a reopen the timestamps of sealed segments are found again by scanning headers.
    const again = await open();
    expect(again.segmentInfos().map((i) => i.maxTimestamp)).to.deep.equal(infos.map((i) => i.maxTimestamp));
    await again.close();
  });

  it('with fsync off, fsyncs only as flush.messages / flush.ms ask; with fsync on, at every flush', async () => {
    const s = await open({ fsync: false });
    s.setPolicy({ flushMessages: 5 });
    s.append([entryOf(1, 2, 1)]);
    await s.flush();
    s.append([entryOf(2, 2, 1)]);
    await s.flush();
    expect(s.stats.syncs).to.equal(0);
    s.append([entryOf(3, 1, 1)]); // 5 records since the last fsync
    await s.flush();
    expect(s.stats.syncs).to.equal(1);
    s.setPolicy({ flushMessages: Number.MAX_SAFE_INTEGER, flushIntervalMs: 1000 });
    s.append([entryOf(4, 1, 1)]);
    await s.flush();
    await s.syncIfDue();
    expect(s.stats.syncs).to.equal(1);
    clock.ms += 1000;
    await s.syncIfDue(); // time's up for the append of entry 4, with no new append
    expect(s.stats.syncs).to.equal(2);
    await s.syncIfDue();
    expect(s.stats.syncs).to.equal(2); // nothing unsynced
    await s.close();
    rmSync(dir, { recursive: true, force: true });
    const synced = await open({ fsync: true });
    synced.append([entryOf(1, 1, 1)]);
    await synced.flush();
    synced.append([entryOf(2, 1, 1)]);
    await synced.flush();
    expect(synced.stats.syncs).to.equal(2);
    await synced.close();
  });

  it('rewrites a sealed segment atomically: same indexes, offsets and terms, new records; reads from cache and disk see it', async () => {
    const s = await open({ segmentBytesMax: 1500, cacheBytesMax: 1 << 20 });
    for (let i = 1; i <= 30; i++) s.append([entryOf(i, 3, 1000 + i)]);
    await s.flush();
    const seg = s.segmentInfos()[1]!;
    expect(seg.active).to.equal(false);
    const bytesBefore = s.logBytes();
    const rw = s.beginRewrite(seg.base)!;
    expect(s.beginRewrite(s.segmentInfos().at(-1)!.base)).to.equal(null); // the active segment: roll it first
    for (let got = s.readRewrite(rw, 200); got.length > 0; got = s.readRewrite(rw, 200)) {
      for (const { index, batch } of got) {
        const h = new BatchHeader(batch);
        const records = decodeRecords(batch);
        // Keep the last record only, at its own offset delta.
        const last = records.at(-1)!;
        const replacement = encodeBatch({
          baseOffset: h.baseOffset, partitionLeaderEpoch: h.partitionLeaderEpoch, baseTimestamp: h.baseTimestamp,
          records: [{ key: last.key, value: last.value, offsetDelta: last.offsetDelta, timestampDelta: last.timestampDelta }],
        });
        s.putRewrite(rw, index, batch, replacement);
      }
    }
    expect(readdirSync(dir).some((f) => f.endsWith('.clean.tmp'))).to.equal(true);
    expect(await s.commitRewrite(rw)).to.equal(true);
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).to.equal(false);
    expect(s.logBytes()).to.be.lessThan(bytesBefore);
    const check = (store: SegmentLogStore): void => {
      const entries = store.entries(1, 31, 1 << 20);
      expect(entries).to.have.length(30);
      let next = 0;
      for (const e of entries) {
        const h = new BatchHeader(e.data);
        expect(h.baseOffset).to.equal(next);
        next = h.lastOffset + 1;
        const inSeg = e.index >= seg.base && e.index <= seg.last;
        expect(valuesOf(e.data)).to.deep.equal(inSeg ? [`e${e.index}-k2`] : [0, 1, 2].map((j) => `e${e.index}-k${j}`));
      }
      expect(store.indexOfOffset(seg.baseOffset + 2)).to.equal(seg.base);
      expect(store.readBatches(seg.base, seg.base, 1)).to.have.length(1);
    };
    check(s);
    await s.close();
    const again = await open({ segmentBytesMax: 1500, cacheBytesMax: 0 });
    check(again);
    await again.close();
  });

  it('abandons a rewrite whose segment retention deleted, and removes a rewrite left by a crash at open', async () => {
    const s = await open({ segmentBytesMax: 1500 });
    for (let i = 1; i <= 30; i++) s.append([entryOf(i, 3, 1000 + i)]);
    await s.flush();
    const first = s.segmentInfos()[0]!;
    const rw = s.beginRewrite(first.base)!;
    for (let got = s.readRewrite(rw, 1 << 20); got.length > 0; got = s.readRewrite(rw, 1 << 20)) {
      for (const { index, batch } of got) s.putRewrite(rw, index, batch, batch);
    }
    s.compact(first.last);
    expect(await s.commitRewrite(rw)).to.equal(false);
    expect(s.stats.rewritesAbandoned).to.equal(1);
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).to.equal(false);
    await s.close();
    // A crash in the middle of a rewrite leaves its tmp file: open removes it, the segment stays.
    const base = String(s.segmentBases()[0] ?? 0);
    const leftover = join(dir, `${base.padStart(20, '0')}.log.clean.tmp`);
    writeFileSync(leftover, Buffer.alloc(100, 7));
    const again = await open({ segmentBytesMax: 1500 });
    expect(existsSync(leftover)).to.equal(false);
    expect(again.entries(again.firstIndex(), 31, 1 << 20).at(-1)!.index).to.equal(30);
    await again.close();
  });
});
