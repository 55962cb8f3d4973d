/**
 * The transaction coordinator's settings (Kafka's broker names in the docs). Validated once by
 * `TxnCoordinator`'s constructor; INVALID_CONFIG names the setting.
 */
import type { SettingsOf } from '../base/settings.js';

export const txnCoordinatorSettings = {
  transactionStatePartitions: {
    type: 'int', default: 50, min: 1, max: 1000,
    doc: 'partitions of the internal transaction-state topic (transaction.state.log.num.partitions); the coordinator of id T leads partition hash(T) mod this',
  },
  transactionMaxTimeoutMs: {
    type: 'int', default: 900_000, min: 1, max: 86_400_000, unit: 'ms',
    doc: 'largest transaction timeout a producer may ask for (transaction.max.timeout.ms); above it INVALID_TRANSACTION_TIMEOUT',
  },
  transactionAbortCheckIntervalMs: {
    type: 'int', default: 1_000, min: 10, max: 3_600_000, unit: 'ms',
    doc: 'how often transactions past their timeout are looked for and aborted (transaction.abort.timed.out.transaction.cleanup.interval.ms)',
  },
  markerRetryBackoffMaxMs: {
    type: 'int', default: 1_000, min: 1, max: 60_000, unit: 'ms',
    doc: 'longest wait between two attempts to write a transaction marker to a partition whose leader is moving or down',
  },
  markerTimeoutMs: {
    type: 'int', default: 10_000, min: 100, max: 600_000, unit: 'ms',
    doc: 'how long one attempt to write a marker waits for the partition to commit it',
  },
} as const;

export type TxnCoordinatorSettings = SettingsOf<typeof txnCoordinatorSettings>;
