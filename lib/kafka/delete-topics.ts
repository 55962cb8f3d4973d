/**
 * DeleteTopics (key 20). Implemented v0-v6 (flexible from v4).
 *
 * Request:  v0-v3 topicNames and timeoutMs; v4 flexible; v5 same; v6 replaces topicNames by
 *           topics[{name (nullable), topicId}].
 * Response: v1 throttleTimeMs; v3 may return TOPIC_DELETION_DISABLED; v4 flexible;
 *           v5 errorMessage (and THROTTLING_QUOTA_EXCEEDED); v6 topicId, name nullable.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, nullableField as nf, string, struct, uuid, type ValueOf } from './schema.js';

const request = struct([
  f('topics', array(struct([
    nf('name', string, '6+', '6+'),
    f('topicId', uuid, '6+'),
  ])), '6+'),
  f('topicNames', array(string), '0-5'),
  f('timeoutMs', int32, '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '1+'),
  f('responses', array(struct([
    nf('name', string, '0+', '6+', { default: '' }),
    f('topicId', uuid, '6+'),
    f('errorCode', int16, '0+'),
    nf('errorMessage', string, '5+', '5+'),
  ])), '0+'),
]);

export type DeleteTopicsRequest = ValueOf<typeof request>;
export type DeleteTopicsResponse = ValueOf<typeof response>;

export const deleteTopicsApi = defineApi({
  apiKey: 20, name: 'DeleteTopics', minVersion: 0, maxVersion: 6, flexibleFrom: 4, request, response,
});
