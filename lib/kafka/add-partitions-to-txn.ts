/**
 * AddPartitionsToTxn (key 24): a transactional producer names the partitions it is about to write
 * in its transaction (before its first write to each). Implemented v0-v5 (flexible from v3).
 *
 * Request:  v1, v2 same as v0 (v2: PRODUCER_FENCED may be returned); v3 flexible; v4 replaces the
 *           single transaction by a batch transactions[{transactionalId, producerId,
 *           producerEpoch, verifyOnly, topics}] (KIP-890 part 1: Kafka's brokers use it to ask the
 *           coordinator whether partitions are already in a transaction, verifyOnly; clients
 *           keep to v3); v5 same as v4 (TRANSACTION_ABORTABLE may be returned; Flotilla never
 *           does).
 * Response: v1-v3 the same fields; v4 top-level errorCode and resultsByTransaction replace
 *           results; v5 same as v4.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, int64, string, struct, type ValueOf } from './schema.js';

function topics(v: string) {
  return array(struct([
    f('name', string, v),
    f('partitions', array(int32), v),
  ]));
}

function topicResults(v: string) {
  return array(struct([
    f('name', string, v),
    f('results', array(struct([
      f('partitionIndex', int32, v),
      f('errorCode', int16, v),
    ])), v),
  ]));
}

const request = struct([
  f('transactions', array(struct([
    f('transactionalId', string, '4+'),
    f('producerId', int64, '4+'),
    f('producerEpoch', int16, '4+'),
    f('verifyOnly', bool, '4+'),
    f('topics', topics('4+'), '4+'),
  ])), '4+'),
  f('transactionalId', string, '0-3'),
  f('producerId', int64, '0-3'),
  f('producerEpoch', int16, '0-3'),
  f('topics', topics('0-3'), '0-3'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '4+'),
  f('resultsByTransaction', array(struct([
    f('transactionalId', string, '4+'),
    f('topicResults', topicResults('4+'), '4+'),
  ])), '4+'),
  f('results', topicResults('0-3'), '0-3'),
]);

export type AddPartitionsToTxnRequest = ValueOf<typeof request>;
export type AddPartitionsToTxnResponse = ValueOf<typeof response>;

export const addPartitionsToTxnApi = defineApi({
  apiKey: 24, name: 'AddPartitionsToTxn', minVersion: 0, maxVersion: 5, flexibleFrom: 3, request, response,
});
