/**
 * ListOffsets (2): per partition, BrokerApi.listOffset (-1 latest: the high watermark, or the last
 * stable offset under read_committed; -2 earliest: the log start offset; -3 the record with the
 * largest timestamp; -4 earliest local: the log start offset, since every record is local; -5
 * latest tiered: offset -1, since nothing is tiered; else the first offset whose timestamp is at
 * or after the one given). Every partition is asked concurrently. v10's timeoutMs bounds reads
 * from remote storage, which Flotilla does not have: every answer is local and immediate.
 *
 * v0 answers a list (oldStyleOffsets) of at most maxNumOffsets offsets. Kafka lists segment base
 * offsets there, newest first; Flotilla's segments are its own business, so the list holds the
 * offsets a client can act on: for -1 the latest offset and then (when maxNumOffsets > 1 and they
 * differ) the log start offset, for -2 the log start offset, for a timestamp the offset found for
 * it (or the latest offset when no record is that recent). maxNumOffsets 0 lists nothing.
 */
import { denied } from './authz.js';
import { type ListOffsetsResponse, listOffsetsApi } from '../../kafka/list-offsets.js';
import { type RequestContext, handler, settleAll } from '../handler.js';

type PartitionOut = ListOffsetsResponse['topics'][number]['partitions'][number];

interface Asked {
  readonly topic: string;
  readonly partition: number;
  readonly timestamp: number;
  readonly currentLeaderEpoch: number;
  readonly isolationLevel: 0 | 1;
}

/** v0's list: see the module comment. */
async function oldStyleOffsets(ctx: RequestContext, asked: Asked, maxNumOffsets: number): Promise<number[]> {
  if (maxNumOffsets <= 0) return [];
  const r = await ctx.broker.listOffset(asked);
  if (asked.timestamp === -1 && maxNumOffsets > 1) {
    const start = await ctx.broker.listOffset({ ...asked, timestamp: -2 });
    return start.offset < r.offset ? [r.offset, start.offset] : [r.offset];
  }
  if (asked.timestamp >= 0 && r.offset < 0) return [(await ctx.broker.listOffset({ ...asked, timestamp: -1 })).offset];
  return [r.offset];
}

export const listOffsetsHandler = handler(listOffsetsApi, async (ctx, req) => {
  const isolationLevel: 0 | 1 = req.isolationLevel === 1 ? 1 : 0;
  const refused = denied(ctx, 'describe', 'topic', req.topics.map((t) => t.name));
  const topics = await Promise.all(req.topics.map(async (t) => ({
    name: t.name,
    partitions: await settleAll(t.partitions, async (p): Promise<PartitionOut> => {
      if (refused.has(t.name)) {
        return { partitionIndex: p.partitionIndex, errorCode: ctx.errorOf('TOPIC_AUTHORIZATION_FAILED').errorCode, oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 };
      }
      const asked: Asked = { topic: t.name, partition: p.partitionIndex, timestamp: p.timestamp, currentLeaderEpoch: p.currentLeaderEpoch, isolationLevel };
      if (ctx.apiVersion === 0) {
        const offsets = await oldStyleOffsets(ctx, asked, p.maxNumOffsets);
        return { partitionIndex: p.partitionIndex, errorCode: 0, oldStyleOffsets: offsets, timestamp: -1, offset: -1, leaderEpoch: -1 };
      }
      const r = await ctx.broker.listOffset(asked);
      return { partitionIndex: p.partitionIndex, errorCode: 0, oldStyleOffsets: [], timestamp: r.timestamp, offset: r.offset, leaderEpoch: r.leaderEpoch };
    }, (err, p) => ({
      partitionIndex: p.partitionIndex, errorCode: ctx.error(err).errorCode, oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1,
    })),
  })));
  return { throttleTimeMs: 0, topics };
});
