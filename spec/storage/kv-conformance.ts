/**
 * The conformance suite every KvStore passes: LevelKv, MemoryKv, and KvBatcher over either.
 */
import { expect } from 'chai';
import { AssertionFailure } from '../../lib/base/assert.js';
import { FlotillaError } from '../../lib/base/errors.js';
import { type KvStore, clearRange, scan } from '../../lib/storage/kv.js';

export interface KvFixture {
  make(settings?: Record<string, unknown>): Promise<KvStore>;
  /** Closes or abandons `kv` and returns a store over what survived (at least every synced write). */
  reopen(kv: KvStore): Promise<KvStore>;
  cleanup(): Promise<void>;
}

async function rejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

export function kvConformance(name: string, fixture: () => KvFixture): void {
  describe(`${name}: kv conformance`, () => {
    let fx: KvFixture;
    let kv: KvStore;
    beforeEach(async () => {
      fx = fixture();
      kv = await fx.make();
    });
    afterEach(async () => {
      await kv.close().catch(() => undefined);
      await fx.cleanup();
    });

    it('round-trips msgpack values and answers undefined for a missing key', async () => {
      const values: Record<string, unknown> = {
        'v/obj': { term: 3, vote: 2, commit: 10, nested: { list: [1, 'two', null, true] } },
        'v/big': 2 ** 40,
        'v/bigint': 2n ** 60n,
        'v/str': 'héllo 🚀',
        'v/null': null,
        'v/neg': -1.5,
      };
      await kv.batch(Object.entries(values).map(([key, value]) => ({ type: 'put', key, value })), { sync: true });
      await kv.batch([{ type: 'put', key: 'v/bytes', value: new Uint8Array([0, 1, 255]) }], { sync: false });
      for (const [key, value] of Object.entries(values)) expect(await kv.get(key), key).to.deep.equal(value);
      const bytes = await kv.get('v/bytes');
      expect(bytes).to.be.instanceOf(Uint8Array);
      expect([...(bytes as Uint8Array)]).to.deep.equal([0, 1, 255]);
      expect(await kv.get('v/none')).to.equal(undefined);
    });

    it('returns copies: mutating a value read does not change the store', async () => {
      await kv.batch([{ type: 'put', key: 'k', value: { list: [1, 2] } }], { sync: false });
      const a = (await kv.get('k')) as { list: number[] };
      a.list.push(3);
      expect(await kv.get('k')).to.deep.equal({ list: [1, 2] });
    });

    it('applies a batch atomically and in order', async () => {
      await kv.batch([
        { type: 'put', key: 'a', value: 1 },
        { type: 'del', key: 'a' },
        { type: 'del', key: 'b' },
        { type: 'put', key: 'b', value: 2 },
        { type: 'put', key: 'c', value: 3 },
        { type: 'put', key: 'c', value: 4 },
      ], { sync: true });
      expect(await kv.getMany(['a', 'b', 'c', 'd'])).to.deep.equal([undefined, 2, 4, undefined]);
      expect(await kv.getMany([])).to.deep.equal([]);
    });

    it('applies batches in call order even when issued without waiting', async () => {
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        writes.push(kv.batch([{ type: 'put', key: 'same', value: i }, { type: 'put', key: `n/${i}`, value: i }], { sync: i % 10 === 0 }));
      }
      writes.push(kv.batch([{ type: 'del', key: 'n/5' }], { sync: false }));
      await Promise.all(writes);
      expect(await kv.get('same')).to.equal(99);
      expect(await kv.get('n/5')).to.equal(undefined);
      expect(await kv.get('n/6')).to.equal(6);
    });

    it('reads ranges by prefix and bounds, in byte order, limited, both directions', async () => {
      const keys = ['raft/a/conf/1', 'raft/a/conf/2', 'raft/a/hard', 'raft/a0/hard', 'raft/b/hard', 'raft/', 'raft', 'rafu'];
      await kv.batch(keys.map((key, i) => ({ type: 'put', key, value: i })), { sync: false });
      const ks = async (r: Parameters<KvStore['range']>[0]): Promise<string[]> => (await kv.range(r)).map(([k]) => k);
      expect(await ks({ prefix: 'raft/a/' })).to.deep.equal(['raft/a/conf/1', 'raft/a/conf/2', 'raft/a/hard']);
      expect(await ks({ prefix: 'raft/' })).to.deep.equal(['raft/', 'raft/a/conf/1', 'raft/a/conf/2', 'raft/a/hard', 'raft/a0/hard', 'raft/b/hard']);
      expect(await ks({ prefix: 'raft/a/', reverse: true, limit: 2 })).to.deep.equal(['raft/a/hard', 'raft/a/conf/2']);
      expect(await ks({ prefix: 'raft/a/', gte: 'raft/a/conf/2' })).to.deep.equal(['raft/a/conf/2', 'raft/a/hard']);
      expect(await ks({ prefix: 'raft/a/', lt: 'raft/a/conf/2' })).to.deep.equal(['raft/a/conf/1']);
      expect(await ks({ prefix: 'raft/a/', gte: 'raft/b' })).to.deep.equal([]);
      expect(await ks({ gte: 'raft/a0', lt: 'rafu' })).to.deep.equal(['raft/a0/hard', 'raft/b/hard']);
      expect(await ks({ limit: 3 })).to.deep.equal(['raft', 'raft/', 'raft/a/conf/1']);
      const entries = await kv.range({ prefix: 'raft/b' });
      expect(entries).to.deep.equal([['raft/b/hard', 4]]);
    });

    it('orders keys as UTF-8 bytes, not as UTF-16 units', async () => {
      // U+FFFD sorts before U+1F680 in UTF-8 (and code points); in UTF-16 the surrogate pair sorts first.
      const keys = ['u/\u{1F680}', 'u/\uFFFD', 'u/z', 'u/é'];
      await kv.batch(keys.map((key) => ({ type: 'put', key, value: key })), { sync: false });
      expect((await kv.range({ prefix: 'u/' })).map(([k]) => k)).to.deep.equal(['u/z', 'u/é', 'u/\uFFFD', 'u/\u{1F680}']);
    });

    it('scans a large range in bounded pages and clears it', async () => {
      const ops = [];
      for (let i = 0; i < 2500; i++) ops.push({ type: 'put' as const, key: `s/${String(i).padStart(5, '0')}`, value: i });
      ops.push({ type: 'put' as const, key: 't/after', value: -1 });
      await kv.batch(ops, { sync: false });
      const seen: number[] = [];
      for await (const [, v] of scan(kv, { prefix: 's/' }, 300)) seen.push(v as number);
      expect(seen).to.deep.equal([...Array(2500).keys()]);
      const back: number[] = [];
      for await (const [, v] of scan(kv, { prefix: 's/', reverse: true }, 1000)) back.push(v as number);
      expect(back).to.deep.equal([...Array(2500).keys()].reverse());
      expect(await clearRange(kv, { prefix: 's/' }, { sync: true }, 700)).to.equal(2500);
      expect(await kv.range({ prefix: 's/' })).to.deep.equal([]);
      expect(await kv.get('t/after')).to.equal(-1);
    });

    it('keeps synced writes across a reopen', async () => {
      await kv.batch([{ type: 'put', key: 'x', value: { a: 1 } }, { type: 'put', key: 'y', value: 2 }], { sync: true });
      await kv.batch([{ type: 'del', key: 'y' }], { sync: true });
      kv = await fx.reopen(kv);
      expect(await kv.get('x')).to.deep.equal({ a: 1 });
      expect(await kv.get('y')).to.equal(undefined);
    });

    it('refuses values over valueBytesMax and batches over batchOpsMax with TOO_LARGE, writing nothing', async () => {
      await kv.close();
      kv = await fx.make({ valueBytesMax: 1024, batchOpsMax: 3 });
      const big = await rejects(kv.batch([{ type: 'put', key: 'ok', value: 1 }, { type: 'put', key: 'big', value: new Uint8Array(2000) }], { sync: false }));
      expect(big).to.be.instanceOf(FlotillaError);
      expect((big as FlotillaError).code).to.equal('TOO_LARGE');
      const many = await rejects(kv.batch([1, 2, 3, 4].map((i) => ({ type: 'put' as const, key: `m${i}`, value: i })), { sync: false }));
      expect((many as FlotillaError).code).to.equal('TOO_LARGE');
      expect(await kv.getMany(['ok', 'big', 'm1'])).to.deep.equal([undefined, undefined, undefined]);
    });

    it('treats bad keys, undefined values and oversized limits as programmer errors', async () => {
      expect(await rejects(kv.get('bad\uD800'))).to.be.instanceOf(AssertionFailure);
      expect(await rejects(kv.batch([{ type: 'put', key: 'k', value: undefined }], { sync: false }))).to.be.instanceOf(AssertionFailure);
      expect(await rejects(kv.range({ limit: kv.kvSettings.rangeLimitMax + 1 }))).to.be.instanceOf(AssertionFailure);
      expect(await rejects(kv.range({ limit: 0 }))).to.be.instanceOf(AssertionFailure);
    });

    it('refuses every call with CLOSED once closed', async () => {
      await kv.batch([{ type: 'put', key: 'k', value: 1 }], { sync: false });
      await kv.close();
      const results = await Promise.allSettled([kv.get('k'), kv.getMany(['k']), kv.range({}), kv.batch([{ type: 'del', key: 'k' }], { sync: true })]);
      for (const r of results) {
        expect(r.status).to.equal('rejected');
        expect(((r as PromiseRejectedResult).reason as FlotillaError).code).to.equal('CLOSED');
      }
      await kv.close(); // twice is fine
    });
  });
}
