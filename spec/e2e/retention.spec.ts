/**
 * End-to-end, issue 7: retention and compaction on a 3-node cluster of real processes.
 * - Under continuous produce, retention.bytes keeps the segment files bounded; a consumer of a
 *   deleted offset gets OFFSET_OUT_OF_RANGE and resets as its policy says (kcat: earliest).
 * - A compacted topic of 1,000 keys x 100 updates: after cleaning, a KafkaJS consumer from the
 *   beginning reads exactly the latest value of every key, tombstoned keys absent after
 *   delete.retention.ms, and the segment files shrink accordingly.
 * - compacted topics written by kcat (librdkafka) with snappy, lz4 and zstd are cleaned like
 *   uncompressed ones, their batches stay in the producer's codec, and kcat reads them back.
 * - kill -9 of a replica in the middle of a cleaning pass: after the restart no surviving record
 *   is lost, and every replica holds the same records at the same offsets.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { BatchHeader, batchSizeAt, checkBatch } from '../../lib/records/batch.js';
import { rawRecords } from '../../lib/records/compaction.js';
import { encodeBatch } from '../../lib/records/encode.js';
import { type FlotillaProcess, TestCluster, kcat, kcatPath, until } from './cluster-harness.js';

const PY_CODECS = new URL('../../../spec/e2e/python/kafka_python_codecs.py', import.meta.url).pathname;

/** The segment files of `topic`-0 in a node's data directory. */
function logDir(node: FlotillaProcess, topic: string): string | null {
  const parts = join(node.dir, 'partitions');
  if (!existsSync(parts)) return null;
  const d = readdirSync(parts).find((f) => f.startsWith(`${topic}-0.`));
  return d === undefined ? null : join(parts, d, 'log');
}

function segmentBytes(node: FlotillaProcess, topic: string): number {
  const dir = logDir(node, topic);
  if (dir === null) return 0;
  let n = 0;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.log')) continue;
    try {
      n += statSync(join(dir, f)).size;
    } catch {
      // deleted meanwhile
    }
  }
  return n;
}

interface Surviving {
  /** offset -> key=value (value '<tombstone>' for null). */
  readonly records: Map<number, string>;
  readonly tmpFiles: number;
}

/** Every record in a node's files of `topic`-0 at offsets >= `from` (a consistent read may need a retry). */
function recordsOnDisk(node: FlotillaProcess, topic: string, from: number): Surviving {
  const dir = logDir(node, topic);
  const records = new Map<number, string>();
  if (dir === null) return { records, tmpFiles: 0 };
  const files = readdirSync(dir);
  for (const f of files.filter((x) => /^\d{20}\.log$/.test(x)).sort()) {
    const buf = readFileSync(join(dir, f));
    for (let pos = 0; pos + 12 <= buf.length; pos += batchSizeAt(buf, pos)) {
      if (checkBatch(buf, pos) !== null) break; // a tail being written
      const b = buf.subarray(pos, pos + batchSizeAt(buf, pos));
      const h = new BatchHeader(b);
      if (h.isControl || h.lastOffset < from) continue;
      for (const r of rawRecords(b, 1 << 26)) {
        if (r.offset < from) continue;
        const value = r.tombstone ? '<tombstone>' : valueOf(r.raw);
        records.set(r.offset, `${Buffer.from(r.key ?? []).toString()}=${value}`);
      }
    }
  }
  return { records, tmpFiles: files.filter((x) => x.endsWith('.tmp')).length };
}

/** The value of a raw record (v${round} strings: the last bytes before the header count). */
function valueOf(raw: Uint8Array): string {
  const s = Buffer.from(raw).toString('latin1');
  const m = /v\d+-\d+/.exec(s);
  return m ? m[0] : s;
}

describe('retention and compaction on a 3-node cluster', function () {
  this.timeout(600_000);
  let cluster: TestCluster;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  before(async () => {
    cluster = new TestCluster(3);
    // Short checks; a slow cleaner (1 MiB/s), so that a kill -9 can land in the middle of a pass.
    cluster.start(['--log-check-interval-ms', '250', '--log-cleaner-backoff-ms', '500', '--log-cleaner-io-bytes-per-second', '1048576']);
    await cluster.ready(60_000);
    kafka = cluster.kafka();
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    await producer?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await cluster.destroy();
  });

  it('retention.bytes bounds the segment files under continuous produce; a deleted offset is out of range and consumers reset', async () => {
    const segment = 16_384;
    const retention = 65_536;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: 'ret', numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'segment.bytes', value: String(segment) }, { name: 'retention.bytes', value: String(retention) }] }],
    });
    // Continuous produce at about 100 KB/s (paced) of twelve times retention.bytes, sampling every
    // replica's segment files once the first retention.bytes are in. (A count of bytes, not a
    // duration: on a loaded machine 8 s of produce once fell short of the volume.)
    let maxBytes = 0;
    let produced = 0;
    const value = 'x'.repeat(200);
    for (let i = 0; produced < 12 * retention; i++) {
      await producer.send({ topic: 'ret', acks: -1, messages: Array.from({ length: 20 }, (_, j) => ({ value: `${i}-${j}-${value}` })) });
      produced += 20 * 210;
      if (produced > retention) for (const n of cluster.nodes) maxBytes = Math.max(maxBytes, segmentBytes(n, 'ret'));
      await new Promise((r) => setTimeout(r, 40));
    }
    console.log(`      produced ${produced} bytes of records; the largest replica's segment files peaked at ${maxBytes} bytes (retention.bytes ${retention}, segment.bytes ${segment})`);
    // Bounded: retention.bytes, plus what arrives within a check interval, plus the active segment
    // and the one being sealed.
    expect(maxBytes).to.be.lessThan(retention + 6 * segment);
    await until(() => cluster.nodes.every((n) => segmentBytes(n, 'ret') <= retention + 2 * segment), 30_000, 'every replica trimmed');
    const [offsets] = await admin.fetchTopicOffsets('ret');
    const low = Number(offsets!.low);
    expect(low).to.be.greaterThan(1000);
    // The consumer asks for offset 0: OFFSET_OUT_OF_RANGE, and librdkafka resets to the earliest.
    if (kcatPath() !== null) {
      const out = await kcat(['-C', '-b', cluster.bootstrap.join(','), '-t', 'ret', '-p', '0', '-o', '0', '-c', '1', '-e', '-X', 'auto.offset.reset=earliest', '-f', '%o\n']);
      expect(Number(out.trim().split('\n')[0])).to.be.at.least(low);
    }
    // KafkaJS with a committed offset below the log start: resets to the earliest (fromBeginning).
    await admin.setOffsets({ groupId: 'ret-g', topic: 'ret', partitions: [{ partition: 0, offset: '0' }] });
    const consumer = kafka.consumer({ groupId: 'ret-g' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'ret', fromBeginning: true });
    let first = -1;
    await consumer.run({ eachMessage: async ({ message }) => { if (first < 0) first = Number(message.offset); } });
    await until(() => first >= 0, 60_000, 'the KafkaJS consumer to reset and read');
    await consumer.disconnect();
    expect(first).to.be.at.least(low);
  });

  /**
   * Produces `rounds` updates of `keys` keys (100 per batch), then tombstones for `deleted` keys;
   * returns the latest value of each live key and the bytes the batches took as produced.
   */
  async function produceUpdates(topic: string, keys: number, rounds: number, deleted: number): Promise<{ latest: Map<string, string>; bytes: number }> {
    const latest = new Map<string, string>();
    let bytes = 0;
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < keys; k += 100) {
        const messages = Array.from({ length: 100 }, (_, j) => ({ key: `k${k + j}`, value: `v${round}-${k + j}` }));
        await producer.send({ topic, acks: -1, messages });
        for (const m of messages) latest.set(m.key, m.value);
        bytes += encodeBatch({ records: messages.map((m) => ({ key: Buffer.from(m.key), value: Buffer.from(m.value) })) }).length;
      }
    }
    await producer.send({ topic, acks: -1, messages: Array.from({ length: deleted }, (_, j) => ({ key: `k${j}`, value: null })) });
    for (let j = 0; j < deleted; j++) latest.delete(`k${j}`);
    return { latest, bytes };
  }

  /** What each replica holds against `latest` (printed when convergence times out). */
  function describeReplicas(topic: string, latest: Map<string, string>): string {
    return cluster.nodes.map((n) => {
      try {
        const got = recordsOnDisk(n, topic, 0);
        const byKey = new Map<string, string[]>();
        for (const kv of got.records.values()) {
          const [k, v] = kv.split('=') as [string, string];
          byKey.set(k, [...(byKey.get(k) ?? []), v]);
        }
        const wrong = [...latest].filter(([k, v]) => byKey.get(k)?.length !== 1 || byKey.get(k)?.[0] !== v).slice(0, 3).map(([k]) => `${k}: ${JSON.stringify(byKey.get(k))}`);
        const extra = [...byKey.keys()].filter((k) => !latest.has(k)).slice(0, 3);
        return `node ${n.id}: ${got.records.size} records, ${got.tmpFiles} tmp files, ${segmentBytes(n, topic)} bytes; wrong ${wrong.join('; ')}; extra keys ${extra.join(',')}`;
      } catch (err) {
        return `node ${n.id}: ${(err as Error).message}`;
      }
    }).join('\n');
  }

  async function untilConverged(topic: string, latest: Map<string, string>, ms: number): Promise<void> {
    try {
      await until(() => converged(topic, latest), ms, `every replica of ${topic} cleaned to the latest value of each key, alike`);
    } catch (err) {
      console.log(describeReplicas(topic, latest));
      for (const st of await cluster.statuses()) console.log(JSON.stringify(st?.partitions.find((p) => p.topic === topic) ?? null));
      throw err;
    }
  }

  /** Whether every replica's files hold exactly `latest` (each key once, at one offset, alike). */
  function converged(topic: string, latest: Map<string, string>): boolean {
    let reference: Map<number, string> | null = null;
    for (const n of cluster.nodes) {
      let got: Surviving;
      try {
        got = recordsOnDisk(n, topic, 0);
      } catch {
        return false; // a file swapped under the reader: look again
      }
      if (got.tmpFiles > 0 || got.records.size !== latest.size) return false;
      const byKey = new Map([...got.records.values()].map((kv) => kv.split('=') as [string, string]));
      for (const [k, v] of latest) if (byKey.get(k) !== v) return false;
      if (reference === null) reference = got.records;
      else if ([...reference].some(([o, kv]) => got.records.get(o) !== kv)) return false;
    }
    return true;
  }

  it('a compacted topic of 1,000 keys x 100 updates reads back as the latest value of every key, tombstones gone after delete.retention.ms', async () => {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{
        topic: 'cmp', numPartitions: 1, replicationFactor: 3,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '262144' }, { name: 'delete.retention.ms', value: '2000' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
        ],
      }],
    });
    const { latest, bytes: produced } = await produceUpdates('cmp', 1000, 100, 100);
    await untilConverged('cmp', latest, 120_000);
    const after = Math.max(...cluster.nodes.map((n) => segmentBytes(n, 'cmp')));
    // 100 updates per key: what stays is about a hundredth of the records, plus a ~70-byte
    // placeholder per emptied batch (docs/design.md).
    console.log(`      produced ${produced} bytes of batches; after cleaning ${cluster.nodes.map((n) => segmentBytes(n, 'cmp')).join(', ')} bytes of segments per replica`);
    expect(after).to.be.lessThan(produced / 10);
    const [offsets] = await admin.fetchTopicOffsets('cmp');
    const high = Number(offsets!.high);
    const seen = new Map<string, { value: string | null; count: number }>();
    const consumer = kafka.consumer({ groupId: 'cmp-g', maxBytesPerPartition: 65_536 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'cmp', fromBeginning: true });
    let last = -1;
    await consumer.run({
      eachMessage: async ({ message }) => {
        const key = message.key!.toString();
        const prev = seen.get(key);
        seen.set(key, { value: message.value === null ? null : message.value.toString(), count: (prev?.count ?? 0) + 1 });
        last = Number(message.offset);
      },
    });
    await until(() => last >= 0 && seen.size >= latest.size, 120_000, 'the KafkaJS consumer to read every key');
    await new Promise((r) => setTimeout(r, 1000));
    await consumer.disconnect();
    expect(seen.size).to.equal(900);
    for (const [key, value] of latest) {
      expect(seen.get(key)?.value, key).to.equal(value);
      expect(seen.get(key)?.count, key).to.equal(1);
    }
    for (let j = 0; j < 100; j++) expect(seen.has(`k${j}`)).to.equal(false);
    expect(last).to.be.below(high);
  });

  for (const codec of ['snappy', 'lz4', 'zstd'] as const) {
    it(`a compacted topic written by kcat with -z ${codec} is cleaned, stays ${codec}, and kcat reads the latest value of every key`, async function () {
      if (kcatPath() === null) this.skip();
      const topic = `cmp-${codec}`;
      await admin.createTopics({
        waitForLeaders: true,
        topics: [{
          topic, numPartitions: 1, replicationFactor: 3,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '65536' }, { name: 'min.cleanable.dirty.ratio', value: '0.01' }],
        }],
      });
      // 200 keys x 10 rounds, one kcat (librdkafka) producer per round: each round its own batches.
      // Values of random hex: compressible by half, so that the records, not the per-batch
      // overhead, make the size.
      const latest = new Map<string, string>();
      let produced = 0;
      for (let round = 0; round < 10; round++) {
        const lines = Array.from({ length: 200 }, (_, k) => `k${k}:v${round}-${k}-${randomBytes(30).toString('hex')}`);
        produced += lines.join('\n').length;
        await kcat(['-P', '-b', cluster.bootstrap.join(','), '-t', topic, '-p', '0', '-z', codec, '-K', ':', '-X', 'linger.ms=20'], `${lines.join('\n')}\n`, 90_000);
        for (let k = 0; k < 200; k++) latest.set(`k${k}`, `v${round}-${k}`);
      }
      await untilConverged(topic, latest, 120_000);
      const after = Math.max(...cluster.nodes.map((n) => segmentBytes(n, topic)));
      console.log(`      ${codec}: ${produced} bytes of keys and values produced; ${after} bytes of segments after cleaning`);
      expect(after).to.be.lessThan(produced / 5);
      // The cleaned batches are still in the producer's codec (librdkafka sends a batch that
      // does not shrink uncompressed).
      const dir = logDir(cluster.node(1), topic)!;
      let batches = 0;
      for (const f of readdirSync(dir).filter((x) => x.endsWith('.log'))) {
        const buf = readFileSync(join(dir, f));
        for (let pos = 0; pos + 12 <= buf.length && checkBatch(buf, pos) === null; pos += batchSizeAt(buf, pos)) {
          const h = new BatchHeader(buf.subarray(pos));
          if (h.isControl) continue;
          const want = { snappy: 2, lz4: 3, zstd: 4 }[codec];
          expect(h.compression, `batch at ${h.baseOffset}`).to.be.oneOf([0, want]);
          if (h.compression === want) batches++;
        }
      }
      expect(batches).to.be.greaterThan(0);
      // librdkafka decompresses the rewritten batches: each key once, with its latest value.
      const out = await kcat(['-C', '-b', cluster.bootstrap.join(','), '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-f', '%k=%s\n']);
      const read = out.trim().split('\n').map((l) => l.split('=') as [string, string]);
      expect(read.length).to.equal(200);
      for (const [k, v] of read) expect(v.replace(/-[0-9a-f]+$/, ''), k).to.equal(latest.get(k));
    });
  }

  it('kafka-python 2.0.2 writes snappy (xerial), lz4 and zstd to compacted topics and reads back only the latest value of each key once cleaned', async function () {
    // Debian's python3-kafka with its codec modules (python3-snappy, python3-lz4, python3-zstandard).
    const python = '/usr/bin/python3';
    try {
      execFileSync(python, ['-c', 'import kafka, snappy, lz4.frame, zstandard'], { stdio: 'ignore' });
    } catch {
      console.log('      (kafka-python or its codec modules are not installed: skipped; apt-get install python3-kafka python3-snappy python3-lz4 python3-zstandard)');
      this.skip();
    }
    const out = execFileSync(python, [PY_CODECS, cluster.bootstrap.join(','), '90'], { encoding: 'utf8', timeout: 400_000 });
    const results = out.trim().split('\n').map((l) => JSON.parse(l) as { codec: string; records: number; keys: number; latest: number; wanted: number });
    expect(results.map((r) => r.codec)).to.deep.equal(['snappy', 'lz4', 'zstd']);
    // 2,000 records produced per topic; after cleaning, 200: each key once, with its latest value.
    for (const r of results) expect(r, r.codec).to.include({ records: 200, keys: 200, latest: 200, wanted: 200 });
  });

  it('kill -9 in the middle of a cleaning pass: after the restart every replica holds the same surviving records, none lost', async () => {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{
        topic: 'crash', numPartitions: 1, replicationFactor: 3,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '65536' }, { name: 'delete.retention.ms', value: '2000' },
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
        ],
      }],
    });
    const md = await admin.fetchTopicMetadata({ topics: ['crash'] });
    const leaderId = md.topics[0]!.partitions[0]!.leader;
    const victim = cluster.nodes.find((n) => n.id !== leaderId)!;
    // Watch the victim while producing: kill -9 it the moment its cleaner writes a segment rewrite.
    let killed: Promise<void> | null = null;
    const watcher = setInterval(() => {
      const dir = logDir(victim, 'crash');
      if (killed === null && dir !== null && readdirSync(dir).some((f) => f.endsWith('.clean.tmp'))) killed = victim.stop('SIGKILL');
    }, 2);
    let latest: Map<string, string>;
    try {
      ({ latest } = await produceUpdates('crash', 500, 60, 50));
      await until(() => killed !== null, 120_000, 'a cleaning pass under way on the victim');
    } finally {
      clearInterval(watcher);
    }
    await killed;
    victim.start(cluster.controllers, ['--log-check-interval-ms', '250', '--log-cleaner-backoff-ms', '500', '--log-cleaner-io-bytes-per-second', '1048576']);
    await cluster.ready(60_000);
    await untilConverged('crash', latest, 120_000);
  });
});
