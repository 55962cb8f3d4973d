/**
 * OffsetForLeaderEpoch (key 23): the end offset of a leader epoch (= Raft term) in the leader's
 * log, with which consumers validate their position after a leader change (KIP-320) and followers
 * find where to truncate. Implemented v0-v4 (flexible from v4).
 *
 * Request:  v0 topics/partitions/leaderEpoch; v1 same as v0; v2 partition currentLeaderEpoch
 *           (fencing); v3 replicaId (-1 consumer, -2 default, a broker id for followers);
 *           v4 flexible.
 * Response: v0 errorCode/partition/endOffset; v1 leaderEpoch (the epoch the end offset belongs to);
 *           v2 throttleTimeMs; v3 same as v2; v4 flexible.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('replicaId', int32, '3+', { default: -2 }),
  f('topics', array(struct([
    f('topic', string, '0+'),
    f('partitions', array(struct([
      f('partition', int32, '0+'),
      f('currentLeaderEpoch', int32, '2+', { default: -1 }),
      f('leaderEpoch', int32, '0+'),
    ])), '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '2+'),
  f('topics', array(struct([
    f('topic', string, '0+'),
    f('partitions', array(struct([
      f('errorCode', int16, '0+'),
      f('partition', int32, '0+'),
      f('leaderEpoch', int32, '1+', { default: -1 }),
      f('endOffset', int64, '0+', { default: -1 }),
    ])), '0+'),
  ])), '0+'),
]);

export type OffsetForLeaderEpochRequest = ValueOf<typeof request>;
export type OffsetForLeaderEpochResponse = ValueOf<typeof response>;

export const offsetForLeaderEpochApi = defineApi({
  apiKey: 23, name: 'OffsetForLeaderEpoch', minVersion: 0, maxVersion: 4, flexibleFrom: 4, request, response,
});
