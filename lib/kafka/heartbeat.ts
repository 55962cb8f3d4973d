/**
 * Heartbeat (key 12): a member is alive; the answer tells it whether a rebalance is under way.
 * Implemented v0-v4 (flexible from v4).
 *
 * Request:  v1, v2 same as v0; v3 groupInstanceId; v4 flexible.
 * Response: v1 throttleTimeMs; v2, v3 same as v1; v4 flexible.
 */
import { defineApi } from './api.js';
import { field as f, int16, int32, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('groupId', string, '0+'),
  f('generationId', int32, '0+'),
  f('memberId', string, '0+'),
  nf('groupInstanceId', string, '3+', '3+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '1+'),
  f('errorCode', int16, '0+'),
]);

export type HeartbeatRequest = ValueOf<typeof request>;
export type HeartbeatResponse = ValueOf<typeof response>;

export const heartbeatApi = defineApi({
  apiKey: 12, name: 'Heartbeat', minVersion: 0, maxVersion: 4, flexibleFrom: 4, request, response,
});
