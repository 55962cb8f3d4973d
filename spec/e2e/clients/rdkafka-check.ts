/**
 * node-rdkafka (today's librdkafka, built outside the repository by
 * scripts/install-test-clients.sh) against a Flotilla cluster, in a process of its own: a native
 * client that misbehaves then cannot take the test runner down or keep it alive.
 *
 * Usage: node rdkafka-check.js MODULE_DIR BROKERS
 *        node rdkafka-check.js MODULE_DIR BROKERS --secure PROPERTIES TOPIC GROUP FORBIDDEN_TOPIC
 * Prints one JSON object: each step's result, or the error that stopped the run.
 * --secure (spec/e2e/security-clients.spec.ts): the client settings (security.protocol,
 * sasl.*, ssl.*) come from PROPERTIES (key=value lines: the password stays off the command line);
 * it produces to TOPIC, reads it back in GROUP, commits, then produces to FORBIDDEN_TOPIC and
 * reports the delivery error.
 * node-rdkafka 3.6.1's AdminClient has createTopic, deleteTopic and createPartitions only (no
 * describe configs or groups): topics are described through Metadata.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const [modulePath, brokers, mode, propertiesFile, secureTopic, secureGroup, forbiddenTopic] = process.argv.slice(2) as [string, string, ...(string | undefined)[]];
const secure = mode === '--secure';
const Kafka: any = createRequire(import.meta.url)(modulePath);
const TOPIC = secure ? secureTopic! : 'rdk-t';
const GROUP = secure ? secureGroup! : 'rdk-g';
const COUNT = secure ? 50 : 300;
/** key=value lines (# comments), as Kafka's client properties files. */
const properties = (file: string): Record<string, string> => Object.fromEntries(readFileSync(file, 'utf8').split('\n')
  .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#')).map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1)]));
const common = {
  'metadata.broker.list': brokers, 'client.id': 'rdkafka-check', 'broker.address.family': 'v4', 'socket.timeout.ms': 20_000,
  ...(secure ? properties(propertiesFile!) : {}),
};
const out: Record<string, unknown> = { librdkafka: Kafka.librdkafkaVersion };

function cb<T>(f: (done: (err: unknown, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => f((err, v) => (err ? reject(err instanceof Error ? err : new Error(JSON.stringify(err))) : resolve(v as T))));
}

async function connected(client: any): Promise<void> {
  await cb((done) => client.connect({ timeout: 20_000 }, done));
}

async function metadata(client: any): Promise<any> {
  return cb((done) => client.getMetadata({ topic: TOPIC, timeout: 10_000 }, done));
}

/** Produces `count` keyed records with `config`; resolves with [partition, offset] of each acknowledged one. */
async function produce(config: Record<string, unknown>, prefix: string, count: number, topic = TOPIC): Promise<[number, number][]> {
  const producer = new Kafka.Producer({ ...common, dr_cb: true, ...config });
  await connected(producer);
  const acked: [number, number][] = [];
  const errors: string[] = [];
  producer.on('delivery-report', (err: any, report: any) => {
    if (err) errors.push(String(err.message ?? err));
    else acked.push([report.partition, report.offset]);
  });
  producer.setPollInterval(20);
  for (let i = 0; i < count; i++) producer.produce(topic, i % 3, Buffer.from(`${prefix}${i}`), Buffer.from(`k${i}`));
  await cb((done) => producer.flush(30_000, done));
  const end = Date.now() + 30_000;
  while (acked.length + errors.length < count && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  await cb((done) => producer.disconnect(done));
  if (errors.length > 0) throw new Error(`delivery failed: ${errors.slice(0, 3).join('; ')}`);
  return acked.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

async function main(): Promise<void> {
  const admin = Kafka.AdminClient.create(common);
  try {
    await cb((done) => admin.createTopic({ topic: TOPIC, num_partitions: 3, replication_factor: 3, config: { 'retention.ms': '3600000' } }, 20_000, done));
    const created = await cb<void>((done) => admin.createTopic({ topic: TOPIC, num_partitions: 1, replication_factor: 1 }, 20_000, done)).then(() => 'created twice', (e: any) => String(e.message ?? e));
    out.createAgain = created;
    await cb((done) => admin.createPartitions(TOPIC, 4, 20_000, done));

    const probe = new Kafka.Producer(common);
    await connected(probe);
    const md = await metadata(probe);
    out.brokers = md.brokers.map((b: any) => b.id).sort();
    const t = md.topics.find((x: any) => x.name === TOPIC);
    out.partitions = t.partitions.map((p: any) => ({ id: p.id, replicas: p.replicas.length, leader: p.leader })).sort((a: any, b: any) => a.id - b.id);
    await cb((done) => probe.disconnect(done));

    out.idempotent = await produce({ 'enable.idempotence': true, acks: 'all' }, 'i', COUNT);
    out.plain = await produce({ acks: 'all', 'compression.codec': 'lz4', 'linger.ms': 5 }, 'p', COUNT);

    const consumer = new Kafka.KafkaConsumer({ ...common, 'group.id': GROUP, 'enable.auto.commit': false, 'session.timeout.ms': 10_000 }, { 'auto.offset.reset': 'earliest' });
    await connected(consumer);
    consumer.subscribe([TOPIC]);
    const seen: [number, number, string][] = [];
    const end = Date.now() + 60_000;
    while (seen.length < 2 * COUNT && Date.now() < end) {
      const batch = await cb<any[]>((done) => consumer.consume(500, done));
      for (const m of batch) seen.push([m.partition, m.offset, m.value.toString()]);
    }
    out.consumed = seen.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    consumer.commitSync(null);
    const parts = [0, 1, 2, 3].map((partition) => ({ topic: TOPIC, partition }));
    out.committed = (await cb<any[]>((done) => consumer.committed(parts, 10_000, done))).map((p) => [p.partition, p.offset]);
    const marks: [number, number, number][] = [];
    for (const { partition } of parts) {
      const w = await cb<any>((done) => consumer.queryWatermarkOffsets(TOPIC, partition, 10_000, done));
      marks.push([partition, w.lowOffset, w.highOffset]);
    }
    out.watermarks = marks;
    out.byTime = (await cb<any[]>((done) => consumer.offsetsForTimes(parts.map((p) => ({ ...p, offset: 0 })), 10_000, done))).map((p) => [p.partition, p.offset]);
    await cb((done) => consumer.disconnect(done));

    await cb((done) => admin.deleteTopic(TOPIC, 20_000, done));
    const probe2 = new Kafka.Producer(common);
    await connected(probe2);
    const gone = Date.now() + 15_000;
    for (;;) {
      const all = await cb<any>((done) => probe2.getMetadata({ timeout: 10_000 }, done));
      if (!all.topics.some((x: any) => x.name === TOPIC)) break;
      if (Date.now() > gone) throw new Error('the deleted topic is still listed');
      await new Promise((r) => setTimeout(r, 200));
    }
    out.deleted = true;
    await cb((done) => probe2.disconnect(done));
  } finally {
    admin.disconnect();
  }
}

/** Produce, group consume and commit on a secured listener, then a topic without ACLs. */
async function secured(): Promise<void> {
  out.acked = await produce({ acks: 'all' }, 's', COUNT);
  const consumer = new Kafka.KafkaConsumer({ ...common, 'group.id': GROUP, 'enable.auto.commit': false, 'session.timeout.ms': 10_000 }, { 'auto.offset.reset': 'earliest' });
  await connected(consumer);
  consumer.subscribe([TOPIC]);
  const seen: [number, number, string][] = [];
  const end = Date.now() + 60_000;
  while (seen.length < COUNT && Date.now() < end) {
    const batch = await cb<any[]>((done) => consumer.consume(500, done));
    for (const m of batch) seen.push([m.partition, m.offset, m.value.toString()]);
  }
  out.consumed = seen.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  consumer.commitSync(null);
  out.committed = (await cb<any[]>((done) => consumer.committed([0, 1, 2].map((partition) => ({ topic: TOPIC, partition })), 10_000, done))).map((p) => [p.partition, p.offset]);
  await cb((done) => consumer.disconnect(done));
  out.forbidden = await produce({ acks: 'all', 'message.timeout.ms': 15_000 }, 'f', 1, forbiddenTopic!).then(() => 'delivered', (e: unknown) => (e instanceof Error ? e.message : String(e)));
}

(secure ? secured() : main()).then(
  () => {
    console.log(JSON.stringify(out));
    process.exit(0);
  },
  (e: unknown) => {
    out.error = e instanceof Error ? e.message : String(e);
    console.log(JSON.stringify(out));
    process.exit(0);
  },
);
