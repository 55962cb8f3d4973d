/**
 * WriteTxnMarkers (27): COMMIT/ABORT markers for partitions this node leads, each written through
 * the partition's marker path (Partition.writeMarker) and answered once committed, concurrently.
 * Kafka's checks are the partition's producer state's (lib/broker/producer-state.ts applyMarker):
 * a producer epoch older than the producer's (INVALID_PRODUCER_EPOCH) and a coordinator epoch older
 * than its last marker's (TRANSACTION_COORDINATOR_FENCED) are refused; off the leader
 * NOT_LEADER_OR_FOLLOWER. What an operator's `kafka-transactions abort --topic T --partition P
 * --producer-id .. --producer-epoch .. --coordinator-epoch ..` sends to end a hanging transaction;
 * Flotilla's own coordinator writes its markers over the peer RPC, with transaction numbers.
 * Internal topics are refused (INVALID_TOPIC_EXCEPTION): the offsets topic's markers also complete
 * pending offsets, which only the coordinator's path does.
 */
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { writeTxnMarkersApi } from '../../kafka/write-txn-markers.js';
import { handler, settleAll } from '../handler.js';

/** How long one marker may take to commit (the request carries no timeout; Kafka's request.timeout.ms). */
const MARKER_TIMEOUT_MS = 30_000;

export const writeTxnMarkersHandler = handler(writeTxnMarkersApi, async (ctx, req) => {
  // A broker-to-broker API: CLUSTER_ACTION on the cluster, else every partition CLUSTER_AUTHORIZATION_FAILED.
  const refused = !ctx.authorize('cluster-action', 'cluster', CLUSTER_RESOURCE);
  return {
  markers: await Promise.all(req.markers.map(async (m) => ({
    producerId: m.producerId,
    topics: await Promise.all(m.topics.map(async (t) => ({
      name: t.name,
      partitions: await settleAll(t.partitionIndexes, async (partitionIndex) => {
        if (refused) return { partitionIndex, errorCode: ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED').errorCode };
        if (m.producerId < 0 || m.producerEpoch < 0 || m.coordinatorEpoch < 0) {
          // A marker must name a producer; a negative epoch is no epoch at all.
          return { partitionIndex, errorCode: ctx.errorOf('INVALID_REQUEST', 'a marker needs a producer id, a producer epoch and a coordinator epoch').errorCode };
        }
        await ctx.broker.writeTxnMarker({
          topic: t.name, partition: partitionIndex, producerId: m.producerId, producerEpoch: m.producerEpoch,
          commit: m.transactionResult, coordinatorEpoch: m.coordinatorEpoch, timeoutMs: MARKER_TIMEOUT_MS,
        });
        return { partitionIndex, errorCode: 0 };
      }, (err, partitionIndex) => ({ partitionIndex, errorCode: ctx.error(err).errorCode })),
    }))),
  }))),
  };
});
