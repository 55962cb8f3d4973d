/**
 * InitProducerId (22): without a transactional id, a fresh producer id with epoch 0 from this
 * node's block (any broker answers, as in Kafka; KIP-360's producerId/epoch of v3+ is not needed
 * then: a new id is always safe); with one, the transaction coordinator of that id answers
 * (`ctx.txn`), fencing earlier instances by bumping the epoch.
 */
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { initProducerIdApi } from '../../kafka/init-producer-id.js';
import { handler } from '../handler.js';

export const initProducerIdHandler = handler(initProducerIdApi, async (ctx, req) => {
  const fail = (errorCode: number) => ({ throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 });
  // With a transactional id: WRITE on it (53). Without: IDEMPOTENT_WRITE on the cluster or WRITE on
  // some topic (KIP-679's authorizeByResourceType), else CLUSTER_AUTHORIZATION_FAILED.
  if (req.transactionalId !== null && !ctx.authorize('write', 'transactional-id', req.transactionalId)) {
    return fail(ctx.errorOf('TRANSACTIONAL_ID_AUTHORIZATION_FAILED').errorCode);
  }
  if (req.transactionalId === null && ctx.authorizerEnabled && !ctx.isAuthorized('idempotent-write', 'cluster', CLUSTER_RESOURCE) && !ctx.authorizeAny('write', 'topic')) {
    return fail(ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED').errorCode);
  }
  try {
    if (req.transactionalId === null) {
      const r = await ctx.broker.initProducerId();
      return { throttleTimeMs: 0, errorCode: 0, producerId: r.producerId, producerEpoch: r.producerEpoch };
    }
    if (ctx.txn === undefined) return fail(ctx.errorOf('COORDINATOR_NOT_AVAILABLE', 'this node runs no transaction coordinator').errorCode);
    const r = await ctx.txn.initProducerId({
      transactionalId: req.transactionalId,
      transactionTimeoutMs: req.transactionTimeoutMs,
      producerId: ctx.apiVersion >= 3 ? req.producerId : -1,
      producerEpoch: ctx.apiVersion >= 3 ? req.producerEpoch : -1,
    });
    return { throttleTimeMs: 0, errorCode: 0, producerId: r.producerId, producerEpoch: r.producerEpoch };
  } catch (err) {
    return fail(ctx.error(err, ctx.apiVersion < 4 ? 'oldFencing' : 'batch').errorCode);
  }
});
