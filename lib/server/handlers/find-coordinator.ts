/**
 * FindCoordinator (10): which node coordinates a group (keyType 0): the leader of the group's
 * offsets partition, from the group coordinator (`ctx.groups.coordinatorFor`); or a
 * transactional id (keyType 1): the leader of its transaction-state partition (`ctx.txn`).
 * Without the coordinator asked for: COORDINATOR_NOT_AVAILABLE (retriable). Key type 2 (a share
 * group, KIP-932, askable from v6) and unknown key types: INVALID_REQUEST, as Kafka answers
 * while share groups are disabled (retrying cannot help). Served from v0 because librdkafka 2.0.2 derives
 * feature flags from it (research R1: BrokerGroupCoordinator, and its LZ4 check). The endpoint
 * is the coordinator's on the caller's listener (`ctx.session.listener`); a coordinator without
 * that listener is COORDINATOR_NOT_AVAILABLE, as Kafka answers.
 */
import { findCoordinatorApi } from '../../kafka/find-coordinator.js';
import { handler } from '../handler.js';

export const findCoordinatorHandler = handler(findCoordinatorApi, async (ctx, req) => {
  const keys = ctx.apiVersion >= 4 ? req.coordinatorKeys : [req.key];
  const keyType = ctx.apiVersion >= 1 ? req.keyType : 0;
  const answers = keys.map((key) => {
    const none = (message: string) => ({ key, nodeId: -1, host: '', port: -1, ...ctx.errorOf('COORDINATOR_NOT_AVAILABLE', message) });
    // DESCRIBE on the group (30) or the transactional id (53), per key.
    if (keyType === 1 && !ctx.authorize('describe', 'transactional-id', key)) {
      return { key, nodeId: -1, host: '', port: -1, ...ctx.errorOf('TRANSACTIONAL_ID_AUTHORIZATION_FAILED') };
    }
    if (keyType === 0 && !ctx.authorize('describe', 'group', key)) return { key, nodeId: -1, host: '', port: -1, ...ctx.errorOf('GROUP_AUTHORIZATION_FAILED') };
    if (keyType === 1) {
      if (ctx.txn === undefined) return none('this node runs no transaction coordinator');
      const at = ctx.txn.coordinatorFor(key, ctx.session.listener);
      if (at.error !== null) return { key, nodeId: -1, host: '', port: -1, ...ctx.errorOf(at.error, at.message) };
      return { key, nodeId: at.nodeId, host: at.host, port: at.port, errorCode: 0, errorMessage: null };
    }
    if (keyType === 2) return { key, nodeId: -1, host: '', port: -1, ...ctx.errorOf('INVALID_REQUEST', 'share groups (KIP-932) are not supported') };
    if (keyType !== 0) return { key, nodeId: -1, host: '', port: -1, ...ctx.errorOf('INVALID_REQUEST', `unknown coordinator key type ${keyType}`) };
    if (ctx.groups === undefined) return none('this node runs no group coordinator');
    const at = ctx.groups.coordinatorFor(key, ctx.session.listener);
    if (at.error !== null) return { key, nodeId: -1, host: '', port: -1, ...ctx.errorOf(at.error, at.message) };
    return { key, nodeId: at.nodeId, host: at.host, port: at.port, errorCode: 0, errorMessage: null };
  });
  const first = answers[0] ?? { nodeId: -1, host: '', port: -1, errorCode: 0, errorMessage: null };
  return {
    throttleTimeMs: 0,
    errorCode: first.errorCode,
    errorMessage: first.errorMessage,
    nodeId: first.nodeId,
    host: first.host,
    port: first.port,
    coordinators: ctx.apiVersion >= 4 ? answers : [],
  };
});
