/**
 * Partition administration: ElectLeaders (43), AlterPartitionReassignments (45),
 * ListPartitionReassignments (46) — what kafka-leader-election and kafka-reassign-partitions send.
 *
 * ElectLeaders, preferred: BrokerApi.electPreferredLeader per partition (a Raft leadership transfer
 * to replicas[0]), concurrently; ELECTION_NOT_NEEDED where the preferred replica leads already,
 * PREFERRED_LEADER_NOT_AVAILABLE where it cannot lead now (not alive, not a voter yet, the
 * transfer failed). topicPartitions null: every partition not led by its preferred replica, and
 * only those are answered (as Kafka). Unclean: Raft never elects a leader that may lack committed
 * entries, so no unclean election exists: a partition with a leader answers ELECTION_NOT_NEEDED
 * (as Kafka answers it), one without ELIGIBLE_LEADERS_NOT_AVAILABLE with that reason.
 *
 * Reassignments: replicas given start a move (the controller records the assignment; the
 * partition's leader changes the Raft membership one step at a time: learner, catch-up, voter,
 * removal); replicas null cancels one (the assignment becomes the current voters,
 * Broker.reassignPartition), NO_REASSIGNMENT_IN_PROGRESS when nothing moves. A partition is listed
 * as reassigning while its leader's Raft membership differs from its assignment. v1's
 * allowReplicationFactorChange false (KIP-860) refuses a move whose replica count differs from the
 * partition's (during a move: its replicas less the ones being added, Kafka's rule) with
 * INVALID_REPLICATION_FACTOR; that check comes before the controller validates the node ids (in
 * Kafka after), so a list that is both gets INVALID_REPLICATION_FACTOR here.
 */
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { type AlterPartitionReassignmentsResponse, alterPartitionReassignmentsApi } from '../../kafka/alter-partition-reassignments.js';
import { ElectionType, type ElectLeadersResponse, electLeadersApi } from '../../kafka/elect-leaders.js';
import { listPartitionReassignmentsApi } from '../../kafka/list-partition-reassignments.js';
import { isFlotillaError } from '../../base/errors.js';
import { type RequestContext, handler, settleAll } from '../handler.js';

type ElectionOut = ElectLeadersResponse['replicaElectionResults'][number]['partitionResult'][number];
type ReassignOut = AlterPartitionReassignmentsResponse['responses'][number]['partitions'][number];

/** Partitions by topic, in first-seen order. */
function byTopic<T extends { topic: string }>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const list = m.get(it.topic) ?? [];
    list.push(it);
    m.set(it.topic, list);
  }
  return m;
}

async function electOne(ctx: RequestContext, electionType: number, topic: string, partition: number, timeoutMs: number): Promise<ElectionOut> {
  const base = { partitionId: partition };
  try {
    if (electionType === ElectionType.unclean) {
      const p = ctx.broker.topics([topic])[0]?.partitions[partition];
      if (p === undefined) return { ...base, ...ctx.errorOf('UNKNOWN_TOPIC_OR_PARTITION', `unknown topic-partition ${topic}-${partition}`) };
      if (p.leaderId >= 0) return { ...base, ...ctx.errorOf('ELECTION_NOT_NEEDED', `${topic}-${partition} has a leader (${p.leaderId})`) };
      return { ...base, ...ctx.errorOf('ELIGIBLE_LEADERS_NOT_AVAILABLE', 'Raft elects a leader by itself once a majority of replicas is up; an unclean election (a leader that may lack committed records) does not exist') };
    }
    if (electionType !== ElectionType.preferred) return { ...base, ...ctx.errorOf('INVALID_REQUEST', `unknown election type ${electionType}`) };
    const r = await ctx.broker.electPreferredLeader(topic, partition, timeoutMs);
    if (r.outcome === 'elected') return { ...base, errorCode: 0, errorMessage: null };
    if (r.outcome === 'not-needed') return { ...base, ...ctx.errorOf('ELECTION_NOT_NEEDED', r.message) };
    return { ...base, ...ctx.errorOf('PREFERRED_LEADER_NOT_AVAILABLE', r.message) };
  } catch (err) {
    return { ...base, ...ctx.error(err) };
  }
}

export const electLeadersHandler = handler(electLeadersApi, async (ctx, req) => {
  // ALTER on the cluster, else every partition (and v1+ the response) CLUSTER_AUTHORIZATION_FAILED.
  if (!ctx.authorize('alter', 'cluster', CLUSTER_RESOURCE)) {
    const e = ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', 'ALTER on the cluster is required');
    return {
      throttleTimeMs: 0, errorCode: e.errorCode,
      replicaElectionResults: (req.topicPartitions ?? []).map((t) => ({ topic: t.topic, partitionResult: t.partitions.map((partitionId) => ({ partitionId, ...e })) })),
    };
  }
  const timeoutMs = Math.max(1, req.timeoutMs);
  // The assignment (the preferred replica) as of now, whichever node recorded a change.
  await ctx.broker.syncMetadata(Math.min(timeoutMs, 5000));
  let asked: { topic: string; partition: number }[];
  if (req.topicPartitions === null) {
    // Every partition whose preferred replica does not lead; the others are not answered.
    asked = ctx.broker.topics(null).flatMap((t) => t.partitions
      .filter((p) => (req.electionType === ElectionType.unclean ? p.leaderId < 0 : p.leaderId !== p.replicas[0]))
      .map((p) => ({ topic: t.name, partition: p.partition })));
  } else {
    asked = req.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
  }
  const results = await Promise.all(asked.map(async (a) => ({ topic: a.topic, out: await electOne(ctx, req.electionType, a.topic, a.partition, timeoutMs) })));
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    replicaElectionResults: [...byTopic(results)].map(([topic, rs]) => ({ topic, partitionResult: rs.map((r) => r.out) })),
  };
});

/** Each asked partition's replica count (`topic\0partition`), not counting replicas a move is adding. */
async function replicationFactors(ctx: RequestContext, asked: readonly { name: string; partitions: readonly { partitionIndex: number }[] }[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const t of ctx.broker.topics(asked.map((a) => a.name))) for (const p of t.partitions) out.set(`${t.name}\u0000${p.partition}`, p.replicas.length);
  const filter = asked.map((a) => ({ topic: a.name, partitions: a.partitions.map((p) => p.partitionIndex) }));
  for (const v of await ctx.broker.listReassignments(filter, 5000)) {
    out.set(`${v.topic}\u0000${v.partition}`, v.replicas.filter((r) => !v.adding.includes(r)).length);
  }
  return out;
}

export const alterPartitionReassignmentsHandler = handler(alterPartitionReassignmentsApi, async (ctx, req) => {
  if (!ctx.authorize('alter', 'cluster', CLUSTER_RESOURCE)) {
    return { throttleTimeMs: 0, allowReplicationFactorChange: ctx.apiVersion < 1 || req.allowReplicationFactorChange, ...ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', 'ALTER on the cluster is required'), responses: [] };
  }
  await ctx.broker.syncMetadata(5000);
  const allowRf = ctx.apiVersion < 1 || req.allowReplicationFactorChange;
  const factors = allowRf ? new Map<string, number>() : await replicationFactors(ctx, req.topics.filter((t) => t.partitions.some((p) => p.replicas !== null)));
  const responses = await Promise.all(req.topics.map(async (t) => ({
    name: t.name,
    partitions: await settleAll(t.partitions, async (p): Promise<ReassignOut> => {
      const replicas = p.replicas;
      if (replicas !== null && (replicas.length === 0 || new Set(replicas).size !== replicas.length)) {
        return { partitionIndex: p.partitionIndex, ...ctx.errorOf('INVALID_REPLICA_ASSIGNMENT', 'the replica list is empty or names a node twice') };
      }
      const factor = factors.get(`${t.name}\u0000${p.partitionIndex}`);
      if (replicas !== null && factor !== undefined && factor !== replicas.length) {
        return { partitionIndex: p.partitionIndex, ...ctx.errorOf('INVALID_REPLICATION_FACTOR', `the replication factor of ${t.name}-${p.partitionIndex} would change from ${factor} to ${replicas.length}, and allowReplicationFactorChange is false`) };
      }
      const moved = await ctx.broker.reassignPartition(t.name, p.partitionIndex, replicas);
      if (!moved) return { partitionIndex: p.partitionIndex, ...ctx.errorOf('NO_REASSIGNMENT_IN_PROGRESS', `${t.name}-${p.partitionIndex} is not being reassigned`) };
      return { partitionIndex: p.partitionIndex, errorCode: 0, errorMessage: null };
    }, (err, p) => {
      // The controller's only INVALID_REQUEST here is about the replica list (unknown node, ...).
      if (isFlotillaError(err, 'INVALID_REQUEST')) return { partitionIndex: p.partitionIndex, ...ctx.errorOf('INVALID_REPLICA_ASSIGNMENT', err.message.replace(/^INVALID_REQUEST: /, '')) };
      return { partitionIndex: p.partitionIndex, ...ctx.error(err) };
    }),
  })));
  return { throttleTimeMs: 0, allowReplicationFactorChange: allowRf, errorCode: 0, errorMessage: null, responses };
});

export const listPartitionReassignmentsHandler = handler(listPartitionReassignmentsApi, async (ctx, req) => {
  if (!ctx.authorize('describe', 'cluster', CLUSTER_RESOURCE)) return { throttleTimeMs: 0, ...ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', 'DESCRIBE on the cluster is required'), topics: [] };
  const filter = req.topics === null ? null : req.topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes }));
  await ctx.broker.syncMetadata(5000);
  const views = await ctx.broker.listReassignments(filter, Math.max(1, Math.min(req.timeoutMs, 30_000)));
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    errorMessage: null,
    topics: [...byTopic(views)].map(([name, vs]) => ({
      name,
      partitions: vs.map((v) => ({ partitionIndex: v.partition, replicas: [...v.replicas], addingReplicas: [...v.adding], removingReplicas: [...v.removing] })),
    })),
  };
});
