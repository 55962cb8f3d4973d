/**
 * DescribeConfigs (key 32): topic and broker configuration. Implemented v0-v4 (flexible from
 * v4).
 *
 * Request:  v1 includeSynonyms; v2 same as v1; v3 includeDocumentation; v4 flexible.
 * Response: v0 isDefault; v1 configSource and synonyms replace isDefault; v2 same as v1
 *           (responses before throttling); v3 configType and documentation; v4 flexible.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('resources', array(struct([
    f('resourceType', int8, '0+'),
    f('resourceName', string, '0+'),
    nf('configurationKeys', array(string), '0+', '0+'),
  ])), '0+'),
  f('includeSynonyms', bool, '1+'),
  f('includeDocumentation', bool, '3+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('results', array(struct([
    f('errorCode', int16, '0+'),
    nf('errorMessage', string, '0+', '0+'),
    f('resourceType', int8, '0+'),
    f('resourceName', string, '0+'),
    f('configs', array(struct([
      f('name', string, '0+'),
      nf('value', string, '0+', '0+'),
      f('readOnly', bool, '0+'),
      f('isDefault', bool, '0'),
      f('configSource', int8, '1+', { default: -1 }),
      f('isSensitive', bool, '0+'),
      f('synonyms', array(struct([
        f('name', string, '1+'),
        nf('value', string, '1+', '0+'),
        f('source', int8, '1+'),
      ])), '1+'),
      f('configType', int8, '3+'),
      nf('documentation', string, '3+', '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type DescribeConfigsRequest = ValueOf<typeof request>;
export type DescribeConfigsResponse = ValueOf<typeof response>;

export const describeConfigsApi = defineApi({
  apiKey: 32, name: 'DescribeConfigs', minVersion: 0, maxVersion: 4, flexibleFrom: 4, request, response,
});
