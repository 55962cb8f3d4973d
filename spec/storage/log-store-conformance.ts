/**
 * The conformance suite every LogStore passes (SegmentLogStore and MemoryLogStore alike).
 */
import { expect } from 'chai';
import { AssertionFailure } from '../../lib/base/assert.js';
import { isFlotillaError } from '../../lib/base/errors.js';
import { type Entry, EntryType, entryBytes } from '../../lib/raft/core/types.js';
import type { LogStore } from '../../lib/storage/log-store.js';

export interface LogStoreFixture {
  /**
   * Opens the store under test. With `reopen` support, a second call after close() opens the
   * same durable log again. `small` asks for small segments (so compaction has boundaries).
   */
  open(options?: { small?: boolean }): Promise<LogStore>;
  /** False for a twin that cannot outlive its object. */
  readonly reopen: boolean;
  cleanup(): Promise<void>;
}

/** A deterministic entry: data depends on index and a salt, so a rewrite is visible. */
export function entry(index: number, term: number, salt = 0, type: EntryType = EntryType.Normal, size?: number): Entry {
  const n = size ?? ((index * 37 + salt * 11) % 200);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (index + salt + i * 7) & 0xff;
  return { index, term, type, data };
}

export function range(lo: number, hi: number, term: number | ((i: number) => number), salt = 0): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i < hi; i++) out.push(entry(i, typeof term === 'number' ? term : term(i), salt));
  return out;
}

/** Entries as plain comparable values (data as arrays). */
export function plain(entries: readonly Entry[]): { index: number; term: number; type: number; data: number[] }[] {
  return entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: [...e.data] }));
}

export function logStoreConformance(name: string, fixture: () => LogStoreFixture): void {
  describe(`${name}: log store conformance`, () => {
    let fx: LogStoreFixture;
    let store: LogStore;
    beforeEach(() => {
      fx = fixture();
    });
    afterEach(async () => {
      await store?.close().catch(() => undefined);
      await fx.cleanup();
    });

    const all = (s: LogStore): Entry[] => s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER);

    it('starts empty at index 1 with term(0) = 0', async () => {
      store = await fx.open();
      expect(store.firstIndex()).to.equal(1);
      expect(store.lastIndex()).to.equal(0);
      expect(store.term(0)).to.equal(0);
      expect(store.entries(1, 1, 100)).to.deep.equal([]);
    });

    it('appends and reads back entries of every type, visible before flush', async () => {
      store = await fx.open();
      const es: Entry[] = [
        entry(1, 1, 0, EntryType.Noop, 0),
        entry(2, 1, 0, EntryType.Normal, 0),
        entry(3, 1, 0, EntryType.Config, 24),
        ...range(4, 60, 1),
        entry(60, 2, 0, EntryType.Noop, 0),
        entry(61, 2, 0, EntryType.Normal, 70_000),
        ...range(62, 100, 3),
      ];
      store.append(es.slice(0, 30));
      store.append(es.slice(30));
      expect(store.lastIndex()).to.equal(99);
      expect(plain(all(store))).to.deep.equal(plain(es));
      await store.flush();
      expect(plain(store.entries(50, 65, Number.MAX_SAFE_INTEGER))).to.deep.equal(plain(es.slice(49, 64)));
      expect(store.term(0)).to.equal(0);
      expect(store.term(59)).to.equal(1);
      expect(store.term(60)).to.equal(2);
      expect(store.term(61)).to.equal(2);
      expect(store.term(99)).to.equal(3);
    });

    it('limits reads by maxBytes, but always returns one entry', async () => {
      store = await fx.open();
      const es = range(1, 41, 1);
      store.append(es);
      await store.flush();
      expect(store.entries(5, 41, 0)).to.have.length(1);
      expect(store.entries(5, 41, 1)[0]?.index).to.equal(5);
      const budget = entryBytes(es[4] as Entry) + entryBytes(es[5] as Entry) + entryBytes(es[6] as Entry);
      expect(store.entries(5, 41, budget).map((e) => e.index)).to.deep.equal([5, 6, 7]);
      expect(store.entries(5, 41, budget - 1).map((e) => e.index)).to.deep.equal([5, 6]);
      expect(store.entries(5, 8, Number.MAX_SAFE_INTEGER)).to.have.length(3);
    });

    it('truncates a conflicting suffix, also across flushes and at the first index', async () => {
      store = await fx.open({ small: true });
      store.append(range(1, 101, 1));
      await store.flush();
      store.append(range(60, 70, 2, 1));
      expect(store.lastIndex()).to.equal(69);
      expect(plain(all(store))).to.deep.equal(plain([...range(1, 60, 1), ...range(60, 70, 2, 1)]));
      expect(store.term(59)).to.equal(1);
      expect(store.term(60)).to.equal(2);
      // Replace the tail again before it was flushed, then append past it.
      store.append(range(65, 80, 3, 2));
      await store.flush();
      expect(plain(all(store))).to.deep.equal(plain([...range(1, 60, 1), ...range(60, 65, 2, 1), ...range(65, 80, 3, 2)]));
      // Everything replaced.
      store.append(range(1, 5, 4, 3));
      expect(store.lastIndex()).to.equal(4);
      expect(plain(all(store))).to.deep.equal(plain(range(1, 5, 4, 3)));
      expect(store.term(0)).to.equal(0);
      await store.flush();
      if (fx.reopen) {
        await store.close();
        store = await fx.open({ small: true });
        expect(plain(all(store))).to.deep.equal(plain(range(1, 5, 4, 3)));
      }
    });

    it('refuses appends that leave a gap, go below the log, or lower the term', async () => {
      store = await fx.open();
      store.append(range(1, 11, 2));
      expect(() => store.append([entry(12, 2)])).to.throw(AssertionFailure);
      expect(() => store.append([entry(11, 1)])).to.throw(AssertionFailure);
      expect(() => store.append([entry(11, 2), entry(13, 2)])).to.throw(AssertionFailure);
      expect(store.lastIndex()).to.equal(10);
      store.append([]);
      expect(store.lastIndex()).to.equal(10);
    });

    it('compacts whole segments at or below the index, remembering the term before the log', async () => {
      store = await fx.open({ small: true });
      const term = (i: number): number => 1 + Math.floor(i / 50);
      store.append(range(1, 301, term));
      await store.flush();
      store.compact(0);
      expect(store.firstIndex()).to.equal(1);
      store.compact(150);
      const first = store.firstIndex();
      expect(first).to.be.greaterThan(1);
      expect(first).to.be.at.most(151);
      expect(store.lastIndex()).to.equal(300);
      expect(store.term(first - 1)).to.equal(term(first - 1));
      expect(plain(all(store))).to.deep.equal(plain(range(first, 301, term)));
      store.compact(100); // going back does nothing
      expect(store.firstIndex()).to.equal(first);
      store.append(range(301, 311, 9));
      store.compact(1_000_000);
      const after = store.firstIndex();
      expect(after).to.be.at.most(311);
      expect(store.lastIndex()).to.equal(310);
      expect(store.term(after - 1)).to.equal(after - 1 === 300 ? term(300) : (after - 1 > 300 ? 9 : term(after - 1)));
      await store.flush();
      if (fx.reopen) {
        await store.close();
        store = await fx.open({ small: true });
        expect(store.firstIndex()).to.equal(after);
        expect(store.term(after - 1)).to.equal(after - 1 > 300 ? 9 : term(after - 1));
        expect(store.lastIndex()).to.equal(310);
      }
    });

    it('resets to a snapshot position, and keeps appending after it', async () => {
      store = await fx.open({ small: true });
      store.append(range(1, 101, 1));
      await store.flush();
      store.reset(500, 7);
      expect(store.firstIndex()).to.equal(501);
      expect(store.lastIndex()).to.equal(500);
      expect(store.term(500)).to.equal(7);
      store.append(range(501, 521, 8));
      expect(store.term(500)).to.equal(7);
      expect(plain(all(store))).to.deep.equal(plain(range(501, 521, 8)));
      store.reset(50, 3); // backwards too: a snapshot behind the log's old end
      expect(store.firstIndex()).to.equal(51);
      expect(store.lastIndex()).to.equal(50);
      expect(store.term(50)).to.equal(3);
      store.append(range(51, 61, 3));
      await store.flush();
      if (fx.reopen) {
        await store.close();
        store = await fx.open({ small: true });
        expect(store.firstIndex()).to.equal(51);
        expect(store.term(50)).to.equal(3);
        expect(plain(all(store))).to.deep.equal(plain(range(51, 61, 3)));
      }
    });

    it('survives a close and reopen with everything flushed', async function () {
      if (!fx.reopen) this.skip();
      store = await fx.open({ small: true });
      const es = [...range(1, 200, 1), entry(200, 2, 0, EntryType.Config, 30), entry(201, 2, 0, EntryType.Noop, 0), ...range(202, 260, 2)];
      store.append(es);
      await store.flush();
      await store.close();
      store = await fx.open({ small: true });
      expect(store.firstIndex()).to.equal(1);
      expect(store.lastIndex()).to.equal(259);
      expect(store.term(200)).to.equal(2);
      expect(plain(all(store))).to.deep.equal(plain(es));
      store.append(range(260, 270, 3));
      expect(store.lastIndex()).to.equal(269);
    });

    it('refuses every call once closed', async () => {
      store = await fx.open();
      store.append(range(1, 3, 1));
      await store.close();
      const closed = (e: unknown): boolean => isFlotillaError(e, 'CLOSED');
      expect(() => store.term(1)).to.throw().that.satisfies(closed);
      expect(() => store.entries(1, 2, 10)).to.throw().that.satisfies(closed);
      expect(() => store.append([entry(3, 1)])).to.throw().that.satisfies(closed);
    });

    it('reads out of range are programmer errors', async () => {
      store = await fx.open();
      store.append(range(1, 11, 1));
      expect(() => store.entries(0, 5, 100)).to.throw(AssertionFailure);
      expect(() => store.entries(5, 12, 100)).to.throw(AssertionFailure);
      expect(() => store.term(11)).to.throw(AssertionFailure);
    });
  });
}
