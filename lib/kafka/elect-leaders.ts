/**
 * ElectLeaders (key 43): elect the preferred (or, in Kafka, an unclean) leader of partitions
 * (kafka-leader-election, AdminClient.electLeaders). Implemented v0-v2 (flexible from v2).
 *
 * Request:  v0 topicPartitions (null: every partition) and timeoutMs; v1 electionType
 *           (0 preferred, 1 unclean); v2 flexible.
 * Response: v0 per-partition errors; v1 a top-level errorCode; v2 flexible.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('electionType', int8, '1+', { default: 0 }),
  nf('topicPartitions', array(struct([
    f('topic', string, '0+'),
    f('partitions', array(int32), '0+'),
  ])), '0+', '0+'),
  f('timeoutMs', int32, '0+', { default: 60_000 }),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '1+'),
  f('replicaElectionResults', array(struct([
    f('topic', string, '0+'),
    f('partitionResult', array(struct([
      f('partitionId', int32, '0+'),
      f('errorCode', int16, '0+'),
      nf('errorMessage', string, '0+', '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type ElectLeadersRequest = ValueOf<typeof request>;
export type ElectLeadersResponse = ValueOf<typeof response>;

/** ElectionType values. */
export const ElectionType = { preferred: 0, unclean: 1 } as const;

export const electLeadersApi = defineApi({
  apiKey: 43, name: 'ElectLeaders', minVersion: 0, maxVersion: 2, flexibleFrom: 2, request, response,
});
