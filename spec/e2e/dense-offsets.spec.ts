/**
 * End-to-end, issue 16: dense Kafka offsets (offset layout 2) on a 4-node cluster of real
 * processes. A topic created now holds at its offsets only what clients wrote: Raft no-ops,
 * config entries, LogStart and Clean entries take none and are never served.
 * - kafka-python 2.0.2 (which hands control records to the application) produces 2,000 integer
 *   values, acks=all, to 4 partitions with replication factor 3, in phases, while the leader of a
 *   partition is killed -9 twice (and restarted) and a partition is reassigned to another replica
 *   set. A consumer group of two kafka-python members, then an assign/seek_to_beginning consumer,
 *   each read exactly the values produced, at exactly offsets 0..n-1 per partition, at the offsets
 *   the producer was acknowledged, every value an int.
 * - KafkaJS and kcat: an empty topic's earliest and latest offsets are 0 and a group committed at
 *   its end has lag 0; the first record is at offset 0; after M records consumed, lag 0 and high
 *   watermark M, also after a leader killed -9 (the new leader's no-op takes no offset).
 */
import { expect } from 'chai';
import type { Admin, Kafka } from 'kafkajs';
import { oneRequest } from '../../lib/cli/one-request.js';
import { listPartitionReassignmentsApi } from '../../lib/kafka/list-partition-reassignments.js';
import { TestCluster, kafkaPython, kcat, kcatPath, runChild, until } from './cluster-harness.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;
const PY_DENSE = new URL('../../../spec/e2e/python/kafka_python_dense.py', import.meta.url).pathname;


type Rec = [partition: number, offset: number, value: number];

/**
 * What is wrong with `records` against `expected` (value -> [partition, offset]), per partition:
 * offsets missing or extra, values at the wrong offset, offsets not 0..n-1. Empty when right.
 */
function offsetProblems(records: readonly Rec[], expected: ReadonlyMap<number, readonly [number, number]>, partitions: number): string[] {
  const problems: string[] = [];
  const byPartition = new Map<number, Map<number, number>>();
  for (const [p, o, v] of records) {
    const m = byPartition.get(p) ?? new Map<number, number>();
    if (m.has(o) && m.get(o) !== v) problems.push(`p${p}: offset ${o} read as ${m.get(o)} and as ${v}`);
    m.set(o, v);
    byPartition.set(p, m);
  }
  const want = new Map<number, Map<number, number>>();
  for (const [v, [p, o]] of expected) want.set(p, (want.get(p) ?? new Map<number, number>()).set(o, v));
  for (let p = 0; p < partitions; p++) {
    const got = byPartition.get(p) ?? new Map<number, number>();
    const w = want.get(p) ?? new Map<number, number>();
    const missing = [...w.keys()].filter((o) => !got.has(o)).sort((a, b) => a - b);
    const extra = [...got.keys()].filter((o) => !w.has(o)).sort((a, b) => a - b);
    const wrong = [...got].filter(([o, v]) => w.has(o) && w.get(o) !== v).map(([o, v]) => `${o}=${v} (produced ${w.get(o)})`);
    const dense = [...w.keys()].sort((a, b) => a - b).every((o, i) => o === i);
    if (missing.length) problems.push(`p${p}: ${missing.length} offsets missing: ${missing.slice(0, 20).join(',')}`);
    if (extra.length) problems.push(`p${p}: ${extra.length} offsets extra: ${extra.slice(0, 20).join(',')}`);
    if (wrong.length) problems.push(`p${p}: wrong values: ${wrong.slice(0, 20).join(', ')}`);
    if (!dense) problems.push(`p${p}: acknowledged offsets are not 0..${w.size - 1}: ${[...w.keys()].sort((a, b) => a - b).slice(0, 20).join(',')}...`);
  }
  return problems;
}

describe('dense Kafka offsets (issue 16) on a 4-node cluster', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let kafka: Kafka;
  let admin: Admin;

  before(async () => {
    cluster = new TestCluster(4);
    cluster.start();
    await cluster.ready(60_000);
    kafka = cluster.kafka('dense-e2e');
    admin = kafka.admin();
    await admin.connect();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    await admin?.disconnect().catch(() => {});
    await cluster?.destroy();
  });

  /** The node leading `topic`-`partition` as the Raft groups see it (from /status), or 0. */
  async function raftLeader(topic: string, partition: number): Promise<number> {
    for (const s of await cluster.statuses()) {
      const p = s?.partitions.find((x) => x.topic === topic && x.partition === partition && x.role === 'leader');
      if (p) return s!.nodeId;
    }
    return 0;
  }

  /** kill -9 the leader of `topic`-`partition`, restart it after a second; resolves once a new leader serves and every node is back. */
  async function killLeader(topic: string, partition: number): Promise<number> {
    let leader = 0;
    await until(async () => (leader = await raftLeader(topic, partition)) > 0, 30_000, `a leader of ${topic}-${partition}`);
    await cluster.node(leader).stop('SIGKILL');
    cluster.restartLater(leader, 1000);
    await until(async () => {
      const l = await raftLeader(topic, partition);
      return l > 0 && l !== leader;
    }, 30_000, `a new leader of ${topic}-${partition} after node ${leader} was killed`);
    return leader;
  }

  async function highWatermarks(topic: string): Promise<Map<number, number>> {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  }

  it('kafka-python 2.0.2: 2,000 integers through two leader kills and a reassignment; a group of two and an assign/seek consumer read exactly them at 0..n-1', async function () {
    const python = kafkaPython();
    if (python === null) {
      if (process.env.CI) throw new Error('python3-kafka is required in CI (.ci/run installs it)');
      console.log('      (kafka-python is not installed: skipped; apt-get install python3-kafka)');
      this.skip();
    }
    const topic = 'dense-py';
    const partitions = 4;
    const phase = 400;
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }] });
    const expected = new Map<number, readonly [number, number]>();
    const failed: unknown[] = [];
    const produce = async (first: number): Promise<void> => {
      const out = JSON.parse(await runChild(python!, [PY_DENSE, 'produce', cluster.bootstrap.join(','), topic, String(first), String(phase), String(partitions)], 120_000)) as { acked: [number, number, number][]; failed: unknown[] };
      for (const [v, p, o] of out.acked) expected.set(v, [p, o]);
      failed.push(...out.failed);
    };
    const events: string[] = [];
    await produce(0);
    events.push(`killed node ${await killLeader(topic, 0)} (leader of ${topic}-0)`);
    await produce(phase); // while the killed node is down or coming back
    await cluster.ready(60_000);
    // Reassign partition 1 to a replica set with the node it lacks, while producing.
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    const replicas = [...md.topics[0]!.partitions.find((p) => p.partitionId === 1)!.replicas];
    const outsider = cluster.nodes.map((n) => n.id).find((id) => !replicas.includes(id))!;
    const target = [outsider, ...replicas.slice(1)];
    await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 1, replicas: target }] }] });
    events.push(`reassigned ${topic}-1 from [${replicas.join(',')}] to [${target.join(',')}]`);
    await produce(2 * phase);
    await until(async () => {
      const r = await oneRequest(cluster.bootstrap.join(','), listPartitionReassignmentsApi, 0, { timeoutMs: 5000, topics: null }, 10_000);
      return r.topics.length === 0;
    }, 120_000, 'ListPartitionReassignments to be empty');
    const moved = await admin.fetchTopicMetadata({ topics: [topic] });
    expect([...moved.topics[0]!.partitions.find((p) => p.partitionId === 1)!.replicas].sort()).to.deep.equal([...target].sort());
    events.push(`killed node ${await killLeader(topic, 1)} (leader of ${topic}-1)`);
    await produce(3 * phase);
    await cluster.ready(60_000);
    await produce(4 * phase);
    console.log(`      ${events.join('; ')}`);
    const total = 5 * phase;
    expect(failed, 'sends that failed').to.deep.equal([]);
    expect(expected.size).to.equal(total);
    // The producer's own offsets: dense from 0 in every partition.
    const acked = offsetProblems([...expected].map(([v, [p, o]]) => [p, o, v]), expected, partitions);
    expect(acked, acked.join('\n')).to.deep.equal([]);
    // The high watermarks: exactly the records acknowledged per partition.
    const perPartition = new Map<number, number>();
    for (const [p] of expected.values()) perPartition.set(p, (perPartition.get(p) ?? 0) + 1);
    expect(Object.fromEntries(await highWatermarks(topic))).to.deep.equal(Object.fromEntries(perPartition));

    type ReadOut = { records: Rec[]; foreign: unknown[]; perMember?: number[]; errors?: string[]; commitFailures?: string[]; endOffsets?: Record<string, number> };
    const check = (who: string, out: ReadOut): void => {
      const problems = offsetProblems(out.records, expected, partitions);
      if (out.foreign.length) problems.unshift(`${out.foreign.length} foreign records (not an int): ${JSON.stringify(out.foreign.slice(0, 10))}`);
      if (out.errors?.length) problems.unshift(`errors: ${out.errors.join('; ')}`);
      expect(problems, `${who}:\n${problems.join('\n')}`).to.deep.equal([]);
    };
    const group = JSON.parse(await runChild(python!, [PY_DENSE, 'group', cluster.bootstrap.join(','), topic, 'dense-py-group', String(total)], 120_000)) as ReadOut;
    check('the group of two', group);
    // Both members read: the group had two members sharing the partitions.
    expect(group.perMember!.every((n) => n > 0), `records per member: ${JSON.stringify(group.perMember)}`).to.equal(true);
    // Read again only when a commit failed in a rebalance (at least once); otherwise exactly once.
    if (!group.commitFailures!.length) expect(group.records.length).to.equal(total);
    console.log(`      group of two: ${group.records.length} records (per member ${JSON.stringify(group.perMember)}, ${group.commitFailures!.length} commits lost to a rebalance)`);
    const assigned = JSON.parse(await runChild(python!, [PY_DENSE, 'assign', cluster.bootstrap.join(','), topic, String(partitions), String(total)], 120_000)) as ReadOut;
    check('assign/seek_to_beginning', assigned);
    expect(assigned.records.length).to.equal(total);
    expect(assigned.endOffsets).to.deep.equal(Object.fromEntries([...perPartition].map(([p, n]) => [String(p), n])));
  });

  it('KafkaJS and kcat: empty topic HW 0 and lag 0; first record at 0; HW = M and lag 0 after consuming, also after a leader kill', async function () {
    const topic = 'dense-js';
    const groupId = 'dense-js-group';
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 3 }] });
    const haveKcat = kcatPath() !== null;
    if (!haveKcat && process.env.CI) throw new Error('kcat is required in CI (.ci/run installs it)');
    const kcatEnd = async (): Promise<number | null> => {
      if (!haveKcat) return null;
      const q = await kcat(['-b', cluster.bootstrap.join(','), '-Q', '-t', `${topic}:0:-1`]);
      const m = /\[0\]\s+offset (-?\d+)/.exec(q);
      if (!m) throw new Error(`kcat -Q: ${q}`);
      return Number(m[1]);
    };
    const describe = async (): Promise<{ offsets: { partition: number; committed: string | null; logEnd: string | null; lag: number | null }[]; totalLag: number }> =>
      JSON.parse(await runChild(process.execPath, [BIN, 'groups', 'describe', groupId, '--json', '--bootstrap', cluster.bootstrap.join(',')], 30_000)) as never;

    // Empty: earliest = latest = 0, from KafkaJS and from kcat.
    const [empty] = await admin.fetchTopicOffsets(topic);
    expect({ low: empty!.low, high: empty!.high }).to.deep.equal({ low: '0', high: '0' });
    if (haveKcat) expect(await kcatEnd()).to.equal(0);
    // A group committed at the end of the empty partition: lag 0.
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '0' }] });
    const d0 = await describe();
    expect(d0.offsets.map((o) => ({ committed: o.committed, logEnd: o.logEnd, lag: o.lag }))).to.deep.equal([{ committed: '0', logEnd: '0', lag: 0 }]);
    const [fetched] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(fetched!.partitions[0]!.offset).to.equal('0');

    // M records: the first at offset 0.
    const M = 50;
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const [first] = await producer.send({ topic, acks: -1, messages: [{ value: '0' }] });
      expect(first!.baseOffset).to.equal('0');
      await producer.send({ topic, acks: -1, messages: Array.from({ length: M - 1 }, (_, i) => ({ value: String(i + 1) })) });
    } finally {
      await producer.disconnect();
    }
    if (haveKcat) {
      const firstLine = await kcat(['-b', cluster.bootstrap.join(','), '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-c', '1', '-q', '-f', '%o %s\\n']);
      expect(firstLine).to.equal('0 0\n');
      expect(await kcatEnd()).to.equal(M);
    }
    // Consume them all in the group (it commits): lag 0, HW M.
    const consumer = kafka.consumer({ groupId });
    const seen: [string, string][] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => { seen.push([message.offset, message.value!.toString()]); } });
      await until(() => seen.length >= M, 60_000, `${M} records consumed`);
      await until(async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions[0]!.offset === String(M), 30_000, `the group to commit ${M}`);
    } finally {
      await consumer.disconnect();
    }
    expect(seen).to.deep.equal(Array.from({ length: M }, (_, i) => [String(i), String(i)]));
    const lagNow = async (label: string): Promise<void> => {
      const [o] = await admin.fetchTopicOffsets(topic);
      const [c] = await admin.fetchOffsets({ groupId, topics: [topic] });
      expect({ high: o!.high, committed: c!.partitions[0]!.offset }, label).to.deep.equal({ high: String(M), committed: String(M) });
      const d = await describe();
      expect(d.offsets.map((x) => ({ committed: x.committed, logEnd: x.logEnd, lag: x.lag })), label).to.deep.equal([{ committed: String(M), logEnd: String(M), lag: 0 }]);
      expect(d.totalLag, label).to.equal(0);
      if (haveKcat) expect(await kcatEnd(), label).to.equal(M);
    };
    await lagNow('after consuming');
    // A leader killed -9: the new leader's Raft no-op takes no offset.
    const termBefore = (await cluster.statuses()).flatMap((s) => s?.partitions ?? []).filter((p) => p.topic === topic).reduce((t, p) => Math.max(t, p.term), 0);
    const killed = await killLeader(topic, 0);
    await until(async () => {
      try {
        const [o] = await admin.fetchTopicOffsets(topic);
        return o !== undefined;
      } catch {
        return false;
      }
    }, 30_000, 'ListOffsets from the new leader');
    const termAfter = (await cluster.statuses()).flatMap((s) => s?.partitions ?? []).filter((p) => p.topic === topic && p.role === 'leader').reduce((t, p) => Math.max(t, p.term), 0);
    expect(termAfter, 'a new term (its no-op) on the new leader').to.be.greaterThan(termBefore);
    await lagNow(`after node ${killed} (the leader) was killed`);
    await cluster.ready(60_000);
  });
});
