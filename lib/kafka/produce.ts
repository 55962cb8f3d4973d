/**
 * Produce (key 0): append record batches. Implemented v0-v11 (flexible from v9). v3 is the first
 * with record batch v2 and adds transactionalId; v4-v6 are the same as v3 (v4: KAFKA_STORAGE_ERROR
 * may be returned); v7 allows zstd; v8 adds the response's recordErrors and errorMessage (KIP-467);
 * v9 flexible; v10 the same as v9 (KIP-951: the response's tagged currentLeader and
 * nodeEndpoints); v11 the same as v10, the client handles TRANSACTION_ABORTABLE (KIP-890).
 * v12 (Kafka 4.0: the KIP-890 transaction protocol, where AddPartitionsToTxn is implicit) is not
 * implemented: its meaning depends on the `transaction.version` feature, which Flotilla does not
 * advertise.
 * v0-v2 are advertised and decoded (the fields are the same) only because librdkafka <= 2.11
 * enables gzip, snappy and lz4 only when the broker's Produce range includes v0
 * (rdkafka_msgset_writer.c asks for Produce in [0, 0]); the server answers v0-v2 requests, which
 * carry the old message formats, with UNSUPPORTED_FOR_MESSAGE_FORMAT.
 * The record set stays a raw Buffer (a view into the request frame): lib/records validates it.
 *
 * Response: v1 adds throttleTimeMs, v2 logAppendTimeMs, v5 logStartOffset, v8 recordErrors (the
 * index and message of each record that made the batch be refused) and errorMessage, v10 tagged
 * partition currentLeader (0) and top-level nodeEndpoints (0): the leader a NOT_LEADER_OR_FOLLOWER
 * partition moved to, and how to reach it.
 * acks = 0 means the client expects no response at all (the server sends nothing).
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, nullableField as nf, records, string, struct, type ValueOf } from './schema.js';

const request = struct([
  nf('transactionalId', string, '3+', '0+'),
  f('acks', int16, '0+'),
  f('timeoutMs', int32, '0+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      nf('records', records, '0+', '0+'),
    ])), '0+'),
  ])), '0+'),
]);

const response = struct([
  f('responses', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('errorCode', int16, '0+'),
      f('baseOffset', int64, '0+'),
      f('logAppendTimeMs', int64, '2+', { default: -1 }),
      f('logStartOffset', int64, '5+', { default: -1 }),
      f('recordErrors', array(struct([
        f('batchIndex', int32, '8+'),
        nf('batchIndexErrorMessage', string, '8+', '8+'),
      ])), '8+'),
      nf('errorMessage', string, '8+', '8+'),
      f('currentLeader', struct([
        f('leaderId', int32, '10+', { default: -1 }),
        f('leaderEpoch', int32, '10+', { default: -1 }),
      ]), '10+', { tag: 0 }),
    ])), '0+'),
  ])), '0+'),
  f('throttleTimeMs', int32, '1+'),
  f('nodeEndpoints', array(struct([
    f('nodeId', int32, '10+'),
    f('host', string, '10+'),
    f('port', int32, '10+'),
    nf('rack', string, '10+', '10+'),
  ])), '10+', { tag: 0 }),
]);

export type ProduceRequest = ValueOf<typeof request>;
export type ProduceResponse = ValueOf<typeof response>;

export const produceApi = defineApi({
  apiKey: 0, name: 'Produce', minVersion: 0, maxVersion: 11, flexibleFrom: 9, request, response,
});
