/**
 * Where a partition's leader is, for the responses that tell a client which went to the wrong
 * broker (KIP-951: Produce v10+ and Fetch v12+/v16+ carry the current leader of each partition
 * answered NOT_LEADER_OR_FOLLOWER, and the endpoints of those leaders, so that the client retries
 * there without waiting for a metadata refresh).
 */
import type { BrokerApi } from '../../broker/api.js';

export interface LeaderIdAndEpoch {
  readonly leaderId: number;
  readonly leaderEpoch: number;
}

export interface NodeEndpoint {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

export const NO_LEADER: LeaderIdAndEpoch = Object.freeze({ leaderId: -1, leaderEpoch: -1 });

/**
 * The leader of `topic`-`partition` and its epoch as this node's metadata image has them (-1, -1
 * when unknown or not live). `hinted` (≥ 0) is a leader the Raft group itself named, newer than
 * the image when they differ: its epoch is then unknown (-1).
 */
export function currentLeader(broker: BrokerApi, topic: string, partition: number, hinted = -1): LeaderIdAndEpoch {
  const view = broker.topics([topic])[0]?.partitions.find((p) => p.partition === partition);
  if (hinted >= 0 && hinted !== view?.leaderId) return { leaderId: hinted, leaderEpoch: -1 };
  if (view === undefined || view.leaderId < 0) return NO_LEADER;
  return { leaderId: view.leaderId, leaderEpoch: view.leaderEpoch };
}

/**
 * The endpoints on `listener` (the caller's) of the live brokers among `nodeIds`, in id order
 * (unknown ids, and brokers without that listener, left out).
 */
export function nodeEndpoints(broker: BrokerApi, nodeIds: Iterable<number>, listener: string): NodeEndpoint[] {
  const wanted = new Set(nodeIds);
  if (wanted.size === 0) return [];
  return broker.cluster(listener).brokers
    .filter((b) => wanted.has(b.nodeId))
    .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }))
    .sort((a, b) => a.nodeId - b.nodeId);
}
