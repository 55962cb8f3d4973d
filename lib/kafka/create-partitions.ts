/**
 * CreatePartitions (key 37): grow a topic's partition count. Implemented v0-v3 (flexible from
 * v2). v1 is the same as v0 (responses before throttling); v2 flexible; v3 the same as v2, and the
 * client handles THROTTLING_QUOTA_EXCEEDED (KIP-599; Flotilla has no controller mutation quota, so
 * it never answers it).
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('topics', array(struct([
    f('name', string, '0+'),
    f('count', int32, '0+'),
    nf('assignments', array(struct([
      f('brokerIds', array(int32), '0+'),
    ])), '0+', '0+'),
  ])), '0+'),
  f('timeoutMs', int32, '0+'),
  f('validateOnly', bool, '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('results', array(struct([
    f('name', string, '0+'),
    f('errorCode', int16, '0+'),
    nf('errorMessage', string, '0+', '0+'),
  ])), '0+'),
]);

export type CreatePartitionsRequest = ValueOf<typeof request>;
export type CreatePartitionsResponse = ValueOf<typeof response>;

export const createPartitionsApi = defineApi({
  apiKey: 37, name: 'CreatePartitions', minVersion: 0, maxVersion: 3, flexibleFrom: 2, request, response,
});
