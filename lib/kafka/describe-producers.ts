/**
 * DescribeProducers (key 61): the active producers of partitions, from each partition leader's
 * producer state (what `kafka-transactions describe-producers` and the Admin client's
 * describeProducers send). Implemented v0 (flexible from v0), the only version.
 *
 * Request:  topics[] of name and partitionIndexes.
 * Response: per partition an error (NOT_LEADER_OR_FOLLOWER off the leader) and activeProducers[]:
 *           producer id, epoch, last sequence, last timestamp, coordinator epoch, the first offset
 *           of its open transaction (-1: none).
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, nullableField, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitionIndexes', array(int32), '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('errorCode', int16, '0+'),
      nullableField('errorMessage', string, '0+', '0+'),
      f('activeProducers', array(struct([
        f('producerId', int64, '0+'),
        f('producerEpoch', int32, '0+'),
        f('lastSequence', int32, '0+', { default: -1 }),
        f('lastTimestamp', int64, '0+', { default: -1 }),
        f('coordinatorEpoch', int32, '0+'),
        f('currentTxnStartOffset', int64, '0+', { default: -1 }),
      ])), '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type DescribeProducersRequest = ValueOf<typeof request>;
export type DescribeProducersResponse = ValueOf<typeof response>;

export const describeProducersApi = defineApi({
  apiKey: 61, name: 'DescribeProducers', minVersion: 0, maxVersion: 0, flexibleFrom: 0, request, response,
});
