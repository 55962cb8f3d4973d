/**
 * EndTxn (key 26): commit or abort the producer's transaction. Answered once the decision is
 * durable (PrepareCommit / PrepareAbort); the markers follow. Implemented v0-v4 (flexible from v3).
 * Not v5: it means the epoch is bumped at the end of every transaction and the new one returned
 * (KIP-890 part 2, transaction.version 2), a feature Flotilla does not advertise; Kafka's clients
 * send v5 only when it is finalized.
 *
 * Request:  v1 same as v0; v2 same (PRODUCER_FENCED may be returned); v3 flexible; v4 same as v3
 *           (the client understands TRANSACTION_ABORTABLE, KIP-890 part 1; Flotilla never
 *           returns it).
 * Response: v1-v4 the same fields.
 */
import { defineApi } from './api.js';
import { bool, field as f, int16, int32, int64, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('transactionalId', string, '0+'),
  f('producerId', int64, '0+'),
  f('producerEpoch', int16, '0+'),
  f('committed', bool, '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
]);

export type EndTxnRequest = ValueOf<typeof request>;
export type EndTxnResponse = ValueOf<typeof response>;

export const endTxnApi = defineApi({
  apiKey: 26, name: 'EndTxn', minVersion: 0, maxVersion: 4, flexibleFrom: 3, request, response,
});
