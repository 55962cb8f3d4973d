/**
 * MetadataStateMachine: the state machine of the metadata Raft group (`__cluster_metadata`) on
 * every node (controller voters and observers alike). It holds the current MetadataImage and the
 * index of the last metadata entry applied, and publishes every change to its subscribers.
 *
 * Entry format: one Raft entry is one BATCH of metadata records, applied atomically:
 *
 *     msgpack [[tag, version, body], ...]        (the shared metadataPackr; records.ts values)
 *
 * `encodeRecordBatch` / `decodeRecordBatch` make and read it. A batch is replayed on a fresh
 * MetadataDelta; only when every record fits is the next image published. A batch with a record
 * that does not fit (which the controller's validation should make impossible) leaves the image
 * as it was on every replica alike — deterministic — and `apply` throws the CORRUPT error, so the
 * proposer learns of it. Never half-applied.
 *
 * Snapshot format (the Raft group's snapshots of this state machine):
 *
 *     msgpack ["flotilla-metadata-sm", 0, appliedIndex, snapshotBytes]
 *
 * where `snapshotBytes` is snapshot.ts `encodeSnapshot(image)` and `appliedIndex` the Raft index of
 * the last metadata entry applied (restore cannot learn it otherwise: `waitForIndex` needs it).
 *
 * Subscribers are called synchronously after each published change, in subscription order, with
 * (image, changes, delta, index); `delta` is null after a snapshot restore (the changes are then
 * computed by comparing the two images, see `diffImages`). A subscriber that throws is logged and
 * does not stop the others.
 */
import { assert } from '../base/assert.js';
import { FlotillaError, isFlotillaError } from '../base/errors.js';
import type { StateMachine } from '../raft/state-machine.js';
import type { MetadataChanges, TopicPartitionRef } from './delta.js';
import { MetadataDelta } from './delta.js';
import { MetadataImage } from './image.js';
import type { MetadataRecord } from './records.js';
import { metadataPackr, recordFromValue, recordToValue } from './records.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';

/** Most records in one metadata entry. */
export const recordBatchRecordsMax = 200_000;
/** Largest encoded metadata entry (a batch of records). */
export const recordBatchBytesMax = 16 * 1024 * 1024;

export function encodeRecordBatch(records: readonly MetadataRecord[]): Buffer {
  assert(records.length > 0, 'encodeRecordBatch: an empty batch');
  if (records.length > recordBatchRecordsMax) {
    throw new FlotillaError('TOO_LARGE', `metadata batch of ${records.length} records exceeds ${recordBatchRecordsMax}`);
  }
  const bytes = metadataPackr.pack(records.map(recordToValue));
  if (bytes.length > recordBatchBytesMax) {
    throw new FlotillaError('TOO_LARGE', `metadata batch of ${bytes.length} bytes exceeds ${recordBatchBytesMax}`);
  }
  return bytes;
}

/** Reads a batch; CORRUPT on anything malformed (a bad record names its field). */
export function decodeRecordBatch(bytes: Uint8Array): MetadataRecord[] {
  if (bytes.length > recordBatchBytesMax) throw new FlotillaError('CORRUPT', `metadata batch of ${bytes.length} bytes exceeds ${recordBatchBytesMax}`);
  let value: unknown;
  try {
    value = metadataPackr.unpack(bytes);
  } catch (err) {
    throw new FlotillaError('CORRUPT', `metadata batch: not msgpack (${(err as Error).message})`);
  }
  if (!Array.isArray(value) || value.length === 0 || value.length > recordBatchRecordsMax) {
    throw new FlotillaError('CORRUPT', 'metadata batch: not a list of 1..recordBatchRecordsMax records');
  }
  return value.map((v: unknown) => recordFromValue(v));
}

/** What `apply` returns: the settled proposal's result. */
export interface MetadataApplyResult {
  /** The Raft index of the entry. */
  readonly index: number;
  /** Records applied. */
  readonly records: number;
}

export type MetadataListener = (image: MetadataImage, changes: MetadataChanges, delta: MetadataDelta | null, index: number) => void;

export interface MetadataStateMachineOptions {
  readonly logger?: (line: string) => void;
  /** Most callers waiting in `waitForIndex` at once (BACKPRESSURE beyond). Default 100,000. */
  readonly maxWaiters?: number;
}

interface IndexWaiter {
  readonly index: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

const SM_MAGIC = 'flotilla-metadata-sm';
const SM_FORMAT = 0;

export class MetadataStateMachine implements StateMachine<MetadataApplyResult> {
  private current: MetadataImage = MetadataImage.EMPTY;
  private applied = 0;
  private readonly listeners: MetadataListener[] = [];
  private readonly waiters = new Set<IndexWaiter>();
  private readonly logger: ((line: string) => void) | undefined;
  private readonly maxWaiters: number;
  readonly stats = { batchesApplied: 0, recordsApplied: 0, batchesRejected: 0, restores: 0 };

  constructor(options: MetadataStateMachineOptions = {}) {
    this.logger = options.logger;
    this.maxWaiters = options.maxWaiters ?? 100_000;
  }

  /** The current image (immutable; hold it as long as you like). */
  image(): MetadataImage {
    return this.current;
  }

  /** The Raft index of the last metadata entry applied (or restored). */
  get appliedIndex(): number {
    return this.applied;
  }

  /** Calls `listener` after every change; returns the function that unsubscribes it. */
  subscribe(listener: MetadataListener): () => void {
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at >= 0) this.listeners.splice(at, 1);
    };
  }

  /** Settles once an entry at or after `index` is applied here; TIMEOUT after `timeoutMs`. */
  waitForIndex(index: number, timeoutMs: number): Promise<void> {
    if (index <= this.applied) return Promise.resolve();
    if (this.waiters.size >= this.maxWaiters) {
      return Promise.reject(new FlotillaError('BACKPRESSURE', `more than ${this.maxWaiters} callers wait for metadata`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: IndexWaiter = {
        index, resolve, reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new FlotillaError('TIMEOUT', `metadata index ${index} not applied in ${timeoutMs} ms (applied: ${this.applied})`));
        }, timeoutMs),
      };
      waiter.timer.unref?.();
      this.waiters.add(waiter);
    });
  }

  apply(command: Uint8Array, index: number): MetadataApplyResult {
    assert(index > this.applied, () => `metadata: apply ${index} after ${this.applied}`);
    let records: MetadataRecord[];
    let delta: MetadataDelta;
    let next: MetadataImage;
    try {
      records = decodeRecordBatch(command);
      delta = new MetadataDelta(this.current).replayAll(records);
      next = delta.apply();
    } catch (err) {
      // Same bytes, same image: every replica rejects this batch alike, and the image stays.
      this.applied = index;
      this.stats.batchesRejected++;
      this.logger?.(`metadata entry ${index} rejected, image unchanged: ${err instanceof Error ? err.message : String(err)}`);
      this.wake();
      if (isFlotillaError(err)) throw err;
      throw new FlotillaError('CORRUPT', `metadata entry ${index}: ${String(err)}`);
    }
    this.current = next;
    this.applied = index;
    this.stats.batchesApplied++;
    this.stats.recordsApplied += records.length;
    this.publish(next, delta.changes(), delta, index);
    return { index, records: records.length };
  }

  snapshot(): Uint8Array {
    return metadataPackr.pack([SM_MAGIC, SM_FORMAT, this.applied, encodeSnapshot(this.current)]);
  }

  restore(data: Uint8Array): void {
    let value: unknown;
    try {
      value = metadataPackr.unpack(data);
    } catch (err) {
      throw new FlotillaError('CORRUPT', `metadata state snapshot: not msgpack (${(err as Error).message})`);
    }
    if (!Array.isArray(value) || value.length !== 4 || value[0] !== SM_MAGIC || value[1] !== SM_FORMAT) {
      throw new FlotillaError('CORRUPT', 'metadata state snapshot: not ["flotilla-metadata-sm", 0, index, snapshot]');
    }
    const index = value[2] as unknown;
    const bytes = value[3] as unknown;
    if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) throw new FlotillaError('CORRUPT', 'metadata state snapshot: bad index');
    if (!(bytes instanceof Uint8Array)) throw new FlotillaError('CORRUPT', 'metadata state snapshot: image is not bytes');
    const next = decodeSnapshot(bytes);
    const previous = this.current;
    this.current = next;
    this.applied = index;
    this.stats.restores++;
    this.publish(next, diffImages(previous, next), null, index);
  }

  /** Fails every waiter (the node is closing). */
  close(): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new FlotillaError('CLOSED', 'metadata state machine is closed'));
    }
    this.waiters.clear();
  }

  private publish(image: MetadataImage, changes: MetadataChanges, delta: MetadataDelta | null, index: number): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(image, changes, delta, index);
      } catch (err) {
        this.logger?.(`metadata subscriber failed at index ${index}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters) {
      if (w.index > this.applied) continue;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve();
    }
  }
}

/** What changed from image `a` to image `b` (as MetadataDelta.changes() would say). */
export function diffImages(a: MetadataImage, b: MetadataImage): MetadataChanges {
  const topicsCreated: string[] = [];
  const topicsDeleted: string[] = [];
  const partitionsChanged: TopicPartitionRef[] = [];
  for (const [id, t] of b.topicsById) {
    const old = a.topicsById.get(id);
    if (old === undefined) topicsCreated.push(id);
    for (const p of t.partitions) {
      const q = old?.partitions[p.partition];
      if (q === undefined || q.leaderId !== p.leaderId || q.leaderEpoch !== p.leaderEpoch || !sameList(q.replicas, p.replicas)) {
        partitionsChanged.push({ topicId: id, topicName: t.name, partition: p.partition });
      }
    }
  }
  for (const id of a.topicsById.keys()) if (!b.topicsById.has(id)) topicsDeleted.push(id);
  const brokersChanged: number[] = [];
  const brokersReincarnated: number[] = [];
  for (const id of new Set([...a.brokers.keys(), ...b.brokers.keys()])) {
    const x = a.brokers.get(id);
    const y = b.brokers.get(id);
    if (x === undefined || y === undefined || JSON.stringify(x) !== JSON.stringify(y)) brokersChanged.push(id);
    if (x !== undefined && y !== undefined && x.incarnationId !== y.incarnationId) brokersReincarnated.push(id);
  }
  const configsChanged: string[] = [];
  for (const key of new Set([...a.configs.keys(), ...b.configs.keys()])) {
    const x = a.configs.get(key);
    const y = b.configs.get(key);
    if ((x?.size ?? 0) !== (y?.size ?? 0) || [...(y ?? [])].some(([k, v]) => x?.get(k) !== v)) configsChanged.push(key);
  }
  const byTp = (x: TopicPartitionRef, y: TopicPartitionRef): number => (x.topicName < y.topicName ? -1 : x.topicName > y.topicName ? 1 : x.partition - y.partition);
  return {
    topicsCreated: topicsCreated.sort(),
    topicsDeleted: topicsDeleted.sort(),
    partitionsChanged: partitionsChanged.sort(byTp),
    brokersChanged: brokersChanged.sort((x, y) => x - y),
    brokersReincarnated: brokersReincarnated.sort((x, y) => x - y),
    configsChanged: configsChanged.sort(),
    producerIdsChanged: a.producerIds.nextProducerId !== b.producerIds.nextProducerId,
    // Cheap and safe: after a restore, any security state at all counts as changed.
    securityChanged: a.acls.size + a.scramCredentials.size + a.clientQuotas.size + b.acls.size + b.scramCredentials.size + b.clientQuotas.size > 0,
  };
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
