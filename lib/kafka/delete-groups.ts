/**
 * DeleteGroups (key 42): deletes empty groups and their committed offsets. Implemented v0-v2
 * (flexible from v2).
 *
 * Request:  v1 same as v0; v2 flexible.
 * Response: v1 same as v0 (responses before throttling); v2 flexible.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('groupsNames', array(string), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('results', array(struct([
    f('groupId', string, '0+'),
    f('errorCode', int16, '0+'),
  ])), '0+'),
]);

export type DeleteGroupsRequest = ValueOf<typeof request>;
export type DeleteGroupsResponse = ValueOf<typeof response>;

export const deleteGroupsApi = defineApi({
  apiKey: 42, name: 'DeleteGroups', minVersion: 0, maxVersion: 2, flexibleFrom: 2, request, response,
});
