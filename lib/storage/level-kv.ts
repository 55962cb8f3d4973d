/**
 * LevelKv: the KvStore on LevelDB (the `level` package, i.e. classic-level on Node), one database
 * per node in `<dataDir>/kv`. Keys are utf8, values are the msgpackr bytes of kv.ts (`view`
 * encoding: LevelDB holds the encoded bytes, this class encodes and decodes).
 *
 * Ordering: classic-level runs each write on libuv's thread pool, so two batches issued back to
 * back could reach LevelDB in either order. Raft needs "a later write wins", so writes are chained
 * here: each batch starts once the one before it has finished. This costs nothing that matters —
 * LevelDB serialises writers anyway — and KvBatcher turns many callers into one write per turn.
 *
 * `sync: true` maps to LevelDB's sync write: its log is fsynced before the promise resolves, and
 * everything written before it (synced or not) is durable too, because LevelDB's log is one file
 * appended in order.
 *
 * Lifecycle: `LevelKv.open(dir, settings)` creates the directory and takes LevelDB's lock (a second
 * process opening the same directory fails); `close()` waits for the write chain, then closes.
 */
import { mkdir } from 'node:fs/promises';
import { Level } from 'level';
import { assert } from '../base/assert.js';
import {
  type EncodedOp, type KvEntry, type KvOp, type KvRange, type KvSettings, type KvStore, type WriteOptions,
  checkKey, closedError, decodeValue, encodeOps, normalizeRange, validateKvSettings,
} from './kv.js';

export class LevelKv implements KvStore {
  private closed = false;
  /** The last write issued: the next one starts after it settles. */
  private writeChain: Promise<void> = Promise.resolve();

  private readonly db: Level<string, Uint8Array>;
  readonly kvSettings: KvSettings;
  readonly location: string;

  private constructor(db: Level<string, Uint8Array>, kvSettings: KvSettings, location: string) {
    this.db = db;
    this.kvSettings = kvSettings;
    this.location = location;
  }

  static async open(location: string, settings?: Readonly<Record<string, unknown>>): Promise<LevelKv> {
    const s = validateKvSettings(settings);
    await mkdir(location, { recursive: true });
    const db = new Level<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open({
      createIfMissing: true,
      cacheSize: s.levelCacheBytes,
      writeBufferSize: s.levelWriteBufferBytes,
      maxOpenFiles: s.levelMaxOpenFiles,
    });
    return new LevelKv(db, s, location);
  }

  async get(key: string): Promise<unknown> {
    this.checkOpen();
    checkKey(key, this.kvSettings.keyBytesMax);
    const bytes = await this.db.get(key);
    return bytes === undefined ? undefined : decodeValue(bytes, key);
  }

  async getMany(keys: readonly string[]): Promise<unknown[]> {
    this.checkOpen();
    assert(keys.length <= this.kvSettings.getManyKeysMax, () => `kv: getMany of ${keys.length} keys exceeds getManyKeysMax ${this.kvSettings.getManyKeysMax}`);
    for (const key of keys) checkKey(key, this.kvSettings.keyBytesMax);
    if (keys.length === 0) return [];
    const values = await this.db.getMany([...keys]);
    return values.map((bytes, i) => (bytes === undefined ? undefined : decodeValue(bytes, keys[i]!)));
  }

  async range(range: KvRange): Promise<KvEntry[]> {
    this.checkOpen();
    const b = normalizeRange(range, this.kvSettings.rangeLimitMax);
    if (b.empty) return [];
    const it = this.db.iterator({
      ...(b.gte !== undefined ? { gte: b.gte } : {}),
      ...(b.lt !== undefined ? { lt: b.lt } : {}),
      limit: b.limit,
      reverse: b.reverse,
    });
    try {
      const rows = await it.all();
      return rows.map(([key, bytes]) => [key, decodeValue(bytes, key)] as const);
    } finally {
      // all() closes the iterator; close() again is a no-op, but covers a throw before all().
      await it.close();
    }
  }

  async batch(ops: readonly KvOp[], options: WriteOptions): Promise<void> {
    this.checkOpen();
    return this.writeEncoded(encodeOps(ops, this.kvSettings), options);
  }

  async writeEncoded(encoded: readonly EncodedOp[], options: WriteOptions): Promise<void> {
    this.checkOpen();
    const write = this.writeChain.then(() => (encoded.length === 0 ? undefined : this.db.batch(encoded.map((op) => ({ ...op })), { sync: options.sync })));
    // The chain continues whatever this write's outcome; the caller sees the outcome.
    this.writeChain = write.then(() => undefined, () => undefined);
    return write;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeChain;
    await this.db.close();
  }

  private checkOpen(): void {
    if (this.closed) throw closedError(`kv store ${this.location}`);
  }
}
