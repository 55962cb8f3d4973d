/**
 * IncrementalAlterConfigs (key 44): change some keys of a resource's configuration, each with an
 * operation: 0 SET, 1 DELETE (back to the default), 2 APPEND and 3 SUBTRACT (list-valued keys,
 * e.g. cleanup.policy). Implemented v0-v1 (flexible from v1), from Kafka's
 * IncrementalAlterConfigsRequest/Response.json.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

/** ConfigOperation codes. */
export const ConfigOperation = { Set: 0, Delete: 1, Append: 2, Subtract: 3 } as const;

const request = struct([
  f('resources', array(struct([
    f('resourceType', int8, '0+'),
    f('resourceName', string, '0+'),
    f('configs', array(struct([
      f('name', string, '0+'),
      f('configOperation', int8, '0+'),
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

export type IncrementalAlterConfigsRequest = ValueOf<typeof request>;
export type IncrementalAlterConfigsResponse = ValueOf<typeof response>;

export const incrementalAlterConfigsApi = defineApi({
  apiKey: 44, name: 'IncrementalAlterConfigs', minVersion: 0, maxVersion: 1, flexibleFrom: 1, request, response,
});
