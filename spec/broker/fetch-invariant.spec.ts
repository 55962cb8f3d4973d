// The fetch invariant (docs/design.md "Raft index and Kafka offsets"), as a property over random
// partition histories on both offset layouts: every served batch is a data batch, a transaction
// marker or the tail representation (one control record with a 6-byte value, alone); none is
// zero-width; offsets increase; an answer below the bound is never empty; and reading from the log
// start to the high watermark yields exactly the records produced and not hidden, at the offsets
// produce answered.
import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Partition } from '../../lib/broker/partition.js';
import { Attributes, BatchHeader, batchSizeAt, checkBatch, decodeRecords, markUnassigned } from '../../lib/records/batch.js';
import { encodeBatch } from '../../lib/records/encode.js';
import { RaftHost } from '../../lib/raft/host.js';
import type { OffsetLayout } from '../../lib/storage/segment-codec.js';
import { MemoryKv } from '../../lib/storage/memory-kv.js';
import { LocalNet, clock, until } from './helpers.js';

type Op =
  | { readonly t: 'produce'; readonly n: number }
  | { readonly t: 'duplicate' }
  | { readonly t: 'txn'; readonly n: number; readonly commit: boolean }
  | { readonly t: 'restart' }
  | { readonly t: 'deleteRecords'; readonly back: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('produce' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('duplicate' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('txn' as const), n: fc.integer({ min: 1, max: 3 }), commit: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restart' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('deleteRecords' as const), back: fc.integer({ min: 0, max: 6 }) }) },
);

function batch(n: number, tag: string, producer?: { id: number; seq: number; transactional: boolean }): Buffer {
  return encodeBatch({
    baseTimestamp: 1_000, records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`${tag}-${i}`) })),
    ...(producer ? { producerId: producer.id, producerEpoch: 0, baseSequence: producer.seq, attributes: producer.transactional ? Attributes.Transactional : 0 } : {}),
  });
}

interface Served { base: number; last: number; control: boolean; transactional: boolean; values: string[]; zeroWidth: boolean; valueBytes: number; records: number; lastRecordOffset: number }

function servedBatches(records: Buffer | null): Served[] {
  const out: Served[] = [];
  if (!records) return out;
  for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) {
    const b = records.subarray(pos, pos + batchSizeAt(records, pos));
    expect(checkBatch(b)).to.equal(null);
    const h = new BatchHeader(b);
    const recs = decodeRecords(b);
    out.push({
      base: h.baseOffset, last: h.lastOffset, control: h.isControl, transactional: h.isTransactional, zeroWidth: h.lastOffsetDelta === -1,
      values: h.isControl ? [] : recs.map((r) => Buffer.from(r.value ?? []).toString()), valueBytes: recs[0]?.value?.byteLength ?? -1,
      records: recs.length, lastRecordOffset: h.baseOffset + (recs.at(-1)?.offsetDelta ?? 0),
    });
  }
  return out;
}

describe('Partition fetch invariant (property, both offset layouts)', function () {
  this.timeout(240_000);

  for (const layout of [2, 1] as const) {
    it(`layout ${layout}: every answer holds only data, markers or one tail record, and a full read gives exactly the visible records`, async () => {
      await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), (ops) => runHistory(layout, ops)), { numRuns: 25 });
    });
  }
});

async function runHistory(layout: OffsetLayout, ops: readonly Op[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-fetch-inv-'));
  const net = new LocalNet();
  const kv = new MemoryKv();
  let host: RaftHost | null = null;
  let p: Partition | null = null;
  const open = async (): Promise<Partition> => {
    host = new RaftHost({ nodeId: 1, transport: net.transport(1), settings: { tickMs: 5 } });
    host.start();
    p = await Partition.open({
      host, kv, dir: join(dir, 'n1'), topic: 't', topicId: '00000000-0000-4000-8000-000000000009', partition: 0,
      bootstrap: { voters: [1], learners: [] }, fsync: false, clock, offsetLayout: layout,
    });
    await until(() => p!.serving, 10_000);
    return p;
  };
  const close = async (): Promise<void> => {
    await p?.close();
    await host?.close();
    p = null;
    host = null;
  };
  try {
    let part = await open();
    /** offset -> value of every record produced and not hidden. */
    const visible = new Map<number, string>();
    let seq = 0;
    let lastIdempotent: Buffer | null = null;
    let lastN = 0;
    /** Offsets the history took: records, markers and hidden duplicates (nothing else in layout 2). */
    let taken = 0;
    let pid = 100;
    let k = 0;
    const produce = (b: Buffer): Promise<number> => part.produce({ batch: b, maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    for (const op of ops) {
      k++;
      if (op.t === 'produce') {
        const b = batch(op.n, `p${k}`, { id: 7, seq, transactional: false });
        lastIdempotent = Buffer.from(b);
        lastN = op.n;
        const base = await produce(b);
        seq += op.n;
        taken += op.n;
        for (let i = 0; i < op.n; i++) visible.set(base + i, `p${k}-${i}`);
      } else if (op.t === 'duplicate') {
        if (lastIdempotent === null) continue;
        // Past the leader's check: applied as a duplicate, hidden, its offsets kept.
        const copy = Buffer.from(lastIdempotent);
        if (layout === 2) markUnassigned(copy);
        expect((await part.node.propose(copy)).kind).to.equal('duplicate');
        taken += lastN;
      } else if (op.t === 'txn') {
        const id = pid++;
        const base = await produce(batch(op.n, `x${k}`, { id, seq: 0, transactional: true }));
        for (let i = 0; i < op.n; i++) visible.set(base + i, `x${k}-${i}`);
        await part.writeMarker({ producerId: id, producerEpoch: 0, commit: op.commit, coordinatorEpoch: 0, txn: 0 }, 5000);
        taken += op.n + 1;
      } else if (op.t === 'restart') {
        await close();
        part = await open();
      } else {
        const target = Math.max(part.logStartOffset(), part.highWatermark() - op.back);
        await part.deleteRecords(target, 5000);
        for (const o of visible.keys()) if (o < target) visible.delete(o);
      }
    }
    const hw = part.highWatermark();
    const start = part.logStartOffset();
    // Layout 2, dense: every offset belongs to a record, a marker or a hidden duplicate (no election,
    // restart or DeleteRecords took one).
    if (layout === 2) expect(hw).to.equal(taken);
    for (const readCommitted of [false, true]) {
      const bound = readCommitted ? part.lastStableOffset() : hw;
      for (const maxBytes of [1, 200, 1 << 20]) {
        // Every fetch offset in range: the answer's shape.
        for (let offset = start; offset < bound; offset++) {
          const answer = servedBatches(part.read(offset, maxBytes, readCommitted).records);
          expect(answer.length, `fetch at ${offset} below ${bound}`).to.be.greaterThan(0);
          let prev = offset - 1;
          for (const b of answer) {
            expect(b.zeroWidth, 'a zero-width batch served').to.equal(false);
            expect(b.last).to.be.greaterThan(prev);
            expect(b.last).to.be.lessThan(bound);
            prev = b.last;
            if (b.control && !b.transactional) {
              // The tail representation: alone, one record at its last offset, a 6-byte value.
              expect(answer).to.have.length(1);
              expect(b.records).to.equal(1);
              expect(b.lastRecordOffset).to.equal(b.last);
              expect(b.valueBytes).to.equal(6);
            }
          }
        }
        // A consumer's full read (fetch, move past the last batch, repeat) sees exactly the visible records.
        if (!readCommitted) {
          const seen = new Map<number, string>();
          let offset = start;
          while (offset < bound) {
            const answer = servedBatches(part.read(offset, maxBytes, false).records);
            // As a client does: records below the fetch offset (a batch the log start cuts) are dropped.
            for (const b of answer) b.values.forEach((v, i) => b.base + i >= offset && seen.set(b.base + i, v));
            offset = answer.at(-1)!.last + 1;
          }
          expect([...seen].sort((a, b) => a[0] - b[0])).to.deep.equal([...visible].sort((a, b) => a[0] - b[0]));
        }
      }
    }
  } finally {
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
}
