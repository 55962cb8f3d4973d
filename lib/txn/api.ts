/**
 * TxnCoordinatorApi: what the client listener's transaction handlers (lib/server/handlers) ask of
 * the node. Methods throw FlotillaErrors (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
 * CONCURRENT_TRANSACTIONS, PRODUCER_FENCED, INVALID_PRODUCER_ID_MAPPING, INVALID_TXN_STATE,
 * INVALID_TRANSACTION_TIMEOUT, ...) that lib/server/errors.ts maps to Kafka codes; per-partition
 * outcomes of AddPartitionsToTxn come back as results.
 */
import type { FlotillaError } from '../base/errors.js';
import type { ProducerIdAndEpoch } from '../broker/api.js';
import type { TxnStateName, TxnTopicPartition } from './records.js';

export type TxnLookup =
  | { readonly error: null; readonly nodeId: number; readonly host: string; readonly port: number }
  | { readonly error: 'COORDINATOR_NOT_AVAILABLE'; readonly message: string };

export interface InitProducerIdInput {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  /** KIP-360 (v3+): the producer's current id and epoch, -1 when none. */
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface TxnProducer {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface AddPartitionsInput extends TxnProducer {
  readonly partitions: readonly TxnTopicPartition[];
}

export interface AddPartitionResult extends TxnTopicPartition {
  readonly error: FlotillaError | null;
}

export interface EndTxnInput extends TxnProducer {
  readonly commit: boolean;
}

/** A transactional id as `flotilla transactions` shows it. */
export interface TxnView {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly state: TxnStateName;
  readonly timeoutMs: number;
  readonly txn: number;
  readonly startMs: number;
  readonly updateMs: number;
  readonly partitions: readonly TxnTopicPartition[];
  readonly offsetsPartitions: readonly number[];
  /** The transaction-state partition that holds it, and its coordinator's epoch. */
  readonly statePartition: number;
  readonly coordinatorEpoch: number;
}

/** ListTransactions' filters: empty lists and a negative duration match everything. */
export interface TxnListFilter {
  readonly states: readonly string[];
  readonly producerIds: readonly number[];
  /** Only transactions started more than this long ago (-1: all). */
  readonly durationMs: number;
}

export interface TxnListResult {
  /** Filters that name no state Kafka knows. */
  readonly unknownStates: readonly string[];
  readonly transactions: readonly { readonly transactionalId: string; readonly producerId: number; readonly state: TxnStateName }[];
}

export interface TxnCoordinatorApi {
  /** The node that coordinates `transactionalId` (the leader of its transaction-state partition). */
  /** `listener`: the caller's; the endpoint returned is on it (absent: the PLAINTEXT one). */
  coordinatorFor(transactionalId: string, listener?: string): TxnLookup;
  initProducerId(input: InitProducerIdInput): Promise<ProducerIdAndEpoch>;
  addPartitions(input: AddPartitionsInput): Promise<AddPartitionResult[]>;
  /**
   * AddPartitionsToTxn v4+ with verifyOnly: whether each partition is already in the producer's
   * open transaction (null) or not (INVALID_TXN_STATE); changes nothing.
   */
  verifyPartitions(input: AddPartitionsInput): Promise<AddPartitionResult[]>;
  /** The group's offsets partition joins the transaction (AddOffsetsToTxn). */
  addOffsets(input: TxnProducer & { readonly groupId: string }): Promise<void>;
  endTxn(input: EndTxnInput): Promise<void>;
  /** The transactional ids of every transaction-state partition this node coordinates (ListTransactions). */
  listTransactions(filter: TxnListFilter): TxnListResult;
  /** One transactional id (DescribeTransactions): NOT_COORDINATOR, TRANSACTIONAL_ID_NOT_FOUND, INVALID_REQUEST. */
  describeTransaction(transactionalId: string): TxnView;
}
