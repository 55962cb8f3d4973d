/**
 * DeleteRecords (21): advance each partition's log start offset (offset -1: to the high
 * watermark), concurrently; the answer carries the new low watermark.
 */
import { denied } from './authz.js';
import { deleteRecordsApi } from '../../kafka/delete-records.js';
import { handler, settleAll } from '../handler.js';

export const deleteRecordsHandler = handler(deleteRecordsApi, async (ctx, req) => {
  const timeoutMs = Math.max(0, req.timeoutMs);
  const refused = denied(ctx, 'delete', 'topic', req.topics.map((t) => t.name));
  const topics = await Promise.all(req.topics.map(async (t) => ({
    name: t.name,
    partitions: await settleAll(t.partitions, async (p) => {
      if (refused.has(t.name)) return { partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ctx.errorOf('TOPIC_AUTHORIZATION_FAILED').errorCode };
      const r = await ctx.broker.deleteRecords(t.name, p.partitionIndex, p.offset, timeoutMs);
      return { partitionIndex: p.partitionIndex, lowWatermark: r.lowWatermark, errorCode: 0 };
    }, (err, p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1, errorCode: ctx.error(err).errorCode })),
  })));
  return { throttleTimeMs: 0, topics };
});
