/**
 * ListOffsets (2): per partition, BrokerApi.listOffset (-1 latest: the high watermark, or the last
 * stable offset under read_committed; -2 earliest: the log start offset; else the first offset
 * whose timestamp is at or after the one given). Every partition is asked concurrently.
 */
import { type ListOffsetsResponse, listOffsetsApi } from '../../kafka/list-offsets.js';
import { handler, settleAll } from '../handler.js';

type PartitionOut = ListOffsetsResponse['topics'][number]['partitions'][number];

export const listOffsetsHandler = handler(listOffsetsApi, async (ctx, req) => {
  const isolationLevel: 0 | 1 = req.isolationLevel === 1 ? 1 : 0;
  const topics = await Promise.all(req.topics.map(async (t) => ({
    name: t.name,
    partitions: await settleAll(t.partitions, async (p): Promise<PartitionOut> => {
      const r = await ctx.broker.listOffset({
        topic: t.name, partition: p.partitionIndex, timestamp: p.timestamp, currentLeaderEpoch: p.currentLeaderEpoch, isolationLevel,
      });
      return { partitionIndex: p.partitionIndex, errorCode: 0, timestamp: r.timestamp, offset: r.offset, leaderEpoch: r.leaderEpoch };
    }, (err, p) => ({
      partitionIndex: p.partitionIndex, errorCode: ctx.error(err).errorCode, timestamp: -1, offset: -1, leaderEpoch: -1,
    })),
  })));
  return { throttleTimeMs: 0, topics };
});
