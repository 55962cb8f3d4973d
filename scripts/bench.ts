/**
 * `npm run bench -- [--json] [--scenario NAME[,NAME...]] [--peers] [--fsync on|off] [--seconds S]
 *                   [--latency-seconds S] [--profile DIR] [--base-port P] [--peers-dir DIR]`
 *
 * A local 3-node cluster of real `flotilla start` processes on 127.0.0.1 (real TCP, segment files
 * and LevelDB under a temporary directory), topics of 6 partitions with replication factor 3, and
 * real Kafka clients as the load generators:
 * - kcat (librdkafka) producing records written to its stdin, `-X acks=all,linger.ms=5,
 *   batch.num.messages=10000`: produce throughput of 100 B and 1 KiB records, with fsync off and on.
 *   The rate is measured on the servers' side: the sum of the partitions' end offsets (ListOffsets,
 *   i.e. committed records) over a window that starts after a warm-up.
 * - produce-1k-sasl-ssl (its own cluster, after the fsync-off one): the same kcat producer of 1 KiB
 *   records to a cluster secured as `flotilla local --secure` secures one (SASL_SSL with
 *   SCRAM-SHA-512 and TLS, `kcat -F client.properties`; peer mTLS; the authorizer on, the client a
 *   super user): the cost of security beside the plaintext produce-1k row of the same run.
 * - kcat `-C -o beginning -e` reading a produced topic back: consume throughput.
 * - KafkaJS 2.2.4: produce throughput (batches of 500, 4 in flight; the JavaScript client's view),
 *   per-record produce latency at a fixed rate (open loop, one record per send, timed from the
 *   send call to the ack, as the peers' latency rows are), and end-to-end latency (KafkaJS
 *   produces a record carrying its send time, kcat -C -o end prints it back).
 * - fairness-quota: a KafkaJS producer's rate and per-send p99 latency alone, beside a flat-out
 *   producer on the same partition leader, and beside that producer under a producer_byte_rate
 *   quota (issue 19; `flotilla quotas set`, measured after the quota's 11 s warm-up).
 * - scale-3000 (its own cluster): 3,000 partitions x RF 3 on the 3 nodes (10 topics of 300): time
 *   to create them (until every node agrees on every leader), idle CPU and RSS per node once the
 *   groups have quiesced, and the time to fail over every partition a killed (kill -9) node led.
 * It prints its parameters, the machine and each figure (`--json`: one object per scenario); with
 * `--peers` it runs NATS JetStream and etcd from ../shared/bench (or uses the figures recorded in
 * its RESULTS.md when they cannot run here, and says so) and prints a ratio beside each figure.
 * It asserts nothing. docs/benchmarks.md has the method and the figures of this machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { SECURE_LOCAL_USER } from '../lib/cli/secure-local.js';
import { BenchCluster, type BenchNode, sleep, stopChild, until } from './bench-cluster.js';
import { type PeerFigure, peersUnavailable, recordedPeerFigures, runPeers } from './bench-peers.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    scenario: { type: 'string' },
    peers: { type: 'boolean', default: false },
    fsync: { type: 'string' },
    seconds: { type: 'string', default: '8' },
    'latency-seconds': { type: 'string', default: '10' },
    'warmup-seconds': { type: 'string', default: '2' },
    profile: { type: 'string' },
    'base-port': { type: 'string', default: '19400' },
    'peers-dir': { type: 'string', default: fileURLToPath(new URL('../../../shared/bench', import.meta.url)) },
    'peer-runs': { type: 'string', default: '1' },
    list: { type: 'boolean', default: false },
    'scale-partitions': { type: 'string', default: '3000' },
  },
});

const partitions = 6;
const replicationFactor = 3;
const windowSeconds = Number(values.seconds);
const latencySeconds = Number(values['latency-seconds']);
const warmupSeconds = Number(values['warmup-seconds']);
const basePort = Number(values['base-port']);
const kcatProduceConf = ['acks=all', 'linger.ms=5', 'batch.num.messages=10000'];

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Figures

interface Result {
  scenario: string;
  description: string;
  fsync: boolean;
  client: string;
  recordBytes: number;
  records: number;
  seconds: number;
  recordsPerSecond?: number;
  megabytesPerSecond?: number;
  targetRate?: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  maxMs?: number;
  errors: number;
  /** CPU of the 3 nodes over the measured window, % of one core (200 = the whole 2-core machine). */
  serversCpuPercent: number;
  /** Busy % of all cores (from /proc/stat) over the window: servers + client + anything else. */
  machineBusyPercent: number;
  /** Servers' CPU per record, microseconds (summed over the 3 nodes). */
  serversCpuMicrosPerRecord?: number;
  clientCpuPercent?: number;
  /** Latency scenarios: each node's longest event-loop stall over the window (ms), and its GC time (ms). */
  serversLoopMaxMs?: number[];
  serversGcMs?: number[];
  command: string;
  note?: string;
  error?: string;
  /** scale-3000 only. */
  scale?: ScaleFigures;
  peer?: PeerFigure & { ratio?: number; ratioOf?: string };
}

function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

function latencyFigures(lats: number[]): Pick<Result, 'p50Ms' | 'p99Ms' | 'p999Ms' | 'maxMs'> {
  const s = Float64Array.from(lats).sort();
  // Infinity (never acknowledged) stays Infinity; JSON prints it as null.
  const q = (x: number): number => (Number.isFinite(x) ? round(x, 3) : x);
  return { p50Ms: q(quantile(s, 0.5)), p99Ms: q(quantile(s, 0.99)), p999Ms: q(quantile(s, 0.999)), maxMs: q(s[s.length - 1] ?? NaN) };
}

/** Whole-machine CPU counters from /proc/stat: [busy, total] in ticks. */
function machineTicks(): [number, number] {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return [total - idle, total];
}

/**
 * Each node's longest event-loop stall and its GC time since the previous call, from the nodes'
 * Prometheus endpoint (prom-client resets the event-loop delay histogram at every scrape; GC time is
 * a cumulative sum, so the difference is taken here). Only the bench scrapes these nodes.
 */
class PauseMeter {
  private readonly cluster: BenchCluster;
  private gc0: number[] = [];

  constructor(cluster: BenchCluster) {
    this.cluster = cluster;
  }

  private async scrape(): Promise<{ loopMaxMs: number; gcMs: number }[]> {
    return Promise.all(this.cluster.nodes.map(async (n) => {
      const text = await n.metrics();
      if (text === null) return { loopMaxMs: NaN, gcMs: NaN };
      const loop = /^flotilla_nodejs_eventloop_lag_max_seconds\{[^}]*\} (\S+)$/m.exec(text);
      let gc = 0;
      for (const m of text.matchAll(/^flotilla_nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm)) gc += Number(m[1]);
      return { loopMaxMs: loop ? Number(loop[1]) * 1000 : NaN, gcMs: gc * 1000 };
    }));
  }

  async begin(): Promise<void> {
    this.gc0 = (await this.scrape()).map((x) => x.gcMs);
  }

  async end(): Promise<{ serversLoopMaxMs: number[]; serversGcMs: number[] }> {
    const now = await this.scrape();
    return {
      serversLoopMaxMs: now.map((x) => round(x.loopMaxMs, 1)),
      serversGcMs: now.map((x, i) => round(x.gcMs - (this.gc0[i] ?? NaN), 1)),
    };
  }
}

/** CPU meter over a window: servers (the nodes' own CPU time) and the whole machine. */
class CpuMeter {
  private readonly cluster: BenchCluster;
  private s0 = 0;
  private m0: [number, number] = [0, 0];
  private t0 = 0n;
  private c0: NodeJS.CpuUsage = process.cpuUsage();

  constructor(cluster: BenchCluster) {
    this.cluster = cluster;
  }

  begin(): void {
    this.s0 = this.cluster.cpuSeconds();
    this.m0 = machineTicks();
    this.t0 = process.hrtime.bigint();
    this.c0 = process.cpuUsage();
  }

  end(): { seconds: number; serversCpuSeconds: number; serversCpuPercent: number; machineBusyPercent: number; selfCpuPercent: number } {
    const seconds = Number(process.hrtime.bigint() - this.t0) / 1e9;
    const serversCpuSeconds = this.cluster.cpuSeconds() - this.s0;
    const m1 = machineTicks();
    const c = process.cpuUsage(this.c0);
    return {
      seconds, serversCpuSeconds,
      serversCpuPercent: Math.round((100 * serversCpuSeconds) / seconds),
      machineBusyPercent: Math.round((100 * (m1[0] - this.m0[0])) / Math.max(1, m1[1] - this.m0[1])),
      selfCpuPercent: Math.round((c.user + c.system) / 1e4 / seconds),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Clients

function kcatVersion(): string {
  const r = spawnSync('kcat', ['-V'], { encoding: 'utf8' });
  const m = /librdkafka ([0-9][^\s)]*)/.exec(r.stdout + r.stderr);
  const k = /kcat - Apache Kafka producer and consumer tool[\s\S]*?Version ([^\s]+)/.exec(r.stdout + r.stderr);
  return r.status === null && r.error ? 'kcat not found' : `kcat ${k?.[1] ?? '?'} (librdkafka ${m?.[1] ?? '?'})`;
}

function kafkaFor(cluster: BenchCluster, clientId: string): Kafka {
  const sec = cluster.secure;
  const security = sec === null ? {} : {
    ssl: { ca: [readFileSync(sec.caFile, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512' as const, username: SECURE_LOCAL_USER, password: readFileSync(sec.passwordFile, 'utf8').trim() },
  };
  return new Kafka({ clientId, brokers: cluster.bootstrap.split(','), ...security, logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
}

/**
 * Committed records of a topic: the sum over its partitions of the high watermark, the highest any
 * node reports at /status (a high watermark never goes back; followers learn it a moment later).
 * Read from /status rather than ListOffsets so that a leader moving does not fail the measurement.
 */
async function endOffsets(cluster: BenchCluster, topic: string): Promise<number> {
  const st = await Promise.all(cluster.nodes.map((n) => n.status()));
  const hw = new Map<number, number>();
  for (const s of st) {
    for (const p of s?.partitions ?? []) {
      if (p.topic === topic) hw.set(p.partition, Math.max(hw.get(p.partition) ?? 0, p.highWatermark));
    }
  }
  return [...hw.values()].reduce((a, b) => a + b, 0);
}

/** A chunk of newline-terminated records of `size` bytes each (the newline is not part of a record). */
function recordChunk(size: number, targetBytes = 1 << 20): Buffer {
  const line = Buffer.alloc(size + 1, 0x78);
  line[size] = 0x0a;
  const n = Math.max(1, Math.floor(targetBytes / line.length));
  return Buffer.concat(Array.from({ length: n }, () => line));
}

interface Ctx {
  cluster: BenchCluster;
  admin: Admin;
  kafka: Kafka;
  fsync: boolean;
  /** Topics already filled by a produce scenario, by record size. */
  filled: Map<number, string>;
}

async function createTopic(ctx: Ctx, topic: string): Promise<void> {
  await ctx.admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }], waitForLeaders: true, timeout: 30_000 });
  await ctx.cluster.topicReady(topic, partitions);
}

/** kcat's broker arguments: on a secure cluster with its client.properties (SASL_SSL, SCRAM-SHA-512, the CA). */
function kcatBrokerArgs(cluster: BenchCluster): string[] {
  return ['-b', cluster.bootstrap, ...(cluster.secure === null ? [] : ['-F', cluster.secure.clientProperties])];
}

/**
 * kcat -P fed with records on its stdin for warm-up + window seconds; the rate is the growth of the
 * topic's committed end offsets over the window (after the warm-up).
 */
async function kcatProduce(ctx: Ctx, topic: string, size: number, window: number, warmup: number): Promise<{ records: number; cpu: ReturnType<CpuMeter['end']>; errors: number; command: string; tailRecords: number }> {
  await createTopic(ctx, topic);
  const args = [...kcatBrokerArgs(ctx.cluster), '-P', '-t', topic, ...kcatProduceConf.flatMap((c) => ['-X', c])];
  const kcat = spawn('kcat', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  let deliveryErrors = 0;
  kcat.stderr.on('data', (d: Buffer) => {
    const s = d.toString();
    deliveryErrors += (s.match(/Delivery failed|ERROR/g) ?? []).length;
    stderr = (stderr + s).slice(-4000);
  });
  const exited = new Promise<number | null>((r) => kcat.on('exit', (code) => r(code)));
  let feeding = true;
  const chunk = recordChunk(size);
  const feed = (async () => {
    kcat.stdin.on('error', () => undefined);
    while (feeding && kcat.exitCode === null) {
      if (!kcat.stdin.write(chunk)) await new Promise<void>((r) => kcat.stdin.once('drain', () => r()));
    }
    kcat.stdin.end();
  })();
  try {
    await sleep(warmup * 1000);
    const meter = new CpuMeter(ctx.cluster);
    const o1 = await endOffsets(ctx.cluster, topic);
    meter.begin();
    await sleep(window * 1000);
    const o2 = await endOffsets(ctx.cluster, topic);
    const cpu = meter.end();
    feeding = false;
    await feed;
    const code = await Promise.race([exited, sleep(30_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') await stopChild(kcat, 1000, 'SIGKILL');
    else if (code !== 0) throw new Error(`kcat exited ${code}: ${stderr}`);
    const total = await endOffsets(ctx.cluster, topic);
    return { records: o2 - o1, cpu, errors: deliveryErrors, command: `kcat ${args.join(' ')} < records`, tailRecords: total };
  } finally {
    feeding = false;
    await stopChild(kcat, 1000, 'SIGKILL');
  }
}

/** kcat -C reads the whole topic; passes repeat until `minSeconds` were spent (hot page cache). */
async function kcatConsume(ctx: Ctx, topic: string, minSeconds: number): Promise<{ records: number; seconds: number; expected: number; passes: number; cpu: ReturnType<CpuMeter['end']>; command: string }> {
  const expected = await endOffsets(ctx.cluster, topic);
  const args = [...kcatBrokerArgs(ctx.cluster), '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '.'];
  let records = 0;
  let seconds = 0;
  let passes = 0;
  const meter = new CpuMeter(ctx.cluster);
  meter.begin();
  while (passes < 10 && (seconds < minSeconds || passes === 0)) {
    passes++;
    const kcat = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let n = 0;
    let first = 0n;
    let last = 0n;
    kcat.stdout.on('data', (d: Buffer) => {
      const t = process.hrtime.bigint();
      if (first === 0n) first = t;
      last = t;
      n += d.length;
    });
    let stderr = '';
    kcat.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const code = await new Promise<number | null>((r) => {
      const timer = setTimeout(() => kcat.kill('SIGKILL'), 120_000);
      kcat.on('close', (c) => {
        clearTimeout(timer);
        r(c);
      });
    });
    if (code !== 0) throw new Error(`kcat -C exited ${code}: ${stderr}`);
    records += n;
    seconds += Number(last - first) / 1e9;
  }
  return { records, seconds, expected: expected * passes, passes, cpu: meter.end(), command: `kcat ${args.join(' ')}` };
}

async function kafkajsProducer(ctx: Ctx): Promise<Producer> {
  const producer = ctx.kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return producer;
}

/** KafkaJS: `inflight` loops each sending batches of `batch` records until the deadline. */
async function kafkajsThroughput(ctx: Ctx, topic: string, size: number, window: number, warmup: number, batch: number, inflight: number): Promise<{ records: number; cpu: ReturnType<CpuMeter['end']>; errors: number }> {
  await createTopic(ctx, topic);
  const producer = await kafkajsProducer(ctx);
  const value = Buffer.alloc(size, 0x78);
  const messages = Array.from({ length: batch }, () => ({ value }));
  const meter = new CpuMeter(ctx.cluster);
  let measuring = false;
  let stop = false;
  let records = 0;
  let errors = 0;
  const loop = async (): Promise<void> => {
    while (!stop) {
      const counted = measuring;
      try {
        await producer.send({ topic, acks: -1, messages });
        if (counted && measuring) records += batch;
      } catch {
        errors++;
      }
    }
  };
  const loops = Array.from({ length: inflight }, () => loop());
  await sleep(warmup * 1000);
  meter.begin();
  measuring = true;
  await sleep(window * 1000);
  measuring = false;
  const cpu = meter.end();
  stop = true;
  await Promise.all(loops);
  await producer.disconnect();
  return { records, cpu, errors };
}

/**
 * Open loop at a fixed rate: a 1 ms timer sends the records that are due (at 1,000/s one record per
 * send, at 10,000/s about ten, as a producer with linger.ms=1 would), whether or not earlier sends
 * were acknowledged; each record's latency runs from the send call to the ack. Records still not
 * acknowledged 10 s after the window count as infinitely late (they are in the percentiles).
 */
async function kafkajsLatency(ctx: Ctx, topic: string, size: number, rate: number, seconds: number): Promise<{ lats: number[]; acked: number; errors: number; unacked: number; cpu: ReturnType<CpuMeter['end']>; stalls: Awaited<ReturnType<PauseMeter['end']>> }> {
  await createTopic(ctx, topic);
  const producer = await kafkajsProducer(ctx);
  const value = Buffer.alloc(size, 0x78);
  // Warm-up (connections, JIT on both sides): sequential sends for warmupSeconds, then let the nodes settle.
  const warmEnd = Date.now() + warmupSeconds * 1000;
  while (Date.now() < warmEnd) await producer.send({ topic, acks: -1, messages: [{ value }] });
  await quiesce(ctx.cluster);
  const total = Math.round(rate * seconds);
  const lats: number[] = new Array<number>(total).fill(Infinity);
  let issued = 0;
  let done = 0;
  let errors = 0;
  const pauses = new PauseMeter(ctx.cluster);
  await pauses.begin();
  const meter = new CpuMeter(ctx.cluster);
  meter.begin();
  const start = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const finish = (n: number): void => {
      done += n;
      if (done === total) {
        clearTimeout(deadline);
        resolve();
      }
    };
    const tick = (): void => {
      const due = Math.min(total, Math.floor((Number(process.hrtime.bigint() - start) / 1e9) * rate) + 1);
      if (issued < due) {
        const first = issued;
        const n = due - issued;
        issued = due;
        const t = process.hrtime.bigint();
        producer.send({ topic, acks: -1, messages: Array.from({ length: n }, () => ({ value })) }).then(
          () => {
            const ms = Number(process.hrtime.bigint() - t) / 1e6;
            for (let i = first; i < first + n; i++) lats[i] = ms;
            finish(n);
          },
          () => {
            errors += n;
            finish(n);
          });
      }
      if (issued < total) setTimeout(tick, 1);
      else deadline = setTimeout(resolve, 10_000);
    };
    tick();
  });
  const cpu = meter.end();
  const stalls = await pauses.end();
  await producer.disconnect();
  const acked = lats.filter((x) => Number.isFinite(x)).length;
  return { lats, acked, errors, unacked: total - done, cpu, stalls };
}

/** Waits (at most 20 s) until the nodes are nearly idle: a previous scenario's backlog is worked off. */
async function quiesce(cluster: BenchCluster): Promise<void> {
  const end = Date.now() + 20_000;
  let last = cluster.cpuSeconds();
  while (Date.now() < end) {
    await sleep(500);
    const now = cluster.cpuSeconds();
    if ((now - last) / 0.5 < 0.25) return;
    last = now;
  }
}

/** KafkaJS produces at a fixed rate records carrying their send time; kcat -C -o end prints them back. */
async function endToEnd(ctx: Ctx, topic: string, size: number, rate: number, seconds: number): Promise<{ lats: number[]; errors: number; lost: number; cpu: ReturnType<CpuMeter['end']>; command: string }> {
  await createTopic(ctx, topic);
  const args = ['-b', ctx.cluster.bootstrap, '-C', '-t', topic, '-o', 'end', '-u', '-q', '-f', '%s\\n'];
  const kcat = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const producer = await kafkajsProducer(ctx);
  const sent = new Map<number, bigint>();
  const lats: number[] = [];
  let measuring = false;
  let seen = 0;
  let buf = '';
  kcat.stdout.on('data', (d: Buffer) => {
    const now = process.hrtime.bigint();
    buf += d.toString('latin1');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const seq = Number(line.slice(0, line.indexOf(':')));
      seen++;
      const t = sent.get(seq);
      if (t !== undefined) {
        sent.delete(seq);
        if (measuring) lats.push(Number(now - t) / 1e6);
      }
    }
  });
  const pad = (seq: number): Buffer => {
    const head = `${seq}:`;
    return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.alloc(Math.max(0, size - head.length), 0x78)]);
  };
  let seq = 0;
  let errors = 0;
  try {
    // Warm-up: until the consumer sees records (it is assigned and at the end), then 300 more.
    const warmEnd = Date.now() + 30_000;
    while (seen < 300 && Date.now() < warmEnd) {
      const s = seq++;
      sent.set(s, process.hrtime.bigint());
      await producer.send({ topic, acks: -1, messages: [{ value: pad(s) }] });
      await sleep(seen === 0 ? 20 : 1);
    }
    if (seen === 0) throw new Error('kcat -C saw none of the warm-up records');
    await sleep(500);
    sent.clear();
    measuring = true;
    const total = Math.round(rate * seconds);
    const meter = new CpuMeter(ctx.cluster);
    meter.begin();
    const start = process.hrtime.bigint();
    let issued = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(total, Math.floor((Number(process.hrtime.bigint() - start) / 1e9) * rate) + 1);
        while (issued < due) {
          issued++;
          const s = seq++;
          sent.set(s, process.hrtime.bigint());
          producer.send({ topic, acks: -1, messages: [{ value: pad(s) }] }).catch(() => errors++);
        }
        if (issued < total) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
    const until = Date.now() + 10_000;
    while (lats.length + errors < total && Date.now() < until) await sleep(20);
    const cpu = meter.end();
    return { lats, errors, lost: total - lats.length - errors, cpu, command: `kcat ${args.join(' ')}` };
  } finally {
    measuring = false;
    await producer.disconnect();
    await stopChild(kcat, 1000, 'SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------
// Scale: thousands of partitions on 3 nodes

interface ScaleFigures {
  partitions: number;
  topics: number;
  createSeconds: number;
  /** Per node, % of one core over the idle window, once every group has quiesced. */
  idleCpuPercent: number[];
  idleSeconds: number;
  rssMegabytes: number[];
  killedNode: number;
  partitionsLedByKilled: number;
  failoverSeconds: number;
}

/** Every node reports every partition of `topics` with one agreed leader that says it leads. */
async function allLed(nodes: BenchNode[], topics: string[], perTopic: number, exclude = 0): Promise<Map<string, number> | null> {
  const st = await Promise.all(nodes.map((n) => n.status()));
  if (st.some((s) => s === null)) return null;
  const views = new Map<string, { leaders: Set<number>; leading: boolean; count: number }>();
  for (const s of st) {
    for (const p of s!.partitions) {
      const k = `${p.topic}/${p.partition}`;
      let v = views.get(k);
      if (!v) {
        v = { leaders: new Set(), leading: false, count: 0 };
        views.set(k, v);
      }
      v.count++;
      v.leaders.add(p.leader);
      if (p.role === 'leader') v.leading = true;
    }
  }
  const out = new Map<string, number>();
  for (const t of topics) {
    for (let i = 0; i < perTopic; i++) {
      const v = views.get(`${t}/${i}`);
      if (!v || v.leaders.size !== 1 || !v.leading) return null;
      const leader = [...v.leaders][0]!;
      if (leader <= 0 || leader === exclude) return null;
      out.set(`${t}/${i}`, leader);
    }
  }
  return out;
}

/** `--profile DIR`: node 1 of each cluster runs with --cpu-prof (the profile is written when it stops). */
const profileNodeArgs = values.profile !== undefined ? (id: number): string[] => (id === 1 ? ['--cpu-prof', '--cpu-prof-dir', values.profile!] : []) : undefined;

async function runScale(total: number): Promise<Result> {
  const topicsCount = Math.max(1, Math.ceil(total / 300));
  const perTopic = Math.ceil(total / topicsCount);
  const cluster = new BenchCluster({ nodes: 3, basePort: basePort + 600, fsync: false, nodeArgs: profileNodeArgs });
  active = cluster;
  const kafka = kafkaFor(cluster, 'flotilla-bench-scale');
  const admin = kafka.admin();
  try {
    await cluster.start();
    await admin.connect();
    const topics = Array.from({ length: topicsCount }, (_, i) => `scale-${i}`);
    const t0 = performance.now();
    // KafkaJS may not know every broker yet right after start ("Broker N not found in the cached
    // metadata"): retry; topics created by an earlier attempt stay (createTopics skips them).
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: perTopic, replicationFactor })), timeout: 120_000 });
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
        log(`scale: createTopics failed (${err instanceof Error ? err.message : String(err)}); retrying`);
        await sleep(1000);
      }
    }
    let leaders: Map<string, number> | null = null;
    await until(async () => (leaders = await allLed(cluster.nodes, topics, perTopic)) !== null, 600_000, `leaders of ${total} partitions`);
    const createSeconds = (performance.now() - t0) / 1000;
    log(`scale: ${topicsCount * perTopic} partitions led after ${createSeconds.toFixed(1)} s; waiting for the groups to go quiet`);
    // Idle: wait for the cluster to settle (groups quiesce after raft.quiesceTicks), then measure.
    await sleep(5000);
    await quiesce(cluster);
    const idleSeconds = 10;
    const c0 = cluster.nodes.map((n) => n.cpuSeconds());
    const w0 = performance.now();
    await sleep(idleSeconds * 1000);
    const w = (performance.now() - w0) / 1000;
    const idleCpuPercent = cluster.nodes.map((n, i) => round((100 * (n.cpuSeconds() - c0[i]!)) / w, 1));
    const rssMegabytes = cluster.nodes.map((n) => Math.round(n.rssMegabytes()));
    log(`scale: idle CPU per node ${idleCpuPercent.join(', ')} % of a core; RSS ${rssMegabytes.join(', ')} MB`);
    // Failover: kill -9 the node leading the most partitions, time until the others lead them all.
    const counts = new Map<number, number>();
    for (const l of leaders!.values()) counts.set(l, (counts.get(l) ?? 0) + 1);
    const victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
    const node = cluster.nodes.find((n) => n.id === victim)!;
    const others = cluster.nodes.filter((n) => n !== node);
    const f0 = performance.now();
    node.child?.kill('SIGKILL');
    await until(async () => (await allLed(others, topics, perTopic, victim)) !== null, 300_000, `failover of node ${victim}'s partitions`);
    const failoverSeconds = (performance.now() - f0) / 1000;
    log(`scale: every partition of node ${victim} (${counts.get(victim)}) led elsewhere after ${failoverSeconds.toFixed(1)} s`);
    const scale: ScaleFigures = {
      partitions: topicsCount * perTopic, topics: topicsCount, createSeconds: round(createSeconds, 1), idleCpuPercent, idleSeconds: round(w, 1), rssMegabytes,
      killedNode: victim, partitionsLedByKilled: counts.get(victim) ?? 0, failoverSeconds: round(failoverSeconds, 2),
    };
    return {
      scenario: 'scale-3000', description: `${scale.partitions} partitions x RF ${replicationFactor} on 3 nodes (${topicsCount} topics): create, idle, fail over a killed node`,
      fsync: false, client: 'kafkajs admin', recordBytes: 0, records: 0, seconds: round(w, 1), errors: 0,
      serversCpuPercent: round(idleCpuPercent.reduce((a, b) => a + b, 0), 1), machineBusyPercent: 0,
      command: `KafkaJS admin.createTopics(${topicsCount} x ${perTopic} partitions, RF ${replicationFactor}); ${idleSeconds} s idle; kill -9 node ${victim}`,
      note: 'create: until every node agrees on every leader (/status); failover: until the two others lead every partition (/status)',
      scale,
    };
  } finally {
    await admin.disconnect().catch(() => undefined);
    await cluster.stop(3000);
    active = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Scenario {
  name: string;
  fsync: boolean;
  /** Runs on a cluster of its own secured as `flotilla local --secure` (bench-cluster.ts `secure`). */
  secure?: boolean;
  run(ctx: Ctx): Promise<Result>;
}

const mb = (records: number, size: number, seconds: number): number => round((records * size) / 1e6 / seconds, 1);

function produceScenario(name: string, size: number, fsync: boolean, secure = false): Scenario {
  return {
    name, fsync, secure,
    async run(ctx) {
      const topic = `bench-${name}`;
      const r = await kcatProduce(ctx, topic, size, windowSeconds, warmupSeconds);
      ctx.filled.set(size, topic);
      const rps = r.records / r.cpu.seconds;
      const over = secure ? ' over SASL_SSL (TLS, SCRAM-SHA-512; peers over mutual TLS; authorizer on, the client a super user)' : '';
      return {
        scenario: name, description: `produce ${size} B records${over}, acks=all, ${partitions} partitions x RF ${replicationFactor}, fsync ${fsync ? 'on' : 'off'}`,
        fsync, client: 'kcat', recordBytes: size, records: r.records, seconds: round(r.cpu.seconds),
        recordsPerSecond: Math.round(rps), megabytesPerSecond: mb(r.records, size, r.cpu.seconds), errors: r.errors,
        serversCpuPercent: r.cpu.serversCpuPercent, machineBusyPercent: r.cpu.machineBusyPercent,
        serversCpuMicrosPerRecord: round((r.cpu.serversCpuSeconds * 1e6) / Math.max(1, r.records), 1),
        command: r.command, note: `committed records (sum of the partitions' high watermarks at /status) counted over ${windowSeconds} s after a ${warmupSeconds} s warm-up; high watermarks sum to ${r.tailRecords} at the end`,
      };
    },
  };
}

function consumeScenario(name: string, size: number): Scenario {
  return {
    name, fsync: false,
    async run(ctx) {
      let topic = ctx.filled.get(size);
      if (topic === undefined) {
        topic = `bench-${name}-data`;
        await kcatProduce(ctx, topic, size, windowSeconds, 1);
        ctx.filled.set(size, topic);
      }
      const r = await kcatConsume(ctx, topic, 3);
      return {
        scenario: name, description: `consume ${size} B records with kcat -C from the partition leaders (${partitions} partitions), hot page cache`,
        fsync: false, client: 'kcat', recordBytes: size, records: r.records, seconds: round(r.seconds),
        recordsPerSecond: Math.round(r.records / r.seconds), megabytesPerSecond: mb(r.records, size, r.seconds),
        errors: 0, serversCpuPercent: r.cpu.serversCpuPercent, machineBusyPercent: r.cpu.machineBusyPercent,
        serversCpuMicrosPerRecord: round((r.cpu.serversCpuSeconds * 1e6) / Math.max(1, r.records), 2),
        command: r.command, note: `${r.passes} pass(es) over the topic (high watermarks sum to ${r.expected / r.passes}, i.e. records plus offsets taken by other entries); time from the first to the last byte kcat printed`,
      };
    },
  };
}

function kafkajsProduceScenario(name: string, size: number): Scenario {
  const batch = 500;
  const inflight = 4;
  return {
    name, fsync: false,
    async run(ctx) {
      const r = await kafkajsThroughput(ctx, `bench-${name}`, size, windowSeconds, warmupSeconds, batch, inflight);
      return {
        scenario: name, description: `produce ${size} B records with KafkaJS, send() of ${batch} records, ${inflight} sends in flight, acks=all`,
        fsync: false, client: 'kafkajs', recordBytes: size, records: r.records, seconds: round(r.cpu.seconds),
        recordsPerSecond: Math.round(r.records / r.cpu.seconds), megabytesPerSecond: mb(r.records, size, r.cpu.seconds), errors: r.errors,
        serversCpuPercent: r.cpu.serversCpuPercent, machineBusyPercent: r.cpu.machineBusyPercent, clientCpuPercent: r.cpu.selfCpuPercent,
        serversCpuMicrosPerRecord: round((r.cpu.serversCpuSeconds * 1e6) / Math.max(1, r.records), 1),
        command: `KafkaJS producer.send({ acks: -1, messages: ${batch} x ${size} B }) x ${inflight} loops`,
      };
    },
  };
}

function latencyScenario(name: string, size: number, rate: number, fsync: boolean, seconds: number): Scenario {
  return {
    name, fsync,
    async run(ctx) {
      const r = await kafkajsLatency(ctx, `bench-${name}`, size, rate, seconds);
      return {
        scenario: name, description: `produce latency, ${size} B records at a fixed ${rate}/s (open loop; a 1 ms timer sends the records due), acks=all, fsync ${fsync ? 'on' : 'off'}`,
        fsync, client: 'kafkajs', recordBytes: size, records: r.acked, seconds: round(r.cpu.seconds), targetRate: rate,
        recordsPerSecond: Math.round(r.acked / r.cpu.seconds), ...latencyFigures(r.lats), errors: r.errors + r.unacked,
        serversCpuPercent: r.cpu.serversCpuPercent, machineBusyPercent: r.cpu.machineBusyPercent, clientCpuPercent: r.cpu.selfCpuPercent,
        serversCpuMicrosPerRecord: round((r.cpu.serversCpuSeconds * 1e6) / Math.max(1, r.acked), 1), ...r.stalls,
        command: 'KafkaJS producer.send({ acks: -1, messages: [records due] }) every 1 ms timer tick, timed from the call to the ack',
        note: r.unacked > 0 ? `${r.unacked} records not acknowledged 10 s after the window (counted as infinitely late): the cluster cannot sustain this rate` : undefined,
      };
    },
  };
}

function e2eScenario(name: string, size: number, rate: number, seconds: number): Scenario {
  return {
    name, fsync: false,
    async run(ctx) {
      const r = await endToEnd(ctx, `bench-${name}`, size, rate, seconds);
      return {
        scenario: name, description: `end-to-end latency, ${size} B records at ${rate}/s: KafkaJS send call -> kcat -C prints the record`,
        fsync: false, client: 'kafkajs+kcat', recordBytes: size, records: r.lats.length, seconds: round(r.cpu.seconds), targetRate: rate,
        ...latencyFigures(r.lats), errors: r.errors + r.lost,
        serversCpuPercent: r.cpu.serversCpuPercent, machineBusyPercent: r.cpu.machineBusyPercent, clientCpuPercent: r.cpu.selfCpuPercent,
        command: r.command, note: r.lost > 0 ? `${r.lost} records not seen by the consumer within 10 s` : undefined,
      };
    },
  };
}

/**
 * Fairness under a quota (issue 19): a "victim" KafkaJS producer (one send of `batch` records at a
 * time, acks=all) on a 1-partition topic, so that both producers write to one node; its rate and
 * per-send latency alone, then beside a second producer sending flat out to the same partition
 * without a quota, then beside that producer under a producer_byte_rate quota (set with `flotilla
 * quotas set`, measured after an 11 s warm-up: the quota's first 10 windows are a burst).
 */
async function fairness(ctx: Ctx, topic: string, size: number, quota: number, window: number): Promise<{
  alone: Phase; unquoted: Phase; quoted: Phase; command: string;
}> {
  await ctx.admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor }], waitForLeaders: true, timeout: 30_000 });
  await ctx.cluster.topicReady(topic, 1);
  const batch = 100;
  const value = Buffer.alloc(size, 0x78);
  const victimMessages = Array.from({ length: batch }, () => ({ value }));
  const hogMessages = Array.from({ length: 128 }, () => ({ value: Buffer.alloc(4096, 0x79) }));
  const victim = await kafkajsProducer(ctx);
  /** The victim for `seconds`, and (when `hogId` is given) a hog producing flat out from `warm` seconds before. */
  const phase = async (hogId: string | null, warm: number): Promise<Phase> => {
    let stop = false;
    let hogBytes = 0;
    let hogFrom = 0;
    let hog: Promise<void> = Promise.resolve();
    if (hogId !== null) {
      const producer = kafkaFor(ctx.cluster, hogId).producer({ allowAutoTopicCreation: false });
      await producer.connect();
      hog = (async () => {
        try {
          while (!stop) {
            await producer.send({ topic, acks: -1, messages: hogMessages });
            if (hogFrom > 0) hogBytes += 128 * 4096;
          }
        } finally {
          await producer.disconnect();
        }
      })();
      hog.catch(() => undefined); // awaited (and thrown) after the victim's window
      await sleep(warm * 1000);
    }
    const lats: number[] = [];
    const meter = new CpuMeter(ctx.cluster);
    meter.begin();
    hogFrom = Date.now();
    const end = Date.now() + window * 1000;
    while (Date.now() < end) {
      const t = process.hrtime.bigint();
      await victim.send({ topic, acks: -1, messages: victimMessages });
      lats.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const cpu = meter.end();
    const hogSeconds = (Date.now() - hogFrom) / 1000;
    stop = true;
    await hog;
    return { records: lats.length * batch, seconds: cpu.seconds, lats, hogMegabytesPerSecond: hogId === null ? 0 : round(hogBytes / 1e6 / hogSeconds, 2), cpu };
  };
  const alone = await phase(null, 0);
  await quiesce(ctx.cluster);
  const unquoted = await phase('bench-hog-free', 2);
  await quiesce(ctx.cluster);
  const args = ['quotas', 'set', '--client-id', 'bench-hog', '--set', `producer_byte_rate=${quota}`, '--bootstrap', ctx.cluster.bootstrap];
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../bin/flotilla.js', import.meta.url)), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`flotilla ${args.join(' ')}: ${r.stderr}`);
  await sleep(2000); // every node applies it within a window
  const quoted = await phase('bench-hog', 11);
  await victim.disconnect();
  return { alone, unquoted, quoted, command: `flotilla ${args.join(' ')}; KafkaJS victim send({ acks: -1, messages: ${batch} x ${size} B }) one at a time; hog send({ acks: -1, messages: 128 x 4096 B }) flat out` };
}

interface Phase {
  records: number;
  seconds: number;
  lats: number[];
  hogMegabytesPerSecond: number;
  cpu: ReturnType<CpuMeter['end']>;
}

function fairnessScenario(name: string, size: number, quota: number): Scenario {
  return {
    name, fsync: false,
    async run(ctx) {
      const r = await fairness(ctx, `bench-${name}`, size, quota, windowSeconds);
      const rate = (p: Phase): number => Math.round(p.records / p.seconds);
      const p99 = (p: Phase): number => latencyFigures(p.lats).p99Ms!;
      const q = r.quoted;
      return {
        scenario: name, description: `fairness: KafkaJS victim (sends of 100 x ${size} B, acks=all) beside a flat-out producer on the same partition leader under producer_byte_rate ${quota / 1e6} MB/s`,
        fsync: false, client: 'kafkajs', recordBytes: size, records: q.records, seconds: round(q.seconds),
        recordsPerSecond: rate(q), megabytesPerSecond: mb(q.records, size, q.seconds), ...latencyFigures(q.lats), errors: 0,
        serversCpuPercent: q.cpu.serversCpuPercent, machineBusyPercent: q.cpu.machineBusyPercent, clientCpuPercent: q.cpu.selfCpuPercent,
        command: r.command,
        note: `victim per send of 100 records: alone ${fmt(rate(r.alone))} records/s, p99 ${fmt(p99(r.alone), 1)} ms; beside the hog without a quota ${fmt(rate(r.unquoted))} records/s, p99 ${fmt(p99(r.unquoted), 1)} ms (hog ${r.unquoted.hogMegabytesPerSecond} MB/s); `
          + `beside the hog under its quota ${fmt(rate(q))} records/s, p99 ${fmt(p99(q), 1)} ms (hog ${q.hogMegabytesPerSecond} MB/s, after an 11 s warm-up)`,
      };
    },
  };
}

const scenarios: Scenario[] = [
  produceScenario('produce-1k', 1024, false),
  consumeScenario('consume-1k', 1024),
  produceScenario('produce-100b', 100, false),
  consumeScenario('consume-100b', 100),
  kafkajsProduceScenario('produce-1k-kafkajs', 1024),
  latencyScenario('latency-1k-1000', 1024, 1000, false, latencySeconds),
  latencyScenario('latency-1k-10000', 1024, 10_000, false, Math.max(2, latencySeconds / 2)),
  e2eScenario('e2e-1k-1000', 1024, 1000, latencySeconds),
  // Two producers on one node, one of them under a producer_byte_rate quota of 2 MB/s.
  fairnessScenario('fairness-quota', 1024, 2_000_000),
  // The cost of security: produce-1k on a cluster of its own secured as `flotilla local --secure`.
  produceScenario('produce-1k-sasl-ssl', 1024, false, true),
  produceScenario('produce-1k-fsync', 1024, true),
  produceScenario('produce-100b-fsync', 100, true),
  latencyScenario('latency-1k-1000-fsync', 1024, 1000, true, latencySeconds),
  // Runs on a cluster of its own (see runScale), after the others.
  { name: 'scale-3000', fsync: false, run: () => runScale(Number(values['scale-partitions'])) },
];

// ---------------------------------------------------------------------------------------------
// Output

function fmt(n: number | undefined, digits = 0): string {
  if (n === Infinity) return 'unacked';
  if (n === undefined || !Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function figureLine(r: Result): string {
  if (r.error !== undefined) return `${r.scenario.padEnd(22)} FAILED: ${r.error}`;
  const parts: string[] = [];
  if (r.scale) {
    const x = r.scale;
    parts.push(`${fmt(x.partitions)} partitions created and led in ${fmt(x.createSeconds, 1)} s; idle CPU per node ${x.idleCpuPercent.join(', ')} % of a core, RSS ${x.rssMegabytes.join(', ')} MB; kill -9 of node ${x.killedNode} (leading ${x.partitionsLedByKilled}): all led elsewhere in ${fmt(x.failoverSeconds, 2)} s`);
    return `${r.scenario.padEnd(22)} ${parts.join('')}`;
  }
  if (r.p50Ms !== undefined) {
    parts.push(`p50 ${fmt(r.p50Ms, 2)} ms, p99 ${fmt(r.p99Ms, 2)} ms, p999 ${fmt(r.p999Ms, 2)} ms, max ${fmt(r.maxMs, 1)} ms (${fmt(r.records)} records at ${fmt(r.targetRate)}/s)`);
  } else {
    parts.push(`${fmt(r.recordsPerSecond)} records/s, ${fmt(r.megabytesPerSecond, 1)} MB/s`);
  }
  const cpu = `servers ${r.serversCpuPercent}% CPU${r.serversCpuMicrosPerRecord !== undefined ? ` (${fmt(r.serversCpuMicrosPerRecord, 1)} µs/record)` : ''}, machine ${r.machineBusyPercent}% busy${r.clientCpuPercent !== undefined ? `, bench process ${r.clientCpuPercent}%` : ''}`;
  let line = `${r.scenario.padEnd(22)} ${parts.join('')}; ${cpu}${r.errors > 0 ? `; ${r.errors} errors` : ''}`;
  if (r.serversLoopMaxMs) line += `\n${''.padEnd(22)}   servers' longest event-loop stall ${r.serversLoopMaxMs.join(', ')} ms; GC ${r.serversGcMs?.join(', ')} ms`;
  if (r.note !== undefined && r.p50Ms !== undefined) line += `\n${''.padEnd(22)}   note: ${r.note}`;
  if (r.peer) {
    const p = r.peer;
    const fig = r.p50Ms !== undefined ? `p50 ${fmt(p.p50Ms, 2)} ms, p99 ${fmt(p.p99Ms, 2)} ms` : `${fmt(p.recordsPerSecond)} msgs/s, ${fmt(p.megabytesPerSecond, 1)} MB/s`;
    line += `\n${''.padEnd(22)}   vs ${p.label}: ${fig} [${p.source}; ${p.cmd}]${p.ratio !== undefined ? ` -> ${p.ratioOf}: ${p.ratio}x` : ''}`;
  }
  return line;
}

function attachPeer(r: Result, peers: Map<string, PeerFigure>): void {
  const p = peers.get(r.scenario);
  if (!p || r.error !== undefined) return;
  if (r.p50Ms !== undefined && p.p50Ms !== undefined && p.p99Ms !== undefined && r.p99Ms !== undefined) {
    r.peer = { ...p, ratio: Number((r.p99Ms / p.p99Ms).toPrecision(2)), ratioOf: 'p99 ours / peer (lower is better)' };
  } else if (r.recordsPerSecond !== undefined && p.recordsPerSecond !== undefined) {
    r.peer = { ...p, ratio: Number((r.recordsPerSecond / p.recordsPerSecond).toPrecision(2)), ratioOf: 'records/s ours / peer (higher is better)' };
  } else {
    r.peer = { ...p };
  }
}

// ---------------------------------------------------------------------------------------------
// Main

if (values.list) {
  for (const s of scenarios) console.log(`${s.name}${s.fsync ? ' (fsync on)' : ''}${s.secure ? ' (secured cluster)' : ''}`);
  process.exit(0);
}
const wanted = values.scenario?.split(',').map((s) => s.trim()).filter((s) => s !== '');
for (const w of wanted ?? []) {
  if (!scenarios.some((s) => s.name === w)) {
    log(`unknown scenario ${JSON.stringify(w)}; one of: ${scenarios.map((s) => s.name).join(', ')}`);
    process.exit(2);
  }
}
if (values.fsync !== undefined && values.fsync !== 'on' && values.fsync !== 'off') {
  log('--fsync must be on or off');
  process.exit(2);
}
const selected = scenarios.filter((s) => (wanted === undefined || wanted.includes(s.name)) && (values.fsync === undefined || s.fsync === (values.fsync === 'on')));

const machine = {
  cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'cpu', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version,
  kcat: kcatVersion(), kafkajs: '2.2.4', loadAverageBefore: loadavg().map((x) => round(x, 2)),
};
const params = { nodes: 3, partitions, replicationFactor, acks: 'all', windowSeconds, warmupSeconds, latencySeconds, kcatProduceConf };
const say = values.json ? log : (line: string): void => console.log(line);
say(`bench — ${params.nodes} flotilla processes on 127.0.0.1, topics of ${partitions} partitions x RF ${replicationFactor}, acks=all`);
say(`  throughput: ${warmupSeconds} s warm-up + ${windowSeconds} s window; latency: ${latencySeconds} s per rate; kcat -X ${kcatProduceConf.join(' -X ')}`);
say(`machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.kcat}, kafkajs ${machine.kafkajs}; load average before ${machine.loadAverageBefore.join(' ')}`);
say(`scenarios: ${selected.map((s) => s.name).join(', ')}`);

const results: Result[] = [];
let active: BenchCluster | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`bench: ${sig}: stopping the nodes`);
    void (active?.stop(3000) ?? Promise.resolve()).finally(() => process.exit(130));
  });
}
// One cluster per kind, one after another: plaintext fsync off, secured fsync off, plaintext fsync on
// (scale-3000 has its own at base + 600).
for (const { fsync, secure, portOffset } of [{ fsync: false, secure: false, portOffset: 0 }, { fsync: false, secure: true, portOffset: 900 }, { fsync: true, secure: false, portOffset: 300 }]) {
  const group = selected.filter((s) => s.fsync === fsync && (s.secure === true) === secure && s.name !== 'scale-3000');
  if (group.length === 0) continue;
  const cluster = new BenchCluster({ nodes: 3, basePort: basePort + portOffset, fsync, nodeArgs: profileNodeArgs, secure });
  say(`cluster (fsync ${fsync ? 'on' : 'off'}${secure ? ', secured' : ''}): node 1 = flotilla ${cluster.startArgs(cluster.nodes[0]!).join(' ')}`);
  active = cluster;
  const kafka = kafkaFor(cluster, 'flotilla-bench');
  const admin = kafka.admin();
  try {
    try {
      await cluster.start();
    } catch (err) {
      log(cluster.tail(3000));
      throw err;
    }
    await admin.connect();
    const ctx: Ctx = { cluster, admin, kafka, fsync, filled: new Map() };
    for (const s of group) {
      await quiesce(cluster);
      log(`running ${s.name} ...`);
      let r: Result;
      try {
        r = await s.run(ctx);
      } catch (err) {
        r = { scenario: s.name, description: '', fsync, client: '', recordBytes: 0, records: 0, seconds: 0, errors: 1, serversCpuPercent: 0, machineBusyPercent: 0, command: '', error: err instanceof Error ? err.message : String(err) };
        log(cluster.tail(1500));
      }
      results.push(r);
      if (!values.json && !values.peers) console.log(figureLine(r));
    }
    const rss = cluster.nodes.map((n) => Math.round(n.rssMegabytes()));
    say(`  node RSS after the run: ${rss.join(', ')} MB`);
  } finally {
    await admin.disconnect().catch(() => undefined);
    await cluster.stop();
    active = null;
  }
}

const scaleScenario = selected.find((s) => s.name === 'scale-3000');
if (scaleScenario) {
  log('running scale-3000 ...');
  let r: Result;
  try {
    r = await runScale(Number(values['scale-partitions']));
  } catch (err) {
    r = { scenario: 'scale-3000', description: '', fsync: false, client: '', recordBytes: 0, records: 0, seconds: 0, errors: 1, serversCpuPercent: 0, machineBusyPercent: 0, command: '', error: err instanceof Error ? err.message : String(err) };
  }
  results.push(r);
  if (!values.json && !values.peers) console.log(figureLine(r));
}

if (values.peers) {
  const dir = values['peers-dir']!;
  const why = peersUnavailable(dir);
  let peers: Map<string, PeerFigure>;
  if (why === null) {
    say(`peers: running the scripts of ${dir} now (one run each; stderr shows their progress)`);
    try {
      peers = await runPeers({ dir, runs: Number(values['peer-runs']), pubSeconds: 10, latSeconds: latencySeconds, log });
    } catch (err) {
      say(`peers: a script failed (${err instanceof Error ? err.message : String(err)}); using RESULTS.md`);
      peers = recordedPeerFigures(dir);
    }
  } else {
    say(`peers: cannot run here (${why}); figures from ${dir}/RESULTS.md (results/raw.jsonl medians)`);
    peers = recordedPeerFigures(dir);
  }
  for (const r of results) attachPeer(r, peers);
  if (!values.json) for (const r of results) console.log(figureLine(r));
}

if (values.json) {
  for (const r of results) console.log(JSON.stringify({ ...r, machine, parameters: params }));
}
