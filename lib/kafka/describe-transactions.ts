/**
 * DescribeTransactions (key 65): the state of transactional ids, from their coordinator (the
 * admin client sends one request per coordinator, found with FindCoordinator key type 1).
 * Implemented v0 (flexible from v0), the only version.
 *
 * Request:  transactionalIds[].
 * Response: per id an error (NOT_COORDINATOR, TRANSACTIONAL_ID_NOT_FOUND, ...), its state, timeout,
 *           start time, producer id and epoch, and the partitions of its transaction by topic.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('transactionalIds', array(string), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('transactionStates', array(struct([
    f('errorCode', int16, '0+'),
    f('transactionalId', string, '0+'),
    f('transactionState', string, '0+'),
    f('transactionTimeoutMs', int32, '0+'),
    f('transactionStartTimeMs', int64, '0+'),
    f('producerId', int64, '0+'),
    f('producerEpoch', int16, '0+'),
    f('topics', array(struct([
      f('topic', string, '0+'),
      f('partitions', array(int32), '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type DescribeTransactionsRequest = ValueOf<typeof request>;
export type DescribeTransactionsResponse = ValueOf<typeof response>;

export const describeTransactionsApi = defineApi({
  apiKey: 65, name: 'DescribeTransactions', minVersion: 0, maxVersion: 0, flexibleFrom: 0, request, response,
});
