/**
 * End-to-end, issue 4: a cluster of real `flotilla start` processes (3 controllers + 1 observer),
 * driven through the Kafka protocol by KafkaJS (admin, producer) and kcat (consumer). One
 * cluster for the whole sequence, since each step builds on the state the previous one left.
 */
import { expect } from 'chai';
import kafkajs, { type Admin, type Producer } from 'kafkajs';
import { TestCluster, kcat, kcatPath, sendByPartition, until } from './cluster-harness.js';

const { ConfigResourceTypes } = kafkajs;

const TOPICS = Array.from({ length: 10 }, (_, i) => `orders-${i}`);
const PARTITIONS = 6;

describe('a cluster of real flotilla processes', function () {
  this.timeout(240_000);
  let cluster: TestCluster;
  let admin: Admin;
  let producer: Producer;
  /** What was acknowledged: topic/partition -> values in offset order. */
  const acked = new Map<string, string[]>();

  const connect = async (): Promise<void> => {
    const kafka = cluster.kafka();
    admin = kafka.admin();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await admin.connect();
    await producer.connect();
  };
  const disconnect = async (): Promise<void> => {
    await admin?.disconnect().catch(() => {});
    await producer?.disconnect().catch(() => {});
  };

  /** Leader of every partition of `topics`, from the cluster's metadata (-1: none). */
  const leaders = async (topics: readonly string[]): Promise<Map<string, number>> => {
    // KafkaJS throws LEADER_NOT_AVAILABLE while any partition is leaderless: that reads as "none yet".
    const md = await admin.fetchTopicMetadata({ topics: [...topics] }).catch(() => ({ topics: [] }));
    const out = new Map<string, number>();
    for (const t of md.topics) for (const p of t.partitions) out.set(`${t.name}/${p.partitionId}`, p.leader);
    return out;
  };

  const produce = async (round: string): Promise<void> => {
    for (const topic of TOPICS) {
      const messages = Array.from({ length: PARTITIONS * 2 }, (_, i) => ({ partition: i % PARTITIONS, value: `${round}-${topic}-${i}` }));
      await sendByPartition(producer, topic, messages);
      for (const m of messages) {
        const k = `${topic}/${m.partition}`;
        acked.set(k, [...(acked.get(k) ?? []), m.value]);
      }
    }
  };

  before(async () => {
    cluster = new TestCluster(4);
    cluster.start();
    await cluster.ready(60_000);
    await connect();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    await disconnect();
    await cluster.destroy();
  });

  it('creates 10 topics x 6 partitions x 3 replicas with replicas and leaders spread over the nodes', async () => {
    await admin.createTopics({ topics: TOPICS.map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 3 })), waitForLeaders: true });
    let byNode = new Map<number, number>();
    await until(async () => {
      const l = await leaders(TOPICS);
      byNode = new Map();
      for (const id of l.values()) byNode.set(id, (byNode.get(id) ?? 0) + 1);
      return l.size === TOPICS.length * PARTITIONS && !byNode.has(-1);
    }, 30_000, 'a leader for every partition');
    // 60 partitions over 4 nodes: 15 each when perfectly spread; elections may move a few.
    expect([...byNode.keys()].sort()).to.deep.equal([1, 2, 3, 4]);
    for (const [node, n] of byNode) expect(n, `partitions led by node ${node}`).to.be.within(8, 22);
    const md = await admin.fetchTopicMetadata({ topics: TOPICS });
    const replicasByNode = new Map<number, number>();
    for (const t of md.topics) for (const p of t.partitions) for (const r of p.replicas) replicasByNode.set(r, (replicasByNode.get(r) ?? 0) + 1);
    for (const n of replicasByNode.values()) expect(n).to.equal(45);
    await produce('first');
  });

  it('keeps the metadata writable when the metadata leader is killed (kill -9)', async () => {
    const leader = await cluster.metadataLeader();
    await disconnect();
    await cluster.node(leader).stop('SIGKILL');
    await connect();
    await admin.createTopics({ topics: [{ topic: 'after-metadata-failover', numPartitions: 2, replicationFactor: 3 }], waitForLeaders: true });
    expect(await admin.listTopics()).to.include('after-metadata-failover');
    const newLeader = await cluster.metadataLeader();
    expect(newLeader).to.not.equal(leader);
    cluster.node(leader).start(cluster.controllers);
    await cluster.ready(60_000);
  });

  it('moves the leadership of every partition a killed node led within a few seconds', async () => {
    const before = await leaders(TOPICS);
    const counts = new Map<number, number>();
    for (const l of before.values()) counts.set(l, (counts.get(l) ?? 0) + 1);
    const victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const led = [...before].filter(([, l]) => l === victim).map(([k]) => k);
    expect(led.length).to.be.above(0);
    await disconnect();
    await cluster.node(victim).stop('SIGKILL');
    const t0 = Date.now();
    await connect();
    await until(async () => {
      const now = await leaders(TOPICS);
      return led.every((k) => (now.get(k) ?? -1) >= 0 && now.get(k) !== victim);
    }, 20_000, `new leaders for the ${led.length} partitions node ${victim} led`);
    const seconds = (Date.now() - t0) / 1000;
    console.log(`      ${led.length} partitions had new leaders ${seconds.toFixed(1)} s after kill -9 of node ${victim}`);
    await produce('second');
    // The survivors count the partitions they lead with the dead node's replica out of sync, and
    // none once it is back.
    const underReplicated = async (): Promise<number> => {
      let sum = 0;
      for (const n of cluster.nodes.filter((x) => x.id !== victim)) {
        const text = await (await fetch(`http://127.0.0.1:${n.metricsPort}/metrics`)).text();
        sum += Number(/^flotilla_under_replicated_partitions\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? 'NaN');
      }
      return sum;
    };
    await until(async () => (await underReplicated()) > 0, 20_000, 'under-replicated partitions on the survivors');
    cluster.node(victim).start(cluster.controllers);
    await cluster.ready(60_000);
    await until(async () => (await underReplicated()) === 0, 30_000, 'no under-replicated partition once the node is back');
  });

  it('brings back the same metadata and data after a restart of every node', async () => {
    const topicsBefore = (await admin.listTopics()).sort();
    const mdBefore = await admin.fetchTopicMetadata({ topics: TOPICS });
    await disconnect();
    await cluster.stop('SIGTERM');
    cluster.start();
    await cluster.ready(60_000);
    await connect();
    expect((await admin.listTopics()).sort()).to.deep.equal(topicsBefore);
    const mdAfter = await admin.fetchTopicMetadata({ topics: TOPICS });
    const replicas = (md: typeof mdBefore): string[] => md.topics.flatMap((t) => t.partitions.map((p) => `${t.name}/${p.partitionId}:${p.replicas.join(',')}`)).sort();
    expect(replicas(mdAfter)).to.deep.equal(replicas(mdBefore));
    await until(async () => [...(await leaders(TOPICS)).values()].every((l) => l >= 0), 30_000, 'leaders after the restart');
    await expectAllData();
  });

  it('decommissions a node: its replicas move to the others and nothing is lost', async () => {
    const victim = 4;
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.BROKER, name: String(victim), configEntries: [{ name: 'flotilla.decommissioned', value: 'true' }] }],
    });
    await until(async () => {
      const md = await admin.fetchTopicMetadata({ topics: TOPICS }).catch(() => null);
      return md !== null && md.topics.every((t) => t.partitions.every((p) => !p.replicas.includes(victim) && p.leader !== victim && p.leader >= 0));
    }, 90_000, `every replica moved off node ${victim}`);
    // The node's Raft groups drop it too: its partition directories go.
    await until(async () => ((await cluster.node(victim).status())?.partitions.length ?? -1) === 0, 60_000, `node ${victim} hosting no replica`);
    await cluster.node(victim).stop('SIGKILL');
    await expectAllData();
  });

  /** Every acknowledged record is read back (kcat, from offset 0), in order, and nothing else. */
  async function expectAllData(): Promise<void> {
    if (!kcatPath()) {
      if (process.env.CI) throw new Error('kcat is required in CI');
      console.log('      (kcat not installed: data check skipped)');
      return;
    }
    const brokers = cluster.bootstrap.join(',');
    for (const topic of TOPICS) {
      // One kcat per topic, every partition: lines "partition value", in offset order per partition.
      const out = await kcat(['-b', brokers, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p %s\\n']);
      const read = new Map<string, string[]>();
      for (const line of out.split('\n')) {
        if (!line) continue;
        const [p, v] = line.split(' ') as [string, string];
        read.set(`${topic}/${p}`, [...(read.get(`${topic}/${p}`) ?? []), v]);
      }
      for (let p = 0; p < PARTITIONS; p++) expect(read.get(`${topic}/${p}`) ?? [], `${topic}/${p}`).to.deep.equal(acked.get(`${topic}/${p}`) ?? []);
    }
  }
});
