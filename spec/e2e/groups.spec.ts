/**
 * End-to-end, issue 6: consumer groups on a 3-node cluster of real processes. KafkaJS group
 * members over a 6-partition topic, kcat's balanced consumer, and kill -9 of the coordinator.
 */
import { expect } from 'chai';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { TestCluster, kcat, kcatPath, sendByPartition, until } from './cluster-harness.js';

interface Seen {
  member: number;
  partition: number;
  offset: number;
  value: string;
}

describe('consumer groups on a 3-node cluster', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let kafka: Kafka;

  before(async () => {
    cluster = new TestCluster(3);
    cluster.start();
    await cluster.ready(60_000);
    kafka = cluster.kafka();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    await cluster.destroy();
  });

  async function produce(topic: string, count: number, tag: string): Promise<string[]> {
    const producer = kafka.producer();
    await producer.connect();
    const values: string[] = [];
    try {
      for (let i = 0; i < count; i += 500) {
        const batch = Array.from({ length: Math.min(500, count - i) }, (_, j) => `${tag}-${i + j}`);
        values.push(...batch);
        await sendByPartition(producer, topic, batch.map((value, j) => ({ value, partition: (i + j) % 6 })));
      }
    } finally {
      await producer.disconnect();
    }
    return values;
  }

  /**
   * Prints what a group that never saw every record is stuck on: per partition, the records
   * missing, the last offset seen by whom, whether the log holds them (a lost write) or who read
   * around them (a consumer skip), and the leaders' high watermarks.
   */
  async function explainMissing(expected: readonly string[], seen: readonly Seen[], assignments: ReadonlyMap<number, number[]>): Promise<void> {
    const values = new Set(seen.map((x) => x.value));
    const missing = expected.filter((v) => !values.has(v));
    const byPartition = new Map<number, number>();
    for (const v of missing) {
      const i = Number(v.slice(2));
      byPartition.set(i % 6, (byPartition.get(i % 6) ?? 0) + 1);
    }
    const last = new Map<number, Seen>();
    for (const x of seen) if ((last.get(x.partition)?.offset ?? -1) < x.offset) last.set(x.partition, x);
    console.log(`      missing ${missing.length}: ${JSON.stringify([...byPartition])}; assignments ${JSON.stringify([...assignments])}; last seen ${JSON.stringify([...last.values()])}`);
    console.log(`      missing values: ${missing.slice(0, 5).join(' ')} ... ${missing.slice(-5).join(' ')}`);
    // Are they in the log (a lost write), and who read what around them (a consumer skip)?
    if (kcatPath() !== null) {
      for (const p of byPartition.keys()) {
        const out = await kcat(['-b', cluster.bootstrap.join(','), '-C', '-t', 'g-orders', '-p', String(p), '-o', 'beginning', '-e', '-q', '-f', '%o %s\\n'], undefined, 60_000);
        const inLog = out.split('\n').filter((l) => missing.includes(l.split(' ')[1] ?? '')).map((l) => Number(l.split(' ')[0]));
        console.log(`      partition ${p}: ${inLog.length} of the missing are in the log, offsets ${Math.min(...inLog)}..${Math.max(...inLog)}`);
        if (inLog.length > 0) {
          const lo = Math.min(...inLog) - 3;
          const hi = Math.max(...inLog) + 3;
          const near = seen.filter((x) => x.partition === p && x.offset >= lo && x.offset <= hi).sort((a, b) => a.offset - b.offset);
          console.log(`      read near them: ${near.map((x) => `${x.offset}@m${x.member}`).join(' ')}`);
        }
      }
    }
    for (const st of await cluster.statuses()) console.log(JSON.stringify(st?.partitions.filter((x) => x.topic === 'g-orders' || x.topic === '__consumer_offsets')));
  }

  /** A KafkaJS group member that records what it sees and commits after each batch. */
  async function member(id: number, topic: string, group: string, seen: Seen[], assignments: Map<number, number[]>): Promise<Consumer> {
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 500, rebalanceTimeout: 10_000, maxWaitTimeInMs: 200, retry: { retries: 30 } });
    consumer.on(consumer.events.GROUP_JOIN, (e: { payload: { memberAssignment: Record<string, number[]> } }) => {
      assignments.set(id, e.payload.memberAssignment[topic] ?? []);
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }: EachBatchPayload) => {
        for (const m of batch.messages) {
          seen.push({ member: id, partition: batch.partition, offset: Number(m.offset), value: m.value!.toString() });
          resolveOffset(m.offset);
        }
        await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }]);
        await commitOffsetsIfNecessary();
        await heartbeat();
      },
    });
    return consumer;
  }

  it('KafkaJS: 3 members share 6 partitions; one leaves and the others take over; 20,000 records, none lost', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'g-orders', numPartitions: 6, replicationFactor: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const seen: Seen[] = [];
    const assignments = new Map<number, number[]>();
    const consumers = [await member(1, 'g-orders', 'g1', seen, assignments), await member(2, 'g-orders', 'g1', seen, assignments), await member(3, 'g-orders', 'g1', seen, assignments)];
    await until(() => assignments.size === 3 && [...assignments.values()].flat().length === 6, 60_000, 'three members assigned');
    // Every partition to exactly one member.
    expect([...assignments.values()].flat().sort()).to.deep.equal([0, 1, 2, 3, 4, 5]);
    const first = await produce('g-orders', 10_000, 'a');
    await until(() => new Set(seen.map((s) => s.value)).size >= 10_000, 60_000, 'the first 10,000 records');
    // A member leaves: the group rebalances and the other two take its partitions.
    await consumers[2]!.disconnect();
    assignments.delete(3);
    await until(() => [...assignments.values()].flat().length === 6 && assignments.size === 2, 60_000, 'two members with all six partitions');
    const second = await produce('g-orders', 10_000, 'b');
    try {
      await until(() => new Set(seen.map((s) => s.value)).size >= 20_000, 60_000, 'all 20,000 records');
    } catch (err) {
      await explainMissing([...first, ...second], seen, assignments);
      throw err;
    }
    await Promise.all(consumers.slice(0, 2).map((c) => c.disconnect()));
    const values = new Set(seen.map((s) => s.value));
    for (const v of [...first, ...second]) expect(values.has(v), v).to.equal(true);
    // Duplicates only where a partition changed hands.
    const dupes = seen.length - values.size;
    console.log(`      20,000 records consumed by the group, ${dupes} seen twice (across the rebalance)`);
    expect(dupes).to.be.below(2_000);
  });

  it('kcat balanced consumer (-G): commits, and a second run starts after them', async function () {
    if (!kcatPath()) {
      if (process.env.CI) throw new Error('kcat is required in CI');
      this.skip();
    }
    const brokers = cluster.bootstrap.join(',');
    await kcat(['-b', brokers, '-P', '-t', 'g-kcat', '-p', '0'], Array.from({ length: 30 }, (_, i) => `k-${i}`).join('\n') + '\n');
    const one = await kcat(['-b', brokers, '-G', 'gk', 'g-kcat', '-e', '-q', '-f', '%s\\n', '-X', 'auto.offset.reset=earliest'], undefined, 60_000);
    expect(one.split('\n').filter(Boolean)).to.have.length(30);
    await kcat(['-b', brokers, '-P', '-t', 'g-kcat', '-p', '0'], 'k-30\n');
    const two = await kcat(['-b', brokers, '-G', 'gk', 'g-kcat', '-e', '-q', '-f', '%s\\n', '-X', 'auto.offset.reset=earliest'], undefined, 60_000);
    expect(two.split('\n').filter(Boolean)).to.deep.equal(['k-30']);
  });

  it('kill -9 of the coordinator: the group finds the new one, committed offsets intact, consumption goes on', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'g-failover', numPartitions: 6, replicationFactor: 3 }], waitForLeaders: true });
    const first = await produce('g-failover', 3_000, 'x');
    const seen: Seen[] = [];
    const assignments = new Map<number, number[]>();
    let consumer = await member(1, 'g-failover', 'g2', seen, assignments);
    await until(() => new Set(seen.map((s) => s.value)).size >= 3_000, 60_000, 'the first 3,000 records');
    // The coordinator of g2: ask any node (FindCoordinator through KafkaJS's admin describeGroups path).
    const committedBefore = await admin.fetchOffsets({ groupId: 'g2', topics: ['g-failover'] });
    const statuses = await cluster.statuses();
    const coordinator = statuses.find((s) => s?.partitions.some((p) => p.topic === '__consumer_offsets' && (p as unknown as { coordinator: boolean }).coordinator && p.role === 'leader'
      && isCoordinatorOf('g2', p.partition)))?.nodeId;
    expect(coordinator, 'the coordinator node').to.be.a('number');
    await admin.disconnect();
    await consumer.disconnect();
    await cluster.node(coordinator!).stop('SIGKILL');
    const second = await produce('g-failover', 3_000, 'y');
    consumer = await member(1, 'g-failover', 'g2', seen, assignments);
    await until(() => new Set(seen.map((s) => s.value)).size >= 6_000, 90_000, 'the next 3,000 records after the coordinator died');
    await consumer.disconnect();
    // Offsets committed before the kill were kept: nothing before them was read again.
    const committed = new Map(committedBefore[0]!.partitions.map((p) => [p.partition, Number(p.offset)]));
    const reread = seen.slice(3_000).filter((s) => s.offset < (committed.get(s.partition) ?? 0));
    expect(reread, 'records read again below the committed offsets').to.have.length(0);
    const values = new Set(seen.map((s) => s.value));
    for (const v of [...first, ...second]) expect(values.has(v), v).to.equal(true);
    cluster.node(coordinator!).start(cluster.controllers);
    await cluster.ready(60_000);
  });
});

/** Kafka's rule: the offsets partition of a group (50 partitions by default). */
function isCoordinatorOf(group: string, partition: number): boolean {
  let h = 0;
  for (let i = 0; i < group.length; i++) h = (Math.imul(h, 31) + group.charCodeAt(i)) | 0;
  return (h & 0x7fffffff) % 50 === partition;
}
