/**
 * What a group coordinator persists, and the pure function that applies it. These are the entries
 * of an offsets partition's Raft log (the integrator chooses the bytes, e.g. msgpackr of these
 * objects); every replica applies them with `applyRecord`, and a node that becomes coordinator
 * rebuilds its groups from the result (`replay`, then `GroupCoordinator.loadPartition`).
 *
 * Record types (Kafka's `__consumer_offsets` keys and values, as plain data):
 * - `offset-commit`   (group, topic, partition) → offset, leaderEpoch, metadata, commitTimestampMs
 *                     (wall time; retention counts from it for groups without members);
 * - `offset-tombstone` (group, topic, partition): the committed offset is gone (OffsetDelete,
 *                     retention, DeleteGroups);
 * - `group-metadata`  group → protocolType, generationId, protocolName, leaderId,
 *                     currentStateTimestampMs and members with their subscription and assignment:
 *                     written when a generation's assignment is complete (SyncGroup of the leader)
 *                     and when a group becomes Empty;
 * - `group-tombstone` group: the group's metadata is gone (DeleteGroups, retention).
 * - `txn-offset-commit` (producer, group, topic, partition) → an offset committed inside a
 *                     transaction (TxnOffsetCommit): pending, not visible to OffsetFetch;
 * - `txn-marker`      producer, commit/abort, transaction number: the transaction coordinator's
 *                     marker for this offsets partition. COMMIT makes the producer's pending
 *                     offsets the committed ones, ABORT drops them; a marker whose transaction
 *                     number is not above the producer's last one is stale and changes nothing.
 *
 * `applyRecord` is idempotent and order-respecting (last writer wins per key), so applying the same
 * record twice (the coordinator's own copy and the replica's apply path) is harmless.
 *
 * The coordinator of group G is the leader of offsets partition
 * `(javaStringHashCode(G) & 0x7fffffff) % offsetsTopicPartitions` (Kafka's rule; `partitionFor`).
 */
import { assert } from '../base/assert.js';

export interface OffsetCommitRecord {
  readonly type: 'offset-commit';
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** -1 when the client did not send one. */
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  readonly commitTimestampMs: number;
  /**
   * OffsetCommit v2-v4's retention time: the offset expires at this wall time (once its group is
   * empty) instead of after the broker's offsets retention. Absent in records written before it.
   */
  readonly expireTimestampMs?: number;
}

export interface OffsetTombstoneRecord {
  readonly type: 'offset-tombstone';
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
}

export interface PersistedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  readonly rebalanceTimeoutMs: number;
  /** The member's metadata for the selected protocol (opaque: the consumer's subscription). */
  readonly subscription: Buffer;
  /** What the leader assigned it (opaque). */
  readonly assignment: Buffer;
}

export interface GroupMetadataValue {
  readonly protocolType: string;
  readonly generationId: number;
  readonly protocolName: string | null;
  readonly leaderId: string | null;
  /** Wall time of the last state change (retention of an Empty group counts from it). */
  readonly currentStateTimestampMs: number;
  readonly members: readonly PersistedMember[];
}

export interface GroupMetadataRecord {
  readonly type: 'group-metadata';
  readonly groupId: string;
  readonly value: GroupMetadataValue;
}

export interface GroupTombstoneRecord {
  readonly type: 'group-tombstone';
  readonly groupId: string;
}

export interface TxnOffsetCommitRecord {
  readonly type: 'txn-offset-commit';
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  readonly commitTimestampMs: number;
}

export interface TxnMarkerRecord {
  readonly type: 'txn-marker';
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly commit: boolean;
  /** The transaction's number at its coordinator. */
  readonly txn: number;
}

export type GroupRecord = OffsetCommitRecord | OffsetTombstoneRecord | GroupMetadataRecord | GroupTombstoneRecord | TxnOffsetCommitRecord | TxnMarkerRecord;

/** Offsets committed inside a producer's open transaction: group -> offsetKey -> offset. */
export interface PendingTxnOffsets {
  readonly producerEpoch: number;
  readonly offsets: Map<string, Map<string, CommittedOffset>>;
}

export interface CommittedOffset {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  readonly commitTimestampMs: number;
  /** See OffsetCommitRecord.expireTimestampMs. */
  readonly expireTimestampMs?: number;
}

/**
 * Everything one offsets partition holds: committed offsets per group (keyed by `offsetKey`) and
 * the last persisted metadata of each group. Mutable: `applyRecord` updates it in place.
 */
export interface OffsetsPartitionState {
  readonly offsets: Map<string, Map<string, CommittedOffset>>;
  readonly groups: Map<string, GroupMetadataValue>;
  /** Transactional offsets not committed yet, by producer id. */
  readonly pending: Map<number, PendingTxnOffsets>;
  /** The transaction number of each producer's last marker here. */
  readonly lastTxn: Map<number, number>;
}

export function emptyPartitionState(): OffsetsPartitionState {
  return { offsets: new Map(), groups: new Map(), pending: new Map(), lastTxn: new Map() };
}

/** True when some producer's open transaction holds an offset of (group, topic, partition). */
export function hasPendingOffset(state: OffsetsPartitionState, groupId: string, topic: string, partition: number): boolean {
  const key = offsetKey(topic, partition);
  for (const p of state.pending.values()) if (p.offsets.get(groupId)?.has(key)) return true;
  return false;
}

/** The key of one topic-partition inside a group's offsets map. */
export function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The inverse of `offsetKey`. */
export function parseOffsetKey(key: string): { topic: string; partition: number } {
  const at = key.lastIndexOf('\u0000');
  assert(at >= 0, () => `bad offset key ${JSON.stringify(key)}`);
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

/** Applies one record to `state` (in place). Pure apart from that mutation; idempotent. */
export function applyRecord(state: OffsetsPartitionState, record: GroupRecord): void {
  switch (record.type) {
    case 'offset-commit': {
      let m = state.offsets.get(record.groupId);
      if (m === undefined) {
        m = new Map();
        state.offsets.set(record.groupId, m);
      }
      m.set(offsetKey(record.topic, record.partition), {
        offset: record.offset, leaderEpoch: record.leaderEpoch, metadata: record.metadata, commitTimestampMs: record.commitTimestampMs,
        ...(record.expireTimestampMs !== undefined ? { expireTimestampMs: record.expireTimestampMs } : {}),
      });
      return;
    }
    case 'offset-tombstone': {
      const m = state.offsets.get(record.groupId);
      if (m === undefined) return;
      m.delete(offsetKey(record.topic, record.partition));
      if (m.size === 0) state.offsets.delete(record.groupId);
      return;
    }
    case 'group-metadata':
      state.groups.set(record.groupId, record.value);
      return;
    case 'group-tombstone':
      state.groups.delete(record.groupId);
      return;
    case 'txn-offset-commit': {
      let p = state.pending.get(record.producerId);
      if (p === undefined || p.producerEpoch !== record.producerEpoch) {
        p = { producerEpoch: record.producerEpoch, offsets: p?.offsets ?? new Map() };
        state.pending.set(record.producerId, p);
      }
      let m = p.offsets.get(record.groupId);
      if (m === undefined) {
        m = new Map();
        p.offsets.set(record.groupId, m);
      }
      m.set(offsetKey(record.topic, record.partition), {
        offset: record.offset, leaderEpoch: record.leaderEpoch, metadata: record.metadata, commitTimestampMs: record.commitTimestampMs,
      });
      return;
    }
    case 'txn-marker': {
      if ((state.lastTxn.get(record.producerId) ?? -1) >= record.txn) return;
      state.lastTxn.set(record.producerId, record.txn);
      const p = state.pending.get(record.producerId);
      state.pending.delete(record.producerId);
      if (!record.commit || p === undefined) return;
      for (const [groupId, m] of p.offsets) {
        let committed = state.offsets.get(groupId);
        if (committed === undefined) {
          committed = new Map();
          state.offsets.set(groupId, committed);
        }
        for (const [k, o] of m) committed.set(k, o);
      }
      return;
    }
  }
}

/** Rebuilds a partition's state from its records, oldest first. */
export function replay(records: Iterable<GroupRecord>, state: OffsetsPartitionState = emptyPartitionState()): OffsetsPartitionState {
  for (const r of records) applyRecord(state, r);
  return state;
}

/** Java's String.hashCode (UTF-16 code units, 32-bit wrap-around). */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The offsets partition that coordinates `groupId` (Kafka's rule). */
export function partitionFor(groupId: string, offsetsTopicPartitions: number): number {
  assert(Number.isInteger(offsetsTopicPartitions) && offsetsTopicPartitions > 0, 'offsetsTopicPartitions must be a positive integer');
  return (javaStringHashCode(groupId) & 0x7fffffff) % offsetsTopicPartitions;
}

/**
 * Where group records go. `append` resolves once the records are replicated (committed in the
 * offsets partition's Raft group) and applied on this node, in order; it rejects with a
 * FlotillaError (NOT_LEADER, TIMEOUT, ...) when they may not be. The coordinator never calls it
 * concurrently for records whose order matters to it without awaiting (it relies on the log
 * keeping the order of calls).
 */
export interface GroupLog {
  append(records: readonly GroupRecord[]): Promise<void>;
  /**
   * Resolves once this replica is confirmed to lead (a ReadIndex round) and has applied everything
   * committed before the call, so a read of the state that follows is not stale (a leader cut off
   * from its quorum, not yet stepped down, must not answer OffsetFetch from what it has); rejects
   * like `append`. Optional: a log without it (tests) reads at once.
   */
  readBarrier?(): Promise<void>;
}
