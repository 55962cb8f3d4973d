/**
 * KvStore: the node's one ordered key-value store (LevelDB on disk, a sorted map in memory), used
 * for Raft hard state and config entries (raft-state-store.ts), and later committed offsets,
 * producer state and compaction checkpoints. Modelled on abstract-level: string keys in byte
 * order, atomic batches, a `sync` flag on writes that maps to LevelDB's synchronous write (fsync
 * of its write-ahead log before the promise resolves), bounded range reads.
 *
 * Keys: UTF-8 strings compared as bytes (equivalently, by Unicode code point; JavaScript's `<`
 * compares UTF-16 units and disagrees above U+FFFF, so the memory twin uses `compareKeys`). Every
 * key starts with one of the domain prefixes in `KvPrefix`, defined here and nowhere else. Keys
 * must be well-formed Unicode (no lone surrogates: UTF-8 cannot carry them) and at most
 * `keyBytesMax` bytes.
 *
 * Values: any msgpack-encodable value, encoded by the one shared `kvPackr` below with
 * `useRecords: false` (plain msgpack maps: the bytes never depend on what was encoded before, and
 * any msgpack reader, of any msgpackr version, decodes them), `moreTypes: false` and
 * `mapsAsObjects: true`. Binary values come back as Uint8Array (Buffer); `undefined` cannot be
 * stored (use `del`). Integers beyond 2^53 should be stored as bigint.
 *
 * Lifecycle: open (LevelKv.open / new MemoryKv) -> get / getMany / range / batch -> close (waits
 * for writes under way, then refuses new calls with CLOSED). Writes are applied in call order:
 * a later batch touching the same key wins even when issued before the earlier one resolved.
 *
 * Group commit across Raft groups is the job of `KvBatcher` (kv-batcher.ts): it wraps a
 * KvStore, gathers the batches issued in one event-loop turn into one write with one sync, and is
 * itself a KvStore, so every user can take either.
 */
import { Packr } from 'msgpackr';
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import { type SettingsOf, validateSettings } from '../base/settings.js';

/** The domains of the KV, one prefix each. Keys are `<prefix><rest>`; prefixes never nest. */
export const KvPrefix = {
  /** Raft state per group: `raft/<group>/hard`, `raft/<group>/snap`, `raft/<group>/conf/<index>`. */
  raft: 'raft/',
  /** Committed consumer-group offsets (applied from __consumer_offsets). */
  offsets: 'offsets/',
  /** Idempotent / transactional producer state per partition. */
  producers: 'producers/',
  /** Transaction coordinator state (applied from __transaction_state). */
  txns: 'txns/',
  /** Log-compaction checkpoints per partition. */
  compaction: 'compaction/',
  /** Node-level facts (node id, cluster id, format version). */
  node: 'node/',
} as const;
export type KvPrefix = (typeof KvPrefix)[keyof typeof KvPrefix];

/**
 * One path segment of a key built from an arbitrary id (a group, a topic): percent-encoded, so it
 * never contains '/', and two different ids never share a prefix of keys.
 */
export function keySegment(id: string): string {
  assert(id.length > 0, 'kv: empty key segment');
  return encodeURIComponent(id);
}

/** Fixed-width decimal for an index or offset, so keys sort in numeric order. */
export function keyIndex(n: number): string {
  assert(Number.isSafeInteger(n) && n >= 0, () => `kv: bad key index ${n}`);
  return n.toString().padStart(16, '0');
}

export const kvSettings = {
  keyBytesMax: { type: 'int', default: 1024, min: 16, max: 64 * 1024, unit: 'bytes', doc: 'longest key (UTF-8 bytes)' },
  valueBytesMax: { type: 'int', default: 4 * 1024 * 1024, min: 1024, max: 256 * 1024 * 1024, unit: 'bytes', doc: 'largest encoded value' },
  batchOpsMax: { type: 'int', default: 100_000, min: 1, max: 10_000_000, unit: 'ops', doc: 'most operations in one call to batch()' },
  rangeLimitMax: { type: 'int', default: 10_000, min: 1, max: 1_000_000, unit: 'entries', doc: 'most entries one range() returns' },
  getManyKeysMax: { type: 'int', default: 10_000, min: 1, max: 1_000_000, unit: 'keys', doc: 'most keys one getMany() reads' },
  levelCacheBytes: { type: 'int', default: 8 * 1024 * 1024, min: 0, max: 2 ** 40, unit: 'bytes', doc: 'LevelDB block cache' },
  levelWriteBufferBytes: { type: 'int', default: 4 * 1024 * 1024, min: 64 * 1024, max: 2 ** 32, unit: 'bytes', doc: 'LevelDB memtable size before it is written out' },
  memoryUnsyncedOpsMax: { type: 'int', default: 100_000, min: 1, max: 10_000_000, unit: 'ops', doc: 'memory twin: unsynced writes kept apart from the durable image before they count as written back (as the OS would)' },
  levelMaxOpenFiles: { type: 'int', default: 200, min: 16, max: 100_000, unit: 'files', doc: 'LevelDB table files kept open' },
} as const;
export type KvSettings = SettingsOf<typeof kvSettings>;

export function validateKvSettings(input?: Readonly<Record<string, unknown>>): KvSettings {
  return validateSettings(kvSettings, input, 'kv');
}

export const batcherSettings = {
  batchOpsMax: { type: 'int', default: 10_000, min: 1, max: 1_000_000, unit: 'ops', doc: 'most operations coalesced into one write (a single caller\'s batch is never split: a larger one goes alone)' },
  batchBytesMax: { type: 'int', default: 16 * 1024 * 1024, min: 1024, max: 2 ** 32, unit: 'bytes', doc: 'most encoded bytes coalesced into one write' },
  queuedBytesMax: { type: 'int', default: 64 * 1024 * 1024, min: 1024, max: 2 ** 40, unit: 'bytes', doc: 'bytes waiting for a write before batch() refuses with BACKPRESSURE' },
} as const;
export type BatcherSettings = SettingsOf<typeof batcherSettings>;

export function validateBatcherSettings(input?: Readonly<Record<string, unknown>>): BatcherSettings {
  return validateSettings(batcherSettings, input, 'kvBatcher', (s, fail) => {
    if (s.queuedBytesMax < s.batchBytesMax) fail('queuedBytesMax', `must be at least batchBytesMax (${s.batchBytesMax})`);
  });
}

export type KvOp =
  | { readonly type: 'put'; readonly key: string; readonly value: unknown }
  | { readonly type: 'del'; readonly key: string };

export interface WriteOptions {
  /** Resolve only once the write is on stable storage (LevelDB's sync write). */
  readonly sync: boolean;
}

/** A range of keys: [max(prefix, gte), min(end of prefix, lt)), at most `limit` entries. */
export interface KvRange {
  readonly prefix?: string;
  readonly gte?: string;
  readonly lt?: string;
  /** At most this many entries (default and cap: the store's `rangeLimitMax`). */
  readonly limit?: number;
  /** Largest keys first. */
  readonly reverse?: boolean;
}

export type KvEntry = readonly [key: string, value: unknown];

/** An op checked and encoded by `encodeOps`: what the stores write. */
export type EncodedOp = { readonly type: 'put'; readonly key: string; readonly value: Uint8Array } | { readonly type: 'del'; readonly key: string };

export interface KvStore {
  /** The limits of the store underneath (a KvBatcher reports its KV's). */
  readonly kvSettings: KvSettings;
  /** The decoded value of `key`, or undefined. */
  get(key: string): Promise<unknown>;
  /** The decoded values of `keys`, in order (undefined where absent); at most `getManyKeysMax` keys. */
  getMany(keys: readonly string[]): Promise<unknown[]>;
  /** Entries of a range in key order (reverse: descending), at most `limit`. */
  range(range: KvRange): Promise<KvEntry[]>;
  /** Applies `ops` atomically, in order (a later op on the same key wins). */
  batch(ops: readonly KvOp[], options: WriteOptions): Promise<void>;
  /** `batch` for ops already checked and encoded by encodeOps with this store's kvSettings. */
  writeEncoded(ops: readonly EncodedOp[], options: WriteOptions): Promise<void>;
  /** Waits for writes under way, then closes; later calls fail with CLOSED. */
  close(): Promise<void>;
}

/**
 * The one codec of KV values: plain msgpack maps (no records), so the bytes depend only on the
 * value and stay readable across msgpackr versions.
 */
export const kvPackr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export function encodeValue(value: unknown): Uint8Array {
  assert(value !== undefined, 'kv: undefined cannot be stored (use del)');
  return kvPackr.pack(value);
}

export function decodeValue(bytes: Uint8Array, key: string): unknown {
  try {
    return kvPackr.unpack(bytes);
  } catch (err) {
    throw new FlotillaError('CORRUPT', `kv value of ${JSON.stringify(key)} does not decode: ${(err as Error).message}`, { key });
  }
}

/** Order of keys as LevelDB sees them (UTF-8 bytes), i.e. by code point. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return i < a.length ? 1 : j < b.length ? -1 : 0;
}

/** The least key greater than every key that starts with `prefix` (undefined: no bound). */
export function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix].map((c) => c.codePointAt(0)!);
  while (points.length > 0) {
    let last = points.pop()!;
    if (last < 0x10ffff) {
      last += 1;
      if (last >= 0xd800 && last <= 0xdfff) last = 0xe000;
      points.push(last);
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}

/** A range reduced to half-open bounds and a checked limit; `empty` when no key can match. */
export interface Bounds {
  readonly gte: string | undefined;
  readonly lt: string | undefined;
  readonly limit: number;
  readonly reverse: boolean;
  readonly empty: boolean;
}

export function normalizeRange(range: KvRange, limitMax: number): Bounds {
  const limit = range.limit ?? limitMax;
  assert(Number.isInteger(limit) && limit >= 1 && limit <= limitMax, () => `kv: range limit ${limit} outside 1..${limitMax}`);
  let gte = range.gte;
  let lt = range.lt;
  if (range.prefix !== undefined && range.prefix !== '') {
    if (gte === undefined || compareKeys(range.prefix, gte) > 0) gte = range.prefix;
    const end = prefixEnd(range.prefix);
    if (end !== undefined && (lt === undefined || compareKeys(end, lt) < 0)) lt = end;
  }
  const empty = gte !== undefined && lt !== undefined && compareKeys(gte, lt) >= 0;
  return { gte, lt, limit, reverse: range.reverse === true, empty };
}

/** In `u` mode a paired surrogate is one code point, so this matches lone surrogates only. */
const loneSurrogate = /[\uD800-\uDFFF]/u;

/** Checks a key against the rules above; a bad key is a programmer error. */
export function checkKey(key: string, keyBytesMax: number): void {
  assert(typeof key === 'string' && !loneSurrogate.test(key), () => `kv: key ${JSON.stringify(key)} is not well-formed Unicode`);
  assert(Buffer.byteLength(key, 'utf8') <= keyBytesMax, () => `kv: key longer than ${keyBytesMax} bytes`);
}

/** Encodes and checks a batch, as both stores do before touching anything. */
export function encodeOps(ops: readonly KvOp[], settings: KvSettings): EncodedOp[] {
  if (ops.length > settings.batchOpsMax) {
    throw new FlotillaError('TOO_LARGE', `kv batch of ${ops.length} ops exceeds batchOpsMax ${settings.batchOpsMax}`);
  }
  return ops.map((op) => {
    checkKey(op.key, settings.keyBytesMax);
    if (op.type === 'del') return { type: 'del', key: op.key };
    const value = encodeValue(op.value);
    if (value.byteLength > settings.valueBytesMax) {
      throw new FlotillaError('TOO_LARGE', `kv value of ${JSON.stringify(op.key)} is ${value.byteLength} bytes, over valueBytesMax ${settings.valueBytesMax}`, { key: op.key });
    }
    return { type: 'put', key: op.key, value };
  });
}

/**
 * Reads a range of any size in pages of `pageSize` entries, so memory stays bounded however many
 * keys match. Writes during the scan may or may not be seen (each page is a fresh read).
 */
export async function* scan(kv: KvStore, range: Omit<KvRange, 'limit'>, pageSize: number): AsyncGenerator<KvEntry> {
  let gte = range.gte;
  let lt = range.lt;
  for (;;) {
    const page = await kv.range({ ...range, gte, lt, limit: pageSize });
    yield* page;
    if (page.length < pageSize) return;
    const lastKey = page[page.length - 1]![0];
    // The least key after lastKey is lastKey + U+0000; the greatest before it is bounded by lt.
    if (range.reverse === true) lt = lastKey;
    else gte = `${lastKey}\u0000`;
  }
}

/** Deletes every key of a range, a page at a time (each page one batch; not atomic as a whole). */
export async function clearRange(kv: KvStore, range: Omit<KvRange, 'limit' | 'reverse'>, options: WriteOptions, pageSize = 1000): Promise<number> {
  let count = 0;
  for (;;) {
    const page = await kv.range({ ...range, limit: pageSize });
    if (page.length === 0) return count;
    await kv.batch(page.map(([key]) => ({ type: 'del', key })), options);
    count += page.length;
    if (page.length < pageSize) return count;
  }
}

/** A closed store's answer to every call. */
export function closedError(what: string): FlotillaError {
  return new FlotillaError('CLOSED', `${what} is closed`);
}
