/**
 * OffsetForLeaderEpoch (23): per partition, where the asked leader epoch (Raft term) ends in the
 * leader's log (BrokerApi.endOffsetForEpoch; the rules are Partition.endOffsetForEpoch's). Consumers
 * compare the answer with their position after a leader change: an end offset below it means the
 * log they read from was truncated. The replicaId of v3+ is not used: Flotilla's replicas are Raft
 * followers and never ask; every request is answered by the leader only.
 */
import { denied } from './authz.js';
import { type OffsetForLeaderEpochResponse, offsetForLeaderEpochApi } from '../../kafka/offset-for-leader-epoch.js';
import { handler, settleAll } from '../handler.js';

type PartitionOut = OffsetForLeaderEpochResponse['topics'][number]['partitions'][number];

export const offsetForLeaderEpochHandler = handler(offsetForLeaderEpochApi, async (ctx, req) => {
  // DESCRIBE on each topic, TOPIC_AUTHORIZATION_FAILED per partition.
  const refused = denied(ctx, 'describe', 'topic', req.topics.map((t) => t.topic));
  const topics = await Promise.all(req.topics.map(async (t) => ({
    topic: t.topic,
    partitions: await settleAll(t.partitions, (p): Promise<PartitionOut> => {
      if (refused.has(t.topic)) return Promise.resolve({ errorCode: ctx.errorOf('TOPIC_AUTHORIZATION_FAILED').errorCode, partition: p.partition, leaderEpoch: -1, endOffset: -1 });
      const r = ctx.broker.endOffsetForEpoch(t.topic, p.partition, p.leaderEpoch, p.currentLeaderEpoch);
      return Promise.resolve({ errorCode: 0, partition: p.partition, leaderEpoch: r.leaderEpoch, endOffset: r.endOffset });
    }, (err, p) => ({ errorCode: ctx.error(err).errorCode, partition: p.partition, leaderEpoch: -1, endOffset: -1 })),
  })));
  return { throttleTimeMs: 0, topics };
});
