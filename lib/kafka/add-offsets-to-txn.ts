/**
 * AddOffsetsToTxn (key 25): a transactional producer will commit a consumer group's offsets in its
 * transaction (the group's offsets partition joins the transaction). Implemented v0-v1 (none
 * flexible; Kafka's flexible versions start at 3).
 *
 * Request:  v1 same as v0.
 * Response: v1 same as v0.
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
  apiKey: 25, name: 'AddOffsetsToTxn', minVersion: 0, maxVersion: 1, flexibleFrom: 3, request, response,
});
