/**
 * Partition: one replica of one topic partition on this node — a Raft group (RaftNode) whose log
 * is the partition's segment files ('batch' format: one Kafka record batch v2 per Raft entry).
 *
 *   produce: validate the batch -> propose it (the log gives it its baseOffset and the term as
 *            partitionLeaderEpoch, both outside the CRC) -> settles once committed and applied
 *   fetch:   raw batches from the segment files, from the entry holding the fetch offset up to
 *            the high watermark: only data batches and transaction markers (read()); in a topic
 *            of offset layout 2 Raft's and the broker's own entries take no Kafka offset at all,
 *            so offsets count what clients wrote, with no translation (docs/design.md)
 *   high watermark = the Kafka offset after the last applied (= committed) entry
 *
 * Only the leader serves produce and fetch, and only once it has applied an entry of its own
 * term: before that its applied index may trail the previous leader's, and a high watermark
 * must never go backwards for a client.
 *
 * Idempotent and transactional producers (producer-state.ts, applied in partition-state.ts):
 * every replica computes the producer state in apply, from the log, so the verdict on a batch
 * (append, duplicate, reject) is taken on the log order. The leader checks a batch first against
 * that state plus its own proposals still in flight in its term: a retry of a batch already
 * applied is answered with the original offsets without a new entry, a retry of one in flight
 * waits for it, a gap or an old epoch is refused. Should a duplicate or refused batch still reach
 * the log, apply says so (the proposer gets the original offsets, or the error) and the entry is
 * hidden: it keeps its offsets and reads leave it out (a gap), so no record is ever visible twice. The state is checkpointed into LevelDB
 * (`producers/<group>`, with the applied index and its term) every `checkpointEntries` applied
 * entries and on close, so a restart re-applies only the entries after the checkpoint
 * (RaftNode's `appliedIndex`).
 */
import { EventEmitter } from 'node:events';
import { assert } from '../base/assert.js';
import type { Clock } from '../base/clock.js';
import { FlotillaError } from '../base/errors.js';
import type { TopicConfig } from '../metadata/topic-config.js';
import { ATTRIBUTES_POS, Attributes, BatchHeader, MAX_TIMESTAMP_POS, checkBatch, decodeRecords, isZeroWidth, markUnassigned, updateBatchCrc, writeInt64 } from '../records/batch.js';
import { canDecodeRecords, rawRecords } from '../records/compaction.js';
import { type Membership, type NodeId, roleName } from '../raft/core/types.js';
import type { RaftHost } from '../raft/host.js';
import { type LeaderChange, RaftNode } from '../raft/node.js';
import { type DiskGroupStore, openDiskGroupStore } from '../storage/disk-group-store.js';
import { KvPrefix, type KvStore, keySegment } from '../storage/kv.js';
import type { OffsetLayout } from '../storage/segment-codec.js';
import type { SegmentLogStore } from '../storage/segment-log.js';
import {
  type PartitionApplied, PartitionState, type SavedPartitionState, decodePartitionSnapshot, encodeCleanBatch, encodeLogStartBatch, encodeMarkerBatch,
  producerBatchOf, skippedBatch,
} from './partition-state.js';
import type { ProducerView } from './api.js';
import { type AbortedTxn, type MarkerFacts, type ProducerBatch, entryAfter, verdictFor } from './producer-state.js';
import { type CleanCommand, type CleanState, cleanCommand, retentionTarget, trimBoundary } from './retention.js';

export interface PartitionOptions {
  readonly host: RaftHost;
  readonly kv: KvStore;
  readonly dir: string;
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  /** Initial voters when the group is new (empty: the node joins as a learner added by the leader). */
  readonly bootstrap: Membership;
  readonly fsync: boolean;
  readonly clock: Clock;
  readonly raft?: Readonly<Record<string, unknown>>;
  readonly logSettings?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
  /** Applied entries between two producer-state checkpoints (default CHECKPOINT_ENTRIES). */
  readonly checkpointEntries?: number;
  /** Counters shared by the node's partitions (metrics): duplicates answered, batches refused. */
  readonly producerStats?: ProducerStats;
  /**
   * The topic's effective config when the replica opens: its rolling and flush policy hold from
   * the first entry (ReplicaManager passes it; the log manager applies later changes).
   */
  readonly config?: TopicConfig;
  /**
   * The topic's offset layout (metadata Topic record; default 1, topics from before layouts): 2 =
   * Flotilla's own entries take no Kafka offset (segment-codec.ts). Every replica must use the same.
   */
  readonly offsetLayout?: OffsetLayout;
}

export interface ProducerStats {
  duplicates: number;
  rejected: number;
}

/**
 * Bytes of left-out entries (Partition.read) one fetch reads past before it answers with the tail
 * representation instead (or `maxBytes` when larger): bounds the work of one fetch.
 */
export const GAP_SCAN_BYTES_MIN = 1024 * 1024;

/** Applied entries between two checkpoints of a partition's state into LevelDB. */
export const CHECKPOINT_ENTRIES = 10_000;

export interface PartitionProduce {
  readonly batch: Buffer;
  /** max.message.bytes of the topic. */
  readonly maxBatchBytes: number;
  /** message.timestamp.type = LogAppendTime: the broker stamps the batch. */
  readonly logAppendTime: boolean;
  readonly timeoutMs: number;
  /**
   * 'committed' (acks=all, the default): settle once a majority holds the batch. 'appended'
   * (acks=1): once the leader's own log holds it durably; it may still be lost with the leader.
   */
  readonly ack?: 'committed' | 'appended';
}

export interface PartitionRead {
  readonly records: Buffer | null;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  /** read_committed: the aborted transactions whose markers fall in the returned range. */
  readonly abortedTransactions: readonly AbortedTxn[];
}

/** A leader's proposal of an idempotent batch, not applied yet. */
interface InFlight {
  readonly batch: ProducerBatch;
  readonly applied: Promise<PartitionApplied>;
}

/** The Raft group id of a partition (topic ids are UUIDs: a re-created topic is a new group). */
export function partitionGroupId(topicId: string, partition: number): string {
  return `p/${topicId}/${partition}`;
}

/** The LevelDB key of a partition replica's cleaner checkpoint (lib/broker/cleaner.ts). */
export function cleanerCheckpointKey(groupId: string): string {
  return `${KvPrefix.compaction}${keySegment(groupId)}`;
}

/** The LevelDB key of a partition replica's producer-state checkpoint. */
export function producerCheckpointKey(groupId: string): string {
  return `${KvPrefix.producers}${keySegment(groupId)}`;
}

export class Partition extends EventEmitter {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly groupId: string;
  readonly dir: string;
  readonly node: RaftNode<PartitionApplied>;
  private readonly store: DiskGroupStore;
  private readonly log: SegmentLogStore;
  private readonly clock: Clock;
  private readonly sm: PartitionState;
  private readonly kv: KvStore;
  /** The topic's config (ReplicaManager keeps it current); null until first configured. */
  private config: TopicConfig | null = null;
  /** The leader may serve once it has applied this index (an entry of its own term). */
  private servingFrom = Number.POSITIVE_INFINITY;
  private closed = false;
  private readonly stateKey: string;
  private readonly checkpointEntries: number;
  private readonly logger: ((line: string) => void) | undefined;
  private checkpointedAt: number;
  /** This leader's proposals of idempotent batches in its term, by producer id, oldest first. */
  private readonly inFlight = new Map<number, InFlight[]>();
  /** Counters for metrics: duplicates answered, batches refused (shared by the node's partitions). */
  readonly stats: ProducerStats;

  private readonly resets: { readonly installs: number };
  /** The topic's offset layout (PartitionOptions.offsetLayout). */
  readonly offsetLayout: OffsetLayout;

  private constructor(options: PartitionOptions, node: RaftNode<PartitionApplied>, store: DiskGroupStore, sm: PartitionState, resets: { readonly installs: number }) {
    super();
    this.setMaxListeners(0);
    this.topic = options.topic;
    this.topicId = options.topicId;
    this.partition = options.partition;
    this.groupId = partitionGroupId(options.topicId, options.partition);
    this.dir = options.dir;
    this.node = node;
    this.store = store;
    this.log = store.logStore;
    this.clock = options.clock;
    this.sm = sm;
    this.kv = options.kv;
    this.resets = resets;
    this.stateKey = producerCheckpointKey(this.groupId);
    this.checkpointEntries = options.checkpointEntries ?? CHECKPOINT_ENTRIES;
    this.logger = options.logger;
    this.stats = options.producerStats ?? { duplicates: 0, rejected: 0 };
    this.checkpointedAt = node.appliedIndex;
    // The node joined the host in this same turn: no entry has reached the log yet.
    if (options.config) this.configure(options.config);
    this.offsetLayout = options.offsetLayout ?? 1;
    node.on('leader-change', (change: LeaderChange) => {
      this.servingFrom = change.leaderId === node.nodeId ? node.status().lastIndex : Number.POSITIVE_INFINITY;
      // Proposals of an earlier term are applied (or replaced) before this node serves again.
      this.inFlight.clear();
      this.emit('leader-change', change);
    });
    node.on('applied', () => {
      if (node.appliedIndex - this.checkpointedAt >= this.checkpointEntries) void this.checkpoint();
      this.emit('data');
    });
    node.on('snapshot-installed', (index: number) => {
      this.checkpointedAt = Math.min(this.checkpointedAt, index);
    });
  }

  static async open(options: PartitionOptions): Promise<Partition> {
    const groupId = partitionGroupId(options.topicId, options.partition);
    const resets = { installs: 0 };
    const store = await openDiskGroupStore({
      dir: options.dir,
      bootstrap: options.bootstrap,
      fsync: options.fsync,
      kv: options.kv,
      group: partitionGroupId(options.topicId, options.partition),
      format: 'batch',
      clock: options.clock,
      logSettings: { ...options.logSettings, offsetLayout: options.offsetLayout ?? 1 },
      logger: options.logger,
      // A snapshot continues a log of its own layout: installing one of another would extend this
      // log by another rule (fatal for the host, as a follower's offset check is).
      snapshotNextOffset: (data) => {
        const snap = decodePartitionSnapshot(data);
        const layout = options.offsetLayout ?? 1;
        if ((snap.offsetLayout ?? 1) !== layout) {
          throw new FlotillaError('CORRUPT', `partition snapshot of offset layout ${snap.offsetLayout ?? 1}, this replica has layout ${layout}`);
        }
        return snap.nextOffset;
      },
      // The log is about to be replaced by the leader's: whatever this replica had cleaned is gone.
      beforeInstall: async () => {
        resets.installs++;
        await options.kv.batch([{ type: 'del', key: cleanerCheckpointKey(groupId) }], { sync: true });
      },
    });
    const sm = new PartitionState();
    const saved = await savedStateFor(options, store);
    const node = await RaftNode.create<PartitionApplied>({
      host: options.host,
      groupId: partitionGroupId(options.topicId, options.partition),
      store,
      stateMachine: sm,
      appliedIndex: saved?.applied ?? 0,
      // Clients read from the leader only: followers may learn a commit advance from the next
      // append or heartbeat (saves a message and an answer per produced batch).
      raft: { broadcastCommit: false, ...options.raft },
      // The log is the state: no automatic snapshots. Retention snapshots at the log start
      // (trimLog), so a follower behind the first index installs that and fetches the rest.
      node: { snapshotEntries: 0, snapshotLogBytes: 0, proposeTimeoutMs: 120_000 },
      logger: options.logger,
    });
    // After create restored the snapshot (if any): the checkpoint is exact at its index, which is at
    // or above the snapshot's, and no entry is applied before the host's next cycle.
    if (saved) sm.load(saved);
    return new Partition(options, node, store, sm, resets);
  }

  get isLeader(): boolean {
    return this.node.isLeader;
  }

  get leaderId(): NodeId {
    return this.node.leaderId;
  }

  /** The leader epoch clients see: the Raft term. */
  get leaderEpoch(): number {
    return this.node.term;
  }

  get membership(): Membership {
    return this.node.membership;
  }

  /** Leader, and has applied an entry of its term: its high watermark is current. */
  get serving(): boolean {
    return this.node.isLeader && this.node.appliedIndex >= this.servingFrom;
  }

  highWatermark(): number {
    return this.log.offsetAfter(Math.max(this.node.appliedIndex, this.log.firstIndex() - 1));
  }

  /** The first offset clients may read: the log's start, or where DeleteRecords moved it. */
  logStartOffset(): number {
    return Math.max(this.log.offsetAfter(this.log.firstIndex() - 1), this.sm.logStartOffset);
  }

  /**
   * DeleteRecords: moves the log start offset to `offset` (-1: the high watermark) on every replica
   * through the log itself (a LogStart control batch, which clients skip); settles with the new log
   * start once committed. The whole segments below it go at the next trimLog().
   */
  async deleteRecords(offset: number, timeoutMs: number): Promise<number> {
    this.checkServing();
    const hw = this.highWatermark();
    const target = offset === -1 ? hw : offset;
    if (target < 0 || target > hw) {
      throw new FlotillaError('OFFSET_OUT_OF_RANGE', `cannot delete records below ${target}: the high watermark of ${this.topic}-${this.partition} is ${hw}`);
    }
    if (target <= this.logStartOffset()) return this.logStartOffset();
    return this.proposeControl(encodeLogStartBatch(target, this.offsetLayout), timeoutMs, 'delete-records');
  }

  /** Proposes one of the broker's control batches; settles with its apply result once committed. */
  private async proposeControl(batch: Buffer, timeoutMs: number, what: string): Promise<number> {
    this.markForLog(batch);
    return settle(await this.withTimeout(this.node.propose(batch), timeoutMs, what));
  }

  /**
   * Writes a transaction marker (COMMIT or ABORT) for `marker.producerId`; settles once it is
   * committed and applied. A marker already applied (the same transaction number) is a success.
   */
  async writeMarker(marker: MarkerFacts, timeoutMs: number): Promise<number> {
    this.checkServing();
    return this.proposeControl(encodeMarkerBatch(marker), timeoutMs, 'transaction marker');
  }

  /**
   * Layout 2: marks a batch about to be proposed as carrying no offset yet, so the log gives it
   * one and followers check the one they receive (segment-codec.ts). Layout 1 topics may have
   * replicas of an older version, which would refuse the mark: their followers assign as before.
   */
  private markForLog(batch: Buffer): void {
    if (this.offsetLayout === 2) markUnassigned(batch);
  }

  private async withTimeout<T>(p: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FlotillaError('TIMEOUT', `${what} on ${this.topic}-${this.partition} not committed in ${timeoutMs} ms`)), Math.max(1, timeoutMs));
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- retention, cleaning, flush policy ---------------------------------------------------------

  /** The topic's config changed (or is first known): rolling and flush policy follow at once. */
  configure(config: TopicConfig): void {
    if (config === this.config) return;
    this.config = config;
    this.log.setPolicy({
      segmentBytesMax: config.segmentBytes,
      segmentAgeMsMax: config.segmentMs,
      flushMessages: config.flushMessages,
      flushIntervalMs: config.flushMs,
    });
  }

  get topicConfig(): TopicConfig | null {
    return this.config;
  }

  /**
   * The last stable offset: the first offset of the earliest transaction still open here, or the
   * high watermark when none is. read_committed consumers read below it; the cleaner works only
   * below it (an open transaction's records may still be aborted).
   */
  lastStableOffset(): number {
    return this.sm.producers.lastStableOffset(this.highWatermark());
  }

  /** Producers this replica knows (CLI, metrics, DescribeProducers): id, epoch, last sequence, open transaction. */
  producers(): ProducerView[] {
    return [...this.sm.producers.entries()].map((e) => ({
      producerId: e.producerId,
      epoch: e.epoch,
      lastSequence: e.batches.at(-1)?.lastSeq ?? -1,
      lastOffset: e.batches.at(-1)?.lastOffset ?? -1,
      lastTimestamp: e.lastTimestamp,
      coordinatorEpoch: e.coordinatorEpoch,
      txnFirstOffset: e.txnFirstOffset,
    }));
  }

  /** How many producers this replica knows and how many transactions are open here (metrics). */
  producerCounts(): { producers: number; openTransactions: number } {
    return { producers: this.sm.producers.size, openTransactions: this.sm.producers.openCount };
  }

  /** Open transactions on this partition (producer id, first offset). */
  openTransactions(): { producerId: number; firstOffset: number }[] {
    return this.sm.producers.openTransactions();
  }

  /**
   * The leader applies retention.ms / retention.bytes: it moves the log start offset past the
   * segments they condemn, through the log (a LogStart batch, as DeleteRecords), so that every
   * replica moves at the same point. Resolves with the new log start, or null when nothing moved.
   */
  async enforceRetention(nowMs: number, timeoutMs: number): Promise<number | null> {
    const target = this.retentionDue(nowMs);
    if (target === null) return null;
    return this.proposeControl(encodeLogStartBatch(target, this.offsetLayout), timeoutMs, 'retention');
  }

  /** The log start offset retention asks for now (on the serving leader), or null. */
  private retentionDue(nowMs: number): number | null {
    const cfg = this.config;
    if (!cfg || !cfg.cleanupPolicy.delete || !this.serving) return null;
    return retentionTarget(this.log.segmentInfos(), { delete: true, retentionMs: cfg.retentionMs, retentionBytes: cfg.retentionBytes }, nowMs, this.highWatermark(), this.logStartOffset());
  }

  /** The leader orders a cleaning pass of a compacted topic when one is due (a Clean batch). */
  async orderCleaning(nowMs: number, backoffMs: number, timeoutMs: number): Promise<boolean> {
    const cmd = this.cleaningDue(nowMs, backoffMs);
    if (cmd === null) return false;
    await this.proposeControl(encodeCleanBatch(cmd, nowMs, this.offsetLayout), timeoutMs, 'clean');
    return true;
  }

  /**
   * Whether log maintenance has anything to do on this replica now (retention, a cleaning order,
   * trimming, flush.ms): a cheap synchronous check, so that thousands of idle replicas cost the
   * log manager's round next to nothing.
   */
  maintenanceDue(nowMs: number, cleanerBackoffMs: number): boolean {
    if (this.closed) return false;
    return this.retentionDue(nowMs) !== null || this.cleaningDue(nowMs, cleanerBackoffMs) !== null || this.trimDue() !== null || this.log.flushDue();
  }

  /** The Clean command due now (on the serving leader of a compacted topic), or null. */
  private cleaningDue(nowMs: number, backoffMs: number): CleanCommand | null {
    const cfg = this.config;
    if (!cfg || !cfg.cleanupPolicy.compact || !this.serving) return null;
    return cleanCommand({
      segments: this.log.segmentInfos(),
      cfg: { compact: cfg.cleanupPolicy.compact, minCleanableDirtyRatio: cfg.minCleanableDirtyRatio, minCompactionLagMs: cfg.minCompactionLagMs, maxCompactionLagMs: cfg.maxCompactionLagMs, deleteRetentionMs: cfg.deleteRetentionMs },
      nowMs,
      highWatermark: this.highWatermark(),
      lastStableOffset: this.lastStableOffset(),
      logStartOffset: this.logStartOffset(),
      state: this.sm.clean,
      backoffMs,
      replicatedOffset: this.replicatedOffset(),
    });
  }

  /**
   * The leader's view of the offset below which every replica holds the log: the offset after the
   * lowest match among the members (a member whose position is not known yet, as right after an
   * election, counts as holding nothing above the log start).
   */
  private replicatedOffset(): number {
    const s = this.node.status();
    let low = this.log.lastIndex();
    for (const [id, pr] of s.progress) if (id !== this.node.nodeId) low = Math.min(low, pr.match);
    return this.log.offsetAfter(Math.max(low, this.log.firstIndex() - 1));
  }

  /** What the last Clean command applied here asks of the cleaner. */
  cleanState(): CleanState {
    return this.sm.clean;
  }

  /**
   * Any replica: drops the whole segments below the log start offset, behind a snapshot at the
   * last entry they hold (the snapshot a follower behind the first index installs). Resolves true
   * when the log shrank.
   */
  async trimLog(): Promise<boolean> {
    const boundary = this.trimDue();
    if (boundary === null) return false;
    if (boundary <= this.node.latestSnapshotIndex) {
      // A snapshot is there already (a crash came between it and the deletion).
      this.log.compact(boundary);
      return true;
    }
    return this.node.snapshotAt(boundary, this.sm.snapshotData(this.log.offsetAfter(boundary), this.offsetLayout));
  }

  /** The index below which whole segments can be dropped behind a snapshot now, or null. */
  private trimDue(): number | null {
    if (this.closed) return null;
    const boundary = trimBoundary(this.log.segmentInfos(), this.logStartOffset(), this.node.appliedIndex);
    return boundary === null || boundary < this.log.firstIndex() ? null : boundary;
  }

  /** flush.ms between appends (node-wide fsync off). */
  syncIfDue(): Promise<void> {
    return this.closed ? Promise.resolve() : this.log.syncIfDue();
  }

  /** The segment log (the cleaner rewrites its segments). */
  get segmentLog(): SegmentLogStore {
    return this.log;
  }

  get appliedIndex(): number {
    return this.node.appliedIndex;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The node's KV (the cleaner keeps its checkpoint there). */
  get stateKv(): KvStore {
    return this.kv;
  }

  get checkpointKey(): string {
    return cleanerCheckpointKey(this.groupId);
  }

  /** How many times a snapshot install replaced this replica's log since it opened. */
  get installs(): number {
    return this.resets.installs;
  }

  /** The offset after the last entry in the log (committed or not). */
  logEndOffset(): number {
    return this.log.nextOffset();
  }

  /** Throws unless this replica may serve clients; checks the client's leader epoch (-1: none). */
  checkServing(currentLeaderEpoch = -1): void {
    if (this.closed) throw new FlotillaError('NOT_LEADER', `partition ${this.topic}-${this.partition} is closed here`, { leaderId: -1 });
    if (!this.node.isLeader) {
      throw new FlotillaError('NOT_LEADER', `node ${this.node.nodeId} does not lead ${this.topic}-${this.partition}`, { leaderId: this.node.leaderId });
    }
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch < this.node.term) {
      throw new FlotillaError('FENCED_LEADER_EPOCH', `leader epoch ${currentLeaderEpoch} is older than ${this.node.term}`);
    }
    if (currentLeaderEpoch > this.node.term) {
      throw new FlotillaError('UNKNOWN_LEADER_EPOCH', `leader epoch ${currentLeaderEpoch} is newer than ${this.node.term}`);
    }
    if (!this.serving) throw new FlotillaError('LEADER_NOT_AVAILABLE', `the new leader of ${this.topic}-${this.partition} has not committed in its term yet`);
  }

  /** Appends one record batch; settles with its base offset once committed. */
  async produce(req: PartitionProduce): Promise<number> {
    this.checkServing();
    const batch = req.batch;
    const problem = checkBatch(batch, 0, Math.max(req.maxBatchBytes, 61));
    if (problem) {
      if (problem.problem === 'length' && batch.byteLength > req.maxBatchBytes) {
        throw new FlotillaError('TOO_LARGE', `the batch takes ${batch.byteLength} bytes, more than max.message.bytes (${req.maxBatchBytes})`);
      }
      throw new FlotillaError('CORRUPT', `invalid record batch: ${problem.message}`);
    }
    const header = new BatchHeader(batch);
    if (header.sizeBytes !== batch.byteLength) {
      throw new FlotillaError('INVALID_RECORD', 'a produce request must hold exactly one record batch per partition');
    }
    if (header.isControl) throw new FlotillaError('INVALID_RECORD', 'clients may not write control batches');
    if (header.recordCount <= 0 || header.lastOffsetDelta !== header.recordCount - 1) {
      throw new FlotillaError('INVALID_RECORD', `record count ${header.recordCount} does not match lastOffsetDelta ${header.lastOffsetDelta}`);
    }
    if (this.config?.cleanupPolicy.compact && canDecodeRecords(batch)) {
      const keyless = keylessRecords(batch, req.maxBatchBytes * 64);
      if (keyless.length > 0) throw keylessError(this.topic, this.partition, keyless);
    }
    if (req.logAppendTime) stampLogAppendTime(batch, this.clock.wallMs());
    const facts = producerBatchOf(header);
    if (facts.producerId < 0 && !facts.transactional) return this.propose(batch, req);
    const flights = this.inFlight.get(facts.producerId) ?? [];
    // A retry of a batch this leader has proposed and not applied yet waits for that one.
    const same = flights.find((f) => f.batch.producerEpoch === facts.producerEpoch && f.batch.baseSequence === facts.baseSequence && f.batch.lastSequence === facts.lastSequence);
    if (same) {
      this.stats.duplicates++;
      return settle(await this.withTimeout(same.applied, req.timeoutMs, 'produce'));
    }
    let entry = this.sm.producers.get(facts.producerId);
    for (const f of flights) entry = entryAfter(entry, f.batch, -1, -1, 0);
    const verdict = verdictFor(entry, facts);
    if (verdict.kind === 'duplicate') {
      assert(verdict.firstOffset >= 0, 'a duplicate of a batch in flight is found above');
      this.stats.duplicates++;
      return verdict.firstOffset;
    }
    if (verdict.kind === 'reject') {
      this.stats.rejected++;
      throw new FlotillaError(verdict.code, verdict.message);
    }
    let appended: ((offset: number) => void) | undefined;
    const onAppend = req.ack === 'appended' ? new Promise<number>((resolve) => (appended = resolve)) : undefined;
    this.markForLog(batch);
    const applied = this.node.propose(batch, appended ? () => appended?.(new BatchHeader(batch).baseOffset) : undefined);
    const flight: InFlight = { batch: facts, applied };
    flights.push(flight);
    this.inFlight.set(facts.producerId, flights);
    const done = (): void => {
      const list = this.inFlight.get(facts.producerId);
      const at = list?.indexOf(flight) ?? -1;
      if (list && at >= 0) {
        list.splice(at, 1);
        if (list.length === 0) this.inFlight.delete(facts.producerId);
      }
    };
    applied.then(done, done);
    if (onAppend) return this.withTimeout(Promise.race([onAppend, applied.then(settle)]), req.timeoutMs, 'produce');
    return settle(await this.withTimeout(applied, req.timeoutMs, 'produce'));
  }

  /** A batch of a producer without id: proposed as it is. */
  private async propose(batch: Buffer, req: PartitionProduce): Promise<number> {
    this.markForLog(batch);
    if (req.ack === 'appended') {
      // The log patched baseOffset into this very buffer when it appended the entry.
      const appended = new Promise<number>((resolve, reject) => {
        this.node.propose(batch, () => resolve(new BatchHeader(batch).baseOffset)).catch(reject);
      });
      return this.withTimeout(appended, req.timeoutMs, 'produce');
    }
    return settle(await this.withTimeout(this.node.propose(batch), req.timeoutMs, 'produce'));
  }

  /**
   * Committed batches from the one holding `offset`, at most `maxBytes` (but at least one batch):
   * below the high watermark (read_uncommitted), or below the last stable offset with the aborted
   * transactions of the range (read_committed).
   *
   * Only data batches and transaction markers are served (docs/design.md "Raft index and Kafka
   * offsets"): zero-width entries (layout 2's internal entries) never; entries that hold offsets
   * but no client record (hidden by producer state, emptied by compaction, a layout-1 topic's
   * internal entries) are left out, and the read goes on past them (their bytes do not count
   * against `maxBytes`, up to GAP_SCAN_BYTES_MIN or `maxBytes` per fetch), so an answer starts
   * with the next record. When no record lies between `offset` and the bound (or the scan ran out),
   * the last entry left out is served as one control record at its last offset (skippedBatch):
   * an answer never holds only record-less batches, and every client moves past the gap.
   */
  read(offset: number, maxBytes: number, readCommitted = false): PartitionRead {
    const highWatermark = this.highWatermark();
    const lastStableOffset = this.sm.producers.lastStableOffset(highWatermark);
    const logStartOffset = this.logStartOffset();
    if (offset < logStartOffset || offset > this.logEndOffset()) {
      throw new FlotillaError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside [${logStartOffset}, ${this.logEndOffset()}] of ${this.topic}-${this.partition}`);
    }
    const none = { records: null, highWatermark, lastStableOffset, logStartOffset, abortedTransactions: [] };
    const bound = readCommitted ? lastStableOffset : highWatermark;
    if (offset >= bound) return none;
    const from = this.log.indexOfOffset(offset);
    // The last readable entry: the one before the entry holding the bound (LSO or HW).
    const to = bound >= highWatermark ? this.node.appliedIndex : this.log.indexOfOffset(bound) - 1;
    if (from > to) return none;
    const served: Buffer[] = [];
    let gap: Buffer | null = null;
    let passedBytes = 0;
    const passedMax = Math.max(maxBytes, GAP_SCAN_BYTES_MIN);
    let index = from;
    while (index <= to && served.length === 0 && passedBytes < passedMax) {
      const batches = this.log.readBatches(index, to, maxBytes);
      for (let i = 0; i < batches.length; i++, index++) {
        const batch = batches[i] as Buffer;
        const h = new BatchHeader(batch);
        if (isZeroWidth(h)) continue;
        // Flotilla's own control batches are never transactional; COMMIT/ABORT markers always are.
        if ((h.isControl && !h.isTransactional) || this.sm.producers.isHidden(index)) {
          gap = batch;
          if (served.length === 0) passedBytes += batch.length;
          continue;
        }
        served.push(batch);
      }
    }
    if (served.length === 0) {
      // Every offset in [offset, bound) lies in some entry with a width: one was left out.
      assert(gap !== null, () => `read(${offset}) of ${this.topic}-${this.partition}: entries [${from}, ${to}] hold no offset below ${bound}`);
      served.push(skippedBatch(gap));
    }
    const records = served.length === 1 ? (served[0] as Buffer) : Buffer.concat(served);
    const upper = new BatchHeader(served[served.length - 1] as Buffer).lastOffset + 1;
    const abortedTransactions = readCommitted ? this.sm.producers.abortedIn(offset, upper) : [];
    return { records, highWatermark, lastStableOffset, logStartOffset, abortedTransactions };
  }

  /**
   * The committed batches clients can read, oldest first, each with its header and the log start
   * offset at the time it was read: control batches and hidden entries are skipped, and so are
   * batches wholly below the log start. ListOffsets' scans by timestamp walk this.
   */
  private *visibleBatches(): Generator<{ batch: Buffer; header: BatchHeader; start: number }> {
    let index = this.log.firstIndex();
    const last = this.node.appliedIndex;
    while (index <= last) {
      const batches = this.log.readBatches(index, last, 1 << 20);
      const start = this.logStartOffset();
      for (let i = 0; i < batches.length; i++) {
        const batch = batches[i] as Buffer;
        const header = new BatchHeader(batch);
        if (header.isControl || this.sm.producers.isHidden(index + i) || header.lastOffset < start) continue;
        yield { batch, header, start };
      }
      index += batches.length;
    }
  }

  /** The first committed offset whose batch has a timestamp >= `timestamp` (-1 when none). */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } {
    for (const { header: h, start } of this.visibleBatches()) {
      if (h.maxTimestamp >= timestamp) return { offset: Math.max(h.baseOffset, start), timestamp: h.maxTimestamp };
    }
    return { offset: -1, timestamp: -1 };
  }

  /**
   * The first committed record with the largest timestamp, and that timestamp (ListOffsets -3,
   * KIP-734); -1, -1 when the log holds no record. The batch is found by its maxTimestamp, the
   * record within it by recordOfTimestamp.
   */
  offsetOfMaxTimestamp(): { offset: number; timestamp: number } {
    let best: { batch: Buffer; start: number } | null = null;
    let bestTimestamp = -1;
    for (const { batch, header, start } of this.visibleBatches()) {
      if (best === null || header.maxTimestamp > bestTimestamp) {
        best = { batch, start };
        bestTimestamp = header.maxTimestamp;
      }
    }
    if (best === null) return { offset: -1, timestamp: -1 };
    return { offset: recordOfTimestamp(best.batch, bestTimestamp, best.start), timestamp: bestTimestamp };
  }

  /** Writes the producer state and the applied index into LevelDB (see the file's comment). */
  async checkpoint(): Promise<void> {
    const applied = this.node.appliedIndex;
    if (applied <= this.checkpointedAt && applied > 0) return;
    this.checkpointedAt = applied;
    this.sm.producers.truncateBelow(this.logStartOffset(), this.log.firstIndex());
    const term = applied >= this.log.firstIndex() - 1 ? this.log.term(applied) : -1;
    try {
      await this.kv.batch([{ type: 'put', key: this.stateKey, value: this.sm.save(applied, term) }], { sync: false });
    } catch (err) {
      this.logger?.(`partition ${this.topic}-${this.partition}: checkpoint at ${applied} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  status(): Record<string, unknown> {
    const s = this.node.status();
    return {
      topic: this.topic,
      partition: this.partition,
      role: roleName(s.role),
      leader: s.leader,
      term: s.term,
      commitIndex: s.commit,
      appliedIndex: s.applied,
      lastIndex: s.lastIndex,
      quiesced: s.quiesced,
      highWatermark: this.highWatermark(),
      lastStableOffset: this.lastStableOffset(),
      logEndOffset: this.logEndOffset(),
      producers: this.sm.producers.size,
      openTransactions: this.sm.producers.openTransactions(),
      abortedTransactions: this.sm.producers.abortedCount,
      hiddenEntries: this.sm.producers.hiddenCount,
      logStartOffset: this.logStartOffset(),
      firstIndex: this.log.firstIndex(),
      snapshotIndex: this.node.latestSnapshotIndex,
      segments: this.log.segmentBases().length,
      logBytes: this.log.logBytes(),
      cleanTo: this.sm.clean.x,
      voters: s.membership.voters,
      learners: s.membership.learners,
      followers: [...s.progress].map(([id, p]) => ({ id, match: p.match, next: p.next, state: p.state, lag: Math.max(0, s.lastIndex - p.match) })),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Entries applied after this checkpoint are applied again at the next start: it is a floor.
    await this.checkpoint();
    await this.node.close();
  }

  /** Closes the replica and deletes its data (the topic is gone, or the replica moved away). */
  async destroy(): Promise<void> {
    this.closed = true;
    await this.node.close();
    await this.kv.batch([{ type: 'del', key: this.stateKey }], { sync: true });
    await this.store.destroy(this.dir);
  }

  /**
   * OffsetForLeaderEpoch, on the leader: where leader epoch (= Raft term) `epoch` ends in this log.
   * Kafka's LeaderEpochFileCache.endOffsetFor, read off the Raft log's term runs:
   * - the current term: the log end offset (entries not committed yet included, as Kafka does);
   * - an older one: the largest term <= `epoch` with entries in the log, and the offset after its
   *   last entry (= where the next term starts), found as offsetAfter(last index of term <= epoch):
   *   right whether or not Raft's own entries take Kafka offsets;
   * - older than every term left in the log (retention or DeleteRecords removed it): `epoch` with
   *   the log start offset (Kafka's answer: the data is gone, start from the log start);
   * - -1: undefined (-1, -1), as Kafka;
   * - newer than the current term: UNKNOWN_LEADER_EPOCH. Only a newer leader can have written
   *   such a term, so this node is a deposed leader that has not noticed yet; Kafka answers
   *   undefined here ("should never be hit"), which makes a consumer reset its position, while
   *   the retriable error sends it to the new leader.
   * `currentLeaderEpoch` fences the client as every read does (FENCED_LEADER_EPOCH,
   * UNKNOWN_LEADER_EPOCH); a follower answers NOT_LEADER.
   */
  endOffsetForEpoch(epoch: number, currentLeaderEpoch = -1): { leaderEpoch: number; endOffset: number } {
    this.checkServing(currentLeaderEpoch);
    const term = this.node.term;
    if (epoch < 0) return { leaderEpoch: -1, endOffset: -1 };
    if (epoch === term) return { leaderEpoch: term, endOffset: this.log.nextOffset() };
    if (epoch > term) throw new FlotillaError('UNKNOWN_LEADER_EPOCH', `leader epoch ${epoch} is newer than ${term}, the term of this leader`);
    const last = this.log.lastIndexOfTermAtMost(epoch);
    const start = this.logStartOffset();
    if (last < this.log.firstIndex()) return { leaderEpoch: epoch, endOffset: start };
    const endOffset = this.log.offsetAfter(last);
    // Every record of that term lies below the log start: it is gone, as in Kafka's trimmed cache.
    if (endOffset <= start) return { leaderEpoch: epoch, endOffset: start };
    return { leaderEpoch: this.log.term(last), endOffset };
  }
}

/** The proposer's answer from an applied entry: its offset, or the refusal as an error. */
function settle(applied: PartitionApplied): number {
  if (applied.kind === 'rejected') throw new FlotillaError(applied.code, applied.message);
  return applied.offset;
}

/**
 * The state saved in LevelDB, when it still matches the log: the entry it names is in the log with
 * the same term, and at or above the snapshot (else the snapshot and the log rebuild it). It was
 * applied, so it was committed: the saved commit index (written only with a term or vote change)
 * may trail it, and RaftNode starts its commit index there.
 */
async function savedStateFor(options: PartitionOptions, store: DiskGroupStore): Promise<SavedPartitionState | null> {
  const saved = (await options.kv.get(producerCheckpointKey(partitionGroupId(options.topicId, options.partition)))) as SavedPartitionState | undefined;
  if (saved === undefined) return null;
  const log = store.logStore;
  const snapshotIndex = store.snapshotMeta().index;
  const fits = Number.isSafeInteger(saved.applied) && saved.applied > 0 && saved.applied >= Math.max(log.firstIndex() - 1, snapshotIndex)
    && saved.applied <= log.lastIndex() && log.term(saved.applied) === saved.term
    && typeof saved.producers === 'object' && saved.producers !== null && saved.clean !== undefined;
  if (!fits) {
    options.logger?.(`partition state saved at ${saved.applied} (term ${saved.term}) does not match the log (last index ${log.lastIndex()}, snapshot ${snapshotIndex}): rebuilding it from the log`);
    return null;
  }
  return saved;
}

/**
 * The offset of the batch's first record (at or after `start`) whose timestamp is `timestamp`. A
 * LogAppendTime batch gives every record the same time, and a compressed one is not decoded here:
 * both answer their first offset at or after `start`.
 */
function recordOfTimestamp(batch: Buffer, timestamp: number, start: number): number {
  const h = new BatchHeader(batch);
  const first = Math.max(h.baseOffset, start);
  if ((h.attributes & Attributes.TimestampTypeLogAppend) !== 0 || h.compression !== 0) return first;
  for (const r of decodeRecords(batch)) {
    const offset = h.baseOffset + r.offsetDelta;
    if (offset >= start && h.baseTimestamp + r.timestampDelta === timestamp) return offset;
  }
  return first;
}

/** The indexes within the batch of its records without a key (a compacted topic refuses them). */
function keylessRecords(batch: Buffer, maxBytes: number): number[] {
  const out: number[] = [];
  rawRecords(batch, maxBytes).forEach((r, i) => {
    if (r.key === null) out.push(i);
  });
  return out;
}

/**
 * INVALID_RECORD for a compacted topic's keyless records; details.recordErrors names each one
 * (Produce v8+ answers them as recordErrors, KIP-467).
 */
function keylessError(topic: string, partition: number, indexes: readonly number[]): FlotillaError {
  const message = `compacted topic ${topic} cannot accept a record without a key (${topic}-${partition})`;
  return new FlotillaError('INVALID_RECORD', `${message}: ${indexes.length} record(s) refused`, {
    recordErrors: indexes.map((batchIndex) => ({ batchIndex, message })),
  });
}

/** Sets the timestamp type to LogAppendTime and maxTimestamp to `nowMs`; the CRC covers both. */
function stampLogAppendTime(batch: Buffer, nowMs: number): void {
  batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES_POS) | Attributes.TimestampTypeLogAppend, ATTRIBUTES_POS);
  writeInt64(batch, MAX_TIMESTAMP_POS, nowMs);
  updateBatchCrc(batch);
}
