/**
 * End-to-end, issue 17: partition administration on a 4-node cluster of real processes.
 * - A partition reassigned (KafkaJS's AlterPartitionReassignments) from one node to the three
 *   others under continuous acks=all produce: ListPartitionReassignments shows it moving until the
 *   Raft membership is the new set, DescribeLogDirs finds it on the new nodes only, and a consumer
 *   from the beginning reads every acknowledged record, in order.
 * - ElectLeaders (our codecs: KafkaJS has no such call) moves leadership to the preferred replica
 *   (replicas[0]) with a Raft leadership transfer; asked again, ELECTION_NOT_NEEDED; the new leader
 *   answers OffsetForLeaderEpoch for the old epoch with the offset where it ended, and fences the
 *   old epoch given as the current one.
 * - Cancelling a move (replicas null) mid-way leaves the partition on its voters of the moment,
 *   every record still there.
 * - The CLI: `partitions reassign` (dry run, then the move with progress until done),
 *   `partitions elect-leaders`, `log-dirs`.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { oneRequest } from '../../lib/cli/one-request.js';
import { alterPartitionReassignmentsApi } from '../../lib/kafka/alter-partition-reassignments.js';
import { describeLogDirsApi } from '../../lib/kafka/describe-log-dirs.js';
import { describeTopicPartitionsApi } from '../../lib/kafka/describe-topic-partitions.js';
import { offsetForLeaderEpochApi } from '../../lib/kafka/offset-for-leader-epoch.js';
import { electLeadersApi } from '../../lib/kafka/elect-leaders.js';
import { listPartitionReassignmentsApi } from '../../lib/kafka/list-partition-reassignments.js';
import { TestCluster, until } from './cluster-harness.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;

describe('partition administration on a 4-node cluster', function () {
  this.timeout(600_000);
  let cluster: TestCluster;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  before(async () => {
    cluster = new TestCluster(4);
    cluster.start();
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

  const flotilla = (args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

  /** Leader and leader epoch of `topic`-0, through DescribeTopicPartitions (our codec). */
  async function describePartition(topic: string): Promise<{ leaderId: number; leaderEpoch: number }> {
    const r = await oneRequest(cluster.bootstrap.join(','), describeTopicPartitionsApi, 0, { topics: [{ name: topic }], responsePartitionLimit: 10, cursor: null }, 10_000);
    const p = r.topics[0]!.partitions[0]!;
    return { leaderId: p.leaderId, leaderEpoch: p.leaderEpoch };
  }

  /** The leader of `topic`-0 as the metadata says. */
  async function leaderOf(topic: string): Promise<number> {
    const md = await admin.fetchTopicMetadata({ topics: [topic] });
    return md.topics[0]!.partitions.find((p) => p.partitionId === 0)!.leader;
  }

  /** The voters of `topic`-0 as its Raft leader sees them (from /status), or null. */
  async function votersOf(topic: string): Promise<number[] | null> {
    for (const s of await cluster.statuses()) {
      const p = s?.partitions.find((x) => x.topic === topic && x.partition === 0 && x.role === 'leader');
      if (p) return [...p.voters].sort();
    }
    return null;
  }

  it('a partition reassigned to three other nodes under produce load loses nothing', async () => {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'moving', replicaAssignment: [{ partition: 0, replicas: [1] }] }] });
    const acked: string[] = [];
    let stop = false;
    let failure: unknown = null;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const values = Array.from({ length: 10 }, (_, j) => `m-${i}-${j}`);
        try {
          await producer.send({ topic: 'moving', acks: -1, messages: values.map((value) => ({ value })) });
          acked.push(...values);
        } catch (err) {
          // A send that failed is not acknowledged: it need not be there (it may be, once).
          failure = err;
        }
      }
    })();
    await until(() => acked.length >= 500, 30_000, 'records before the move');
    await admin.alterPartitionReassignments({ topics: [{ topic: 'moving', partitionAssignment: [{ partition: 0, replicas: [2, 3, 4] }] }] });
    // Progress through our own codec each 200 ms (KafkaJS's admin refreshes the metadata before
    // every call, which took seconds here under the produce load).
    let sawMoving = false;
    await until(async () => {
      const r = await oneRequest(cluster.bootstrap.join(','), listPartitionReassignmentsApi, 0, { timeoutMs: 5000, topics: null }, 10_000);
      const moving = r.topics.find((t) => t.name === 'moving')?.partitions[0];
      if (moving) {
        sawMoving = true;
        expect(moving.replicas.slice(0, 3)).to.deep.equal([2, 3, 4]);
        expect(moving.removingReplicas).to.deep.equal([1]);
      }
      return moving === undefined && JSON.stringify(await votersOf('moving')) === '[2,3,4]';
    }, 120_000, 'the move to [2,3,4] to finish');
    expect(sawMoving).to.equal(true);
    // KafkaJS's ListPartitionReassignments agrees: nothing moves.
    expect((await admin.listPartitionReassignments({})).topics).to.deep.equal([]);
    const during = acked.length;
    await until(() => acked.length >= during + 300, 30_000, 'records after the move');
    stop = true;
    await load;
    console.log(`      ${acked.length} records acknowledged across the move (last send failure: ${failure === null ? 'none' : String(failure)})`);
    // DescribeLogDirs, asked of every node: the replica lives on 2, 3 and 4 only (node 1 deleted its copy).
    await until(async () => {
      const where: number[] = [];
      for (const n of cluster.nodes) {
        const r = await oneRequest(`127.0.0.1:${n.clientPort}`, describeLogDirsApi, 4, { topics: [{ topic: 'moving', partitions: [0] }] }, 5000);
        const p = r.results[0]?.topics.find((t) => t.name === 'moving')?.partitions[0];
        if (p !== undefined) {
          expect(p.partitionSize).to.be.greaterThan(0);
          expect(r.results[0]!.totalBytes).to.be.greaterThan(0);
          where.push(n.id);
        }
      }
      return JSON.stringify(where) === '[2,3,4]';
    }, 30_000, 'the replica on nodes 2, 3 and 4 only');
    // Every acknowledged record, in order (a retried send may add a duplicate; none may be missing).
    const consumer = kafka.consumer({ groupId: 'moving-check' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'moving', fromBeginning: true });
    const seen: string[] = [];
    const seenSet = new Set<string>();
    await consumer.run({ eachMessage: async ({ message }) => {
      const v = message.value!.toString();
      if (!seenSet.has(v)) seen.push(v);
      seenSet.add(v);
    } });
    await until(() => acked.every((v) => seenSet.has(v)), 60_000, 'every acknowledged record to be read');
    await consumer.disconnect();
    const order = seen.filter((v) => acked.includes(v));
    expect(order).to.deep.equal(acked);
  });

  it('ElectLeaders moves leadership to the preferred replica', async () => {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'elect', replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }] }] });
    let leader = 0;
    await until(async () => (leader = await leaderOf('elect')) > 0, 30_000, 'a leader');
    await producer.send({ topic: 'elect', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `before-${i}` })) });
    const before = await describePartition('elect');
    const [beforeOffsets] = await admin.fetchTopicOffsets('elect');
    // Make a replica that does not lead the preferred one (same replica set, another order).
    const preferred = [1, 2, 3].find((id) => id !== leader)!;
    await admin.alterPartitionReassignments({ topics: [{ topic: 'elect', partitionAssignment: [{ partition: 0, replicas: [preferred, ...[1, 2, 3].filter((id) => id !== preferred)] }] }] });
    const bootstrap = cluster.bootstrap.join(',');
    const req = { electionType: 0, topicPartitions: [{ topic: 'elect', partitions: [0] }], timeoutMs: 30_000 };
    const r = await oneRequest(bootstrap, electLeadersApi, 2, req, 40_000);
    expect(r.errorCode).to.equal(0);
    const result = r.replicaElectionResults[0]!.partitionResult[0]!;
    // 84 only if the controller's leader balancing moved it first (it runs every 10 s).
    expect([0, 84], JSON.stringify(result)).to.include(result.errorCode);
    expect(await leaderOf('elect')).to.equal(preferred);
    const again = await oneRequest(bootstrap, electLeadersApi, 2, req, 40_000);
    expect(again.replicaElectionResults[0]!.partitionResult[0]!.errorCode).to.equal(84);
    // OffsetForLeaderEpoch from the new leader: the old term ends where the records before the
    // move ended (the new term's no-op starts there); the old epoch as the client's current one is fenced.
    const after = await describePartition('elect');
    expect(after.leaderId).to.equal(preferred);
    expect(after.leaderEpoch).to.be.greaterThan(before.leaderEpoch);
    const node = cluster.node(preferred);
    const ask = (leaderEpoch: number, currentLeaderEpoch: number) => oneRequest(`127.0.0.1:${node.clientPort}`, offsetForLeaderEpochApi, 4, {
      replicaId: -1, topics: [{ topic: 'elect', partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }],
    }, 10_000).then((r) => r.topics[0]!.partitions[0]!);
    expect(await ask(before.leaderEpoch, after.leaderEpoch)).to.deep.equal({ errorCode: 0, partition: 0, leaderEpoch: before.leaderEpoch, endOffset: Number(beforeOffsets!.high) });
    expect((await ask(before.leaderEpoch, before.leaderEpoch)).errorCode).to.equal(74);
    await producer.send({ topic: 'elect', acks: -1, messages: [{ value: 'after' }] });
    const [offsets] = await admin.fetchTopicOffsets('elect');
    expect((await ask(after.leaderEpoch, after.leaderEpoch)).endOffset).to.be.at.least(Number(offsets!.high));
  });

  it('cancelling a move mid-way (replicas null) stops at the current voters and loses nothing', async () => {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'cancel', replicaAssignment: [{ partition: 0, replicas: [1] }] }] });
    // Enough bytes that the new replicas take a while to catch up as learners.
    const value = 'v'.repeat(1000);
    for (let i = 0; i < 40; i++) await producer.send({ topic: 'cancel', acks: -1, messages: Array.from({ length: 500 }, (_, j) => ({ value: `${i}-${j}-${value}` })) });
    const [before] = await admin.fetchTopicOffsets('cancel');
    await admin.alterPartitionReassignments({ topics: [{ topic: 'cancel', partitionAssignment: [{ partition: 0, replicas: [2, 3, 4] }] }] });
    const bootstrap = cluster.bootstrap.join(',');
    const cancel = await oneRequest(bootstrap, alterPartitionReassignmentsApi, 0, { timeoutMs: 10_000, allowReplicationFactorChange: true, topics: [{ name: 'cancel', partitions: [{ partitionIndex: 0, replicas: null }] }] }, 20_000);
    const code = cancel.responses[0]!.partitions[0]!.errorCode;
    console.log(`      cancel answered ${code} (${cancel.responses[0]!.partitions[0]!.errorMessage ?? 'no message'})`);
    // 0: cancelled mid-move; 85 (NO_REASSIGNMENT_IN_PROGRESS): the move had already finished.
    expect([0, 85]).to.include(code);
    await until(async () => {
      const r = await oneRequest(bootstrap, listPartitionReassignmentsApi, 0, { timeoutMs: 5000, topics: null }, 10_000);
      return !r.topics.some((t) => t.name === 'cancel');
    }, 120_000, 'nothing moving');
    const md = await admin.fetchTopicMetadata({ topics: ['cancel'] });
    const replicas = [...md.topics[0]!.partitions[0]!.replicas].sort();
    const voters = await votersOf('cancel');
    expect(voters).to.deep.equal(replicas);
    if (code === 0) expect(replicas).to.not.deep.equal([2, 3, 4]);
    else expect(replicas).to.deep.equal([2, 3, 4]);
    console.log(`      the partition stayed on [${replicas.join(',')}]`);
    const [after] = await admin.fetchTopicOffsets('cancel');
    expect(after!.high).to.equal(before!.high);
    // Every record is still there: read it all from the start.
    const consumer = kafka.consumer({ groupId: 'cancel-check' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'cancel', fromBeginning: true });
    let n = 0;
    await consumer.run({ eachMessage: async () => { n++; } });
    await until(() => n >= 20_000, 60_000, 'every record read');
    await consumer.disconnect();
    expect(n).to.equal(20_000);
  });

  it('the CLI: partitions reassign with progress until done, elect-leaders, log-dirs', async () => {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: 'cli', replicaAssignment: [0, 1].map((partition) => ({ partition, replicas: [1, 2] })) }] });
    await producer.send({ topic: 'cli', acks: -1, messages: Array.from({ length: 50 }, (_, i) => ({ partition: i % 2, value: `c-${i}` })) });
    const bootstrap = cluster.bootstrap.join(',');
    const dry = await flotilla(['partitions', 'reassign', '--topics', 'cli', '--brokers', '3,4', '--dry-run', '--bootstrap', bootstrap]);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.include('{"version":1,"partitions":[{"topic":"cli","partition":0,"replicas":[1,2]},{"topic":"cli","partition":1,"replicas":[1,2]}]}');
    expect(dry.stdout).to.include('{"version":1,"partitions":[{"topic":"cli","partition":0,"replicas":[3,4]},{"topic":"cli","partition":1,"replicas":[4,3]}]}');
    const run = await flotilla(['partitions', 'reassign', '--topics', 'cli', '--brokers', '3,4', '--bootstrap', bootstrap]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/Done: 2 partition\(s\) on their new replicas/);
    // At least one progress line came before (the move takes seconds: learners, promotions, a leadership transfer, removals).
    expect(run.stdout).to.match(/\[\d+ s\] [12] of 2 moving: cli-\d \[/);
    console.log(run.stdout.split('\n').map((l) => `      | ${l}`).join('\n'));
    const md = await admin.fetchTopicMetadata({ topics: ['cli'] });
    expect(md.topics[0]!.partitions.map((p) => [...p.replicas])).to.deep.equal([[3, 4], [4, 3]]);
    const elect = await flotilla(['partitions', 'elect-leaders', '--topic', 'cli', '--json', '--bootstrap', bootstrap]);
    expect(elect.code, elect.stderr).to.equal(0);
    const results = (JSON.parse(elect.stdout) as { results: { partition: number; errorCode: number }[] }).results;
    expect(results.map((r) => r.partition)).to.deep.equal([0, 1]);
    await until(async () => {
      const m = await admin.fetchTopicMetadata({ topics: ['cli'] });
      return m.topics[0]!.partitions.every((p) => p.leader === p.replicas[0]);
    }, 30_000, 'the preferred replicas to lead');
    const dirs = await flotilla(['log-dirs', '--topic', 'cli', '--json', '--bootstrap', bootstrap]);
    expect(dirs.code, dirs.stderr).to.equal(0);
    const nodes = (JSON.parse(dirs.stdout) as { nodes: { nodeId: number; dirs: { partitions: { partition: number; bytes: number }[] }[] }[] }).nodes;
    const holders = nodes.filter((n) => n.dirs.some((d) => d.partitions.length > 0)).map((n) => n.nodeId);
    await until(async () => {
      const again = JSON.parse((await flotilla(['log-dirs', '--topic', 'cli', '--json', '--bootstrap', bootstrap])).stdout) as { nodes: { nodeId: number; dirs: { partitions: unknown[] }[] }[] };
      return JSON.stringify(again.nodes.filter((n) => n.dirs.some((d) => d.partitions.length > 0)).map((n) => n.nodeId)) === '[3,4]';
    }, 30_000, `the replicas on nodes 3 and 4 only (first seen on ${JSON.stringify(holders)})`);
  });
});
