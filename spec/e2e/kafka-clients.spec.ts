/**
 * End-to-end, issue 5: unmodified Kafka clients against a 3-node cluster of real processes.
 * KafkaJS 2.2.4 (admin, producer), kcat / librdkafka (-L, -P, -C, -Q, every compression codec),
 * kafka-python 2.0.2 (admin, producer, consumer group: a third client family, in Python),
 * and 100,000 records produced with acks=all while their partition's leader is killed (kill -9).
 */
import { expect } from 'chai';
import kafkajs, { type Admin, type Kafka, type Producer } from 'kafkajs';
import { execFileSync } from 'node:child_process';
import { TestCluster, kcat, kcatPath, until } from './cluster-harness.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;
const PY_CHECK = new URL('../../../spec/e2e/python/kafka_python_check.py', import.meta.url).pathname;

/** A Python with the `kafka` module (Debian's python3-kafka lives under /usr/bin/python3), or null. */
function kafkaPython(): string | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(python, ['-c', 'import kafka'], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  return null;
}

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
