/**
 * What a chaos run records: the client history (sends and polls, Jepsen-style), samples of every
 * node's /status (high watermarks per process life), the faults as they were injected, and the
 * replica logs read from every node's files after the run. Times are milliseconds since the start
 * of the run (monotonic). The checker (checker.ts) takes these as plain data, so a history can be
 * written to JSON lines, doctored by hand and checked again.
 *
 * Every value a producer sends is globally unique: `<process>-<sequence>`.
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

export type HistoryOp = SendOp | PollOp | HwSample;

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
