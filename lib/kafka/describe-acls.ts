/**
 * DescribeAcls (key 29): the ACL bindings matching one filter, grouped by resource. Implemented
 * v0-v3 as Kafka 3.9 (v0 deprecated; flexible from v2).
 *
 * Request:  v0 resource type/name, principal, host, operation, permission filters; v1 adds the
 *           pattern type filter (v0: LITERAL); v2 flexible; v3 allows the USER resource type.
 * Response: v0 error, resources[] {type, name, acls[] {principal, host, operation, permission}};
 *           v1 adds each resource's pattern type.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('resourceTypeFilter', int8, '0+'),
  nf('resourceNameFilter', string, '0+', '0+'),
  f('patternTypeFilter', int8, '1+', { default: 3 }),
  nf('principalFilter', string, '0+', '0+'),
  nf('hostFilter', string, '0+', '0+'),
  f('operation', int8, '0+'),
  f('permissionType', int8, '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
  nf('errorMessage', string, '0+', '0+'),
  f('resources', array(struct([
    f('resourceType', int8, '0+'),
    f('resourceName', string, '0+'),
    f('patternType', int8, '1+', { default: 3 }),
    f('acls', array(struct([
      f('principal', string, '0+'),
      f('host', string, '0+'),
      f('operation', int8, '0+'),
      f('permissionType', int8, '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type DescribeAclsRequest = ValueOf<typeof request>;
export type DescribeAclsResponse = ValueOf<typeof response>;

export const describeAclsApi = defineApi({
  apiKey: 29, name: 'DescribeAcls', minVersion: 0, maxVersion: 3, flexibleFrom: 2, request, response,
});
