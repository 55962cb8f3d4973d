/**
 * AlterClientQuotas (key 49): sets and removes client quotas per entity. Implemented v0-1 (Kafka
 * 3.9's range; v1 flexible).
 *
 * Request:  entries[] {entity[] {entityType, entityName (null: the default)}, ops[] {key, value
 *           float64 (ignored when removing), remove}}, validateOnly.
 * Response: throttleTimeMs, entries[] {errorCode, errorMessage, entity[] {entityType, entityName}},
 *           one per request entry.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, float64, int16, int32, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const entity = array(struct([
  f('entityType', string, '0+'),
  nf('entityName', string, '0+', '0+'),
]));

const request = struct([
  f('entries', array(struct([
    f('entity', entity, '0+'),
    f('ops', array(struct([
      f('key', string, '0+'),
      f('value', float64, '0+'),
      f('remove', bool, '0+'),
    ])), '0+'),
  ])), '0+'),
  f('validateOnly', bool, '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('entries', array(struct([
    f('errorCode', int16, '0+'),
    nf('errorMessage', string, '0+', '0+'),
    f('entity', entity, '0+'),
  ])), '0+'),
]);

export type AlterClientQuotasRequest = ValueOf<typeof request>;
export type AlterClientQuotasResponse = ValueOf<typeof response>;

export const alterClientQuotasApi = defineApi({
  apiKey: 49, name: 'AlterClientQuotas', minVersion: 0, maxVersion: 1, flexibleFrom: 1, request, response,
});
