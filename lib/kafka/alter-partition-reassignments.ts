/**
 * AlterPartitionReassignments (key 45): start (replicas given) or cancel (replicas null)
 * partition reassignments (kafka-reassign-partitions --execute / --cancel). Implemented v0-v1
 * (all flexible).
 *
 * Request:  v0 timeoutMs, topics[].partitions[] (replicas, null to cancel); v1 (Kafka 4.0, KIP-860)
 *           allowReplicationFactorChange (default true: false refuses a move that changes a
 *           partition's replica count with INVALID_REPLICATION_FACTOR).
 * Response: v0 error, responses[] per partition; v1 allowReplicationFactorChange (as asked).
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('timeoutMs', int32, '0+', { default: 60_000 }),
  f('allowReplicationFactorChange', bool, '1+', { default: true }),
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
  f('allowReplicationFactorChange', bool, '1+', { default: true }),
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
  apiKey: 45, name: 'AlterPartitionReassignments', minVersion: 0, maxVersion: 1, flexibleFrom: 0, request, response,
});
