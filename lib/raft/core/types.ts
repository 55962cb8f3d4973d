/**
 * The vocabulary of the Raft core: entries, messages, hard state, snapshots, configurations and
 * the Ready batch that the core hands to its host. Everything here is plain data, so messages
 * can be encoded with msgpackr and compared in tests.
 *
 * Words: term, index, commit, applied (Raft). A node id is a positive integer (a Kafka broker
 * id). Index 0 / term 0 is the empty log's sentinel; real entries start at index 1.
 */

export type NodeId = number;

/** Entry types. A no-op is what a new leader appends at once, in its own term. */
export const EntryType = {
  Normal: 0,
  Config: 1,
  Noop: 2,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** Application bytes (Normal); for Config, encodeConfigEntry(change, membership after it) from membership.ts; empty (Noop). */
  readonly data: Uint8Array;
}

/** A group's membership. `voters` decide elections and commits; `learners` only receive the log. */
export interface Membership {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/** One change at a time (single-server changes, with the current-term-commit rule). */
export const ConfigChangeType = {
  AddLearner: 0,
  /** Promote a learner to voter. The leader refuses until the learner has caught up. */
  PromoteLearner: 1,
  /** Remove a voter or a learner; removing the leader makes it step down once committed. */
  Remove: 2,
  /** Add a voter directly (no learner phase). Prefer AddLearner then PromoteLearner. */
  AddVoter: 3,
} as const;
export type ConfigChangeType = (typeof ConfigChangeType)[keyof typeof ConfigChangeType];

export interface ConfigChange {
  readonly type: ConfigChangeType;
  readonly node: NodeId;
}

/** A configuration as it stands after the entry at `index` (index 0: the bootstrap config). */
export interface ConfigAt {
  readonly index: number;
  readonly term: number;
  readonly membership: Membership;
}

/** Persistent state that must be durable before any message that depends on it is sent. */
export interface HardState {
  readonly term: number;
  /** The node voted for in `term`, or 0 for none. */
  readonly vote: NodeId;
  readonly commit: number;
}

/** What a snapshot covers. The data itself is the application's, read and written in chunks. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  /** The configuration in force at `index`: a snapshot always carries it. */
  readonly membership: Membership;
}

export const MessageType = {
  Vote: 1,
  VoteResponse: 2,
  PreVote: 3,
  PreVoteResponse: 4,
  Append: 5,
  AppendResponse: 6,
  Heartbeat: 7,
  HeartbeatResponse: 8,
  /** One chunk of a snapshot; the follower answers each with SnapshotResponse. */
  Snapshot: 9,
  SnapshotResponse: 10,
  /** The leader tells a caught-up transfer target to campaign at once. */
  TimeoutNow: 11,
  /** A follower forwards a read-index request to the leader. */
  ReadIndex: 12,
  ReadIndexResponse: 13,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * One message between two nodes of a group. Fields not used by a type are left at 0 / empty.
 *
 * - Vote / PreVote: `index`,`logTerm` = candidate's last entry; `transfer` set when the leader
 *   asked for it (so voters skip the leader-lease check).
 * - VoteResponse / PreVoteResponse: `reject`.
 * - Append: `index`,`logTerm` = the entry before `entries`; `commit` = leader commit.
 * - AppendResponse: `index` = last index matched (accept) or the rejected `index` (reject), with
 *   `hintIndex`,`hintTerm` = the follower's conflict hint: its last index at or below the rejected
 *   one whose term is <= the leader's `logTerm`, and that term.
 * - Heartbeat: `commit` = min(leader commit, follower match); `context` = read-index round;
 *   `quiesce` set when the leader goes quiet (the follower may stop its election clock).
 * - Snapshot: `snapshot` meta, `chunkOffset`, `chunk`, `chunkLast`.
 * - SnapshotResponse: `chunkOffset` = next offset wanted, `reject` = restart from 0.
 * - ReadIndex / ReadIndexResponse: `context` = the requester's read id; `index` = read index;
 *   `reject` when the leader cannot serve it.
 */
export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly commit: number;
  readonly entries: readonly Entry[];
  readonly reject: boolean;
  readonly hintIndex: number;
  readonly hintTerm: number;
  readonly context: number;
  readonly transfer: boolean;
  readonly snapshot: SnapshotMeta | null;
  readonly chunkOffset: number;
  readonly chunk: Uint8Array | null;
  readonly chunkLast: boolean;
  readonly quiesce: boolean;
}

export const Role = {
  Follower: 0,
  PreCandidate: 1,
  Candidate: 2,
  Leader: 3,
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** 'follower', 'pre-candidate', 'candidate' or 'leader' (for status pages and logs). */
export function roleName(role: Role): string {
  return ['follower', 'pre-candidate', 'candidate', 'leader'][role] ?? String(role);
}

/** A read that may be served once the state machine has applied `index`. */
export interface ReadState {
  readonly id: number;
  readonly index: number;
}

/** A snapshot chunk received by a follower, to be written at `offset` of the incoming snapshot. */
export interface SnapshotChunk {
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly last: boolean;
}

/**
 * The work the core hands to its host, numbered. The host must, in this order:
 * 1. send `messages` at once (they do not depend on this Ready's persistence);
 * 2. durably write `snapshotChunks`, then `snapshot` (install: the log now starts after it),
 *    then `entries` (an append that may replace the suffix from `entries[0].index`), then
 *    `hardState` (when set), all with one fsync where the flush policy says so;
 * 3. only then send `persistedMessages` (votes and append responses that promise durability);
 * 4. apply `committedEntries` in order (all are durable locally), serve `readStates` once applied;
 * 5. call `advance(ready)`. The core hands out no new Ready until then.
 */
export interface Ready {
  readonly number: number;
  readonly messages: readonly Message[];
  readonly snapshotChunks: readonly SnapshotChunk[];
  readonly snapshot: SnapshotMeta | null;
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
  readonly persistedMessages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
  /** Read ids that can no longer be served (leader changed): fail them with READ_DROPPED. */
  readonly droppedReads: readonly number[];
  /** Set when the role, leader or term changed since the last Ready. */
  readonly softState: SoftState | null;
}

export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId;
  readonly term: number;
  readonly membership: Membership;
}

/**
 * Read access to the durable log and snapshot, synchronous by design (the storage layer keeps the
 * term of every index and a cache of recent entries in memory). The core never writes through it:
 * it writes through Ready.
 */
export interface LogReader {
  /** Index of the first entry in the log (snapshot index + 1 when compacted). */
  firstIndex(): number;
  /** Index of the last durable entry (the snapshot index when the log is empty). */
  lastIndex(): number;
  /** Term of entry `index`, for firstIndex-1 (the snapshot's) ..lastIndex. */
  term(index: number): number;
  /** Entries [lo, hi), at least one if lo < hi, then as many as fit in `maxBytes`. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** The latest snapshot's metadata (index 0 when none). */
  snapshotMeta(): SnapshotMeta;
  /** The size of the latest snapshot's data in bytes. */
  snapshotSize(): number;
  /** Bytes [offset, offset + maxBytes) of the latest snapshot's data. */
  readSnapshot(offset: number, maxBytes: number): Uint8Array;
}

/** What the core is built from when a node starts (or restarts). */
export interface InitialState {
  readonly hardState: HardState;
  /**
   * Every Config entry in the durable log after the snapshot, in index order: the core uses the
   * latest configuration in its log, committed or not, and must be able to fall back on truncation.
   * The membership of each is read from the entry itself (decodeConfigEntry in membership.ts).
   */
  readonly configEntries: readonly ConfigAt[];
  /** The last applied index (at least the snapshot index). */
  readonly applied: number;
}

/** The bytes an entry costs against in-flight and uncommitted budgets. */
export function entryBytes(entry: Entry): number {
  return entry.data.byteLength + 16;
}

export const emptyMembership: Membership = Object.freeze({ voters: Object.freeze([]), learners: Object.freeze([]) });
