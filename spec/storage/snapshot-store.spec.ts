import { expect } from 'chai';
import { copyFile, mkdtemp, open, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlotillaError } from '../../lib/base/errors.js';
import { FileSnapshotStore, type SnapshotStore, snapshotFileName } from '../../lib/storage/snapshot-store.js';
import { bytesOf, meta, snapshotConformance } from './snapshot-store-conformance.js';

snapshotConformance('FileSnapshotStore', () => {
  const dirs: string[] = [];
  const stores: SnapshotStore[] = [];
  let current = '';
  return {
    async make(settings) {
      current = await mkdtemp(join(tmpdir(), 'flotilla-snap-'));
      dirs.push(current);
      const s = await FileSnapshotStore.open(join(current, 'g'), settings);
      stores.push(s);
      return s;
    },
    async crash(store) {
      // Abandon the store without close() (its open files stay open, as in a killed process's
      // last moments), then open the directory again.
      const s = await FileSnapshotStore.open((store as FileSnapshotStore).dir);
      stores.push(s);
      return s;
    },
    async cleanup() {
      for (const s of stores) await s.close().catch(() => undefined);
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    },
  };
});

describe('FileSnapshotStore', () => {
  let root: string;
  let dir: string;
  const open_: FileSnapshotStore[] = [];
  const openStore = async (settings?: Record<string, unknown>): Promise<FileSnapshotStore> => {
    const s = await FileSnapshotStore.open(dir, settings);
    open_.push(s);
    return s;
  };
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'flotilla-snap-'));
    dir = join(root, 'group-1');
  });
  afterEach(async () => {
    for (const s of open_.splice(0)) await s.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => null, (e: unknown) => e);

  it('keeps one file per snapshot, named <index>-<term>.snap, deleting the old one on install', async () => {
    const s = await openStore();
    await s.writeLocal(meta(10, 2), bytesOf(1000));
    expect(await readdir(dir)).to.deep.equal([snapshotFileName(meta(10, 2))]);
    await s.writeLocal(meta(25, 3), bytesOf(2000));
    expect(await readdir(dir)).to.deep.equal(['0000000000000025-0000000000000003.snap']);
  });

  it('a write cut short leaves the old snapshot: an abandoned tmp file is discarded on open', async () => {
    const s = await openStore();
    await s.writeLocal(meta(10, 2), bytesOf(10_000, 1));
    // A local snapshot whose producer fails halfway: the tmp file goes at once.
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield bytesOf(5000, 2);
      throw new Error('state machine failed');
    }
    expect(String(await failure(s.writeLocal(meta(20, 2), failing())))).to.match(/state machine failed/);
    expect(await readdir(dir)).to.deep.equal([snapshotFileName(meta(10, 2))]);
    // An incoming snapshot cut short by a crash: its tmp file stays until the next open.
    await s.beginIncoming(meta(30, 3));
    await s.writeChunk(0, bytesOf(8000, 3));
    expect((await readdir(dir)).some((n) => n.endsWith('.tmp'))).to.equal(true);
    const t = await openStore();
    expect(await readdir(dir)).to.deep.equal([snapshotFileName(meta(10, 2))]);
    expect(t.latest()).to.deep.equal(meta(10, 2));
    expect(Buffer.from(await t.readAll()).equals(bytesOf(10_000, 1))).to.equal(true);
  });

  it('a complete tmp file (crash before the rename) is discarded too, even if torn', async () => {
    const s = await openStore();
    await s.writeLocal(meta(10, 2), bytesOf(1000, 1));
    await s.beginIncoming(meta(30, 3));
    await s.writeChunk(0, bytesOf(4000, 3));
    const tmp = (await readdir(dir)).find((n) => n.endsWith('.tmp'))!;
    await truncate(join(dir, tmp), 1500);
    const t = await openStore();
    expect(t.latest()).to.deep.equal(meta(10, 2));
    expect(await readdir(dir)).to.deep.equal([snapshotFileName(meta(10, 2))]);
  });

  it('a crash after the rename, before the old file is deleted: the newest wins and the old goes', async () => {
    const s = await openStore();
    await s.writeLocal(meta(10, 2), bytesOf(1000, 1));
    await copyFile(join(dir, snapshotFileName(meta(10, 2))), join(root, 'old.snap'));
    await s.writeLocal(meta(20, 3), bytesOf(3000, 2));
    await copyFile(join(root, 'old.snap'), join(dir, snapshotFileName(meta(10, 2))));
    expect((await readdir(dir)).length).to.equal(2);
    const t = await openStore();
    expect(t.latest()).to.deep.equal(meta(20, 3));
    expect(Buffer.from(await t.readAll()).equals(bytesOf(3000, 2))).to.equal(true);
    expect(await readdir(dir)).to.deep.equal([snapshotFileName(meta(20, 3))]);
  });

  it('finds a flipped data byte: on open, or (verifyOnOpen off) at the end of a sequential read', async () => {
    const s = await openStore();
    const data = bytesOf(200_000, 5);
    await s.writeLocal(meta(10, 2), data);
    await s.close();
    const path = join(dir, snapshotFileName(meta(10, 2)));
    const fh = await open(path, 'r+');
    const { size } = await fh.stat();
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, size - 1000);
    one[0] = one[0]! ^ 0x40;
    await fh.write(one, 0, 1, size - 1000);
    await fh.close();
    expect((await failure(openStore()) as FlotillaError).code).to.equal('CORRUPT');
    const t = await openStore({ verifyOnOpen: false });
    expect(t.read(0, 100_000).length).to.equal(100_000); // not yet at the end
    expect(() => t.read(100_000, 100_000)).to.throw(/CORRUPT/);
    expect((await failure(t.readAll()) as FlotillaError).code).to.equal('CORRUPT');
  });

  it('finds a truncated snapshot, a bad header and a misnamed file', async () => {
    const s = await openStore();
    await s.writeLocal(meta(10, 2), bytesOf(5000));
    await s.close();
    const path = join(dir, snapshotFileName(meta(10, 2)));
    await truncate(path, 4000);
    expect(String(await failure(openStore()))).to.match(/CORRUPT.*header says/);
    await writeFile(path, Buffer.from('FLSNAP01 but not really a header at all'));
    expect(String(await failure(openStore()))).to.match(/CORRUPT.*meta of \d+ bytes/);
    await rm(path);
    const v = await openStore();
    await v.writeLocal(meta(10, 2), bytesOf(5000));
    await v.close();
    const fh = await open(path, 'r+');
    await fh.write(Buffer.from([0x01]), 0, 1, 30); // inside the meta
    await fh.close();
    expect(String(await failure(openStore()))).to.match(/CORRUPT.*header CRC/);
    await rm(path);
    const u = await openStore();
    await u.writeLocal(meta(3, 1), bytesOf(10));
    await u.close();
    await copyFile(join(dir, snapshotFileName(meta(3, 1))), join(dir, snapshotFileName(meta(4, 1))));
    expect(String(await failure(openStore()))).to.match(/CORRUPT.*holds index 3/);
  });

  it('refuses chunks beyond queuedWriteBytesMax with BACKPRESSURE, without losing its place', async () => {
    const s = await openStore({ queuedWriteBytesMax: 1024 });
    await s.beginIncoming(meta(5, 1));
    const first = s.writeChunk(0, bytesOf(600, 1));
    const refused = await failure(s.writeChunk(600, bytesOf(600, 2)));
    expect((refused as FlotillaError).code).to.equal('BACKPRESSURE');
    await first;
    await s.writeChunk(600, bytesOf(600, 2));
    expect(await s.finishIncoming()).to.equal(true);
    expect(Buffer.from(await s.readAll()).equals(Buffer.concat([bytesOf(600, 1), bytesOf(600, 2)]))).to.equal(true);
  });
});
