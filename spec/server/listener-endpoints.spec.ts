// Broker endpoints per listener: RegisterBroker version 1 (each node's advertised listeners) in the
// metadata image, and the APIs that name brokers answering with the caller's listener — Metadata
// (LISTENER_NOT_FOUND v6+, LEADER_NOT_AVAILABLE below, for a leader without it), DescribeCluster,
// DescribeTopicPartitions, FindCoordinator. A real Broker over a replayed metadata image.
import { expect } from 'chai';
import { systemClock } from '../../lib/app/system-clock.js';
import { isFlotillaError } from '../../lib/base/errors.js';
import { Broker } from '../../lib/broker/broker.js';
import type { ReplicaManager } from '../../lib/broker/replica-manager.js';
import { GroupCoordinator } from '../../lib/group/coordinator.js';
import { systemTimers } from '../../lib/group/timers.js';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { describeClusterApi } from '../../lib/kafka/describe-cluster.js';
import { describeTopicPartitionsApi } from '../../lib/kafka/describe-topic-partitions.js';
import { findCoordinatorApi } from '../../lib/kafka/find-coordinator.js';
import { metadataApi } from '../../lib/kafka/metadata.js';
import { ZERO_UUID } from '../../lib/kafka/primitives.js';
import { type MetadataImage, brokerEndpoint } from '../../lib/metadata/image.js';
import { type MetadataRecord, decodeRecord, encodeRecord, metadataPackr, RecordTags } from '../../lib/metadata/records.js';
import { topicConfigSource } from '../../lib/metadata/topic-config.js';
import { type DispatchEnv, dispatch, parseFrame } from '../../lib/server/dispatch.js';
import { ServerMetrics } from '../../lib/server/metrics.js';
import { plaintextSession } from '../../lib/server/session.js';
import { replay, uuidOf } from '../metadata/helpers.js';

const TOPIC = uuidOf(77);
const records: MetadataRecord[] = [
  // Node 1: PLAINTEXT and SSL. Node 2: a version 0 record (PLAINTEXT only). Node 3: SSL only.
  {
    type: 'RegisterBroker', brokerId: 1, incarnationId: uuidOf(1001), host: 'n1', clientPort: 9092, peerPort: 19092, rack: null, fenced: false,
    listeners: [{ name: 'PLAINTEXT', host: 'n1', port: 9092, securityProtocol: 'PLAINTEXT' }, { name: 'SSL', host: 'n1.tls', port: 9093, securityProtocol: 'SSL' }],
  },
  { type: 'RegisterBroker', brokerId: 2, incarnationId: uuidOf(1002), host: 'n2', clientPort: 9092, peerPort: 19092, rack: 'r2', fenced: false },
  {
    type: 'RegisterBroker', brokerId: 3, incarnationId: uuidOf(1003), host: 'n3.tls', clientPort: 9093, peerPort: 19092, rack: null, fenced: false,
    listeners: [{ name: 'SSL', host: 'n3.tls', port: 9093, securityProtocol: 'SSL' }],
  },
  { type: 'Topic', topicId: TOPIC, name: 't', replicationFactor: 3 },
  ...[1, 2, 3].map((leader, partition): MetadataRecord[] => [
    { type: 'Partition', topicId: TOPIC, partition, replicas: [1, 2, 3] },
    { type: 'PartitionLeader', topicId: TOPIC, partition, leaderId: leader, leaderEpoch: 4 },
  ]).flat(),
];

describe('broker endpoints per listener (RegisterBroker v1, Metadata and friends)', () => {
  let image: MetadataImage;
  let broker: Broker;
  let groups: GroupCoordinator;
  before(() => {
    image = replay(records);
    broker = new Broker({
      nodeId: 1,
      metadata: { image: () => image, waitForIndex: () => Promise.resolve() },
      controller: { call: () => Promise.reject(new Error('no controller in this test')) },
      // Not reached by the APIs under test (they read the metadata image only).
      replicas: null as unknown as ReplicaManager,
      topicConfig: topicConfigSource,
      clock: systemClock,
      settings: { clusterId: 'c', autoCreateTopics: false, nodeConfig: [] },
    });
    groups = new GroupCoordinator({
      clock: systemClock, timers: systemTimers, settings: { offsetsTopicPartitions: 1 },
      // As node.ts locates: the leader's endpoint on the caller's listener (here node 3 leads).
      locate: (_p, listener) => {
        const at = brokerEndpoint(image.brokers.get(3)!, listener ?? 'PLAINTEXT');
        return at === null ? null : { nodeId: 3, ...at };
      },
    });
  });
  after(() => groups.close());

  async function call<Req, Res>(api: ApiDefinition<Req, Res>, version: number, body: Req, listener: string): Promise<Res> {
    const env: DispatchEnv = { broker, groups, metrics: new ServerMetrics(), responseBytesMax: 1 << 24 };
    const parsed = parseFrame(encodeRequestFrame(api, version, 1, 'test', body).subarray(4), env.metrics);
    if (parsed.kind !== 'request') throw new Error(`not a request: ${parsed.kind}`);
    const out = await dispatch(parsed, env, '', plaintextSession('127.0.0.1', listener));
    if (out.kind !== 'response') throw new Error(`expected a response, got ${out.kind}`);
    return parseResponse(api, version, out.frame.subarray(4)).body;
  }
  const metadata = { topics: [{ topicId: ZERO_UUID, name: 't' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

  it('RegisterBroker: version 1 carries the listeners, version 0 still decodes; bad listener lists are CORRUPT', () => {
    const v1 = encodeRecord(records[0]!);
    expect((metadataPackr.unpack(v1) as unknown[])[1]).to.equal(1);
    expect(decodeRecord(v1)).to.deep.equal(records[0]);
    const v0 = encodeRecord(records[1]!);
    expect((metadataPackr.unpack(v0) as unknown[])[1]).to.equal(0);
    expect(decodeRecord(v0)).to.deep.equal(records[1]);
    const body = { brokerId: 1, incarnationId: uuidOf(1), host: 'h', clientPort: 1, peerPort: 2, rack: null, fenced: true };
    const corrupt = (version: number, b: unknown): string => {
      try {
        decodeRecord(metadataPackr.pack([RecordTags.RegisterBroker, version, b]));
      } catch (err) {
        expect(isFlotillaError(err, 'CORRUPT')).to.equal(true);
        return (err as Error).message;
      }
      return 'decoded';
    };
    const l = { name: 'SSL', host: 'h', port: 9093, securityProtocol: 'SSL' };
    expect(corrupt(1, body)).to.match(/RegisterBroker\.listeners is missing/);
    expect(corrupt(0, { ...body, listeners: [l] })).to.match(/RegisterBroker\.listeners is not a known field/);
    expect(corrupt(1, { ...body, listeners: [] })).to.match(/listeners is not a list of 1\.\.16/);
    expect(corrupt(1, { ...body, listeners: [l, l] })).to.match(/names listener SSL twice/);
    expect(corrupt(1, { ...body, listeners: [{ ...l, securityProtocol: 'TLS' }] })).to.match(/unknown security protocol/);
    expect(corrupt(1, { ...body, listeners: [{ ...l, port: 70000 }] })).to.match(/port is not in 0\.\.65535/);
    expect(corrupt(1, { ...body, listeners: [{ ...l, extra: 1 }] })).to.match(/unknown field extra/);
    expect(corrupt(2, { ...body, listeners: [l] })).to.match(/unknown version 2/);
    // The image keeps both kinds.
    expect(image.brokers.get(1)!.listeners).to.have.length(2);
    expect(image.brokers.get(2)!.listeners).to.equal(undefined);
  });

  it('Metadata lists only the brokers with the caller\'s listener, at that endpoint; a leader without it: LISTENER_NOT_FOUND (v6+) or LEADER_NOT_AVAILABLE (v5)', async () => {
    const ssl = await call(metadataApi, 12, metadata, 'SSL');
    expect(ssl.brokers).to.deep.equal([{ nodeId: 1, host: 'n1.tls', port: 9093, rack: null }, { nodeId: 3, host: 'n3.tls', port: 9093, rack: null }]);
    expect(ssl.topics[0]!.partitions.map((p) => [p.partitionIndex, p.leaderId, p.errorCode])).to.deep.equal([[0, 1, 0], [1, -1, 72], [2, 3, 0]]);
    const v5 = await call(metadataApi, 5, metadata, 'SSL');
    expect(v5.topics[0]!.partitions.map((p) => [p.partitionIndex, p.leaderId, p.errorCode])).to.deep.equal([[0, 1, 0], [1, -1, 5], [2, 3, 0]]);
    const plain = await call(metadataApi, 12, metadata, 'PLAINTEXT');
    expect(plain.brokers).to.deep.equal([{ nodeId: 1, host: 'n1', port: 9092, rack: null }, { nodeId: 2, host: 'n2', port: 9092, rack: 'r2' }]);
    expect(plain.topics[0]!.partitions.map((p) => [p.partitionIndex, p.leaderId, p.errorCode])).to.deep.equal([[0, 1, 0], [1, 2, 0], [2, -1, 72]]);
  });

  it('DescribeCluster and DescribeTopicPartitions answer with the caller\'s listener too', async () => {
    const dc = await call(describeClusterApi, 1, { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers: false }, 'SSL');
    expect(dc.brokers.map((b) => `${b.brokerId}@${b.host}:${b.port}`)).to.deep.equal(['1@n1.tls:9093', '3@n3.tls:9093']);
    const dtp = await call(describeTopicPartitionsApi, 0, { topics: [{ name: 't' }], responsePartitionLimit: 100, cursor: null }, 'PLAINTEXT');
    expect(dtp.topics[0]!.partitions.map((p) => p.leaderId)).to.deep.equal([1, 2, -1]);
  });

  it('FindCoordinator gives the coordinator\'s endpoint on the caller\'s listener; none there: COORDINATOR_NOT_AVAILABLE', async () => {
    const onSsl = await call(findCoordinatorApi, 3, { key: 'g', keyType: 0, coordinatorKeys: [] }, 'SSL');
    expect([onSsl.errorCode, onSsl.nodeId, onSsl.host, onSsl.port]).to.deep.equal([0, 3, 'n3.tls', 9093]);
    const onPlain = await call(findCoordinatorApi, 3, { key: 'g', keyType: 0, coordinatorKeys: [] }, 'PLAINTEXT');
    expect([onPlain.errorCode, onPlain.nodeId]).to.deep.equal([15, -1]);
  });
});
