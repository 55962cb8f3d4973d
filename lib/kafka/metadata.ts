/**
 * Metadata (key 3): brokers, controller, topics, partitions and their leaders. Implemented
 * v0-v13 (flexible from v9). v0-v3 serve clients that pin old versions: kafka-python 2.0.2
 * (Debian's python3-kafka, and PyPI's for years) sends Metadata v0 to probe and v1 for every refresh.
 *
 * Request:  topics (v0: an empty list = all topics; from v1 null = all, empty = none), v4 adds
 *           allowAutoTopicCreation (before v4 Kafka auto-creates as the broker config says), v8 adds
 *           includeClusterAuthorizedOperations and includeTopicAuthorizedOperations, v9 flexible,
 *           v10 topic topicId and a nullable name (not to be used before v12: Kafka answers
 *           INVALID_REQUEST), v11 drops includeClusterAuthorizedOperations (KIP-700: DescribeCluster
 *           has it), v12 topics may be asked for by id, v13 nothing new (it announces the response's
 *           errorCode).
 * Response: v1 adds broker rack, controllerId, topic isInternal; v2 clusterId; v3 throttleTimeMs;
 *           v5 partition offlineReplicas; v7 partition leaderEpoch; v8 topic and cluster
 *           authorized operations; v9 flexible; v10 topic topicId; v11 drops
 *           clusterAuthorizedOperations; v12 topic name nullable (null for an unknown id); v13
 *           (Kafka 4.0, KIP-1102) a top-level errorCode, meant for REBOOTSTRAP_REQUIRED, which a
 *           broker that knows every broker of its cluster never answers: Flotilla sends 0.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, nullableField as nf, string, struct, uuid, type ValueOf } from './schema.js';

const request = struct([
  nf('topics', array(struct([
    f('topicId', uuid, '10+'),
    nf('name', string, '0+', '10+', { default: '' }),
  ])), '0+', '1+'),
  f('allowAutoTopicCreation', bool, '4+', { default: true }),
  f('includeClusterAuthorizedOperations', bool, '8-10'),
  f('includeTopicAuthorizedOperations', bool, '8+'),
]);

const AUTHORIZED_OPERATIONS_NONE = -(2 ** 31);

const response = struct([
  f('throttleTimeMs', int32, '3+'),
  f('brokers', array(struct([
    f('nodeId', int32, '0+'),
    f('host', string, '0+'),
    f('port', int32, '0+'),
    nf('rack', string, '1+', '1+'),
  ])), '0+'),
  nf('clusterId', string, '2+', '2+'),
  f('controllerId', int32, '1+', { default: -1 }),
  f('topics', array(struct([
    f('errorCode', int16, '0+'),
    nf('name', string, '0+', '12+', { default: '' }),
    f('topicId', uuid, '10+'),
    f('isInternal', bool, '1+'),
    f('partitions', array(struct([
      f('errorCode', int16, '0+'),
      f('partitionIndex', int32, '0+'),
      f('leaderId', int32, '0+'),
      f('leaderEpoch', int32, '7+', { default: -1 }),
      f('replicaNodes', array(int32), '0+'),
      f('isrNodes', array(int32), '0+'),
      f('offlineReplicas', array(int32), '5+'),
    ])), '0+'),
    f('topicAuthorizedOperations', int32, '8+', { default: AUTHORIZED_OPERATIONS_NONE }),
  ])), '0+'),
  f('clusterAuthorizedOperations', int32, '8-10', { default: AUTHORIZED_OPERATIONS_NONE }),
  f('errorCode', int16, '13+'),
]);

export type MetadataRequest = ValueOf<typeof request>;
export type MetadataResponse = ValueOf<typeof response>;

export const metadataApi = defineApi({
  apiKey: 3, name: 'Metadata', minVersion: 0, maxVersion: 13, flexibleFrom: 9, request, response,
});
