/**
 * AlterPartitionReassignments (key 45): start (replicas given) or cancel (replicas null)
 * partition reassignments (kafka-reassign-partitions --execute / --cancel). Implemented v0, the
 * only version in Kafka 3.9 (flexible).
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('timeoutMs', int32, '0+', { default: 60_000 }),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      nf('replicas', array(int32), '0+', '0+'),
    ])), '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
  nf('errorMessage', string, '0+', '0+'),
  f('responses', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('errorCode', int16, '0+'),
      nf('errorMessage', string, '0+', '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type AlterPartitionReassignmentsRequest = ValueOf<typeof request>;
export type AlterPartitionReassignmentsResponse = ValueOf<typeof response>;

export const alterPartitionReassignmentsApi = defineApi({
  apiKey: 45, name: 'AlterPartitionReassignments', minVersion: 0, maxVersion: 0, flexibleFrom: 0, request, response,
});
