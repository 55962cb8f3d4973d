/**
 * Fetch (1): BrokerApi.fetch does the work (leader and epoch checks, long-poll until minBytes or
 * maxWaitMs, maxBytes limits, reading up to the high watermark, last stable offset and aborted
 * transactions); this module translates. Fetch sessions (KIP-227) are not implemented: a request
 * with sessionId 0 and epoch -1 or 0 is a full fetch and is answered with sessionId 0 ("no
 * session"), which every client accepts (research R4, P6); any other session id gets
 * FETCH_SESSION_ID_NOT_FOUND, any other epoch INVALID_FETCH_SESSION_EPOCH. A partition with no
 * records to give gets an empty record set, as Kafka sends (never null: librdkafka 2.0.2 rejects a
 * null set as "invalid MessageSetSize -1"); abortedTransactions is null for read_uncommitted.
 * v13+ name topics by id (request, forgotten topics and response): an id this node's metadata
 * image does not know is answered UNKNOWN_TOPIC_ID for each of its partitions, as Kafka does, and
 * never reaches the broker. v15+ carry the replica id in replicaState. A partition answered
 * NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH carries the current leader and its epoch (v12+),
 * and the response the endpoints of those leaders (v16+, KIP-951).
 */
import type { FetchPartitionRequest, FetchPartitionResult } from '../../broker/api.js';
import { errorCode } from '../../kafka/errors.js';
import { type FetchResponse, fetchApi } from '../../kafka/fetch.js';
import { handler } from '../handler.js';
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { denied } from './authz.js';
import { NO_LEADER, currentLeader, nodeEndpoints } from './leaders.js';

type PartitionOut = FetchResponse['responses'][number]['partitions'][number];

/** No records: an empty record set, never null (librdkafka 2.0.2 fails on a null set: "invalid MessageSetSize -1"). */
const EMPTY = Buffer.alloc(0);
const NO_DIVERGING = { epoch: -1, endOffset: -1 };
const NO_SNAPSHOT = { endOffset: -1, epoch: -1 };
/** The errors whose partitions carry the current leader (Kafka's FetchResponse rule). */
const LEADER_ERRORS = new Set([errorCode('NOT_LEADER_OR_FOLLOWER'), errorCode('FENCED_LEADER_EPOCH')]);

function key(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

export const fetchHandler = handler(fetchApi, async (ctx, req) => {
  const sessionError = req.sessionId !== 0
    ? ctx.errorOf('FETCH_SESSION_ID_NOT_FOUND')
    : req.sessionEpoch !== -1 && req.sessionEpoch !== 0 ? ctx.errorOf('INVALID_FETCH_SESSION_EPOCH') : null;
  if (sessionError !== null) {
    return { throttleTimeMs: 0, errorCode: sessionError.errorCode, sessionId: 0, responses: [], nodeEndpoints: [] };
  }
  const isolationLevel: 0 | 1 = req.isolationLevel === 1 ? 1 : 0;
  const byId = ctx.apiVersion >= 13;
  const image = byId ? ctx.broker.image() : null;
  // The topic name of each requested topic; null: an id this node does not know.
  const names = req.topics.map((t) => (image === null ? t.topic : image.topicsById.get(t.topicId)?.name ?? null));
  // Authorization (KafkaApis.handleFetch): a fetch from a replica needs CLUSTER_ACTION (Flotilla's
  // replicas fetch over Raft, never with Fetch), a consumer's READ on each topic; refused
  // partitions get TOPIC_AUTHORIZATION_FAILED, the others are served.
  const replicaId = ctx.apiVersion >= 15 ? req.replicaState.replicaId : req.replicaId;
  const replicaRefused = replicaId >= 0 && ctx.authorizerEnabled && !ctx.authorize('cluster-action', 'cluster', CLUSTER_RESOURCE);
  const refused = replicaId >= 0
    ? new Set(replicaRefused ? names.filter((n): n is string => n !== null) : [])
    : denied(ctx, 'read', 'topic', names.filter((n): n is string => n !== null));
  const partitions: FetchPartitionRequest[] = [];
  for (const [ti, t] of req.topics.entries()) {
    const name = names[ti] ?? null;
    if (name === null || refused.has(name)) continue;
    for (const p of t.partitions) {
      partitions.push({
        topic: name,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        currentLeaderEpoch: p.currentLeaderEpoch,
        maxBytes: Math.max(0, p.partitionMaxBytes),
      });
    }
  }
  let results: FetchPartitionResult[] = [];
  let failure: unknown = null;
  // Nothing to read (every topic id unknown, or no topics): answered at once, as Kafka does.
  if (partitions.length > 0) {
    try {
      results = await ctx.broker.fetch({
        partitions,
        maxWaitMs: Math.max(0, req.maxWaitMs),
        minBytes: Math.max(0, req.minBytes),
        // consumer_byte_rate: never more than a quota window could allow (getMaxValueInQuotaWindow).
        maxBytes: Math.min(req.maxBytes <= 0 ? 0x7fffffff : req.maxBytes, ctx.quota?.fetchCap() ?? Infinity),
        isolationLevel,
        replicaId,
      });
    } catch (err) {
      failure = err;
    }
  }
  // Results come in request order; match by (topic, partition) should a broker reorder them.
  const inOrder = results.length === partitions.length
    && results.every((r, i) => r.topic === partitions[i]?.topic && r.partition === partitions[i]?.partition);
  const byKey = new Map<string, FetchPartitionResult[]>();
  if (!inOrder) {
    for (const r of results) {
      const k = key(r.topic, r.partition);
      const list = byKey.get(k);
      if (list) list.push(r);
      else byKey.set(k, [r]);
    }
  }
  let i = 0;
  const failed = (partition: number, code: number): PartitionOut => ({
    partitionIndex: partition, errorCode: code, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
    divergingEpoch: NO_DIVERGING, currentLeader: NO_LEADER, snapshotId: NO_SNAPSHOT,
    abortedTransactions: null, preferredReadReplica: -1, records: EMPTY,
  });
  const out = (topic: string | null, partition: number): PartitionOut => {
    if (topic === null) return failed(partition, ctx.errorOf('UNKNOWN_TOPIC_ID').errorCode);
    if (refused.has(topic)) return failed(partition, ctx.errorOf('TOPIC_AUTHORIZATION_FAILED').errorCode);
    const r = inOrder ? results[i++] : byKey.get(key(topic, partition))?.shift();
    if (r === undefined) return failed(partition, ctx.error(failure ?? new Error(`no fetch result for ${topic}-${partition}`)).errorCode);
    const e = ctx.error(r.error);
    return {
      partitionIndex: partition,
      errorCode: e.errorCode,
      highWatermark: r.highWatermark,
      lastStableOffset: r.lastStableOffset,
      logStartOffset: r.logStartOffset,
      divergingEpoch: NO_DIVERGING,
      currentLeader: LEADER_ERRORS.has(e.errorCode) ? currentLeader(ctx.broker, topic, partition, r.preferredLeaderId) : NO_LEADER,
      snapshotId: NO_SNAPSHOT,
      abortedTransactions: isolationLevel === 1
        ? r.abortedTransactions.map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }))
        : null,
      preferredReadReplica: -1,
      records: r.records ?? EMPTY,
    };
  };
  const responses = req.topics.map((t, ti) => ({
    topic: t.topic,
    topicId: t.topicId,
    partitions: t.partitions.map((p) => out(names[ti] ?? null, p.partition)),
  }));
  // consumer_byte_rate, request_percentage: a fetch over either quota is answered at once with the
  // throttle and no data (Kafka's getThrottledResponse: no partitions), its bytes not counted.
  if (ctx.quota !== null) {
    let bytes = 0;
    for (const t of responses) for (const p of t.partitions) bytes += p.records?.length ?? 0;
    if (ctx.quota.fetched(bytes)) return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: [], nodeEndpoints: [] };
  }
  const leaders = ctx.apiVersion >= 16
    ? responses.flatMap((t) => t.partitions.map((p) => p.currentLeader.leaderId)).filter((id) => id >= 0)
    : [];
  return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses, nodeEndpoints: nodeEndpoints(ctx.broker, leaders, ctx.session.listener) };
});
