import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvStore } from '../../lib/storage/kv.js';
import { KvBatcher } from '../../lib/storage/kv-batcher.js';
import { LevelKv } from '../../lib/storage/level-kv.js';
import { kvConformance } from './kv-conformance.js';

function levelFixture(batched: boolean) {
  return () => {
    const dirs: string[] = [];
    const open = new Set<KvStore>();
    const wrap = (kv: LevelKv): KvStore => (batched ? new KvBatcher(kv) : kv);
    const location = new WeakMap<KvStore, string>();
    return {
      async make(settings?: Record<string, unknown>) {
        const dir = await mkdtemp(join(tmpdir(), 'flotilla-kv-'));
        dirs.push(dir);
        const kv = wrap(await LevelKv.open(join(dir, 'kv'), settings));
        location.set(kv, join(dir, 'kv'));
        open.add(kv);
        return kv;
      },
      async reopen(kv: KvStore) {
        await kv.close();
        open.delete(kv);
        const at = location.get(kv)!;
        const again = wrap(await LevelKv.open(at, { ...kv.kvSettings }));
        location.set(again, at);
        open.add(again);
        return again;
      },
      async cleanup() {
        for (const kv of open) await kv.close().catch(() => undefined);
        for (const dir of dirs) await rm(dir, { recursive: true, force: true });
      },
    };
  };
}

kvConformance('LevelKv', levelFixture(false));
kvConformance('KvBatcher over LevelKv', levelFixture(true));

describe('LevelKv', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-kv-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds LevelDB\'s lock: a second open of the same directory fails', async () => {
    const kv = await LevelKv.open(join(dir, 'kv'));
    let failed = false;
    try {
      const second = await LevelKv.open(join(dir, 'kv'));
      await second.close();
    } catch {
      failed = true;
    }
    await kv.close();
    expect(failed).to.equal(true);
    const again = await LevelKv.open(join(dir, 'kv'));
    await again.close();
  });

  it('group-commits many groups\' sync writes into one LevelDB write', async () => {
    const kv = new KvBatcher(await LevelKv.open(join(dir, 'kv')));
    const writes = [];
    for (let g = 0; g < 500; g++) writes.push(kv.batch([{ type: 'put', key: `raft/g${g}/hard`, value: { term: 1, vote: g, commit: 0 } }], { sync: true }));
    await Promise.all(writes);
    expect(kv.stats.writes).to.equal(1);
    expect(kv.stats.syncWrites).to.equal(1);
    expect(kv.stats.batches).to.equal(500);
    expect(await kv.get('raft/g499/hard')).to.deep.equal({ term: 1, vote: 499, commit: 0 });
    await kv.close();
  });
});
