/**
 * DescribeCluster (60): the cluster id, the node that takes admin requests (any live broker
 * forwards them to the metadata leader, as for Metadata's controllerId) and the live brokers — the
 * same view as Metadata (BrokerApi.cluster). Endpoint type 2 (controllers) is for clients that
 * bootstrap from the controller listener; Flotilla's nodes answer only as brokers, so it gets
 * UNSUPPORTED_ENDPOINT_TYPE, as a Kafka broker answers it. Authorized operations are not computed
 * (Kafka's "omitted" value, as when not asked). v2's includeFencedBrokers (KIP-1073) adds the
 * registered brokers the metadata marks fenced, isFenced true, in broker id order with the others;
 * without it (and before v2) only unfenced brokers are listed.
 */
import { authorizedOperations } from './authz.js';
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { AUTHORIZED_OPERATIONS_OMITTED, describeClusterApi } from '../../kafka/describe-cluster.js';
import { handler } from '../handler.js';

const ENDPOINT_BROKERS = 1;

export const describeClusterHandler = handler(describeClusterApi, (ctx, req) => {
  const base = { throttleTimeMs: 0, endpointType: req.endpointType, clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED };
  if (!ctx.authorize('describe', 'cluster', CLUSTER_RESOURCE)) {
    return Promise.resolve({ ...base, ...ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', 'DESCRIBE on the cluster is required'), clusterId: '', controllerId: -1, brokers: [] });
  }
  if (req.endpointType !== ENDPOINT_BROKERS) {
    const e = ctx.errorOf('UNSUPPORTED_ENDPOINT_TYPE', `endpoint type ${req.endpointType} is not served: Flotilla's nodes answer as brokers (type 1)`);
    return Promise.resolve({ ...base, ...e, clusterId: '', controllerId: -1, brokers: [] });
  }
  // The endpoints of the listener the request came in on (brokers without it left out).
  const c = ctx.broker.cluster(ctx.session.listener);
  return Promise.resolve({
    ...base,
    clusterAuthorizedOperations: authorizedOperations(ctx, req.includeClusterAuthorizedOperations, 'cluster', CLUSTER_RESOURCE),
    errorCode: 0,
    errorMessage: null,
    clusterId: c.clusterId,
    controllerId: c.controllerId,
    brokers: [
      ...c.brokers.map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack, isFenced: false })),
      ...(req.includeFencedBrokers ? c.fencedBrokers : []).map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack, isFenced: true })),
    ].sort((a, b) => a.brokerId - b.brokerId),
  });
});
