/**
 * AddOffsetsToTxn (key 25): a transactional producer will commit a consumer group's offsets in its
 * transaction (the group's offsets partition joins the transaction). Implemented v0-v4 (flexible
 * from v3).
 *
 * Request:  v1 same as v0; v2 same (PRODUCER_FENCED may be returned); v3 flexible; v4 same as v3
 *           (the client understands TRANSACTION_ABORTABLE, KIP-890; Flotilla never returns it).
 * Response: v1-v4 the same fields.
 */
import { defineApi } from './api.js';
import { field as f, int16, int32, int64, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('transactionalId', string, '0+'),
  f('producerId', int64, '0+'),
  f('producerEpoch', int16, '0+'),
  f('groupId', string, '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
]);

export type AddOffsetsToTxnRequest = ValueOf<typeof request>;
export type AddOffsetsToTxnResponse = ValueOf<typeof response>;

export const addOffsetsToTxnApi = defineApi({
  apiKey: 25, name: 'AddOffsetsToTxn', minVersion: 0, maxVersion: 4, flexibleFrom: 3, request, response,
});
