/**
 * CreateAcls (key 30): creates ACL bindings, one result per creation in request order.
 * Implemented v0-v3 as Kafka 3.9 (v0 deprecated; flexible from v2).
 *
 * Request:  v0 creations[] {resource type, name, principal, host, operation, permission}; v1 adds
 *           the resource pattern type (v0: LITERAL); v2 flexible; v3 allows the USER resource type.
 * Response: results[] {error code, error message}.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('creations', array(struct([
    f('resourceType', int8, '0+'),
    f('resourceName', string, '0+'),
    f('resourcePatternType', int8, '1+', { default: 3 }),
    f('principal', string, '0+'),
    f('host', string, '0+'),
    f('operation', int8, '0+'),
    f('permissionType', int8, '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('results', array(struct([
    f('errorCode', int16, '0+'),
    nf('errorMessage', string, '0+', '0+'),
  ])), '0+'),
]);

export type CreateAclsRequest = ValueOf<typeof request>;
export type CreateAclsResponse = ValueOf<typeof response>;

export const createAclsApi = defineApi({
  apiKey: 30, name: 'CreateAcls', minVersion: 0, maxVersion: 3, flexibleFrom: 2, request, response,
});
