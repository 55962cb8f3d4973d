import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AssertionFailure } from '../../lib/base/assert.js';
import type { FlotillaError } from '../../lib/base/errors.js';
import type { ConfigAt, Membership } from '../../lib/raft/core/types.js';
import type { EncodedOp, KvStore, WriteOptions } from '../../lib/storage/kv.js';
import { KvBatcher } from '../../lib/storage/kv-batcher.js';
import { LevelKv } from '../../lib/storage/level-kv.js';
import { MemoryKv } from '../../lib/storage/memory-kv.js';
import { RaftStateStore } from '../../lib/storage/raft-state-store.js';

const m3: Membership = { voters: [1, 2, 3], learners: [] };
const m4: Membership = { voters: [1, 2, 3], learners: [4] };
const m5: Membership = { voters: [1, 2, 3, 4], learners: [] };
const conf = (index: number, term: number, membership: Membership): ConfigAt => ({ index, term, membership });

interface Fixture {
  kv: KvStore;
  /** A fresh KV over what survived: reopened LevelDB, or the memory crash image (synced writes only). */
  reopen(): Promise<KvStore>;
  cleanup(): Promise<void>;
}

const fixtures: Record<string, () => Promise<Fixture>> = {
  'LevelKv': async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-raft-state-'));
    const fx: Fixture = {
      kv: await LevelKv.open(join(dir, 'kv')),
      async reopen() {
        await fx.kv.close();
        fx.kv = await LevelKv.open(join(dir, 'kv'));
        return fx.kv;
      },
      async cleanup() {
        await fx.kv.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
    return fx;
  },
  'MemoryKv (crash image)': async () => {
    const fx: Fixture = {
      kv: new MemoryKv(),
      async reopen() {
        fx.kv = (fx.kv as MemoryKv).crashImage();
        return fx.kv;
      },
      cleanup: async () => undefined,
    };
    return fx;
  },
};

for (const [name, make] of Object.entries(fixtures)) {
  describe(`RaftStateStore over ${name}`, () => {
    let fx: Fixture;
    beforeEach(async () => {
      fx = await make();
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('bootstraps a new group as a snapshot meta at index 0, term 0, durably; later opens ignore the bootstrap', async () => {
      const s = await RaftStateStore.open(fx.kv, 'p-0', m3);
      const want = {
        hardState: { term: 0, vote: 0, commit: 0 },
        snapshotMeta: { index: 0, term: 0, membership: m3 },
        configEntries: [],
        baseConfig: { index: 0, term: 0, membership: m3 },
      };
      expect(s.load()).to.deep.equal(want);
      const again = await RaftStateStore.open(await fx.reopen(), 'p-0', { voters: [9], learners: [] });
      expect(again.load()).to.deep.equal(want);
    });

    it('keeps hard state, config entries and snapshot meta across a restart', async () => {
      const s = await RaftStateStore.open(fx.kv, 'g', m3);
      await s.save({ hardState: { term: 2, vote: 1, commit: 0 } }, { sync: true });
      await s.save({ hardState: { term: 2, vote: 1, commit: 5 }, configAppends: [conf(3, 2, m4), conf(6, 2, m5)] }, { sync: true });
      const r = await RaftStateStore.open(await fx.reopen(), 'g', m3);
      expect(r.load()).to.deep.equal(s.load());
      expect(r.load().hardState).to.deep.equal({ term: 2, vote: 1, commit: 5 });
      expect(r.load().configEntries).to.deep.equal([conf(3, 2, m4), conf(6, 2, m5)]);
    });

    it('syncs a term or vote change even when asked not to; a commit-only change is not synced', async () => {
      const s = await RaftStateStore.open(fx.kv, 'g', m3);
      await s.save({ hardState: { term: 1, vote: 0, commit: 0 } }, { sync: false });
      await s.save({ hardState: { term: 1, vote: 3, commit: 0 } }, { sync: false });
      await s.save({ hardState: { term: 1, vote: 3, commit: 7 } }, { sync: false });
      const r = await RaftStateStore.open(await fx.reopen(), 'g', m3);
      expect(r.load().hardState.term).to.equal(1);
      expect(r.load().hardState.vote).to.equal(3);
      if (name.startsWith('MemoryKv')) expect(r.load().hardState.commit).to.equal(0); // the crash lost the unsynced commit
    });

    it('drops configs from a truncation point, and compacts to the latest config at or below a snapshot', async () => {
      const s = await RaftStateStore.open(fx.kv, 'g', m3);
      await s.save({ hardState: { term: 3, vote: 1, commit: 2 }, configAppends: [conf(3, 2, m4), conf(5, 2, m5), conf(8, 3, m4)] }, { sync: true });
      await s.save({ truncateConfigFrom: 5, configAppends: [conf(6, 3, m3)] }, { sync: true });
      expect(s.load().configEntries).to.deep.equal([conf(3, 2, m4), conf(6, 3, m3)]);
      await s.save({ configAppends: [conf(9, 3, m5)], hardState: { term: 3, vote: 1, commit: 9 } }, { sync: true });
      await s.save({ snapshotMeta: { index: 7, term: 3, membership: m3 } }, { sync: false });
      expect(s.load().configEntries).to.deep.equal([conf(9, 3, m5)]);
      expect(s.load().baseConfig).to.deep.equal(conf(6, 3, m3));
      expect(s.load().snapshotMeta).to.deep.equal({ index: 7, term: 3, membership: m3 });
      // the snapshot meta is synced whatever the caller asked, and the dropped config keys are gone
      const r = await RaftStateStore.open(await fx.reopen(), 'g', m3);
      expect(r.load()).to.deep.equal(s.load());
      const keys = (await fx.kv.range({ prefix: 'raft/g/' })).map(([k]) => k);
      expect(keys).to.deep.equal(['raft/g/conf/0000000000000006', 'raft/g/conf/0000000000000009', 'raft/g/hard', 'raft/g/snap']);
    });

    it('installs a snapshot received from a leader: every config goes, the base is the snapshot\'s membership', async () => {
      const s = await RaftStateStore.open(fx.kv, 'g', m3);
      await s.save({ hardState: { term: 2, vote: 2, commit: 1 }, configAppends: [conf(2, 1, m4), conf(30, 2, m5)] }, { sync: true });
      await s.save({ hardState: { term: 4, vote: 0, commit: 20 }, snapshotMeta: { index: 20, term: 4, membership: m4 }, truncateConfigFrom: 1 }, { sync: true });
      const want = {
        hardState: { term: 4, vote: 0, commit: 20 },
        snapshotMeta: { index: 20, term: 4, membership: m4 },
        configEntries: [],
        baseConfig: { index: 20, term: 4, membership: m4 },
      };
      expect(s.load()).to.deep.equal(want);
      expect((await RaftStateStore.open(await fx.reopen(), 'g', m3)).load()).to.deep.equal(want);
    });

    it('asserts Raft\'s invariants: terms and commits never go back, one vote per term, configs in order', async () => {
      const s = await RaftStateStore.open(fx.kv, 'g', m3);
      await s.save({ hardState: { term: 5, vote: 2, commit: 4 }, configAppends: [conf(3, 5, m4)] }, { sync: true });
      expect(() => s.save({ hardState: { term: 4, vote: 2, commit: 4 } }, { sync: true })).to.throw(AssertionFailure, /term went back/);
      expect(() => s.save({ hardState: { term: 5, vote: 3, commit: 4 } }, { sync: true })).to.throw(AssertionFailure, /vote changed/);
      expect(() => s.save({ hardState: { term: 5, vote: 2, commit: 3 } }, { sync: true })).to.throw(AssertionFailure, /commit went back/);
      expect(() => s.save({ configAppends: [conf(3, 5, m5)] }, { sync: true })).to.throw(AssertionFailure, /appended after 3/);
      await s.save({ hardState: { term: 6, vote: 0, commit: 4 }, snapshotMeta: { index: 4, term: 5, membership: m4 } }, { sync: true });
      expect(() => s.save({ truncateConfigFrom: 4 }, { sync: true })).to.throw(AssertionFailure, /at or below the snapshot/);
      expect(() => s.save({ snapshotMeta: { index: 3, term: 5, membership: m4 } }, { sync: true })).to.throw(AssertionFailure, /snapshot index went back/);
    });

    it('destroys one group without touching a group whose id looks like a prefix of it', async () => {
      const a = await RaftStateStore.open(fx.kv, 'topic/0', m3);
      const b = await RaftStateStore.open(fx.kv, 'topic', m3);
      const c = await RaftStateStore.open(fx.kv, 'topic0', m3);
      await a.save({ configAppends: [conf(1, 1, m4)] }, { sync: true });
      await b.save({ configAppends: [conf(1, 1, m5)] }, { sync: true });
      expect(await RaftStateStore.listGroups(fx.kv)).to.have.members(['topic/0', 'topic', 'topic0']);
      await b.destroy();
      expect(() => b.load()).to.throw(AssertionFailure);
      expect(await RaftStateStore.listGroups(fx.kv)).to.have.members(['topic/0', 'topic0']);
      expect((await RaftStateStore.open(fx.kv, 'topic/0', m3)).load().configEntries).to.deep.equal([conf(1, 1, m4)]);
      expect(c.load().snapshotMeta.index).to.equal(0);
      // a destroyed group opens as new
      expect((await RaftStateStore.open(fx.kv, 'topic', m5)).load().snapshotMeta.membership).to.deep.equal(m5);
    });

    it('refuses malformed state with CORRUPT', async () => {
      await RaftStateStore.open(fx.kv, 'g', m3);
      await fx.kv.batch([{ type: 'put', key: 'raft/g/hard', value: { term: -1, vote: 0, commit: 0 } }], { sync: true });
      const err = await RaftStateStore.open(fx.kv, 'g', m3).then(() => null, (e: unknown) => e);
      expect((err as FlotillaError).code).to.equal('CORRUPT');
      await fx.kv.batch([{ type: 'del', key: 'raft/g/snap' }, { type: 'put', key: 'raft/g/hard', value: { term: 1, vote: 0, commit: 0 } }], { sync: true });
      const err2 = await RaftStateStore.open(fx.kv, 'g', m3).then(() => null, (e: unknown) => e);
      expect((err2 as FlotillaError).code).to.equal('CORRUPT');
    });
  });
}

describe('RaftStateStore group commit', () => {
  class CountingKv extends MemoryKv {
    writes: boolean[] = [];
    override async writeEncoded(ops: readonly EncodedOp[], options: WriteOptions): Promise<void> {
      this.writes.push(options.sync);
      return super.writeEncoded(ops, options);
    }
  }

  it('saves of many groups in one turn become one synced KV write', async () => {
    const kv = new CountingKv();
    const b = new KvBatcher(kv);
    const stores = [];
    for (let g = 0; g < 100; g++) stores.push(await RaftStateStore.open(b, `p-${g}`, m3));
    kv.writes = [];
    await Promise.all(stores.map((s, g) => s.save({ hardState: { term: 1, vote: g % 3 + 1, commit: 0 } }, { sync: false })));
    expect(kv.writes).to.deep.equal([true]);
    await Promise.all(stores.map((s) => s.save({ hardState: { ...s.load().hardState, commit: 1 } }, { sync: false })));
    expect(kv.writes).to.deep.equal([true, false]);
    const image = kv.crashImage();
    expect((await RaftStateStore.open(image, 'p-42', m3)).load().hardState).to.deep.equal({ term: 1, vote: 1, commit: 0 });
  });
});
