/**
 * Fetch (key 1): read record batches. Implemented v4-v17 (flexible from v12). v0-v3 are not:
 * they predate record batch v2 (Kafka 4 refuses them too; every client that negotiates sends v4+).
 *
 * Request:  v4 isolationLevel; v5 partition logStartOffset; v7 sessionId, sessionEpoch,
 *           forgottenTopicsData (incremental fetch sessions, KIP-227); v9 partition
 *           currentLeaderEpoch; v10 zstd allowed; v11 rackId; v12 flexible, partition
 *           lastFetchedEpoch and tagged clusterId (0); v13 topicId instead of the topic name, in
 *           topics and forgottenTopicsData (KIP-516; UNKNOWN_TOPIC_ID may be answered); v14 the
 *           same (the client handles OFFSET_MOVED_TO_TIERED_STORAGE); v15 replicaId moves into the
 *           tagged replicaState (1) with replicaEpoch (KIP-903); v16 the same as v15 (KIP-951);
 *           v17 tagged partition replicaDirectoryId (0, KIP-853).
 * Response: v4 lastStableOffset, abortedTransactions; v5 logStartOffset; v7 errorCode,
 *           sessionId; v11 preferredReadReplica; v12 flexible, tagged divergingEpoch (0),
 *           currentLeader (1), snapshotId (2); v13 topicId instead of the topic name; v16 tagged
 *           top-level nodeEndpoints (0): how to reach the leaders named in currentLeader.
 * Record sets stay raw Buffers.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, int8, nullableField as nf, records, string, struct, uuid, type ValueOf } from './schema.js';

const request = struct([
  nf('clusterId', string, '12+', '12+', { tag: 0 }),
  f('replicaId', int32, '0-14', { default: -1 }),
  f('replicaState', struct([
    f('replicaId', int32, '15+', { default: -1 }),
    f('replicaEpoch', int64, '15+', { default: -1 }),
  ]), '15+', { tag: 1 }),
  f('maxWaitMs', int32, '0+'),
  f('minBytes', int32, '0+'),
  f('maxBytes', int32, '3+', { default: 0x7fffffff }),
  f('isolationLevel', int8, '4+'),
  f('sessionId', int32, '7+'),
  f('sessionEpoch', int32, '7+', { default: -1 }),
  f('topics', array(struct([
    f('topic', string, '0-12'),
    f('topicId', uuid, '13+'),
    f('partitions', array(struct([
      f('partition', int32, '0+'),
      f('currentLeaderEpoch', int32, '9+', { default: -1 }),
      f('fetchOffset', int64, '0+'),
      f('lastFetchedEpoch', int32, '12+', { default: -1 }),
      f('logStartOffset', int64, '5+', { default: -1 }),
      f('partitionMaxBytes', int32, '0+'),
      f('replicaDirectoryId', uuid, '17+', { tag: 0 }),
    ])), '0+'),
  ])), '0+'),
  f('forgottenTopicsData', array(struct([
    f('topic', string, '7-12'),
    f('topicId', uuid, '13+'),
    f('partitions', array(int32), '7+'),
  ])), '7+'),
  f('rackId', string, '11+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '1+'),
  f('errorCode', int16, '7+'),
  f('sessionId', int32, '7+'),
  f('responses', array(struct([
    f('topic', string, '0-12'),
    f('topicId', uuid, '13+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('errorCode', int16, '0+'),
      f('highWatermark', int64, '0+'),
      f('lastStableOffset', int64, '4+', { default: -1 }),
      f('logStartOffset', int64, '5+', { default: -1 }),
      f('divergingEpoch', struct([
        f('epoch', int32, '12+', { default: -1 }),
        f('endOffset', int64, '12+', { default: -1 }),
      ]), '12+', { tag: 0 }),
      f('currentLeader', struct([
        f('leaderId', int32, '12+', { default: -1 }),
        f('leaderEpoch', int32, '12+', { default: -1 }),
      ]), '12+', { tag: 1 }),
      f('snapshotId', struct([
        f('endOffset', int64, '0+', { default: -1 }),
        f('epoch', int32, '0+', { default: -1 }),
      ]), '12+', { tag: 2 }),
      nf('abortedTransactions', array(struct([
        f('producerId', int64, '4+'),
        f('firstOffset', int64, '4+'),
      ])), '4+', '4+'),
      f('preferredReadReplica', int32, '11+', { default: -1 }),
      nf('records', records, '0+', '0+'),
    ])), '0+'),
  ])), '0+'),
  f('nodeEndpoints', array(struct([
    f('nodeId', int32, '16+'),
    f('host', string, '16+'),
    f('port', int32, '16+'),
    nf('rack', string, '16+', '16+'),
  ])), '16+', { tag: 0 }),
]);

export type FetchRequest = ValueOf<typeof request>;
export type FetchResponse = ValueOf<typeof response>;

export const fetchApi = defineApi({
  apiKey: 1, name: 'Fetch', minVersion: 4, maxVersion: 17, flexibleFrom: 12, request, response,
});
