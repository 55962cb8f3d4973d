/**
 * What the transaction coordinator persists: one record per change of a transactional id's
 * metadata (Kafka's TransactionLogValue), applied last-writer-wins per id. These are the entries
 * of a `__transaction_state` partition's Raft log (TxnPartition); every replica applies them, and
 * a node that becomes coordinator of the partition finds every transactional id it holds, and
 * resumes the markers of the transactions caught between their decision and their completion.
 *
 *   txn: transactionalId -> producerId, producerEpoch, timeoutMs, state, the partitions and
 *        offsets partitions of the current (or last) transaction, its number `txn`, its start
 *        and last update (wall time, the coordinator's)
 *
 * States (Kafka's TransactionMetadata): Empty -> Ongoing (AddPartitionsToTxn / AddOffsetsToTxn)
 * -> PrepareCommit | PrepareAbort (EndTxn, timeout, fencing) -> CompleteCommit | CompleteAbort
 * (every marker written) -> Ongoing (the next transaction) ...
 *
 * `txn` numbers the id's transactions (from 0, +1 per transaction begun): markers carry it, and
 * a partition applies a marker only if its number is above the producer's last marker there, so
 * a delayed marker of one transaction can never end the next.
 */
import { assert } from '../base/assert.js';

export const txnStates = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort'] as const;
export type TxnStateName = (typeof txnStates)[number];
/**
 * Every state Kafka names (ListTransactions' filters): ours, plus Kafka's PrepareEpochFence and
 * Dead, which Flotilla never enters (a fenced transaction is aborted through PrepareAbort with the
 * bumped epoch; ids are not expired).
 */
export const kafkaTxnStates: readonly string[] = [...txnStates, 'PrepareEpochFence', 'Dead'];

export interface TxnTopicPartition {
  readonly topic: string;
  readonly partition: number;
}

export interface TxnMetadata {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly timeoutMs: number;
  readonly state: TxnStateName;
  readonly partitions: readonly TxnTopicPartition[];
  /** `__consumer_offsets` partitions of the groups whose offsets the transaction commits. */
  readonly offsetsPartitions: readonly number[];
  /** The number of the current (or last) transaction; -1 before the first. */
  readonly txn: number;
  readonly startMs: number;
  readonly updateMs: number;
}

export interface TxnRecord {
  readonly type: 'txn';
  readonly value: TxnMetadata;
}

export interface TxnState {
  readonly txns: Map<string, TxnMetadata>;
}

export function emptyTxnState(): TxnState {
  return { txns: new Map() };
}

export function applyTxnRecord(state: TxnState, record: TxnRecord): void {
  assert(record.type === 'txn', () => `unknown transaction record ${String(record.type)}`);
  state.txns.set(record.value.transactionalId, record.value);
}

/** A transaction in a Prepare state: its markers are being written. */
export function isPreparing(m: TxnMetadata): boolean {
  return m.state === 'PrepareCommit' || m.state === 'PrepareAbort';
}
