/**
 * The conformance suite every SnapshotStore passes (files and memory alike).
 */
import { expect } from 'chai';
import { AssertionFailure } from '../../lib/base/assert.js';
import type { FlotillaError } from '../../lib/base/errors.js';
import type { SnapshotMeta } from '../../lib/raft/core/types.js';
import type { SnapshotStore } from '../../lib/storage/snapshot-store.js';

export interface SnapshotFixture {
  make(settings?: Record<string, unknown>): Promise<SnapshotStore>;
  /** What a crash (abandoning `store` without close) leaves, opened again. */
  crash(store: SnapshotStore): Promise<SnapshotStore>;
  cleanup(): Promise<void>;
}

export const meta = (index: number, term: number, voters = [1, 2, 3]): SnapshotMeta => ({ index, term, membership: { voters, learners: [] } });

/** Deterministic bytes (no randomness needed: position-dependent, so misplaced chunks show). */
export function bytesOf(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

async function readInChunks(s: SnapshotStore, step: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (let off = 0; off < s.size(); off += step) parts.push(s.read(off, step));
  return Buffer.concat(parts);
}

async function* parts(data: Buffer, step: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += step) yield data.subarray(i, i + step);
}

export function snapshotConformance(name: string, fixture: () => SnapshotFixture): void {
  describe(`${name}: snapshot store conformance`, () => {
    let fx: SnapshotFixture;
    let s: SnapshotStore;
    beforeEach(async () => {
      fx = fixture();
      s = await fx.make();
    });
    afterEach(async () => {
      await s.close();
      await fx.cleanup();
    });

    it('starts empty', async () => {
      expect(s.latest()).to.equal(null);
      expect(s.size()).to.equal(0);
      expect(s.incoming()).to.equal(null);
      expect((await s.readAll()).length).to.equal(0);
    });

    it('stores a local snapshot from bytes or from an async iterable, and reads it back in chunks', async () => {
      const a = bytesOf(100_000, 1);
      expect(await s.writeLocal(meta(10, 2), a)).to.equal(true);
      expect(s.latest()).to.deep.equal(meta(10, 2));
      expect(s.size()).to.equal(a.length);
      expect((await readInChunks(s, 7_000)).equals(a)).to.equal(true);
      expect(Buffer.from(await s.readAll()).equals(a)).to.equal(true);
      const b = bytesOf(250_001, 2);
      expect(await s.writeLocal(meta(20, 3), parts(b, 4096))).to.equal(true);
      expect(s.latest()).to.deep.equal(meta(20, 3));
      const streamed: Uint8Array[] = [];
      for await (const c of s.chunks(50_000)) {
        expect(c.byteLength).to.be.at.most(50_000);
        streamed.push(c);
      }
      expect(Buffer.concat(streamed).equals(b)).to.equal(true);
      expect(s.read(b.length - 10, 100).length).to.equal(10);
      expect(s.read(b.length, 100).length).to.equal(0);
    });

    it('receives a snapshot in sequential chunks, pipelined, and installs it on finish', async () => {
      await s.writeLocal(meta(5, 1), bytesOf(1000, 9));
      const data = bytesOf(300_000, 3);
      await s.beginIncoming(meta(40, 4, [1, 2]));
      const writes = [];
      for (let off = 0; off < data.length; off += 64 * 1024) writes.push(s.writeChunk(off, data.subarray(off, off + 64 * 1024)));
      expect(s.incoming()).to.deep.equal({ meta: meta(40, 4, [1, 2]), offset: data.length });
      await Promise.all(writes);
      expect(s.latest()).to.deep.equal(meta(5, 1)); // not before finish
      expect(await s.finishIncoming()).to.equal(true);
      expect(s.incoming()).to.equal(null);
      expect(s.latest()).to.deep.equal(meta(40, 4, [1, 2]));
      expect((await readInChunks(s, 100_000)).equals(data)).to.equal(true);
    });

    it('rejects a chunk at the wrong offset, and a chunk with nothing incoming', async () => {
      await s.beginIncoming(meta(3, 1));
      await s.writeChunk(0, bytesOf(100));
      expect(() => s.writeChunk(50, bytesOf(10))).to.throw(AssertionFailure, /expected 100/);
      expect(() => s.writeChunk(200, bytesOf(10))).to.throw(AssertionFailure, /expected 100/);
      await s.writeChunk(100, bytesOf(10));
      await s.abortIncoming();
      expect(s.incoming()).to.equal(null);
      expect(() => s.writeChunk(0, bytesOf(10))).to.throw(AssertionFailure);
      expect(s.latest()).to.equal(null);
    });

    it('a new beginIncoming abandons the one under way', async () => {
      await s.beginIncoming(meta(3, 1));
      await s.writeChunk(0, bytesOf(100, 1));
      await s.beginIncoming(meta(4, 1));
      expect(s.incoming()).to.deep.equal({ meta: meta(4, 1), offset: 0 });
      await s.writeChunk(0, bytesOf(50, 2));
      expect(await s.finishIncoming()).to.equal(true);
      expect(s.latest()).to.deep.equal(meta(4, 1));
      expect(Buffer.from(await s.readAll()).equals(bytesOf(50, 2))).to.equal(true);
    });

    it('discards a snapshot that is not newer than the latest', async () => {
      await s.writeLocal(meta(10, 2), bytesOf(10, 1));
      expect(await s.writeLocal(meta(10, 2), bytesOf(20, 2))).to.equal(false);
      expect(await s.writeLocal(meta(7, 2), bytesOf(20, 2))).to.equal(false);
      await s.beginIncoming(meta(9, 2));
      await s.writeChunk(0, bytesOf(5));
      expect(await s.finishIncoming()).to.equal(false);
      expect(s.latest()).to.deep.equal(meta(10, 2));
      expect(Buffer.from(await s.readAll()).equals(bytesOf(10, 1))).to.equal(true);
    });

    it('keeps the installed snapshot through a crash and loses the incoming one', async () => {
      await s.writeLocal(meta(10, 2), bytesOf(5000, 1));
      await s.beginIncoming(meta(30, 3));
      await s.writeChunk(0, bytesOf(3000, 2));
      s = await fx.crash(s);
      expect(s.incoming()).to.equal(null);
      expect(s.latest()).to.deep.equal(meta(10, 2));
      expect(Buffer.from(await s.readAll()).equals(bytesOf(5000, 1))).to.equal(true);
    });

    it('stores an empty snapshot', async () => {
      expect(await s.writeLocal(meta(1, 1), new Uint8Array(0))).to.equal(true);
      expect(s.size()).to.equal(0);
      expect(s.read(0, 10).length).to.equal(0);
      s = await fx.crash(s);
      expect(s.latest()).to.deep.equal(meta(1, 1));
    });

    it('refuses snapshots over snapshotBytesMax with TOO_LARGE and keeps the latest', async () => {
      await s.close();
      s = await fx.make({ snapshotBytesMax: 4096, readAllBytesMax: 4096 });
      await s.writeLocal(meta(1, 1), bytesOf(4096));
      const err = await s.writeLocal(meta(2, 1), parts(bytesOf(5000), 1000)).then(() => null, (e: unknown) => e);
      expect((err as FlotillaError).code).to.equal('TOO_LARGE');
      await s.beginIncoming(meta(3, 1));
      await s.writeChunk(0, bytesOf(4000));
      const err2 = await s.writeChunk(4000, bytesOf(100)).then(() => null, (e: unknown) => e);
      expect((err2 as FlotillaError).code).to.equal('TOO_LARGE');
      expect(s.latest()).to.deep.equal(meta(1, 1));
    });

    it('treats reads out of bounds as programmer errors', async () => {
      expect(() => s.read(0, 10)).to.throw(AssertionFailure); // no snapshot
      await s.writeLocal(meta(1, 1), bytesOf(100));
      expect(() => s.read(101, 10)).to.throw(AssertionFailure);
      expect(() => s.read(0, 0)).to.throw(AssertionFailure);
      expect(() => s.read(0, 64 * 1024 * 1024 + 1)).to.throw(AssertionFailure);
    });

    it('refuses calls with CLOSED once closed', async () => {
      await s.writeLocal(meta(1, 1), bytesOf(100));
      await s.close();
      expect(() => s.read(0, 10)).to.throw(/CLOSED/);
      const err = await s.beginIncoming(meta(2, 1)).then(() => null, (e: unknown) => e);
      expect((err as FlotillaError).code).to.equal('CLOSED');
    });
  });
}
