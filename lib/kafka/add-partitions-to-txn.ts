/**
 * AddPartitionsToTxn (key 24): a transactional producer names the partitions it is about to write
 * in its transaction (before its first write to each). Implemented v0-v3 (flexible from v3). Not
 * v4+: those carry the broker-to-broker batch format (KIP-890), and platformatic would pick them
 * (research 1.3).
 *
 * Request:  v1, v2 same as v0 (v2: PRODUCER_FENCED may be returned); v3 flexible.
 * Response: v1-v3 the same fields.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('transactionalId', string, '0+'),
  f('producerId', int64, '0+'),
  f('producerEpoch', int16, '0+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(int32), '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('results', array(struct([
    f('name', string, '0+'),
    f('results', array(struct([
      f('partitionIndex', int32, '0+'),
      f('errorCode', int16, '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type AddPartitionsToTxnRequest = ValueOf<typeof request>;
export type AddPartitionsToTxnResponse = ValueOf<typeof response>;

export const addPartitionsToTxnApi = defineApi({
  apiKey: 24, name: 'AddPartitionsToTxn', minVersion: 0, maxVersion: 3, flexibleFrom: 3, request, response,
});
