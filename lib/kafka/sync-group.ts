/**
 * SyncGroup (key 14): the leader hands in the assignment; every member gets its own. Implemented
 * v0-v5 (flexible from v4).
 *
 * Request:  v1, v2 same as v0; v3 groupInstanceId; v4 flexible; v5 protocolType, protocolName
 *           (KIP-559: INCONSISTENT_GROUP_PROTOCOL when they differ from the group's).
 * Response: v1 throttleTimeMs; v2, v3 same as v1; v4 flexible; v5 protocolType, protocolName.
 */
import { defineApi } from './api.js';
import { array, bytes, field as f, int16, int32, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('groupId', string, '0+'),
  f('generationId', int32, '0+'),
  f('memberId', string, '0+'),
  nf('groupInstanceId', string, '3+', '3+'),
  nf('protocolType', string, '5+', '5+'),
  nf('protocolName', string, '5+', '5+'),
  f('assignments', array(struct([
    f('memberId', string, '0+'),
    f('assignment', bytes, '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '1+'),
  f('errorCode', int16, '0+'),
  nf('protocolType', string, '5+', '5+'),
  nf('protocolName', string, '5+', '5+'),
  f('assignment', bytes, '0+'),
]);

export type SyncGroupRequest = ValueOf<typeof request>;
export type SyncGroupResponse = ValueOf<typeof response>;

export const syncGroupApi = defineApi({
  apiKey: 14, name: 'SyncGroup', minVersion: 0, maxVersion: 5, flexibleFrom: 4, request, response,
});
