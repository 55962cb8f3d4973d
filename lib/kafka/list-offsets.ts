/**
 * ListOffsets (key 2): the offset for a timestamp (-1 latest, -2 earliest). Implemented v1-v5
 * (none flexible; Kafka's flexible versions start at 6).
 *
 * Request:  v1 a single offset per partition (v0's maxNumOffsets gone); v2 isolationLevel;
 *           v3 same as v2; v4 partition currentLeaderEpoch; v5 same as v4.
 * Response: v1 timestamp and offset; v2 throttleTimeMs; v4 leaderEpoch; v5 may return
 *           OFFSET_NOT_AVAILABLE.
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
    ])), '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '2+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('errorCode', int16, '0+'),
      f('timestamp', int64, '1+', { default: -1 }),
      f('offset', int64, '1+', { default: -1 }),
      f('leaderEpoch', int32, '4+', { default: -1 }),
    ])), '0+'),
  ])), '0+'),
]);

export type ListOffsetsRequest = ValueOf<typeof request>;
export type ListOffsetsResponse = ValueOf<typeof response>;

export const listOffsetsApi = defineApi({
  apiKey: 2, name: 'ListOffsets', minVersion: 1, maxVersion: 5, flexibleFrom: 6, request, response,
});
