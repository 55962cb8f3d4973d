/**
 * DescribeTopicPartitions (key 75): topic and partition metadata in pages (KIP-966; what
 * kafka-topics --describe sends since Kafka 3.8, falling back to Metadata when the broker lacks
 * it). Implemented v0, the only version (flexible). The request names topics (none: all) and may
 * carry a cursor (topic, first partition); the response stops after responsePartitionLimit
 * partitions and then carries nextCursor.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, nullableField as nf, string, struct, uuid, type ValueOf } from './schema.js';

const cursor = struct([
  f('topicName', string, '0+'),
  f('partitionIndex', int32, '0+'),
]);

const request = struct([
  f('topics', array(struct([
    f('name', string, '0+'),
  ])), '0+'),
  f('responsePartitionLimit', int32, '0+', { default: 2000 }),
  nf('cursor', cursor, '0+', '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('topics', array(struct([
    f('errorCode', int16, '0+'),
    nf('name', string, '0+', '0+'),
    f('topicId', uuid, '0+'),
    f('isInternal', bool, '0+'),
    f('partitions', array(struct([
      f('errorCode', int16, '0+'),
      f('partitionIndex', int32, '0+'),
      f('leaderId', int32, '0+'),
      f('leaderEpoch', int32, '0+', { default: -1 }),
      f('replicaNodes', array(int32), '0+'),
      f('isrNodes', array(int32), '0+'),
      nf('eligibleLeaderReplicas', array(int32), '0+', '0+'),
      nf('lastKnownElr', array(int32), '0+', '0+'),
      f('offlineReplicas', array(int32), '0+'),
    ])), '0+'),
    f('topicAuthorizedOperations', int32, '0+', { default: -2147483648 }),
  ])), '0+'),
  nf('nextCursor', cursor, '0+', '0+'),
]);

export type DescribeTopicPartitionsRequest = ValueOf<typeof request>;
export type DescribeTopicPartitionsResponse = ValueOf<typeof response>;

export const describeTopicPartitionsApi = defineApi({
  apiKey: 75, name: 'DescribeTopicPartitions', minVersion: 0, maxVersion: 0, flexibleFrom: 0, request, response,
});
