// The admin APIs of Kafka's own tools (kafka-transactions, kafka-metadata-quorum) through the
// dispatch path: DescribeProducers and WriteTxnMarkers against the memory broker's (real, pure)
// producer state, ListTransactions and DescribeTransactions against a real TxnCoordinator on
// virtual time, DescribeQuorum against what the broker reports of the metadata group.
import { expect } from 'chai';
import type { QuorumDescription } from '../../lib/broker/api.js';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { describeProducersApi } from '../../lib/kafka/describe-producers.js';
import { describeQuorumApi } from '../../lib/kafka/describe-quorum.js';
import { addRaftVoterApi } from '../../lib/kafka/add-raft-voter.js';
import { describeTransactionsApi } from '../../lib/kafka/describe-transactions.js';
import { removeRaftVoterApi } from '../../lib/kafka/remove-raft-voter.js';
import { errorCode } from '../../lib/kafka/errors.js';
import { listTransactionsApi } from '../../lib/kafka/list-transactions.js';
import { produceApi } from '../../lib/kafka/produce.js';
import { writeTxnMarkersApi } from '../../lib/kafka/write-txn-markers.js';
import { Attributes } from '../../lib/records/batch.js';
import { encodeBatch } from '../../lib/records/encode.js';
import { type DispatchEnv, processFrame } from '../../lib/server/dispatch.js';
import { ServerMetrics } from '../../lib/server/metrics.js';
import { idPattern } from '../../lib/server/handlers/transactions.js';
import { TxnCoordinator } from '../../lib/txn/coordinator.js';
import { type TxnRecord, emptyTxnState } from '../../lib/txn/records.js';
import { FakeTime } from '../group/fake-time.js';
import { MemoryBroker } from './memory-broker.js';

async function call<Req, Res>(env: Omit<DispatchEnv, 'metrics' | 'responseBytesMax'>, api: ApiDefinition<Req, Res>, version: number, body: Req): Promise<Res> {
  const full = { ...env, metrics: new ServerMetrics(), responseBytesMax: 1 << 24 };
  const out = await processFrame(encodeRequestFrame(api, version, 1, 'test', body).subarray(4), full);
  if (out.kind !== 'response') throw new Error(`expected a response, got ${out.kind}`);
  expect(full.metrics.handlerFailures).to.equal(0);
  return parseResponse(api, version, out.frame.subarray(4)).body;
}

const code = (name: Parameters<typeof errorCode>[0]): number => errorCode(name);

async function produce(broker: MemoryBroker, partition: number, producerId: number, producerEpoch: number, baseSequence: number, transactional: boolean, baseTimestamp: number): Promise<void> {
  const batch = encodeBatch({
    records: [{ value: Buffer.from('a') }, { value: Buffer.from('b') }], producerId, producerEpoch, baseSequence, baseTimestamp,
    attributes: transactional ? Attributes.Transactional : 0,
  });
  const r = await call({ broker }, produceApi, 7, {
    transactionalId: transactional ? 'tx' : null, acks: -1, timeoutMs: 1000,
    topics: [{ name: 't', partitions: [{ partitionIndex: partition, records: batch }] }],
  });
  expect(r.responses[0]!.partitions[0]!.errorCode).to.equal(0);
}

describe('admin APIs of the Kafka tools', () => {
  describe('DescribeProducers v0 and WriteTxnMarkers v0-1', () => {
    let broker: MemoryBroker;
    beforeEach(() => {
      broker = new MemoryBroker({ fetchWaitMaxMs: 0 });
      broker.addTopic('t', 3);
    });

    const describe0 = (partitionIndexes: number[], name = 't') => call({ broker }, describeProducersApi, 0, { topics: [{ name, partitionIndexes }] });

    it('lists each partition\'s active producers: epoch, last sequence and timestamp, coordinator epoch, open transaction', async () => {
      await produce(broker, 0, 42, 3, 0, false, 1_700_000_000_000);
      await produce(broker, 0, 42, 3, 2, false, 1_700_000_000_500);
      await produce(broker, 0, 77, 1, 0, true, 1_700_000_001_000);
      broker.notLeaderOf.add('t-1');
      const r = await describe0([0, 1, 2, 9]);
      const [p0, p1, p2, p9] = r.topics[0]!.partitions;
      expect(p0).to.deep.equal({
        partitionIndex: 0, errorCode: 0, errorMessage: null,
        activeProducers: [
          { producerId: 42, producerEpoch: 3, lastSequence: 3, lastTimestamp: 1_700_000_000_500, coordinatorEpoch: -1, currentTxnStartOffset: -1 },
          { producerId: 77, producerEpoch: 1, lastSequence: 1, lastTimestamp: 1_700_000_001_000, coordinatorEpoch: -1, currentTxnStartOffset: 4 },
        ],
      });
      expect(p1).to.include({ partitionIndex: 1, errorCode: code('NOT_LEADER_OR_FOLLOWER') });
      expect(p1!.activeProducers).to.deep.equal([]);
      expect(p2).to.deep.equal({ partitionIndex: 2, errorCode: 0, errorMessage: null, activeProducers: [] });
      expect(p9).to.include({ partitionIndex: 9, errorCode: code('UNKNOWN_TOPIC_OR_PARTITION') });
      expect((await describe0([0], 'nope')).topics[0]!.partitions[0]!.errorCode).to.equal(code('UNKNOWN_TOPIC_OR_PARTITION'));
    });

    it('aborts a hanging transaction (kafka-transactions abort): fenced epochs and coordinator epochs are refused per partition', async () => {
      await produce(broker, 0, 77, 1, 0, true, 1);
      await produce(broker, 1, 77, 1, 0, true, 1);
      broker.notLeaderOf.add('t-2');
      const marker = (producerEpoch: number, coordinatorEpoch: number, partitionIndexes: number[], transactionResult = false) => ({
        markers: [{ producerId: 77, producerEpoch, transactionResult, coordinatorEpoch, topics: [{ name: 't', partitionIndexes }] }],
      });
      // An older producer epoch is refused; the transaction stays open.
      let r = await call({ broker }, writeTxnMarkersApi, 1, marker(0, 5, [0]));
      expect(r.markers[0]!.topics[0]!.partitions).to.deep.equal([{ partitionIndex: 0, errorCode: code('INVALID_PRODUCER_EPOCH') }]);
      expect((await describe0([0])).topics[0]!.partitions[0]!.activeProducers[0]!.currentTxnStartOffset).to.equal(0);
      // The current epoch aborts it; off the leader and unknown partitions fail alone.
      r = await call({ broker }, writeTxnMarkersApi, 0, marker(1, 5, [0, 2, 7]));
      expect(r).to.deep.equal({ markers: [{ producerId: 77, topics: [{ name: 't', partitions: [
        { partitionIndex: 0, errorCode: 0 }, { partitionIndex: 2, errorCode: code('NOT_LEADER_OR_FOLLOWER') }, { partitionIndex: 7, errorCode: code('UNKNOWN_TOPIC_OR_PARTITION') },
      ] }] }] });
      expect((await describe0([0])).topics[0]!.partitions[0]!.activeProducers[0]).to.include({ coordinatorEpoch: 5, currentTxnStartOffset: -1 });
      // A marker from an older coordinator epoch than the partition's last one is fenced.
      r = await call({ broker }, writeTxnMarkersApi, 1, marker(1, 4, [0], true));
      expect(r.markers[0]!.topics[0]!.partitions[0]!.errorCode).to.equal(code('TRANSACTION_COORDINATOR_FENCED'));
      expect(broker.calls.filter((c) => c.startsWith('writeTxnMarker'))).to.deep.equal([
        'writeTxnMarker t-0 abort', 'writeTxnMarker t-0 abort', 'writeTxnMarker t-2 abort', 'writeTxnMarker t-7 abort', 'writeTxnMarker t-0 commit',
      ]);
      // A marker without a producer is refused before it reaches the partition.
      r = await call({ broker }, writeTxnMarkersApi, 1, { markers: [{ producerId: -1, producerEpoch: 0, transactionResult: false, coordinatorEpoch: 5, topics: [{ name: 't', partitionIndexes: [1] }] }] });
      expect(r.markers[0]!.topics[0]!.partitions[0]!.errorCode).to.equal(code('INVALID_REQUEST'));
      // The other partition's transaction is untouched.
      expect((await describe0([1])).topics[0]!.partitions[0]!.activeProducers[0]!.currentTxnStartOffset).to.equal(0);
    });
  });

  describe('ListTransactions v0-2 and DescribeTransactions v0', () => {
    function coordinator() {
      const time = new FakeTime();
      const state = emptyTxnState();
      let nextId = 500;
      const txn = new TxnCoordinator({
        clock: time, timers: time,
        settings: { transactionStatePartitions: 2 },
        offsetsTopicPartitions: 4,
        locate: () => ({ nodeId: 1, host: 'h', port: 9 }),
        producerIds: { next: async () => nextId++ },
        writeMarker: async () => { await Promise.resolve(); },
      });
      // Only transaction-state partition 1 is coordinated here.
      txn.loadPartition(1, { log: { append: async (_: readonly TxnRecord[]) => { await Promise.resolve(); } }, state, leaderEpoch: 3 });
      return { time, txn };
    }
    // Ids that fall in partition 1 (here) and 0 (elsewhere) of 2.
    const ids = { here: ['a', 'c', 'e'], there: 'b' };

    it('lists the ids this coordinator holds, by state, producer id and (v1) duration; unknown states are reported', async () => {
      const { time, txn } = coordinator();
      const broker = new MemoryBroker();
      const [a, c, e] = ids.here;
      const pa = await txn.initProducerId({ transactionalId: a!, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
      const pc = await txn.initProducerId({ transactionalId: c!, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
      await txn.initProducerId({ transactionalId: e!, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
      await txn.addPartitions({ transactionalId: a!, ...pa, partitions: [{ topic: 't', partition: 0 }] });
      await time.advance(5_000);
      await txn.addPartitions({ transactionalId: c!, ...pc, partitions: [{ topic: 't', partition: 1 }] });
      await txn.addOffsets({ transactionalId: c!, ...pc, groupId: 'g' });
      const list = (stateFilters: string[], producerIdFilters: number[], durationFilter = -1, version = 1, transactionalIdPattern: string | null = null) =>
        call({ broker, txn }, listTransactionsApi, version, { stateFilters, producerIdFilters, durationFilter, transactionalIdPattern });
      const all = await list([], []);
      expect(all.errorCode).to.equal(0);
      expect(all.transactionStates).to.deep.equal([
        { transactionalId: 'a', producerId: 500, transactionState: 'Ongoing' },
        { transactionalId: 'c', producerId: 501, transactionState: 'Ongoing' },
        { transactionalId: 'e', producerId: 502, transactionState: 'Empty' },
      ]);
      expect((await list(['Empty', 'Bogus', 'PrepareEpochFence'], [])).unknownStateFilters).to.deep.equal(['Bogus']);
      expect((await list(['Empty', 'Bogus'], [])).transactionStates.map((t) => t.transactionalId)).to.deep.equal(['e']);
      expect((await list([], [501, 502])).transactionStates.map((t) => t.transactionalId)).to.deep.equal(['c', 'e']);
      // v1: only transactions running longer than the duration ('a' began 5 s before 'c').
      expect((await list(['Ongoing'], [], 1_000)).transactionStates.map((t) => t.transactionalId)).to.deep.equal(['a']);
      // v0 has no duration filter.
      expect((await list(['Ongoing'], [], 1_000, 0)).transactionStates.map((t) => t.transactionalId)).to.deep.equal(['a', 'c']);
      // No coordinator on this node.
      expect((await call({ broker }, listTransactionsApi, 0, { stateFilters: [], producerIdFilters: [], durationFilter: -1, transactionalIdPattern: null })).errorCode).to.equal(code('COORDINATOR_NOT_AVAILABLE'));
      // v2 (KIP-1152): the ids the pattern matches in full; null or empty: all.
      const named = async (pattern: string | null, version = 2, states: string[] = []) => {
        const r = await list(states, [], -1, version, pattern);
        return [r.errorCode, r.transactionStates.map((t) => t.transactionalId)];
      };
      expect(await named('[ac]')).to.deep.equal([0, ['a', 'c']]);
      expect(await named('a|e')).to.deep.equal([0, ['a', 'e']]);
      expect(await named('e', 2, ['Ongoing'])).to.deep.equal([0, []]);
      expect(await named(null)).to.deep.equal([0, ['a', 'c', 'e']]);
      expect(await named('')).to.deep.equal([0, ['a', 'c', 'e']]);
      // v1 has no pattern on the wire: all.
      expect(await named('a', 1)).to.deep.equal([0, ['a', 'c', 'e']]);
      // Unparsable, not regular, or exponential under a backtracking engine: INVALID_REGULAR_EXPRESSION, nothing listed.
      for (const bad of ['(', '[a', '(a)\\1', '(?=a)a', '(a+)+', '(a|c)*', '(?:x*)+']) {
        expect(await named(bad), bad).to.deep.equal([code('INVALID_REGULAR_EXPRESSION'), []]);
      }
    });

    it('ListTransactions v2 patterns match whole ids and allow single quantifiers, classes and escapes', () => {
      const re = (p: string) => idPattern(p) as RegExp;
      expect(re('a').test('ab')).to.equal(false);
      expect(re('a|ab').test('ab')).to.equal(true);
      expect(re('tx-[0-9]+').test('tx-42')).to.equal(true);
      expect(re('tx-[0-9]+').test('xtx-42')).to.equal(false);
      expect(re('(app|svc)-\\d{2}').test('svc-07')).to.equal(true);
      expect(re('[(+]+x').test('(+x')).to.equal(true);
      expect(re('a\\(+').test('a((')).to.equal(true);
      expect(idPattern('')).to.equal(null);
      expect(idPattern(null)).to.equal(null);
    });

    it('describes ids: state, timeout, start, producer, the open transaction\'s partitions; NOT_COORDINATOR and TRANSACTIONAL_ID_NOT_FOUND', async () => {
      const { time, txn } = coordinator();
      const broker = new MemoryBroker();
      const p = await txn.initProducerId({ transactionalId: 'a', transactionTimeoutMs: 30_000, producerId: -1, producerEpoch: -1 });
      await txn.initProducerId({ transactionalId: 'c', transactionTimeoutMs: 30_000, producerId: -1, producerEpoch: -1 });
      const started = time.wallMs();
      await txn.addPartitions({ transactionalId: 'a', ...p, partitions: [{ topic: 't', partition: 0 }, { topic: 'u', partition: 2 }, { topic: 't', partition: 1 }] });
      await txn.addOffsets({ transactionalId: 'a', ...p, groupId: 'g' });
      const r = await call({ broker, txn }, describeTransactionsApi, 0, { transactionalIds: ['a', 'c', 'g', ids.there, ''] });
      const [a, c, g, there, empty] = r.transactionStates;
      expect(a).to.deep.include({ errorCode: 0, transactionalId: 'a', transactionState: 'Ongoing', transactionTimeoutMs: 30_000, transactionStartTimeMs: started, producerId: 500, producerEpoch: 0 });
      expect(a!.topics).to.have.deep.members([{ topic: 't', partitions: [0, 1] }, { topic: 'u', partitions: [2] }, { topic: '__consumer_offsets', partitions: [a!.topics.find((x) => x.topic === '__consumer_offsets')!.partitions[0]!] }]);
      expect(c).to.deep.include({ errorCode: 0, transactionState: 'Empty', transactionStartTimeMs: -1, producerId: 501, topics: [] });
      expect(g).to.include({ errorCode: code('TRANSACTIONAL_ID_NOT_FOUND'), transactionalId: 'g' });
      expect(there).to.include({ errorCode: code('NOT_COORDINATOR'), transactionalId: 'b' });
      expect(empty!.errorCode).to.equal(code('INVALID_REQUEST'));
      // Once committed, no partitions are listed.
      await txn.endTxn({ transactionalId: 'a', ...p, commit: true });
      await time.advance(10);
      const after = (await call({ broker, txn }, describeTransactionsApi, 0, { transactionalIds: ['a'] })).transactionStates[0]!;
      expect(after).to.deep.include({ transactionState: 'CompleteCommit', topics: [] });
    });
  });

  describe('DescribeQuorum v0-2', () => {
    const quorum: QuorumDescription = {
      leaderId: 2, term: 7, highWatermark: 120,
      voters: [
        { nodeId: 1, directoryId: '11111111-1111-4111-8111-111111111111', logEndIndex: 118, lastFetchMs: 1_700_000_000_100, lastCaughtUpMs: 1_700_000_000_050 },
        { nodeId: 2, directoryId: '22222222-2222-4222-8222-222222222222', logEndIndex: 121, lastFetchMs: 1_700_000_000_200, lastCaughtUpMs: 1_700_000_000_200 },
      ],
      observers: [{ nodeId: 4, directoryId: '00000000-0000-0000-0000-000000000000', logEndIndex: -1, lastFetchMs: -1, lastCaughtUpMs: -1 }],
      nodes: [{ nodeId: 1, host: 'h1', port: 9101 }, { nodeId: 2, host: 'h2', port: 9102 }],
    };
    const request = (topicName = '__cluster_metadata', partitionIndex = 0) => ({ topics: [{ topicName, partitions: [{ partitionIndex }] }] });

    it('reports leader, term, high watermark and every voter and observer; v1 timestamps, v2 directory ids and nodes', async () => {
      const broker = new MemoryBroker();
      broker.quorum = quorum;
      const v2 = await call({ broker }, describeQuorumApi, 2, request());
      expect(v2.errorCode).to.equal(0);
      const p = v2.topics[0]!.partitions[0]!;
      expect(p).to.deep.include({ partitionIndex: 0, errorCode: 0, errorMessage: null, leaderId: 2, leaderEpoch: 7, highWatermark: 120 });
      expect(p.currentVoters[0]).to.deep.equal({ replicaId: 1, replicaDirectoryId: '11111111-1111-4111-8111-111111111111', logEndOffset: 118, lastFetchTimestamp: 1_700_000_000_100, lastCaughtUpTimestamp: 1_700_000_000_050 });
      expect(p.observers.map((o) => o.replicaId)).to.deep.equal([4]);
      expect(v2.nodes).to.deep.equal([
        { nodeId: 1, listeners: [{ name: 'CONTROLLER', host: 'h1', port: 9101 }] },
        { nodeId: 2, listeners: [{ name: 'CONTROLLER', host: 'h2', port: 9102 }] },
      ]);
      const v1 = await call({ broker }, describeQuorumApi, 1, request());
      expect(v1.topics[0]!.partitions[0]!.currentVoters[1]).to.deep.include({ replicaId: 2, logEndOffset: 121, lastFetchTimestamp: 1_700_000_000_200 });
      const v0 = await call({ broker }, describeQuorumApi, 0, request());
      // v0 carries neither timestamps nor directory ids (decoded as their defaults).
      expect(v0.topics[0]!.partitions[0]!.currentVoters[0]).to.deep.include({ replicaId: 1, logEndOffset: 118, lastFetchTimestamp: -1, lastCaughtUpTimestamp: -1 });
      expect(v0.nodes).to.deep.equal([]);
    });

    it('NOT_LEADER_OR_FOLLOWER without a metadata leader; UNKNOWN_TOPIC_OR_PARTITION for any other partition', async () => {
      const broker = new MemoryBroker();
      const none = await call({ broker }, describeQuorumApi, 2, request());
      expect(none.topics[0]!.partitions[0]).to.include({ errorCode: code('NOT_LEADER_OR_FOLLOWER'), leaderId: -1 });
      broker.quorum = quorum;
      expect((await call({ broker }, describeQuorumApi, 1, request('t'))).topics[0]!.partitions[0]!.errorCode).to.equal(code('UNKNOWN_TOPIC_OR_PARTITION'));
      expect((await call({ broker }, describeQuorumApi, 1, request('__cluster_metadata', 1))).topics[0]!.partitions[0]).to.include({ partitionIndex: 1, errorCode: code('UNKNOWN_TOPIC_OR_PARTITION') });
    });
  });

  describe('AddRaftVoter v0 and RemoveRaftVoter v0', () => {
    const zero = '00000000-0000-0000-0000-000000000000';
    it('forwards the change and answers with Kafka\'s errors; a foreign cluster id is INCONSISTENT_CLUSTER_ID', async () => {
      const broker = new MemoryBroker();
      const clusterId = broker.cluster().clusterId;
      const add = (voterId: number, cluster: string | null = clusterId) =>
        call({ broker }, addRaftVoterApi, 0, { clusterId: cluster, timeoutMs: 1000, voterId, voterDirectoryId: zero, listeners: [{ name: 'CONTROLLER', host: 'h', port: 9093 }] });
      const remove = (voterId: number, cluster: string | null = null) => call({ broker }, removeRaftVoterApi, 0, { clusterId: cluster, voterId, voterDirectoryId: zero });
      expect(await add(2)).to.deep.equal({ throttleTimeMs: 0, errorCode: 0, errorMessage: null });
      expect((await add(2)).errorCode).to.equal(code('DUPLICATE_VOTER'));
      expect((await add(3, 'another-cluster')).errorCode).to.equal(code('INCONSISTENT_CLUSTER_ID'));
      expect((await remove(2)).errorCode).to.equal(0);
      expect((await remove(2)).errorCode).to.equal(code('VOTER_NOT_FOUND'));
      expect((await remove(1, 'another-cluster')).errorCode).to.equal(code('INCONSISTENT_CLUSTER_ID'));
      expect(broker.calls.filter((c) => c.includes('RaftVoter'))).to.deep.equal(['addRaftVoter 2', 'addRaftVoter 2', 'removeRaftVoter 2', 'removeRaftVoter 2']);
    });
  });
});
