// The versions each API gained for issue 17 ("every Kafka client generation"), through the
// dispatch path with real coordinators (GroupCoordinator on an in-memory log, TxnCoordinator on
// an in-memory log and marker sink) and the memory broker: what each old or new version means,
// not only that its bytes parse (spec/kafka/apis.spec.ts does that).
import { expect } from 'chai';
import { systemClock } from '../../lib/app/system-clock.js';
import { GroupCoordinator } from '../../lib/group/coordinator.js';
import { type GroupLog, type GroupRecord, replay } from '../../lib/group/records.js';
import { systemTimers } from '../../lib/group/timers.js';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { addPartitionsToTxnApi } from '../../lib/kafka/add-partitions-to-txn.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { createTopicsApi } from '../../lib/kafka/create-topics.js';
import { deleteTopicsApi } from '../../lib/kafka/delete-topics.js';
import { describeConfigsApi } from '../../lib/kafka/describe-configs.js';
import { describeGroupsApi } from '../../lib/kafka/describe-groups.js';
import { findCoordinatorApi } from '../../lib/kafka/find-coordinator.js';
import { joinGroupApi } from '../../lib/kafka/join-group.js';
import { leaveGroupApi } from '../../lib/kafka/leave-group.js';
import { listGroupsApi } from '../../lib/kafka/list-groups.js';
import { offsetCommitApi } from '../../lib/kafka/offset-commit.js';
import { offsetFetchApi } from '../../lib/kafka/offset-fetch.js';
import { ZERO_UUID } from '../../lib/kafka/primitives.js';
import { syncGroupApi } from '../../lib/kafka/sync-group.js';
import { processFrame } from '../../lib/server/dispatch.js';
import { ServerMetrics } from '../../lib/server/metrics.js';
import { TxnCoordinator } from '../../lib/txn/coordinator.js';
import { emptyTxnState, type TxnRecord } from '../../lib/txn/records.js';
import { MemoryBroker } from './memory-broker.js';

class ArrayLog implements GroupLog {
  readonly records: GroupRecord[] = [];
  async append(records: readonly GroupRecord[]): Promise<void> {
    this.records.push(...records);
  }
}

interface Env {
  broker: MemoryBroker;
  groups?: GroupCoordinator;
  txn?: TxnCoordinator;
}

async function call<Req, Res>(env: Env, api: ApiDefinition<Req, Res>, version: number, body: Req): Promise<Res> {
  const full = { ...env, metrics: new ServerMetrics(), responseBytesMax: 1 << 24 };
  const out = await processFrame(encodeRequestFrame(api, version, 1, 'test', body).subarray(4), full);
  if (out.kind !== 'response') throw new Error(`expected a response, got ${out.kind}`);
  expect(full.metrics.handlerFailures).to.equal(0);
  return parseResponse(api, version, out.frame.subarray(4)).body;
}

const joinReq = (memberId: string, extra: Partial<Parameters<typeof joinGroupApi.encodeRequest>[2]> = {}) => ({
  groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000, memberId, groupInstanceId: null, protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: Buffer.from([1]) }], reason: null, ...extra,
});

const syncReq = (generationId: number, memberId: string, extra: Partial<Parameters<typeof syncGroupApi.encodeRequest>[2]> = {}) => ({
  groupId: 'g', generationId, memberId, groupInstanceId: null, protocolType: null, protocolName: null,
  assignments: [{ memberId, assignment: Buffer.from('A') }], ...extra,
});

describe('server: the versions of issue 17', () => {
  let broker: MemoryBroker;
  let log: ArrayLog;
  let lines: string[];
  let groups: GroupCoordinator;
  beforeEach(() => {
    broker = new MemoryBroker({ fetchWaitMaxMs: 0 });
    broker.addTopic('t', 2);
    log = new ArrayLog();
    lines = [];
    groups = new GroupCoordinator({
      clock: systemClock, timers: systemTimers, settings: { offsetsTopicPartitions: 1, groupInitialRebalanceDelayMs: 0 },
      locate: () => ({ nodeId: 1, host: '127.0.0.1', port: 9092 }), logger: (l) => lines.push(l),
    });
    groups.loadPartition(0, log, replay([]));
  });
  afterEach(() => groups.close());

  describe('JoinGroup', () => {
    it('v0: a member id at once (no MEMBER_ID_REQUIRED before v4) and the session timeout serves as the rebalance timeout', async () => {
      const env = { broker, groups };
      const r = await call(env, joinGroupApi, 0, joinReq(''));
      expect(r).to.deep.include({ errorCode: 0, generationId: 1, protocolName: 'range' });
      expect(r.leader).to.equal(r.memberId);
      const s = await call(env, syncGroupApi, 0, syncReq(1, r.memberId));
      expect(s.errorCode).to.equal(0);
      const meta = log.records.find((x) => x.type === 'group-metadata');
      expect(meta?.type === 'group-metadata' && meta.value.members.map((m) => [m.sessionTimeoutMs, m.rebalanceTimeoutMs])).to.deep.equal([[10_000, 10_000]]);
      // v4 asks for a second join with the generated id.
      expect((await call(env, joinGroupApi, 4, { ...joinReq(''), groupId: 'g4' })).errorCode).to.equal(79);
    });

    it('v7+ names the protocol type, and errors carry null names; v8 reasons reach the log', async () => {
      const env = { broker, groups };
      const bad = await call(env, joinGroupApi, 7, joinReq('nobody'));
      expect(bad).to.deep.include({ errorCode: 25, protocolType: null, protocolName: null });
      expect((await call(env, joinGroupApi, 6, joinReq('nobody'))).protocolName).to.equal('');
      const first = await call(env, joinGroupApi, 8, joinReq('', { reason: 'starting up' }));
      expect(first.errorCode).to.equal(79);
      const r = await call(env, joinGroupApi, 8, joinReq(first.memberId, { reason: 'starting up' }));
      expect(r).to.deep.include({ errorCode: 0, protocolType: 'consumer', protocolName: 'range', skipAssignment: false });
      expect(lines.some((l) => l.includes('(reason: starting up)'))).to.equal(true);
    });

    it('v9: a static leader rejoining a Stable group gets the members with skipAssignment; v8 gets none; the assignment stays', async () => {
      const env = { broker, groups };
      const a = await call(env, joinGroupApi, 9, joinReq('', { groupInstanceId: 'i-1' }));
      expect(a).to.deep.include({ errorCode: 0, skipAssignment: false });
      expect(a.members).to.have.length(1);
      expect((await call(env, syncGroupApi, 5, syncReq(1, a.memberId, { groupInstanceId: 'i-1' }))).errorCode).to.equal(0);
      const v8 = await call(env, joinGroupApi, 8, joinReq('', { groupInstanceId: 'i-1' }));
      expect(v8).to.deep.include({ errorCode: 0, generationId: 1, skipAssignment: false, members: [] });
      expect(v8.leader).to.equal(v8.memberId);
      const v9 = await call(env, joinGroupApi, 9, joinReq('', { groupInstanceId: 'i-1' }));
      expect(v9).to.deep.include({ errorCode: 0, generationId: 1, skipAssignment: true });
      expect(v9.members.map((m) => [m.memberId, m.groupInstanceId])).to.deep.equal([[v9.memberId, 'i-1']]);
      const s = await call(env, syncGroupApi, 5, syncReq(1, v9.memberId, { groupInstanceId: 'i-1', assignments: [] }));
      expect(s).to.deep.include({ errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from('A') });
    });
  });

  it('SyncGroup v5: another protocol type or name is INCONSISTENT_GROUP_PROTOCOL; v4 sends none and is not checked', async () => {
    const env = { broker, groups };
    const r = await call(env, joinGroupApi, 3, joinReq(''));
    const wrong = await call(env, syncGroupApi, 5, syncReq(1, r.memberId, { protocolType: 'consumer', protocolName: 'roundrobin' }));
    expect(wrong).to.deep.include({ errorCode: 23, protocolType: null, protocolName: null });
    expect((await call(env, syncGroupApi, 4, syncReq(1, r.memberId, { protocolType: 'connect', protocolName: 'x' }))).errorCode).to.equal(0);
  });

  it('LeaveGroup v5: the reason reaches the log', async () => {
    const env = { broker, groups };
    const r = await call(env, joinGroupApi, 3, joinReq(''));
    const left = await call(env, leaveGroupApi, 5, { groupId: 'g', memberId: '', members: [{ memberId: r.memberId, groupInstanceId: null, reason: 'shutting down' }] });
    expect(left.members.map((m) => m.errorCode)).to.deep.equal([0]);
    expect(lines.some((l) => l.includes(`${r.memberId} left (reason: shutting down)`))).to.equal(true);
  });

  it('DescribeGroups v6 (KIP-1043): an unknown group is GROUP_ID_NOT_FOUND with a message; v5 and older answer it without error, state Dead', async () => {
    const env = { broker, groups };
    await call(env, joinGroupApi, 3, joinReq(''));
    const v6 = await call(env, describeGroupsApi, 6, { groups: ['g', 'nope'], includeAuthorizedOperations: false });
    expect(v6.groups.map((g) => [g.groupId, g.errorCode, g.errorMessage, g.groupState])).to.deep.equal([
      ['g', 0, null, 'CompletingRebalance'], ['nope', 69, 'Group nope not found.', 'Dead'],
    ]);
    for (const v of [0, 5]) {
      const old = await call(env, describeGroupsApi, v, { groups: ['nope'], includeAuthorizedOperations: false });
      expect(old.groups.map((g) => [g.errorCode, g.errorMessage, g.groupState]), `v${v}`).to.deep.equal([[0, null, 'Dead']]);
    }
  });

  it('ListGroups v5 filters by type (every group is classic) and names it; v4 has no type', async () => {
    const env = { broker, groups };
    await call(env, joinGroupApi, 3, joinReq(''));
    const all = await call(env, listGroupsApi, 5, { statesFilter: [], typesFilter: [] });
    expect(all.groups).to.deep.equal([{ groupId: 'g', protocolType: 'consumer', groupState: 'CompletingRebalance', groupType: 'classic' }]);
    expect((await call(env, listGroupsApi, 5, { statesFilter: [], typesFilter: ['Classic'] })).groups).to.have.length(1);
    expect((await call(env, listGroupsApi, 5, { statesFilter: [], typesFilter: ['consumer', 'share'] })).groups).to.deep.equal([]);
    expect((await call(env, listGroupsApi, 5, { statesFilter: ['Stable'], typesFilter: ['classic'] })).groups).to.deep.equal([]);
    expect((await call(env, listGroupsApi, 4, { statesFilter: [], typesFilter: ['share'] })).groups[0]).to.deep.equal({
      groupId: 'g', protocolType: 'consumer', groupState: 'CompletingRebalance', groupType: '',
    });
  });

  describe('OffsetCommit and OffsetFetch', () => {
    const commit = (offset: number, extra: Record<string, unknown> = {}) => ({
      groupId: 'old', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: 'm' }] }],
      ...extra,
    });

    it('v0 commits outside any generation, v1 keeps the client\'s commit time, v2 a retention; OffsetFetch v0 reads them back', async () => {
      const env = { broker, groups };
      const v0 = await call(env, offsetCommitApi, 0, commit(5));
      expect(v0.topics[0]!.partitions).to.deep.equal([{ partitionIndex: 0, errorCode: 0 }]);
      const fetch0 = () => call(env, offsetFetchApi, 0, { groupId: 'old', topics: [{ name: 't', partitionIndexes: [0, 1] }], groups: [], requireStable: false });
      expect((await fetch0()).topics[0]!.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode])).to.deep.equal([[0, 5, 'm', 0], [1, -1, '', 0]]);
      const v1 = commit(6, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 6, committedLeaderEpoch: -1, commitTimestamp: 1_000_000, committedMetadata: null }] }] });
      expect((await call(env, offsetCommitApi, 1, v1)).topics[0]!.partitions[0]!.errorCode).to.equal(0);
      const last = log.records.at(-1);
      expect(last?.type === 'offset-commit' && last.commitTimestampMs).to.equal(1_000_000);
      expect((await fetch0()).topics[0]!.partitions[0]!.committedOffset).to.equal(6);
      expect((await call(env, offsetCommitApi, 2, commit(7, { retentionTimeMs: 60_000 }))).topics[0]!.partitions[0]!.errorCode).to.equal(0);
      const kept = log.records.at(-1);
      expect(kept?.type === 'offset-commit' && kept.expireTimestampMs! - kept.commitTimestampMs).to.equal(60_000);
      // v5 has no retention field: the broker's retention applies.
      await call(env, offsetCommitApi, 5, commit(8, { retentionTimeMs: 60_000 }));
      const v5 = log.records.at(-1);
      expect(v5?.type === 'offset-commit' && 'expireTimestampMs' in v5).to.equal(false);
    });

    it('v9: a member commit to a group that does not exist is GROUP_ID_NOT_FOUND; v8 ILLEGAL_GENERATION', async () => {
      const env = { broker, groups };
      const member = commit(1, { groupId: 'missing', generationId: 3, memberId: 'm-1' });
      expect((await call(env, offsetCommitApi, 9, member)).topics[0]!.partitions[0]!.errorCode).to.equal(69);
      expect((await call(env, offsetCommitApi, 8, member)).topics[0]!.partitions[0]!.errorCode).to.equal(22);
      // OffsetFetch v9's member id and epoch are not checked for a classic group.
      await call(env, offsetCommitApi, 9, commit(4));
      const f = await call(env, offsetFetchApi, 9, {
        groupId: '', topics: [], requireStable: true,
        groups: [{ groupId: 'old', memberId: 'whoever', memberEpoch: 12, topics: null }],
      });
      expect(f.groups[0]!.topics[0]!.partitions.map((p) => [p.committedOffset, p.errorCode])).to.deep.equal([[4, 0]]);
    });
  });

  it('FindCoordinator v6: a share-group key (type 2) is INVALID_REQUEST; groups are found', async () => {
    const env = { broker, groups };
    const r = await call(env, findCoordinatorApi, 6, { key: '', keyType: 2, coordinatorKeys: ['s'] });
    expect(r.coordinators.map((c) => [c.key, c.errorCode])).to.deep.equal([['s', 42]]);
    const g = await call(env, findCoordinatorApi, 6, { key: '', keyType: 0, coordinatorKeys: ['g'] });
    expect(g.coordinators).to.deep.equal([{ key: 'g', nodeId: 1, host: '127.0.0.1', port: 9092, errorCode: 0, errorMessage: null }]);
  });

  it('AddPartitionsToTxn v4: a batch of transactions, each answered on its own; verifyOnly changes nothing', async () => {
    const records: TxnRecord[] = [];
    let nextId = 100;
    const txn = new TxnCoordinator({
      clock: systemClock, timers: systemTimers, settings: { transactionStatePartitions: 1 }, offsetsTopicPartitions: 1,
      locate: () => ({ nodeId: 1, host: '127.0.0.1', port: 9092 }), producerIds: { next: async () => nextId++ },
      writeMarker: async () => {}, partitionExists: (topic) => topic === 't',
    });
    txn.loadPartition(0, { log: { append: async (rs: readonly TxnRecord[]) => { records.push(...rs); } }, state: emptyTxnState(), leaderEpoch: 1 });
    try {
      const a = await txn.initProducerId({ transactionalId: 'a', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
      const env = { broker, txn };
      const tx = (verifyOnly: boolean, partitions: number[], producerEpoch = a.producerEpoch) => ({
        transactionalId: 'a', producerId: a.producerId, producerEpoch, verifyOnly, topics: [{ name: 't', partitions }],
      });
      const r = await call(env, addPartitionsToTxnApi, 4, {
        transactions: [tx(true, [0]), tx(false, [0])], transactionalId: '', producerId: 0, producerEpoch: 0, topics: [],
      });
      expect(r.errorCode).to.equal(0);
      const codes = r.resultsByTransaction.map((t) => t.topicResults.flatMap((x) => x.results.map((p) => [p.partitionIndex, p.errorCode])));
      expect(codes).to.deep.equal([[[0, 48]], [[0, 0]]]);
      const written = records.length;
      const v = await call(env, addPartitionsToTxnApi, 5, {
        transactions: [tx(true, [0, 1]), tx(true, [0], a.producerEpoch + 1)], transactionalId: '', producerId: 0, producerEpoch: 0, topics: [],
      });
      const vcodes = v.resultsByTransaction.map((t) => t.topicResults.flatMap((x) => x.results.map((p) => p.errorCode)));
      expect(vcodes).to.deep.equal([[0, 48], [90]]);
      expect(records.length).to.equal(written);
      // v3 (what clients send) is unchanged.
      const v3 = await call(env, addPartitionsToTxnApi, 3, { transactions: [], ...tx(false, [1]) });
      expect(v3.results[0]!.results).to.deep.equal([{ partitionIndex: 1, errorCode: 0 }]);
    } finally {
      txn.close();
    }
  });

  describe('admin APIs', () => {
    const topic = (name: string) => ({ name, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] });

    it('CreateTopics v0, v1 and v2 create topics; v0 carries no error message', async () => {
      const env = { broker };
      for (const v of [0, 1, 2]) {
        const r = await call(env, createTopicsApi, v, { topics: [topic(`c${v}`)], timeoutMs: 1000, validateOnly: false });
        expect(r.topics.map((t) => [t.name, t.errorCode])).to.deep.equal([[`c${v}`, 0]]);
        expect(broker.topics([`c${v}`])[0]!.partitions).to.have.length(2);
      }
      const again = await call(env, createTopicsApi, 0, { topics: [topic('c0')], timeoutMs: 1000, validateOnly: false });
      expect(again.topics[0]).to.deep.include({ errorCode: 36, errorMessage: null });
      expect((await call(env, createTopicsApi, 1, { topics: [topic('c0')], timeoutMs: 1000, validateOnly: false })).topics[0]!.errorMessage).to.equal('topic c0 already exists');
      // v1 validateOnly creates nothing.
      await call(env, createTopicsApi, 1, { topics: [topic('dry')], timeoutMs: 1000, validateOnly: true });
      expect(broker.topics(['dry'])).to.deep.equal([]);
    });

    it('DeleteTopics v6 deletes by id (UNKNOWN_TOPIC_ID for an id nobody has); v0 by name', async () => {
      const env = { broker };
      broker.addTopic('byid', 1);
      broker.addTopic('byname', 1);
      const id = broker.topics(['byid'])[0]!.topicId;
      const unknown = '0f0e0d0c-0b0a-0908-0706-050403020100';
      const r = await call(env, deleteTopicsApi, 6, { topics: [{ name: null, topicId: id }, { name: null, topicId: unknown }], topicNames: [], timeoutMs: 1000 });
      expect(r.responses.map((x) => [x.name, x.topicId, x.errorCode])).to.deep.equal([['byid', id, 0], [null, unknown, 100]]);
      expect(broker.topics(['byid'])).to.deep.equal([]);
      const v0 = await call(env, deleteTopicsApi, 0, { topics: [], topicNames: ['byname'], timeoutMs: 1000 });
      expect(v0.responses).to.deep.equal([{ name: 'byname', topicId: ZERO_UUID, errorCode: 0, errorMessage: null }]);
      expect(broker.topics(['byname'])).to.deep.equal([]);
    });

    it('DescribeConfigs v0 has isDefault; v3 types and, when asked, documentation; v4 is flexible', async () => {
      const env = { broker };
      const ask = { resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms', 'cleanup.policy'] }], includeSynonyms: false };
      const v0 = await call(env, describeConfigsApi, 0, { ...ask, includeDocumentation: true });
      expect(v0.results[0]!.configs.map((c) => [c.name, c.isDefault, c.configSource, c.documentation])).to.deep.equal([
        ['cleanup.policy', true, -1, null], ['retention.ms', true, -1, null],
      ]);
      for (const v of [3, 4]) {
        const withDoc = await call(env, describeConfigsApi, v, { ...ask, includeDocumentation: true });
        const byName = new Map(withDoc.results[0]!.configs.map((c) => [c.name, c]));
        expect(byName.get('retention.ms')).to.deep.include({ configType: 5, configSource: 5 }); // LONG, DEFAULT_CONFIG
        expect(byName.get('cleanup.policy')).to.deep.include({ configType: 7 }); // LIST
        expect(byName.get('retention.ms')!.documentation).to.match(/segments/);
        const noDoc = await call(env, describeConfigsApi, v, { ...ask, includeDocumentation: false });
        expect(noDoc.results[0]!.configs.map((c) => c.documentation)).to.deep.equal([null, null]);
      }
      const broker4 = await call(env, describeConfigsApi, 4, {
        resources: [{ resourceType: 4, resourceName: '1', configurationKeys: null }], includeSynonyms: true, includeDocumentation: false,
      });
      expect(broker4.results[0]!.configs.map((c) => [c.name, c.configType, c.isDefault])).to.deep.include(['num.partitions', 3, false]);
    });
  });
});
