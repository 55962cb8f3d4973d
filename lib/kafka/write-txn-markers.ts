/**
 * WriteTxnMarkers (key 27): write COMMIT or ABORT markers to partitions this node leads. Kafka's
 * coordinators send it to partition leaders; an operator's `kafka-transactions abort` sends it to
 * end a hanging transaction (Flotilla's own coordinator writes its markers over the peer RPC, with
 * the transaction's number: lib/txn). Implemented v0-v1 (flexible from v1).
 *
 * Request:  markers[] of producer id, epoch, transactionResult (true: COMMIT), topics[] of name and
 *           partitionIndexes, coordinatorEpoch. v1 flexible.
 * Response: per marker, topic and partition an error code. v1 flexible.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, int64, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('markers', array(struct([
    f('producerId', int64, '0+'),
    f('producerEpoch', int16, '0+'),
    f('transactionResult', bool, '0+'),
    f('topics', array(struct([
      f('name', string, '0+'),
      f('partitionIndexes', array(int32), '0+'),
    ])), '0+'),
    f('coordinatorEpoch', int32, '0+'),
  ])), '0+'),
]);

const response = struct([
  f('markers', array(struct([
    f('producerId', int64, '0+'),
    f('topics', array(struct([
      f('name', string, '0+'),
      f('partitions', array(struct([
        f('partitionIndex', int32, '0+'),
        f('errorCode', int16, '0+'),
      ])), '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type WriteTxnMarkersRequest = ValueOf<typeof request>;
export type WriteTxnMarkersResponse = ValueOf<typeof response>;

export const writeTxnMarkersApi = defineApi({
  apiKey: 27, name: 'WriteTxnMarkers', minVersion: 0, maxVersion: 1, flexibleFrom: 1, request, response,
});
