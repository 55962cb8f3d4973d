/**
 * Partition: one replica of one topic partition on this node — a Raft group (RaftNode) whose log
 * is the partition's segment files ('batch' format: one Kafka record batch v2 per Raft entry).
 *
 *   produce: validate the batch -> propose it (the log gives it its baseOffset and the term as
 *            partitionLeaderEpoch, both outside the CRC) -> settles once committed and applied
 *   fetch:   raw batches from the segment files, from the entry holding the fetch offset up to
 *            the high watermark; Raft's own entries (no-op, config) are control batches that every
 *            Kafka client skips, so offsets stay monotonic with no translation (docs/design.md)
 *   high watermark = the Kafka offset after the last applied (= committed) entry
 *
 * Only the leader serves produce and fetch, and only once it has applied an entry of its own
 * term: before that its applied index may trail the previous leader's, and a high watermark
 * must never go backwards for a client.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../base/clock.js';
import { FlotillaError } from '../base/errors.js';
import { ATTRIBUTES_POS, Attributes, BatchHeader, MAX_TIMESTAMP_POS, checkBatch, decodeRecords, readInt64, updateBatchCrc, writeInt64 } from '../records/batch.js';
import { ControlType, encodeControlBatch } from '../records/encode.js';
import { type Membership, type NodeId, roleName } from '../raft/core/types.js';
import type { RaftHost } from '../raft/host.js';
import { type LeaderChange, RaftNode } from '../raft/node.js';
import type { StateMachine } from '../raft/state-machine.js';
import { type DiskGroupStore, openDiskGroupStore } from '../storage/disk-group-store.js';
import type { KvStore } from '../storage/kv.js';
import type { SegmentLogStore } from '../storage/segment-log.js';

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
}

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
  readonly logStartOffset: number;
}

/** The Raft group id of a partition (topic ids are UUIDs: a re-created topic is a new group). */
export function partitionGroupId(topicId: string, partition: number): string {
  return `p/${topicId}/${partition}`;
}

/**
 * Applying a partition entry reports where the batch landed (the log is the state), except for the
 * broker's own LogStart control batches, which move the log start offset (DeleteRecords) on every
 * replica alike. Re-applied from the start of the log after a restart, so the offset comes back.
 */
class PartitionStateMachine implements StateMachine<number> {
  logStartOffset = 0;

  apply(command: Uint8Array): number {
    const header = new BatchHeader(command);
    if (header.isControl) {
      const [record] = decodeRecords(command, 1);
      const key = record?.key;
      if (key && key.byteLength >= 4 && Buffer.from(key).readUInt16BE(2) === ControlType.LogStart && record?.value && record.value.byteLength === 8) {
        this.logStartOffset = Math.max(this.logStartOffset, readInt64(record.value, 0));
        return this.logStartOffset;
      }
    }
    return header.baseOffset;
  }
  snapshot(): Uint8Array {
    throw new Error('partition groups take no snapshots (their log is their state)');
  }
  restore(): void {
    throw new Error('partition groups install no snapshots yet (retention, issue 7)');
  }
}

export class Partition extends EventEmitter {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly groupId: string;
  readonly dir: string;
  readonly node: RaftNode<number>;
  private readonly store: DiskGroupStore;
  private readonly log: SegmentLogStore;
  private readonly clock: Clock;
  private readonly sm: PartitionStateMachine;
  /** The leader may serve once it has applied this index (an entry of its own term). */
  private servingFrom = Number.POSITIVE_INFINITY;
  private closed = false;

  private constructor(options: PartitionOptions, node: RaftNode<number>, store: DiskGroupStore, sm: PartitionStateMachine) {
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
    node.on('leader-change', (change: LeaderChange) => {
      this.servingFrom = change.leaderId === node.nodeId ? node.status().lastIndex : Number.POSITIVE_INFINITY;
      this.emit('leader-change', change);
    });
    node.on('applied', () => this.emit('data'));
  }

  static async open(options: PartitionOptions): Promise<Partition> {
    const store = await openDiskGroupStore({
      dir: options.dir,
      bootstrap: options.bootstrap,
      fsync: options.fsync,
      kv: options.kv,
      group: partitionGroupId(options.topicId, options.partition),
      format: 'batch',
      clock: options.clock,
      logSettings: options.logSettings,
      logger: options.logger,
    });
    const sm = new PartitionStateMachine();
    const node = await RaftNode.create<number>({
      host: options.host,
      groupId: partitionGroupId(options.topicId, options.partition),
      store,
      stateMachine: sm,
      raft: options.raft,
      // The log is the state: never snapshot and compact it (retention does that, issue 7).
      node: { snapshotEntries: 0, snapshotLogBytes: 0, proposeTimeoutMs: 120_000 },
      logger: options.logger,
    });
    return new Partition(options, node, store, sm);
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
   * start once committed. The segments below it stay on disk until retention (issue 7) removes them.
   */
  async deleteRecords(offset: number, timeoutMs: number): Promise<number> {
    this.checkServing();
    const hw = this.highWatermark();
    const target = offset === -1 ? hw : offset;
    if (target < 0 || target > hw) {
      throw new FlotillaError('OFFSET_OUT_OF_RANGE', `cannot delete records below ${target}: the high watermark of ${this.topic}-${this.partition} is ${hw}`);
    }
    if (target <= this.logStartOffset()) return this.logStartOffset();
    const value = Buffer.alloc(8);
    writeInt64(value, 0, target);
    const batch = encodeControlBatch(ControlType.LogStart, value, 0, 0);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FlotillaError('TIMEOUT', `delete-records on ${this.topic}-${this.partition} not committed in ${timeoutMs} ms`)), Math.max(1, timeoutMs));
    });
    try {
      return await Promise.race([this.node.propose(batch), timeout]);
    } finally {
      clearTimeout(timer);
    }
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
    if (req.logAppendTime) stampLogAppendTime(batch, this.clock.wallMs());
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FlotillaError('TIMEOUT', `produce to ${this.topic}-${this.partition} not committed in ${req.timeoutMs} ms`)), Math.max(1, req.timeoutMs));
    });
    try {
      if (req.ack === 'appended') {
        // The log patched baseOffset into this very buffer when it appended the entry.
        const appended = new Promise<number>((resolve, reject) => {
          this.node.propose(batch, () => resolve(new BatchHeader(batch).baseOffset)).catch(reject);
        });
        return await Promise.race([appended, timeout]);
      }
      return await Promise.race([this.node.propose(batch), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Committed batches from the one holding `offset`, at most `maxBytes` (but at least one batch). */
  read(offset: number, maxBytes: number): PartitionRead {
    const highWatermark = this.highWatermark();
    const logStartOffset = this.logStartOffset();
    if (offset < logStartOffset || offset > this.logEndOffset()) {
      throw new FlotillaError('OFFSET_OUT_OF_RANGE', `offset ${offset} is outside [${logStartOffset}, ${this.logEndOffset()}] of ${this.topic}-${this.partition}`);
    }
    if (offset >= highWatermark) return { records: null, highWatermark, logStartOffset };
    const from = this.log.indexOfOffset(offset);
    const to = this.node.appliedIndex;
    if (from > to) return { records: null, highWatermark, logStartOffset };
    const batches = this.log.readBatches(from, to, maxBytes);
    return { records: batches.length === 1 ? (batches[0] as Buffer) : Buffer.concat(batches), highWatermark, logStartOffset };
  }

  /** The first committed offset whose batch has a timestamp >= `timestamp` (-1 when none). */
  offsetForTimestamp(timestamp: number): { offset: number; timestamp: number } {
    let index = this.log.firstIndex();
    const last = this.node.appliedIndex;
    while (index <= last) {
      const batches = this.log.readBatches(index, last, 1 << 20);
      const start = this.logStartOffset();
      for (const b of batches) {
        const h = new BatchHeader(b);
        if (!h.isControl && h.lastOffset >= start && h.maxTimestamp >= timestamp) return { offset: Math.max(h.baseOffset, start), timestamp: h.maxTimestamp };
      }
      index += batches.length;
    }
    return { offset: -1, timestamp: -1 };
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
      lastIndex: s.lastIndex,
      highWatermark: this.highWatermark(),
      logEndOffset: this.logEndOffset(),
      voters: s.membership.voters,
      learners: s.membership.learners,
      followers: [...s.progress].map(([id, p]) => ({ id, match: p.match, lag: Math.max(0, s.lastIndex - p.match) })),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.node.close();
  }

  /** Closes the replica and deletes its data (the topic is gone, or the replica moved away). */
  async destroy(): Promise<void> {
    this.closed = true;
    await this.node.close();
    await this.store.destroy(this.dir);
  }
}

/** Sets the timestamp type to LogAppendTime and maxTimestamp to `nowMs`; the CRC covers both. */
function stampLogAppendTime(batch: Buffer, nowMs: number): void {
  batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES_POS) | Attributes.TimestampTypeLogAppend, ATTRIBUTES_POS);
  writeInt64(batch, MAX_TIMESTAMP_POS, nowMs);
  updateBatchCrc(batch);
}
