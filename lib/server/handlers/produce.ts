/**
 * Produce (0): every partition's record set goes to BrokerApi.produce, all partitions at once;
 * the broker validates the batch (magic, lengths, CRC-32C, one batch per partition), assigns its
 * offsets and answers per acks (0: once handed over, 1: appended by the leader, -1: committed).
 * Per-partition errors come from errors.ts. acks=0 gets no response frame at all (KafkaJS K9,
 * librdkafka); if one of its partitions failed, the connection is closed instead, as Kafka does,
 * so that the client notices and refreshes its metadata.
 * v0-v2 (advertised only for librdkafka's codec check, see lib/kafka/produce.ts) carry message
 * formats 0 and 1, which Flotilla does not store: UNSUPPORTED_FOR_MESSAGE_FORMAT, not retriable.
 * v8+: a refused partition carries the error's message, and for INVALID_RECORD the records that
 * caused it (recordErrors: their index in the batch and why, KIP-467). v10+: a partition answered
 * NOT_LEADER_OR_FOLLOWER carries the current leader and epoch, and the response the endpoints of
 * those leaders (KIP-951), so that the producer goes there without a metadata round trip.
 */
import type { Acks } from '../../broker/api.js';
import { FlotillaError } from '../../base/errors.js';
import { errorCode } from '../../kafka/errors.js';
import { type ProduceResponse, produceApi } from '../../kafka/produce.js';
import { CLOSE_CONNECTION, NO_RESPONSE, type RequestContext, handler, settleAll } from '../handler.js';
import type { KafkaErrorValue } from '../errors.js';
import { denied, topicDenied } from './authz.js';
import { NO_LEADER, currentLeader, nodeEndpoints } from './leaders.js';

type PartitionOut = ProduceResponse['responses'][number]['partitions'][number];
type RecordError = PartitionOut['recordErrors'][number];

const NOT_LEADER = errorCode('NOT_LEADER_OR_FOLLOWER');

function failed(partitionIndex: number, e: KafkaErrorValue, recordErrors: RecordError[] = []): PartitionOut {
  return {
    partitionIndex, errorCode: e.errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1,
    recordErrors, errorMessage: e.errorMessage, currentLeader: NO_LEADER,
  };
}

/** details.recordErrors of a broker's INVALID_RECORD (see lib/broker/partition.ts keylessError). */
function recordErrorsOf(err: unknown): RecordError[] {
  if (!(err instanceof FlotillaError) || !Array.isArray(err.details['recordErrors'])) return [];
  return (err.details['recordErrors'] as { batchIndex: number; message: string | null }[])
    .map((r) => ({ batchIndex: r.batchIndex, batchIndexErrorMessage: r.message }));
}

function refused(ctx: RequestContext, topic: string, partitionIndex: number, err: unknown): PartitionOut {
  const out = failed(partitionIndex, ctx.error(err), recordErrorsOf(err));
  if (out.errorCode !== NOT_LEADER || ctx.apiVersion < 10) return out;
  const hinted = err instanceof FlotillaError && typeof err.details['leaderId'] === 'number' ? err.details['leaderId'] : -1;
  return { ...out, currentLeader: currentLeader(ctx.broker, topic, partitionIndex, hinted) };
}

export const produceHandler = handler(produceApi, async (ctx, req) => {
  const acks = req.acks;
  const validAcks = acks === 0 || acks === 1 || acks === -1;
  // Authorization (KafkaApis.handleProduceRequest): WRITE on the transactional id fails the whole
  // request (53 on every partition); WRITE on each topic, per partition (29).
  const txnRefused = req.transactionalId !== null && !ctx.authorize('write', 'transactional-id', req.transactionalId);
  const unwritable = txnRefused ? new Set<string>() : denied(ctx, 'write', 'topic', req.topics.map((t) => t.name));
  // producer_byte_rate (issue 19): the request's record bytes, recorded as it arrives (Kafka
  // records the request size); the throttle rides on the response, or mutes an acks=0 producer.
  if (ctx.quota !== null) {
    let bytes = 0;
    for (const t of req.topics) for (const p of t.partitions) bytes += p.records?.length ?? 0;
    ctx.quota.produced(bytes);
  }
  const responses = await Promise.all(req.topics.map(async (topic) => ({
    name: topic.name,
    partitions: await settleAll(topic.partitions, async (p): Promise<PartitionOut> => {
      if (txnRefused) return failed(p.partitionIndex, ctx.errorOf('TRANSACTIONAL_ID_AUTHORIZATION_FAILED', `WRITE on transactional id ${req.transactionalId} is not authorized`));
      if (unwritable.has(topic.name)) return failed(p.partitionIndex, ctx.errorOf('TOPIC_AUTHORIZATION_FAILED', topicDenied('write', topic.name)));
      if (!validAcks) return failed(p.partitionIndex, ctx.errorOf('INVALID_REQUIRED_ACKS', `acks ${acks} is not one of 0, 1, -1`));
      if (ctx.apiVersion < 3) {
        return failed(p.partitionIndex, ctx.errorOf('UNSUPPORTED_FOR_MESSAGE_FORMAT', 'Produce v0-v2 carry message formats 0 and 1, which Flotilla does not store'));
      }
      if (p.records === null || p.records.length === 0) {
        return failed(p.partitionIndex, ctx.errorOf('INVALID_RECORD', 'no record batch'));
      }
      const result = await ctx.broker.produce({
        topic: topic.name,
        partition: p.partitionIndex,
        records: p.records,
        acks: acks as Acks,
        timeoutMs: Math.max(0, req.timeoutMs),
        transactionalId: req.transactionalId,
      });
      return {
        partitionIndex: p.partitionIndex,
        errorCode: 0,
        baseOffset: result.baseOffset,
        logAppendTimeMs: result.logAppendTimeMs,
        logStartOffset: result.logStartOffset,
        recordErrors: [],
        errorMessage: null,
        currentLeader: NO_LEADER,
      };
    }, (err, p) => refused(ctx, topic.name, p.partitionIndex, err)),
  })));
  if (acks === 0) {
    return responses.some((t) => t.partitions.some((p) => p.errorCode !== 0)) ? CLOSE_CONNECTION : NO_RESPONSE;
  }
  const leaders = responses.flatMap((t) => t.partitions.map((p) => p.currentLeader.leaderId)).filter((id) => id >= 0);
  return { responses, throttleTimeMs: 0, nodeEndpoints: nodeEndpoints(ctx.broker, leaders, ctx.session.listener) };
});
