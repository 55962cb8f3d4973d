import { expect } from 'chai';
import fc from 'fast-check';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../lib/base/clock.js';
import { isFlotillaError } from '../../lib/base/errors.js';
import { BatchHeader, batchSizeAt, checkBatch, decodeRecords } from '../../lib/records/batch.js';
import { encodeBatch } from '../../lib/records/encode.js';
import { type Entry, EntryType } from '../../lib/raft/core/types.js';
import { MemoryLogStore } from '../../lib/storage/memory-log-store.js';
import { SegmentLogStore } from '../../lib/storage/segment-log.js';
import { type LogStoreFixture, entry, logStoreConformance, plain, range } from './log-store-conformance.js';

class ManualClock implements Clock {
  ms = 1_000;
  nowMs(): number {
    return this.ms;
  }
  wallMs(): number {
    return 1_700_000_000_000 + this.ms;
  }
}

const SMALL = { segmentBytesMax: 4096, indexIntervalBytes: 512, cacheBytesMax: 2048, readChunkBytes: 4096 };

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'flotilla-log-'));
}

logStoreConformance('SegmentLogStore', (): LogStoreFixture => {
  const dir = tempDir();
  const clock = new ManualClock();
  return {
    open: (options) => SegmentLogStore.open({ dir, clock, settings: options?.small ? SMALL : { cacheBytesMax: 0 } }),
    reopen: true,
    cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  };
});

/** Every batch of a segment file, as headers. */
function batchesOf(file: string): BatchHeader[] {
  const buf = readFileSync(file);
  const out: BatchHeader[] = [];
  for (let pos = 0; pos < buf.length; pos += batchSizeAt(buf, pos)) {
    expect(checkBatch(buf, pos)).to.equal(null);
    out.push(new BatchHeader(buf.subarray(pos, pos + batchSizeAt(buf, pos))));
  }
  return out;
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
}

describe('SegmentLogStore', () => {
  let dir: string;
  let clock: ManualClock;
  let store: SegmentLogStore | null;
  const open = async (settings: Record<string, unknown> = SMALL): Promise<SegmentLogStore> => {
    store = await SegmentLogStore.open({ dir, clock, settings });
    return store;
  };
  const all = (s: SegmentLogStore): Entry[] => s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
  beforeEach(() => {
    dir = tempDir();
    clock = new ManualClock();
    store = null;
  });
  afterEach(async () => {
    await store?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lastIndexOfTermAtMost: the last entry of term <= t from the term runs, across segments, compaction, truncation and reopen', async () => {
    // Terms with gaps (2, 3, 5, 5, 8, ...) over many small segments.
    const termOf = (i: number): number => [2, 3, 5, 8, 9, 13][Math.floor((i - 1) / 37)] ?? 13;
    let s = await open();
    s.append(range(1, 200, termOf));
    const check = (st: SegmentLogStore): void => {
      for (let t = 0; t <= 15; t++) {
        let want = st.firstIndex() - 1;
        for (let i = st.firstIndex(); i <= st.lastIndex(); i++) if (st.term(i) <= t) want = i;
        expect(st.lastIndexOfTermAtMost(t), `term ${t}`).to.equal(want);
      }
    };
    expect(s.segmentBases().length).to.be.greaterThan(3);
    check(s);
    await s.flush();
    s.compact(60);
    expect(s.firstIndex()).to.be.greaterThan(1);
    check(s);
    // A conflicting suffix of a newer term replaces entries of two terms.
    s.append(range(150, 160, 20));
    check(s);
    await s.flush();
    await s.close();
    s = await open();
    check(s);
    s.roll();
    check(s);
  });

  it('rolls segments by size: files named by first index, an index beside each sealed one', async () => {
    const s = await open();
    s.append(range(1, 301, 1));
    await s.flush();
    const bases = s.segmentBases();
    expect(bases.length).to.be.greaterThan(5);
    expect(bases[0]).to.equal(1);
    expect(segmentFiles(dir)).to.deep.equal(bases.map((b) => `${String(b).padStart(20, '0')}.log`));
    for (let k = 0; k < bases.length; k++) {
      const name = String(bases[k]).padStart(20, '0');
      const size = statSync(join(dir, `${name}.log`)).size;
      if (k < bases.length - 1) {
        expect(size).to.be.at.most(4096);
        expect(existsSync(join(dir, `${name}.index`))).to.equal(true);
        // Consecutive indexes across segments: the next base is this one plus its batch count.
        expect(batchesOf(join(dir, `${name}.log`)).length).to.equal((bases[k + 1] as number) - (bases[k] as number));
      } else {
        expect(existsSync(join(dir, `${name}.index`))).to.equal(false);
      }
    }
  });

  it('rolls segments by age, by the clock it was given', async () => {
    const s = await open({ segmentAgeMsMax: 1000 });
    s.append(range(1, 11, 1));
    clock.ms += 999;
    s.append(range(11, 21, 1));
    expect(s.segmentBases()).to.deep.equal([1]);
    clock.ms += 1;
    s.append(range(21, 31, 1));
    expect(s.segmentBases()).to.deep.equal([1, 21]);
    await s.flush();
    expect(plain(all(s))).to.deep.equal(plain(range(1, 31, 1)));
  });

  it("stores 'opaque' entries as one batch each: baseOffset = index, epoch = term, value = data", async () => {
    const s = await open({});
    const es = [entry(1, 3, 0, EntryType.Noop, 0), ...range(2, 10, 3), entry(10, 4, 0, EntryType.Config, 12)];
    s.append(es);
    await s.flush();
    const batches = batchesOf(join(dir, segmentFiles(dir)[0] as string));
    expect(batches.map((b) => b.baseOffset)).to.deep.equal(es.map((e) => e.index));
    expect(batches.map((b) => b.partitionLeaderEpoch)).to.deep.equal(es.map((e) => e.term));
    expect(batches.map((b) => b.isControl)).to.deep.equal(es.map((e) => e.type !== EntryType.Normal));
    const [rec] = decodeRecords(batches[3]?.bytes ?? new Uint8Array(0));
    expect(rec?.key).to.equal(null);
    expect([...(rec?.value ?? [])]).to.deep.equal([...(es[3]?.data ?? [])]);
    const [noop] = decodeRecords(batches[0]?.bytes ?? new Uint8Array(0));
    expect([...(noop?.key ?? [])]).to.deep.equal([0, 0, 0x7f, 0x01]);
    const [config] = decodeRecords(batches[9]?.bytes ?? new Uint8Array(0));
    expect([...(config?.key ?? [])]).to.deep.equal([0, 0, 0x7f, 0x02]);
  });

  it("stores 'batch' entries verbatim with the term as epoch; Raft's own batches continue the offsets", async () => {
    const s = await open({ format: 'batch', segmentBytesMax: 2048, indexIntervalBytes: 256 });
    let offset = 0;
    const es: Entry[] = [{ index: 1, term: 1, type: EntryType.Noop, data: new Uint8Array(0) }];
    offset = 1; // the no-op took offset 0
    for (let i = 2; i <= 40; i++) {
      if (i === 20) {
        es.push({ index: i, term: 2, type: EntryType.Noop, data: new Uint8Array(0) });
        offset++;
        continue;
      }
      const n = 1 + (i % 4);
      const batch = encodeBatch({ baseOffset: offset, records: Array.from({ length: n }, (_, j) => ({ key: Buffer.from(`k${i}`), value: Buffer.alloc(30, j) })), baseTimestamp: 1000 + i });
      offset += n;
      es.push({ index: i, term: i < 20 ? 1 : 2, type: EntryType.Normal, data: batch });
    }
    s.append(es);
    expect(s.nextOffset()).to.equal(offset);
    await s.flush();
    const read = all(s);
    for (const [k, e] of read.entries()) {
      const original = es[k] as Entry;
      expect(e.type).to.equal(original.type);
      expect(e.term).to.equal(original.term);
      if (e.type === EntryType.Normal) {
        const h = new BatchHeader(e.data);
        expect(h.partitionLeaderEpoch).to.equal(e.term);
        expect(h.baseOffset).to.equal(new BatchHeader(original.data).baseOffset);
        expect(Buffer.from(e.data).subarray(16).equals(Buffer.from(original.data).subarray(16))).to.equal(true);
      }
    }
    // On disk: offsets strictly increasing, each batch starting right after the previous one.
    const headers = segmentFiles(dir).flatMap((f) => batchesOf(join(dir, f)));
    expect(headers).to.have.length(40);
    let next = 0;
    for (const h of headers) {
      expect(h.baseOffset).to.equal(next);
      next = h.lastOffset + 1;
    }
    await s.close();
    const again = await open({ format: 'batch', segmentBytesMax: 2048, indexIntervalBytes: 256 });
    expect(again.nextOffset()).to.equal(offset);
    again.append([{ index: 41, term: 3, type: EntryType.Noop, data: new Uint8Array(0) }]);
    expect(again.nextOffset()).to.equal(offset + 1);
    // Truncating back restores the offset after the last kept batch.
    again.append([{ index: 20, term: 3, type: EntryType.Config, data: new Uint8Array([1, 2]) }]);
    const h19 = new BatchHeader((es[18] as Entry).data);
    expect(again.nextOffset()).to.equal(h19.lastOffset + 2);
    expect(() => again.append([{ index: 21, term: 3, type: EntryType.Normal, data: new Uint8Array(10) }])).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
  });

  it("'batch' format: the log assigns baseOffsets; offsets map to entries and raw batches read back, from cache and disk", async () => {
    const settings = { format: 'batch', segmentBytesMax: 2048, indexIntervalBytes: 256, cacheBytesMax: 1024, readChunkBytes: 4096 };
    const s = await open(settings);
    const es: Entry[] = [];
    const starts: number[] = []; // Kafka offset of each entry's first record
    let offset = 0;
    for (let i = 1; i <= 60; i++) {
      if (i % 13 === 1) {
        es.push({ index: i, term: 1 + Math.floor(i / 13), type: EntryType.Noop, data: new Uint8Array(0) });
        starts.push(offset);
        offset += 1;
        continue;
      }
      const n = 1 + (i % 3);
      // The proposer's baseOffset is ignored: the log assigns it (and patches the proposer's buffer).
      const batch = encodeBatch({ baseOffset: 999, records: Array.from({ length: n }, (_, j) => ({ key: null, value: Buffer.alloc(40, j) })), baseTimestamp: 5000 + i });
      es.push({ index: i, term: 1 + Math.floor(i / 13), type: EntryType.Normal, data: batch });
      starts.push(offset);
      offset += n;
    }
    s.append(es);
    for (const [k, e] of es.entries()) if (e.type === EntryType.Normal) expect(new BatchHeader(e.data).baseOffset).to.equal(starts[k]);
    await s.flush();
    const check = (st: SegmentLogStore): void => {
      expect(st.offsetAfter(0)).to.equal(0);
      expect(st.offsetAfter(60)).to.equal(offset);
      for (let k = 0; k < es.length; k++) {
        const index = k + 1;
        const first = starts[k] as number;
        const next = k + 1 < starts.length ? (starts[k + 1] as number) : offset;
        expect(st.offsetAfter(index)).to.equal(next);
        for (let o = first; o < next; o++) expect(st.indexOfOffset(o), `offset ${o}`).to.equal(index);
      }
      expect(st.indexOfOffset(offset)).to.equal(61);
      expect(st.indexOfOffset(offset + 100)).to.equal(61);
      const raw = st.readBatches(1, 60, 1 << 30);
      expect(raw).to.have.length(60);
      let next = 0;
      for (const b of raw) {
        expect(checkBatch(b)).to.equal(null);
        const h = new BatchHeader(b);
        expect(h.baseOffset).to.equal(next);
        next = h.lastOffset + 1;
      }
      // maxBytes bounds the answer but never below one batch.
      expect(st.readBatches(5, 60, 1)).to.have.length(1);
      const some = st.readBatches(5, 60, 300);
      expect(some.reduce((n, b) => n + b.length, 0)).to.be.at.most(300);
    };
    check(s);
    await s.close();
    store = null;
    const again = await open(settings); // every read now comes from the files
    check(again);
  });

  it('recovers from a torn tail: cuts to the last whole batch, reports it, and appends again', async () => {
    let s = await open();
    s.append(range(1, 51, 1));
    await s.flush();
    await s.close();
    const last = join(dir, segmentFiles(dir).at(-1) as string);
    const size = statSync(last).size;
    truncateSync(last, size - 10);
    s = await open();
    expect(s.lastIndex()).to.equal(49);
    expect(s.recovery.cuts).to.have.length(1);
    const cut = s.recovery.cuts[0];
    expect(cut?.file).to.equal(last);
    expect(cut?.reason).to.equal('short');
    expect(cut?.position).to.equal(statSync(last).size);
    expect((cut?.position ?? 0) + (cut?.bytesCut ?? 0)).to.equal(size - 10);
    expect(plain(all(s))).to.deep.equal(plain(range(1, 50, 1)));
    s.append(range(50, 60, 2));
    await s.flush();
    await s.close();
    s = await open();
    expect(s.recovery.cuts).to.deep.equal([]);
    expect(plain(all(s))).to.deep.equal(plain([...range(1, 50, 1), ...range(50, 60, 2)]));
  });

  it('recovers from a flipped byte in the last segment (CRC): the batch and all after it are cut', async () => {
    let s = await open();
    s.append(range(1, 201, 1));
    await s.flush();
    const lastBase = s.segmentBases().at(-1) as number;
    await s.close();
    const file = join(dir, segmentFiles(dir).at(-1) as string);
    const buf = readFileSync(file);
    let pos = 0;
    for (let i = 0; i < 3; i++) pos += batchSizeAt(buf, pos); // the 4th batch
    buf[pos + 30] = (buf[pos + 30] as number) ^ 0x01;
    writeFileSync(file, buf);
    const reports: unknown[] = [];
    store = s = await SegmentLogStore.open({ dir, clock, settings: SMALL, onRecovery: (r) => reports.push(r) });
    expect(reports).to.have.length(1);
    expect(s.recovery.cuts).to.have.length(1);
    expect(s.recovery.cuts[0]).to.include({ file, position: pos, bytesCut: buf.length - pos, reason: 'crc' });
    expect(s.lastIndex()).to.equal(lastBase + 2);
    expect(plain(all(s))).to.deep.equal(plain(range(1, lastBase + 3, 1)));
  });

  it('never serves a corrupt batch from an older segment: CORRUPT, not bad bytes', async () => {
    let s = await open({ ...SMALL, cacheBytesMax: 0 });
    s.append(range(1, 201, 1));
    await s.flush();
    await s.close();
    const file = join(dir, segmentFiles(dir)[1] as string);
    const base = Number((segmentFiles(dir)[1] as string).slice(0, 20));
    const buf = readFileSync(file);
    const pos = batchSizeAt(buf, 0); // second batch of the second segment
    buf[pos + 70] = (buf[pos + 70] as number) ^ 0x40;
    writeFileSync(file, buf);
    s = await open({ ...SMALL, cacheBytesMax: 0 });
    expect(s.recovery.cuts).to.deep.equal([]); // a sealed segment with a valid index is not scanned
    expect(s.entries(base, base + 1, 1e9)).to.have.length(1);
    const corrupt = (e: unknown): boolean => isFlotillaError(e, 'CORRUPT') && /CRC-32C mismatch/.test((e as Error).message);
    expect(() => s.entries(base + 1, base + 2, 1e9)).to.throw().that.satisfies(corrupt);
    expect(() => s.entries(1, 201, 1e9)).to.throw().that.satisfies(corrupt);
    expect(s.entries(base + 2, base + 5, 1e9)).to.have.length(3);
    // With the index gone, recovery scans that segment, cuts it, and drops the later ones.
    await s.close();
    rmSync(join(dir, `${String(base).padStart(20, '0')}.index`));
    s = await open({ ...SMALL, cacheBytesMax: 0 });
    expect(s.lastIndex()).to.equal(base);
    expect(s.recovery.cuts[0]).to.include({ file, position: pos, reason: 'crc' });
    expect(s.recovery.cuts.slice(1).every((c) => c.reason === 'gap' && c.position === 0)).to.equal(true);
    expect(s.recovery.cuts.length).to.be.greaterThan(1);
    expect(plain(all(s))).to.deep.equal(plain(range(1, base + 1, 1)));
  });

  it('reopens a log of many segments scanning only the last, and rebuilds a missing index', async () => {
    let s = await open({ ...SMALL, openSegmentsMax: 4 });
    const term = (i: number): number => 1 + Math.floor(i / 700);
    s.append(range(1, 1001, term));
    await s.flush();
    s.append(range(1001, 2001, term));
    await s.flush();
    const bases = s.segmentBases();
    expect(bases.length).to.be.greaterThan(50);
    await s.close();
    s = await open({ ...SMALL, openSegmentsMax: 4 });
    expect(s.recovery.scanned).to.deep.equal([join(dir, segmentFiles(dir).at(-1) as string)]);
    expect(s.segmentBases()).to.deep.equal(bases);
    expect(s.term(700)).to.equal(2);
    expect(s.term(699)).to.equal(1);
    expect(plain(all(s))).to.deep.equal(plain(range(1, 2001, term)));
    await s.close();
    const victim = `${String(bases[10]).padStart(20, '0')}.index`;
    rmSync(join(dir, victim));
    writeFileSync(join(dir, `${String(bases[11]).padStart(20, '0')}.index`), Buffer.from('garbage'));
    s = await open({ ...SMALL, openSegmentsMax: 4 });
    expect(s.recovery.scanned).to.have.length(3);
    expect(s.recovery.cuts).to.deep.equal([]);
    expect(existsSync(join(dir, victim))).to.equal(true);
    expect(plain(s.entries(bases[10] as number, (bases[12] as number) + 3, 1e9))).to.deep.equal(plain(range(bases[10] as number, (bases[12] as number) + 3, term)));
  });

  it('bounds memory: queued bytes are written past pendingBytesMax, the cache stays under cacheBytesMax', async () => {
    const s = await open({ segmentBytesMax: 1 << 20, pendingBytesMax: 8192, cacheBytesMax: 4096 });
    for (let i = 1; i <= 200; i++) {
      s.append([entry(i, 1, 0, EntryType.Normal, 500)]);
      expect(s.memoryBytes().pending).to.be.at.most(8192);
    }
    expect(statSync(join(dir, segmentFiles(dir)[0] as string)).size).to.be.greaterThan(90_000);
    await s.flush();
    expect(s.memoryBytes()).to.deep.equal({ cache: s.memoryBytes().cache, pending: 0 });
    expect(s.memoryBytes().cache).to.be.at.most(4096);
    expect(plain(s.entries(1, 201, 1e9))).to.deep.equal(plain(Array.from({ length: 200 }, (_, k) => entry(k + 1, 1, 0, EntryType.Normal, 500))));
  });

  it('works with fsync off: flush writes to the OS, a reopen sees it', async () => {
    let s = await open({ ...SMALL, fsync: false });
    s.append(range(1, 101, 1));
    await s.flush();
    s.compact(50);
    s.append(range(90, 120, 2));
    await s.flush();
    const first = s.firstIndex();
    await s.close();
    s = await open({ ...SMALL, fsync: false });
    expect(s.firstIndex()).to.equal(first);
    expect(plain(all(s))).to.deep.equal(plain([...range(first, 90, 1), ...range(90, 120, 2)]));
  });

  it('cleans up after a compaction interrupted before its deletions', async () => {
    let s = await open();
    s.append(range(1, 301, 1));
    await s.flush();
    const [first] = segmentFiles(dir);
    const saved = readFileSync(join(dir, first as string));
    s.compact(200);
    const firstIndex = s.firstIndex();
    await s.close();
    writeFileSync(join(dir, first as string), saved); // as if the unlink never happened
    writeFileSync(join(dir, 'x.index.tmp'), 'partial');
    s = await open();
    expect(s.firstIndex()).to.equal(firstIndex);
    expect(segmentFiles(dir)).to.not.include(first);
    expect(existsSync(join(dir, 'x.index.tmp'))).to.equal(false);
    expect(plain(all(s))).to.deep.equal(plain(range(firstIndex, 301, 1)));
  });

  it('drops stale segments left by an interrupted reset, and an empty segment created before a crash', async () => {
    let s = await open();
    s.append(range(1, 101, 1));
    await s.flush();
    const files = segmentFiles(dir).map((f) => [f, readFileSync(join(dir, f))] as const);
    s.reset(40, 5);
    await s.close();
    for (const [f, bytes] of files) writeFileSync(join(dir, f), bytes);
    closeSync(openSync(join(dir, `${String(41).padStart(20, '0')}.log`), 'w')); // empty, base 41
    s = await open();
    expect(s.firstIndex()).to.equal(41);
    expect(s.lastIndex()).to.equal(40);
    expect(s.term(40)).to.equal(5);
    expect(segmentFiles(dir)).to.deep.equal([]);
    expect(s.recovery.cuts.length).to.be.greaterThan(0);
    expect(s.recovery.cuts.every((c) => c.reason === 'stale' || c.reason === 'gap'), JSON.stringify(s.recovery)).to.equal(true);
    s.append(range(41, 45, 5));
    expect(plain(all(s))).to.deep.equal(plain(range(41, 45, 5)));
  });

  it('validates its settings once', async () => {
    const bad = [{ segmentBytesMax: 10 }, { format: 'json' }, { fsync: 'yes' }, { indexIntervalBytes: 1 << 20, segmentBytesMax: 4096 }, { nope: 1 }];
    for (const settings of bad) {
      let err: unknown = null;
      try {
        await SegmentLogStore.open({ dir, clock, settings });
      } catch (e) {
        err = e;
      }
      expect(isFlotillaError(err, 'INVALID_CONFIG'), JSON.stringify(settings)).to.equal(true);
    }
  });
});

describe('SegmentLogStore flushes', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lets appends, truncations and compactions run while an fsync is in flight', async () => {
    dir = tempDir();
    const clock = new ManualClock();
    const s = await SegmentLogStore.open({ dir, clock, settings: SMALL });
    const flushes: Promise<void>[] = [];
    for (let round = 0; round < 20; round++) {
      const from = Math.max(s.firstIndex(), s.lastIndex() - 5 + 1);
      const es = range(from, from + 30, round + 1, round);
      s.append(es);
      flushes.push(s.flush());
      if (round % 5 === 4) s.compact(s.lastIndex() - 40);
    }
    await Promise.all(flushes);
    const first = s.firstIndex();
    const mine = s.entries(first, s.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
    await s.close();
    const again = await SegmentLogStore.open({ dir, clock, settings: SMALL });
    expect(again.recovery.cuts).to.deep.equal([]);
    expect(plain(again.entries(first, again.lastIndex() + 1, Number.MAX_SAFE_INTEGER))).to.deep.equal(plain(mine));
    await again.close();
  });
});

describe('SegmentLogStore against its twin', () => {
  it('agrees with MemoryLogStore over random appends, truncations, compactions, resets and reopens', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), back: fc.nat(12), count: fc.integer({ min: 1, max: 25 }), bump: fc.boolean() }),
      fc.record({ kind: fc.constant('compact' as const), back: fc.nat(60) }),
      fc.record({ kind: fc.constant('reset' as const), ahead: fc.integer({ min: -20, max: 20 }) }),
      fc.record({ kind: fc.constant('reopen' as const) }),
    );
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
      const dir = tempDir();
      const clock = new ManualClock();
      const settings = { ...SMALL, segmentBytesMax: 2048, cacheBytesMax: 1024 };
      let real = await SegmentLogStore.open({ dir, clock, settings });
      const twin = new MemoryLogStore();
      let term = 1;
      try {
        for (const [k, o] of ops.entries()) {
          if (o.kind === 'append') {
            const from = Math.max(real.firstIndex(), real.lastIndex() + 1 - o.back);
            if (o.bump) term++;
            const es = range(from, from + o.count, term, k);
            real.append(es);
            twin.append(es);
          } else if (o.kind === 'compact') {
            real.compact(real.lastIndex() - o.back);
          } else if (o.kind === 'reset') {
            const index = Math.max(0, real.lastIndex() + o.ahead);
            term++;
            real.reset(index, term);
            twin.reset(index, term);
          } else {
            await real.flush();
            await real.close();
            real = await SegmentLogStore.open({ dir, clock, settings });
            expect(real.recovery.cuts).to.deep.equal([]);
          }
          expect(real.lastIndex()).to.equal(twin.lastIndex());
          const first = real.firstIndex();
          expect(first).to.be.at.least(twin.firstIndex());
          expect(real.term(first - 1)).to.equal(twin.term(first - 1));
          expect(plain(real.entries(first, real.lastIndex() + 1, Number.MAX_SAFE_INTEGER)))
            .to.deep.equal(plain(twin.entries(first, twin.lastIndex() + 1, Number.MAX_SAFE_INTEGER)));
        }
      } finally {
        await real.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }), { numRuns: 40 });
  });
});
