/**
 * Produce (0): every partition's record set goes to BrokerApi.produce, all partitions at once;
 * the broker validates the batch (magic, lengths, CRC-32C, one batch per partition), assigns its
 * offsets and answers per acks (0: once handed over, 1: appended by the leader, -1: committed).
 * Per-partition errors come from errors.ts. acks=0 gets no response frame at all (KafkaJS K9,
 * librdkafka); if one of its partitions failed, the connection is closed instead, as Kafka does,
 * so that the client notices and refreshes its metadata.
 * v0-v2 (advertised only for librdkafka's codec check, see lib/kafka/produce.ts) carry message
 * formats 0 and 1, which Flotilla does not store: UNSUPPORTED_FOR_MESSAGE_FORMAT, not retriable.
 */
import type { Acks } from '../../broker/api.js';
import { type ProduceResponse, produceApi } from '../../kafka/produce.js';
import { CLOSE_CONNECTION, NO_RESPONSE, handler, settleAll } from '../handler.js';

type PartitionOut = ProduceResponse['responses'][number]['partitions'][number];

function failed(partitionIndex: number, errorCode: number): PartitionOut {
  return { partitionIndex, errorCode, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 };
}

export const produceHandler = handler(produceApi, async (ctx, req) => {
  const acks = req.acks;
  const validAcks = acks === 0 || acks === 1 || acks === -1;
  const responses = await Promise.all(req.topics.map(async (topic) => ({
    name: topic.name,
    partitions: await settleAll(topic.partitions, async (p): Promise<PartitionOut> => {
      if (!validAcks) return failed(p.partitionIndex, ctx.errorOf('INVALID_REQUIRED_ACKS').errorCode);
      if (ctx.apiVersion < 3) return failed(p.partitionIndex, ctx.errorOf('UNSUPPORTED_FOR_MESSAGE_FORMAT').errorCode);
      if (p.records === null || p.records.length === 0) {
        return failed(p.partitionIndex, ctx.errorOf('INVALID_RECORD', 'no record batch').errorCode);
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
      };
    }, (err, p) => failed(p.partitionIndex, ctx.error(err).errorCode)),
  })));
  if (acks === 0) {
    return responses.some((t) => t.partitions.some((p) => p.errorCode !== 0)) ? CLOSE_CONNECTION : NO_RESPONSE;
  }
  return { responses, throttleTimeMs: 0 };
});
