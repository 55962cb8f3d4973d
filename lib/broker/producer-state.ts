/**
 * Producer state of one partition: what idempotence and transactions need to know about every
 * producer that wrote to it, computed from the log alone. Pure (no I/O, no clock): every replica
 * applies the same entries in the same order and so holds the same state, and a new leader has it
 * the moment it serves (Partition serves only once it has applied an entry of its own term).
 *
 * Per producer id (Kafka's ProducerStateEntry): the epoch, the sequence ranges and offsets of its
 * last `BATCHES_PER_PRODUCER` batches (Kafka's NUM_BATCHES_TO_RETAIN, which is why clients keep
 * at most 5 requests in flight), the first offset of its open transaction on this partition, the
 * coordinator epoch and transaction number of the last marker it got.
 * Per partition: the aborted transactions (producer id, first offset, marker offset), and the
 * Raft indexes of entries that reached the log but must never be visible (`hidden`: a duplicate
 * or a rejected batch; served as a Flotilla control batch that clients skip, see Partition.read).
 *
 * `verdict(batch)` says what to do with a data batch: append it, answer it as a duplicate of a
 * batch already in the log (with that batch's offsets: never an error, Redpanda #3039), or reject
 * it (OUT_OF_ORDER_SEQUENCE, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE, INVALID_RECORD). The
 * rules are Kafka's (ProducerAppendInfo.checkSequence / checkProducerEpoch):
 *   - producerId < 0: not idempotent, always appended (KafkaJS writes epoch 0, sequence 0: K5);
 *   - an epoch older than the producer's: INVALID_PRODUCER_EPOCH (fenced);
 *   - the same epoch and the same first and last sequence as a cached batch: a duplicate;
 *   - the same epoch: the first sequence must follow the last one (wrapping at INT32_MAX), else
 *     OUT_OF_ORDER_SEQUENCE; a newer epoch must start at sequence 0;
 *   - an unknown producer (never seen, or evicted) may start at any sequence.
 * Markers (`applyMarker`) end the producer's open transaction, record an abort, and are refused
 * when older than the producer's epoch or coordinator epoch, or when their transaction number is
 * not newer than the last marker's: a marker names exactly the transaction it ends, so a delayed
 * retry of one never ends the next (the KIP-890 / Bufstream problem, research/reliability.md).
 *
 * Applying is idempotent over a prefix the state already reflects: a partition snapshot carries
 * the state "as of" when it was taken, above its index, and the entries between are applied again
 * after an install. Each producer remembers the last offset applied for it (`seenOffset`); an
 * entry of that producer at or below it is already in the state (`isReflected`) — a genuinely new
 * entry, duplicate or not, always lies above it, since the log's offsets only grow.
 *
 * Bounds, fixed (not settings: every replica must compute the same state): at most
 * `PRODUCERS_MAX` producers per partition; beyond it the least recently written producers without
 * an open transaction are forgotten (they may then start at any sequence, as after Kafka's
 * producer.id.expiration.ms).
 */
import { assert } from '../base/assert.js';

/** Batches remembered per producer (Kafka's NUM_BATCHES_TO_RETAIN). */
export const BATCHES_PER_PRODUCER = 5;
/** Producers remembered per partition (least recently written idle ones go first). */
export const PRODUCERS_MAX = 10_000;

const INT32_MAX = 2 ** 31 - 1;

/** What producer state reads of a data batch's header. */
export interface ProducerBatch {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** baseSequence + lastOffsetDelta, wrapping past INT32_MAX. */
  readonly lastSequence: number;
  readonly transactional: boolean;
  /** The batch's maxTimestamp (DescribeProducers' lastTimestamp); absent: -1. */
  readonly maxTimestamp?: number;
}

export interface CachedBatch {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

export interface ProducerEntry {
  readonly producerId: number;
  readonly epoch: number;
  /** Oldest first, at most BATCHES_PER_PRODUCER. */
  readonly batches: readonly CachedBatch[];
  /** The Raft index of the last entry that changed it (eviction order, deterministic). */
  readonly lastIndex: number;
  /** First offset of the producer's open transaction on this partition; -1 when none. */
  readonly txnFirstOffset: number;
  /** Coordinator epoch of the last marker; -1 before any. */
  readonly coordinatorEpoch: number;
  /** Transaction number (at its coordinator) of the last marker; -1 before any. */
  readonly lastTxn: number;
  /** The last offset of the latest batch or marker of this producer applied. */
  readonly seenOffset: number;
  /** The maxTimestamp of its latest data batch; -1 when unknown (Kafka's ProducerStateEntry.lastTimestamp). */
  readonly lastTimestamp: number;
}

export interface AbortedTxn {
  readonly producerId: number;
  readonly firstOffset: number;
  /** The offset of its ABORT marker. */
  readonly lastOffset: number;
}

export type RejectCode = 'OUT_OF_ORDER_SEQUENCE' | 'INVALID_PRODUCER_EPOCH' | 'INVALID_TXN_STATE' | 'INVALID_RECORD' | 'TRANSACTION_COORDINATOR_FENCED';

export type Verdict =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly firstOffset: number; readonly lastOffset: number }
  | { readonly kind: 'reject'; readonly code: RejectCode; readonly message: string };

const APPEND: Verdict = Object.freeze({ kind: 'append' });

/** A marker (COMMIT or ABORT control batch) as producer state reads it. */
export interface MarkerFacts {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
  /** The transaction's number at its coordinator; -1 when the marker carries none (old writers). */
  readonly txn: number;
}

/** Kafka's DefaultRecordBatch.incrementSequence. */
export function lastSequenceOf(baseSequence: number, lastOffsetDelta: number): number {
  return baseSequence > INT32_MAX - lastOffsetDelta ? lastOffsetDelta - (INT32_MAX - baseSequence) - 1 : baseSequence + lastOffsetDelta;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

/** The verdict on `batch` given the producer's entry (pure). */
export function verdictFor(entry: ProducerEntry | undefined, batch: ProducerBatch): Verdict {
  if (batch.producerId < 0) {
    if (batch.transactional) return reject('INVALID_RECORD', 'a transactional batch needs a producer id');
    return APPEND;
  }
  if (batch.baseSequence < 0 || batch.producerEpoch < 0) {
    return reject('INVALID_RECORD', `producer ${batch.producerId} wrote sequence ${batch.baseSequence} epoch ${batch.producerEpoch}: an idempotent batch needs both`);
  }
  if (entry === undefined) return APPEND;
  if (batch.producerEpoch < entry.epoch) {
    return reject('INVALID_PRODUCER_EPOCH', `producer ${batch.producerId} epoch ${batch.producerEpoch} is older than its current epoch ${entry.epoch}`);
  }
  if (batch.producerEpoch === entry.epoch) {
    for (const b of entry.batches) {
      if (b.firstSeq === batch.baseSequence && b.lastSeq === batch.lastSequence) return { kind: 'duplicate', firstOffset: b.firstOffset, lastOffset: b.lastOffset };
    }
  }
  if (!batch.transactional && entry.txnFirstOffset >= 0) {
    return reject('INVALID_TXN_STATE', `producer ${batch.producerId} has an open transaction here: its writes must be transactional`);
  }
  if (batch.producerEpoch > entry.epoch) {
    if (batch.baseSequence !== 0) {
      return reject('OUT_OF_ORDER_SEQUENCE', `producer ${batch.producerId}: a new epoch ${batch.producerEpoch} must start at sequence 0, not ${batch.baseSequence}`);
    }
    return APPEND;
  }
  const last = entry.batches.at(-1);
  const lastSeq = last === undefined ? -1 : last.lastSeq;
  if (!inSequence(lastSeq, batch.baseSequence)) {
    return reject('OUT_OF_ORDER_SEQUENCE', `producer ${batch.producerId} epoch ${batch.producerEpoch}: sequence ${batch.baseSequence} does not follow ${lastSeq}`);
  }
  return APPEND;
}

/** The entry after appending `batch` at [firstOffset, lastOffset] in entry `index` (pure). */
export function entryAfter(entry: ProducerEntry | undefined, batch: ProducerBatch, firstOffset: number, lastOffset: number, index: number): ProducerEntry {
  const sameEpoch = entry !== undefined && entry.epoch === batch.producerEpoch;
  const kept = sameEpoch ? entry.batches.slice(-(BATCHES_PER_PRODUCER - 1)) : [];
  return {
    producerId: batch.producerId,
    epoch: batch.producerEpoch,
    batches: [...kept, { firstSeq: batch.baseSequence, lastSeq: batch.lastSequence, firstOffset, lastOffset }],
    lastIndex: index,
    txnFirstOffset: batch.transactional && (entry?.txnFirstOffset ?? -1) < 0 ? firstOffset : entry?.txnFirstOffset ?? -1,
    coordinatorEpoch: entry?.coordinatorEpoch ?? -1,
    lastTxn: entry?.lastTxn ?? -1,
    seenOffset: Math.max(lastOffset, entry?.seenOffset ?? -1),
    lastTimestamp: batch.maxTimestamp ?? -1,
  };
}

function reject(code: RejectCode, message: string): Verdict {
  return { kind: 'reject', code, message };
}

/** The checkpoint shape (msgpack-friendly arrays; see `ProducerStateTable.toCheckpoint`). */
export interface ProducerCheckpoint {
  readonly v: 1;
  /**
   * [producerId, epoch, lastIndex, txnFirstOffset, coordinatorEpoch, lastTxn, [firstSeq, lastSeq, firstOffset, lastOffset][], seenOffset,
   * lastTimestamp] (lastTimestamp absent in checkpoints written before it existed: -1)
   */
  readonly producers: readonly (readonly [number, number, number, number, number, number, readonly (readonly [number, number, number, number])[], number, number?])[];
  /** [producerId, firstOffset, lastOffset] */
  readonly aborted: readonly (readonly [number, number, number])[];
  readonly hidden: readonly number[];
}

/** The mutable table one partition's state machine keeps. */
export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();
  /** Open transactions: producer id -> first offset. */
  private readonly open = new Map<number, number>();
  /** In marker order (so by lastOffset). */
  private aborted: AbortedTxn[] = [];
  private readonly hiddenIndexes = new Set<number>();

  get size(): number {
    return this.producers.size;
  }

  /** Transactions open on this partition. */
  get openCount(): number {
    return this.open.size;
  }

  get(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): IterableIterator<ProducerEntry> {
    return this.producers.values();
  }

  verdict(batch: ProducerBatch): Verdict {
    return verdictFor(this.producers.get(batch.producerId), batch);
  }

  /** The producer's entry at `offset` is already in the state (applied again after a snapshot install). */
  isReflected(producerId: number, offset: number): boolean {
    const e = this.producers.get(producerId);
    return e !== undefined && offset <= e.seenOffset;
  }

  /** Records an appended data batch (after `verdict` said 'append'). */
  append(batch: ProducerBatch, firstOffset: number, lastOffset: number, index: number): void {
    if (batch.producerId < 0) return;
    const next = entryAfter(this.producers.get(batch.producerId), batch, firstOffset, lastOffset, index);
    this.put(next);
  }

  /** Applies a COMMIT/ABORT marker at `offset` (entry `index`); a refusal changes nothing. */
  applyMarker(m: MarkerFacts, offset: number, index: number): Verdict {
    const entry = this.producers.get(m.producerId);
    if (entry !== undefined) {
      if (m.producerEpoch < entry.epoch) {
        return reject('INVALID_PRODUCER_EPOCH', `marker of producer ${m.producerId} epoch ${m.producerEpoch} is older than epoch ${entry.epoch}`);
      }
      if (m.coordinatorEpoch < entry.coordinatorEpoch) {
        return reject('TRANSACTION_COORDINATOR_FENCED', `marker of producer ${m.producerId} from coordinator epoch ${m.coordinatorEpoch}, older than ${entry.coordinatorEpoch}`);
      }
      if (m.txn >= 0 && m.txn <= entry.lastTxn) return { kind: 'duplicate', firstOffset: offset, lastOffset: offset };
    }
    const first = entry !== undefined && entry.txnFirstOffset >= 0 ? entry.txnFirstOffset : offset;
    if (!m.commit) this.aborted.push({ producerId: m.producerId, firstOffset: first, lastOffset: offset });
    const sameEpoch = entry !== undefined && entry.epoch === m.producerEpoch;
    this.put({
      producerId: m.producerId,
      epoch: m.producerEpoch,
      batches: sameEpoch ? entry.batches : [],
      lastIndex: index,
      txnFirstOffset: -1,
      coordinatorEpoch: Math.max(m.coordinatorEpoch, entry?.coordinatorEpoch ?? -1),
      lastTxn: m.txn >= 0 ? m.txn : entry?.lastTxn ?? -1,
      seenOffset: Math.max(offset, entry?.seenOffset ?? -1),
      lastTimestamp: entry?.lastTimestamp ?? -1,
    });
    return APPEND;
  }

  /** An entry that reached the log but must never be visible. */
  hide(index: number): void {
    this.hiddenIndexes.add(index);
  }

  isHidden(index: number): boolean {
    return this.hiddenIndexes.size > 0 && this.hiddenIndexes.has(index);
  }

  get hiddenCount(): number {
    return this.hiddenIndexes.size;
  }

  /** The first offset of the earliest open transaction, or `highWatermark` when none is open. */
  lastStableOffset(highWatermark: number): number {
    let lso = highWatermark;
    for (const first of this.open.values()) if (first < lso) lso = first;
    return lso;
  }

  openTransactions(): { producerId: number; firstOffset: number }[] {
    return [...this.open].map(([producerId, firstOffset]) => ({ producerId, firstOffset }));
  }

  /**
   * Aborted transactions a read of [fetchOffset, upperBound) must list (Kafka's rule: the marker
   * at or after fetchOffset, the first offset below upperBound).
   */
  abortedIn(fetchOffset: number, upperBound: number): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    let lo = 0;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.aborted[mid]!.lastOffset >= fetchOffset) hi = mid;
      else lo = mid + 1;
    }
    for (let i = lo; i < this.aborted.length; i++) {
      const a = this.aborted[i]!;
      if (a.firstOffset < upperBound) out.push(a);
    }
    return out;
  }

  get abortedCount(): number {
    return this.aborted.length;
  }

  /** Forgets what lies wholly below the log start (DeleteRecords, retention). */
  truncateBelow(logStartOffset: number, firstIndex: number): void {
    if (this.aborted.length > 0 && this.aborted[0]!.lastOffset < logStartOffset) this.aborted = this.aborted.filter((a) => a.lastOffset >= logStartOffset);
    for (const i of this.hiddenIndexes) if (i < firstIndex) this.hiddenIndexes.delete(i);
  }

  toCheckpoint(): ProducerCheckpoint {
    return {
      v: 1,
      producers: [...this.producers.values()].map((e) => [
        e.producerId, e.epoch, e.lastIndex, e.txnFirstOffset, e.coordinatorEpoch, e.lastTxn,
        e.batches.map((b) => [b.firstSeq, b.lastSeq, b.firstOffset, b.lastOffset] as const), e.seenOffset, e.lastTimestamp,
      ] as const),
      aborted: this.aborted.map((a) => [a.producerId, a.firstOffset, a.lastOffset] as const),
      hidden: [...this.hiddenIndexes].sort((a, b) => a - b),
    };
  }

  /** Forgets everything (a snapshot without producer state). */
  clear(): void {
    this.producers.clear();
    this.open.clear();
    this.aborted = [];
    this.hiddenIndexes.clear();
  }

  /** Replaces the whole table with a checkpoint's (throws on a malformed one). */
  restore(c: ProducerCheckpoint): void {
    assert(c.v === 1 && Array.isArray(c.producers) && Array.isArray(c.aborted) && Array.isArray(c.hidden), 'malformed producer checkpoint');
    this.producers.clear();
    this.open.clear();
    this.hiddenIndexes.clear();
    for (const [producerId, epoch, lastIndex, txnFirstOffset, coordinatorEpoch, lastTxn, batches, seenOffset, lastTimestamp] of c.producers) {
      const cached = batches.map(([firstSeq, lastSeq, firstOffset, lastOffset]: readonly [number, number, number, number]) => ({ firstSeq, lastSeq, firstOffset, lastOffset }));
      this.put({ producerId, epoch, lastIndex, txnFirstOffset, coordinatorEpoch, lastTxn, batches: cached, seenOffset: seenOffset ?? cached.at(-1)?.lastOffset ?? -1, lastTimestamp: lastTimestamp ?? -1 });
    }
    this.aborted = c.aborted.map(([producerId, firstOffset, lastOffset]) => ({ producerId, firstOffset, lastOffset }));
    for (const i of c.hidden) this.hiddenIndexes.add(i);
  }

  private put(e: ProducerEntry): void {
    this.producers.delete(e.producerId);
    this.producers.set(e.producerId, e);
    if (e.txnFirstOffset >= 0) this.open.set(e.producerId, e.txnFirstOffset);
    else this.open.delete(e.producerId);
    if (this.producers.size > PRODUCERS_MAX) this.evict();
  }

  /** Forgets the least recently written producers without an open transaction (insertion order = write order). */
  private evict(): void {
    for (const [id, e] of this.producers) {
      if (this.producers.size <= PRODUCERS_MAX) return;
      if (e.txnFirstOffset < 0) this.producers.delete(id);
    }
  }
}
