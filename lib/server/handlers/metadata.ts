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
 * - Endpoints are those of the listener the request came in on (`ctx.session.listener`): a broker
 *   without that listener is left out of the brokers, and a partition it leads is answered with
 *   leader -1 and LISTENER_NOT_FOUND (v6+) or LEADER_NOT_AVAILABLE (v5 and below), as Kafka's
 *   MetadataCache does.
 * - Read after a read barrier on the metadata log (BrokerApi.syncMetadata), so that a topic or
 *   partition change acknowledged through any broker shows here: KafkaJS sends CreatePartitions
 *   to one broker and its next Metadata to another. The barrier costs a round trip to the metadata
 *   leader; while there is none (an election), it gives up after METADATA_SYNC_MS and the answer
 *   comes from this node's image, since clients need metadata most during failures.
 * - v10+ answer each topic's id (the metadata image's). v12 may ask for topics by id: when any
 *   requested topic has a non-zero id, the request is by id (names are then ignored, as Kafka
 *   does), an unknown id is answered UNKNOWN_TOPIC_ID with a null name, and nothing is
 *   auto-created. v10 and v11 carry the id and the nullable name but must not use them: a null
 *   name or a non-zero id there is INVALID_REQUEST for every requested topic, as Kafka answers.
 *   A v12 topic with neither a name nor an id is INVALID_REQUEST too.
 */
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { authorizedOperations, denied } from './authz.js';
import type { TopicView } from '../../broker/api.js';
import { type MetadataRequest, type MetadataResponse, metadataApi } from '../../kafka/metadata.js';
import { ZERO_UUID } from '../../kafka/primitives.js';
import { topicNameProblem } from '../../metadata/records.js';
import { type RequestContext, handler } from '../handler.js';

type TopicOut = MetadataResponse['topics'][number];
type TopicIn = NonNullable<MetadataRequest['topics']>[number];

const AUTHORIZED_OPERATIONS_NONE = -(2 ** 31);

/** The longest a Metadata request waits for the metadata read barrier. */
export const METADATA_SYNC_MS = 1_000;

/** The live brokers with an endpoint on the caller's listener. */
function reachable(ctx: RequestContext): ReadonlySet<number> {
  return new Set(ctx.broker.cluster(ctx.session.listener).brokers.map((b) => b.nodeId));
}

function topicOut(ctx: RequestContext, t: TopicView, onListener: ReadonlySet<number>): TopicOut {
  const listenerMissing = (leaderId: number): boolean => leaderId >= 0 && !onListener.has(leaderId);
  return {
    errorCode: 0,
    name: t.name,
    topicId: t.topicId,
    isInternal: t.internal,
    partitions: t.partitions.map((p) => ({
      errorCode: listenerMissing(p.leaderId)
        ? ctx.errorOf(ctx.apiVersion >= 6 ? 'LISTENER_NOT_FOUND' : 'LEADER_NOT_AVAILABLE', `the leader ${p.leaderId} has no listener ${ctx.session.listener}`).errorCode
        : p.leaderId < 0 ? ctx.errorOf('LEADER_NOT_AVAILABLE').errorCode : 0,
      partitionIndex: p.partition,
      leaderId: listenerMissing(p.leaderId) ? -1 : p.leaderId,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      offlineReplicas: [...p.offlineReplicas],
    })),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NONE,
  };
}

function topicError(errorCode: number, name: string | null, topicId: string): TopicOut {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: AUTHORIZED_OPERATIONS_NONE };
}

/** Why a topic entry is not acceptable at this version (see the module comment), or null. */
function topicProblem(version: number, t: TopicIn): string | null {
  if (version < 12 && t.name === null) return `a topic name cannot be null in Metadata v${version}`;
  if (version < 12 && t.topicId !== ZERO_UUID) return `topic ids are not accepted in Metadata v${version} requests`;
  if (t.name === null && t.topicId === ZERO_UUID) return 'a topic needs a name or an id';
  return null;
}

/** The topics asked for by id (v12): known ones by name, unknown ones UNKNOWN_TOPIC_ID. */
function byId(ctx: RequestContext, ids: readonly string[]): TopicOut[] {
  const image = ctx.broker.image();
  const names: string[] = [];
  const out: TopicOut[] = [];
  for (const id of ids) {
    const name = image.topicsById.get(id)?.name;
    if (name === undefined) out.push(topicError(ctx.errorOf('UNKNOWN_TOPIC_ID').errorCode, null, id));
    else if (!ctx.authorize('describe', 'topic', name)) out.push(topicError(ctx.errorOf('TOPIC_AUTHORIZATION_FAILED').errorCode, null, id));
    else names.push(name);
  }
  const onListener = reachable(ctx);
  return [...ctx.broker.topics(names).map((t) => topicOut(ctx, t, onListener)), ...out];
}

/** This node's auto.create.topics.enable (true when it cannot be read: the broker decides anyway). */
function autoCreateEnabled(ctx: RequestContext): boolean {
  try {
    const [r] = ctx.broker.describeConfigs([{ type: 'broker', name: String(ctx.broker.nodeId), keys: ['auto.create.topics.enable'] }]);
    return r?.entries.find((e) => e.name === 'auto.create.topics.enable')?.value !== 'false';
  } catch {
    return true;
  }
}

/** The topics asked for by name (or all of them): unknown ones auto-created when allowed. */
async function byName(ctx: RequestContext, req: MetadataRequest): Promise<TopicOut[]> {
  const broker = ctx.broker;
  // v0 has no null: its empty list asks for every topic.
  const all = req.topics === null || (ctx.apiVersion === 0 && req.topics.length === 0);
  const asked = all ? null : [...new Set(req.topics!.map((t) => t.name ?? ''))];
  // Authorization (KafkaApis.handleTopicMetadataRequest): all topics = those the caller may
  // DESCRIBE, the others left out silently; a named topic the caller may not DESCRIBE is answered
  // TOPIC_AUTHORIZATION_FAILED whether it exists or not; auto-creation needs CREATE on the cluster
  // or on the topic, else TOPIC_AUTHORIZATION_FAILED.
  const hidden = asked === null ? new Set<string>() : denied(ctx, 'describe', 'topic', asked);
  const names = asked === null ? null : asked.filter((n) => !hidden.has(n));
  const uncreatable = new Set<string>();
  let topics: TopicView[] = names === null
    ? broker.topics(null).filter((t) => ctx.isAuthorized('describe', 'topic', t.name))
    : names.length === 0 ? [] : broker.topics(names);
  if (names !== null && topics.length < names.length && req.allowAutoTopicCreation) {
    const known = new Set(topics.map((t) => t.name));
    // The CREATE check only where the node would create (auto.create.topics.enable), as Kafka:
    // otherwise a missing topic stays UNKNOWN_TOPIC_OR_PARTITION.
    const checkCreate = ctx.authorizerEnabled && autoCreateEnabled(ctx) && !ctx.isAuthorized('create', 'cluster', CLUSTER_RESOURCE);
    const missing = names.filter((n) => !known.has(n) && topicNameProblem(n) === null);
    if (checkCreate) {
      for (const n of missing) if (!ctx.authorize('create', 'topic', n)) uncreatable.add(n);
    }
    const creatable = missing.filter((n) => !uncreatable.has(n));
    if (creatable.length > 0) {
      try {
        await broker.autoCreateTopics(creatable);
      } catch {
        // Left out: reported unknown below, and the client retries.
      }
      topics = broker.topics(names);
    }
  }
  const byName = new Map(topics.map((t) => [t.name, t]));
  // An existing topic's own code is NONE; its partitions' codes say which lack a leader.
  const onListener = reachable(ctx);
  const out: TopicOut[] = topics.map((t) => topicOut(ctx, t, onListener));
  for (const n of asked ?? []) {
    if (hidden.has(n) || uncreatable.has(n)) {
      out.push(topicError(ctx.errorOf('TOPIC_AUTHORIZATION_FAILED').errorCode, n, ZERO_UUID));
      continue;
    }
    if (byName.has(n)) continue;
    const problem = topicNameProblem(n);
    const e = problem === null ? ctx.errorOf('UNKNOWN_TOPIC_OR_PARTITION') : ctx.errorOf('INVALID_TOPIC_EXCEPTION');
    out.push(topicError(e.errorCode, n, ZERO_UUID));
  }
  return out;
}

export const metadataHandler = handler(metadataApi, async (ctx, req) => {
  const broker = ctx.broker;
  const requested = req.topics ?? [];
  const problem = requested.map((t) => topicProblem(ctx.apiVersion, t)).find((p) => p !== null);
  if (problem !== undefined) {
    // Kafka fails the whole request: every requested topic carries INVALID_REQUEST, nothing else.
    const code = ctx.errorOf('INVALID_REQUEST', problem).errorCode;
    return {
      throttleTimeMs: 0, brokers: [], clusterId: null, controllerId: -1,
      topics: requested.map((t) => topicError(code, t.name ?? '', t.topicId)),
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_NONE, errorCode: 0,
    };
  }
  await broker.syncMetadata(METADATA_SYNC_MS);
  const cluster = broker.cluster(ctx.session.listener);
  const ids = [...new Set(requested.map((t) => t.topicId).filter((id) => id !== ZERO_UUID))];
  const found = ids.length > 0 ? byId(ctx, ids) : await byName(ctx, req);
  // v8+: what the caller may do, when asked and the authorizer is on (KIP-430).
  const topics = found.map((t) => (t.errorCode !== 0 || t.name === null ? t
    : { ...t, topicAuthorizedOperations: authorizedOperations(ctx, req.includeTopicAuthorizedOperations, 'topic', t.name) }));
  return {
    throttleTimeMs: 0,
    brokers: cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
    clusterId: cluster.clusterId,
    controllerId: cluster.controllerId,
    topics,
    clusterAuthorizedOperations: authorizedOperations(ctx, req.includeClusterAuthorizedOperations, 'cluster', CLUSTER_RESOURCE),
    errorCode: 0, // v13 (KIP-1102): REBOOTSTRAP_REQUIRED is never needed here
  };
});
