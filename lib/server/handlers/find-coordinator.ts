/**
 * FindCoordinator (10), until the group and transaction coordinators exist: every key is answered
 * COORDINATOR_NOT_AVAILABLE (retriable). It is served at all because librdkafka 2.0.2 derives
 * feature flags from the advertised APIs (research R1: BrokerGroupCoordinator needs
 * FindCoordinator v0, and its LZ4 feature hangs on the same check); the groups issue replaces
 * this module with the real coordinator lookup.
 */
import { findCoordinatorApi } from '../../kafka/find-coordinator.js';
import { handler } from '../handler.js';

const MESSAGE = 'no group or transaction coordinator runs on this cluster yet';

export const findCoordinatorHandler = handler(findCoordinatorApi, async (ctx, req) => {
  const keys = ctx.apiVersion >= 4 ? req.coordinatorKeys : [req.key];
  const answers = keys.map((key) => ({ key, nodeId: -1, host: '', port: -1, ...ctx.errorOf('COORDINATOR_NOT_AVAILABLE', MESSAGE) }));
  const first = answers[0] ?? { errorCode: 0, errorMessage: null };
  return {
    throttleTimeMs: 0,
    errorCode: first.errorCode,
    errorMessage: first.errorMessage,
    nodeId: -1,
    host: '',
    port: -1,
    coordinators: ctx.apiVersion >= 4 ? answers : [],
  };
});
