/**
 * The conformance suite every GroupStore passes (MemoryGroupStore and DiskGroupStore): the write
 * half of the Ready contract, the LogReader half, snapshots, and (for durable stores) reopening.
 */
import { expect } from 'chai';
import { encodeConfigEntry, membershipOf } from '../../lib/raft/core/membership.js';
import { ConfigChangeType, type Entry, EntryType, type Membership, type Ready, type SnapshotMeta } from '../../lib/raft/core/types.js';
import type { GroupStore } from '../../lib/raft/group-store.js';

export interface GroupStoreFixture {
  open(bootstrap: Membership): Promise<GroupStore>;
  /** Closes and opens again over the same durable state, or null if the store is not durable. */
  reopen: ((store: GroupStore, bootstrap: Membership) => Promise<GroupStore>) | null;
  cleanup(): Promise<void>;
}

function ready(partial: Partial<Ready>): Ready {
  return {
    number: 1, messages: [], snapshotChunks: [], snapshot: null, entries: [], hardState: null, persistedMessages: [],
    committedEntries: [], readStates: [], droppedReads: [], softState: null, ...partial,
  };
}

function entry(index: number, term: number, text = `e${index}`): Entry {
  return { index, term, type: EntryType.Normal, data: Buffer.from(text) };
}

export function groupStoreConformance(name: string, make: () => GroupStoreFixture): void {
  describe(`${name}: GroupStore conformance`, () => {
    let fx: GroupStoreFixture;
    const boot = membershipOf([1, 2, 3]);
    beforeEach(() => {
      fx = make();
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('starts from the bootstrap: snapshot meta at index 0 with the membership', async () => {
      const s = await fx.open(boot);
      expect(s.firstIndex()).to.equal(1);
      expect(s.lastIndex()).to.equal(0);
      expect(s.term(0)).to.equal(0);
      expect(s.snapshotMeta()).to.deep.include({ index: 0, term: 0 });
      expect(s.snapshotMeta().membership.voters).to.deep.equal([1, 2, 3]);
      expect(s.initialState()).to.deep.equal({ hardState: { term: 0, vote: 0, commit: 0 }, configEntries: [], applied: 0 });
      await s.close();
    });

    it('writes entries and hard state, replaces a suffix, tracks config entries', async () => {
      const s = await fx.open(boot);
      const cfg = { index: 3, term: 1, type: EntryType.Config, data: encodeConfigEntry({ type: ConfigChangeType.AddLearner, node: 4 }, membershipOf([1, 2, 3], [4])) };
      s.stage(ready({ entries: [entry(1, 1), entry(2, 1), cfg, entry(4, 1)], hardState: { term: 1, vote: 2, commit: 2 } }));
      await s.flush();
      expect(s.lastIndex()).to.equal(4);
      expect(s.entries(1, 5, 1 << 20).map((e) => Buffer.from(e.data).toString())).to.have.length(4);
      expect(s.initialState().configEntries.map((c) => c.index)).to.deep.equal([3]);
      // A new leader replaces entries 3.. (config included).
      s.stage(ready({ entries: [entry(3, 2, 'x3')], hardState: { term: 2, vote: 0, commit: 2 } }));
      await s.flush();
      expect(s.lastIndex()).to.equal(3);
      expect(s.term(3)).to.equal(2);
      expect(s.initialState().configEntries).to.deep.equal([]);
      expect(s.initialState().hardState).to.deep.equal({ term: 2, vote: 0, commit: 2 });
      expect(s.entries(2, 3, 1)).to.have.length(1); // at least one entry whatever maxBytes
      await s.close();
    });

    it('takes a local snapshot and serves it in chunks; the log keeps a tail', async () => {
      const s = await fx.open(boot);
      s.stage(ready({ entries: Array.from({ length: 10 }, (_, i) => entry(i + 1, 1)), hardState: { term: 1, vote: 1, commit: 10 } }));
      await s.flush();
      const meta: SnapshotMeta = { index: 8, term: 1, membership: boot };
      await s.saveSnapshot(meta, Buffer.from('0123456789abcdef'), 6);
      expect(s.snapshotMeta()).to.deep.include({ index: 8, term: 1 });
      expect(s.snapshotSize()).to.equal(16);
      expect(Buffer.from(s.readSnapshot(4, 4)).toString()).to.equal('4567');
      expect(s.firstIndex()).to.be.at.most(9);
      expect(s.lastIndex()).to.equal(10);
      expect(s.term(8)).to.equal(1);
      expect(Buffer.from(await s.snapshotData()).toString()).to.equal('0123456789abcdef');
      expect(s.initialState().applied).to.equal(8);
      await s.close();
    });

    it('installs a snapshot received in chunks: the log starts after it', async () => {
      const s = await fx.open(membershipOf([]));
      s.stage(ready({ entries: [entry(1, 1)], hardState: { term: 1, vote: 0, commit: 0 } }));
      await s.flush();
      const meta: SnapshotMeta = { index: 50, term: 3, membership: membershipOf([1, 2, 3], [4]) };
      s.stage(ready({ snapshotChunks: [{ meta, offset: 0, data: Buffer.from('abc'), last: false }] }));
      s.stage(ready({
        snapshotChunks: [{ meta, offset: 3, data: Buffer.from('def'), last: true }], snapshot: meta,
        entries: [entry(51, 3)], hardState: { term: 3, vote: 0, commit: 50 },
      }));
      await s.flush();
      expect(s.snapshotMeta()).to.deep.include({ index: 50, term: 3 });
      expect(s.firstIndex()).to.equal(51);
      expect(s.lastIndex()).to.equal(51);
      expect(s.term(50)).to.equal(3);
      expect(Buffer.from(await s.snapshotData()).toString()).to.equal('abcdef');
      expect(s.initialState().applied).to.equal(50);
      await s.close();
    });

    it('survives a reopen with everything it flushed', async function () {
      if (!fx.reopen) this.skip();
      let s = await fx.open(boot);
      s.stage(ready({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], hardState: { term: 1, vote: 3, commit: 3 } }));
      await s.flush();
      await s.saveSnapshot({ index: 2, term: 1, membership: boot }, Buffer.from('snap'), 3);
      s = await fx.reopen!(s, boot);
      expect(s.initialState().hardState).to.deep.equal({ term: 1, vote: 3, commit: 3 });
      expect(s.snapshotMeta()).to.deep.include({ index: 2, term: 1 });
      expect(s.lastIndex()).to.equal(3);
      expect(Buffer.from(s.entries(3, 4, 100)[0]!.data).toString()).to.equal('e3');
      await s.close();
    });
  });
}
