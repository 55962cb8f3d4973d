/**
 * What a chaos run records: the client history (sends and polls, Jepsen-style), samples of every
 * node's /status (high watermarks per process life), the faults as they were injected, and the
 * replica logs read from every node's files after the run. Times are milliseconds since the start
 * of the run (monotonic). The checker (checker.ts) takes these as plain data, so a history can be
 * written to JSON lines, doctored by hand and checked again.
 *
 * Every value a producer sends is globally unique: `<process>-<sequence>`.
 *
 * Consumer groups add three kinds of operation: a member's join (the generation and assignment it
 * got from SyncGroup; it opens a new poll session), its offset commits (with the generation they
 * carried) and OffsetFetch observations of the group's committed offsets (by an observer, and a
 * final one after the members left). Committed offsets are Kafka's: the next offset to read.
 */

/** ok: acknowledged; fail: definitely not written; info: indeterminate (timeout, connection lost, ...). */
export type OpType = 'ok' | 'fail' | 'info';

/** One produce request of one or more values to one partition (one record batch). */
export interface SendOp {
  readonly f: 'send';
  readonly process: string;
  readonly type: OpType;
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly topic: string;
  readonly partition: number;
  readonly values: readonly string[];
  /** ok only: the offset of each value (baseOffset + i). */
  readonly offsets?: readonly number[];
  /** True when the producer was idempotent (then a duplicate is a safety anomaly). */
  readonly idempotent: boolean;
  readonly error?: string;
}

/** Records one consumer got in one poll (one fetch answer) of one partition. */
export interface PollOp {
  readonly f: 'poll';
  readonly process: string;
  /** A consumer session: a consumer restarted at an explicit offset starts a new one. */
  readonly session: number;
  readonly timeMs: number;
  readonly topic: string;
  readonly partition: number;
  /** [offset, value] in the order received. */
  readonly records: readonly (readonly [number, string])[];
  /** True for the final polls after the heal (they read every partition from the beginning). */
  readonly final?: boolean;
  /** A group member's poll: its group and the generation of its session. */
  readonly group?: string;
  readonly generation?: number;
}

/** One offset of one partition, committed or fetched (-1: none committed). */
export interface GroupOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/** A group member completed a rebalance (SyncGroup answered): a new poll session starts. */
export interface GroupJoinOp {
  readonly f: 'join';
  readonly group: string;
  readonly process: string;
  /** The poll session this join opens (PollOp.session of the member's polls until its next join). */
  readonly session: number;
  readonly memberId: string;
  readonly generation: number;
  readonly timeMs: number;
  /** The partitions SyncGroup gave this member. */
  readonly assignment: readonly (readonly [string, number])[];
}

/** One OffsetCommit of a group member. */
export interface CommitOp {
  readonly f: 'commit';
  readonly group: string;
  readonly process: string;
  readonly session: number;
  readonly type: OpType;
  readonly invokeMs: number;
  readonly completeMs: number;
  /** The generation the commit carried (known for acknowledged commits). */
  readonly generation: number | null;
  readonly offsets: readonly GroupOffset[];
  readonly error?: string;
}

/** One OffsetFetch answer: the group's committed offsets as the coordinator served them. */
export interface OffsetFetchOp {
  readonly f: 'offsets';
  readonly group: string;
  readonly process: string;
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly offsets: readonly GroupOffset[];
  /** The fetch after the members left, once the cluster settled. */
  readonly final?: boolean;
}

/** One node's view of one partition, sampled from its /status. */
export interface HwSample {
  readonly f: 'hw';
  readonly node: number;
  /** One process life of the node (a restart is a new incarnation). */
  readonly incarnation: number;
  readonly timeMs: number;
  readonly topic: string;
  readonly partition: number;
  readonly role: string;
  readonly term: number;
  readonly highWatermark: number;
}

export type HistoryOp = SendOp | PollOp | HwSample | GroupJoinOp | CommitOp | OffsetFetchOp;

/** One batch of one replica's log file. `bytes` is the whole batch as stored. */
export interface ReplicaBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** partitionLeaderEpoch: the Raft term, identical on every replica. */
  readonly epoch: number;
  readonly isControl: boolean;
  /** [offset, value (utf8)] of each record of an uncompressed data batch; empty for control or compressed batches. */
  readonly records: readonly (readonly [number, string])[];
  readonly bytes: Uint8Array;
}

/** A batch that failed its check in a file. `tail`: nothing valid follows it (a torn write). */
export interface FileProblem {
  readonly file: string;
  readonly position: number;
  readonly problem: string;
  readonly message: string;
  readonly tail: boolean;
}

/** One replica's log, as read from its files. `group` is `<topic>-<partition>` or `metadata`. */
export interface ReplicaLog {
  readonly node: number;
  readonly group: string;
  readonly topic: string | null;
  readonly partition: number | null;
  readonly batches: readonly ReplicaBatch[];
  readonly problems: readonly FileProblem[];
}

/** The key of a partition in maps. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}
