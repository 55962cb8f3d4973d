/**
 * DescribeQuorum (key 55): the metadata Raft group (`__cluster_metadata` partition 0): its leader,
 * epoch (Raft term), high watermark (commit index), voters and observers with how far each has
 * replicated (`kafka-metadata-quorum describe --status / --replication`). Implemented v0-v2
 * (flexible from v0).
 *
 * Request:  topics[] of topicName and partitions[] of partitionIndex (unchanged through v2).
 * Response: v1 adds lastFetchTimestamp and lastCaughtUpTimestamp to each replica (KIP-836);
 *           v2 adds errorMessage (top level and per partition), replicaDirectoryId, and nodes[]
 *           with each voter's listeners (KIP-853).
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, nullableField, string, struct, uint16, uuid, type ValueOf } from './schema.js';

const request = struct([
  f('topics', array(struct([
    f('topicName', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
    ])), '0+'),
  ])), '0+'),
]);

const replicaState = struct([
  f('replicaId', int32, '0+'),
  f('replicaDirectoryId', uuid, '2+'),
  f('logEndOffset', int64, '0+'),
  f('lastFetchTimestamp', int64, '1+', { default: -1 }),
  f('lastCaughtUpTimestamp', int64, '1+', { default: -1 }),
]);

const response = struct([
  f('errorCode', int16, '0+'),
  nullableField('errorMessage', string, '2+', '2+'),
  f('topics', array(struct([
    f('topicName', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('errorCode', int16, '0+'),
      nullableField('errorMessage', string, '2+', '2+'),
      f('leaderId', int32, '0+'),
      f('leaderEpoch', int32, '0+'),
      f('highWatermark', int64, '0+'),
      f('currentVoters', array(replicaState), '0+'),
      f('observers', array(replicaState), '0+'),
    ])), '0+'),
  ])), '0+'),
  f('nodes', array(struct([
    f('nodeId', int32, '2+'),
    f('listeners', array(struct([
      f('name', string, '2+'),
      f('host', string, '2+'),
      f('port', uint16, '2+'),
    ])), '2+'),
  ])), '2+'),
]);

export type DescribeQuorumRequest = ValueOf<typeof request>;
export type DescribeQuorumResponse = ValueOf<typeof response>;
export type QuorumReplicaState = ValueOf<typeof replicaState>;

export const describeQuorumApi = defineApi({
  apiKey: 55, name: 'DescribeQuorum', minVersion: 0, maxVersion: 2, flexibleFrom: 0, request, response,
});
