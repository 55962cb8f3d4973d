/**
 * AlterConfigs (key 33): replace a resource's configuration. Implemented v0-v2 (flexible from
 * v2). v1 same as v0 (responses before throttling); v2 flexible.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('resources', array(struct([
    f('resourceType', int8, '0+'),
    f('resourceName', string, '0+'),
    f('configs', array(struct([
      f('name', string, '0+'),
      nf('value', string, '0+', '0+'),
    ])), '0+'),
  ])), '0+'),
  f('validateOnly', bool, '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('responses', array(struct([
    f('errorCode', int16, '0+'),
    nf('errorMessage', string, '0+', '0+'),
    f('resourceType', int8, '0+'),
    f('resourceName', string, '0+'),
  ])), '0+'),
]);

export type AlterConfigsRequest = ValueOf<typeof request>;
export type AlterConfigsResponse = ValueOf<typeof response>;

export const alterConfigsApi = defineApi({
  apiKey: 33, name: 'AlterConfigs', minVersion: 0, maxVersion: 2, flexibleFrom: 2, request, response,
});
