// Authorization of every served API through the real dispatch path (parseFrame → dispatch with a
// session → handler → encoded response), with the authorizer reading the memory broker's ACLs:
// the table of lib/server/authorization.ts is complete (a served API without an entry fails
// here), each API refuses a principal without ACLs with its documented code and audits it once,
// and the ACLs of its entry let the same request through. Then the alice/bob scenario of the
// issue, DENY precedence, filtering, and the ACL APIs themselves (H2-H4).
import { expect } from 'chai';
import { CLUSTER_RESOURCE, type AclOperation, type ResourceType } from '../../lib/auth/acl.js';
import { Authorizer } from '../../lib/auth/authorizer.js';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { apis, encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { type KafkaErrorName, errorCode } from '../../lib/kafka/errors.js';
import { AuditLog } from '../../lib/server/audit.js';
import { apiAuthorization } from '../../lib/server/authorization.js';
import { type DispatchEnv, dispatch, handlers, parseFrame } from '../../lib/server/dispatch.js';
import { ServerMetrics } from '../../lib/server/metrics.js';
import { plaintextSession } from '../../lib/server/session.js';
import { dispatchEnv } from './helpers.js';
import { MemoryBroker } from './memory-broker.js';

const AUTH_CODES = new Set([29, 30, 31, 53].map((c) => c));

type Shape = { kind: string; items?: Shape; fields?: readonly { name: string; type: Shape; default: unknown }[] };

/** `value` with every field it leaves out set to the schema's default, at any depth. */
function fill(type: Shape, value: unknown): unknown {
  if (type.kind === 'array' && Array.isArray(value)) return value.map((v) => fill(type.items!, v));
  if (type.kind !== 'struct' || value === null || typeof value !== 'object') return value;
  const given = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of type.fields ?? []) {
    const v = given[f.name];
    out[f.name] = v === undefined ? (Array.isArray(f.default) ? [] : f.default !== null && typeof f.default === 'object' && !Buffer.isBuffer(f.default) ? fill(f.type, {}) : f.default) : fill(f.type, v);
  }
  return out;
}

/** Every error code in a response, at any depth. */
function codesIn(value: unknown, out: number[] = []): number[] {
  if (Array.isArray(value)) for (const v of value) codesIn(v, out);
  else if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    for (const [k, v] of Object.entries(value)) {
      if ((k === 'errorCode' || k === 'topicConfigErrorCode') && typeof v === 'number') out.push(v);
      else codesIn(v, out);
    }
  }
  return out;
}

type Grant = readonly [op: AclOperation, type: ResourceType, name: string];

interface Env {
  readonly broker: MemoryBroker;
  readonly audit: AuditLog;
  readonly authorizer: Authorizer;
  call(apiName: string, version: number, body: Record<string, unknown>, principal?: string, host?: string): Promise<Record<string, unknown>>;
  allow(principal: string, ...grants: Grant[]): Promise<void>;
  deny(principal: string, grant: Grant, host?: string): Promise<void>;
  denials(): number;
}

async function setup(options: { superUsers?: string[]; authorizer?: boolean } = {}): Promise<Env> {
  const broker = new MemoryBroker({ autoCreateTopics: true, fetchWaitMaxMs: 0 });
  await broker.createTopics({ topics: [{ name: 'orders', partitions: 1, replicationFactor: 1, assignments: null, configs: {} }], validateOnly: false });
  const audit = new AuditLog(() => undefined);
  const authorizer = new Authorizer({ superUsers: options.superUsers ?? [], allowEveryoneIfNoAclFound: false }, () => broker.image().acls);
  const env: DispatchEnv = {
    broker, metrics: new ServerMetrics(), responseBytesMax: 1 << 24, audit, authorizer: options.authorizer === false ? undefined : authorizer,
  };
  const binding = (principal: string, permission: 'allow' | 'deny', [operation, resourceType, resourceName]: Grant, host = '*') => ({
    resourceType, resourceName, patternType: 'literal' as const, principal, host, operation, permission,
  });
  return {
    broker, audit, authorizer,
    async call(apiName, version, body, principal = 'User:alice', host = '127.0.0.1') {
      const api = [...apis.values()].find((a) => a.name === apiName) as unknown as ApiDefinition<Record<string, unknown>, unknown>;
      const full = fill(api.request.type as unknown as Shape, body) as Record<string, unknown>;
      const parsed = parseFrame(encodeRequestFrame(api, version, 7, 'spec', full).subarray(4), env.metrics);
      if (parsed.kind !== 'request') throw new Error(`not parsed: ${JSON.stringify(parsed)}`);
      const session = plaintextSession(host);
      const at = principal.indexOf(':');
      session.principal = { type: principal.slice(0, at), name: principal.slice(at + 1) };
      const out = await dispatch(parsed, env, `/${host}`, session);
      if (out.kind !== 'response') throw new Error(`${apiName}: expected a response, got ${JSON.stringify(out)}`);
      expect(env.metrics.handlerFailures).to.equal(0);
      return parseResponse(api, version, out.frame.subarray(4)).body as Record<string, unknown>;
    },
    async allow(principal, ...grants) {
      await broker.createAcls({ acls: grants.map((g) => binding(principal, 'allow', g)) });
    },
    async deny(principal, grant, host) {
      await broker.createAcls({ acls: [binding(principal, 'deny', grant, host)] });
    },
    denials: () => [...audit.denials.values()].reduce((a, b) => a + b, 0),
  };
}

const orders = (extra: Record<string, unknown> = {}) => [{ name: 'orders', partitions: [{ partitionIndex: 0, ...extra }] }];
const CLUSTER = CLUSTER_RESOURCE;

/** One request per (API, form): what it is refused with when the caller has no ACL, and what lets it through. */
const cases: readonly { api: string; form?: string; version: number; body: Record<string, unknown>; refused: KafkaErrorName; grants: Grant[] }[] = [
  { api: 'Produce', version: 9, body: { acks: -1, timeoutMs: 100, topics: orders({ records: Buffer.alloc(0) }) }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['write', 'topic', 'orders']] },
  {
    api: 'Produce', form: 'transactional', version: 9, body: { transactionalId: 'tx', acks: -1, timeoutMs: 100, topics: orders({ records: Buffer.alloc(0) }) },
    refused: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', grants: [['write', 'transactional-id', 'tx'], ['write', 'topic', 'orders']],
  },
  {
    api: 'Fetch', version: 12, body: { replicaId: -1, sessionEpoch: -1, maxWaitMs: 0, maxBytes: 1000, topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1000 }] }] },
    refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['read', 'topic', 'orders']],
  },
  {
    api: 'Fetch', form: 'from a replica', version: 12, body: { replicaId: 2, sessionEpoch: -1, maxWaitMs: 0, maxBytes: 1000, topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1000 }] }] },
    refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['cluster-action', 'cluster', CLUSTER]],
  },
  { api: 'ListOffsets', version: 7, body: { replicaId: -1, topics: orders({ timestamp: -1 }) }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['describe', 'topic', 'orders']] },
  { api: 'Metadata', version: 9, body: { topics: [{ name: 'orders' }], allowAutoTopicCreation: false }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['describe', 'topic', 'orders']] },
  {
    api: 'Metadata', form: 'auto-creation', version: 9, body: { topics: [{ name: 'fresh' }], allowAutoTopicCreation: true },
    refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['describe', 'topic', 'fresh'], ['create', 'topic', 'fresh']],
  },
  {
    api: 'OffsetCommit', version: 8, body: { groupId: 'billing', generationId: -1, topics: orders({ committedOffset: 1, committedLeaderEpoch: -1 }) },
    refused: 'GROUP_AUTHORIZATION_FAILED', grants: [['read', 'group', 'billing'], ['read', 'topic', 'orders']],
  },
  { api: 'OffsetFetch', version: 7, body: { groupId: 'billing', topics: [{ name: 'orders', partitionIndexes: [0] }] }, refused: 'GROUP_AUTHORIZATION_FAILED', grants: [['describe', 'group', 'billing'], ['describe', 'topic', 'orders']] },
  { api: 'DescribeUserScramCredentials', version: 0, body: { users: null }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['describe', 'cluster', CLUSTER]] },
  {
    api: 'AlterUserScramCredentials', version: 0, body: { deletions: [{ name: 'nobody', mechanism: 1 }], upsertions: [] },
    refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['alter', 'cluster', CLUSTER]],
  },
  {
    api: 'DescribeClientQuotas', version: 1, body: { components: [{ entityType: 'client-id', matchType: 2, match: null }], strict: false },
    refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['describe-configs', 'cluster', CLUSTER]],
  },
  {
    api: 'AlterClientQuotas', version: 1, body: { entries: [{ entity: [{ entityType: 'client-id', entityName: 'app' }], ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }] }], validateOnly: false },
    refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['alter-configs', 'cluster', CLUSTER]],
  },
  { api: 'FindCoordinator', version: 3, body: { key: 'billing', keyType: 0 }, refused: 'GROUP_AUTHORIZATION_FAILED', grants: [['describe', 'group', 'billing']] },
  { api: 'FindCoordinator', form: 'transaction', version: 4, body: { keyType: 1, coordinatorKeys: ['tx'] }, refused: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', grants: [['describe', 'transactional-id', 'tx']] },
  {
    api: 'JoinGroup', version: 5, body: { groupId: 'billing', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, protocolType: 'consumer' },
    refused: 'GROUP_AUTHORIZATION_FAILED', grants: [['read', 'group', 'billing']],
  },
  { api: 'Heartbeat', version: 3, body: { groupId: 'billing', generationId: 1, memberId: 'm' }, refused: 'GROUP_AUTHORIZATION_FAILED', grants: [['read', 'group', 'billing']] },
  { api: 'LeaveGroup', version: 4, body: { groupId: 'billing', members: [{ memberId: 'm' }] }, refused: 'GROUP_AUTHORIZATION_FAILED', grants: [['read', 'group', 'billing']] },
  { api: 'SyncGroup', version: 3, body: { groupId: 'billing', generationId: 1, memberId: 'm' }, refused: 'GROUP_AUTHORIZATION_FAILED', grants: [['read', 'group', 'billing']] },
  { api: 'DescribeGroups', version: 5, body: { groups: ['billing'] }, refused: 'GROUP_AUTHORIZATION_FAILED', grants: [['describe', 'group', 'billing']] },
  { api: 'DeleteGroups', version: 2, body: { groupsNames: ['billing'] }, refused: 'GROUP_AUTHORIZATION_FAILED', grants: [['delete', 'group', 'billing']] },
  { api: 'OffsetDelete', version: 0, body: { groupId: 'billing', topics: orders() }, refused: 'GROUP_AUTHORIZATION_FAILED', grants: [['delete', 'group', 'billing'], ['read', 'topic', 'orders']] },
  {
    api: 'CreateTopics', version: 5, body: { topics: [{ name: 'fresh', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 },
    refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['create', 'topic', 'fresh'], ['describe-configs', 'topic', 'fresh']],
  },
  { api: 'CreateTopics', form: 'on the cluster', version: 4, body: { topics: [{ name: 'fresh', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 1000 }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['create', 'cluster', CLUSTER]] },
  { api: 'DeleteTopics', version: 5, body: { topicNames: ['orders'], timeoutMs: 1000 }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['delete', 'topic', 'orders']] },
  { api: 'DeleteTopics', form: 'a topic that does not exist', version: 5, body: { topicNames: ['ghost'], timeoutMs: 1000 }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['delete', 'cluster', CLUSTER]] },
  { api: 'DeleteRecords', version: 2, body: { topics: orders({ offset: 0 }), timeoutMs: 1000 }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['delete', 'topic', 'orders']] },
  { api: 'InitProducerId', version: 4, body: { transactionalId: null, transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['write', 'topic', 'orders']] },
  { api: 'InitProducerId', form: 'idempotent, cluster', version: 4, body: { transactionalId: null, producerId: -1, producerEpoch: -1 }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['idempotent-write', 'cluster', CLUSTER]] },
  { api: 'InitProducerId', form: 'transactional', version: 4, body: { transactionalId: 'tx', transactionTimeoutMs: 1000, producerId: -1, producerEpoch: -1 }, refused: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', grants: [['write', 'transactional-id', 'tx']] },
  {
    api: 'AddPartitionsToTxn', version: 3, body: { transactionalId: 'tx', producerId: 1, producerEpoch: 0, topics: [{ name: 'orders', partitions: [0] }] },
    refused: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', grants: [['write', 'transactional-id', 'tx'], ['write', 'topic', 'orders']],
  },
  { api: 'AddOffsetsToTxn', version: 3, body: { transactionalId: 'tx', producerId: 1, producerEpoch: 0, groupId: 'billing' }, refused: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', grants: [['write', 'transactional-id', 'tx'], ['read', 'group', 'billing']] },
  { api: 'EndTxn', version: 3, body: { transactionalId: 'tx', producerId: 1, producerEpoch: 0, committed: true }, refused: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', grants: [['write', 'transactional-id', 'tx']] },
  {
    api: 'TxnOffsetCommit', version: 3, body: { transactionalId: 'tx', groupId: 'billing', producerId: 1, producerEpoch: 0, generationId: -1, topics: orders({ committedOffset: 1, committedLeaderEpoch: -1 }) },
    refused: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', grants: [['write', 'transactional-id', 'tx'], ['read', 'group', 'billing'], ['read', 'topic', 'orders']],
  },
  {
    api: 'WriteTxnMarkers', version: 1, body: { markers: [{ producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, transactionResult: true, topics: [{ name: 'orders', partitionIndexes: [0] }] }] },
    refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['cluster-action', 'cluster', CLUSTER]],
  },
  { api: 'DescribeAcls', version: 2, body: { resourceTypeFilter: 1, patternTypeFilter: 1, operation: 1, permissionType: 1 }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['describe', 'cluster', CLUSTER]] },
  {
    api: 'CreateAcls', version: 2, body: { creations: [{ resourceType: 2, resourceName: 'x', resourcePatternType: 3, principal: 'User:x', host: '*', operation: 3, permissionType: 3 }] },
    refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['alter', 'cluster', CLUSTER]],
  },
  {
    api: 'DeleteAcls', version: 2, body: { filters: [{ resourceTypeFilter: 2, resourceNameFilter: 'x', patternTypeFilter: 3, operation: 1, permissionType: 1 }] },
    refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['alter', 'cluster', CLUSTER]],
  },
  { api: 'DescribeConfigs', version: 4, body: { resources: [{ resourceType: 2, resourceName: 'orders', configurationKeys: null }] }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['describe-configs', 'topic', 'orders']] },
  { api: 'DescribeConfigs', form: 'broker', version: 4, body: { resources: [{ resourceType: 4, resourceName: '1', configurationKeys: null }] }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['describe-configs', 'cluster', CLUSTER]] },
  { api: 'AlterConfigs', version: 1, body: { resources: [{ resourceType: 2, resourceName: 'orders', configs: [{ name: 'retention.ms', value: '1000' }] }] }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['alter-configs', 'topic', 'orders']] },
  {
    api: 'IncrementalAlterConfigs', version: 1, body: { resources: [{ resourceType: 2, resourceName: 'orders', configs: [{ name: 'retention.ms', configOperation: 0, value: '1000' }] }] },
    refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['alter-configs', 'topic', 'orders']],
  },
  { api: 'CreatePartitions', version: 2, body: { topics: [{ name: 'orders', count: 2, assignments: null }], timeoutMs: 1000 }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['alter', 'topic', 'orders']] },
  { api: 'DescribeLogDirs', version: 4, body: { topics: null }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['describe', 'cluster', CLUSTER]] },
  { api: 'ElectLeaders', version: 2, body: { electionType: 0, topicPartitions: [{ topic: 'orders', partitions: [0] }], timeoutMs: 100 }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['alter', 'cluster', CLUSTER]] },
  { api: 'AlterPartitionReassignments', version: 0, body: { timeoutMs: 100, topics: [] }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['alter', 'cluster', CLUSTER]] },
  { api: 'ListPartitionReassignments', version: 0, body: { timeoutMs: 100, topics: null }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['describe', 'cluster', CLUSTER]] },
  { api: 'DescribeQuorum', version: 1, body: { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['describe', 'cluster', CLUSTER]] },
  { api: 'DescribeCluster', version: 1, body: { endpointType: 1 }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['describe', 'cluster', CLUSTER]] },
  { api: 'DescribeProducers', version: 0, body: { topics: [{ name: 'orders', partitionIndexes: [0] }] }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['read', 'topic', 'orders']] },
  { api: 'DescribeTransactions', version: 0, body: { transactionalIds: ['tx'] }, refused: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED', grants: [['describe', 'transactional-id', 'tx']] },
  { api: 'AddRaftVoter', version: 0, body: { clusterId: 'memory-cluster', timeoutMs: 100, voterId: 2 }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['alter', 'cluster', CLUSTER]] },
  { api: 'RemoveRaftVoter', version: 0, body: { clusterId: 'memory-cluster', voterId: 2 }, refused: 'CLUSTER_AUTHORIZATION_FAILED', grants: [['alter', 'cluster', CLUSTER]] },
  { api: 'OffsetForLeaderEpoch', version: 4, body: { replicaId: -1, topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['describe', 'topic', 'orders']] },
  { api: 'DescribeTopicPartitions', version: 0, body: { topics: [{ name: 'orders' }], responsePartitionLimit: 100 }, refused: 'TOPIC_AUTHORIZATION_FAILED', grants: [['describe', 'topic', 'orders']] },
];

/** APIs whose checks only filter (never refuse), with a request for each. */
const filtering: readonly { api: string; version: number; body: Record<string, unknown> }[] = [
  { api: 'ListGroups', version: 4, body: {} },
  { api: 'ListTransactions', version: 1, body: { durationFilter: -1 } },
];

describe('server: authorization of every served API', () => {
  it('the authorization table has an entry for every API the dispatcher serves, and none for an API it does not', () => {
    const missing = [...handlers.values()].map((h) => h.name).filter((name) => apiAuthorization[name] === undefined);
    expect(missing, 'served APIs without an authorization entry (lib/server/authorization.ts)').to.deep.equal([]);
    const served = new Set([...handlers.values()].map((h) => h.name));
    expect(Object.keys(apiAuthorization).filter((name) => !served.has(name))).to.deep.equal([]);
  });

  it('every API with checks is driven below (refused without ACLs, served with its entry\'s)', () => {
    const driven = new Set([...cases.map((c) => c.api), ...filtering.map((f) => f.api)]);
    const served = new Set([...handlers.values()].map((h) => h.name));
    const undriven = Object.entries(apiAuthorization).filter(([name, e]) => e !== 'none' && served.has(name)).map(([name]) => name).filter((n) => !driven.has(n));
    expect(undriven).to.deep.equal([]);
  });

  for (const c of cases) {
    it(`${c.api}${c.form === undefined ? '' : ` (${c.form})`}: ${c.refused} without ACLs (one audit line); served with ${c.grants.map((g) => g.join(' ')).join(', ')}`, async () => {
      const env = await setup();
      const refused = codesIn(await env.call(c.api, c.version, c.body));
      expect(refused, JSON.stringify(refused)).to.include(errorCode(c.refused));
      expect(env.denials()).to.equal(1);
      await env.allow('User:alice', ...c.grants);
      const served = codesIn(await env.call(c.api, c.version, c.body));
      expect(served.filter((x) => AUTH_CODES.has(x)), `codes ${JSON.stringify(served)}`).to.deep.equal([]);
      // Another principal is still refused.
      expect(codesIn(await env.call(c.api, c.version, c.body, 'User:bob'))).to.include(errorCode(c.refused));
    });
  }

  for (const f of filtering) {
    it(`${f.api}: filters, never refuses, audits nothing`, async () => {
      const env = await setup();
      const codes = codesIn(await env.call(f.api, f.version, f.body));
      expect(codes.filter((x) => AUTH_CODES.has(x))).to.deep.equal([]);
      expect(env.denials()).to.equal(0);
    });
  }

  it('with the authorizer off nothing changes: every request is served, the ACL APIs answer SECURITY_DISABLED', async () => {
    const env = await setup({ authorizer: false });
    for (const c of cases.filter((x) => !['DescribeAcls', 'CreateAcls', 'DeleteAcls'].includes(x.api))) {
      const codes = codesIn(await env.call(c.api, c.version, c.body, 'User:nobody'));
      expect(codes.filter((x) => AUTH_CODES.has(x)), c.api).to.deep.equal([]);
    }
    for (const c of cases.filter((x) => ['DescribeAcls', 'CreateAcls', 'DeleteAcls'].includes(x.api))) {
      expect(codesIn(await env.call(c.api, c.version, c.body)), c.api).to.deep.equal([errorCode('SECURITY_DISABLED')]);
    }
    expect(env.denials()).to.equal(0);
  });
});

describe('server: alice writes orders, bob reads it in group billing', () => {
  let env: Env;
  const produce = { acks: -1, timeoutMs: 100, topics: orders({ records: Buffer.alloc(0) }) };
  const fetch = { replicaId: -1, sessionEpoch: -1, maxWaitMs: 0, maxBytes: 1000, topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1000 }] }] };
  const commit = (groupId: string) => ({ groupId, generationId: -1, topics: orders({ committedOffset: 1, committedLeaderEpoch: -1 }) });
  const T = errorCode('TOPIC_AUTHORIZATION_FAILED');
  const G = errorCode('GROUP_AUTHORIZATION_FAILED');
  const authCodes = (r: Record<string, unknown>) => codesIn(r).filter((x) => AUTH_CODES.has(x));

  beforeEach(async () => {
    env = await setup({ superUsers: ['User:admin'] });
    await env.allow('User:alice', ['write', 'topic', 'orders']);
    await env.allow('User:bob', ['read', 'topic', 'orders'], ['read', 'group', 'billing']);
  });

  it('each may do exactly what it was given; every other combination is refused with the right code', async () => {
    expect(authCodes(await env.call('Produce', 9, produce, 'User:alice'))).to.deep.equal([]);
    expect(authCodes(await env.call('Produce', 9, produce, 'User:bob'))).to.deep.equal([T]);
    expect(authCodes(await env.call('Fetch', 12, fetch, 'User:bob'))).to.deep.equal([]);
    expect(authCodes(await env.call('Fetch', 12, fetch, 'User:alice'))).to.deep.equal([T]);
    expect(authCodes(await env.call('OffsetCommit', 8, commit('billing'), 'User:bob'))).to.deep.equal([]);
    expect(authCodes(await env.call('OffsetCommit', 8, commit('billing'), 'User:alice'))).to.deep.equal([G]);
    expect(authCodes(await env.call('OffsetCommit', 8, commit('other'), 'User:bob'))).to.deep.equal([G]);
    expect(authCodes(await env.call('JoinGroup', 5, { groupId: 'billing', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, protocolType: 'consumer' }, 'User:alice'))).to.deep.equal([G]);
    for (const p of ['User:carol', 'User:ANONYMOUS']) {
      expect(authCodes(await env.call('Produce', 9, produce, p))).to.deep.equal([T]);
      expect(authCodes(await env.call('Fetch', 12, fetch, p))).to.deep.equal([T]);
    }
    // Both may describe orders (WRITE and READ imply DESCRIBE): all-topics Metadata lists it for them only.
    const listed = async (p: string) => ((await env.call('Metadata', 9, { topics: null }, p))['topics'] as { name: string }[]).map((t) => t.name);
    expect(await listed('User:alice')).to.deep.equal(['orders']);
    expect(await listed('User:bob')).to.deep.equal(['orders']);
    expect(await listed('User:carol')).to.deep.equal([]);
    // A named topic carol may not describe: 29 whether it exists or not.
    const named = async (name: string) => codesIn(await env.call('Metadata', 9, { topics: [{ name }], allowAutoTopicCreation: false }, 'User:carol')).filter((x) => x !== 0);
    expect(await named('orders')).to.deep.equal([T]);
    expect(await named('ghost')).to.deep.equal([T]);
    // The super user may do anything.
    expect(authCodes(await env.call('Produce', 9, produce, 'User:admin'))).to.deep.equal([]);
    expect(authCodes(await env.call('DeleteGroups', 2, { groupsNames: ['billing'] }, 'User:admin'))).to.deep.equal([]);
  });

  it('authorized operations (KIP-430), when asked: bit i = operation code i the caller may do', async () => {
    const md = await env.call('Metadata', 9, { topics: [{ name: 'orders' }], includeTopicAuthorizedOperations: true, includeClusterAuthorizedOperations: true }, 'User:bob');
    const topic = (md['topics'] as { topicAuthorizedOperations: number }[])[0]!;
    expect(topic.topicAuthorizedOperations).to.equal((1 << 3) | (1 << 8)); // READ, and the DESCRIBE it implies
    expect(md['clusterAuthorizedOperations']).to.equal(0);
    const notAsked = await env.call('Metadata', 9, { topics: [{ name: 'orders' }] }, 'User:bob');
    expect((notAsked['topics'] as { topicAuthorizedOperations: number }[])[0]!.topicAuthorizedOperations).to.equal(-2147483648);
    const admin = await env.call('DescribeCluster', 1, { includeClusterAuthorizedOperations: true, endpointType: 1 }, 'User:admin');
    expect(admin['clusterAuthorizedOperations']).to.equal([5, 9, 10, 11, 12, 7, 8].reduce((b, c) => b | (1 << c), 0));
  });

  it('a DENY beats the ALLOW (host-specific too), and only for the host it names', async () => {
    await env.deny('User:bob', ['read', 'topic', 'orders'], '127.0.0.1');
    expect(authCodes(await env.call('Fetch', 12, fetch, 'User:bob', '127.0.0.1'))).to.deep.equal([T]);
    expect(authCodes(await env.call('Fetch', 12, fetch, 'User:bob', '10.1.1.1'))).to.deep.equal([]);
    // A client of a dual-stack listener is seen by its normalised address.
    expect(authCodes(await env.call('Fetch', 12, fetch, 'User:bob', '::ffff:127.0.0.1'.replace('::ffff:', '')))).to.deep.equal([T]);
  });

  it('ListGroups lists only the groups the caller may describe, never refused; audit lines only for explicit denials', async () => {
    const before = env.denials();
    await env.call('ListGroups', 4, {}, 'User:carol');
    await env.call('Metadata', 9, { topics: null }, 'User:carol');
    expect(env.denials()).to.equal(before);
    await env.call('Produce', 9, produce, 'User:carol');
    expect(env.denials()).to.equal(before + 1);
    expect(env.audit.denials.get('Produce|Topic')).to.be.at.least(1);
  });

  it('G3: auto-creation through Metadata needs CREATE (cluster or topic) where the node auto-creates; elsewhere the topic is just unknown', async () => {
    await env.allow('User:carol', ['describe', 'topic', 'fresh']);
    const ask = async () => codesIn(await env.call('Metadata', 9, { topics: [{ name: 'fresh' }], allowAutoTopicCreation: true }, 'User:carol')).filter((x) => x !== 0);
    expect(await ask()).to.deep.equal([T]);
    env.broker.autoCreate = false;
    expect(await ask()).to.deep.equal([errorCode('UNKNOWN_TOPIC_OR_PARTITION')]);
    env.broker.autoCreate = true;
    await env.allow('User:carol', ['create', 'cluster', CLUSTER]);
    expect(await ask()).to.deep.equal([]);
    expect(env.broker.image().topicsByName.has('fresh')).to.equal(true);
  });

  it('security settings cannot be altered by anyone, super users included', async () => {
    for (const key of ['super.users', 'sasl.enabled.mechanisms', 'ssl.keystore.location', 'listener.name.x.plain.sasl.jaas.config', 'authorizer.class.name']) {
      const r = await env.call('IncrementalAlterConfigs', 1, { resources: [{ resourceType: 4, resourceName: '1', configs: [{ name: key, configOperation: 0, value: 'x' }] }] }, 'User:admin');
      expect(codesIn(r), key).to.deep.equal([errorCode('INVALID_CONFIG')]);
      const a = await env.call('AlterConfigs', 1, { resources: [{ resourceType: 2, resourceName: 'orders', configs: [{ name: key, value: 'x' }] }] }, 'User:admin');
      expect(codesIn(a), key).to.deep.equal([errorCode('INVALID_CONFIG')]);
    }
  });
});

describe('server: the ACL APIs (CreateAcls, DescribeAcls, DeleteAcls)', () => {
  const creation = (over: Record<string, unknown> = {}) => ({ resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 4, permissionType: 3, ...over });
  const anyFilter = { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 };

  it('H2: each invalid creation gets INVALID_REQUEST, the valid ones in the same request are created', async () => {
    const env = await setup({ superUsers: ['User:admin'] });
    const bad = [
      { resourcePatternType: 2 }, { resourcePatternType: 1 }, { operation: 1 }, { operation: 0 }, { resourceName: '' },
      { resourceType: 4, resourceName: 'other' }, { principal: 'alice' }, { host: 'not-an-ip' }, { resourcePatternType: 4, resourceName: '' },
    ];
    const r = await env.call('CreateAcls', 2, { creations: [creation(), ...bad.map((b) => creation(b)), creation({ resourceType: 4, resourceName: 'kafka-cluster', operation: 7 })] }, 'User:admin');
    const codes = (r['results'] as { errorCode: number }[]).map((x) => x.errorCode);
    expect(codes).to.deep.equal([0, ...bad.map(() => errorCode('INVALID_REQUEST')), 0]);
    expect(env.broker.image().acls.size).to.equal(2);
    // Read-your-writes: the next request on the connection is authorized by the new ACL.
    const p = await env.call('Produce', 9, { acks: -1, timeoutMs: 100, topics: orders({ records: Buffer.alloc(0) }) }, 'User:alice');
    expect(codesIn(p)).to.not.include(errorCode('TOPIC_AUTHORIZATION_FAILED'));
  });

  it('H1/H3: DescribeAcls groups by resource; DeleteAcls with MATCH removes the literal, * and prefixed ACLs that match, and only those', async () => {
    const env = await setup({ superUsers: ['User:admin'] });
    await env.call('CreateAcls', 1, {
      creations: [
        creation(), creation({ operation: 3 }), creation({ resourceName: '*' }), creation({ resourceName: 'ord', resourcePatternType: 4 }),
        creation({ resourceName: 'x', resourcePatternType: 4 }), creation({ resourceType: 3, resourceName: 'orders' }),
      ],
    }, 'User:admin');
    const described = await env.call('DescribeAcls', 1, anyFilter, 'User:admin');
    const resources = described['resources'] as { resourceType: number; resourceName: string; patternType: number; acls: unknown[] }[];
    expect(resources.map((x) => [x.resourceType, x.resourceName, x.patternType, x.acls.length])).to.have.deep.members([
      [2, 'orders', 3, 2], [2, '*', 3, 1], [2, 'ord', 4, 1], [2, 'x', 4, 1], [3, 'orders', 3, 1],
    ]);
    // v0 cannot carry a pattern type: only LITERAL bindings.
    const v0 = (await env.call('DescribeAcls', 0, anyFilter, 'User:admin'))['resources'] as { resourceName: string }[];
    expect(v0.map((x) => x.resourceName).sort()).to.deep.equal(['*', 'orders', 'orders']);
    const deleted = await env.call('DeleteAcls', 1, { filters: [{ ...anyFilter, resourceTypeFilter: 2, resourceNameFilter: 'orders', patternTypeFilter: 2 }] }, 'User:admin');
    const matched = (deleted['filterResults'] as { matchingAcls: { resourceName: string; patternType: number }[] }[])[0]!.matchingAcls;
    expect(matched.map((m) => `${m.resourceName}/${m.patternType}`).sort()).to.deep.equal(['*/3', 'ord/4', 'orders/3', 'orders/3']);
    const left = [...env.broker.image().acls.values()].map((a) => `${a.resourceType}:${a.resourceName}`).sort();
    expect(left).to.deep.equal(['group:orders', 'topic:x']);
  });

  it('F8: removing one of three ACLs on a resource leaves the other two (the DENY included) effective', async () => {
    const env = await setup({ superUsers: ['User:admin'] });
    await env.call('CreateAcls', 2, { creations: [creation(), creation({ operation: 8 }), creation({ principal: 'User:bob', operation: 4, permissionType: 2 })] }, 'User:admin');
    await env.allow('User:bob', ['write', 'topic', 'orders']);
    await env.call('DeleteAcls', 2, { filters: [{ ...anyFilter, resourceTypeFilter: 2, resourceNameFilter: 'orders', patternTypeFilter: 3, principalFilter: 'User:alice', operation: 8 }] }, 'User:admin');
    const a = env.authorizer;
    expect(a.authorize('User:alice', '127.0.0.1', { operation: 'write', resourceType: 'topic', resourceName: 'orders' }).allowed).to.equal(true);
    expect(a.authorize('User:bob', '127.0.0.1', { operation: 'write', resourceType: 'topic', resourceName: 'orders' }).allowed).to.equal(false);
  });

  it('H4: the ACL APIs need DESCRIBE / ALTER on the cluster', async () => {
    const env = await setup();
    expect(codesIn(await env.call('DescribeAcls', 3, anyFilter, 'User:alice'))).to.deep.equal([errorCode('CLUSTER_AUTHORIZATION_FAILED')]);
    await env.allow('User:alice', ['describe', 'cluster', CLUSTER]);
    expect(codesIn(await env.call('DescribeAcls', 3, anyFilter, 'User:alice'))).to.deep.equal([0]);
    expect(codesIn(await env.call('CreateAcls', 3, { creations: [creation()] }, 'User:alice'))).to.deep.equal([errorCode('CLUSTER_AUTHORIZATION_FAILED')]);
    expect(codesIn(await env.call('DeleteAcls', 3, { filters: [anyFilter] }, 'User:alice'))).to.deep.equal([errorCode('CLUSTER_AUTHORIZATION_FAILED')]);
  });
});

describe('server: authorization with a real group coordinator, and the audit line', () => {
  it('bob commits and fetches offsets of group billing on t; alice is refused (30), carol on a group she may read but not t (29)', async () => {
    const { env: base, close } = dispatchEnv();
    try {
      const lines: Record<string, unknown>[] = [];
      const audit = new AuditLog((fields) => lines.push({ ...fields }));
      const broker = base.broker as MemoryBroker;
      const env: DispatchEnv = { ...base, audit, authorizer: new Authorizer({ superUsers: [], allowEveryoneIfNoAclFound: false }, () => broker.image().acls) };
      const acl = (principal: string, operation: AclOperation, resourceType: ResourceType, resourceName: string) =>
        ({ resourceType, resourceName, patternType: 'literal' as const, principal, host: '*', operation, permission: 'allow' as const });
      await broker.createAcls({ acls: [acl('User:bob', 'read', 'topic', 't'), acl('User:bob', 'read', 'group', 'billing'), acl('User:carol', 'read', 'group', 'billing')] });
      const call = async (apiName: string, version: number, body: Record<string, unknown>, principal: string): Promise<Record<string, unknown>> => {
        const api = [...apis.values()].find((a) => a.name === apiName) as unknown as ApiDefinition<Record<string, unknown>, unknown>;
        const parsed = parseFrame(encodeRequestFrame(api, version, 42, 'billing-app', fill(api.request.type as unknown as Shape, body) as Record<string, unknown>).subarray(4));
        if (parsed.kind !== 'request') throw new Error('not parsed');
        const session = plaintextSession('10.0.0.7');
        session.principal = { type: 'User', name: principal };
        const out = await dispatch(parsed, env, '/10.0.0.7', session);
        if (out.kind !== 'response') throw new Error(out.kind);
        return parseResponse(api, version, out.frame.subarray(4)).body as Record<string, unknown>;
      };
      const commit = { groupId: 'billing', generationId: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 5, committedLeaderEpoch: -1 }] }] };
      expect(codesIn(await call('OffsetCommit', 8, commit, 'bob'))).to.deep.equal([0]);
      const fetched = await call('OffsetFetch', 7, { groupId: 'billing', topics: [{ name: 't', partitionIndexes: [1] }] }, 'bob');
      expect((fetched['topics'] as { partitions: { committedOffset: number }[] }[])[0]!.partitions[0]!.committedOffset).to.equal(5);
      expect(codesIn(await call('OffsetCommit', 8, commit, 'alice'))).to.deep.equal([errorCode('GROUP_AUTHORIZATION_FAILED')]);
      expect(codesIn(await call('OffsetCommit', 8, commit, 'carol'))).to.deep.equal([errorCode('TOPIC_AUTHORIZATION_FAILED')]);
      // I1: one line per explicit denial, with who, from where, what, on what, and why.
      expect(lines).to.have.length(2);
      expect(lines[0]).to.deep.include({
        event: 'authorization-denied', principal: 'User:alice', host: '10.0.0.7', listener: 'PLAINTEXT', clientId: 'billing-app', api: 'OffsetCommit',
        correlationId: 42, operation: 'READ', resource: 'Group:LITERAL:billing', rule: 'default-deny',
      });
      expect(lines[1]).to.deep.include({ principal: 'User:carol', operation: 'READ', resource: 'Topic:LITERAL:t', rule: 'default-deny' });
    } finally {
      close();
    }
  });
});
