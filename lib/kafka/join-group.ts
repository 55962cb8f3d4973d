/**
 * JoinGroup (key 11): a member joins (or rejoins) a group; the response comes when the join phase
 * of the rebalance completes. Implemented v0-v9 (flexible from v6).
 *
 * Request:  v1 rebalanceTimeoutMs (v0: the session timeout serves); v2, v3 same as v1; v4 same
 *           as v3 (an empty memberId gets MEMBER_ID_REQUIRED with a generated id, KIP-394); v5
 *           groupInstanceId (static membership, KIP-345); v6 flexible; v7 same as v6; v8 reason
 *           (why the member rejoins, KIP-800); v9 same as v8.
 * Response: v2 throttleTimeMs; v3, v4 same as v2; v5 members[].groupInstanceId; v6 flexible;
 *           v7 protocolType, protocolName nullable (KIP-559); v8 same as v7; v9 skipAssignment
 *           (a static leader that rejoined a Stable group gets the members but must not
 *           reassign, KIP-814).
 */
import { defineApi } from './api.js';
import { array, bool, bytes, field as f, int16, int32, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('groupId', string, '0+'),
  f('sessionTimeoutMs', int32, '0+'),
  f('rebalanceTimeoutMs', int32, '1+', { default: -1 }),
  f('memberId', string, '0+'),
  nf('groupInstanceId', string, '5+', '5+'),
  f('protocolType', string, '0+'),
  f('protocols', array(struct([
    f('name', string, '0+'),
    f('metadata', bytes, '0+'),
  ])), '0+'),
  nf('reason', string, '8+', '8+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '2+'),
  f('errorCode', int16, '0+'),
  f('generationId', int32, '0+', { default: -1 }),
  nf('protocolType', string, '7+', '7+'),
  nf('protocolName', string, '0+', '7+', { default: '' }),
  f('leader', string, '0+'),
  f('skipAssignment', bool, '9+'),
  f('memberId', string, '0+'),
  f('members', array(struct([
    f('memberId', string, '0+'),
    nf('groupInstanceId', string, '5+', '5+'),
    f('metadata', bytes, '0+'),
  ])), '0+'),
]);

export type JoinGroupRequest = ValueOf<typeof request>;
export type JoinGroupResponse = ValueOf<typeof response>;

export const joinGroupApi = defineApi({
  apiKey: 11, name: 'JoinGroup', minVersion: 0, maxVersion: 9, flexibleFrom: 6, request, response,
});
