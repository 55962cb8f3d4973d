// The version matrix: for every (API, version) Flotilla advertises, which encoder and decoder WE
// DID NOT WRITE checks our codec, one row per (API, version range). spec/server/version-matrix.spec.ts
// runs each row through parseRequest and the real dispatch (in-memory broker), and fails when an
// API's advertised range and the rows disagree (a version without a row, or a row for a version
// not advertised). Adding a version or an API = adding a row here:
//   { api: 'Name', versions: '3-5', source: kp('module', 'XRequest') }               kafka-python 2.0.2
//     (a kafka-python schema that disagrees with Kafka's JSON: kp('m', 'XRequest', { request: 'why' }) or { response: 'why' })
//   { api: 'Name', versions: '2', source: kjs('module', { ...request args }) }        KafkaJS 2.2.4
//   { api: 'Name', versions: '3', source: golden('kcat-x-v3', 'why') }                a captured frame
//     (its path relative to spec/server/fixtures, without .hex: 'clients/librdkafka-2.12.0/Metadata-v9')
//   { api: 'Name', versions: '6-8', source: roundTripOnly('why no independent encoder exists here') }
// `api` is the name in lib/kafka's table (apis.ts); `versions` is "N" or "N-M".
//
// kafka-python (Debian python3-kafka, /usr/bin/python3) encodes a request generated from its own
// class SCHEMA and decodes our response: spec/kafka/kafka-python-codec.py, one subprocess per phase
// for the whole table. It knows no flexible version. KafkaJS encodes the row's arguments with its
// request module and decodes our response with its response module. A golden row is a frame a real
// client sent (spec/server/fixtures): its response has no independent decoder here.

export type MatrixSource =
  | {
      readonly kind: 'kafka-python'; readonly module: string; readonly request: string;
      /**
       * A kafka-python 2.0.2 schema that disagrees with Kafka's JSON for this row's versions: its
       * request (then our own request is answered and kafka-python decodes the answer) or its
       * response (then kafka-python's request is checked and our own decoder reads the answer).
       */
      readonly bug?: { readonly request?: string; readonly response?: string };
    }
  | { readonly kind: 'kafkajs'; readonly module: string; readonly args: unknown; readonly responseArgs?: unknown }
  | { readonly kind: 'golden'; readonly fixture: string; readonly note: string }
  | { readonly kind: 'round-trip'; readonly reason: string };

export interface MatrixRow {
  readonly api: string;
  readonly versions: string;
  readonly source: MatrixSource;
}

/** kafka-python 2.0.2: `kafka.protocol.<module>.<request>[v]`, its answer read as that class's RESPONSE_TYPE. */
export function kp(module: string, request: string, bug?: { request?: string; response?: string }): MatrixSource {
  return bug === undefined ? { kind: 'kafka-python', module, request } : { kind: 'kafka-python', module, request, bug };
}

/** KafkaJS 2.2.4: `kafkajs/src/protocol/requests/<module>/v<N>/{request,response}.js`. */
export function kjs(module: string, args: unknown, responseArgs?: unknown): MatrixSource {
  return responseArgs === undefined ? { kind: 'kafkajs', module, args } : { kind: 'kafkajs', module, args, responseArgs };
}

/**
 * A captured request frame: spec/server/fixtures/<fixture>.hex, `fixture` relative to that folder
 * (a subdirectory path such as 'clients/<client>/<Api>-v<N>' included). The capture's trailing bytes
 * after the last known field, if the client sent any, are allowed: our parser ignores and counts them.
 */
export function golden(fixture: string, note: string): MatrixSource {
  return { kind: 'golden', fixture, note };
}

/** No independent encoder on this machine speaks this version: our own round trip through dispatch. */
export function roundTripOnly(reason: string): MatrixSource {
  return { kind: 'round-trip', reason };
}

const noKp = (v: string): string => `kafka-python 2.0.2 stops at ${v}`;
const noKjs = (v: string): string => `KafkaJS 2.2.4 stops at ${v}`;
const FLEX = 'flexible (header v2, compact fields): kafka-python 2.0.2 has no flexible version';
const NO_CAPTURE = 'no client capture of this version (spec/server/fixtures/clients)';
const NEITHER = (api: string): string => `neither kafka-python 2.0.2 nor KafkaJS 2.2.4 has ${api}`;
const LIBRDKAFKA = (frame: string): string => `clients/librdkafka-2.12.0/${frame}`;
const PLATFORMATIC = (frame: string): string => `clients/platformatic-kafka-1.35.0/${frame}`;
const txn = { transactionalId: 'tx', producerId: '7', producerEpoch: 0 };
const groupArgs = { groupId: 'g', groupGenerationId: 3, generationId: 3, memberId: 'm-1', groupInstanceId: null };
const deleteRecordsArgs = { topics: [{ topic: 't', partitions: [{ partition: 0, offset: '1' }] }], timeout: 100 };

export const versionMatrix: readonly MatrixRow[] = [
  { api: 'Produce', versions: '0-7', source: kp('produce', 'ProduceRequest') },
  { api: 'Produce', versions: '8', source: kp('produce', 'ProduceRequest', { response: 'kafka-python 2.0.2\'s ProduceResponse_v8 lacks record_errors and error_message (Kafka: v8+)' }) },
  { api: 'Produce', versions: '9-11', source: roundTripOnly(`${FLEX}; ${noKjs('v7')}; ${NO_CAPTURE}`) },
  { api: 'Fetch', versions: '4-11', source: kp('fetch', 'FetchRequest') },
  { api: 'Fetch', versions: '12', source: golden(LIBRDKAFKA('Fetch-v12'), `librdkafka 2.12; ${FLEX}, ${noKjs('v11')}`) },
  { api: 'Fetch', versions: '13-17', source: roundTripOnly(`${FLEX}; ${noKjs('v11')}; ${NO_CAPTURE}`) },
  { api: 'ListOffsets', versions: '0-3', source: kp('offset', 'OffsetRequest') },
  { api: 'ListOffsets', versions: '4-5', source: kp('offset', 'OffsetRequest', { request: 'kafka-python 2.0.2 writes current_leader_epoch as int64 (Kafka: int32); KafkaJS 2.2.4 stops at v3' }) },
  { api: 'ListOffsets', versions: '6-10', source: roundTripOnly(`${FLEX}; ${noKjs('v3')}; ${NO_CAPTURE}`) },
  { api: 'Metadata', versions: '0-5', source: kp('metadata', 'MetadataRequest') },
  { api: 'Metadata', versions: '6', source: kjs('metadata', { topics: ['t'], allowAutoTopicCreation: false }) },
  { api: 'Metadata', versions: '7-8', source: roundTripOnly(`${noKp('v5')}, ${noKjs('v6')}; ${NO_CAPTURE}`) },
  { api: 'Metadata', versions: '9', source: golden(LIBRDKAFKA('Metadata-v9'), `librdkafka 2.12; ${FLEX}, ${noKjs('v6')}`) },
  { api: 'Metadata', versions: '10-12', source: roundTripOnly(`${FLEX}; ${noKjs('v6')}; ${NO_CAPTURE}`) },
  { api: 'Metadata', versions: '13', source: roundTripOnly(`Kafka 4.0 (KIP-1102): no client here sends it; ${noKjs('v6')}; ${NO_CAPTURE}`) },
  { api: 'OffsetCommit', versions: '0-3', source: kp('commit', 'OffsetCommitRequest') },
  { api: 'OffsetCommit', versions: '4-5', source: kjs('offsetCommit', { ...groupArgs, retentionTime: -1, topics: [{ topic: 't', partitions: [{ partition: 0, offset: '5', metadata: 'md' }] }] }) },
  { api: 'OffsetCommit', versions: '6-7', source: roundTripOnly(`${noKp('v3')}, ${noKjs('v5')}; ${NO_CAPTURE}`) },
  { api: 'OffsetCommit', versions: '8', source: golden(LIBRDKAFKA('OffsetCommit-v8'), `librdkafka 2.12; ${FLEX}, ${noKjs('v5')}`) },
  { api: 'OffsetCommit', versions: '9', source: roundTripOnly(`${FLEX}; ${noKjs('v5')}; ${NO_CAPTURE}`) },
  { api: 'OffsetFetch', versions: '0-3', source: kp('commit', 'OffsetFetchRequest') },
  { api: 'OffsetFetch', versions: '4', source: kjs('offsetFetch', { groupId: 'g', topics: [{ topic: 't', partitions: [{ partition: 0 }] }] }) },
  { api: 'OffsetFetch', versions: '5', source: roundTripOnly(`${noKp('v3')}, ${noKjs('v4')}; ${NO_CAPTURE}`) },
  { api: 'OffsetFetch', versions: '6-7', source: roundTripOnly(`${FLEX}; ${noKjs('v4')}; ${NO_CAPTURE}`) },
  { api: 'OffsetFetch', versions: '8', source: golden(LIBRDKAFKA('OffsetFetch-v8'), `librdkafka 2.12; ${FLEX}, ${noKjs('v4')}`) },
  { api: 'OffsetFetch', versions: '9', source: roundTripOnly(`${FLEX}; ${noKjs('v4')}; ${NO_CAPTURE}`) },
  { api: 'FindCoordinator', versions: '0', source: kp('commit', 'GroupCoordinatorRequest') },
  { api: 'FindCoordinator', versions: '1', source: kp('commit', 'GroupCoordinatorRequest', { response: 'kafka-python 2.0.2\'s GroupCoordinatorResponse_v1 lacks throttle_time_ms (Kafka: v1+)' }) },
  { api: 'FindCoordinator', versions: '2', source: kjs('findCoordinator', { coordinatorKey: 'g', coordinatorType: 0 }) },
  { api: 'FindCoordinator', versions: '3', source: roundTripOnly(`${FLEX}; ${noKjs('v2')}; ${NO_CAPTURE}`) },
  { api: 'FindCoordinator', versions: '4', source: golden(PLATFORMATIC('FindCoordinator-v4'), `@platformatic/kafka 1.35; ${FLEX}, ${noKjs('v2')}`) },
  { api: 'FindCoordinator', versions: '5-6', source: roundTripOnly(`${FLEX}; ${noKjs('v2')}; ${NO_CAPTURE}`) },
  { api: 'JoinGroup', versions: '0-2', source: kp('group', 'JoinGroupRequest') },
  { api: 'JoinGroup', versions: '3-5', source: kjs('joinGroup', { ...groupArgs, memberId: '', sessionTimeout: 30000, rebalanceTimeout: 60000, protocolType: 'consumer', groupProtocols: [{ name: 'range', metadata: Buffer.from([0, 1]) }] }) },
  { api: 'JoinGroup', versions: '6', source: golden(PLATFORMATIC('JoinGroup-v6'), `@platformatic/kafka 1.35; ${FLEX}, ${noKjs('v5')}`) },
  { api: 'JoinGroup', versions: '7-9', source: roundTripOnly(`${FLEX}; ${noKjs('v5')}; ${NO_CAPTURE}`) },
  { api: 'Heartbeat', versions: '0-1', source: kp('group', 'HeartbeatRequest') },
  { api: 'Heartbeat', versions: '2-3', source: kjs('heartbeat', groupArgs) },
  { api: 'Heartbeat', versions: '4', source: roundTripOnly(`${FLEX}; ${noKjs('v3')}; ${NO_CAPTURE}`) },
  { api: 'LeaveGroup', versions: '0-1', source: kp('group', 'LeaveGroupRequest') },
  { api: 'LeaveGroup', versions: '2', source: kjs('leaveGroup', groupArgs) },
  { api: 'LeaveGroup', versions: '3', source: kjs('leaveGroup', { groupId: 'g', members: [{ memberId: 'm-1' }, { memberId: 'm-2', groupInstanceId: 'i-2' }] }) },
  { api: 'LeaveGroup', versions: '4', source: golden(PLATFORMATIC('LeaveGroup-v4'), `@platformatic/kafka 1.35; ${FLEX}, ${noKjs('v3')}`) },
  { api: 'LeaveGroup', versions: '5', source: roundTripOnly(`${FLEX}; ${noKjs('v3')}; ${NO_CAPTURE}`) },
  { api: 'SyncGroup', versions: '0-1', source: kp('group', 'SyncGroupRequest') },
  { api: 'SyncGroup', versions: '2-3', source: kjs('syncGroup', { ...groupArgs, groupAssignment: [{ memberId: 'm-1', memberAssignment: Buffer.from([1]) }] }) },
  { api: 'SyncGroup', versions: '4', source: golden(PLATFORMATIC('SyncGroup-v4'), `@platformatic/kafka 1.35; ${FLEX}, ${noKjs('v3')}`) },
  { api: 'SyncGroup', versions: '5', source: roundTripOnly(`${FLEX}; ${noKjs('v3')}; ${NO_CAPTURE}`) },
  { api: 'DescribeGroups', versions: '0-2', source: kp('admin', 'DescribeGroupsRequest') },
  { api: 'DescribeGroups', versions: '3', source: kp('admin', 'DescribeGroupsRequest', { response: 'kafka-python 2.0.2 puts authorized_operations after the groups array (Kafka: in each group)' }) },
  { api: 'DescribeGroups', versions: '4', source: roundTripOnly(`${noKp('v3')}, ${noKjs('v2')}; ${NO_CAPTURE}`) },
  { api: 'DescribeGroups', versions: '5', source: golden(PLATFORMATIC('DescribeGroups-v5'), `@platformatic/kafka 1.35; ${FLEX}, ${noKjs('v2')}`) },
  { api: 'DescribeGroups', versions: '6', source: roundTripOnly(`Kafka 4.0 (KIP-1043): no client here sends it; ${noKjs('v2')}; ${NO_CAPTURE}`) },
  { api: 'ListGroups', versions: '0-1', source: kp('admin', 'ListGroupsRequest') },
  { api: 'ListGroups', versions: '2', source: kjs('listGroups', {}) },
  { api: 'ListGroups', versions: '3-5', source: roundTripOnly(`${FLEX}; ${noKjs('v2')}; ${NO_CAPTURE}`) },
  { api: 'ApiVersions', versions: '0-2', source: kp('admin', 'ApiVersionRequest') },
  { api: 'ApiVersions', versions: '3', source: golden('kcat-apiversions-v3', 'librdkafka 2.12 (kcat); no independent decoder of a v3 response here') },
  { api: 'ApiVersions', versions: '4', source: roundTripOnly(`${FLEX}; ${noKjs('v2')}; librdkafka 2.12 and @platformatic/kafka 1.35 send v3`) },
  { api: 'CreateTopics', versions: '0-3', source: kp('admin', 'CreateTopicsRequest') },
  { api: 'CreateTopics', versions: '4', source: golden(LIBRDKAFKA('CreateTopics-v4'), `librdkafka 2.12; ${noKp('v3')}, ${noKjs('v3')}`) },
  { api: 'CreateTopics', versions: '5-6', source: roundTripOnly(`${FLEX}; ${noKjs('v3')}; ${NO_CAPTURE}`) },
  { api: 'CreateTopics', versions: '7', source: golden(PLATFORMATIC('CreateTopics-v7'), `@platformatic/kafka 1.35; ${FLEX}, ${noKjs('v3')}`) },
  { api: 'DeleteTopics', versions: '0-3', source: kp('admin', 'DeleteTopicsRequest') },
  { api: 'DeleteTopics', versions: '4-5', source: roundTripOnly(`${FLEX}; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'DeleteTopics', versions: '6', source: golden(PLATFORMATIC('DeleteTopics-v6'), `@platformatic/kafka 1.35; ${FLEX}, ${noKjs('v1')}`) },
  { api: 'DeleteRecords', versions: '0-1', source: kjs('deleteRecords', deleteRecordsArgs, deleteRecordsArgs) },
  { api: 'DeleteRecords', versions: '2', source: roundTripOnly(`${FLEX}; kafka-python 2.0.2 has no DeleteRecords; ${noKjs('v1')}`) },
  { api: 'InitProducerId', versions: '0-1', source: kjs('initProducerId', { transactionalId: null, transactionTimeout: 30000 }) },
  { api: 'InitProducerId', versions: '2-3', source: roundTripOnly(`${FLEX}; kafka-python 2.0.2 has no transactions; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'InitProducerId', versions: '4', source: golden(LIBRDKAFKA('InitProducerId-v4'), `librdkafka 2.12 (idempotent producer); ${FLEX}, ${noKjs('v1')}`) },
  { api: 'InitProducerId', versions: '5', source: roundTripOnly(`${FLEX}; kafka-python 2.0.2 has no transactions; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'AddPartitionsToTxn', versions: '0-1', source: kjs('addPartitionsToTxn', { ...txn, topics: [{ topic: 't', partitions: [0, 1] }] }) },
  { api: 'AddPartitionsToTxn', versions: '2', source: roundTripOnly(`kafka-python 2.0.2 has no transactions; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'AddPartitionsToTxn', versions: '3-5', source: roundTripOnly(`${FLEX}; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'AddOffsetsToTxn', versions: '0-1', source: kjs('addOffsetsToTxn', { ...txn, groupId: 'g' }) },
  { api: 'AddOffsetsToTxn', versions: '2', source: roundTripOnly(`kafka-python 2.0.2 has no transactions; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'AddOffsetsToTxn', versions: '3-4', source: roundTripOnly(`${FLEX}; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'EndTxn', versions: '0-1', source: kjs('endTxn', { ...txn, transactionResult: true }) },
  { api: 'EndTxn', versions: '2', source: roundTripOnly(`kafka-python 2.0.2 has no transactions; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'EndTxn', versions: '3-4', source: roundTripOnly(`${FLEX}; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'TxnOffsetCommit', versions: '0-1', source: kjs('txnOffsetCommit', { ...txn, groupId: 'g', topics: [{ topic: 't', partitions: [{ partition: 0, offset: '5', metadata: null }] }] }) },
  { api: 'TxnOffsetCommit', versions: '2', source: roundTripOnly(`kafka-python 2.0.2 has no transactions; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'TxnOffsetCommit', versions: '3-4', source: roundTripOnly(`${FLEX}; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'DescribeConfigs', versions: '0-2', source: kp('admin', 'DescribeConfigsRequest') },
  { api: 'DescribeConfigs', versions: '3', source: roundTripOnly(`${noKp('v2')}, ${noKjs('v2')}; ${NO_CAPTURE} (@platformatic/kafka 1.35 sends v2, with v3's include_documentation as a trailing byte)`) },
  { api: 'DescribeConfigs', versions: '4', source: roundTripOnly(`${FLEX}; ${noKjs('v2')}; ${NO_CAPTURE}`) },
  { api: 'AlterConfigs', versions: '0-1', source: kp('admin', 'AlterConfigsRequest') },
  { api: 'AlterConfigs', versions: '2', source: roundTripOnly(`${FLEX}; ${noKjs('v1')}`) },
  { api: 'IncrementalAlterConfigs', versions: '0', source: roundTripOnly('neither kafka-python 2.0.2 nor KafkaJS 2.2.4 has IncrementalAlterConfigs') },
  { api: 'IncrementalAlterConfigs', versions: '1', source: roundTripOnly(`${FLEX}; neither kafka-python 2.0.2 nor KafkaJS 2.2.4 has IncrementalAlterConfigs`) },
  { api: 'CreatePartitions', versions: '0-1', source: kp('admin', 'CreatePartitionsRequest') },
  { api: 'CreatePartitions', versions: '2-3', source: roundTripOnly(`${FLEX}; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'DeleteGroups', versions: '0-1', source: kp('admin', 'DeleteGroupsRequest') },
  { api: 'DeleteGroups', versions: '2', source: roundTripOnly(`${FLEX}; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'OffsetDelete', versions: '0', source: roundTripOnly('neither kafka-python 2.0.2 nor KafkaJS 2.2.4 has OffsetDelete') },
  { api: 'WriteTxnMarkers', versions: '0', source: roundTripOnly(`a broker-to-broker API: ${NEITHER('WriteTxnMarkers')}; ${NO_CAPTURE}`) },
  { api: 'WriteTxnMarkers', versions: '1', source: roundTripOnly(`${FLEX}; a broker-to-broker API: ${NEITHER('WriteTxnMarkers')}; ${NO_CAPTURE}`) },
  { api: 'DescribeQuorum', versions: '0-2', source: roundTripOnly(`flexible from v0; ${NEITHER('DescribeQuorum')}; ${NO_CAPTURE}`) },
  { api: 'DescribeProducers', versions: '0', source: roundTripOnly(`flexible from v0; ${NEITHER('DescribeProducers')}; ${NO_CAPTURE}`) },
  { api: 'DescribeTransactions', versions: '0', source: roundTripOnly(`flexible from v0; ${NEITHER('DescribeTransactions')}; ${NO_CAPTURE}`) },
  { api: 'ListTransactions', versions: '0-1', source: roundTripOnly(`flexible from v0; ${NEITHER('ListTransactions')}; ${NO_CAPTURE}`) },
  { api: 'ListTransactions', versions: '2', source: roundTripOnly(`Kafka 4.1 (KIP-1152): no client here sends it; ${NEITHER('ListTransactions')}; ${NO_CAPTURE}`) },
  { api: 'AddRaftVoter', versions: '0', source: roundTripOnly(`flexible from v0; ${NEITHER('AddRaftVoter')}; ${NO_CAPTURE}`) },
  { api: 'RemoveRaftVoter', versions: '0', source: roundTripOnly(`flexible from v0; ${NEITHER('RemoveRaftVoter')}; ${NO_CAPTURE}`) },
  { api: 'OffsetForLeaderEpoch', versions: '0-3', source: roundTripOnly(`${NEITHER('OffsetForLeaderEpoch')}; ${NO_CAPTURE}`) },
  { api: 'OffsetForLeaderEpoch', versions: '4', source: roundTripOnly(`${FLEX}; ${NEITHER('OffsetForLeaderEpoch')}; ${NO_CAPTURE}`) },
  { api: 'DescribeCluster', versions: '0-1', source: roundTripOnly(`flexible from v0; ${NEITHER('DescribeCluster')}; ${NO_CAPTURE}`) },
  { api: 'DescribeCluster', versions: '2', source: roundTripOnly(`Kafka 4.0 (KIP-1073): no client here sends it; ${NEITHER('DescribeCluster')}; ${NO_CAPTURE}`) },
  { api: 'DescribeLogDirs', versions: '0-1', source: roundTripOnly(`${NEITHER('DescribeLogDirs')}; ${NO_CAPTURE}`) },
  { api: 'DescribeLogDirs', versions: '2-4', source: roundTripOnly(`${FLEX}; ${NEITHER('DescribeLogDirs')}; ${NO_CAPTURE}`) },
  { api: 'ElectLeaders', versions: '0-1', source: roundTripOnly(`${NEITHER('ElectLeaders')}; ${NO_CAPTURE}`) },
  { api: 'ElectLeaders', versions: '2', source: roundTripOnly(`${FLEX}; ${NEITHER('ElectLeaders')}; ${NO_CAPTURE}`) },
  { api: 'AlterPartitionReassignments', versions: '0', source: kjs('alterPartitionReassignments', { topics: [{ topic: 't', partitionAssignment: [{ partition: 0, replicas: [1, 2] }] }], timeout: 100 }) },
  { api: 'AlterPartitionReassignments', versions: '1', source: roundTripOnly(`Kafka 4.0 (KIP-860): no client here sends it; ${noKjs('v0')}, kafka-python 2.0.2 has no AlterPartitionReassignments; ${NO_CAPTURE}`) },
  { api: 'ListPartitionReassignments', versions: '0', source: kjs('listPartitionReassignments', { topics: [{ topic: 't', partitions: [0, 1] }], timeout: 100 }) },
  { api: 'DescribeTopicPartitions', versions: '0', source: roundTripOnly(`flexible from v0; ${NEITHER('DescribeTopicPartitions')}; ${NO_CAPTURE}`) },
  // answered ILLEGAL_SASL_STATE by dispatch (a PLAINTEXT listener); the login itself is spec/server/sasl.spec.ts
  { api: 'SaslHandshake', versions: '0-1', source: kp('admin', 'SaslHandShakeRequest') },
  { api: 'SaslAuthenticate', versions: '0-1', source: kp('admin', 'SaslAuthenticateRequest') },
  { api: 'SaslAuthenticate', versions: '2', source: roundTripOnly(`${FLEX}; ${noKjs('v1')}; ${NO_CAPTURE}`) },
  { api: 'DescribeUserScramCredentials', versions: '0', source: roundTripOnly(`flexible from v0; ${NEITHER('DescribeUserScramCredentials')} (research security.md 0.11); ${NO_CAPTURE}`) },
  { api: 'AlterUserScramCredentials', versions: '0', source: roundTripOnly(`flexible from v0; ${NEITHER('AlterUserScramCredentials')} (research security.md 0.11); ${NO_CAPTURE}`) },
  { api: 'DescribeAcls', versions: '0', source: kjs('describeAcls', { resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 3, permissionType: 3 }) },
  { api: 'DescribeAcls', versions: '1', source: kjs('describeAcls', { resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 3, permissionType: 3 }) },
  { api: 'DescribeAcls', versions: '2-3', source: roundTripOnly(`${FLEX}; KafkaJS 2.2.4 has v0-v1 only, kafka-python 2.0.2 no flexible version; ${NO_CAPTURE}`) },
  { api: 'CreateAcls', versions: '0', source: kjs('createAcls', { creations: [{ resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 3, permissionType: 3 }] }) },
  { api: 'CreateAcls', versions: '1', source: kjs('createAcls', { creations: [{ resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 3, permissionType: 3 }] }) },
  { api: 'CreateAcls', versions: '2-3', source: roundTripOnly(`${FLEX}; KafkaJS 2.2.4 has v0-v1 only, kafka-python 2.0.2 no flexible version; ${NO_CAPTURE}`) },
  { api: 'DeleteAcls', versions: '0', source: kjs('deleteAcls', { filters: [{ resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 3, permissionType: 3 }] }) },
  { api: 'DeleteAcls', versions: '1', source: kjs('deleteAcls', { filters: [{ resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 3, permissionType: 3 }] }) },
  { api: 'DeleteAcls', versions: '2-3', source: roundTripOnly(`${FLEX}; KafkaJS 2.2.4 has v0-v1 only, kafka-python 2.0.2 no flexible version; ${NO_CAPTURE}`) },
  { api: 'DescribeClientQuotas', versions: '0', source: roundTripOnly(`${NEITHER('DescribeClientQuotas')}; ${NO_CAPTURE}`) },
  { api: 'DescribeClientQuotas', versions: '1', source: roundTripOnly(`${FLEX}; ${NEITHER('DescribeClientQuotas')}; ${NO_CAPTURE}`) },
  { api: 'AlterClientQuotas', versions: '0', source: roundTripOnly(`${NEITHER('AlterClientQuotas')}; ${NO_CAPTURE}`) },
  { api: 'AlterClientQuotas', versions: '1', source: roundTripOnly(`${FLEX}; ${NEITHER('AlterClientQuotas')}; ${NO_CAPTURE}`) },
];

/** The versions of a row: "N" or "N-M". */
export function rowVersions(row: MatrixRow): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(row.versions);
  if (m === null) throw new Error(`${row.api}: bad versions "${row.versions}" (write "N" or "N-M")`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi < lo) throw new Error(`${row.api}: versions "${row.versions}" run backwards`);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}
