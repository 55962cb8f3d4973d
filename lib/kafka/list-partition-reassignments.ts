/**
 * ListPartitionReassignments (key 46): the reassignments in progress, with the full replica set
 * and the replicas being added and removed (kafka-reassign-partitions --verify / --list).
 * Implemented v0, the only version in Kafka 3.9 (flexible). topics null: every partition.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('timeoutMs', int32, '0+', { default: 60_000 }),
  nf('topics', array(struct([
    f('name', string, '0+'),
    f('partitionIndexes', array(int32), '0+'),
  ])), '0+', '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
  nf('errorMessage', string, '0+', '0+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('replicas', array(int32), '0+'),
      f('addingReplicas', array(int32), '0+'),
      f('removingReplicas', array(int32), '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type ListPartitionReassignmentsRequest = ValueOf<typeof request>;
export type ListPartitionReassignmentsResponse = ValueOf<typeof response>;

export const listPartitionReassignmentsApi = defineApi({
  apiKey: 46, name: 'ListPartitionReassignments', minVersion: 0, maxVersion: 0, flexibleFrom: 0, request, response,
});
