import { expect } from 'chai';
import type { KvStore } from '../../lib/storage/kv.js';
import { KvBatcher } from '../../lib/storage/kv-batcher.js';
import { MemoryKv } from '../../lib/storage/memory-kv.js';
import { kvConformance } from './kv-conformance.js';

kvConformance('MemoryKv', () => ({
  make: async (settings) => new MemoryKv(settings),
  reopen: async (kv) => (kv as MemoryKv).crashImage(),
  cleanup: async () => undefined,
}));

/** The memory twin behind a batcher: the batcher reopens over the crash image. */
const inner = new WeakMap<KvStore, MemoryKv>();
kvConformance('KvBatcher over MemoryKv', () => ({
  make: async (settings) => {
    const m = new MemoryKv(settings);
    const b = new KvBatcher(m);
    inner.set(b, m);
    return b;
  },
  reopen: async (kv) => {
    const image = inner.get(kv)!.crashImage();
    const b = new KvBatcher(image);
    inner.set(b, image);
    return b;
  },
  cleanup: async () => undefined,
}));

describe('MemoryKv', () => {
  it('loses unsynced writes in a crash, keeps everything before a sync write', async () => {
    const kv = new MemoryKv();
    await kv.batch([{ type: 'put', key: 'a', value: 1 }], { sync: false });
    await kv.batch([{ type: 'put', key: 'b', value: 2 }], { sync: true });
    await kv.batch([{ type: 'put', key: 'c', value: 3 }, { type: 'del', key: 'a' }], { sync: false });
    expect(await kv.getMany(['a', 'b', 'c'])).to.deep.equal([undefined, 2, 3]);
    const after = kv.crashImage();
    expect(await after.getMany(['a', 'b', 'c'])).to.deep.equal([1, 2, undefined]);
    expect(after.size).to.equal(2);
  });

  it('counts unsynced writes as written back past memoryUnsyncedOpsMax', async () => {
    const kv = new MemoryKv({ memoryUnsyncedOpsMax: 2 });
    await kv.batch([{ type: 'put', key: 'a', value: 1 }, { type: 'put', key: 'b', value: 1 }], { sync: false });
    expect(await kv.crashImage().get('a')).to.equal(undefined);
    await kv.batch([{ type: 'put', key: 'c', value: 1 }], { sync: false });
    expect(await kv.crashImage().getMany(['a', 'b', 'c'])).to.deep.equal([1, 1, 1]);
  });
});
