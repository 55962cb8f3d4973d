// Offset layouts of a 'batch' log (segment-codec.ts): layout 2's zero-width internal entries, their
// encoding, lookup, recovery, truncation and reset, against a model; the layout guard file.
import { expect } from 'chai';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../lib/base/clock.js';
import { isFlotillaError } from '../../lib/base/errors.js';
import { decodePartitionSnapshot, encodeCleanBatch, encodeLogStartBatch, encodeMarkerBatch, encodePartitionSnapshot } from '../../lib/broker/partition-state.js';
import { metadataPackr } from '../../lib/metadata/records.js';
import { ATTRIBUTES_POS, Attributes, BatchHeader, LAST_OFFSET_DELTA_POS, checkBatch, isUnassigned, isZeroWidth, markUnassigned, updateBatchCrc } from '../../lib/records/batch.js';
import { ControlType, encodeBatch, encodeControlBatch } from '../../lib/records/encode.js';
import { type Entry, EntryType } from '../../lib/raft/core/types.js';
import { type OffsetLayout, encodeEntry } from '../../lib/storage/segment-codec.js';
import { LAYOUT_FILE } from '../../lib/storage/segment-files.js';
import { SegmentLogStore } from '../../lib/storage/segment-log.js';

const clock: Clock = { nowMs: () => 1_000, wallMs: () => 1_700_000_000_000 };

/** What one entry is, for the model: its kind and record count. */
type Kind = 'noop' | 'config' | 'data' | 'logStart' | 'clean' | 'marker';
interface Item { readonly kind: Kind; readonly records: number }

/** How many Kafka offsets an entry of `kind` takes under `layout`. */
function width(item: Item, layout: OffsetLayout): number {
  if (item.kind === 'data') return item.records;
  if (item.kind === 'marker') return 1;
  return layout === 2 ? 0 : 1;
}

/** The entry a leader proposes (layout 2: its batch marked unassigned, as Partition does). */
function entryOf(item: Item, index: number, term: number, layout: OffsetLayout, salt = 0): Entry {
  const e = proposalOf(item, index, term, layout, salt);
  if (layout === 2 && e.type === EntryType.Normal) markUnassigned(e.data);
  return e;
}

function proposalOf(item: Item, index: number, term: number, layout: OffsetLayout, salt: number): Entry {
  switch (item.kind) {
    case 'noop':
      return { index, term, type: EntryType.Noop, data: new Uint8Array(0) };
    case 'config':
      return { index, term, type: EntryType.Config, data: new Uint8Array([1, 2, 3, salt & 0xff]) };
    case 'data':
      return {
        index, term, type: EntryType.Normal,
        data: encodeBatch({ baseOffset: 0, baseTimestamp: 1000 + index, records: Array.from({ length: item.records }, (_, j) => ({ key: null, value: Buffer.alloc(20 + ((index + salt) % 50), j) })) }),
      };
    case 'logStart':
      return { index, term, type: EntryType.Normal, data: encodeLogStartBatch(index * 3, layout) };
    case 'clean':
      return { index, term, type: EntryType.Normal, data: encodeCleanBatch({ x: index, h: 0 }, 1000, layout) };
    case 'marker':
      return { index, term, type: EntryType.Normal, data: encodeMarkerBatch({ producerId: 5, producerEpoch: 0, commit: true, coordinatorEpoch: 0, txn: index }) };
  }
}

describe('Offset layouts: encoding', () => {
  it('layout 2 encodes no-op and config as zero-width control batches at the next offset; layout 1 as before', () => {
    for (const type of [EntryType.Noop, EntryType.Config]) {
      const e: Entry = { index: 7, term: 3, type, data: new Uint8Array(type === EntryType.Config ? 4 : 0) };
      const two = encodeEntry(e, 'batch', 42, 1 << 20, 2);
      const h2 = new BatchHeader(two.batch);
      expect([h2.baseOffset, h2.lastOffsetDelta, h2.lastOffset, h2.isControl, h2.partitionLeaderEpoch, two.nextOffset]).to.deep.equal([42, -1, 41, true, 3, 42]);
      expect(isZeroWidth(h2)).to.equal(true);
      expect(checkBatch(two.batch)).to.equal(null);
      const one = encodeEntry(e, 'batch', 42, 1 << 20, 1);
      const h1 = new BatchHeader(one.batch);
      expect([h1.baseOffset, h1.lastOffsetDelta, one.nextOffset]).to.deep.equal([42, 0, 43]);
      // The Raft library's 'opaque' format is the same under either layout: baseOffset = index.
      expect(encodeEntry(e, 'opaque', 42, 1 << 20, 2).batch.equals(encodeEntry(e, 'opaque', 42, 1 << 20, 1).batch)).to.equal(true);
    }
    // The broker's own entries: zero-width by their bytes, which the leader replicates as they are.
    const unassigned = (b: Buffer): Buffer => {
      markUnassigned(b);
      return b;
    };
    const ls = encodeEntry({ index: 9, term: 2, type: EntryType.Normal, data: unassigned(encodeLogStartBatch(5, 2)) }, 'batch', 11, 1 << 20, 2);
    expect([new BatchHeader(ls.batch).baseOffset, ls.nextOffset]).to.deep.equal([11, 11]);
    const marker = encodeEntry({ index: 10, term: 2, type: EntryType.Normal, data: unassigned(encodeMarkerBatch({ producerId: 1, producerEpoch: 0, commit: false, coordinatorEpoch: 0, txn: 0 })) }, 'batch', 11, 1 << 20, 2);
    expect(marker.nextOffset).to.equal(12);
    // Layout 2: a batch that arrives with another offset than the log's next is refused; layout 1
    // (whose followers may run an older version) overwrites it as before.
    const data = (): Buffer => encodeBatch({ baseOffset: 3, records: [{ value: Buffer.from('v') }] });
    expect(() => encodeEntry({ index: 11, term: 2, type: EntryType.Normal, data: data() }, 'batch', 12, 1 << 20, 2)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
    expect(new BatchHeader(encodeEntry({ index: 11, term: 2, type: EntryType.Normal, data: data() }, 'batch', 12, 1 << 20, 1).batch).baseOffset).to.equal(12);
    expect(new BatchHeader(encodeEntry({ index: 11, term: 2, type: EntryType.Normal, data: unassigned(data()) }, 'batch', 12, 1 << 20, 2).batch).baseOffset).to.equal(12);
  });

  it('checkBatch accepts lastOffsetDelta -1 only on an internal control batch of one record', () => {
    const zeroWidth = (b: Buffer): Buffer => {
      b.writeInt32BE(-1, LAST_OFFSET_DELTA_POS);
      updateBatchCrc(b);
      return b;
    };
    for (const type of [ControlType.RaftNoop, ControlType.RaftConfig, ControlType.LogStart, ControlType.Clean]) {
      expect(checkBatch(encodeControlBatch(type, new Uint8Array(3), 5, 1, true)), `type ${type}`).to.equal(null);
    }
    const refused = [
      zeroWidth(encodeBatch({ records: [{ key: null, value: Buffer.from('x') }] })), // data
      zeroWidth(encodeMarkerBatch({ producerId: 1, producerEpoch: 0, commit: true, coordinatorEpoch: 0, txn: 0 })), // a marker
      encodeControlBatch(ControlType.Compacted, new Uint8Array(0), 5, 1, true), // holds offsets
      encodeControlBatch(ControlType.Skipped, new Uint8Array(0), 5, 1, true),
      encodeControlBatch(ControlType.Commit, new Uint8Array(6), 5, 1, true),
      zeroWidth(encodeBatch({ attributes: Attributes.Control, records: [{ key: Buffer.from([0, 0, 0x7f, 1]), value: null }, { key: Buffer.from([0, 0, 0x7f, 1]), value: null }] })),
    ];
    // A transactional no-op is not an internal batch either.
    const txnNoop = encodeControlBatch(ControlType.RaftNoop, new Uint8Array(0), 5, 1, true);
    txnNoop.writeInt16BE(txnNoop.readInt16BE(ATTRIBUTES_POS) | Attributes.Transactional, ATTRIBUTES_POS);
    updateBatchCrc(txnNoop);
    refused.push(txnNoop);
    for (const [i, b] of refused.entries()) expect(checkBatch(b)?.problem, `batch ${i}`).to.equal('header');
  });
});

describe('Offset layouts: partition snapshots', () => {
  it('carry the layout of the log they continue (absent = 1, as in snapshots taken before layouts)', () => {
    const base = { nextOffset: 12, logStartOffset: 3, clean: { x: 0, h: 0, history: [] } };
    expect(decodePartitionSnapshot(encodePartitionSnapshot({ ...base, offsetLayout: 2 })).offsetLayout).to.equal(2);
    expect(decodePartitionSnapshot(encodePartitionSnapshot({ ...base, offsetLayout: 1 }))).to.not.have.property('offsetLayout');
    expect(Buffer.from(encodePartitionSnapshot({ ...base, offsetLayout: 1 })).equals(Buffer.from(encodePartitionSnapshot(base)))).to.equal(true);
    const bad = metadataPackr.pack({ v: 1, ...base, offsetLayout: 3 });
    expect(() => decodePartitionSnapshot(bad)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
  });
});

describe('Offset layouts: a segment log', () => {
  let dir: string;
  let store: SegmentLogStore | null;
  const open = async (layout: OffsetLayout, settings: Record<string, unknown> = {}): Promise<SegmentLogStore> => {
    store = await SegmentLogStore.open({ dir, clock, settings: { format: 'batch', offsetLayout: layout, segmentBytesMax: 1024, indexIntervalBytes: 1, cacheBytesMax: 0, readChunkBytes: 4096, ...settings } });
    return store;
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-layout-'));
    store = null;
  });
  afterEach(async () => {
    await store?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Checks offsetAfter and indexOfOffset of every entry and offset against the model. */
  function checkAgainst(s: SegmentLogStore, items: readonly Item[], layout: OffsetLayout, firstIndex = 1, startOffset = 0): void {
    let next = startOffset;
    expect(s.offsetAfter(firstIndex - 1)).to.equal(startOffset);
    const holder = new Map<number, number>(); // offset -> index of the entry holding it
    items.forEach((item, k) => {
      const index = firstIndex + k;
      for (let w = 0; w < width(item, layout); w++) holder.set(next + w, index);
      next += width(item, layout);
      expect(s.offsetAfter(index), `offsetAfter(${index})`).to.equal(next);
    });
    for (const [offset, index] of holder) expect(s.indexOfOffset(offset), `indexOfOffset(${offset})`).to.equal(index);
    expect(s.nextOffset()).to.equal(next);
    expect(s.indexOfOffset(next)).to.equal(s.lastIndex() + 1);
    expect(s.indexOfOffset(next + 5)).to.equal(s.lastIndex() + 1);
  }

  const mixed: Item[] = [
    { kind: 'noop', records: 1 }, { kind: 'data', records: 3 }, { kind: 'config', records: 1 }, { kind: 'config', records: 1 },
    { kind: 'data', records: 2 }, { kind: 'logStart', records: 1 }, { kind: 'clean', records: 1 }, { kind: 'marker', records: 1 },
    { kind: 'data', records: 1 }, { kind: 'noop', records: 1 }, { kind: 'noop', records: 1 }, { kind: 'noop', records: 1 },
  ];

  for (const layout of [2, 1] as const) {
    it(`layout ${layout}: append and lookup over runs of internal entries, from the cache, the files and a reopen`, async () => {
      for (const cache of [0, 1 << 20]) {
        rmSync(dir, { recursive: true, force: true });
        let s = await open(layout, { cacheBytesMax: cache });
        // A segment of internal entries only: small segments roll between them.
        const items = [...mixed, ...mixed.filter((i) => i.kind !== 'data'), ...mixed];
        s.append(items.map((item, k) => entryOf(item, k + 1, 1 + Math.floor(k / 7), layout)));
        await s.flush();
        checkAgainst(s, items, layout);
        // Layout 2: 2 x (6 records + 1 marker) + 1 marker; layout 1: every entry takes its width.
        expect(s.nextOffset()).to.equal(layout === 2 ? 15 : 39);
        // Every stored batch's baseOffset is the offset after the previous one.
        let next = 0;
        for (const b of s.readBatches(1, s.lastIndex(), 1 << 30)) {
          const h = new BatchHeader(b);
          expect(h.baseOffset).to.equal(next);
          next = h.lastOffset + 1;
        }
        await s.close();
        s = await open(layout, { cacheBytesMax: cache });
        checkAgainst(s, items, layout);
        await s.close();
        store = null;
      }
    });
  }

  it('layout 2: recovery of a torn tail whose last whole entry is internal, truncation inside a run of internal entries, compact and reset after them', async () => {
    let s = await open(2, { segmentBytesMax: 100_000 });
    const items = mixed;
    s.append(items.map((item, k) => entryOf(item, k + 1, 1, 2)));
    await s.flush();
    await s.close();
    // Tear the last entry (a no-op): the whole one before it (a no-op too) ends the log.
    const file = join(dir, '00000000000000000001.log');
    truncateSync(file, statSync(file).size - 5);
    s = await open(2, { segmentBytesMax: 100_000 });
    expect(s.recovery.cuts).to.have.length(1);
    expect(s.lastIndex()).to.equal(items.length - 1);
    checkAgainst(s, items.slice(0, -1), 2);
    // Truncate inside the run of no-ops (index 11), then append data: it starts at the same offset.
    s.append([entryOf({ kind: 'data', records: 2 }, 11, 2, 2)]);
    const tail = [...items.slice(0, 10), { kind: 'data', records: 2 } as Item];
    checkAgainst(s, tail, 2);
    // Truncate right after the config pair (index 5) and append a no-op.
    s.append([entryOf({ kind: 'noop', records: 1 }, 5, 3, 2)]);
    checkAgainst(s, [...items.slice(0, 4), { kind: 'noop', records: 1 }], 2);
    expect(s.nextOffset()).to.equal(3);
    await s.close();
    // A reset after internal entries continues from the offset given (a snapshot's nextOffset).
    s = await open(2, { segmentBytesMax: 100_000 });
    s.reset(20, 4, 17);
    await s.flush();
    s.append([entryOf({ kind: 'noop', records: 1 }, 21, 5, 2), entryOf({ kind: 'data', records: 4 }, 22, 5, 2)]);
    checkAgainst(s, [{ kind: 'noop', records: 1 }, { kind: 'data', records: 4 }], 2, 21, 17);
    await s.close();
    s = await open(2, { segmentBytesMax: 100_000 });
    checkAgainst(s, [{ kind: 'noop', records: 1 }, { kind: 'data', records: 4 }], 2, 21, 17);
  });

  it('layout 2: a leader\'s proposals get their offsets before they are sent; a follower checks the offset it receives and refuses another', async () => {
    const leader = await open(2);
    const items: Item[] = [{ kind: 'noop', records: 1 }, { kind: 'data', records: 3 }, { kind: 'config', records: 1 }, { kind: 'data', records: 2 }, { kind: 'marker', records: 1 }];
    const proposed = items.map((item, k) => entryOf(item, k + 1, 1, 2));
    expect(isUnassigned((proposed[1] as Entry).data)).to.equal(true);
    // What the disk store does when it stages a Ready, before the host sends its messages.
    leader.assignOffsets(proposed);
    expect(proposed.filter((e) => e.type === EntryType.Normal).map((e) => new BatchHeader(e.data).baseOffset)).to.deep.equal([0, 3, 5]);
    leader.append(proposed);
    checkAgainst(leader, items, 2);
    await leader.close();
    // The follower receives the leader's bytes (copies, as over a wire) and accepts them.
    rmSync(dir, { recursive: true, force: true });
    const follower = await open(2);
    const received = proposed.map((e) => ({ ...e, data: Buffer.from(e.data) }));
    follower.append(received);
    checkAgainst(follower, items, 2);
    // A batch whose offset is not where this log continues (the replicas disagree on a width).
    const wrong = entryOf({ kind: 'data', records: 1 }, 6, 1, 2);
    follower.assignOffsets([wrong]);
    expect(new BatchHeader(wrong.data).baseOffset).to.equal(6);
    const off = { ...wrong, data: Buffer.from(wrong.data) };
    off.data.writeUInt32BE(7, 4);
    expect(() => follower.append([off])).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT') && /the leader gave it offset 7, this replica's log continues at 6/.test((e as Error).message));
    follower.append([wrong]);
    checkAgainst(follower, [...items, { kind: 'data', records: 1 }], 2);
  });

  it('the layout guard: a new log records its layout; another layout refuses to open; a log made before layouts is layout 1', async () => {
    let s = await open(2);
    s.append([entryOf({ kind: 'noop', records: 1 }, 1, 1, 2), entryOf({ kind: 'data', records: 2 }, 2, 1, 2)]);
    await s.close();
    store = null;
    expect(readFileSync(join(dir, LAYOUT_FILE), 'utf8').trim()).to.equal('2');
    await expectCorrupt(open(1), /offset layout 2, opened with layout 1/);
    writeFileSync(join(dir, LAYOUT_FILE), 'x\n');
    await expectCorrupt(open(2), /not an offset layout/);

    // A log written before layouts existed: layout 1 bytes, a checkpoint, no layout file.
    rmSync(dir, { recursive: true, force: true });
    s = await open(1);
    const old: Item[] = [{ kind: 'noop', records: 1 }, { kind: 'data', records: 2 }, { kind: 'noop', records: 1 }, { kind: 'data', records: 1 }];
    s.append(old.map((item, k) => entryOf(item, k + 1, 1 + k, 1)));
    await s.close();
    store = null;
    rmSync(join(dir, LAYOUT_FILE));
    await expectCorrupt(open(2), /offset layout 1, opened with layout 2/);
    store = null;
    s = await open(1);
    expect(existsSync(join(dir, LAYOUT_FILE))).to.equal(false);
    checkAgainst(s, old, 1);
    expect(s.offsetAfter(2)).to.equal(3); // the data after the no-op at 0: offsets 1 and 2, as before
  });

  it('property: any interleaving of data, internal entries, truncations, resets and reopens gives the model\'s offsets, the same bytes whatever the segment size', async () => {
    const kinds: Kind[] = ['noop', 'config', 'data', 'data', 'data', 'logStart', 'clean', 'marker'];
    const op = fc.oneof(
      fc.record({ t: fc.constant('append' as const), items: fc.array(fc.record({ kind: fc.constantFrom(...kinds), records: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 6 }) }),
      fc.record({ t: fc.constant('truncate' as const), back: fc.integer({ min: 0, max: 5 }), item: fc.record({ kind: fc.constantFrom(...kinds), records: fc.integer({ min: 1, max: 3 }) }) }),
      fc.record({ t: fc.constant('reopen' as const) }),
      fc.record({ t: fc.constant('reset' as const), gap: fc.integer({ min: 0, max: 3 }) }),
    );
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), fc.integer({ min: 1024, max: 3000 }), async (ops, segmentBytesMax) => {
      const dirs = [mkdtempSync(join(tmpdir(), 'flotilla-layout-p-')), mkdtempSync(join(tmpdir(), 'flotilla-layout-q-'))];
      const sizes = [segmentBytesMax, 100_000];
      const openAt = (k: number): Promise<SegmentLogStore> => SegmentLogStore.open({ dir: dirs[k]!, clock, settings: { format: 'batch', offsetLayout: 2, segmentBytesMax: sizes[k], indexIntervalBytes: 128, cacheBytesMax: 512 } });
      const stores = [await openAt(0), await openAt(1)];
      // The model: the log's items from `first`, whose offsets start at `start`.
      let items: Item[] = [];
      let first = 1;
      let start = 0;
      let term = 1;
      try {
        for (const o of ops) {
          const last = first + items.length - 1;
          if (o.t === 'append') {
            const es = o.items.map((item, k) => entryOf(item, last + 1 + k, term, 2, k));
            for (const st of stores) st.append(es.map((e) => ({ ...e, data: Buffer.from(e.data) })));
            items.push(...o.items);
          } else if (o.t === 'truncate') {
            const at = Math.max(first, last + 1 - o.back);
            term++;
            for (const st of stores) st.append([entryOf(o.item, at, term, 2, 7)].map((e) => ({ ...e, data: Buffer.from(e.data) })));
            items = [...items.slice(0, at - first), o.item];
          } else if (o.t === 'reopen') {
            for (const st of stores) await st.close();
            stores[0] = await openAt(0);
            stores[1] = await openAt(1);
          } else {
            // A snapshot install: the log restarts after `last + gap` with the snapshot's offset.
            let next = start;
            for (const item of items) next += width(item, 2);
            term++;
            for (const st of stores) {
              st.reset(last + o.gap, term, next);
              await st.flush();
            }
            first = last + o.gap + 1;
            start = next;
            items = [];
          }
        }
        for (const st of stores) await st.flush();
        for (const st of stores) checkAgainst(st, items, 2, first, start);
        if (items.length > 0) {
          const a = Buffer.concat(stores[0]!.readBatches(first, first + items.length - 1, 1 << 30));
          const b = Buffer.concat(stores[1]!.readBatches(first, first + items.length - 1, 1 << 30));
          expect(a.equals(b)).to.equal(true);
        }
      } finally {
        for (const st of stores) await st.close().catch(() => undefined);
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      }
    }), { numRuns: 60 });
  });
});

async function expectCorrupt(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(isFlotillaError(err, 'CORRUPT'), String(err)).to.equal(true);
    expect((err as Error).message).to.match(re);
    return;
  }
  expect.fail('expected CORRUPT');
}
