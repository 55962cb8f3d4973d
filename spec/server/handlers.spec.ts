// Handlers through the dispatch path (in-process), with the memory broker bent where a case needs
// it: leaderless partitions, auto-creation, broker failures, request validation.
import { expect } from 'chai';
import { FlotillaError } from '../../lib/base/errors.js';
import type { ClusterView, FetchPartitionResult, FetchRequestSpec, TopicView } from '../../lib/broker/api.js';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { createPartitionsApi } from '../../lib/kafka/create-partitions.js';
import { createTopicsApi } from '../../lib/kafka/create-topics.js';
import { deleteRecordsApi } from '../../lib/kafka/delete-records.js';
import { alterPartitionReassignmentsApi } from '../../lib/kafka/alter-partition-reassignments.js';
import { describeClusterApi } from '../../lib/kafka/describe-cluster.js';
import { describeLogDirsApi } from '../../lib/kafka/describe-log-dirs.js';
import { describeTopicPartitionsApi } from '../../lib/kafka/describe-topic-partitions.js';
import { electLeadersApi } from '../../lib/kafka/elect-leaders.js';
import { listPartitionReassignmentsApi } from '../../lib/kafka/list-partition-reassignments.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { fetchApi } from '../../lib/kafka/fetch.js';
import { listOffsetsApi } from '../../lib/kafka/list-offsets.js';
import { metadataApi } from '../../lib/kafka/metadata.js';
import { ZERO_UUID } from '../../lib/kafka/primitives.js';
import { offsetForLeaderEpochApi } from '../../lib/kafka/offset-for-leader-epoch.js';
import { produceApi } from '../../lib/kafka/produce.js';
import { encodeBatch } from '../../lib/records/encode.js';
import { processFrame } from '../../lib/server/dispatch.js';
import { ServerMetrics } from '../../lib/server/metrics.js';
import { MemoryBroker } from './memory-broker.js';

async function call<Req, Res>(broker: MemoryBroker, api: ApiDefinition<Req, Res>, version: number, body: Req): Promise<Res> {
  const env = { broker, metrics: new ServerMetrics(), responseBytesMax: 1 << 24 };
  const out = await processFrame(encodeRequestFrame(api, version, 1, 'test', body).subarray(4), env);
  if (out.kind !== 'response') throw new Error(`expected a response, got ${out.kind}`);
  expect(env.metrics.handlerFailures).to.equal(0);
  return parseResponse(api, version, out.frame.subarray(4)).body;
}

const metadata = (topics: string[] | null, allowAutoTopicCreation = false) => ({
  topics: topics === null ? null : topics.map((name) => ({ topicId: ZERO_UUID, name })), allowAutoTopicCreation,
  includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
});

const fetchReq = (sessionId = 0, sessionEpoch = -1, isolationLevel = 0, topicId = ZERO_UUID) => ({
  clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel, sessionId, sessionEpoch,
  topics: [{ topic: 't', topicId, partitions: [0, 1].map((partition) => ({
    partition, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID,
  })) }],
  forgottenTopicsData: [], rackId: '',
});

/** A broker whose partition 0 of every topic is led by node 2 (epoch 5), reachable at h2:9093. */
class LedElsewhere extends MemoryBroker {
  override cluster(): ClusterView {
    const c = super.cluster();
    return { ...c, brokers: [...c.brokers, { nodeId: 2, host: 'h2', port: 9093, rack: 'r2' }] };
  }

  override topics(names: readonly string[] | null): TopicView[] {
    return super.topics(names).map((t) => ({ ...t, partitions: t.partitions.map((p) => (p.partition === 0 ? { ...p, leaderId: 2, leaderEpoch: 5 } : p)) }));
  }
}

const notLeader = (): FlotillaError => new FlotillaError('NOT_LEADER', 'leader is node 2', { leaderId: 2 });

describe('server handlers', () => {
  let broker: MemoryBroker;
  beforeEach(() => {
    broker = new MemoryBroker({ fetchWaitMaxMs: 0 });
    broker.addTopic('t', 2);
  });

  describe('Metadata', () => {
    it('null = every topic, [] = none; brokers and controller from cluster()', async () => {
      broker.addTopic('u', 1);
      const all = await call(broker, metadataApi, 9, metadata(null));
      expect(all.topics.map((t) => t.name).sort()).to.deep.equal(['t', 'u']);
      expect(all.controllerId).to.equal(1);
      expect(all.brokers).to.deep.equal([{ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }]);
      expect((await call(broker, metadataApi, 4, metadata([]))).topics).to.deep.equal([]);
    });

    it('unknown topics are UNKNOWN_TOPIC_OR_PARTITION, illegal names INVALID_TOPIC_EXCEPTION, unless auto-created', async () => {
      const r = await call(broker, metadataApi, 6, metadata(['nope', 'bad name']));
      expect(r.topics.map((t) => [t.name, t.errorCode])).to.deep.equal([['nope', 3], ['bad name', 17]]);
      const created = await call(broker, metadataApi, 6, metadata(['fresh', 'bad name'], true));
      expect(created.topics.map((t) => [t.name, t.errorCode, t.partitions.length])).to.deep.equal([['fresh', 0, 1], ['bad name', 17, 0]]);
      expect(broker.calls).to.include('autoCreateTopics fresh');
    });

    it('a partition without a leader carries LEADER_NOT_AVAILABLE', async () => {
      const leaderless = new (class extends MemoryBroker {
        override topics(names: readonly string[] | null): TopicView[] {
          return super.topics(names).map((t) => ({ ...t, partitions: t.partitions.map((p) => (p.partition === 1 ? { ...p, leaderId: -1, leaderEpoch: -1 } : p)) }));
        }
      })();
      leaderless.addTopic('t', 2);
      const r = await call(leaderless, metadataApi, 9, metadata(['t']));
      expect(r.topics[0]!.errorCode).to.equal(0);
      expect(r.topics[0]!.partitions.map((p) => [p.partitionIndex, p.errorCode, p.leaderId])).to.deep.equal([[0, 0, 1], [1, 5, -1]]);
    });
  });

  describe('Metadata v10-v13: topic ids', () => {
    const byIds = (ids: string[], names: (string | null)[] = ids.map(() => null)) => ({
      topics: ids.map((topicId, i) => ({ topicId, name: names[i] ?? null })), allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    });
    const UNKNOWN = '11111111-2222-4333-8444-555555555555';

    it('v10 and v11 answer each topic\'s id; v9 has none on the wire', async () => {
      const id = broker.topics(['t'])[0]!.topicId;
      expect(id).to.not.equal(ZERO_UUID);
      for (const v of [10, 11, 12]) {
        const r = await call(broker, metadataApi, v, metadata(['t', 'nope']));
        expect(r.topics.map((t) => [t.name, t.topicId, t.errorCode]), `v${v}`).to.deep.equal([['t', id, 0], ['nope', ZERO_UUID, 3]]);
      }
      expect((await call(broker, metadataApi, 9, metadata(['t']))).topics[0]!.topicId).to.equal(ZERO_UUID);
    });

    it('v12 looks topics up by id: an unknown id is UNKNOWN_TOPIC_ID with a null name; names beside ids are ignored; nothing is auto-created', async () => {
      broker.addTopic('u', 3);
      const [t, u] = broker.topics(['t', 'u']).map((x) => x.topicId);
      const r = await call(broker, metadataApi, 12, byIds([u!, UNKNOWN, t!], [null, 'fresh', null]));
      expect(r.topics.map((x) => [x.name, x.topicId, x.errorCode, x.partitions.length])).to.deep.equal([
        ['u', u, 0, 3], ['t', t, 0, 2], [null, UNKNOWN, 100, 0],
      ]);
      expect(broker.calls.some((c) => c.startsWith('autoCreateTopics'))).to.equal(false);
      expect(r.brokers).to.have.length(1);
    });

    it('v10-v11 may not use ids or null names, nor v12 a topic with neither: INVALID_REQUEST for every topic', async () => {
      const t = broker.topics(['t'])[0]!.topicId;
      for (const v of [10, 11]) {
        const withId = await call(broker, metadataApi, v, byIds([t], ['t']));
        expect(withId.topics.map((x) => [x.name, x.errorCode]), `v${v}`).to.deep.equal([['t', 42]]);
        expect(withId.brokers).to.deep.equal([]);
        const nullName = await call(broker, metadataApi, v, byIds([ZERO_UUID, ZERO_UUID], [null, 't']));
        expect(nullName.topics.map((x) => [x.name, x.errorCode]), `v${v}`).to.deep.equal([['', 42], ['t', 42]]);
      }
      const neither = await call(broker, metadataApi, 12, byIds([ZERO_UUID], [null]));
      expect(neither.topics.map((x) => [x.name, x.errorCode])).to.deep.equal([['', 42]]);
    });

    it('v13 (KIP-1102) answers as v12 with a top-level errorCode 0, also when the topics carry INVALID_REQUEST', async () => {
      broker.addTopic('u', 3);
      const [t, u] = broker.topics(['t', 'u']).map((x) => x.topicId);
      const ask = byIds([u!, UNKNOWN, t!]);
      const v12 = await call(broker, metadataApi, 12, ask);
      const v13 = await call(broker, metadataApi, 13, ask);
      expect(v13.errorCode).to.equal(0);
      expect(v13.topics).to.deep.equal(v12.topics);
      expect(v13.topics.map((x) => x.errorCode)).to.deep.equal([0, 0, 100]);
      const byName = await call(broker, metadataApi, 13, metadata(['t', 'nope']));
      expect(byName.topics.map((x) => [x.name, x.errorCode])).to.deep.equal([['t', 0], ['nope', 3]]);
      const neither = await call(broker, metadataApi, 13, byIds([ZERO_UUID], [null]));
      expect([neither.errorCode, neither.topics.map((x) => x.errorCode)]).to.deep.equal([0, [42]]);
    });
  });

  describe('Produce', () => {
    const batch = encodeBatch({ records: [{ value: Buffer.from('v') }] });
    const req = (acks: number, records: Buffer | null = batch) => ({
      transactionalId: null, acks, timeoutMs: 100,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, records }, { partitionIndex: 7, records }] }],
    });

    it('answers per partition: offsets, unknown partitions, corrupt batches', async () => {
      const r = await call(broker, produceApi, 7, req(-1));
      expect(r.responses[0]!.partitions.map((p) => [p.errorCode, p.baseOffset])).to.deep.equal([[0, 0], [3, -1]]);
      const bad = Buffer.from(batch);
      bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
      const c = await call(broker, produceApi, 7, req(1, bad));
      expect(c.responses[0]!.partitions[0]!.errorCode).to.equal(2);
      const n = await call(broker, produceApi, 7, req(1, null));
      expect(n.responses[0]!.partitions[0]!.errorCode).to.equal(87);
    });

    it('rejects acks outside {-1, 0, 1} and the old message formats of v0-v2', async () => {
      expect((await call(broker, produceApi, 7, req(2))).responses[0]!.partitions[0]!.errorCode).to.equal(21);
      expect((await call(broker, produceApi, 2, req(1))).responses[0]!.partitions[0]!.errorCode).to.equal(43);
      expect(broker.batchesOf('t', 0)).to.have.length(0);
    });

    it('v8+: the error message, and the records that made an INVALID_RECORD batch be refused', async () => {
      broker.produce = async () => {
        throw new FlotillaError('INVALID_RECORD', 'compacted topic t cannot accept a record without a key', {
          recordErrors: [{ batchIndex: 1, message: 'no key' }, { batchIndex: 3, message: 'no key' }],
        });
      };
      for (const v of [8, 9, 11]) {
        const p = (await call(broker, produceApi, v, req(-1))).responses[0]!.partitions[0]!;
        expect(p.errorCode, `v${v}`).to.equal(87);
        expect(p.errorMessage).to.equal('compacted topic t cannot accept a record without a key');
        expect(p.recordErrors).to.deep.equal([{ batchIndex: 1, batchIndexErrorMessage: 'no key' }, { batchIndex: 3, batchIndexErrorMessage: 'no key' }]);
      }
      // v7 has neither field on the wire.
      const old = (await call(broker, produceApi, 7, req(-1))).responses[0]!.partitions[0]!;
      expect([old.errorCode, old.errorMessage, old.recordErrors]).to.deep.equal([87, null, []]);
    });

    it('v10+: NOT_LEADER_OR_FOLLOWER carries the current leader and epoch, and the response that leader\'s endpoint', async () => {
      const elsewhere = new LedElsewhere();
      elsewhere.addTopic('t', 2);
      elsewhere.produce = async () => { throw notLeader(); };
      for (const v of [10, 11]) {
        const r = await call(elsewhere, produceApi, v, req(-1));
        expect(r.responses[0]!.partitions.map((p) => [p.errorCode, p.currentLeader]), `v${v}`).to.deep.equal([
          [6, { leaderId: 2, leaderEpoch: 5 }],
          [6, { leaderId: 2, leaderEpoch: -1 }], // the Raft group's hint, which the image does not confirm: epoch unknown
        ]);
        expect(r.nodeEndpoints).to.deep.equal([{ nodeId: 2, host: 'h2', port: 9093, rack: 'r2' }]);
      }
      const v9 = await call(elsewhere, produceApi, 9, req(-1));
      expect(v9.responses[0]!.partitions[0]!.currentLeader).to.deep.equal({ leaderId: -1, leaderEpoch: -1 });
      expect(v9.nodeEndpoints).to.deep.equal([]);
    });

    it('maps broker errors (NOT_LEADER) per partition', async () => {
      broker.produce = async () => { throw new FlotillaError('NOT_LEADER', 'leader is node 2', { leaderId: 2 }); };
      const r = await call(broker, produceApi, 7, req(-1));
      expect(r.responses[0]!.partitions.map((p) => p.errorCode)).to.deep.equal([6, 6]);
    });
  });

  describe('Fetch', () => {
    it('answers sessionId 0 with empty record sets (never null); abortedTransactions only under read_committed', async () => {
      const r = await call(broker, fetchApi, 12, fetchReq(0, 0, 0));
      expect(r.sessionId).to.equal(0);
      expect(r.responses[0]!.partitions.map((p) => [p.errorCode, p.highWatermark, p.records?.length, p.abortedTransactions])).to.deep.equal([[0, 0, 0, null], [0, 0, 0, null]]);
      const rc = await call(broker, fetchApi, 11, fetchReq(0, -1, 1));
      expect(rc.responses[0]!.partitions[0]!.abortedTransactions).to.deep.equal([]);
    });

    it('refuses fetch sessions it does not have', async () => {
      expect((await call(broker, fetchApi, 11, fetchReq(42, 1))).errorCode).to.equal(70);
      expect((await call(broker, fetchApi, 11, fetchReq(0, 5))).errorCode).to.equal(71);
    });

    it('a broker failure becomes every partition\'s error; NOT_LEADER names the leader (v12 currentLeader)', async () => {
      broker.fetch = async () => { throw new FlotillaError('NOT_READY', 'starting'); };
      const r = await call(broker, fetchApi, 11, fetchReq());
      expect(r.responses[0]!.partitions.map((p) => p.errorCode)).to.deep.equal([5, 5]);
      broker.fetch = async (spec: FetchRequestSpec): Promise<FetchPartitionResult[]> => spec.partitions.map((p) => ({
        topic: p.topic, partition: p.partition, error: new FlotillaError('NOT_LEADER', 'no'), highWatermark: -1, lastStableOffset: -1,
        logStartOffset: -1, records: null, abortedTransactions: [], preferredLeaderId: 3,
      }));
      const nl = await call(broker, fetchApi, 12, fetchReq());
      expect(nl.responses[0]!.partitions[0]).to.include({ errorCode: 6 });
      expect(nl.responses[0]!.partitions[0]!.currentLeader).to.deep.equal({ leaderId: 3, leaderEpoch: -1 });
    });
  });

  describe('Fetch v13-v17: topic ids', () => {
    it('reads a topic named by its id and answers with the id; an unknown id is UNKNOWN_TOPIC_ID and reaches no broker', async () => {
      await call(broker, produceApi, 7, {
        transactionalId: null, acks: -1, timeoutMs: 100,
        topics: [{ name: 't', partitions: [{ partitionIndex: 1, records: encodeBatch({ records: [{ value: Buffer.from('v') }] }) }] }],
      });
      const id = broker.topics(['t'])[0]!.topicId;
      for (const v of [13, 15, 17]) {
        const r = await call(broker, fetchApi, v, fetchReq(0, -1, 0, id));
        expect(r.responses.map((t) => [t.topic, t.topicId]), `v${v}`).to.deep.equal([['', id]]);
        expect(r.responses[0]!.partitions.map((p) => [p.partitionIndex, p.errorCode, p.highWatermark, (p.records?.length ?? 0) > 0])).to.deep.equal([[0, 0, 0, false], [1, 0, 1, true]]);
      }
      let fetched = 0;
      broker.fetch = async () => { fetched++; return []; };
      const unknown = await call(broker, fetchApi, 13, fetchReq(0, -1, 0, '11111111-2222-4333-8444-555555555555'));
      expect(unknown.responses[0]!.partitions.map((p) => [p.errorCode, p.highWatermark])).to.deep.equal([[100, -1], [100, -1]]);
      expect(fetched).to.equal(0);
      // v12 still names topics: the id field is not on the wire.
      expect((await call(broker, fetchApi, 12, fetchReq(0, -1, 0, id))).responses[0]!.topic).to.equal('t');
    });

    it('v15+ take the replica id from replicaState', async () => {
      const seen: number[] = [];
      broker.fetch = async (spec: FetchRequestSpec) => { seen.push(spec.replicaId); return []; };
      const id = broker.topics(['t'])[0]!.topicId;
      await call(broker, fetchApi, 15, { ...fetchReq(0, -1, 0, id), replicaId: 7, replicaState: { replicaId: 3, replicaEpoch: 9 } });
      await call(broker, fetchApi, 14, { ...fetchReq(0, -1, 0, id), replicaId: 7, replicaState: { replicaId: 3, replicaEpoch: 9 } });
      expect(seen).to.deep.equal([3, 7]);
    });

    it('v16+: NOT_LEADER_OR_FOLLOWER partitions name the current leader (image epoch), the response its endpoint', async () => {
      const elsewhere = new LedElsewhere();
      elsewhere.addTopic('t', 2);
      const id = elsewhere.topics(['t'])[0]!.topicId;
      elsewhere.fetch = async (spec: FetchRequestSpec): Promise<FetchPartitionResult[]> => spec.partitions.map((p) => ({
        topic: p.topic, partition: p.partition, error: p.partition === 0 ? notLeader() : null, highWatermark: 0, lastStableOffset: 0,
        logStartOffset: 0, records: null, abortedTransactions: [], preferredLeaderId: p.partition === 0 ? 2 : -1,
      }));
      const r = await call(elsewhere, fetchApi, 16, fetchReq(0, -1, 0, id));
      expect(r.responses[0]!.partitions.map((p) => [p.errorCode, p.currentLeader])).to.deep.equal([
        [6, { leaderId: 2, leaderEpoch: 5 }], [0, { leaderId: -1, leaderEpoch: -1 }],
      ]);
      expect(r.nodeEndpoints).to.deep.equal([{ nodeId: 2, host: 'h2', port: 9093, rack: 'r2' }]);
      const v15 = await call(elsewhere, fetchApi, 15, fetchReq(0, -1, 0, id));
      expect(v15.responses[0]!.partitions[0]!.currentLeader).to.deep.equal({ leaderId: 2, leaderEpoch: 5 });
      expect(v15.nodeEndpoints).to.deep.equal([]);
    });
  });

  describe('ListOffsets', () => {
    const stamped = (base: number, n: number) => encodeBatch({ baseTimestamp: base, records: Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`${i}`), timestampDelta: i })) });
    const listReq = (partitions: { timestamp: number; maxNumOffsets?: number }[]) => ({
      replicaId: -1, isolationLevel: 0, timeoutMs: 1000,
      topics: [{ name: 't', partitions: partitions.map((p) => ({ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: p.timestamp, maxNumOffsets: p.maxNumOffsets ?? 1 })) }],
    });
    const produceTo0 = async (records: Buffer): Promise<void> => {
      await call(broker, produceApi, 7, { transactionalId: null, acks: -1, timeoutMs: 100, topics: [{ name: 't', partitions: [{ partitionIndex: 0, records }] }] });
    };

    it('v7-v10: -3 max timestamp, -4 earliest local (= earliest), -5 latest tiered (-1: nothing is tiered)', async () => {
      await produceTo0(stamped(1_000, 2));
      await produceTo0(stamped(9_000, 3));
      await produceTo0(stamped(2_000, 1));
      await call(broker, deleteRecordsApi, 2, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 1 }] }], timeoutMs: 100 });
      for (const v of [7, 8, 9, 10]) {
        const r = await call(broker, listOffsetsApi, v, listReq([{ timestamp: -3 }, { timestamp: -4 }, { timestamp: -5 }, { timestamp: -1 }, { timestamp: 8_000 }]));
        expect(r.topics[0]!.partitions.map((p) => [p.errorCode, p.offset, p.timestamp]), `v${v}`).to.deep.equal([
          [0, 2, 9_002], [0, 1, -1], [0, -1, -1], [0, 6, -1], [0, 2, 9_002],
        ]);
      }
    });

    it('v0: old-style offset lists, at most maxNumOffsets long', async () => {
      await produceTo0(stamped(1_000, 2));
      await produceTo0(stamped(5_000, 2));
      await call(broker, deleteRecordsApi, 2, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 1 }] }], timeoutMs: 100 });
      const r = await call(broker, listOffsetsApi, 0, listReq([
        { timestamp: -1, maxNumOffsets: 10 }, { timestamp: -1 }, { timestamp: -2, maxNumOffsets: 5 }, { timestamp: 4_000 }, { timestamp: 99_000 }, { timestamp: -1, maxNumOffsets: 0 },
      ]));
      expect(r.topics[0]!.partitions.map((p) => [p.errorCode, p.oldStyleOffsets])).to.deep.equal([
        [0, [4, 1]], [0, [4]], [0, [1]], [0, [2]], [0, [4]], [0, []],
      ]);
      const unknown = await call(broker, listOffsetsApi, 0, { ...listReq([{ timestamp: -1 }]), topics: [{ name: 'nope', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }] });
      expect(unknown.topics[0]!.partitions.map((p) => [p.errorCode, p.oldStyleOffsets])).to.deep.equal([[3, []]]);
    });
  });

  describe('CreatePartitions', () => {
    it('v2 and v3 (flexible) grow a topic and carry the refusals\' messages', async () => {
      for (const [v, count] of [[2, 3], [3, 5]] as const) {
        const r = await call(broker, createPartitionsApi, v, {
          topics: [{ name: 't', count, assignments: null }, { name: 'nope', count: 2, assignments: null }, { name: 't2', count: 1, assignments: null }],
          timeoutMs: 1000, validateOnly: false,
        });
        expect(r.results.map((x) => [x.name, x.errorCode]), `v${v}`).to.deep.equal([['t', 0], ['nope', 3], ['t2', 3]]);
        expect(r.results[1]!.errorMessage).to.equal('topic nope does not exist');
        expect(broker.topics(['t'])[0]!.partitions).to.have.length(count);
      }
      const shrink = await call(broker, createPartitionsApi, 3, { topics: [{ name: 't', count: 2, assignments: null }], timeoutMs: 1000, validateOnly: false });
      expect(shrink.results[0]!.errorCode).to.equal(37);
      expect(shrink.results[0]!.errorMessage).to.match(/must be larger/);
    });
  });

  describe('CreateTopics', () => {
    const topic = (name: string, numPartitions = 1, replicationFactor = 1) => ({ name, numPartitions, replicationFactor, assignments: [], configs: [] });

    it('a name given twice is INVALID_REQUEST for each; v7 returns the topic id and configs', async () => {
      const r = await call(broker, createTopicsApi, 7, { topics: [topic('a'), topic('a'), topic('b', 2)], timeoutMs: 1000, validateOnly: false });
      expect(r.topics.map((t) => [t.name, t.errorCode])).to.deep.equal([['a', 42], ['a', 42], ['b', 0]]);
      const b = r.topics[2]!;
      expect(b.numPartitions).to.equal(2);
      expect(b.topicId).to.not.equal('00000000-0000-0000-0000-000000000000');
      expect(b.configs!.map((c) => c.name)).to.include('retention.ms');
    });

    it('maps the controller\'s refusals: exists, bad partition count, replication factor', async () => {
      const r = await call(broker, createTopicsApi, 4, { topics: [topic('t'), topic('z', 0), topic('y', 1, 3)], timeoutMs: 1000, validateOnly: false });
      expect(r.topics.map((t) => [t.name, t.errorCode])).to.deep.equal([['t', 36], ['z', 37], ['y', 38]]);
      expect(r.topics[0]!.errorMessage).to.equal('topic t already exists');
    });
  });

  describe('OffsetForLeaderEpoch', () => {
    const req = (leaderEpoch: number, currentLeaderEpoch = -1) => ({
      replicaId: -1,
      topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }, { topic: 'nope', partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }],
    });

    it('answers each version with the end offset of the epoch, per partition errors mapped', async () => {
      await call(broker, produceApi, 7, { transactionalId: null, acks: -1, timeoutMs: 100, topics: [{ name: 't', partitions: [{ partitionIndex: 0, records: encodeBatch({ records: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }] }) }] }] });
      for (let v = 0; v <= 4; v++) {
        const r = await call(broker, offsetForLeaderEpochApi, v, req(0));
        expect(r.topics.map((t) => t.partitions.map((p) => [p.errorCode, p.leaderEpoch, p.endOffset]))).to.deep.equal([
          [[0, v >= 1 ? 0 : -1, 2]],
          [[3, -1, -1]],
        ]);
      }
      // Fencing (v2+ carries currentLeaderEpoch): newer than the leader's: UNKNOWN_LEADER_EPOCH (75).
      expect((await call(broker, offsetForLeaderEpochApi, 3, req(0, 1))).topics[0]!.partitions[0]!.errorCode).to.equal(75);
      expect((await call(broker, offsetForLeaderEpochApi, 3, req(-1))).topics[0]!.partitions[0]).to.deep.equal({ errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1 });
    });

    it('maps the broker\'s refusals: FENCED_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER', async () => {
      broker.endOffsetForEpoch = () => { throw new FlotillaError('FENCED_LEADER_EPOCH', 'old'); };
      expect((await call(broker, offsetForLeaderEpochApi, 4, req(0, 0))).topics[0]!.partitions[0]!.errorCode).to.equal(74);
      broker.endOffsetForEpoch = () => { throw new FlotillaError('NOT_LEADER', 'leader is node 2', { leaderId: 2 }); };
      expect((await call(broker, offsetForLeaderEpochApi, 4, req(0))).topics[0]!.partitions[0]!.errorCode).to.equal(6);
    });
  });

  describe('DescribeCluster', () => {
    it('cluster id, controller and brokers from cluster(); controllers endpoint type refused', async () => {
      for (const v of [0, 1]) {
        const r = await call(broker, describeClusterApi, v, { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers: false });
        expect(r).to.deep.include({ errorCode: 0, errorMessage: null, clusterId: 'memory-cluster', controllerId: 1, clusterAuthorizedOperations: -2147483648 });
        expect(r.brokers).to.deep.equal([{ brokerId: 1, host: '127.0.0.1', port: 9092, rack: null, isFenced: false }]);
      }
      const c = await call(broker, describeClusterApi, 1, { includeClusterAuthorizedOperations: false, endpointType: 2, includeFencedBrokers: false });
      expect(c.errorCode).to.equal(115);
      expect(c.endpointType).to.equal(2);
      expect(c.brokers).to.deep.equal([]);
    });

    it('v2 includeFencedBrokers (KIP-1073) lists fenced brokers too, isFenced, in id order; without it, and before v2, only unfenced ones', async () => {
      broker.fencedBrokers = [{ nodeId: 0, host: 'h0', port: 9090, rack: 'r0' }, { nodeId: 3, host: 'h3', port: 9093, rack: null }];
      const ask = (v: number, includeFencedBrokers: boolean) => call(broker, describeClusterApi, v, { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers });
      expect((await ask(2, true)).brokers).to.deep.equal([
        { brokerId: 0, host: 'h0', port: 9090, rack: 'r0', isFenced: true },
        { brokerId: 1, host: '127.0.0.1', port: 9092, rack: null, isFenced: false },
        { brokerId: 3, host: 'h3', port: 9093, rack: null, isFenced: true },
      ]);
      expect((await ask(2, false)).brokers.map((b) => [b.brokerId, b.isFenced])).to.deep.equal([[1, false]]);
      // v1 has no includeFencedBrokers on the wire: the request decodes as false.
      expect((await ask(1, true)).brokers.map((b) => b.brokerId)).to.deep.equal([1]);
    });
  });

  describe('ElectLeaders', () => {
    it('preferred: ELECTION_NOT_NEEDED where the preferred replica leads, elected, unavailable, unknown; null asks only the partitions that need it', async () => {
      const r = await call(broker, electLeadersApi, 1, { electionType: 0, topicPartitions: [{ topic: 't', partitions: [0, 9] }], timeoutMs: 1000 });
      expect(r.errorCode).to.equal(0);
      expect(r.replicaElectionResults).to.deep.equal([{ topic: 't', partitionResult: [
        { partitionId: 0, errorCode: 84, errorMessage: null },
        { partitionId: 9, errorCode: 3, errorMessage: 't-9 is not known' },
      ] }]);
      broker.electPreferredLeader = async (_topic, partition) => (partition === 0 ? { outcome: 'elected', message: null } : { outcome: 'unavailable', message: 'the preferred replica 2 of t-1 is not alive' });
      for (const v of [0, 2]) {
        const e = await call(broker, electLeadersApi, v, { electionType: 0, topicPartitions: [{ topic: 't', partitions: [0, 1] }], timeoutMs: 1000 });
        expect(e.replicaElectionResults[0]!.partitionResult.map((p) => [p.partitionId, p.errorCode])).to.deep.equal([[0, 0], [1, 80]]);
      }
      // null: every partition not led by its preferred replica (here: none).
      expect((await call(broker, electLeadersApi, 2, { electionType: 0, topicPartitions: null, timeoutMs: 1000 })).replicaElectionResults).to.deep.equal([]);
      broker.electPreferredLeader = async () => { throw new FlotillaError('TIMEOUT', 'slow'); };
      expect((await call(broker, electLeadersApi, 2, { electionType: 0, topicPartitions: [{ topic: 't', partitions: [0] }], timeoutMs: 1 })).replicaElectionResults[0]!.partitionResult[0]!.errorCode).to.equal(7);
    });

    it('unclean: no such election under Raft — ELECTION_NOT_NEEDED with a leader, ELIGIBLE_LEADERS_NOT_AVAILABLE without', async () => {
      const orig = broker.topics.bind(broker);
      broker.topics = (names) => orig(names).map((t) => ({ ...t, partitions: t.partitions.map((p) => (p.partition === 1 ? { ...p, leaderId: -1, leaderEpoch: -1 } : p)) }));
      const r = await call(broker, electLeadersApi, 2, { electionType: 1, topicPartitions: [{ topic: 't', partitions: [0, 1] }], timeoutMs: 1000 });
      expect(r.replicaElectionResults[0]!.partitionResult.map((p) => [p.partitionId, p.errorCode])).to.deep.equal([[0, 84], [1, 83]]);
      expect(r.replicaElectionResults[0]!.partitionResult[1]!.errorMessage).to.match(/unclean election .* does not exist/);
    });
  });

  describe('AlterPartitionReassignments / ListPartitionReassignments', () => {
    it('starts a move, refuses bad lists (INVALID_REPLICA_ASSIGNMENT), cancels nothing (NO_REASSIGNMENT_IN_PROGRESS), lists moves', async () => {
      const r = await call(broker, alterPartitionReassignmentsApi, 0, { timeoutMs: 1000, allowReplicationFactorChange: true, topics: [{ name: 't', partitions: [
        { partitionIndex: 0, replicas: [1] }, { partitionIndex: 1, replicas: [1, 1] }, { partitionIndex: 1, replicas: [7] }, { partitionIndex: 1, replicas: null },
      ] }, { name: 'nope', partitions: [{ partitionIndex: 0, replicas: [1] }] }] });
      expect(r.responses.map((t) => [t.name, t.partitions.map((p) => p.errorCode)])).to.deep.equal([['t', [0, 39, 39, 85]], ['nope', [3]]]);
      expect(r.responses[0]!.partitions[2]!.errorMessage).to.equal('replicas [7]: only node 1 exists');
      expect(broker.calls).to.include('reassign t-0 [1]');
      expect((await call(broker, listPartitionReassignmentsApi, 0, { timeoutMs: 1000, topics: null })).topics).to.deep.equal([]);
      broker.listReassignments = async () => [{ topic: 't', partition: 1, replicas: [2, 3, 1], adding: [2, 3], removing: [1] }];
      const l = await call(broker, listPartitionReassignmentsApi, 0, { timeoutMs: 1000, topics: [{ name: 't', partitionIndexes: [1] }] });
      expect(l.topics).to.deep.equal([{ name: 't', partitions: [{ partitionIndex: 1, replicas: [2, 3, 1], addingReplicas: [2, 3], removingReplicas: [1] }] }]);
    });

    it('v1 allowReplicationFactorChange false (KIP-860): a move that changes the replica count is INVALID_REPLICATION_FACTOR, counting a moving partition without its adding replicas; echoed', async () => {
      const alter = (version: number, allowReplicationFactorChange: boolean, partitions: { partitionIndex: number; replicas: number[] | null }[]) =>
        call(broker, alterPartitionReassignmentsApi, version, { timeoutMs: 1000, allowReplicationFactorChange, topics: [{ name: 't', partitions }] });
      const asked = [{ partitionIndex: 0, replicas: [1] }, { partitionIndex: 0, replicas: [1, 2] }, { partitionIndex: 1, replicas: null }];
      const strict = await alter(1, false, asked);
      expect(strict.allowReplicationFactorChange).to.equal(false);
      expect(strict.responses[0]!.partitions.map((p) => p.errorCode)).to.deep.equal([0, 38, 85]);
      expect(strict.responses[0]!.partitions[1]!.errorMessage).to.equal('the replication factor of t-0 would change from 1 to 2, and allowReplicationFactorChange is false');
      // Allowed (the default), and v0 which cannot refuse: the controller judges the list (node 2 does not exist).
      for (const [v, allow] of [[1, true], [0, false]] as const) {
        const r = await alter(v, allow, asked);
        expect(r.responses[0]!.partitions.map((p) => p.errorCode), `v${v}`).to.deep.equal([0, 39, 85]);
        expect(r.allowReplicationFactorChange, `v${v}`).to.equal(true);
      }
      // t-1 is moving from [1] to [2, 3, 1]: its factor is 1 (the replicas less those being added).
      broker.listReassignments = async () => [{ topic: 't', partition: 1, replicas: [2, 3, 1], adding: [2, 3], removing: [1] }];
      const moving = await alter(1, false, [{ partitionIndex: 1, replicas: [1] }, { partitionIndex: 1, replicas: [2, 3, 1] }]);
      expect(moving.responses[0]!.partitions.map((p) => p.errorCode)).to.deep.equal([0, 38]);
    });
  });

  describe('DescribeLogDirs', () => {
    it('one directory with each replica\'s bytes; v4 adds the volume\'s total and usable bytes', async () => {
      await call(broker, produceApi, 7, { transactionalId: null, acks: -1, timeoutMs: 100, topics: [{ name: 't', partitions: [{ partitionIndex: 1, records: encodeBatch({ records: [{ value: Buffer.from('abc') }] }) }] }] });
      for (const v of [0, 2, 3, 4]) {
        const r = await call(broker, describeLogDirsApi, v, { topics: null });
        expect(r.results).to.have.length(1);
        const d = r.results[0]!;
        expect(d.logDir).to.equal('/memory');
        expect(d.topics).to.deep.equal([{ name: 't', partitions: [
          { partitionIndex: 0, partitionSize: 0, offsetLag: 0, isFutureKey: false },
          { partitionIndex: 1, partitionSize: broker.batchesOf('t', 1).reduce((n, b) => n + b.length, 0), offsetLag: 0, isFutureKey: false },
        ] }]);
        expect([d.totalBytes, d.usableBytes]).to.deep.equal(v >= 4 ? [1 << 30, 1 << 29] : [-1, -1]);
      }
      const one = await call(broker, describeLogDirsApi, 4, { topics: [{ topic: 't', partitions: [1] }] });
      expect(one.results[0]!.topics[0]!.partitions.map((p) => p.partitionIndex)).to.deep.equal([1]);
    });
  });

  describe('DescribeTopicPartitions', () => {
    const ask = (names: string[], limit: number, cursor: { topicName: string; partitionIndex: number } | null) =>
      call(broker, describeTopicPartitionsApi, 0, { topics: names.map((name) => ({ name })), responsePartitionLimit: limit, cursor });
    const flat = (r: Awaited<ReturnType<typeof ask>>) => r.topics.flatMap((t) => (t.partitions.length === 0 ? [`${t.name}:${t.errorCode}`] : t.partitions.map((p) => `${t.name}-${p.partitionIndex}`)));

    it('pages through every topic with the cursor, limit partitions at a time, in name order', async () => {
      broker.addTopic('b', 3);
      broker.addTopic('a', 1);
      const seen: string[] = [];
      let cursor: { topicName: string; partitionIndex: number } | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const r = await ask([], 2, cursor);
        seen.push(...flat(r));
        cursor = r.nextCursor;
        if (cursor === null) break;
      }
      expect(seen).to.deep.equal(['a-0', 'b-0', 'b-1', 'b-2', 't-0', 't-1']);
      const first = await ask([], 2, null);
      expect(first.nextCursor).to.deep.equal({ topicName: 'b', partitionIndex: 1 });
      const p = first.topics[0]!.partitions[0]!;
      expect(p).to.deep.equal({ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], eligibleLeaderReplicas: null, lastKnownElr: null, offlineReplicas: [] });
      expect(first.topics[0]!.topicId).to.equal(broker.topics(['a'])[0]!.topicId);
    });

    it('named topics: unknown and illegal names answered, the cursor must name one of them', async () => {
      const r = await ask(['t', 'nope', 'bad name'], 100, null);
      expect(flat(r)).to.deep.equal(['bad name:17', 'nope:3', 't-0', 't-1']);
      expect(r.nextCursor).to.equal(null);
      expect(flat(await ask(['t'], 100, { topicName: 't', partitionIndex: 1 }))).to.deep.equal(['t-1']);
      expect(flat(await ask(['t'], 100, { topicName: 'u', partitionIndex: 0 }))).to.deep.equal(['t:42']);
      expect(flat(await ask(['t'], 100, { topicName: 't', partitionIndex: -1 }))).to.deep.equal(['t:42']);
    });
  });
});
