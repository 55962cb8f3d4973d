/**
 * ListTransactions (key 66): the transactional ids every transaction coordinator of the cluster
 * holds; an admin client sends it to every broker and merges the answers (`kafka-transactions
 * list`). Implemented v0-v2 (flexible from v0).
 *
 * Request:  v0 stateFilters (empty: all), producerIdFilters (empty: all); v1 durationFilter (KIP-994:
 *           only transactions running longer than it, -1: all); v2 (Kafka 4.1, KIP-1152)
 *           transactionalIdPattern (null or empty: all; else only ids the regular expression
 *           matches in full).
 * Response: v1, v2 same as v0: errorCode (v2: INVALID_REGULAR_EXPRESSION for a bad pattern),
 *           unknownStateFilters, transactionStates[] (id, producer id, state named as Kafka names it).
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('stateFilters', array(string), '0+'),
  f('producerIdFilters', array(int64), '0+'),
  f('durationFilter', int64, '1+', { default: -1 }),
  nf('transactionalIdPattern', string, '2+', '2+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
  f('unknownStateFilters', array(string), '0+'),
  f('transactionStates', array(struct([
    f('transactionalId', string, '0+'),
    f('producerId', int64, '0+'),
    f('transactionState', string, '0+'),
  ])), '0+'),
]);

export type ListTransactionsRequest = ValueOf<typeof request>;
export type ListTransactionsResponse = ValueOf<typeof response>;

export const listTransactionsApi = defineApi({
  apiKey: 66, name: 'ListTransactions', minVersion: 0, maxVersion: 2, flexibleFrom: 0, request, response,
});
