/**
 * InitProducerId (key 22): a producer id and epoch for an idempotent producer (transactionalId
 * null: a fresh id, epoch 0) or a transactional one (its id, with the epoch bumped: earlier
 * instances are fenced). Implemented v0-v5 (flexible from v2). librdkafka's idempotence feature
 * needs v0 inside the range (research R1); it sends v4, KafkaJS v1.
 *
 * Request:  v1 same as v0; v2 flexible; v3 producerId, producerEpoch (KIP-360: an existing
 *           producer asks for an epoch bump); v4 same as v3 (PRODUCER_FENCED may be returned); v5 same as v4
 *           (the client understands TRANSACTION_ABORTABLE, KIP-890 part 1; Flotilla never
 *           returns it).
 * Response: v1-v5 the same fields (v2 flexible).
 */
import { defineApi } from './api.js';
import { field as f, int16, int32, int64, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  nf('transactionalId', string, '0+', '0+'),
  f('transactionTimeoutMs', int32, '0+'),
  f('producerId', int64, '3+', { default: -1 }),
  f('producerEpoch', int16, '3+', { default: -1 }),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
  f('producerId', int64, '0+', { default: -1 }),
  f('producerEpoch', int16, '0+'),
]);

export type InitProducerIdRequest = ValueOf<typeof request>;
export type InitProducerIdResponse = ValueOf<typeof response>;

export const initProducerIdApi = defineApi({
  apiKey: 22, name: 'InitProducerId', minVersion: 0, maxVersion: 5, flexibleFrom: 2, request, response,
});
