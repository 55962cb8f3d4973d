/**
 * KvBatcher: group commit for the KV. Many Raft groups each save their hard state in the same
 * event-loop turn; rather than one LevelDB write (and one fsync) each, the batcher gathers every
 * batch issued during the turn and writes them as ONE batch with ONE sync, then resolves each
 * caller once that write is durable. It is itself a KvStore (reads pass straight through), so a
 * RaftStateStore works on a LevelKv, a MemoryKv or a KvBatcher over either.
 *
 * Rules:
 * - A caller's batch is never split: it is atomic on its own, and lands whole in one write.
 * - Batches are written in call order; a later batch on the same key wins.
 * - A write is synced if any batch in it asked for sync; callers that did not ask resolve at the
 *   same moment (they are durable too, for free).
 * - One write at a time. Batches arriving while a write is under way form the next write, which
 *   starts as soon as the current one finishes (the next turn at the earliest), so a busy node
 *   needs one fsync per write, not one per caller.
 * - Bounded: a write takes at most `batchOpsMax` ops and `batchBytesMax` bytes of callers' batches
 *   (a single batch larger than that goes alone); at most `queuedBytesMax` bytes may wait, beyond
 *   which batch() refuses at once with BACKPRESSURE (retriable).
 * - If the write fails, every caller in it gets the error; later writes still go ahead.
 *
 * Lifecycle: new KvBatcher(kv, settings) -> batch / reads -> close() drains what is queued, then
 * closes the KV underneath (the batcher owns it).
 */
import { FlotillaError } from '../base/errors.js';
import {
  type BatcherSettings, type EncodedOp, type KvEntry, type KvOp, type KvRange, type KvSettings, type KvStore,
  type WriteOptions, closedError, encodeOps, validateBatcherSettings,
} from './kv.js';

interface Pending {
  readonly ops: readonly EncodedOp[];
  readonly sync: boolean;
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export interface BatcherStats {
  /** Writes issued to the KV underneath. */
  writes: number;
  /** Writes issued with sync. */
  syncWrites: number;
  /** Callers' batches written. */
  batches: number;
  /** Batches refused with BACKPRESSURE. */
  refused: number;
}

/** The bytes an op costs against the limits: its key and encoded value, plus LevelDB's framing. */
function opBytes(op: EncodedOp): number {
  return op.key.length + (op.type === 'put' ? op.value.byteLength : 0) + 8;
}

export class KvBatcher implements KvStore {
  readonly settings: BatcherSettings;
  readonly stats: BatcherStats = { writes: 0, syncWrites: 0, batches: 0, refused: 0 };
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private writing = false;
  private scheduled = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private settleIdle: (() => void) | null = null;

  private readonly kv: KvStore;

  constructor(kv: KvStore, settings?: Readonly<Record<string, unknown>>) {
    this.kv = kv;
    this.settings = validateBatcherSettings(settings);
  }

  get kvSettings(): KvSettings {
    return this.kv.kvSettings;
  }

  get(key: string): Promise<unknown> {
    return this.kv.get(key);
  }

  getMany(keys: readonly string[]): Promise<unknown[]> {
    return this.kv.getMany(keys);
  }

  range(range: KvRange): Promise<KvEntry[]> {
    return this.kv.range(range);
  }

  /**
   * Queues `ops` for the next write. They are checked and encoded now, so a bad batch fails alone
   * rather than failing the callers it would have been written with.
   */
  batch(ops: readonly KvOp[], options: WriteOptions): Promise<void> {
    if (this.closed) return Promise.reject(closedError('kv batcher'));
    let encoded: EncodedOp[];
    try {
      encoded = encodeOps(ops, this.kv.kvSettings);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writeEncoded(encoded, options);
  }

  writeEncoded(ops: readonly EncodedOp[], options: WriteOptions): Promise<void> {
    if (this.closed) return Promise.reject(closedError('kv batcher'));
    if (ops.length === 0) return Promise.resolve();
    let bytes = 0;
    for (const op of ops) bytes += opBytes(op);
    if (this.queue.length > 0 && this.queuedBytes + bytes > this.settings.queuedBytesMax) {
      this.stats.refused++;
      return Promise.reject(new FlotillaError('BACKPRESSURE', `kv batcher holds ${this.queuedBytes} bytes (queuedBytesMax ${this.settings.queuedBytesMax})`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, sync: options.sync, bytes, resolve, reject });
      this.queuedBytes += bytes;
      this.schedule();
    });
  }

  /** Writes what is queued, then closes the KV underneath. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.queue.length > 0 || this.writing) {
      this.schedule();
      await this.idle;
    }
    await this.kv.close();
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.queue.length === 0) return;
    this.scheduled = true;
    if (this.settleIdle === null) this.idle = new Promise<void>((r) => (this.settleIdle = r));
    // setImmediate runs after the current turn's I/O callbacks and microtasks: every batch issued
    // in this turn is in the queue by then.
    setImmediate(() => {
      this.scheduled = false;
      void this.writeNext();
    });
  }

  private async writeNext(): Promise<void> {
    const taken: Pending[] = [];
    let ops = 0;
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (taken.length > 0 && (ops + next.ops.length > this.settings.batchOpsMax || bytes + next.bytes > this.settings.batchBytesMax)) break;
      this.queue.shift();
      taken.push(next);
      ops += next.ops.length;
      bytes += next.bytes;
    }
    this.queuedBytes -= bytes;
    const sync = taken.some((p) => p.sync);
    const all: EncodedOp[] = [];
    for (const p of taken) for (const op of p.ops) all.push(op);
    this.writing = true;
    this.stats.writes++;
    if (sync) this.stats.syncWrites++;
    this.stats.batches += taken.length;
    try {
      await this.kv.writeEncoded(all, { sync });
      for (const p of taken) p.resolve();
    } catch (err) {
      for (const p of taken) p.reject(err);
    } finally {
      this.writing = false;
      if (this.queue.length > 0) {
        this.schedule();
      } else {
        const settle = this.settleIdle;
        this.settleIdle = null;
        settle?.();
      }
    }
  }
}
