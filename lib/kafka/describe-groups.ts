/**
 * DescribeGroups (key 15): state, protocol and members of groups. Implemented v0-v6 (flexible
 * from v5).
 *
 * Request:  v1, v2 same as v0; v3 includeAuthorizedOperations; v4 same as v3; v5 flexible; v6 same
 *           as v5 (it announces the response's errorMessage).
 * Response: v1 throttleTimeMs; v2 same as v1; v3 authorizedOperations; v4 members[].groupInstanceId;
 *           v5 flexible; v6 (Kafka 4.0, KIP-1043) groups[].errorMessage, and an unknown group is
 *           GROUP_ID_NOT_FOUND (before v6 it is no error, state Dead).
 */
import { defineApi } from './api.js';
import { array, bool, bytes, field as f, int16, int32, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('groups', array(string), '0+'),
  f('includeAuthorizedOperations', bool, '3+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '1+'),
  f('groups', array(struct([
    f('errorCode', int16, '0+'),
    nf('errorMessage', string, '6+', '6+'),
    f('groupId', string, '0+'),
    f('groupState', string, '0+'),
    f('protocolType', string, '0+'),
    f('protocolData', string, '0+'),
    f('members', array(struct([
      f('memberId', string, '0+'),
      nf('groupInstanceId', string, '4+', '4+'),
      f('clientId', string, '0+'),
      f('clientHost', string, '0+'),
      f('memberMetadata', bytes, '0+'),
      f('memberAssignment', bytes, '0+'),
    ])), '0+'),
    f('authorizedOperations', int32, '3+', { default: -2147483648 }),
  ])), '0+'),
]);

export type DescribeGroupsRequest = ValueOf<typeof request>;
export type DescribeGroupsResponse = ValueOf<typeof response>;

export const describeGroupsApi = defineApi({
  apiKey: 15, name: 'DescribeGroups', minVersion: 0, maxVersion: 6, flexibleFrom: 5, request, response,
});
