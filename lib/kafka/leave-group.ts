/**
 * LeaveGroup (key 13): members leave a group. Implemented v0-v5 (flexible from v4).
 *
 * Request:  v1, v2 same as v0; v3 replaces memberId by a batch members[{memberId,
 *           groupInstanceId}] (KIP-345); v4 flexible; v5 members[].reason (KIP-800).
 * Response: v1 throttleTimeMs; v2 same as v1; v3 members[{memberId, groupInstanceId, errorCode}];
 *           v4 flexible; v5 same as v4.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('groupId', string, '0+'),
  f('memberId', string, '0-2'),
  f('members', array(struct([
    f('memberId', string, '3+'),
    nf('groupInstanceId', string, '3+', '3+'),
    nf('reason', string, '5+', '5+'),
  ])), '3+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '1+'),
  f('errorCode', int16, '0+'),
  f('members', array(struct([
    f('memberId', string, '3+'),
    nf('groupInstanceId', string, '3+', '3+'),
    f('errorCode', int16, '3+'),
  ])), '3+'),
]);

export type LeaveGroupRequest = ValueOf<typeof request>;
export type LeaveGroupResponse = ValueOf<typeof response>;

export const leaveGroupApi = defineApi({
  apiKey: 13, name: 'LeaveGroup', minVersion: 0, maxVersion: 5, flexibleFrom: 4, request, response,
});
