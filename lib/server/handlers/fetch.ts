/**
 * Fetch (1): BrokerApi.fetch does the work (leader and epoch checks, long-poll until minBytes or
 * maxWaitMs, maxBytes limits, reading up to the high watermark, last stable offset and aborted
 * transactions); this module translates. Fetch sessions (KIP-227) are not implemented: a request
 * with sessionId 0 and epoch -1 or 0 is a full fetch and is answered with sessionId 0 ("no
 * session"), which every client accepts (research R4, P6); any other session id gets
 * FETCH_SESSION_ID_NOT_FOUND, any other epoch INVALID_FETCH_SESSION_EPOCH. A partition with no
 * records to give gets an empty record set, as Kafka sends (never null: librdkafka 2.0.2 rejects a
 * null set as "invalid MessageSetSize -1"); abortedTransactions is null for read_uncommitted.
 */
import type { FetchPartitionRequest, FetchPartitionResult } from '../../broker/api.js';
import { type FetchResponse, fetchApi } from '../../kafka/fetch.js';
import { handler } from '../handler.js';

type PartitionOut = FetchResponse['responses'][number]['partitions'][number];

/** No records: an empty record set, never null (librdkafka 2.0.2 fails on a null set: "invalid MessageSetSize -1"). */
const EMPTY = Buffer.alloc(0);
const NO_DIVERGING = { epoch: -1, endOffset: -1 };
const NO_SNAPSHOT = { endOffset: -1, epoch: -1 };

function key(topic: string, partition: number): string {
  return `${partition}\u0000${topic}`;
}

export const fetchHandler = handler(fetchApi, async (ctx, req) => {
  const sessionError = req.sessionId !== 0
    ? ctx.errorOf('FETCH_SESSION_ID_NOT_FOUND')
    : req.sessionEpoch !== -1 && req.sessionEpoch !== 0 ? ctx.errorOf('INVALID_FETCH_SESSION_EPOCH') : null;
  if (sessionError !== null) {
    return { throttleTimeMs: 0, errorCode: sessionError.errorCode, sessionId: 0, responses: [] };
  }
  const isolationLevel: 0 | 1 = req.isolationLevel === 1 ? 1 : 0;
  const partitions: FetchPartitionRequest[] = [];
  for (const t of req.topics) {
    for (const p of t.partitions) {
      partitions.push({
        topic: t.topic,
        partition: p.partition,
        fetchOffset: p.fetchOffset,
        currentLeaderEpoch: p.currentLeaderEpoch,
        maxBytes: Math.max(0, p.partitionMaxBytes),
      });
    }
  }
  let results: FetchPartitionResult[] = [];
  let failure: unknown = null;
  try {
    results = await ctx.broker.fetch({
      partitions,
      maxWaitMs: Math.max(0, req.maxWaitMs),
      minBytes: Math.max(0, req.minBytes),
      maxBytes: req.maxBytes <= 0 ? 0x7fffffff : req.maxBytes,
      isolationLevel,
      replicaId: req.replicaId,
    });
  } catch (err) {
    failure = err;
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
  const out = (topic: string, partition: number): PartitionOut => {
    const r = inOrder ? results[i++] : byKey.get(key(topic, partition))?.shift();
    if (r === undefined) {
      const e = ctx.error(failure ?? new Error(`no fetch result for ${topic}-${partition}`));
      return {
        partitionIndex: partition, errorCode: e.errorCode, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
        divergingEpoch: NO_DIVERGING, currentLeader: { leaderId: -1, leaderEpoch: -1 }, snapshotId: NO_SNAPSHOT,
        abortedTransactions: null, preferredReadReplica: -1, records: EMPTY,
      };
    }
    const e = ctx.error(r.error);
    return {
      partitionIndex: partition,
      errorCode: e.errorCode,
      highWatermark: r.highWatermark,
      lastStableOffset: r.lastStableOffset,
      logStartOffset: r.logStartOffset,
      divergingEpoch: NO_DIVERGING,
      currentLeader: { leaderId: r.error !== null ? r.preferredLeaderId : -1, leaderEpoch: -1 },
      snapshotId: NO_SNAPSHOT,
      abortedTransactions: isolationLevel === 1
        ? r.abortedTransactions.map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }))
        : null,
      preferredReadReplica: -1,
      records: r.records ?? EMPTY,
    };
  };
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    sessionId: 0,
    responses: req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => out(t.topic, p.partition)),
    })),
  };
});
