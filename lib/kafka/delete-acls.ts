/**
 * DeleteAcls (key 31): deletes the ACL bindings matching each filter; per filter, the bindings it
 * matched (each with its own error). Implemented v0-v3 as Kafka 3.9 (v0 deprecated; flexible from v2).
 *
 * Request:  filters[] {resource type, name, principal, host, operation, permission}; v1 adds the
 *           pattern type filter (v0: LITERAL); v2 flexible; v3 allows the USER resource type.
 * Response: filterResults[] {error, message, matchingAcls[] {error, message, resource type, name,
 *           principal, host, operation, permission}}; v1 adds each match's pattern type.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('filters', array(struct([
    f('resourceTypeFilter', int8, '0+'),
    nf('resourceNameFilter', string, '0+', '0+'),
    f('patternTypeFilter', int8, '1+', { default: 3 }),
    nf('principalFilter', string, '0+', '0+'),
    nf('hostFilter', string, '0+', '0+'),
    f('operation', int8, '0+'),
    f('permissionType', int8, '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('filterResults', array(struct([
    f('errorCode', int16, '0+'),
    nf('errorMessage', string, '0+', '0+'),
    f('matchingAcls', array(struct([
      f('errorCode', int16, '0+'),
      nf('errorMessage', string, '0+', '0+'),
      f('resourceType', int8, '0+'),
      f('resourceName', string, '0+'),
      f('patternType', int8, '1+', { default: 3 }),
      f('principal', string, '0+'),
      f('host', string, '0+'),
      f('operation', int8, '0+'),
      f('permissionType', int8, '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type DeleteAclsRequest = ValueOf<typeof request>;
export type DeleteAclsResponse = ValueOf<typeof response>;

export const deleteAclsApi = defineApi({
  apiKey: 31, name: 'DeleteAcls', minVersion: 0, maxVersion: 3, flexibleFrom: 2, request, response,
});
