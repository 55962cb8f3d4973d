/**
 * ListOffsets (key 2): the offset for a timestamp or a special position. Implemented v0-v10
 * (flexible from v6). The special timestamps: -1 latest, -2 earliest, -3 the record with the
 * largest timestamp (v7+, KIP-734), -4 the earliest offset in local storage (v8+, KIP-405), -5 the
 * latest offset in tiered storage (v9+, KIP-1005).
 *
 * Request:  v0 maxNumOffsets per partition (how many offsets the old-style answer may list);
 *           v1 a single offset per partition (maxNumOffsets gone); v2 isolationLevel; v3 same as
 *           v2; v4 partition currentLeaderEpoch; v5 same as v4; v6 flexible; v7-v9 the same
 *           fields (new timestamps allowed); v10 timeoutMs (for reads from remote storage, KIP-1075).
 * Response: v0 oldStyleOffsets (a list of offsets, no timestamp); v1 timestamp and offset instead;
 *           v2 throttleTimeMs; v4 leaderEpoch; v5 may return OFFSET_NOT_AVAILABLE; v6 flexible.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, int8, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('replicaId', int32, '0+'),
  f('isolationLevel', int8, '2+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('currentLeaderEpoch', int32, '4+', { default: -1 }),
      f('timestamp', int64, '0+'),
      f('maxNumOffsets', int32, '0', { default: 1 }),
    ])), '0+'),
  ])), '0+'),
  f('timeoutMs', int32, '10+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '2+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('errorCode', int16, '0+'),
      f('oldStyleOffsets', array(int64), '0'),
      f('timestamp', int64, '1+', { default: -1 }),
      f('offset', int64, '1+', { default: -1 }),
      f('leaderEpoch', int32, '4+', { default: -1 }),
    ])), '0+'),
  ])), '0+'),
]);

export type ListOffsetsRequest = ValueOf<typeof request>;
export type ListOffsetsResponse = ValueOf<typeof response>;

export const listOffsetsApi = defineApi({
  apiKey: 2, name: 'ListOffsets', minVersion: 0, maxVersion: 10, flexibleFrom: 6, request, response,
});
