/**
 * GroupCoordinatorApi: what the client listener's group handlers (lib/server/handlers) ask of the
 * node. Requests and results are in Kafka's group vocabulary but free of wire details (versions,
 * tagged fields); errors are Kafka error names (null: none), chosen by the group state machine or
 * by `appendErrorName` (errors.ts) for a failed append. `GroupCoordinator` implements it.
 *
 * Group-level errors every call may return: NOT_COORDINATOR (this node does not lead the group's
 * offsets partition: the client runs FindCoordinator again), COORDINATOR_NOT_AVAILABLE,
 * INVALID_GROUP_ID.
 */
import type { GroupErrorName } from './errors.js';

export const groupStates = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'] as const;
export type GroupStateName = (typeof groupStates)[number];

export type CoordinatorLookup =
  | { readonly error: null; readonly nodeId: number; readonly host: string; readonly port: number }
  | { readonly error: GroupErrorName; readonly message: string };

export interface ProtocolOffer {
  readonly name: string;
  readonly metadata: Buffer;
}

export interface JoinGroupInput {
  readonly groupId: string;
  /** '' for a member that has none yet. */
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly sessionTimeoutMs: number;
  /** JoinGroup v0 has none: pass the session timeout (Kafka's rule). */
  readonly rebalanceTimeoutMs: number;
  readonly protocolType: string;
  readonly protocols: readonly ProtocolOffer[];
  /** JoinGroup v4+: a member without id gets MEMBER_ID_REQUIRED and a generated id (KIP-394). */
  readonly requireKnownMemberId: boolean;
  /**
   * JoinGroup v9+ (KIP-814): a static leader that rejoins a Stable group unchanged gets the members
   * with `skipAssignment` (it must not reassign); before v9 it gets no members. Absent: false.
   */
  readonly supportSkippingAssignment?: boolean;
  /** JoinGroup v8+: why the member (re)joins, for the log (KIP-800). */
  readonly reason?: string | null;
}

export interface JoinedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly metadata: Buffer;
}

export interface JoinGroupResult {
  readonly error: GroupErrorName | null;
  readonly generationId: number;
  readonly protocolName: string;
  readonly leaderId: string;
  readonly memberId: string;
  /** Every member with its metadata for the chosen protocol, for the leader only; [] for followers. */
  readonly members: readonly JoinedMember[];
  /** The group's protocol type; null on errors (JoinGroup v7+ carries it). */
  readonly protocolType: string | null;
  /** The leader must not compute an assignment: the group is Stable and keeps its own (KIP-814). */
  readonly skipAssignment: boolean;
}

export interface SyncGroupInput {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** The leader's assignment; [] from followers. */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Buffer }[];
  /**
   * SyncGroup v5+ (KIP-559): the member's idea of the group's protocol type and name; when given
   * and not the group's, INCONSISTENT_GROUP_PROTOCOL. Absent or null: not checked.
   */
  readonly protocolType?: string | null;
  readonly protocolName?: string | null;
}

export interface SyncGroupResult {
  readonly error: GroupErrorName | null;
  readonly assignment: Buffer;
  /** The group's protocol type and name on success (SyncGroup v5+ returns them); null on errors. */
  readonly protocolType: string | null;
  readonly protocolName: string | null;
}

export interface HeartbeatInput {
  readonly groupId: string;
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
}

export interface LeavingMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** LeaveGroup v5+: why the member leaves, for the log (KIP-800). */
  readonly reason?: string | null;
}

export interface LeaveGroupResult {
  /** Group-level error (then `members` carry it too). */
  readonly error: GroupErrorName | null;
  readonly members: readonly (LeavingMember & { readonly error: GroupErrorName | null })[];
}

export interface OffsetCommitInput {
  readonly groupId: string;
  /** -1 with memberId '' for a "simple" commit (no group membership: admins, manual assignment). */
  readonly generationId: number;
  /**
   * OffsetCommit v9+: a member commit (generation >= 0) to a group that does not exist is
   * GROUP_ID_NOT_FOUND; older versions get ILLEGAL_GENERATION. Absent: false.
   */
  readonly groupIdNotFound?: boolean;
  /**
   * OffsetCommit v2-v4: how long the offsets are kept (ms) once the group is empty, overriding
   * the broker's offsets retention; -1 or absent: the broker's.
   */
  readonly retentionTimeMs?: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly offsets: readonly {
    readonly topic: string;
    readonly partition: number;
    readonly offset: number;
    readonly leaderEpoch: number;
    readonly metadata: string | null;
    /** OffsetCommit v1: the client's commit time (ms); -1 or absent: now. */
    readonly commitTimestampMs?: number;
  }[];
}

export interface TxnOffsetCommitInput {
  readonly transactionalId: string;
  readonly groupId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  /** v3+ (KIP-447): -1 / '' when the client sends none. */
  readonly generationId: number;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly offsets: OffsetCommitInput['offsets'];
}

export interface PartitionError {
  readonly topic: string;
  readonly partition: number;
  readonly error: GroupErrorName | null;
}

export interface OffsetCommitResult {
  readonly partitions: readonly PartitionError[];
}

export interface OffsetFetchInput {
  readonly groupId: string;
  /** null: every partition the group has an offset for. */
  readonly topics: readonly { readonly topic: string; readonly partitions: readonly number[] }[] | null;
  readonly requireStable: boolean;
}

export interface FetchedOffset {
  readonly topic: string;
  readonly partition: number;
  /** -1 when none is committed. */
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string | null;
  readonly error: GroupErrorName | null;
}

export interface OffsetFetchResult {
  readonly error: GroupErrorName | null;
  readonly partitions: readonly FetchedOffset[];
}

export interface DescribedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  /** Only while Stable (Kafka's rule); empty otherwise. */
  readonly metadata: Buffer;
  readonly assignment: Buffer;
}

export interface DescribedGroup {
  readonly groupId: string;
  readonly error: GroupErrorName | null;
  /** 'Dead' for a group that does not exist. */
  readonly state: GroupStateName;
  readonly protocolType: string;
  /** The selected protocol while Stable, else ''. */
  readonly protocolName: string;
  readonly members: readonly DescribedMember[];
}

export interface ListedGroup {
  readonly groupId: string;
  readonly protocolType: string;
  readonly state: GroupStateName;
}

export interface ListGroupsResult {
  readonly error: GroupErrorName | null;
  readonly groups: readonly ListedGroup[];
}

export interface DeleteGroupResult {
  readonly groupId: string;
  readonly error: GroupErrorName | null;
}

export interface OffsetDeleteResult {
  readonly error: GroupErrorName | null;
  readonly partitions: readonly PartitionError[];
}

export interface GroupCoordinatorApi {
  /**
   * The node that coordinates `groupId` (the leader of its offsets partition), or an error; its
   * endpoint on `listener`, the caller's (absent: the PLAINTEXT one).
   */
  coordinatorFor(groupId: string, listener?: string): CoordinatorLookup;
  /** Long-polls until the join phase of the rebalance completes (or answers at once with an error). */
  joinGroup(input: JoinGroupInput): Promise<JoinGroupResult>;
  /** Followers wait for the leader's assignment. */
  syncGroup(input: SyncGroupInput): Promise<SyncGroupResult>;
  heartbeat(input: HeartbeatInput): Promise<GroupErrorName | null>;
  leaveGroup(groupId: string, members: readonly LeavingMember[]): Promise<LeaveGroupResult>;
  commitOffsets(input: OffsetCommitInput): Promise<OffsetCommitResult>;
  /** Offsets committed inside a transaction: pending until the transaction's COMMIT marker. */
  txnCommitOffsets(input: TxnOffsetCommitInput): Promise<OffsetCommitResult>;
  fetchOffsets(input: OffsetFetchInput): Promise<OffsetFetchResult>;
  describeGroups(groupIds: readonly string[]): Promise<DescribedGroup[]>;
  /** Groups of every offsets partition this node leads; `states` (case-insensitive) filters, [] = all. */
  listGroups(states: readonly string[]): Promise<ListGroupsResult>;
  deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]>;
  deleteOffsets(groupId: string, partitions: readonly { readonly topic: string; readonly partition: number }[]): Promise<OffsetDeleteResult>;
}
