/**
 * SnapshotStore: the data of one Raft group's snapshots (the application's bytes, possibly large),
 * as files in a directory of the group's own. Two ways in — a snapshot received from the leader in
 * chunks (`beginIncoming` / `writeChunk` / `finishIncoming`) and one the node took itself
 * (`writeLocal`) — and one way out: the latest snapshot, read synchronously in chunks (the Raft
 * core reads through LogReader.readSnapshot) or streamed whole (to restore the state machine).
 *
 * File format, `<index:16 digits>-<term:16 digits>.snap` (numbers big-endian):
 *   0   8 bytes  magic "FLSNAP01"
 *   8   u32      metaLength: bytes of the msgpack meta below
 *   12  u32      dataCrc: CRC-32C of the data
 *   16  u64      dataLength
 *   24  u32      headerCrc: CRC-32C of bytes [0, 24) followed by the meta bytes
 *   28  meta     msgpack { index, term, membership: { voters, learners } } (kv.ts's codec)
 *   28 + metaLength  data
 * The header is checked on open (magic, CRC, file length = header + dataLength, name = meta);
 * the data CRC on open when `verifyOnOpen` is set, by `chunks()` / `readAll()`, and by read()
 * whenever reads cover the data from 0 to its end in order (a leader's transfer to one follower;
 * transfers to two followers at once interleave, and then read() checks nothing rather than
 * raising a false alarm).
 *
 * Crash safety: a snapshot is written to `<name>.<incoming|local>-<n>.tmp`, header last, then fsynced,
 * renamed to its final name (atomic), and the directory fsynced; only then are older snapshots
 * deleted. A crash at any point leaves the old snapshot (tmp not renamed: discarded on open) or the
 * new one (renamed: on open the newest valid `.snap` wins and older ones are deleted), never a mix.
 * A `.snap` that fails its checks is CORRUPT: it was fsynced before its rename, so this is a disk
 * fault, not a crash, and is reported rather than papered over.
 *
 * Lifecycle: `FileSnapshotStore.open(dir, settings)` (creates dir, discards tmp files, picks the
 * latest, opens it for reading) -> reads and writes -> `close()` (discards an incoming snapshot
 * not finished, closes files). One incoming snapshot at a time: `beginIncoming` abandons any other
 * (the leader restarted the transfer). Installs are serialised; a snapshot not newer than the
 * latest (by index) is discarded and reported as not installed (false).
 *
 * Relation to RaftStateStore: the snapshot file is installed first, its SnapshotMeta saved in the
 * KV after. After a crash between the two, the file is newer than the KV's meta: the file is
 * authoritative (the group store adopts `latest()` and drops the log up to it).
 */
import { type FileHandle, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { readSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import { type SettingsOf, validateSettings } from '../base/settings.js';
import type { Membership, SnapshotMeta } from '../raft/core/types.js';
import { crc32c } from '../records/crc32c.js';
import { kvPackr } from './kv.js';

export const snapshotSettings = {
  snapshotBytesMax: { type: 'int', default: 64 * 1024 ** 3, min: 1024, max: 2 ** 50, unit: 'bytes', doc: 'largest snapshot accepted (incoming or local)' },
  readBytesMax: { type: 'int', default: 64 * 1024 * 1024, min: 1024, max: 1024 ** 3, unit: 'bytes', doc: 'largest read() of snapshot data' },
  readAllBytesMax: { type: 'int', default: 1024 ** 3, min: 1024, max: 2 ** 32, unit: 'bytes', doc: 'largest snapshot readAll() returns as one buffer (stream larger ones with chunks())' },
  metaBytesMax: { type: 'int', default: 1024 * 1024, min: 64, max: 64 * 1024 * 1024, unit: 'bytes', doc: 'largest encoded snapshot meta' },
  queuedWriteBytesMax: { type: 'int', default: 64 * 1024 * 1024, min: 1024, max: 2 ** 40, unit: 'bytes', doc: 'chunk bytes accepted but not yet written before writeChunk refuses with BACKPRESSURE' },
  verifyOnOpen: { type: 'bool', default: true, doc: 'check the latest snapshot\'s data CRC when the store opens' },
} as const;
export type SnapshotSettings = SettingsOf<typeof snapshotSettings>;

export function validateSnapshotSettings(input?: Readonly<Record<string, unknown>>): SnapshotSettings {
  return validateSettings(snapshotSettings, input, 'snapshot', (s, fail) => {
    if (s.readAllBytesMax > s.snapshotBytesMax) fail('readAllBytesMax', `must be at most snapshotBytesMax (${s.snapshotBytesMax})`);
  });
}

export interface IncomingState {
  readonly meta: SnapshotMeta;
  /** The offset the next chunk must start at (bytes accepted so far). */
  readonly offset: number;
}

export interface SnapshotStore {
  /** The latest installed snapshot's meta, or null when there is none. */
  latest(): SnapshotMeta | null;
  /** Bytes of the latest snapshot's data (0 when none). */
  size(): number;
  /** Bytes [offset, offset + maxBytes) of the latest snapshot's data, synchronously; short at the end. */
  read(offset: number, maxBytes: number): Uint8Array;
  /** The latest snapshot's data in chunks of at most `chunkBytes`, checked against its CRC. */
  chunks(chunkBytes?: number): AsyncGenerator<Uint8Array>;
  /** The latest snapshot's data in one buffer (at most readAllBytesMax), checked. */
  readAll(): Promise<Uint8Array>;
  /** Starts receiving a snapshot (abandoning any other incoming one). */
  beginIncoming(meta: SnapshotMeta): Promise<void>;
  /** Appends a chunk: `offset` must be exactly the bytes accepted so far. Calls may be pipelined. */
  writeChunk(offset: number, bytes: Uint8Array): Promise<void>;
  /** Makes the incoming snapshot durable and the latest; false if it was not newer (discarded). */
  finishIncoming(): Promise<boolean>;
  /** Discards the incoming snapshot, if any. */
  abortIncoming(): Promise<void>;
  incoming(): IncomingState | null;
  /** Stores a snapshot the node took itself; false if it was not newer than the latest (discarded). */
  writeLocal(meta: SnapshotMeta, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<boolean>;
  close(): Promise<void>;
}

// ---- File format ------------------------------------------------------------------------------

const MAGIC = Buffer.from('FLSNAP01', 'latin1');
const FIXED = 28;

export function snapshotFileName(meta: Pick<SnapshotMeta, 'index' | 'term'>): string {
  return `${String(meta.index).padStart(16, '0')}-${String(meta.term).padStart(16, '0')}.snap`;
}

const SNAP_NAME = /^(\d{16})-(\d{16})\.snap$/;

export function plainMeta(meta: SnapshotMeta): SnapshotMeta {
  return { index: meta.index, term: meta.term, membership: { voters: [...meta.membership.voters], learners: [...meta.membership.learners] } };
}

function checkMeta(meta: SnapshotMeta): void {
  assert(Number.isSafeInteger(meta.index) && meta.index >= 0 && Number.isSafeInteger(meta.term) && meta.term >= 0, () => `snapshot: bad meta ${meta.index}/${meta.term}`);
}

export function encodeHeader(meta: SnapshotMeta, dataLength: number, dataCrc: number): Buffer {
  const metaBytes = kvPackr.pack(plainMeta(meta));
  const h = Buffer.alloc(FIXED + metaBytes.length);
  MAGIC.copy(h, 0);
  h.writeUInt32BE(metaBytes.length, 8);
  h.writeUInt32BE(dataCrc >>> 0, 12);
  h.writeBigUInt64BE(BigInt(dataLength), 16);
  metaBytes.copy(h, FIXED);
  h.writeUInt32BE(crc32c(metaBytes, crc32c(h.subarray(0, 24))), 24);
  return h;
}

function nat(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

function decodeMembership(v: unknown): Membership | null {
  if (typeof v !== 'object' || v === null) return null;
  const { voters, learners } = v as Record<string, unknown>;
  if (!Array.isArray(voters) || !Array.isArray(learners)) return null;
  if (![...voters, ...learners].every((id) => nat(id) !== null)) return null;
  return { voters: voters as number[], learners: learners as number[] };
}

export interface Header {
  readonly meta: SnapshotMeta;
  readonly headerLength: number;
  readonly dataLength: number;
  readonly dataCrc: number;
}

/** Reads and checks a snapshot file's header; CORRUPT (naming `path`) if anything is off. */
async function readHeader(fh: FileHandle, path: string, metaBytesMax: number): Promise<Header> {
  const bad = (why: string): never => {
    throw new FlotillaError('CORRUPT', `snapshot ${path}: ${why}`, { path });
  };
  const fixed = Buffer.alloc(FIXED);
  const { bytesRead } = await fh.read(fixed, 0, FIXED, 0);
  if (bytesRead < FIXED) bad('shorter than its header');
  if (!fixed.subarray(0, 8).equals(MAGIC)) bad('bad magic');
  const metaLength = fixed.readUInt32BE(8);
  if (metaLength > metaBytesMax) bad(`meta of ${metaLength} bytes`);
  const metaBytes = Buffer.alloc(metaLength);
  const got = await fh.read(metaBytes, 0, metaLength, FIXED);
  if (got.bytesRead < metaLength) bad('truncated meta');
  if (crc32c(metaBytes, crc32c(fixed.subarray(0, 24))) !== fixed.readUInt32BE(24)) bad('header CRC mismatch');
  const dataLength = Number(fixed.readBigUInt64BE(16));
  let raw: unknown;
  try {
    raw = kvPackr.unpack(metaBytes);
  } catch {
    bad('meta does not decode');
  }
  const r = raw as Record<string, unknown> | null;
  const index = nat(r?.index);
  const term = nat(r?.term);
  const membership = decodeMembership(r?.membership);
  if (index === null || term === null || membership === null) return bad('meta malformed');
  const headerLength = FIXED + metaLength;
  const { size } = await fh.stat();
  if (size !== headerLength + dataLength) bad(`file is ${size} bytes, header says ${headerLength + dataLength}`);
  return { meta: { index, term, membership }, headerLength, dataLength, dataCrc: fixed.readUInt32BE(12) };
}

// ---- The file store ---------------------------------------------------------------------------

interface Latest {
  readonly header: Header;
  readonly fh: FileHandle;
  readonly name: string;
  /** Sequential-read verification: CRC of data [0, verifiedTo). */
  verifiedTo: number;
  crc: number;
}

interface Writing {
  readonly meta: SnapshotMeta;
  readonly fh: FileHandle;
  readonly tmpName: string;
  readonly headerLength: number;
  /** Bytes accepted (the next chunk's offset). */
  accepted: number;
  /** Bytes written to the file. */
  written: number;
  crc: number;
  /** The last write issued: the next starts after it. */
  chain: Promise<void>;
  failed: unknown;
  aborted: boolean;
}

export class FileSnapshotStore implements SnapshotStore {
  readonly dir: string;
  readonly settings: SnapshotSettings;
  private current: Latest | null = null;
  private writing: Writing | null = null;
  /** Installs (rename + cleanup) run one at a time. */
  private installs: Promise<unknown> = Promise.resolve();
  private closed = false;
  private tmpSeq = 0;

  private constructor(dir: string, settings: SnapshotSettings) {
    this.dir = dir;
    this.settings = settings;
  }

  static async open(dir: string, settings?: Readonly<Record<string, unknown>>): Promise<FileSnapshotStore> {
    const store = new FileSnapshotStore(dir, validateSnapshotSettings(settings));
    await mkdir(dir, { recursive: true });
    const names = await readdir(dir);
    for (const name of names) if (name.endsWith('.tmp')) await unlink(join(dir, name));
    const snaps = names.filter((n) => SNAP_NAME.test(n)).sort();
    const newest = snaps[snaps.length - 1];
    if (newest !== undefined) {
      store.current = await store.openLatest(newest);
      try {
        if (store.settings.verifyOnOpen) {
          for await (const _ of store.chunks()) {
            // chunks() checks the CRC at the end
          }
        }
        for (const old of snaps.slice(0, -1)) await unlink(join(dir, old));
        if (snaps.length > 1) await syncDir(dir);
      } catch (err) {
        await store.close();
        throw err;
      }
    }
    return store;
  }

  latest(): SnapshotMeta | null {
    return this.current?.header.meta ?? null;
  }

  size(): number {
    return this.current?.header.dataLength ?? 0;
  }

  read(offset: number, maxBytes: number): Uint8Array {
    this.checkOpen();
    const cur = this.current;
    assert(cur !== null, 'snapshot: read with no snapshot');
    assert(Number.isSafeInteger(offset) && offset >= 0 && offset <= cur.header.dataLength, () => `snapshot: read at ${offset} outside 0..${cur.header.dataLength}`);
    assert(Number.isSafeInteger(maxBytes) && maxBytes >= 1 && maxBytes <= this.settings.readBytesMax, () => `snapshot: read of ${maxBytes} bytes outside 1..${this.settings.readBytesMax}`);
    const n = Math.min(maxBytes, cur.header.dataLength - offset);
    const buf = Buffer.alloc(n);
    let done = 0;
    while (done < n) {
      const got = readSync(cur.fh.fd, buf, done, n - done, cur.header.headerLength + offset + done);
      if (got === 0) throw new FlotillaError('CORRUPT', `snapshot ${cur.name}: shorter than its header says`);
      done += got;
    }
    this.verifySequential(cur, offset, buf);
    return buf;
  }

  async *chunks(chunkBytes = 1024 * 1024): AsyncGenerator<Uint8Array> {
    this.checkOpen();
    const cur = this.current;
    if (cur === null) return;
    const step = Math.min(chunkBytes, this.settings.readBytesMax);
    let crc = 0;
    for (let offset = 0; offset < cur.header.dataLength; offset += step) {
      const n = Math.min(step, cur.header.dataLength - offset);
      const buf = Buffer.alloc(n);
      const { bytesRead } = await cur.fh.read(buf, 0, n, cur.header.headerLength + offset);
      if (bytesRead < n) throw new FlotillaError('CORRUPT', `snapshot ${cur.name}: short read`);
      crc = crc32c(buf, crc);
      // Checked before the last chunk is handed out, so a consumer never completes on bad data.
      if (offset + n === cur.header.dataLength) this.checkCrc(cur, crc);
      yield buf;
    }
    if (cur.header.dataLength === 0) this.checkCrc(cur, 0);
  }

  async readAll(): Promise<Uint8Array> {
    const size = this.size();
    if (size > this.settings.readAllBytesMax) throw new FlotillaError('TOO_LARGE', `snapshot of ${size} bytes exceeds readAllBytesMax ${this.settings.readAllBytesMax}`);
    const parts: Uint8Array[] = [];
    for await (const c of this.chunks()) parts.push(c);
    return Buffer.concat(parts);
  }

  incoming(): IncomingState | null {
    const w = this.writing;
    return w === null ? null : { meta: w.meta, offset: w.accepted };
  }

  async beginIncoming(meta: SnapshotMeta): Promise<void> {
    this.checkOpen();
    checkMeta(meta);
    await this.abortIncoming();
    this.writing = await this.startWrite(meta, 'incoming');
  }

  writeChunk(offset: number, bytes: Uint8Array): Promise<void> {
    this.checkOpen();
    const w = this.writing;
    assert(w !== null, 'snapshot: writeChunk with no incoming snapshot');
    assert(offset === w.accepted, () => `snapshot: chunk at offset ${offset}, expected ${w.accepted}`);
    if (w.accepted + bytes.byteLength > this.settings.snapshotBytesMax) {
      return Promise.reject(new FlotillaError('TOO_LARGE', `snapshot exceeds snapshotBytesMax ${this.settings.snapshotBytesMax}`));
    }
    if (w.accepted - w.written + bytes.byteLength > this.settings.queuedWriteBytesMax) {
      return Promise.reject(new FlotillaError('BACKPRESSURE', `snapshot: ${w.accepted - w.written} chunk bytes waiting to be written`));
    }
    w.accepted += bytes.byteLength;
    return this.append(w, bytes);
  }

  async finishIncoming(): Promise<boolean> {
    this.checkOpen();
    const w = this.writing;
    assert(w !== null, 'snapshot: finishIncoming with no incoming snapshot');
    this.writing = null;
    return this.install(w);
  }

  async abortIncoming(): Promise<void> {
    const w = this.writing;
    if (w === null) return;
    this.writing = null;
    await this.discard(w);
  }

  async writeLocal(meta: SnapshotMeta, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<boolean> {
    this.checkOpen();
    checkMeta(meta);
    const w = await this.startWrite(meta, 'local');
    try {
      const parts: AsyncIterable<Uint8Array> | Uint8Array[] = data instanceof Uint8Array ? [data] : data;
      for await (const part of parts) {
        if (w.accepted + part.byteLength > this.settings.snapshotBytesMax) {
          throw new FlotillaError('TOO_LARGE', `snapshot exceeds snapshotBytesMax ${this.settings.snapshotBytesMax}`);
        }
        w.accepted += part.byteLength;
        // One part at a time: the producer is paced by the disk, nothing queues.
        await this.append(w, part);
      }
    } catch (err) {
      await this.discard(w);
      throw err;
    }
    return this.install(w);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.abortIncoming();
    await this.installs.catch(() => undefined);
    const cur = this.current;
    this.current = null;
    await cur?.fh.close();
  }

  // ---- internals --------------------------------------------------------------------------------

  private async openLatest(name: string): Promise<Latest> {
    const path = join(this.dir, name);
    const fh = await open(path, 'r');
    try {
      const header = await readHeader(fh, path, this.settings.metaBytesMax);
      if (snapshotFileName(header.meta) !== name) throw new FlotillaError('CORRUPT', `snapshot ${path}: holds index ${header.meta.index} term ${header.meta.term}`);
      return { header, fh, name, verifiedTo: 0, crc: 0 };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private async startWrite(meta: SnapshotMeta, kind: 'incoming' | 'local'): Promise<Writing> {
    // A sequence number keeps two writes of the same snapshot (a local one racing an incoming one) apart.
    const tmpName = `${snapshotFileName(meta)}.${kind}-${++this.tmpSeq}.tmp`;
    const fh = await open(join(this.dir, tmpName), 'w');
    // Reserve the header with the final length: it is rewritten with the data's length and CRC last.
    const header = encodeHeader(meta, 0, 0);
    assert(header.length - FIXED <= this.settings.metaBytesMax, 'snapshot: meta over metaBytesMax');
    header.fill(0, 0, 8); // no magic until the real header is written
    await fh.write(header, 0, header.length, 0);
    return { meta: plainMeta(meta), fh, tmpName, headerLength: header.length, accepted: 0, written: 0, crc: 0, chain: Promise.resolve(), failed: null, aborted: false };
  }

  /** Queues `bytes` after the bytes accepted before them; rejects if any write of `w` failed. */
  private append(w: Writing, bytes: Uint8Array): Promise<void> {
    const copy = Buffer.from(bytes); // the caller may reuse its buffer once we return
    const write = w.chain.then(async () => {
      if (w.failed !== null) throw w.failed;
      if (w.aborted) throw new FlotillaError('CLOSED', 'snapshot: incoming snapshot abandoned');
      let done = 0;
      while (done < copy.length) {
        const { bytesWritten } = await w.fh.write(copy, done, copy.length - done, w.headerLength + w.written + done);
        done += bytesWritten;
      }
      w.crc = crc32c(copy, w.crc);
      w.written += copy.length;
    });
    w.chain = write.catch((err: unknown) => {
      w.failed ??= err;
    });
    return write;
  }

  /** Finishes `w` (header, fsync, rename, dir fsync) and makes it the latest; then deletes the old. */
  private install(w: Writing): Promise<boolean> {
    const run = this.installs.then(async () => {
      try {
        await w.chain;
        if (w.failed !== null) throw w.failed;
        assert(w.written === w.accepted, 'snapshot: install with writes outstanding');
        const cur = this.current;
        if (cur !== null && w.meta.index <= cur.header.meta.index) {
          await this.discard(w);
          return false;
        }
        const header = encodeHeader(w.meta, w.written, w.crc);
        assert(header.length === w.headerLength, 'snapshot: header length changed');
        await w.fh.write(header, 0, header.length, 0);
        await w.fh.sync();
        await w.fh.close();
        const name = snapshotFileName(w.meta);
        await rename(join(this.dir, w.tmpName), join(this.dir, name));
        await syncDir(this.dir);
        // The new snapshot is durable: switch readers to it, then remove the old one.
        const next = await this.openLatest(name);
        next.crc = 0;
        this.current = next;
        if (cur !== null) {
          await cur.fh.close();
          if (cur.name !== name) await unlink(join(this.dir, cur.name));
          await syncDir(this.dir);
        }
        return true;
      } catch (err) {
        await this.discard(w).catch(() => undefined);
        throw err;
      }
    });
    this.installs = run.catch(() => undefined);
    return run;
  }

  private async discard(w: Writing): Promise<void> {
    w.aborted = true;
    await w.chain;
    await w.fh.close().catch(() => undefined);
    await unlink(join(this.dir, w.tmpName)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Folds a read into the running CRC when it continues a read from 0; checks it at the end. */
  private verifySequential(cur: Latest, offset: number, buf: Uint8Array): void {
    if (offset === 0) {
      cur.verifiedTo = 0;
      cur.crc = 0;
    }
    if (offset !== cur.verifiedTo || buf.byteLength === 0) return;
    cur.crc = crc32c(buf, cur.crc);
    cur.verifiedTo += buf.byteLength;
    if (cur.verifiedTo === cur.header.dataLength) this.checkCrc(cur, cur.crc);
  }

  private checkCrc(cur: Latest, crc: number): void {
    if (crc !== cur.header.dataCrc) {
      throw new FlotillaError('CORRUPT', `snapshot ${join(this.dir, cur.name)}: data CRC mismatch`, { path: join(this.dir, cur.name) });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new FlotillaError('CLOSED', `snapshot store ${this.dir} is closed`);
  }
}

/** fsyncs a directory, so a rename or unlink in it is durable. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
