/**
 * DescribeQuorum (55): the metadata Raft group (`__cluster_metadata` partition 0). Kafka's brokers
 * forward it to the active controller; so does Flotilla: any node answers, with what the metadata
 * group's leader reports (ControllerMethods.describeQuorum, retried by the controller client
 * until a leader answers). No leader within the client's deadline: NOT_LEADER_OR_FOLLOWER in the
 * partition, as Kafka's Raft client answers off the leader. A request that names any other topic
 * or partition gets UNKNOWN_TOPIC_OR_PARTITION for each (Kafka's rule: exactly that one partition).
 *
 * Units: leaderEpoch is the Raft term, highWatermark the commit index, logEndOffset the Raft index
 * of the last entry a replica holds (Flotilla's metadata log is Raft entries, not Kafka offsets);
 * replicaDirectoryId is the node's incarnation id; v2's nodes list each voter's peer listener
 * ("CONTROLLER": Flotilla's own protocol, not Kafka's).
 */
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { describeQuorumApi, type DescribeQuorumResponse, type QuorumReplicaState } from '../../kafka/describe-quorum.js';
import type { QuorumReplica } from '../../broker/api.js';
import { handler } from '../handler.js';

export const METADATA_TOPIC = '__cluster_metadata';

function replicaState(r: QuorumReplica): QuorumReplicaState {
  return { replicaId: r.nodeId, replicaDirectoryId: r.directoryId, logEndOffset: r.logEndIndex, lastFetchTimestamp: r.lastFetchMs, lastCaughtUpTimestamp: r.lastCaughtUpMs };
}

export const describeQuorumHandler = handler(describeQuorumApi, async (ctx, req): Promise<DescribeQuorumResponse> => {
  const valid = req.topics.length === 1 && req.topics[0]!.topicName === METADATA_TOPIC
    && req.topics[0]!.partitions.length === 1 && req.topics[0]!.partitions[0]!.partitionIndex === 0;
  const partitionError = (errorCode: number, errorMessage: string | null): DescribeQuorumResponse['topics'][number]['partitions'][number] => ({
    partitionIndex: 0, errorCode, errorMessage, leaderId: -1, leaderEpoch: -1, highWatermark: -1, currentVoters: [], observers: [],
  });
  if (!ctx.authorize('describe', 'cluster', CLUSTER_RESOURCE)) {
    return { ...ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', 'DESCRIBE on the cluster is required'), nodes: [], topics: [] };
  }
  if (!valid) {
    const e = ctx.errorOf('UNKNOWN_TOPIC_OR_PARTITION', `only ${METADATA_TOPIC} partition 0 has a quorum to describe`);
    return {
      errorCode: 0, errorMessage: null, nodes: [],
      topics: req.topics.map((t) => ({ topicName: t.topicName, partitions: t.partitions.map((p) => ({ ...partitionError(e.errorCode, e.errorMessage), partitionIndex: p.partitionIndex })) })),
    };
  }
  try {
    const q = await ctx.broker.describeQuorum();
    return {
      errorCode: 0, errorMessage: null,
      topics: [{
        topicName: METADATA_TOPIC,
        partitions: [{
          partitionIndex: 0, errorCode: 0, errorMessage: null, leaderId: q.leaderId, leaderEpoch: q.term, highWatermark: q.highWatermark,
          currentVoters: q.voters.map(replicaState), observers: q.observers.map(replicaState),
        }],
      }],
      nodes: q.nodes.map((n) => ({ nodeId: n.nodeId, listeners: [{ name: 'CONTROLLER', host: n.host, port: n.port }] })),
    };
  } catch (err) {
    const e = ctx.error(err, 'quorum');
    return { errorCode: 0, errorMessage: null, nodes: [], topics: [{ topicName: METADATA_TOPIC, partitions: [partitionError(e.errorCode, e.errorMessage)] }] };
  }
});
