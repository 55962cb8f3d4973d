/**
 * OffsetDelete (key 47): deletes committed offsets of partitions a group no longer consumes
 * (KIP-496). Implemented v0 (not flexible; Kafka's v1 is the first flexible one).
 *
 * Response: errorCode is the group-level error; partitions carry their own.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('groupId', string, '0+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
    ])), '0+'),
  ])), '0+'),
]);

const response = struct([
  f('errorCode', int16, '0+'),
  f('throttleTimeMs', int32, '0+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('errorCode', int16, '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type OffsetDeleteRequest = ValueOf<typeof request>;
export type OffsetDeleteResponse = ValueOf<typeof response>;

export const offsetDeleteApi = defineApi({
  apiKey: 47, name: 'OffsetDelete', minVersion: 0, maxVersion: 0, flexibleFrom: Infinity, request, response,
});
