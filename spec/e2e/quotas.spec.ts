/**
 * End-to-end, issue 19 (quota enforcement): a 3-node cluster of real `flotilla start` processes,
 * quotas set with `flotilla quotas set` run as a process, real clients held to them.
 *
 * Rates are measured after an 11 s warm-up: Kafka's rate is over 11 windows of 1 s with a divisor
 * of at least 10 windows, so a client starting flat out gets 10 windows' allowance at once (the
 * burst) and is throttled down to its quota only once the windows roll; held at the quota, a
 * producer runs ~1.10x the bound (it may spend the window it is in before being throttled for it),
 * a consumer whose per-partition fetch bytes are at most one window's worth ~1.0-1.09x. The bounds
 * below, 0.9x-1.15x over an 11 s measurement (one cycle of the 11 windows, so that one burst falls
 * in it, not zero or two), allow for that (HELD).
 *
 * - producer_byte_rate 1 MiB/s, one client id per client so that they run at once (a named
 *   client-id quota is shared by all its connections): KafkaJS `slow` (which honours
 *   throttle_time_ms), kcat `slow-kcat` (librdkafka 2.0.2, honours it too) and kafka-python 2.0.2
 *   `slow-py` (ignores it: only the broker's muting holds it), each to its own topic; KafkaJS
 *   `fast`, unquoted, at 8 MiB/s on the same node as `slow` at the same time keeps its rate alone.
 * - consumer_byte_rate 512 KiB/s: kcat `reader` with fetch sizes of 128 kB is held to it.
 * - request_percentage 0.1 on `busy`: a tight Metadata loop gets throttle_time_ms and runs far fewer
 *   requests than the same loop of `calm`, which is never throttled.
 * - controller_mutation_rate 2 on `mut`: CreateTopics v7 gets THROTTLING_QUOTA_EXCEEDED (89) for the
 *   topics beyond the token bucket (a burst of 11 windows x 2 partitions, then 2 a second).
 * - Throughout: the metadata group keeps its leader and term on every node, and the partitions of
 *   q, q-kcat and q-py change leader only by the controller's leadership transfers (leader
 *   balancing, after the mutation test's topics), never by a campaign after a missed election
 *   timeout or a leader losing its quorum (the nodes' logs): a throttled client never costs a node
 *   its heartbeats. Before it, the spec waits until each node leads one of the three, so that no
 *   transfer moves a client to a node with a fresh budget while its rate is measured.
 */
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import type { Kafka } from 'kafkajs';
import { KafkaConnection } from '../../lib/cli/kafka-connection.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { createTopicsApi } from '../../lib/kafka/create-topics.js';
import { metadataApi } from '../../lib/kafka/metadata.js';
import { type NodeStatus, TestCluster, kafkaPython, kcatPath, runChild, until } from './cluster-harness.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;
const PY_QUOTA = new URL('../../../spec/e2e/python/kafka_python_quota.py', import.meta.url).pathname;

const MiB = 1 << 20;
const PRODUCE_QUOTA = MiB;
const CONSUME_QUOTA = 512 * 1024;
const RUN_MS = 22_000;
const WARMUP_MS = 11_000;
/**
 * The issue's ±10 %, with 5 % more above for the arithmetic: held at its quota a producer runs
 * ~1.10x (Kafka's Rate pads its divisor by a window). Measured 1.02-1.07x for KafkaJS and, since a
 * throttled connection's requests are taken one at a time as Kafka's SocketServer takes them
 * (lib/server/listener.ts quotaSerial), 1.04-1.06x for kafka-python, which pipelines (before
 * that: 1.04-1.22x, each pipelined request counted before the throttle). kcat sends batches of
 * 256 kB like KafkaJS (`batch.size`): with librdkafka's default of 1 MB one request is a whole
 * window of a 1 MiB/s quota, and the one request a throttle lets through is ~9 % more (1.05-1.16x).
 */
const HELD = { low: 0.9, high: 1.15 } as const;
/**
 * The unquoted producer runs at 8 MiB/s, not flat out: flat out (17-30 MB/s of acks=all RF 3 with
 * all the cluster on a shared 2-core machine) it saturates the node it writes to, and once in four
 * runs that node, leading the (quiesced) metadata group, was silent long enough for a follower's
 * host to wake the group and elect another leader (the harness runs 50 ms ticks: a 500 ms election
 * timeout). That is an unthrottled client's load; this spec checks that throttled ones cost no
 * election.
 */
const FAST_PACE = 8 * MiB;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface QuotaStatusEntry {
  entity: { type: string; name: string | null }[];
  limits: Record<string, number>;
  rates: Record<string, number>;
  throttleTimeMs: number;
  throttledRequests: number;
}

/** Leader and term of the metadata group and of every partition, per node: what must not change. */
function leadership(st: (NodeStatus | null)[]): string[] {
  return st.flatMap((s, i) => (s === null ? [`node ${i + 1} down`] : [
    `node ${s.nodeId} metadata leader ${s.metadata.leader} term ${s.metadata.term}`,
    ...s.partitions.map((p) => `node ${s.nodeId} ${p.topic}-${p.partition} leader ${p.leader} term ${p.term}`),
  ])).sort();
}

describe('client quotas enforced on a 3-node cluster (KafkaJS, kcat, kafka-python)', function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let kafka: Kafka;
  let node1 = '';
  let snapshotAt = 0;
  let leadersBefore: string[] = [];

  const flotillaQuotas = (args: readonly string[]): Promise<string> => runChild(process.execPath, [BIN, 'quotas', ...args, '--bootstrap', cluster.bootstrap.join(',')], 30_000);

  /**
   * The quota entries of every node's /status by client id, throttled requests summed (quotas are
   * per node: a client is throttled where the partition it writes to or reads from is led).
   */
  const quotaStatus = async (): Promise<Map<string, QuotaStatusEntry>> => {
    const out = new Map<string, QuotaStatusEntry>();
    for (const n of cluster.nodes) {
      const body = (await (await fetch(`http://127.0.0.1:${n.metricsPort}/status`)).json()) as { quotas?: QuotaStatusEntry[] };
      for (const q of body.quotas ?? []) {
        const key = q.entity.map((p) => p.name ?? '<default>').join(',');
        const seen = out.get(key);
        out.set(key, seen ? { ...seen, throttledRequests: seen.throttledRequests + q.throttledRequests } : q);
      }
    }
    return out;
  };

  /** End offset of partition 0 of `topic` (every record of these topics has the same size). */
  const endOffset = async (topic: string): Promise<number> => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return Number((await admin.fetchTopicOffsets(topic))[0]!.high);
    } finally {
      await admin.disconnect();
    }
  };

  before(async () => {
    cluster = new TestCluster(3);
    cluster.start(['--no-fsync']);
    await cluster.ready();
    node1 = `127.0.0.1:${cluster.node(1).clientPort}`;
    kafka = cluster.kafka('e2e-admin');
    const admin = kafka.admin();
    await admin.connect();
    // One partition each, RF 3: placement spreads their leaders (the controller's leader balancing
    // would move them, by leadership transfer, were they all on one node).
    await admin.createTopics({ waitForLeaders: true, topics: ['q', 'q-kcat', 'q-py'].map((topic) => ({ topic, numPartitions: 1, replicationFactor: 3 })) });
    await admin.disconnect();
    await until(async () => {
      const parts = (await cluster.statuses()).flatMap((s) => s?.partitions ?? []).filter((p) => p.role === 'leader');
      return ['q', 'q-kcat', 'q-py'].every((t) => parts.some((p) => p.topic === t));
    }, 15_000, 'leaders of every topic');

    await flotillaQuotas(['set', '--client-id', 'slow', '--set', `producer_byte_rate=${PRODUCE_QUOTA}`]);
    await flotillaQuotas(['set', '--client-id', 'slow-kcat', '--set', `producer_byte_rate=${PRODUCE_QUOTA}`]);
    await flotillaQuotas(['set', '--client-id', 'slow-py', '--set', `producer_byte_rate=${PRODUCE_QUOTA}`]);
    await flotillaQuotas(['set', '--client-id', 'reader', '--set', `consumer_byte_rate=${CONSUME_QUOTA}`]);
    await flotillaQuotas(['set', '--client-id', 'busy', '--set', 'request_percentage=0.1']);
    await flotillaQuotas(['set', '--client-id', 'mut', '--set', 'controller_mutation_rate=2']);
    // Every node applies them (a node's /status lists each entity once its image holds it).
    await until(async () => {
      for (const n of cluster.nodes) {
        const body = (await (await fetch(`http://127.0.0.1:${n.metricsPort}/status`)).json()) as { quotas?: unknown[] };
        if ((body.quotas ?? []).length !== 6) return false;
      }
      return true;
    }, 15_000, 'the six quotas in every node\'s /status');
    // The controller's leader balancing (every 10 s) moves a leadership by transfer while one node
    // leads two of the three: wait until each node leads one, so that no client's partition moves
    // (to a node with a fresh quota budget) while its rate is measured.
    await until(async () => {
      const leaders = (await cluster.statuses()).flatMap((s) => s?.partitions ?? []).filter((p) => p.role === 'leader' && p.topic.startsWith('q')).map((p) => p.leader);
      return leaders.length === 3 && new Set(leaders).size === 3;
    }, 30_000, 'q, q-kcat and q-py led by three different nodes');
    snapshotAt = Date.now();
    leadersBefore = leadership(await cluster.statuses());
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || process.env.E2E_VERBOSE) console.log(cluster.output());
    await cluster.destroy();
  });

  it('producer_byte_rate holds KafkaJS, kcat and kafka-python to 1 MiB/s while an unquoted producer on the same node is not', async function () {
    const kcat = kcatPath();
    const python = kafkaPython();
    if (kcat === null || python === null) this.skip();
    const value = Buffer.alloc(16_000, 0x71);
    const batch = Array.from({ length: 16 }, () => ({ value })); // 256 kB a send
    /**
     * A KafkaJS producer sending for `ms`, flat out or at most `pace` bytes/s: the times and sizes
     * of its acked sends.
     */
    const produceFor = async (clientId: string, ms: number, pace = Infinity): Promise<{ at: number; bytes: number }[]> => {
      const producer = cluster.kafka(clientId).producer();
      await producer.connect();
      const acked: { at: number; bytes: number }[] = [];
      const begin = Date.now();
      const end = begin + ms;
      let sent = 0;
      try {
        while (Date.now() < end) {
          await sleep(begin + (sent / pace) * 1000 - Date.now());
          await producer.send({ topic: 'q', acks: -1, messages: batch });
          sent += value.length * batch.length;
          acked.push({ at: Date.now(), bytes: value.length * batch.length });
        }
      } finally {
        await producer.disconnect();
      }
      return acked;
    };
    const rateOf = (acked: { at: number; bytes: number }[], from: number, to: number): number =>
      acked.filter((a) => a.at > from && a.at <= to).reduce((s, a) => s + a.bytes, 0) / ((to - from) / 1000);

    // `fast` alone first, at FAST_PACE: what this machine gives it now.
    const aloneStart = Date.now();
    const alone = rateOf(await produceFor('fast', 5_000, FAST_PACE), aloneStart + 1_000, aloneStart + 5_000);

    // kcat: 4000-byte lines to its stdin as fast as it takes them; kafka-python alike; KafkaJS
    // slow and fast; all for RUN_MS from the same start.
    const line = Buffer.from(`${'k'.repeat(3999)}\n`);
    const chunk = Buffer.concat(Array.from({ length: 64 }, () => line));
    const kcatChild: ChildProcess = spawn(kcat, ['-P', '-b', cluster.bootstrap.join(','), '-t', 'q-kcat', '-p', '0',
      '-X', 'client.id=slow-kcat', '-X', 'acks=1', '-X', 'linger.ms=5', '-X', 'batch.size=262144', '-X', 'queue.buffering.max.kbytes=8192'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let kcatErr = '';
    kcatChild.stderr!.on('data', (d: Buffer) => (kcatErr = (kcatErr + d.toString()).slice(-4000)));
    kcatChild.stdin!.on('error', () => undefined); // EPIPE once it is killed
    const feed = (): void => {
      while (kcatChild.stdin!.writable && kcatChild.stdin!.write(chunk));
    };
    kcatChild.stdin!.on('drain', feed);

    const start = Date.now();
    feed();
    const pyRun = runChild(python, [PY_QUOTA, cluster.bootstrap.join(','), 'q-py', 'slow-py', String(RUN_MS / 1000), '4000'], RUN_MS + 60_000);
    const offsetsAt = async (ms: number): Promise<{ kcat: number; py: number }> => {
      await sleep(start + ms - Date.now());
      const [k, p] = await Promise.all([endOffset('q-kcat'), endOffset('q-py')]);
      return { kcat: k, py: p };
    };
    const [slowAcked, fastAcked, atWarm, atEnd] = await Promise.all([
      produceFor('slow', RUN_MS), produceFor('fast', RUN_MS, FAST_PACE), offsetsAt(WARMUP_MS), offsetsAt(RUN_MS),
    ]);
    kcatChild.kill('SIGKILL');
    const py = JSON.parse(await pyRun) as { acked: number; failed: number };
    expect(atEnd.kcat, `kcat produced nothing: ${kcatErr}`).to.be.greaterThan(0);

    const measured = (RUN_MS - WARMUP_MS) / 1000;
    const rates = {
      slow: rateOf(slowAcked, start + WARMUP_MS, start + RUN_MS),
      fast: rateOf(fastAcked, start + WARMUP_MS, start + RUN_MS),
      fastAlone: alone,
      kcat: (atEnd.kcat - atWarm.kcat) * 4000 / measured,
      py: (atEnd.py - atWarm.py) * 4000 / measured,
    };
    const status = await quotaStatus();
    console.log(`      rates (MiB/s): ${Object.entries(rates).map(([k, v]) => `${k} ${(v / MiB).toFixed(2)}`).join(', ')}; kafka-python acked ${py.acked}, failed ${py.failed}; `
      + `throttled requests: ${['slow', 'slow-kcat', 'slow-py'].map((c) => `${c} ${status.get(c)?.throttledRequests}`).join(', ')}`);
    for (const [name, rate, high] of [['KafkaJS slow', rates.slow, HELD.high], ['kcat slow-kcat', rates.kcat, HELD.high], ['kafka-python slow-py', rates.py, HELD.high]] as const) {
      expect(rate / PRODUCE_QUOTA, `${name}: ${(rate / MiB).toFixed(2)} MiB/s`).to.be.within(HELD.low, high);
    }
    for (const c of ['slow', 'slow-kcat', 'slow-py']) expect(status.get(c)!.throttledRequests, c).to.be.greaterThan(0);
    // `fast` keeps its rate alone within noise (0.75x: a loaded 2-core machine delays a few of its
    // 256 kB sends) beside three held producers, and at least three times the quota.
    expect(rates.fast, `fast ${(rates.fast / MiB).toFixed(2)} MiB/s with the others, ${(alone / MiB).toFixed(2)} alone`).to.be.at.least(0.75 * alone);
    expect(rates.fast).to.be.at.least(3 * PRODUCE_QUOTA);
    expect(status.has('fast')).to.equal(false);
  });

  it('consumer_byte_rate holds a kcat consumer with 128 kB fetches to 512 KiB/s', async function () {
    const kcat = kcatPath();
    if (kcat === null) this.skip();
    // q holds tens of MB from the test before (at least 20 MB after `fast` alone and together).
    expect(await endOffset('q')).to.be.greaterThan(40 * 16);
    const child = spawn(kcat, ['-C', '-b', cluster.bootstrap.join(','), '-t', 'q', '-p', '0', '-o', 'beginning', '-u', '-f', '%S\n',
      '-X', 'client.id=reader', '-X', 'fetch.message.max.bytes=131072', '-X', 'fetch.max.bytes=131072', '-X', 'message.max.bytes=131072', '-X', 'queued.max.messages.kbytes=1024'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const received: { at: number; bytes: number }[] = [];
    let rest = '';
    child.stdout!.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      const at = Date.now();
      received.push({ at, bytes: lines.reduce((s, l) => s + Number(l), 0) });
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const start = Date.now();
    await sleep(RUN_MS);
    child.kill('SIGKILL');
    expect(received.length, `kcat read nothing: ${stderr}`).to.be.greaterThan(0);
    const rate = received.filter((r) => r.at > start + WARMUP_MS).reduce((s, r) => s + r.bytes, 0) / ((RUN_MS - WARMUP_MS) / 1000);
    const status = (await quotaStatus()).get('reader')!;
    console.log(`      reader: ${(rate / 1024).toFixed(0)} KiB/s (quota 512), throttled requests ${status.throttledRequests}`);
    expect(rate / CONSUME_QUOTA).to.be.within(HELD.low, HELD.high);
    expect(status.throttledRequests).to.be.greaterThan(0);
  });

  it('request_percentage 0.1 throttles a tight Metadata loop of `busy`, not the same loop of `calm`', async () => {
    const [host, port] = node1.split(':') as [string, string];
    const loop = async (clientId: string): Promise<{ requests: number; throttled: number }> => {
      const conn = await KafkaConnection.connect(host, Number(port), 10_000);
      let requests = 0;
      let throttled = 0;
      const end = Date.now() + 4_000;
      try {
        while (Date.now() < end) {
          const frame = await conn.request(encodeRequestFrame(metadataApi, 9, ++requests, clientId, {
            topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
          }));
          if (parseResponse(metadataApi, 9, frame).body.throttleTimeMs > 0) throttled++;
        }
      } finally {
        conn.close();
      }
      return { requests, throttled };
    };
    const [busy, calm] = await Promise.all([loop('busy'), loop('calm')]);
    console.log(`      busy: ${busy.requests} Metadata requests in 4 s, ${busy.throttled} throttled; calm: ${calm.requests}, ${calm.throttled} throttled`);
    expect(busy.throttled).to.be.greaterThan(0);
    expect(calm.throttled).to.equal(0);
    expect(busy.requests).to.be.below(calm.requests / 2);
  });

  it('controller_mutation_rate 2 answers CreateTopics v7 with THROTTLING_QUOTA_EXCEEDED for the topics beyond the rate', async () => {
    const [host, port] = node1.split(':') as [string, string];
    const conn = await KafkaConnection.connect(host, Number(port), 30_000);
    const codes: number[] = [];
    let corr = 0;
    const start = Date.now();
    try {
      // 30 one-partition topics at once (the bucket holds 11 windows x 2 = 22), then two a request for 3 s.
      const create = async (names: string[]): Promise<void> => {
        const frame = await conn.request(encodeRequestFrame(createTopicsApi, 7, ++corr, 'mut', {
          topics: names.map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 10_000, validateOnly: false,
        }));
        codes.push(...parseResponse(createTopicsApi, 7, frame).body.topics.map((t) => t.errorCode));
      };
      await create(Array.from({ length: 30 }, (_, i) => `m-${i}`));
      expect(codes.slice(0, 22), 'the burst').to.deep.equal(Array(22).fill(0));
      expect(codes.slice(24), 'beyond the burst').to.deep.equal(Array(6).fill(89));
      for (let i = 0; Date.now() - start < 3_000; i++) await create([`n-${i}-a`, `n-${i}-b`]);
    } finally {
      conn.close();
    }
    const seconds = (Date.now() - start) / 1000;
    const accepted = codes.filter((c) => c === 0).length;
    console.log(`      mut: ${accepted} topics created, ${codes.filter((c) => c === 89).length} refused with 89 in ${seconds.toFixed(1)} s`);
    expect(codes.every((c) => c === 0 || c === 89)).to.equal(true);
    // The burst (22, and one more taking the bucket below zero) and 2 a second after it.
    expect(accepted).to.be.within(22, 23 + Math.ceil(2 * seconds) + 2);
  });

  it('no Raft election timeout was missed on any node meanwhile (metadata group and every partition)', async () => {
    const after = leadership(await cluster.statuses());
    // The metadata group: same leader, same term on every node.
    expect(after.filter((l) => / metadata /.test(l))).to.deep.equal(leadersBefore.filter((l) => / metadata /.test(l)));
    // The partitions: a new term only by a leadership transfer of the controller's leader
    // balancing (the topics the tests created change the leader counts), never by a campaign after
    // a missed election timeout or a leader losing its quorum.
    const since = new Date(snapshotAt).toISOString();
    const lines = cluster.nodes.flatMap((n) => n.output.split('\n')).filter((l) => /"partition":"(q|q-kcat|q-py)-0"|__cluster_metadata/.test(l))
      .map((l) => { try { return JSON.parse(l) as { time: string; msg: string }; } catch { return null; } })
      .filter((l): l is { time: string; msg: string } => l !== null && l.time > since);
    const elected = lines.filter((l) => / became leader at term /.test(l.msg)).length;
    const transfers = lines.filter((l) => / campaigns at once for a leadership transfer /.test(l.msg)).length;
    expect(lines.filter((l) => /lost contact with a quorum/.test(l.msg))).to.deep.equal([]);
    expect(elected, lines.map((l) => `${l.time} ${l.msg}`).join('\n')).to.equal(transfers);
    if (elected === 0) expect(after.filter((l) => / (metadata|q-0|q-kcat-0|q-py-0) /.test(l))).to.deep.equal(leadersBefore);
  });
});
