/**
 * DescribeProducers (61): the active producers of each partition, read from this node's producer
 * state of the partitions it leads (NOT_LEADER_OR_FOLLOWER for the others, UNKNOWN_TOPIC_OR_PARTITION
 * for unknown ones), as Kafka's broker answers from its ProducerStateManager.
 */
import { denied } from './authz.js';
import { describeProducersApi } from '../../kafka/describe-producers.js';
import { handler } from '../handler.js';

export const describeProducersHandler = handler(describeProducersApi, async (ctx, req) => {
  // READ on each topic, TOPIC_AUTHORIZATION_FAILED per partition.
  const refused = denied(ctx, 'read', 'topic', req.topics.map((t) => t.name));
  return {
  throttleTimeMs: 0,
  topics: req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => {
      if (refused.has(t.name)) return { partitionIndex, ...ctx.errorOf('TOPIC_AUTHORIZATION_FAILED'), activeProducers: [] };
      try {
        const producers = ctx.broker.describeProducers(t.name, partitionIndex);
        return {
          partitionIndex, errorCode: 0, errorMessage: null,
          activeProducers: producers.map((p) => ({
            producerId: p.producerId, producerEpoch: p.epoch, lastSequence: p.lastSequence, lastTimestamp: p.lastTimestamp,
            coordinatorEpoch: p.coordinatorEpoch, currentTxnStartOffset: p.txnFirstOffset,
          })),
        };
      } catch (err) {
        const e = ctx.error(err);
        return { partitionIndex, errorCode: e.errorCode, errorMessage: e.errorMessage, activeProducers: [] };
      }
    }),
  })),
  };
});
