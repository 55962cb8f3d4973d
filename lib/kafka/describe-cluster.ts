/**
 * DescribeCluster (key 60): the cluster id, the controller and the brokers (what AdminClient's
 * describeCluster and kafka-broker-api-versions ask since Kafka 2.8). Implemented v0-v2 (all
 * flexible).
 *
 * Request:  v0 includeClusterAuthorizedOperations; v1 endpointType (1 brokers, 2 controllers); v2
 *           (Kafka 4.0, KIP-1073) includeFencedBrokers.
 * Response: v0 error, clusterId, controllerId, brokers, clusterAuthorizedOperations; v1
 *           endpointType (the type described); v2 brokers[].isFenced.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('includeClusterAuthorizedOperations', bool, '0+'),
  f('endpointType', int8, '1+', { default: 1 }),
  f('includeFencedBrokers', bool, '2+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
  nf('errorMessage', string, '0+', '0+'),
  f('endpointType', int8, '1+', { default: 1 }),
  f('clusterId', string, '0+'),
  f('controllerId', int32, '0+', { default: -1 }),
  f('brokers', array(struct([
    f('brokerId', int32, '0+'),
    f('host', string, '0+'),
    f('port', int32, '0+'),
    nf('rack', string, '0+', '0+'),
    f('isFenced', bool, '2+'),
  ])), '0+'),
  f('clusterAuthorizedOperations', int32, '0+', { default: -2147483648 }),
]);

export type DescribeClusterRequest = ValueOf<typeof request>;
export type DescribeClusterResponse = ValueOf<typeof response>;

/** Authorized operations not asked for (Kafka's Integer.MIN_VALUE). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export const describeClusterApi = defineApi({
  apiKey: 60, name: 'DescribeCluster', minVersion: 0, maxVersion: 2, flexibleFrom: 0, request, response,
});
