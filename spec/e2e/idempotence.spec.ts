/**
 * End-to-end, issue 8: idempotent producers against a 3-node cluster of real processes.
 * KafkaJS 2.2.4 (`idempotent: true`) and kcat / librdkafka 2.0.2 (`-X enable.idempotence=true`)
 * write to one partition at the same time while its leader is killed (kill -9) and restarted
 * again and again; afterwards every record of each producer is in the log exactly once, in the
 * order it was sent, with nothing missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { expect } from 'chai';
import type { Admin, Kafka } from 'kafkajs';
import { TestCluster, kcat, kcatPath, until } from './cluster-harness.js';

describe('idempotent producers against a 3-node cluster', function () {
  this.timeout(600_000);
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
    cluster = new TestCluster(3, 23000 + Math.floor(Math.random() * 20000));
    cluster.start();
    await cluster.ready(60_000);
    kafka = cluster.kafka('idem');
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

  /** Every record of the partition, in offset order: [offset, value]. */
  async function readAll(topic: string): Promise<[number, string][]> {
    const out = await kcat(['-b', cluster.bootstrap.join(','), '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o %s\\n'], undefined, 120_000);
    return out.split('\n').filter((l) => l.length > 0).map((l) => {
      const [o, v] = l.split(' ') as [string, string];
      return [Number(o), v];
    });
  }

  /** The values with `prefix`, in log order, must be prefix0 .. prefix(n-1): no duplicate, no gap, in order. */
  function expectExactlyOnceInOrder(records: [number, string][], prefix: string, n: number): void {
    const seen = records.filter(([, v]) => v.startsWith(prefix)).map(([, v]) => Number(v.slice(prefix.length)));
    const dups = seen.length - new Set(seen).size;
    expect(dups, `${prefix}: duplicates`).to.equal(0);
    for (let i = 0; i < seen.length; i++) if (seen[i] !== i) expect.fail(`${prefix}: record ${i} in log order is ${prefix}${seen[i]}`);
    expect(seen.length, `${prefix}: records`).to.equal(n);
  }

  it('KafkaJS idempotent: true and kcat enable.idempotence=true: producer ids from the controller, records once each', async function () {
    needKcat.call(this);
    await admin.createTopics({ topics: [{ topic: 'idem-smoke', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      for (let b = 0; b < 10; b++) {
        const res = await producer.send({ topic: 'idem-smoke', acks: -1, messages: Array.from({ length: 100 }, (_, i) => ({ value: `j${b * 100 + i}` })) });
        expect(res[0]!.errorCode).to.equal(0);
      }
    } finally {
      await producer.disconnect();
    }
    const lines = Array.from({ length: 1000 }, (_, i) => `k${i}`);
    await kcat(['-b', cluster.bootstrap.join(','), '-P', '-t', 'idem-smoke', '-p', '0', '-X', 'enable.idempotence=true'], `${lines.join('\n')}\n`);
    const records = await readAll('idem-smoke');
    expectExactlyOnceInOrder(records, 'j', 1000);
    expectExactlyOnceInOrder(records, 'k', 1000);
  });

  it('100,000 idempotent records while the partition leader is killed and restarted repeatedly: no duplicate, no gap, order kept per producer', async function () {
    needKcat.call(this);
    const topic = 'idem-failover';
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
    // librdkafka writes its share at a steady pace through the kills.
    const KCAT_RECORDS = 20_000;
    const rdkafka: ChildProcess = spawn(kcatPath()!, [
      '-b', cluster.bootstrap.join(','), '-P', '-t', topic, '-p', '0', '-X', 'enable.idempotence=true', '-X', 'message.timeout.ms=300000',
      // Connections to every broker, reconnected quickly: kcat gives up when all are down at once.
      '-X', 'enable.sparse.connections=false', '-X', 'reconnect.backoff.max.ms=500',
    ], { stdio: ['pipe', 'ignore', 'pipe'] });
    let rdkafkaErr = '';
    rdkafka.stderr!.on('data', (d: Buffer) => (rdkafkaErr += d.toString()));
    const rdkafkaDone = new Promise<number | null>((resolve) => rdkafka.on('exit', (code) => resolve(code)));
    let fed = 0;
    const feeder = setInterval(() => {
      const n = Math.min(200, KCAT_RECORDS - fed);
      if (n <= 0) {
        clearInterval(feeder);
        rdkafka.stdin!.end();
        return;
      }
      rdkafka.stdin!.write(Array.from({ length: n }, (_, i) => `k${fed + i}\n`).join(''));
      fed += n;
    }, 250);

    // The faults: while a send is in flight (a few ms after it left), kill -9 the partition's
    // leader; restart it 2.5 s later and wait until every node serves again (never two nodes down
    // at once); then, some sends later, the next kill. A batch the dead leader had replicated but
    // not answered is retried on the new leader: only idempotence keeps it from being written twice.
    const KILLS = 5;
    let kills = 0;
    let recovered = true;
    let lastKillAt = 0;
    const recoveries: Promise<void>[] = [];
    const leaderNow = async (): Promise<number> => (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions[0]!.leader;
    const killSoon = async (leader: number): Promise<void> => {
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 15)));
      await cluster.node(leader).stop('SIGKILL');
      kills++;
      await new Promise((r) => setTimeout(r, 2500));
      cluster.node(leader).start(cluster.controllers);
      await cluster.ready(60_000);
      recovered = true;
    };
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 1000, initialRetryTime: 100, maxRetryTime: 1000 } });
    await producer.connect();
    const BATCH = 200;
    const KJS_RECORDS = 100_000;
    const SEND_MS_MIN = 80;
    try {
      for (let b = 0; b < KJS_RECORDS / BATCH; b++) {
        const started = Date.now();
        const target = kills < KILLS && recovered && b - lastKillAt >= 40 ? await leaderNow() : 0;
        const send = producer.send({ topic, acks: -1, messages: Array.from({ length: BATCH }, (_, i) => ({ value: `j${b * BATCH + i}` })) });
        if (target > 0 && cluster.node(target).running) {
          recovered = false;
          lastKillAt = b;
          recoveries.push(killSoon(target));
        }
        await send;
        // A steady pace, so that the kills spread over the whole run.
        const left = SEND_MS_MIN - (Date.now() - started);
        if (left > 0) await new Promise((r) => setTimeout(r, left));
      }
    } finally {
      await producer.disconnect();
      clearInterval(feeder);
    }
    await Promise.all(recoveries);
    expect(kills).to.equal(KILLS);
    expect(await rdkafkaDone, `kcat: ${rdkafkaErr.slice(-2000)}`).to.equal(0);
    await cluster.ready(60_000);
    await until(async () => (await readAll(topic)).length >= KJS_RECORDS + KCAT_RECORDS, 60_000, 'every record readable');
    const records = await readAll(topic);
    expectExactlyOnceInOrder(records, 'j', KJS_RECORDS);
    expectExactlyOnceInOrder(records, 'k', KCAT_RECORDS);
    expect(records.length).to.equal(KJS_RECORDS + KCAT_RECORDS);
  });
});
