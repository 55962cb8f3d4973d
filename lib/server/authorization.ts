/**
 * Which operation on which resource every served API needs, and at which granularity a denial is
 * answered: the one table of the server's authorization (Kafka's KafkaApis.scala, ControllerApis,
 * AclApis; research security.md §1.9). The handlers enforce it (ctx.authorize / isAuthorized, in
 * the order listed); `spec/server/authorization.spec.ts` walks the dispatch table and fails for
 * a served API without an entry here, and drives each handler with and without the ACLs listed.
 *
 * `none`: the API needs no authorization (ApiVersions; the SASL APIs before login). Checks
 * marked `filter` leave out what the caller may not see instead of refusing (nothing audited).
 * To add an API: one line here, keyed by its name in lib/kafka/apis.ts.
 */
import type { AclOperation, ResourceType } from '../auth/acl.js';
import type { KafkaErrorName } from '../kafka/errors.js';

export interface AuthorizationCheck {
  readonly op: AclOperation;
  readonly resource: ResourceType;
  /** Where the denial shows: the whole request, or per item. 'filter': the item is left out. */
  readonly per: 'request' | 'partition' | 'topic' | 'group' | 'transactional-id' | 'resource' | 'filter';
  /** The error of a denial ('filter': none). */
  readonly error: KafkaErrorName | null;
  /** When the check applies, in words (e.g. "with a transactional id"). */
  readonly when?: string;
}

export type AuthorizationEntry = 'none' | readonly AuthorizationCheck[];

const T = 'TOPIC_AUTHORIZATION_FAILED';
const G = 'GROUP_AUTHORIZATION_FAILED';
const C = 'CLUSTER_AUTHORIZATION_FAILED';
const X = 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED';
const check = (op: AclOperation, resource: ResourceType, per: AuthorizationCheck['per'], error: KafkaErrorName | null, when?: string): AuthorizationCheck =>
  (when === undefined ? { op, resource, per, error } : { op, resource, per, error, when });
const clusterOnly = (op: AclOperation): AuthorizationEntry => [check(op, 'cluster', 'request', C)];

export const apiAuthorization: Readonly<Record<string, AuthorizationEntry>> = {
  Produce: [check('write', 'transactional-id', 'request', X, 'with a transactional id'), check('write', 'topic', 'partition', T)],
  Fetch: [check('cluster-action', 'cluster', 'request', C, 'from a replica (replica id >= 0): always refused, Flotilla replicates over Raft'), check('read', 'topic', 'partition', T)],
  ListOffsets: [check('describe', 'topic', 'partition', T)],
  Metadata: [
    check('describe', 'topic', 'filter', null, 'all topics'), check('describe', 'topic', 'topic', T, 'named topics, whether they exist or not'),
    check('create', 'cluster', 'topic', null, 'auto-creation, else CREATE on the topic'), check('create', 'topic', 'topic', T, 'auto-creation'),
  ],
  OffsetCommit: [check('read', 'group', 'request', G), check('read', 'topic', 'partition', T)],
  OffsetFetch: [check('describe', 'group', 'group', G), check('describe', 'topic', 'partition', T, 'named partitions; all-offsets requests leave the others out')],
  FindCoordinator: [check('describe', 'group', 'group', G, 'group keys'), check('describe', 'transactional-id', 'transactional-id', X, 'transaction keys')],
  JoinGroup: [check('read', 'group', 'request', G)],
  Heartbeat: [check('read', 'group', 'request', G)],
  LeaveGroup: [check('read', 'group', 'request', G)],
  SyncGroup: [check('read', 'group', 'request', G)],
  DescribeGroups: [check('describe', 'group', 'group', G)],
  ListGroups: [check('describe', 'cluster', 'filter', null, 'all groups; else only groups with DESCRIBE; never refused'), check('describe', 'group', 'filter', null)],
  ApiVersions: 'none',
  CreateTopics: [check('create', 'cluster', 'topic', null, 'else CREATE on each topic'), check('create', 'topic', 'topic', T), check('describe-configs', 'topic', 'filter', null, 'configs in the response (v5+)')],
  DeleteTopics: [check('delete', 'cluster', 'topic', null, 'else DESCRIBE and DELETE on each topic, before its existence'), check('delete', 'topic', 'topic', T)],
  DeleteRecords: [check('delete', 'topic', 'partition', T)],
  InitProducerId: [
    check('write', 'transactional-id', 'request', X, 'with a transactional id'),
    check('idempotent-write', 'cluster', 'request', C, 'without one: IDEMPOTENT_WRITE on the cluster or WRITE on some topic'),
  ],
  OffsetForLeaderEpoch: [check('describe', 'topic', 'partition', T)],
  AddPartitionsToTxn: [check('write', 'transactional-id', 'request', X), check('write', 'topic', 'partition', T, 'the other partitions OPERATION_NOT_ATTEMPTED')],
  AddOffsetsToTxn: [check('write', 'transactional-id', 'request', X), check('read', 'group', 'request', G)],
  EndTxn: [check('write', 'transactional-id', 'request', X)],
  WriteTxnMarkers: clusterOnly('cluster-action'),
  TxnOffsetCommit: [check('write', 'transactional-id', 'request', X), check('read', 'group', 'request', G), check('read', 'topic', 'partition', T)],
  DescribeAcls: clusterOnly('describe'),
  CreateAcls: clusterOnly('alter'),
  DeleteAcls: clusterOnly('alter'),
  DescribeConfigs: [check('describe-configs', 'cluster', 'resource', C, 'broker resources'), check('describe-configs', 'topic', 'resource', T, 'topic resources')],
  AlterConfigs: [check('alter-configs', 'cluster', 'resource', C, 'broker resources'), check('alter-configs', 'topic', 'resource', T, 'topic resources')],
  IncrementalAlterConfigs: [check('alter-configs', 'cluster', 'resource', C, 'broker resources'), check('alter-configs', 'topic', 'resource', T, 'topic resources')],
  CreatePartitions: [check('alter', 'topic', 'topic', T)],
  DescribeLogDirs: clusterOnly('describe'),
  DeleteGroups: [check('delete', 'group', 'group', G)],
  ElectLeaders: clusterOnly('alter'),
  AlterPartitionReassignments: clusterOnly('alter'),
  ListPartitionReassignments: clusterOnly('describe'),
  OffsetDelete: [check('delete', 'group', 'request', G), check('read', 'topic', 'partition', T)],
  DescribeQuorum: clusterOnly('describe'),
  DescribeCluster: clusterOnly('describe'),
  DescribeProducers: [check('read', 'topic', 'partition', T)],
  DescribeTransactions: [check('describe', 'transactional-id', 'transactional-id', X), check('describe', 'topic', 'filter', null, 'topics of the transaction')],
  ListTransactions: [check('describe', 'transactional-id', 'filter', null)],
  AddRaftVoter: clusterOnly('alter'),
  RemoveRaftVoter: clusterOnly('alter'),
  DescribeTopicPartitions: [check('describe', 'topic', 'topic', T, 'named topics; a cursor over all topics leaves the others out')],
  // SASL: the login happens before any authorization; SCRAM credentials as Kafka (KIP-554).
  SaslHandshake: 'none',
  SaslAuthenticate: 'none',
  DescribeUserScramCredentials: clusterOnly('describe'),
  AlterUserScramCredentials: clusterOnly('alter'),
  // Client quotas (issue 19), as Kafka: the configs operations on the cluster.
  DescribeClientQuotas: clusterOnly('describe-configs'),
  AlterClientQuotas: clusterOnly('alter-configs'),
};

