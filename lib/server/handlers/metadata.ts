/**
 * Metadata (3): brokers, a controller id, topics and their partitions.
 * - Brokers and controller come from BrokerApi.cluster(): every registered, unfenced broker, and a
 *   live broker that accepts admin calls (it forwards them to the metadata leader, as KRaft does).
 * - topics null = every topic; an empty list = none (Kafka's rule; KafkaJS encodes "all" as null),
 *   but in v0 (no null there) an empty list = every topic. Before v4 the request has no
 *   allowAutoTopicCreation: the decoder's default (true) leaves it to auto.create.topics.enable.
 * - Requested topics that do not exist are auto-created when the request allows it (v4+; the
 *   broker applies `auto.create.topics.enable`), else, or when creation failed, answered with
 *   UNKNOWN_TOPIC_OR_PARTITION (INVALID_TOPIC_EXCEPTION for an illegal name).
 * - A partition without a leader (leaderId -1) carries LEADER_NOT_AVAILABLE.
 * - Read after a read barrier on the metadata log (BrokerApi.syncMetadata), so that a topic or
 *   partition change acknowledged through any broker shows here: KafkaJS sends CreatePartitions
 *   to one broker and its next Metadata to another. The barrier costs a round trip to the metadata
 *   leader; while there is none (an election), it gives up after METADATA_SYNC_MS and the answer
 *   comes from this node's image, since clients need metadata most during failures.
 */
import type { TopicView } from '../../broker/api.js';
import { type MetadataResponse, metadataApi } from '../../kafka/metadata.js';
import { topicNameProblem } from '../../metadata/records.js';
import { type RequestContext, handler } from '../handler.js';

type TopicOut = MetadataResponse['topics'][number];

const AUTHORIZED_OPERATIONS_NONE = -(2 ** 31);

/** The longest a Metadata request waits for the metadata read barrier. */
export const METADATA_SYNC_MS = 1_000;

function topicOut(ctx: RequestContext, t: TopicView): TopicOut {
  return {
    errorCode: 0,
    name: t.name,
    isInternal: t.internal,
    partitions: t.partitions.map((p) => ({
      errorCode: p.leaderId < 0 ? ctx.errorOf('LEADER_NOT_AVAILABLE').errorCode : 0,
      partitionIndex: p.partition,
      leaderId: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      offlineReplicas: [...p.offlineReplicas],
    })),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NONE,
  };
}

export const metadataHandler = handler(metadataApi, async (ctx, req) => {
  const broker = ctx.broker;
  await broker.syncMetadata(METADATA_SYNC_MS);
  const cluster = broker.cluster();
  // v0 has no null: its empty list asks for every topic.
  const all = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0);
  const names = all ? null : [...new Set(req.topics!.map((t) => t.name))];
  let topics: TopicView[] = names === null ? broker.topics(null) : names.length === 0 ? [] : broker.topics(names);
  if (names !== null && topics.length < names.length && req.allowAutoTopicCreation) {
    const known = new Set(topics.map((t) => t.name));
    const missing = names.filter((n) => !known.has(n) && topicNameProblem(n) === null);
    if (missing.length > 0) {
      try {
        await broker.autoCreateTopics(missing);
      } catch {
        // Left out: reported unknown below, and the client retries.
      }
      topics = broker.topics(names);
    }
  }
  const byName = new Map(topics.map((t) => [t.name, t]));
  const out: TopicOut[] = [];
  // An existing topic's own code is NONE; its partitions' codes say which lack a leader.
  for (const t of topics) out.push(topicOut(ctx, t));
  if (names !== null) {
    for (const n of names) {
      if (byName.has(n)) continue;
      const problem = topicNameProblem(n);
      const e = problem === null ? ctx.errorOf('UNKNOWN_TOPIC_OR_PARTITION') : ctx.errorOf('INVALID_TOPIC_EXCEPTION');
      out.push({ errorCode: e.errorCode, name: n, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NONE });
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    clusterId: cluster.clusterId,
    controllerId: cluster.controllerId,
    topics: out,
    clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_NONE,
  };
});
