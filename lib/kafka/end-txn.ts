/**
 * EndTxn (key 26): commit or abort the producer's transaction. Answered once the decision is
 * durable (PrepareCommit / PrepareAbort); the markers follow. Implemented v0-v3 (flexible from v3).
 *
 * Request:  v1 same as v0; v2 same (PRODUCER_FENCED may be returned); v3 flexible.
 * Response: v1-v3 the same fields.
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
  apiKey: 26, name: 'EndTxn', minVersion: 0, maxVersion: 3, flexibleFrom: 3, request, response,
});
