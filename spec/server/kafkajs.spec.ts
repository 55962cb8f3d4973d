// KafkaJS 2.2.4, unmodified, against KafkaServer over the in-memory broker: producer (acks -1, 1,
// 0, gzip) and admin (createTopics, fetchTopicMetadata, fetchTopicOffsets, describeConfigs,
// createPartitions, deleteTopicRecords, deleteTopics). The request frames KafkaJS sends are
// captured and must re-encode byte for byte (golden bytes).
import { expect } from 'chai';
import kafkajs from 'kafkajs';
import type { KafkaServer } from '../../lib/server/listener.js';
import { BatchHeader, decodeRecords } from '../../lib/records/batch.js';
import { startServer } from './helpers.js';
import type { MemoryBroker } from './memory-broker.js';
import { checkRoundTrip, writeFixtures } from './golden.js';

const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = kafkajs;

describe('KafkaJS 2.2.4 against KafkaServer', function () {
  this.timeout(20000);
  let server: KafkaServer;
  let broker: MemoryBroker;
  let kafka: InstanceType<typeof Kafka>;
  const frames: Buffer[] = [];

  before(async () => {
    ({ server, broker } = await startServer({
      onFrame: (direction, frame) => { if (direction === 'request') frames.push(Buffer.from(frame)); },
    }));
    kafka = new Kafka({
      clientId: 'flotilla-test',
      brokers: [`127.0.0.1:${server.address().port}`],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 50 },
    });
  });

  after(async () => {
    await server.close();
  });

  it('admin: createTopics, fetchTopicMetadata, describeConfigs, createPartitions', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const created = await admin.createTopics({
        topics: [{ topic: 'kjs-a', numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '1000' }] }],
        waitForLeaders: true,
      });
      expect(created).to.equal(true);
      expect(await admin.createTopics({ topics: [{ topic: 'kjs-a' }] })).to.equal(false);
      const { topics } = await admin.fetchTopicMetadata({ topics: ['kjs-a'] });
      expect(topics[0]!.name).to.equal('kjs-a');
      expect(topics[0]!.partitions.map((p) => p.partitionId).sort()).to.deep.equal([0, 1, 2]);
      expect(topics[0]!.partitions[0]!.leader).to.equal(1);
      const described = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-a', configNames: ['retention.ms', 'cleanup.policy'] }],
        includeSynonyms: false,
      });
      const entries = Object.fromEntries(described.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
      expect(entries).to.deep.equal({ 'retention.ms': '1000', 'cleanup.policy': 'delete' });
      await admin.createPartitions({ topicPartitions: [{ topic: 'kjs-a', count: 4 }] });
      const after = await admin.fetchTopicMetadata({ topics: ['kjs-a'] });
      expect(after.topics[0]!.partitions).to.have.length(4);
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-a', configEntries: [{ name: 'retention.ms', value: '5000' }] }],
      });
      const again = await admin.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: 'kjs-a', configNames: ['retention.ms'] }], includeSynonyms: true,
      });
      expect(again.resources[0]!.configEntries[0]!.configValue).to.equal('5000');
    } finally {
      await admin.disconnect();
    }
  });

  it('admin: an invalid topic name and a too-large replication factor are refused with their Kafka errors', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const err1 = await admin.createTopics({ topics: [{ topic: 'bad name!' }] }).then(() => null, (e: unknown) => e as { errors?: { type: string }[]; type?: string });
      expect(JSON.stringify(err1)).to.contain('INVALID_TOPIC_EXCEPTION');
      const err2 = await admin.createTopics({ topics: [{ topic: 'rf3', replicationFactor: 3 }] }).then(() => null, (e: unknown) => e);
      expect(JSON.stringify(err2)).to.contain('INVALID_REPLICATION_FACTOR');
    } finally {
      await admin.disconnect();
    }
  });

  it('producer: acks -1, 1 and 0, and gzip, land at consecutive offsets; fetchTopicOffsets sees them', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    try {
      const r1 = await producer.send({ topic: 'kjs-p', acks: -1, messages: [{ key: 'k1', value: 'v1' }, { value: 'v2' }] });
      expect(r1[0]).to.include({ topicName: 'kjs-p', partition: 0, errorCode: 0, baseOffset: '0' });
      const r2 = await producer.send({ topic: 'kjs-p', acks: 1, messages: [{ value: 'v3', headers: { h: 'x' } }] });
      expect(r2[0]!.baseOffset).to.equal('2');
      await producer.send({ topic: 'kjs-p', acks: 0, messages: [{ value: 'v4' }] });
      await producer.send({ topic: 'kjs-p', acks: -1, compression: CompressionTypes.GZIP, messages: [{ value: 'v5' }, { value: 'v6' }] });
    } finally {
      await producer.disconnect();
    }
    const batches = broker.batchesOf('kjs-p', 0);
    expect(batches.map((b) => new BatchHeader(b).baseOffset)).to.deep.equal([0, 2, 3, 4]);
    expect(decodeRecords(batches[0]!).map((r) => Buffer.from(r.value!).toString())).to.deep.equal(['v1', 'v2']);
    expect(new BatchHeader(batches[3]!).compression).to.equal(1);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets('kjs-p');
      expect(offsets).to.deep.equal([{ partition: 0, offset: '6', high: '6', low: '0' }]);
      await admin.deleteTopicRecords({ topic: 'kjs-p', partitions: [{ partition: 0, offset: '3' }] });
      const later = await admin.fetchTopicOffsets('kjs-p');
      expect(later[0]!.low).to.equal('3');
      await admin.deleteTopics({ topics: ['kjs-p', 'kjs-a'] });
      expect((await admin.listTopics()).sort()).to.not.include('kjs-p');
    } finally {
      await admin.disconnect();
    }
  });

  it('producer: an unknown topic without auto-creation fails with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    broker.autoCreate = false;
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1, initialRetryTime: 10 } });
    await producer.connect();
    try {
      const err = await producer.send({ topic: 'nope', messages: [{ value: 'x' }] }).then(() => null, (e: Error) => e);
      expect(String(err)).to.match(/does not host this topic-partition|UNKNOWN_TOPIC_OR_PARTITION/);
    } finally {
      await producer.disconnect();
      broker.autoCreate = true;
    }
  });

  it('every request frame KafkaJS sent decodes and re-encodes byte for byte', () => {
    expect(frames.length).to.be.greaterThan(10);
    const seen = new Set<string>();
    for (const f of frames) seen.add(checkRoundTrip(f));
    for (const api of ['ApiVersions v2', 'Metadata v6', 'Produce v7', 'CreateTopics v3', 'DescribeConfigs v2', 'ListOffsets v3', 'DeleteTopics v1']) {
      expect([...seen]).to.include(api);
    }
    if (process.env['FLOTILLA_WRITE_FIXTURES']) writeFixtures('kafkajs', frames);
  });
});
