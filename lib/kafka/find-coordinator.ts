/**
 * FindCoordinator (key 10): which broker coordinates a group (keyType 0) or a transactional id
 * (keyType 1); keyType 2 (share groups, KIP-932) is answered INVALID_REQUEST: Flotilla has none.
 * Implemented v0-v6 (flexible from v3).
 *
 * Request:  v1 keyType; v2 same as v1; v3 flexible; v4 replaces key by coordinatorKeys (batched
 *           lookup, KIP-699); v5 same as v4 (TRANSACTION_ABORTABLE may be returned, KIP-890);
 *           v6 same as v5 (keyType 2, share groups, may be asked).
 * Response: v1 throttleTimeMs, errorMessage; v2 same; v3 flexible; v4 replaces the single
 *           answer by coordinators[{key, nodeId, host, port, errorCode, errorMessage}]; v5, v6
 *           same as v4.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('key', string, '0-3'),
  f('keyType', int8, '1+'),
  f('coordinatorKeys', array(string), '4+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '1+'),
  f('errorCode', int16, '0-3'),
  nf('errorMessage', string, '1-3', '1-3'),
  f('nodeId', int32, '0-3'),
  f('host', string, '0-3'),
  f('port', int32, '0-3'),
  f('coordinators', array(struct([
    f('key', string, '4+'),
    f('nodeId', int32, '4+'),
    f('host', string, '4+'),
    f('port', int32, '4+'),
    f('errorCode', int16, '4+'),
    nf('errorMessage', string, '4+', '4+'),
  ])), '4+'),
]);

export type FindCoordinatorRequest = ValueOf<typeof request>;
export type FindCoordinatorResponse = ValueOf<typeof response>;

export const findCoordinatorApi = defineApi({
  apiKey: 10, name: 'FindCoordinator', minVersion: 0, maxVersion: 6, flexibleFrom: 3, request, response,
});
