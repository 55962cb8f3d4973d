/**
 * MemoryKv: the in-memory twin of LevelKv, passing the same conformance suite
 * (spec/storage/kv-conformance.ts). Values are stored encoded, exactly as LevelDB holds them, so a
 * value read back is a fresh copy and anything msgpack cannot carry fails here too. Keys are kept
 * sorted in LevelDB's order (`compareKeys`).
 *
 * Durability is modelled for the simulator and crash tests: a write with `sync: false` is visible
 * at once but only becomes durable with the next sync write (as LevelDB's log behaves when the
 * process survives but the machine does not). `crashImage()` returns a new store holding what a
 * machine crash would have left: the durable writes only.
 */
import { assert } from '../base/assert.js';
import {
  type EncodedOp, type KvEntry, type KvOp, type KvRange, type KvSettings, type KvStore, type WriteOptions,
  checkKey, closedError, compareKeys, decodeValue, encodeOps, normalizeRange, validateKvSettings,
} from './kv.js';

export class MemoryKv implements KvStore {
  readonly kvSettings: KvSettings;
  private readonly values = new Map<string, Uint8Array>();
  /** All keys, sorted by compareKeys. */
  private readonly keys: string[] = [];
  /** What a machine crash keeps: the state as of the last sync write. */
  private readonly durable: Map<string, Uint8Array>;
  /** Writes since the last sync write, in order; past memoryUnsyncedOpsMax they count as written back. */
  private unsynced: EncodedOp[] = [];
  private closed = false;

  constructor(settings?: Readonly<Record<string, unknown>>, durable?: ReadonlyMap<string, Uint8Array>) {
    this.kvSettings = validateKvSettings(settings);
    this.durable = new Map(durable);
    for (const [key, value] of this.durable) this.values.set(key, value);
    this.keys.push(...this.values.keys());
    this.keys.sort(compareKeys);
  }

  async get(key: string): Promise<unknown> {
    this.checkOpen();
    checkKey(key, this.kvSettings.keyBytesMax);
    const bytes = this.values.get(key);
    return bytes === undefined ? undefined : decodeValue(bytes, key);
  }

  async getMany(keys: readonly string[]): Promise<unknown[]> {
    this.checkOpen();
    assert(keys.length <= this.kvSettings.getManyKeysMax, () => `kv: getMany of ${keys.length} keys exceeds getManyKeysMax ${this.kvSettings.getManyKeysMax}`);
    return keys.map((key) => {
      checkKey(key, this.kvSettings.keyBytesMax);
      const bytes = this.values.get(key);
      return bytes === undefined ? undefined : decodeValue(bytes, key);
    });
  }

  async range(range: KvRange): Promise<KvEntry[]> {
    this.checkOpen();
    const b = normalizeRange(range, this.kvSettings.rangeLimitMax);
    if (b.empty) return [];
    const lo = b.gte === undefined ? 0 : this.lowerBound(b.gte);
    const hi = b.lt === undefined ? this.keys.length : this.lowerBound(b.lt);
    const out: KvEntry[] = [];
    if (b.reverse) {
      for (let i = hi - 1; i >= lo && out.length < b.limit; i--) out.push(this.entry(i));
    } else {
      for (let i = lo; i < hi && out.length < b.limit; i++) out.push(this.entry(i));
    }
    return out;
  }

  async batch(ops: readonly KvOp[], options: WriteOptions): Promise<void> {
    this.checkOpen();
    return this.writeEncoded(encodeOps(ops, this.kvSettings), options);
  }

  async writeEncoded(encoded: readonly EncodedOp[], options: WriteOptions): Promise<void> {
    this.checkOpen();
    for (const op of encoded) this.apply(this.values, op, true);
    this.unsynced.push(...encoded);
    if (options.sync || this.unsynced.length > this.kvSettings.memoryUnsyncedOpsMax) {
      for (const op of this.unsynced) this.apply(this.durable, op, false);
      this.unsynced = [];
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** A new store with what a machine crash now would leave behind: the synced writes only. */
  crashImage(): MemoryKv {
    return new MemoryKv(this.kvSettings, this.durable);
  }

  /** Number of keys held (tests). */
  get size(): number {
    return this.keys.length;
  }

  private entry(i: number): KvEntry {
    const key = this.keys[i]!;
    return [key, decodeValue(this.values.get(key)!, key)];
  }

  private apply(map: Map<string, Uint8Array>, op: EncodedOp, index: boolean): void {
    const had = map.has(op.key);
    if (op.type === 'put') {
      map.set(op.key, op.value);
      if (index && !had) this.keys.splice(this.lowerBound(op.key), 0, op.key);
    } else if (had) {
      map.delete(op.key);
      if (index) this.keys.splice(this.lowerBound(op.key), 1);
    }
  }

  /** Index of the first key >= `key`. */
  private lowerBound(key: string): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private checkOpen(): void {
    if (this.closed) throw closedError('kv store');
  }
}
