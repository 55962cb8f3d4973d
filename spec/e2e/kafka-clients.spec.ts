/**
 * End-to-end, issue 5: unmodified Kafka clients against a 3-node cluster of real processes.
 * KafkaJS 2.2.4 (admin, producer), kcat / librdkafka (-L, -P, -C, -Q, every compression codec),
 * kafka-python 2.0.2 (admin, producer, consumer group: a third client family, in Python),
 * and 100,000 records produced with acks=all while their partition's leader is killed (kill -9).
 */
import { expect } from 'chai';
import kafkajs, { type Admin, type Kafka, type Producer } from 'kafkajs';
import { execFileSync } from 'node:child_process';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { fetchApi } from '../../lib/kafka/fetch.js';
import { listOffsetsApi } from '../../lib/kafka/list-offsets.js';
import { metadataApi } from '../../lib/kafka/metadata.js';
import { ZERO_UUID } from '../../lib/kafka/primitives.js';
import { produceApi } from '../../lib/kafka/produce.js';
import { encodeBatch } from '../../lib/records/encode.js';
import { RawClient } from '../server/helpers.js';
import { TestCluster, kafkaPython, kcat, kcatPath, until } from './cluster-harness.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;
const PY_CHECK = new URL('../../../spec/e2e/python/kafka_python_check.py', import.meta.url).pathname;


const { CompressionTypes, ConfigResourceTypes } = kafkajs;

describe('Kafka clients against a 3-node cluster', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let kafka: Kafka;
  let admin: Admin;
  const haveKcat = kcatPath() !== null;

  const needKcat = function (this: Mocha.Context): void {
    if (haveKcat) return;
    if (process.env.CI) throw new Error('kcat is required in CI (.ci/run installs it)');
    console.log('      (kcat is not installed: skipped; apt-get install kcat)');
    this.skip();
  };

  before(async () => {
    cluster = new TestCluster(3);
    cluster.start();
    await cluster.ready(60_000);
    kafka = cluster.kafka();
    admin = kafka.admin();
    await admin.connect();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    await admin?.disconnect().catch(() => {});
    await cluster.destroy();
  });

  it('KafkaJS admin: create, describe, list offsets, alter config, delete records, add partitions, delete', async () => {
    await admin.createTopics({ topics: [{ topic: 'admin-t', numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }], waitForLeaders: true });
    expect(await admin.listTopics()).to.include('admin-t');
    const md = await admin.fetchTopicMetadata({ topics: ['admin-t'] });
    expect(md.topics[0]!.partitions).to.have.length(3);
    for (const p of md.topics[0]!.partitions) expect(p.replicas).to.have.length(3);
    // A second create of the same name fails with TOPIC_ALREADY_EXISTS (KafkaJS returns false).
    expect(await admin.createTopics({ topics: [{ topic: 'admin-t', numPartitions: 1 }] })).to.equal(false);
    const offsets = await admin.fetchTopicOffsets('admin-t');
    // Empty partitions: high watermark 0 (Raft's own entries take no Kafka offset).
    for (const o of offsets) expect([o.low, o.high]).to.deep.equal(['0', '0']);
    const cfg = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'admin-t' }] });
    const retention = cfg.resources[0]!.configEntries.find((e) => e.configName === 'retention.ms');
    expect(retention?.configValue).to.equal('3600000');
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'admin-t', configEntries: [{ name: 'retention.ms', value: '7200000' }] }] });
    const cfg2 = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'admin-t' }] });
    expect(cfg2.resources[0]!.configEntries.find((e) => e.configName === 'retention.ms')?.configValue).to.equal('7200000');
    // A cluster-wide default (Kafka's broker-level name, on the entity default, which KafkaJS
    // cannot address: set through the CLI) reaches every topic that does not set the key itself.
    const cli = (args: string[]): string => execFileSync(process.execPath, [BIN, ...args, '--bootstrap', cluster.bootstrap[0]!], { encoding: 'utf8' });
    expect(JSON.parse(cli(['cluster', 'config', '--set', 'log.segment.bytes=1048576', '--set', 'log.retention.ms=60000', '--json'])))
      .to.deep.equal({ clusterDefaults: { 'log.retention.ms': '60000', 'log.segment.bytes': '1048576' } });
    const cfg3 = (await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'admin-t' }] })).resources[0]!.configEntries;
    expect(cfg3.find((e) => e.configName === 'segment.bytes')).to.include({ configValue: '1048576', configSource: 3 });
    expect(cfg3.find((e) => e.configName === 'retention.ms')).to.include({ configValue: '7200000', configSource: 1 });
    // `topic describe` shows it; --delete puts Kafka's default back.
    expect(cli(['topic', 'describe', 'admin-t'])).to.match(/segment\.bytes=1048576 {2}\(cluster-wide default\)/).and.match(/retention\.ms=7200000\n/);
    expect(JSON.parse(cli(['cluster', 'config', '--delete', 'log.segment.bytes', '--json']))).to.deep.equal({ clusterDefaults: { 'log.retention.ms': '60000' } });
    const cfg4 = (await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'admin-t' }] })).resources[0]!.configEntries;
    expect(cfg4.find((e) => e.configName === 'segment.bytes')).to.include({ configValue: '1073741824', configSource: 5 });
    expect(JSON.parse(cli(['cluster', 'config', '--delete', 'log.retention.ms', '--json']))).to.deep.equal({ clusterDefaults: {} });
    // DeleteRecords moves the log start offset (ListOffsets earliest follows it).
    const producer = kafka.producer();
    await producer.connect();
    const sent = await producer.send({ topic: 'admin-t', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `v${i}` })) });
    await producer.disconnect();
    expect(sent[0]!.baseOffset).to.equal('0');
    const cut = Number(sent[0]!.baseOffset) + 5;
    await admin.deleteTopicRecords({ topic: 'admin-t', partitions: [{ partition: 0, offset: String(cut) }] });
    expect((await admin.fetchTopicOffsets('admin-t')).find((o) => o.partition === 0)!.low).to.equal(String(cut));
    await admin.createPartitions({ topicPartitions: [{ topic: 'admin-t', count: 5 }] });
    expect((await admin.fetchTopicMetadata({ topics: ['admin-t'] })).topics[0]!.partitions).to.have.length(5);
    await admin.deleteTopics({ topics: ['admin-t'] });
    await until(async () => !(await admin.listTopics()).includes('admin-t'), 10_000, 'the topic to go');
  });

  it('KafkaJS producer: acks all, 1 and 0, with each codec KafkaJS ships (none, gzip)', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    try {
      const r1 = await producer.send({ topic: 'kjs', acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
      expect(r1[0]!.errorCode).to.equal(0);
      const r2 = await producer.send({ topic: 'kjs', acks: 1, compression: CompressionTypes.GZIP, messages: [{ key: 'k', value: 'c' }] });
      expect(Number(r2[0]!.baseOffset)).to.be.greaterThan(Number(r1[0]!.baseOffset));
      await producer.send({ topic: 'kjs', acks: 0, messages: [{ value: 'd' }] });
      await until(async () => Number((await admin.fetchTopicOffsets('kjs'))[0]!.high) >= Number(r2[0]!.baseOffset) + 2, 10_000, 'the acks=0 record');
    } finally {
      await producer.disconnect();
    }
  });

  it('kcat: -L lists the brokers and topics; -P and -C with every compression codec; -Q by time', async function () {
    needKcat.call(this);
    const brokers = cluster.bootstrap.join(',');
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      const topic = `kcat-${codec}`;
      const lines = Array.from({ length: 200 }, (_, i) => `${codec}-${i}-${'x'.repeat(i % 50)}`);
      await kcat(['-b', brokers, '-P', '-t', topic, '-p', '0', '-z', codec, '-X', 'topic.request.required.acks=-1'], `${lines.join('\n')}\n`);
      const out = await kcat(['-b', brokers, '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%s\\n']);
      expect(out.split('\n').filter((l) => l.length > 0), codec).to.deep.equal(lines);
    }
    const meta = JSON.parse(await kcat(['-b', brokers, '-L', '-J'])) as { brokers: { id: number }[]; topics: { topic: string }[] };
    expect(meta.brokers.map((b) => b.id).sort()).to.deep.equal([1, 2, 3]);
    expect(meta.topics.map((t) => t.topic)).to.include.members(['kcat-none', 'kcat-zstd']);
    // -Q: the offset for a timestamp (0: the first record), per partition.
    const q = await kcat(['-b', brokers, '-Q', '-t', 'kcat-gzip:0:0']);
    expect(q).to.match(/kcat-gzip \[0\]\s+offset \d+/);
  });

  it('kafka-python 2.0.2 (Python, Debian python3-kafka): admin, gzip produce, group consume, committed offsets', async function () {
    const python = kafkaPython();
    if (python === null) {
      if (process.env.CI) throw new Error('python3-kafka is required in CI (.ci/run installs it)');
      console.log('      (kafka-python is not installed: skipped; apt-get install python3-kafka)');
      this.skip();
    }
    const out = execFileSync(python, [PY_CHECK, cluster.bootstrap.join(',')], { encoding: 'utf8', timeout: 120_000 });
    const r = JSON.parse(out) as { topics: string[]; acked: [number, number][]; consumed: [number, number][]; values: string[]; control: number; groups: string[]; committed: Record<string, number> };
    expect(r.topics).to.include('py-t');
    expect(r.acked).to.have.length(1000);
    // Every acknowledged record is read back at its offset, once, with its key and value.
    expect(r.consumed).to.deep.equal(r.acked);
    expect(r.values).to.deep.equal(Array.from({ length: 1000 }, (_, i) => `k${i}=v${i}`).sort());
    // That version hands over every control record served (fixed in kafka-python 2.1); a new
    // topic serves none, and its offsets are dense from 0 in each partition.
    expect(r.control).to.equal(0);
    for (const p of [0, 1, 2]) {
      const offsets = r.acked.filter(([q]) => q === p).map(([, o]) => o);
      expect(offsets, `partition ${p}`).to.deep.equal(offsets.map((_, i) => i));
    }
    expect(r.groups).to.include('py-g');
    const next = new Map<number, number>();
    for (const [p, o] of r.acked) next.set(p, Math.max(next.get(p) ?? 0, o + 1));
    expect(r.committed).to.deep.equal(Object.fromEntries([...next].map(([p, o]) => [String(p), o])));
  });

  it('Kafka 3.9\'s newest versions (our codecs, real brokers): Metadata v12 and Fetch v17 by topic id, Produce v11 / Fetch v17 leader hints, ListOffsets v10 -3', async () => {
    await admin.createTopics({ topics: [{ topic: 'ids-t', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
    const clients = new Map<number, RawClient>();
    let corr = 0;
    const ask = async <Req, Res>(nodeId: number, api: ApiDefinition<Req, Res>, version: number, body: Req): Promise<Res> => {
      let c = clients.get(nodeId);
      if (c === undefined) {
        c = await RawClient.connect(cluster.node(nodeId).clientPort);
        clients.set(nodeId, c);
      }
      c.send(encodeRequestFrame(api, version, ++corr, 'e2e-versions', body));
      const frame = await c.next();
      if (frame === null) throw new Error(`node ${nodeId} closed the connection`);
      return parseResponse(api, version, frame).body;
    };
    const md = (topics: { topicId: string; name: string | null }[]) => ({
      topics, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    });
    const produceReq = (value: string) => ({
      transactionalId: null, acks: -1, timeoutMs: 10_000,
      topics: [{ name: 'ids-t', partitions: [{ partitionIndex: 0, records: encodeBatch({ baseTimestamp: Date.now(), records: [{ value: Buffer.from(value) }] }) }] }],
    });
    const fetchReq = (topicId: string) => ({
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
      sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
      topics: [{ topic: '', topicId, partitions: [{
        partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID,
      }] }],
    });
    try {
      const byName = await ask(1, metadataApi, 12, md([{ topicId: ZERO_UUID, name: 'ids-t' }]));
      const topic = byName.topics[0]!;
      expect(topic.errorCode).to.equal(0);
      expect(topic.topicId).to.not.equal(ZERO_UUID);
      const byId = await ask(2, metadataApi, 12, md([{ topicId: topic.topicId, name: null }, { topicId: '11111111-2222-4333-8444-555555555555', name: null }]));
      expect(byId.topics.map((t) => [t.name, t.topicId, t.errorCode])).to.deep.equal([['ids-t', topic.topicId, 0], [null, '11111111-2222-4333-8444-555555555555', 100]]);
      // Each node either leads and appends, or names the leader and how to reach it.
      let appended = -1;
      await until(async () => {
        let followers = 0;
        for (const n of cluster.nodes) {
          const r = await ask(n.id, produceApi, 11, produceReq(`from-${n.id}`));
          const p = r.responses[0]!.partitions[0]!;
          if (p.errorCode === 0) {
            appended = p.baseOffset;
            continue;
          }
          // A replica still learning who leads (LEADER_NOT_AVAILABLE) is asked again.
          if (p.errorCode !== 6 || p.currentLeader.leaderId < 0) continue;
          const leader = p.currentLeader.leaderId;
          expect(leader).to.not.equal(n.id);
          expect(r.nodeEndpoints).to.deep.include({ nodeId: leader, host: '127.0.0.1', port: cluster.node(leader).clientPort, rack: null });
          const f = await ask(n.id, fetchApi, 17, fetchReq(topic.topicId));
          expect(f.responses[0]!.topicId).to.equal(topic.topicId);
          expect(f.responses[0]!.partitions[0]!.errorCode).to.equal(6);
          expect(f.responses[0]!.partitions[0]!.currentLeader.leaderId).to.equal(leader);
          expect(f.nodeEndpoints.map((e) => e.nodeId)).to.deep.equal([leader]);
          followers++;
        }
        return appended >= 0 && followers >= 2;
      }, 30_000, 'a leader that appends and two followers that name it');
      const leader = (await ask(1, metadataApi, 12, md([{ topicId: topic.topicId, name: null }]))).topics[0]!.partitions[0]!.leaderId;
      expect(leader).to.be.greaterThan(0);
      const f = await ask(leader, fetchApi, 17, fetchReq(topic.topicId));
      const part = f.responses[0]!.partitions[0]!;
      expect(part.errorCode).to.equal(0);
      expect(part.highWatermark).to.be.greaterThan(appended);
      expect(part.records!.length).to.be.greaterThan(0);
      const lo = await ask(leader, listOffsetsApi, 10, {
        replicaId: -1, isolationLevel: 0, timeoutMs: 1000,
        topics: [{ name: 'ids-t', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -3, maxNumOffsets: 1 }, { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -5, maxNumOffsets: 1 }] }],
      });
      const [max, tiered] = lo.topics[0]!.partitions;
      expect(max!.errorCode).to.equal(0);
      expect(max!.offset).to.be.within(0, part.highWatermark - 1);
      expect(max!.timestamp).to.be.closeTo(Date.now(), 120_000);
      expect([tiered!.errorCode, tiered!.offset]).to.deep.equal([0, -1]);
    } finally {
      for (const c of clients.values()) c.close();
    }
  });

  it('100,000 records with acks=all while the leader is killed: every acknowledged record at its offset, in order, nothing foreign', async function () {
    needKcat.call(this);
    await admin.createTopics({ topics: [{ topic: 'failover', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
    const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 1000 } });
    await producer.connect();
    const acked: { base: number; values: string[] }[] = [];
    const produced = new Set<string>();
    const BATCH = 500;
    let killed = 0;
    try {
      for (let b = 0; b < 100_000 / BATCH; b++) {
        const values = Array.from({ length: BATCH }, (_, i) => `r${b * BATCH + i}`);
        for (const v of values) produced.add(v);
        const res = await producer.send({ topic: 'failover', acks: -1, messages: values.map((value) => ({ value })) });
        acked.push({ base: Number(res[0]!.baseOffset), values });
        if (b === 60 || b === 130) {
          const md = await admin.fetchTopicMetadata({ topics: ['failover'] });
          const leader = md.topics[0]!.partitions[0]!.leader;
          await cluster.node(leader).stop('SIGKILL');
          killed++;
          cluster.restartLater(leader, 3000);
        }
      }
    } finally {
      await producer.disconnect();
    }
    expect(killed).to.equal(2);
    await cluster.ready(60_000);
    const out = await kcat(['-b', cluster.bootstrap.join(','), '-C', '-t', 'failover', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %s\\n'], undefined, 120_000);
    const byOffset = new Map<number, string>();
    let last = -1;
    for (const line of out.split('\n')) {
      if (!line) continue;
      const [o, v] = line.split(' ') as [string, string];
      const offset = Number(o);
      expect(offset, 'offsets increase').to.be.greaterThan(last);
      last = offset;
      expect(produced.has(v), `record ${v} at ${offset} was produced`).to.equal(true);
      byOffset.set(offset, v);
    }
    for (const a of acked) a.values.forEach((v, i) => expect(byOffset.get(a.base + i), `acknowledged ${v}`).to.equal(v));
    // Dense across the two leader kills: every offset from 0 to the last holds a record (a retried
    // batch may be there twice, at offsets of its own).
    expect(last).to.equal(byOffset.size - 1);
    expect(byOffset.size).to.be.at.least(100_000);
  });
});
