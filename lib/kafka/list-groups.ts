/**
 * ListGroups (key 16): the groups this coordinator owns. Implemented v0-v5 (flexible from v3);
 * v0-v1 for kafka-python 2.0.2, whose "v2" request class sends version 1.
 *
 * Request:  v1, v2 same as v0; v3 flexible; v4 statesFilter (KIP-518); v5 typesFilter (KIP-848:
 *           'classic', 'consumer', 'share'; every Flotilla group is classic).
 * Response: v1 throttleTimeMs; v2 same as v1; v3 flexible; v4 groups[].groupState; v5
 *           groups[].groupType.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('statesFilter', array(string), '4+'),
  f('typesFilter', array(string), '5+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '1+'),
  f('errorCode', int16, '0+'),
  f('groups', array(struct([
    f('groupId', string, '0+'),
    f('protocolType', string, '0+'),
    f('groupState', string, '4+'),
    f('groupType', string, '5+'),
  ])), '0+'),
]);

export type ListGroupsRequest = ValueOf<typeof request>;
export type ListGroupsResponse = ValueOf<typeof response>;

export const listGroupsApi = defineApi({
  apiKey: 16, name: 'ListGroups', minVersion: 0, maxVersion: 5, flexibleFrom: 3, request, response,
});
