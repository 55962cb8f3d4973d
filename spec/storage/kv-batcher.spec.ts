import { expect } from 'chai';
import type { FlotillaError } from '../../lib/base/errors.js';
import type { EncodedOp, WriteOptions } from '../../lib/storage/kv.js';
import { KvBatcher } from '../../lib/storage/kv-batcher.js';
import { MemoryKv } from '../../lib/storage/memory-kv.js';

/** A MemoryKv that records each write it is given, and can be made to fail or stall. */
class RecordingKv extends MemoryKv {
  readonly writes: Array<{ ops: number; sync: boolean }> = [];
  fail = false;
  gate: Promise<void> | null = null;
  override async writeEncoded(ops: readonly EncodedOp[], options: WriteOptions): Promise<void> {
    this.writes.push({ ops: ops.length, sync: options.sync });
    if (this.gate) await this.gate;
    if (this.fail) throw new Error('disk on fire');
    return super.writeEncoded(ops, options);
  }
}

const put = (key: string, value: unknown = 1) => ({ type: 'put' as const, key, value });

describe('KvBatcher', () => {
  it('writes the batches of one turn as one write, synced if any asked for sync', async () => {
    const kv = new RecordingKv();
    const b = new KvBatcher(kv);
    await Promise.all([b.batch([put('a'), put('b')], { sync: false }), b.batch([put('c')], { sync: true }), b.batch([put('d')], { sync: false })]);
    expect(kv.writes).to.deep.equal([{ ops: 4, sync: true }]);
    // everything in the write is durable: a crash keeps it
    expect(await kv.crashImage().getMany(['a', 'b', 'c', 'd'])).to.deep.equal([1, 1, 1, 1]);
    await Promise.all([b.batch([put('e')], { sync: false }), b.batch([put('f')], { sync: false })]);
    expect(kv.writes[1]).to.deep.equal({ ops: 2, sync: false });
  });

  it('splits writes at batchOpsMax without splitting any caller\'s batch; an oversized batch goes alone', async () => {
    const kv = new RecordingKv();
    const b = new KvBatcher(kv, { batchOpsMax: 3 });
    await Promise.all([
      b.batch([put('a'), put('b')], { sync: false }),
      b.batch([put('c'), put('d')], { sync: false }),
      b.batch([put('e'), put('f'), put('g'), put('h'), put('i')], { sync: false }),
      b.batch([put('j')], { sync: false }),
    ]);
    expect(kv.writes.map((w) => w.ops)).to.deep.equal([2, 2, 5, 1]);
  });

  it('gathers batches that arrive during a write into the next write', async () => {
    const kv = new RecordingKv();
    const b = new KvBatcher(kv);
    let open!: () => void;
    kv.gate = new Promise((r) => (open = r));
    const first = b.batch([put('a')], { sync: true });
    await new Promise((r) => setImmediate(r));
    expect(kv.writes.length).to.equal(1);
    const later = [b.batch([put('b')], { sync: false }), b.batch([put('c')], { sync: false })];
    await new Promise((r) => setImmediate(r));
    expect(kv.writes.length).to.equal(1); // one write at a time
    kv.gate = null;
    open();
    await Promise.all([first, ...later]);
    expect(kv.writes).to.deep.equal([{ ops: 1, sync: true }, { ops: 2, sync: false }]);
  });

  it('refuses with BACKPRESSURE beyond queuedBytesMax, and fails a bad batch alone', async () => {
    const kv = new RecordingKv({ valueBytesMax: 4096 });
    const b = new KvBatcher(kv, { queuedBytesMax: 4096, batchBytesMax: 4096 });
    const ok = b.batch([put('a', new Uint8Array(3000))], { sync: false });
    const refused = b.batch([put('b', new Uint8Array(3000))], { sync: false }).then(() => null, (e: unknown) => e);
    const bad = b.batch([put('c', new Uint8Array(5000))], { sync: false }).then(() => null, (e: unknown) => e);
    await ok;
    const e1 = await refused;
    const e2 = await bad;
    expect((e1 as FlotillaError).code).to.equal('BACKPRESSURE');
    expect((e1 as FlotillaError).retriable).to.equal(true);
    expect((e2 as FlotillaError).code).to.equal('TOO_LARGE');
    expect(b.stats.refused).to.equal(1);
    expect(await b.getMany(['a', 'b', 'c']).then((vs) => vs.map((v) => v !== undefined))).to.deep.equal([true, false, false]);
  });

  it('fails every caller of a failed write, and goes on with the next', async () => {
    const kv = new RecordingKv();
    const b = new KvBatcher(kv);
    kv.fail = true;
    const results = await Promise.allSettled([b.batch([put('a')], { sync: true }), b.batch([put('b')], { sync: false })]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    kv.fail = false;
    await b.batch([put('c')], { sync: true });
    expect(await b.get('c')).to.equal(1);
  });

  it('close() writes what is queued, then closes the store underneath', async () => {
    const kv = new RecordingKv();
    const b = new KvBatcher(kv);
    const pending = b.batch([put('a')], { sync: true });
    await b.close();
    await pending;
    expect(kv.writes.length).to.equal(1);
    const err = await kv.get('a').then(() => null, (e: unknown) => e);
    expect((err as FlotillaError).code).to.equal('CLOSED');
    const after = await b.batch([put('b')], { sync: false }).then(() => null, (e: unknown) => e);
    expect((after as FlotillaError).code).to.equal('CLOSED');
  });
});
