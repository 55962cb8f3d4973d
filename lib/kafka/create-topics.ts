/**
 * CreateTopics (key 19). Implemented v0-v7 (flexible from v5).
 *
 * Request:  v1 validateOnly; v2, v3 same as v1; v4 numPartitions/replicationFactor may be -1 (broker defaults,
 *           KIP-464); v5 flexible; v6, v7 same as v5.
 * Response: v0 errorCode only (no message); v1 errorMessage; v2 throttleTimeMs; v5 flexible, numPartitions, replicationFactor,
 *           configs and tagged topicConfigErrorCode (0) (KIP-525); v6 may return
 *           THROTTLING_QUOTA_EXCEEDED; v7 topicId.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, int8, nullableField as nf, string, struct, uuid, type ValueOf } from './schema.js';

const request = struct([
  f('topics', array(struct([
    f('name', string, '0+'),
    f('numPartitions', int32, '0+'),
    f('replicationFactor', int16, '0+'),
    f('assignments', array(struct([
      f('partitionIndex', int32, '0+'),
      f('brokerIds', array(int32), '0+'),
    ])), '0+'),
    f('configs', array(struct([
      f('name', string, '0+'),
      nf('value', string, '0+', '0+'),
    ])), '0+'),
  ])), '0+'),
  f('timeoutMs', int32, '0+', { default: 60000 }),
  f('validateOnly', bool, '1+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '2+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('topicId', uuid, '7+'),
    f('errorCode', int16, '0+'),
    nf('errorMessage', string, '1+', '0+'),
    f('topicConfigErrorCode', int16, '5+', { tag: 0 }),
    f('numPartitions', int32, '5+', { default: -1 }),
    f('replicationFactor', int16, '5+', { default: -1 }),
    nf('configs', array(struct([
      f('name', string, '5+'),
      nf('value', string, '5+', '5+'),
      f('readOnly', bool, '5+'),
      f('configSource', int8, '5+', { default: -1 }),
      f('isSensitive', bool, '5+'),
    ])), '5+', '5+', { default: [] }),
  ])), '0+'),
]);

export type CreateTopicsRequest = ValueOf<typeof request>;
export type CreateTopicsResponse = ValueOf<typeof response>;

export const createTopicsApi = defineApi({
  apiKey: 19, name: 'CreateTopics', minVersion: 0, maxVersion: 7, flexibleFrom: 5, request, response,
});
