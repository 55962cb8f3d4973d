/**
 * End-to-end, issue 17: Kafka client generations beyond the ones kafka-clients.spec.ts drives,
 * against a 3-node cluster of real processes, every connection through a FrameTap (frame-tap.ts)
 * that records each request's API key and version:
 * - today's librdkafka (2.12, node-rdkafka 3.6.1 built once per machine outside the repository by
 *   scripts/install-test-clients.sh; run in a child process);
 * - @platformatic/kafka 1.x, which negotiates the newest version of each API it implements;
 * - kafka-python 2.0.2 with a pinned api_version (0.10.1, 1.0.0, 2.0.0): its producer and consumer
 *   never send ApiVersions and use that Kafka release's versions;
 * - Sarama 1.22.1 (Go, Debian's sources, built here in GOPATH mode) with config.Version pinned
 *   (0.11.0.0, 1.0.0, 2.0.0): no ApiVersions from anything, admin included.
 * A failure names the requests the client sent and the node's reason for closing its connection.
 * FLOTILLA_CAPTURE_FIXTURES=1 writes each client's first frame of every (API, version) under
 * spec/server/fixtures/clients/<client>/ (spec/server/fixtures/clients/README.md).
 */
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, ConfigResourceTypes, Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { TestCluster, kafkaPython, runChild, until } from './cluster-harness.js';
import { FrameTap, TAP_HOST } from './frame-tap.js';
import { INSTALL, RDKAFKA_CHECK, buildSarama, missingClient, nodeRdkafka } from './test-clients.js';

const PY_PINNED = new URL('../../../spec/e2e/python/kafka_python_pinned.py', import.meta.url).pathname;
const FIXTURES = new URL('../../../spec/server/fixtures/clients/', import.meta.url).pathname;

/** An error with its causes and aggregated errors (platformatic nests them), the first of each. */
function explain(e: unknown, depth = 0): string {
  if (!(e instanceof Error) || depth > 4) return String(e);
  const x = e as Error & { errors?: unknown[]; response?: unknown };
  let s = e.message;
  if (x.response !== undefined) s += ` response=${JSON.stringify(x.response, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)).slice(0, 400)}`;
  if (x.errors?.length) s += ` <- [${x.errors.length}] ${explain(x.errors.at(-1), depth + 1)}`;
  if (e.cause !== undefined) s += ` <- ${explain(e.cause, depth + 1)}`;
  return s;
}

describe('Kafka client generations against a 3-node cluster (issue 17)', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let tap: FrameTap;
  let bootstrap: string[];
  /** Where the current test's frames and the node's closes start in the tap. */
  let mark = { frames: 0, closes: 0, logs: [] as number[] };

  /** What the client sent and what the node said since `since` (each reason once, with a count), for a failing test's message. */
  const wire = (clientId?: string, since = mark): string => {
    const closes = tap.closesSince(since.closes);
    const reasons = new Map<string, number>();
    cluster.nodes.forEach((n, i) => {
      const from = n.output.length >= (since.logs[i] ?? 0) ? (since.logs[i] ?? 0) : 0;
      for (const m of n.output.slice(from).matchAll(/closing connection [^:]+:\d+: ([^"]*)/g)) reasons.set(`node ${n.id}: ${m[1]}`, (reasons.get(`node ${n.id}: ${m[1]}`) ?? 0) + 1);
    });
    const logged = [...reasons].map(([r, k]) => `${r} (${k}x)`);
    return `\n  requests sent: ${tap.seen(since.frames, clientId).join(', ')}\n  ${closes.join('\n  ') || 'the node closed no connection'}\n  node log, closing connection: ${logged.join('; ') || '(nothing)'}`;
  };

  const capture = (client: string, clientId: string): void => {
    if (process.env.FLOTILLA_CAPTURE_FIXTURES !== '1') return;
    const files = tap.writeFixtures(join(FIXTURES, client), mark.frames, clientId);
    console.log(`      fixtures ${client}: ${files.join(' ')}`);
  };

  before(async () => {
    cluster = new TestCluster(3);
    cluster.start(['--advertised-host', TAP_HOST]);
    tap = await FrameTap.start(cluster);
    await cluster.ready(120_000).catch((e: unknown) => {
      console.log(cluster.output());
      throw e;
    });
    bootstrap = cluster.nodes.map((n) => `${TAP_HOST}:${n.clientPort}`);
  });

  beforeEach(() => {
    mark = { frames: tap.frames.length, closes: tap.nodeCloses.length, logs: cluster.nodes.map((n) => n.output.length) };
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    await tap?.close();
    await cluster?.destroy();
  });

  it('librdkafka 2.12 (node-rdkafka 3.6.1): create, metadata, partitions, idempotent and lz4 acks=all produce, group consume, commit, watermarks, offsets by time, delete', async function () {
    const module = nodeRdkafka();
    if (module === null) missingClient(this, `node-rdkafka (librdkafka 2.12) is not installed on this machine: run \`${INSTALL}\` once (it builds librdkafka from the npm package's sources, about 5-10 minutes)`);
    const out = await runChild(process.execPath, [RDKAFKA_CHECK, module, bootstrap.join(',')], 240_000);
    const r = JSON.parse(out) as Record<string, any>;
    capture('librdkafka-2.12.0', 'rdkafka-check');
    expect(r.error, `librdkafka ${r.librdkafka}: ${r.error}${wire('rdkafka-check')}`).to.equal(undefined);
    expect(r.librdkafka).to.match(/^2\.12\./);
    expect(r.createAgain).to.match(/already exists/i);
    expect(r.brokers).to.deep.equal([1, 2, 3]);
    expect(r.partitions).to.have.length(4);
    for (const p of r.partitions) expect(p.replicas).to.equal(3);
    expect(r.idempotent).to.have.length(300);
    expect(r.plain).to.have.length(300);
    // Every acknowledged record is read back at its offset, once.
    const acked = [...r.idempotent, ...r.plain].sort((a: number[], b: number[]) => a[0]! - b[0]! || a[1]! - b[1]!);
    expect(r.consumed.map(([p, o]: [number, number]) => [p, o])).to.deep.equal(acked);
    const next = new Map<number, number>();
    for (const [p, o] of acked) next.set(p, Math.max(next.get(p) ?? 0, o + 1));
    // The consumer's position (what commitSync commits) and the high watermark may be past the last
    // record: a new partition leader's no-op (a control batch) can follow it.
    const committed = new Map(r.committed as [number, number][]);
    for (const [p, low, high] of r.watermarks as [number, number, number][]) {
      expect(low).to.equal(0);
      if (!next.has(p)) continue;
      expect(committed.get(p), `partition ${p} committed`).to.be.at.least(next.get(p)!);
      expect(high, `partition ${p} high watermark`).to.be.at.least(committed.get(p)!);
    }
    // ListOffsets by time 0: the first offset of each partition that holds records (partition 3, added
    // by createPartitions, holds none).
    const first = new Map<number, number>();
    for (const [p, o] of acked) first.set(p, Math.min(first.get(p) ?? o, o));
    for (const [p, o] of r.byTime as [number, number][]) if (first.has(p)) expect(o, `partition ${p} offset for time 0 (${JSON.stringify(r.byTime)})`).to.be.within(0, first.get(p)!);
    expect(r.deleted).to.equal(true);
  });

  it('@platformatic/kafka (newest versions): create, metadata, idempotent produce, group consume with commits, list offsets, describe groups, delete', async () => {
    const base = { clientId: 'platformatic-check', bootstrapBrokers: bootstrap, timeout: 20_000, retries: 10 };
    const topic = 'pk-t';
    const admin = new Admin(base);
    const producer = new Producer({ ...base, serializers: stringSerializers, idempotent: true, acks: -1 });
    const consumer = new Consumer({ ...base, groupId: 'pk-g', deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500 });
    try {
      try {
        await admin.createTopics({ topics: [topic], partitions: 3, replicas: 3, configs: [{ name: 'retention.ms', value: '3600000' }] });
        const md = await admin.metadata({ topics: [topic] });
        const t = md.topics.get(topic)!;
        expect(t.partitionsCount).to.equal(3);
        for (const p of t.partitions) expect(p.replicas).to.have.length(3);
        expect([...md.brokers.keys()].sort()).to.deep.equal([1, 2, 3]);

        const acked: [number, number][] = [];
        for (let b = 0; b < 3; b++) {
          const res = await producer.send({ messages: Array.from({ length: 100 }, (_, i) => ({ topic, partition: (b * 100 + i) % 3, key: `k${b * 100 + i}`, value: `v${b * 100 + i}` })) });
          for (const o of res.offsets ?? []) acked.push([o.partition, Number(o.offset)]);
        }
        expect(acked.length).to.be.greaterThan(0);

        const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 500 });
        const seen = new Map<number, number>();
        let count = 0;
        let lastMessage: { commit(): void | Promise<void> } | null = null;
        const lastByPartition = new Map<number, { commit(): void | Promise<void> }>();
        for await (const m of stream) {
          count++;
          seen.set(m.partition, Math.max(seen.get(m.partition) ?? -1, Number(m.offset)));
          lastByPartition.set(m.partition, m);
          lastMessage = m;
          if (count === 300) break;
        }
        expect(lastMessage).to.not.equal(null);
        for (const m of lastByPartition.values()) await m.commit();
        await stream.close();
        const committed = await consumer.listCommittedOffsets({ topics: [{ topic, partitions: [0, 1, 2] }] });
        expect(committed.get(topic)!.map(Number)).to.deep.equal([0, 1, 2].map((p) => seen.get(p)! + 1));
        // The log end may be past the last record: a new partition leader's no-op (a control batch) follows it.
        const ends = await consumer.listOffsets({ topics: [topic] });
        ends.get(topic)!.forEach((end, p) => expect(Number(end), `end of partition ${p}`).to.be.at.least(seen.get(p)! + 1));
        const groups = await admin.describeGroups({ groups: ['pk-g'] });
        const g = groups.get('pk-g')!;
        expect(g.protocolType).to.equal('consumer');
        expect(g.members.size).to.equal(1);
        await consumer.leaveGroup();
        await admin.deleteTopics({ topics: [topic] });
        await until(async () => !(await admin.listTopics()).includes(topic), 15_000, 'the topic to go');
      } catch (e) {
        throw new Error(`${explain(e)}${wire('platformatic-check')}`);
      }
      capture('platformatic-kafka-1.35.0', 'platformatic-check');
    } finally {
      await Promise.resolve().then(() => consumer.close(true)).catch(() => {});
      await Promise.resolve().then(() => producer.close(true)).catch(() => {});
      await admin.close().catch(() => {});
    }
  });

  it('@platformatic/kafka: describe configs', async () => {
    const admin = new Admin({ clientId: 'platformatic-configs', bootstrapBrokers: bootstrap, timeout: 20_000, retries: 2 });
    try {
      try {
        await admin.createTopics({ topics: ['pk-c'], partitions: 1, replicas: 3, configs: [{ name: 'retention.ms', value: '3600000' }] });
        const [cfg] = await admin.describeConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: 'pk-c' }] });
        expect(cfg!.configs.find((c) => c.name === 'retention.ms')?.value).to.equal('3600000');
        await admin.deleteTopics({ topics: ['pk-c'] });
      } catch (e) {
        throw new Error(`${explain(e)}${wire('platformatic-configs')}`);
      }
    } finally {
      capture('platformatic-kafka-1.35.0', 'platformatic-configs');
      await admin.close().catch(() => {});
    }
  });

  for (const version of ['0.10.1', '1.0.0', '2.0.0']) {
    describe(`kafka-python 2.0.2, api_version=${version}: its producer and consumer never send ApiVersions`, () => {
      const clientId = `kafka-python-${version}`;
      const tag = version.replaceAll('.', '');
      let r: Record<string, any>;
      let errors: [string, string][];
      let since = mark;
      const failed = (what: string): string => `kafka-python api_version=${version}: ${errors.map(([k, v]) => `${k}: ${v}`).join('; ')}${wire(clientId, since)} (${what})`;

      before(async function () {
        const python = kafkaPython();
        if (python === null) missingClient(this, 'python3-kafka is not installed: apt-get install python3-kafka (.ci/run installs it)');
        since = mark = { frames: tap.frames.length, closes: tap.nodeCloses.length, logs: cluster.nodes.map((n) => n.output.length) };
        r = JSON.parse(await runChild(python, [PY_PINNED, bootstrap.join(','), version], 240_000)) as Record<string, any>;
        errors = Object.entries(r.errors as Record<string, string>).filter(([k]) => !k.endsWith('.trace'));
        capture(`kafka-python-2.0.2-api-${version}`, clientId);
      });

      if (version === '0.10.1') {
        // Produce v2 carries message format v1, which Flotilla does not store (lib/server/handlers/
        // produce.ts): a clear, non-retriable error on an open connection, and nothing written.
        it('produce at Produce v2 (message format v1) is refused with UNSUPPORTED_FOR_MESSAGE_FORMAT', () => {
          expect(r.errors.acked, failed('produce')).to.match(/UnsupportedForMessageFormatError.*Error 43/);
          expect(r.ackedBy).to.equal('negotiating producer');
          expect(tap.seen(since.frames, clientId)).to.include('Produce v2');
        });
      } else {
        it('produce with acks=all at that release\'s Produce version', () => {
          expect(r.errors.acked, failed('produce')).to.equal(undefined);
          expect(r.ackedBy).to.equal('pinned producer');
        });
      }

      if (version === '0.10.1') {
        // A client configured for Kafka 0.10 fetches at Fetch v3, whose answer predates record batch
        // v2: Flotilla refuses it as Kafka 4 does (KIP-896), closing the connection with a log line
        // that names the request. Its admin client negotiates, so topics are still managed.
        it('consume at Fetch v3 (before record batch v2) is refused, and the node names the request', () => {
          expect(r.consumed ?? [], failed('consume')).to.deep.equal([]);
          expect(tap.seen(since.frames, clientId)).to.include('Fetch v3');
          const logs = cluster.nodes.map((n, i) => n.output.slice(since.logs[i] ?? 0)).join('');
          expect(logs).to.match(/Fetch \(key 1\) v3 is outside/);
          expect(r.created).to.include(`pin-${tag}`);
          expect(r.deleted).to.equal(true);
        });
        return;
      }

      it('admin create and delete; group consume, commit, end offsets (ListOffsets), describe group', () => {
        expect(errors.filter(([k]) => k !== 'acked'), failed('the rest')).to.deep.equal([]);
        expect(r.created).to.include(`pin-${tag}`);
        expect(r.acked).to.have.length(100);
        expect(r.consumed, failed('consume')).to.deep.equal(r.acked);
        const next = new Map<number, number>();
        for (const [p, o] of r.acked as [number, number][]) next.set(p, Math.max(next.get(p) ?? 0, o + 1));
        for (const [p, o] of next) {
          // The consumer's position (what it commits) and the log end may be past the last record:
          // a new partition leader's no-op (a control batch) can follow it.
          expect(r.committed[String(p)], `committed ${p}`).to.be.at.least(o);
          expect(r.endOffsets[String(p)], `end offset ${p}`).to.be.at.least(r.committed[String(p)]);
        }
        expect(r.group.protocol_type).to.equal('consumer');
        expect(r.groups).to.include(`pin-g-${tag}`);
        expect(r.deleted).to.equal(true);
      });
    });
  }

  describe('Sarama 1.22.1 (Go, Debian) with config.Version pinned: never sends ApiVersions', () => {
    let bin: string;
    before(function () {
      bin = buildSarama(this);
    });
    after(() => {
      if (bin) rmSync(join(bin, '..'), { recursive: true, force: true });
    });

    for (const version of ['0.11.0.0', '1.0.0', '2.0.0']) {
      describe(`Version ${version}`, () => {
        const clientId = `sarama-${version}`;
        let r: Record<string, any>;
        let errors: [string, string][];
        let since = mark;
        const failed = (what: string): string => `Sarama Version=${version}: ${errors.map(([k, v]) => `${k}: ${v}`).join('; ')}${wire(clientId, since)} (${what})`;

        before(async () => {
          const topic = `sarama-data-${version.replaceAll('.', '')}`;
          const kafka = cluster.kafka('sarama-spec');
          const admin = kafka.admin();
          await admin.connect();
          await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }], waitForLeaders: true });
          await admin.disconnect();
          since = mark = { frames: tap.frames.length, closes: tap.nodeCloses.length, logs: cluster.nodes.map((n) => n.output.length) };
          r = JSON.parse(await runChild(bin, [bootstrap.join(','), version, topic], 180_000)) as Record<string, any>;
          errors = Object.entries(r.errors as Record<string, string>);
          capture(`sarama-1.22.1-version-${version}`, clientId);
        });

        const admin = ['created', 'createdDeleted', 'described', 'config', 'committed', 'group', 'deleted'];

        it('producer and consumer group: acks=all produce, consume, commit, end offsets; no ApiVersions at all', () => {
          expect(errors.filter(([k]) => !admin.includes(k)), failed('produce/consume')).to.deep.equal([]);
          expect(tap.seen(since.frames, clientId).filter((a) => a.startsWith('ApiVersions'))).to.deep.equal([]);
          expect(r.acked).to.have.length(100);
          expect(r.consumed, failed('consume')).to.deep.equal(r.acked);
          for (const [p, o] of next()) expect(r.endOffsets[String(p)], `end offset ${p}`).to.be.at.least(o);
        });

        it('admin at that release\'s versions: CreateTopics, Metadata, DescribeConfigs, OffsetFetch, DescribeGroups, DeleteTopics', () => {
          expect(errors.filter(([k]) => admin.includes(k)), failed('admin')).to.deep.equal([]);
          expect(r.createdDeleted).to.equal(true);
          expect(r.described).to.equal(3);
          expect(r.config).to.equal('3600000');
          for (const [p, o] of next()) expect(r.committed[String(p)], `committed ${p}`).to.equal(o);
          expect(r.group.protocolType).to.equal('consumer');
          expect(r.deleted).to.equal(true);
        });

        /** Each partition's offset after its last acknowledged record. */
        const next = (): Map<number, number> => {
          const m = new Map<number, number>();
          for (const [p, o] of (r.acked ?? []) as [number, number][]) m.set(p, Math.max(m.get(p) ?? 0, o + 1));
          return m;
        };
      });
    }
  });
});
