/**
 * DescribeClientQuotas (key 48): the client quotas whose entity matches a filter. Implemented
 * v0-1 (Kafka 3.9's range; v1 flexible).
 *
 * Request:  components[] {entityType, matchType (0 exact name, 1 the default entity, 2 any
 *           specified entity of that type), match (the name for 0, else null)}, strict (only
 *           entities with no other entity type).
 * Response: throttleTimeMs, errorCode, errorMessage, entries (null on error)[] {entity[]
 *           {entityType, entityName (null: the default)}, values[] {key, value float64}}.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, float64, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('components', array(struct([
    f('entityType', string, '0+'),
    f('matchType', int8, '0+'),
    nf('match', string, '0+', '0+'),
  ])), '0+'),
  f('strict', bool, '0+'),
]);

const entity = array(struct([
  f('entityType', string, '0+'),
  nf('entityName', string, '0+', '0+'),
]));

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
  nf('errorMessage', string, '0+', '0+'),
  nf('entries', array(struct([
    f('entity', entity, '0+'),
    f('values', array(struct([
      f('key', string, '0+'),
      f('value', float64, '0+'),
    ])), '0+'),
  ])), '0+', '0+'),
]);

export type DescribeClientQuotasRequest = ValueOf<typeof request>;
export type DescribeClientQuotasResponse = ValueOf<typeof response>;

export const describeClientQuotasApi = defineApi({
  apiKey: 48, name: 'DescribeClientQuotas', minVersion: 0, maxVersion: 1, flexibleFrom: 1, request, response,
});
