/**
 * DeleteRecords (key 21): advance a partition's log start offset. Implemented v0-v2 (flexible
 * from v2). v1 same as v0 (responses before throttling); v2 flexible.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('offset', int64, '0+'),
    ])), '0+'),
  ])), '0+'),
  f('timeoutMs', int32, '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('lowWatermark', int64, '0+'),
      f('errorCode', int16, '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type DeleteRecordsRequest = ValueOf<typeof request>;
export type DeleteRecordsResponse = ValueOf<typeof response>;

export const deleteRecordsApi = defineApi({
  apiKey: 21, name: 'DeleteRecords', minVersion: 0, maxVersion: 2, flexibleFrom: 2, request, response,
});
