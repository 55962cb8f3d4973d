/**
 * TxnCoordinator: the transaction coordinator for the transactional ids of every
 * `__transaction_state` partition this node leads (the integrator calls `loadPartition` /
 * `unloadPartition` as TxnPartition reports its coordinatorship). Requests for other ids get
 * NOT_COORDINATOR, which sends clients back to FindCoordinator.
 *
 * Every decision is a record replicated through the partition's Raft group before it is acted on
 * or answered (never in-memory-only state: Redpanda #6019):
 *   InitProducerId: a new id gets a producer id from this node's block (epoch 0); a known one gets
 *     its epoch bumped, which fences the earlier instance (an open transaction of it is aborted
 *     first, with a bumped epoch; one whose markers are being written is waited for).
 *   AddPartitionsToTxn / AddOffsetsToTxn: the first one after Empty or Complete* begins the
 *     id's next transaction (Ongoing, its number + 1, its start time).
 *   EndTxn: PrepareCommit / PrepareAbort is written, then answered; the markers follow: a COMMIT or
 *     ABORT control batch to every partition of the transaction (Partition.writeMarker through the
 *     partition's leader) and a txn-marker to every offsets partition (GroupCoordinator), each
 *     retried until written, each carrying the producer id, epoch, this coordinator's epoch (the
 *     partition's Raft term) and the transaction's number; then CompleteCommit / CompleteAbort.
 *     A new coordinator resumes the markers of every transaction it finds in a Prepare state.
 *   Timeouts: an Ongoing transaction older than its timeout is aborted with a bumped epoch.
 * Requests of one transactional id run one at a time, in arrival order.
 */
import { FlotillaError } from '../base/errors.js';
import type { Clock } from '../base/clock.js';
import { validateSettings } from '../base/settings.js';
import type { ProducerIdAndEpoch } from '../broker/api.js';
import { partitionFor } from '../group/records.js';
import type { TimerHandle, Timers } from '../group/timers.js';
import type {
  AddPartitionResult, AddPartitionsInput, EndTxnInput, InitProducerIdInput, TxnCoordinatorApi, TxnListFilter, TxnListResult, TxnLookup, TxnProducer,
  TxnView,
} from './api.js';
import { type TxnMetadata, type TxnRecord, type TxnState, type TxnTopicPartition, applyTxnRecord, isPreparing, kafkaTxnStates } from './records.js';
import { type TxnCoordinatorSettings, txnCoordinatorSettings } from './settings.js';

const EPOCH_MAX = 32_767;

/** A transaction marker as it is sent to a partition or an offsets partition. */
export interface TxnMarker {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
  readonly txn: number;
}

export type MarkerTarget = { readonly kind: 'partition'; readonly topic: string; readonly partition: number } | { readonly kind: 'offsets'; readonly partition: number };

export interface TxnCoordinatorOptions {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly settings?: Readonly<Record<string, unknown>>;
  /** Partitions of the offsets topic (AddOffsetsToTxn maps a group to one). */
  readonly offsetsTopicPartitions: number;
  /** The current leader of a transaction-state partition, as clients of `listener` reach it; null when none is known (or it has no such listener). */
  readonly locate: (partition: number, listener?: string) => { nodeId: number; host: string; port: number } | null;
  readonly producerIds: { next(): Promise<number> };
  /** Writes one marker; settles once it is committed there (throws when the target's leader cannot take it now). */
  readonly writeMarker: (target: MarkerTarget, marker: TxnMarker) => Promise<void>;
  /** false: UNKNOWN_TOPIC_OR_PARTITION. */
  readonly partitionExists?: (topic: string, partition: number) => boolean;
  /** The topic no longer exists: its markers are given up. */
  readonly topicExists?: (topic: string) => boolean;
  readonly logger?: (line: string) => void;
}

/** What the coordinator holds of one loaded transaction-state partition. */
export interface TxnShardSource {
  readonly log: { append(records: readonly TxnRecord[]): Promise<void> };
  readonly state: TxnState;
  /** The partition's current Raft term: the coordinator epoch in markers. */
  readonly leaderEpoch: number;
}

interface Shard {
  readonly partition: number;
  readonly source: TxnShardSource;
  readonly coordinatorEpoch: number;
}

function fail(code: ConstructorParameters<typeof FlotillaError>[0], message: string): never {
  throw new FlotillaError(code, message);
}

export class TxnCoordinator implements TxnCoordinatorApi {
  readonly settings: TxnCoordinatorSettings;
  private readonly options: TxnCoordinatorOptions;
  private readonly shards = new Map<number, Shard>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Completions (markers being written) by transactional id. */
  private readonly completing = new Map<string, Promise<void>>();
  private abortTimer: TimerHandle | null = null;
  /** Counters for metrics. */
  readonly stats = { begun: 0, committed: 0, aborted: 0, timedOut: 0, fenced: 0, markers: 0, markerRetries: 0 };

  constructor(options: TxnCoordinatorOptions) {
    this.options = options;
    this.settings = validateSettings(txnCoordinatorSettings, options.settings, 'transactions');
  }

  partitionFor(transactionalId: string): number {
    return partitionFor(transactionalId, this.settings.transactionStatePartitions);
  }

  // ---- partitions (the integrator's side) ---------------------------------------------------

  loadPartition(partition: number, source: TxnShardSource): void {
    if (this.shards.has(partition)) return;
    const shard: Shard = { partition, source, coordinatorEpoch: source.leaderEpoch };
    this.shards.set(partition, shard);
    this.log(`transactions: loaded transaction-state partition ${partition} (${source.state.txns.size} ids, coordinator epoch ${shard.coordinatorEpoch})`);
    for (const m of source.state.txns.values()) if (isPreparing(m)) void this.complete(shard, m.transactionalId);
    this.scheduleAbortCheck();
  }

  unloadPartition(partition: number): void {
    if (!this.shards.delete(partition)) return;
    this.log(`transactions: unloaded transaction-state partition ${partition}`);
    if (this.shards.size === 0) {
      this.abortTimer?.cancel();
      this.abortTimer = null;
    }
  }

  loadedPartitions(): number[] {
    return [...this.shards.keys()].sort((a, b) => a - b);
  }

  close(): void {
    for (const p of [...this.shards.keys()]) this.unloadPartition(p);
  }

  /** Every transactional id of the loaded partitions (CLI, metrics). */
  transactions(): TxnView[] {
    const out: TxnView[] = [];
    for (const shard of this.shards.values()) {
      for (const m of shard.source.state.txns.values()) out.push({ ...m, statePartition: shard.partition, coordinatorEpoch: shard.coordinatorEpoch });
    }
    return out.sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : 1));
  }

  // ---- TxnCoordinatorApi ----------------------------------------------------------------------

  listTransactions(filter: TxnListFilter): TxnListResult {
    const known = new Set(kafkaTxnStates);
    const unknownStates = filter.states.filter((s) => !known.has(s));
    const states = new Set(filter.states);
    const producerIds = new Set(filter.producerIds);
    const now = this.options.clock.wallMs();
    const transactions = this.transactions()
      .filter((t) => (producerIds.size === 0 || producerIds.has(t.producerId))
        && (states.size === 0 || states.has(t.state))
        && (filter.durationMs < 0 || now - t.startMs > filter.durationMs))
      .map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, state: t.state }));
    return { unknownStates, transactions };
  }

  describeTransaction(transactionalId: string): TxnView {
    if (transactionalId === '') fail('INVALID_REQUEST', 'a transactional id may not be empty');
    const shard = this.shardOf(transactionalId);
    const m = shard.source.state.txns.get(transactionalId);
    if (m === undefined) fail('TRANSACTIONAL_ID_NOT_FOUND', `no transactional id ${transactionalId}`);
    return { ...m, statePartition: shard.partition, coordinatorEpoch: shard.coordinatorEpoch };
  }

  coordinatorFor(transactionalId: string, listener?: string): TxnLookup {
    const partition = this.partitionFor(transactionalId);
    const at = this.options.locate(partition, listener);
    if (at === null) return { error: 'COORDINATOR_NOT_AVAILABLE', message: `transaction-state partition ${partition} has no leader right now` };
    return { error: null, ...at };
  }

  async initProducerId(input: InitProducerIdInput): Promise<ProducerIdAndEpoch> {
    const id = input.transactionalId;
    if (id === '') fail('INVALID_REQUEST', 'a transactional id may not be empty');
    if (!Number.isInteger(input.transactionTimeoutMs) || input.transactionTimeoutMs <= 0 || input.transactionTimeoutMs > this.settings.transactionMaxTimeoutMs) {
      fail('INVALID_TRANSACTION_TIMEOUT', `transaction timeout ${input.transactionTimeoutMs} ms is outside 1..${this.settings.transactionMaxTimeoutMs} ms`);
    }
    const shard = this.shardOf(id);
    return this.exclusive(id, async () => {
      let m = shard.source.state.txns.get(id);
      if (m !== undefined && input.producerId >= 0 && (input.producerId !== m.producerId || input.producerEpoch !== m.producerEpoch)) {
        // KIP-360: a producer that names its id and epoch must still be the current one.
        fail('PRODUCER_FENCED', `transactional id ${id} is held by producer ${m.producerId} epoch ${m.producerEpoch}`);
      }
      if (m !== undefined && m.state === 'Ongoing') {
        // An earlier instance left a transaction open: abort it with a bumped epoch (fencing it).
        this.stats.fenced++;
        await this.prepare(shard, m, false, Math.min(m.producerEpoch + 1, EPOCH_MAX));
        m = shard.source.state.txns.get(id);
      }
      if (m !== undefined && isPreparing(m)) {
        await this.complete(shard, id);
        m = shard.source.state.txns.get(id);
        if (m !== undefined && isPreparing(m)) fail('CONCURRENT_TRANSACTIONS', `the last transaction of ${id} is still completing`);
      }
      let producerId: number;
      let producerEpoch: number;
      if (m === undefined || m.producerEpoch >= EPOCH_MAX - 1) {
        producerId = await this.options.producerIds.next();
        producerEpoch = 0;
      } else {
        producerId = m.producerId;
        producerEpoch = m.producerEpoch + 1;
      }
      const now = this.options.clock.wallMs();
      await this.write(shard, {
        transactionalId: id, producerId, producerEpoch, timeoutMs: input.transactionTimeoutMs, state: m === undefined ? 'Empty' : m.state,
        partitions: m?.partitions ?? [], offsetsPartitions: m?.offsetsPartitions ?? [], txn: m?.txn ?? -1, startMs: m?.startMs ?? now, updateMs: now,
      });
      return { producerId, producerEpoch };
    });
  }

  async addPartitions(input: AddPartitionsInput): Promise<AddPartitionResult[]> {
    const unknown = input.partitions.filter((p) => this.options.partitionExists !== undefined && !this.options.partitionExists(p.topic, p.partition));
    if (unknown.length > 0) {
      return input.partitions.map((p) => ({
        ...p,
        error: unknown.includes(p)
          ? new FlotillaError('UNKNOWN_TOPIC', `unknown topic-partition ${p.topic}-${p.partition}`)
          : new FlotillaError('INVALID_REQUEST', 'not attempted: another partition of the request is unknown', { operationNotAttempted: true }),
      }));
    }
    await this.extend(input, input.partitions, []);
    return input.partitions.map((p) => ({ ...p, error: null }));
  }

  async verifyPartitions(input: AddPartitionsInput): Promise<AddPartitionResult[]> {
    const m = this.current(this.shardOf(input.transactionalId), input);
    const have = new Set((m.state === 'Ongoing' ? m.partitions : []).map((p) => `${p.topic}\u0000${p.partition}`));
    return input.partitions.map((p) => ({
      ...p,
      error: have.has(`${p.topic}\u0000${p.partition}`)
        ? null
        : new FlotillaError('INVALID_TXN_STATE', `${p.topic}-${p.partition} is not in the open transaction of ${input.transactionalId}`),
    }));
  }

  async addOffsets(input: TxnProducer & { readonly groupId: string }): Promise<void> {
    if (input.groupId === '') fail('INVALID_REQUEST', 'a group id may not be empty');
    await this.extend(input, [], [partitionFor(input.groupId, this.options.offsetsTopicPartitions)]);
  }

  async endTxn(input: EndTxnInput): Promise<void> {
    const id = input.transactionalId;
    const shard = this.shardOf(id);
    await this.exclusive(id, async () => {
      const m = this.current(shard, input);
      const done = input.commit ? 'CompleteCommit' : 'CompleteAbort';
      const preparing = input.commit ? 'PrepareCommit' : 'PrepareAbort';
      if (m.state === done) return; // a retry of an EndTxn that went through
      if (m.state === preparing) fail('CONCURRENT_TRANSACTIONS', `the transaction of ${id} is completing`);
      if (m.state !== 'Ongoing') fail('INVALID_TXN_STATE', `cannot ${input.commit ? 'commit' : 'abort'} the transaction of ${id}: it is ${m.state}`);
      await this.prepare(shard, m, input.commit, m.producerEpoch, false);
    });
  }

  /**
   * Aborts `transactionalId`'s open transaction now (an operator's `flotilla transactions abort`):
   * with a bumped epoch, as a timeout does; a transaction caught completing is completed.
   */
  async abort(transactionalId: string): Promise<TxnMetadata> {
    const shard = this.shardOf(transactionalId);
    await this.exclusive(transactionalId, async () => {
      const m = shard.source.state.txns.get(transactionalId);
      if (m === undefined) fail('INVALID_REQUEST', `no transactional id ${transactionalId}`);
      if (m.state === 'Ongoing') await this.prepare(shard, m, false, Math.min(m.producerEpoch + 1, EPOCH_MAX));
      else if (isPreparing(m)) await this.complete(shard, transactionalId);
    });
    return shard.source.state.txns.get(transactionalId)!;
  }

  // ---- internals ----------------------------------------------------------------------------

  /** AddPartitionsToTxn / AddOffsetsToTxn: begins the next transaction or extends the open one. */
  private async extend(input: TxnProducer, partitions: readonly TxnTopicPartition[], offsetsPartitions: readonly number[]): Promise<void> {
    const id = input.transactionalId;
    const shard = this.shardOf(id);
    await this.exclusive(id, async () => {
      const m = this.current(shard, input);
      if (isPreparing(m)) fail('CONCURRENT_TRANSACTIONS', `the last transaction of ${id} is still completing`);
      const ongoing = m.state === 'Ongoing';
      const have = new Set((ongoing ? m.partitions : []).map((p) => `${p.topic}\u0000${p.partition}`));
      const haveOffsets = new Set(ongoing ? m.offsetsPartitions : []);
      const newParts = partitions.filter((p) => !have.has(`${p.topic}\u0000${p.partition}`));
      const newOffsets = offsetsPartitions.filter((p) => !haveOffsets.has(p));
      if (ongoing && newParts.length === 0 && newOffsets.length === 0) return;
      const now = this.options.clock.wallMs();
      if (!ongoing) this.stats.begun++;
      await this.write(shard, {
        ...m,
        state: 'Ongoing',
        partitions: [...(ongoing ? m.partitions : []), ...newParts],
        offsetsPartitions: [...(ongoing ? m.offsetsPartitions : []), ...newOffsets],
        txn: ongoing ? m.txn : m.txn + 1,
        startMs: ongoing ? m.startMs : now,
        updateMs: now,
      });
    });
  }

  /** The id's metadata, checked against the producer that sends the request. */
  private current(shard: Shard, p: TxnProducer): TxnMetadata {
    const m = shard.source.state.txns.get(p.transactionalId);
    if (m === undefined || m.producerId !== p.producerId) {
      fail('INVALID_PRODUCER_ID_MAPPING', `producer ${p.producerId} does not hold transactional id ${p.transactionalId}`);
    }
    if (p.producerEpoch !== m.producerEpoch) {
      fail('PRODUCER_FENCED', `producer ${p.producerId} epoch ${p.producerEpoch} of ${p.transactionalId} is fenced by epoch ${m.producerEpoch}`);
    }
    return m;
  }

  /** Writes the decision (Prepare*), then writes the markers (awaited unless `wait` is false). */
  private async prepare(shard: Shard, m: TxnMetadata, commit: boolean, producerEpoch: number, wait = true): Promise<void> {
    await this.write(shard, { ...m, producerEpoch, state: commit ? 'PrepareCommit' : 'PrepareAbort', updateMs: this.options.clock.wallMs() });
    const completion = this.complete(shard, m.transactionalId);
    if (wait) await completion;
  }

  /** Writes every marker of the id's transaction in a Prepare state, then its Complete state. One run per id. */
  private complete(shard: Shard, id: string): Promise<void> {
    const running = this.completing.get(id);
    if (running) return running;
    const run = this.writeMarkers(shard, id).finally(() => this.completing.delete(id));
    this.completing.set(id, run);
    return run;
  }

  private async writeMarkers(shard: Shard, id: string): Promise<void> {
    const m = shard.source.state.txns.get(id);
    if (m === undefined || !isPreparing(m)) return;
    const commit = m.state === 'PrepareCommit';
    const marker: TxnMarker = { producerId: m.producerId, producerEpoch: m.producerEpoch, commit, coordinatorEpoch: shard.coordinatorEpoch, txn: m.txn };
    const targets: MarkerTarget[] = [
      ...m.partitions.map((p): MarkerTarget => ({ kind: 'partition', topic: p.topic, partition: p.partition })),
      ...m.offsetsPartitions.map((p): MarkerTarget => ({ kind: 'offsets', partition: p })),
    ];
    await Promise.all(targets.map((t) => this.writeOne(shard, t, marker)));
    if (!this.live(shard)) return;
    const now = this.options.clock.wallMs();
    const latest = shard.source.state.txns.get(id);
    if (latest === undefined || latest.state !== m.state || latest.txn !== m.txn) return;
    await this.write(shard, { ...latest, state: commit ? 'CompleteCommit' : 'CompleteAbort', updateMs: now });
    if (commit) this.stats.committed++;
    else this.stats.aborted++;
    this.log(`transactions: ${id} transaction ${m.txn} ${commit ? 'committed' : 'aborted'} (${targets.length} markers)`);
  }

  /** One marker, retried until written (or this node stops coordinating the partition). */
  private async writeOne(shard: Shard, target: MarkerTarget, marker: TxnMarker): Promise<void> {
    let backoff = 50;
    for (;;) {
      if (!this.live(shard)) throw new FlotillaError('NOT_COORDINATOR', `no longer the coordinator of transaction-state partition ${shard.partition}`);
      if (target.kind === 'partition' && this.options.topicExists && !this.options.topicExists(target.topic)) return;
      try {
        await this.options.writeMarker(target, marker);
        this.stats.markers++;
        return;
      } catch (err) {
        if (err instanceof FlotillaError && (err.code === 'INVALID_PRODUCER_EPOCH' || err.code === 'TRANSACTION_COORDINATOR_FENCED')) {
          // The partition has seen a newer epoch or coordinator: this marker is moot there.
          this.log(`transactions: marker for ${describe(target)} refused: ${err.message}`);
          return;
        }
        this.stats.markerRetries++;
        await new Promise((r) => this.options.timers.schedule(backoff, () => r(undefined)));
        backoff = Math.min(backoff * 2, this.settings.markerRetryBackoffMaxMs);
      }
    }
  }

  private async write(shard: Shard, value: TxnMetadata): Promise<void> {
    if (!this.live(shard)) fail('NOT_COORDINATOR', `no longer the coordinator of transaction-state partition ${shard.partition}`);
    const record: TxnRecord = { type: 'txn', value };
    try {
      await shard.source.log.append([record]);
    } catch (err) {
      if (err instanceof FlotillaError && (err.code === 'NOT_LEADER' || err.code === 'PROPOSAL_DROPPED' || err.code === 'CLOSED')) {
        fail('NOT_COORDINATOR', `transaction-state partition ${shard.partition} lost its leader: ${err.message}`);
      }
      if (err instanceof FlotillaError && (err.code === 'TIMEOUT' || err.code === 'BACKPRESSURE' || err.code === 'UNCOMMITTED_LIMIT')) {
        fail('COORDINATOR_NOT_AVAILABLE', `transaction-state partition ${shard.partition}: ${err.message}`);
      }
      throw err;
    }
    applyTxnRecord(shard.source.state, record);
  }

  private scheduleAbortCheck(): void {
    if (this.abortTimer !== null) return;
    this.abortTimer = this.options.timers.schedule(this.settings.transactionAbortCheckIntervalMs, () => {
      this.abortTimer = null;
      void this.abortTimedOut().finally(() => {
        if (this.shards.size > 0) this.scheduleAbortCheck();
      });
    });
  }

  /** Aborts, with a bumped epoch, every Ongoing transaction older than its timeout. */
  async abortTimedOut(): Promise<void> {
    const now = this.options.clock.wallMs();
    for (const shard of [...this.shards.values()]) {
      for (const m of [...shard.source.state.txns.values()]) {
        if (m.state !== 'Ongoing' || now - m.startMs <= m.timeoutMs) continue;
        try {
          await this.exclusive(m.transactionalId, async () => {
            const latest = shard.source.state.txns.get(m.transactionalId);
            if (latest === undefined || latest.state !== 'Ongoing' || latest.txn !== m.txn) return;
            this.stats.timedOut++;
            this.log(`transactions: ${m.transactionalId} transaction ${m.txn} timed out after ${m.timeoutMs} ms: aborting`);
            await this.prepare(shard, latest, false, Math.min(latest.producerEpoch + 1, EPOCH_MAX), false);
          });
        } catch (err) {
          this.log(`transactions: could not abort ${m.transactionalId}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
  }

  private shardOf(id: string): Shard {
    const partition = this.partitionFor(id);
    const shard = this.shards.get(partition);
    if (shard === undefined) fail('NOT_COORDINATOR', `this node does not coordinate transactional id ${id} (transaction-state partition ${partition})`);
    return shard;
  }

  private live(shard: Shard): boolean {
    return this.shards.get(shard.partition) === shard;
  }

  /** Runs `fn` after every earlier request of the same transactional id. */
  private exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return run;
  }

  private log(line: string): void {
    this.options.logger?.(line);
  }
}

function describe(t: MarkerTarget): string {
  return t.kind === 'partition' ? `${t.topic}-${t.partition}` : `offsets partition ${t.partition}`;
}
