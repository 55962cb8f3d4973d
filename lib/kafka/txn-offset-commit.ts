/**
 * TxnOffsetCommit (key 28): a transactional producer commits a consumer group's offsets inside its
 * transaction, at the group's coordinator; they become visible with the COMMIT marker.
 * Implemented v0-v4 (flexible from v3).
 *
 * Request:  v1 same as v0; v2 committedLeaderEpoch; v3 flexible, generationId, memberId,
 *           groupInstanceId (KIP-447: the group fences zombie members); v4 same as v3 (the
 *           client understands TRANSACTION_ABORTABLE, KIP-890; Flotilla never returns it).
 * Response: v1-v4 the same fields.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('transactionalId', string, '0+'),
  f('groupId', string, '0+'),
  f('producerId', int64, '0+'),
  f('producerEpoch', int16, '0+'),
  f('generationId', int32, '3+', { default: -1 }),
  f('memberId', string, '3+', { default: '' }),
  nf('groupInstanceId', string, '3+', '3+', { default: null }),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('committedOffset', int64, '0+'),
      f('committedLeaderEpoch', int32, '2+', { default: -1 }),
      nf('committedMetadata', string, '0+', '0+'),
    ])), '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('errorCode', int16, '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type TxnOffsetCommitRequest = ValueOf<typeof request>;
export type TxnOffsetCommitResponse = ValueOf<typeof response>;

export const txnOffsetCommitApi = defineApi({
  apiKey: 28, name: 'TxnOffsetCommit', minVersion: 0, maxVersion: 4, flexibleFrom: 3, request, response,
});
