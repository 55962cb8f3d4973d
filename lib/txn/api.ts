/**
 * TxnCoordinatorApi: what the client listener's transaction handlers (lib/server/handlers) ask of
 * the node. Methods throw FlotillaErrors (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
 * CONCURRENT_TRANSACTIONS, PRODUCER_FENCED, INVALID_PRODUCER_ID_MAPPING, INVALID_TXN_STATE,
 * INVALID_TRANSACTION_TIMEOUT, ...) that lib/server/errors.ts maps to Kafka codes.
 */
import type { ProducerIdAndEpoch } from '../broker/api.js';

export type TxnLookup =
  | { readonly error: null; readonly nodeId: number; readonly host: string; readonly port: number }
  | { readonly error: 'COORDINATOR_NOT_AVAILABLE' | 'NOT_COORDINATOR'; readonly message: string };

export interface InitProducerIdInput {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  /** KIP-360 (v3+): the producer's current id and epoch, -1 when none. */
  readonly producerId: number;
  readonly producerEpoch: number;
}

export interface TxnCoordinatorApi {
  /** The node that coordinates `transactionalId` (the leader of its transaction-state partition). */
  coordinatorFor(transactionalId: string): TxnLookup;
  initProducerId(input: InitProducerIdInput): Promise<ProducerIdAndEpoch>;
}
