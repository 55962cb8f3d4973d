/**
 * The chaos workload, through real Kafka clients:
 * - producers: KafkaJS (acks=all; every other one idempotent), one request in flight each, one to
 *   three unique values per request to one partition; every request is one SendOp (an error is
 *   `info`: indeterminate, never `fail`, since a timed-out request may still commit). After an
 *   indeterminate send an idempotent producer starts afresh (a new producer id): KafkaJS would
 *   give the next batch the sequence number of the failed one, and if that one did commit, the
 *   broker rightly answers the new batch as its duplicate with the old offsets;
 * - assigned consumers: one `kcat -C -p N` (librdkafka) per partition from the beginning, each
 *   stdout chunk one PollOp; `auto.offset.reset=error`, so a consumer never jumps silently: if kcat
 *   exits it is restarted at the next offset as a new session;
 * - final polls: `kcat -C -e` per partition from the beginning, after the heal;
 * - group members: KafkaJS consumers in one group subscribed to every topic (fromBeginning,
 *   autoCommit off), each batch one PollOp of the member's current session (one per completed
 *   rebalance, recorded as a GroupJoinOp with the generation and assignment SyncGroup gave it),
 *   then an OffsetCommit of the offset after the batch (a CommitOp with the generation it carried);
 *   a member whose KafkaJS consumer gives up is started afresh as a new member;
 * - an observer of the group's committed offsets (OffsetFetch through the KafkaJS admin client);
 * - a sampler of every node's /status (high watermarks per process life).
 * On a secure cluster (cluster.ts `clientSecurity`) every one of these clients connects with TLS
 * (trusting the run's CA) and logs in with SCRAM-SHA-512 as the run's super user: KafkaJS through
 * `clientConfig`, kcat through `kcatSecurityArgs` (`-F client.properties`, so the password stays
 * off the command line).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type WriteStream, createWriteStream } from 'node:fs';
import kafkajs, { type Admin, type EachBatchPayload, type Kafka, type KafkaConfig, type LogEntry, type Producer } from 'kafkajs';
import type { Prng } from '../base/prng.js';
import { type ChaosCluster, trackChild } from './cluster.js';
import type { CommitOp, GroupJoinOp, GroupOffset, HistoryOp, HwSample, OffsetFetchOp, PollOp, SendOp } from './history.js';

const { Kafka: KafkaClient, logLevel } = kafkajs;

/** Keeps the history in memory and appends it, one JSON object a line, to a file. */
export class HistoryRecorder {
  readonly sends: SendOp[] = [];
  readonly polls: PollOp[] = [];
  readonly hw: HwSample[] = [];
  readonly joins: GroupJoinOp[] = [];
  readonly commits: CommitOp[] = [];
  readonly offsetFetches: OffsetFetchOp[] = [];
  private readonly out: WriteStream;
  private readonly startMs: number;

  constructor(path: string, startMs: number) {
    this.out = createWriteStream(path, { flags: 'a' });
    this.startMs = startMs;
  }

  /** Milliseconds since the start of the run (monotonic). */
  now(): number {
    return performance.now() - this.startMs;
  }

  /** A performance.now() time as milliseconds since the start of the run. */
  at(performanceMs: number): number {
    return performanceMs - this.startMs;
  }

  add(op: HistoryOp): void {
    switch (op.f) {
      case 'send': this.sends.push(op); break;
      case 'poll': this.polls.push(op); break;
      case 'hw': this.hw.push(op); break;
      case 'join': this.joins.push(op); break;
      case 'commit': this.commits.push(op); break;
      case 'offsets': this.offsetFetches.push(op); break;
    }
    this.out.write(`${JSON.stringify(op)}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.out.end(() => resolve()));
  }
}

/** A workload runs until stopped. */
export interface Workload {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** KafkaJS's brokers and, on a secure cluster, its TLS and SASL settings. */
export function clientConfig(cluster: ChaosCluster, clientId: string): Pick<KafkaConfig, 'clientId' | 'brokers' | 'ssl' | 'sasl'> {
  const sec = cluster.clientSecurity;
  if (sec === null) return { clientId, brokers: cluster.bootstrap };
  return {
    clientId, brokers: cluster.bootstrap, ssl: { ca: [sec.caPem] },
    sasl: { mechanism: 'scram-sha-512', username: sec.username, password: sec.password },
  };
}

/** kcat's arguments for the cluster's client listeners: none in plaintext, else its client.properties (after -q: kcat then reads it quietly). */
export function kcatSecurityArgs(cluster: ChaosCluster): string[] {
  return cluster.clientSecurity === null ? [] : ['-F', cluster.clientSecurity.clientProperties];
}

export function kafkaFor(cluster: ChaosCluster, clientId: string): Kafka {
  return new KafkaClient({
    ...clientConfig(cluster, clientId), logLevel: logLevel.NOTHING, connectionTimeout: 2000, requestTimeout: 8000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
  });
}

/** One producer process: sends until stopped, one request at a time. */
export class ProducerWorkload implements Workload {
  readonly name: string;
  private readonly cluster: ChaosCluster;
  private readonly history: HistoryRecorder;
  private readonly partitions: readonly TopicPartition[];
  private readonly prng: Prng;
  private readonly pauseMs: number;
  /** KafkaJS `idempotent: true`: a duplicate of one of its values is a safety anomaly. */
  private readonly idempotent: boolean;
  private running = false;
  private loop: Promise<void> | null = null;
  private seq = 0;

  constructor(options: { name: string; cluster: ChaosCluster; history: HistoryRecorder; partitions: readonly TopicPartition[]; prng: Prng; pauseMs?: number; idempotent?: boolean }) {
    this.name = options.name;
    this.cluster = options.cluster;
    this.history = options.history;
    this.partitions = options.partitions;
    this.prng = options.prng;
    this.pauseMs = options.pauseMs ?? 10;
    this.idempotent = options.idempotent ?? false;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async connect(): Promise<Producer> {
    for (;;) {
      const producer = kafkaFor(this.cluster, this.name).producer({ allowAutoTopicCreation: false, idempotent: this.idempotent, maxInFlightRequests: 1, retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 } });
      try {
        await producer.connect();
        return producer;
      } catch {
        await producer.disconnect().catch(() => {});
        if (!this.running) return producer;
        await sleep(500);
      }
    }
  }

  private async run(): Promise<void> {
    let producer = await this.connect();
    let errors = 0;
    while (this.running) {
      const tp = this.partitions[this.prng.int(0, this.partitions.length - 1)]!;
      const values = Array.from({ length: this.prng.int(1, 3) }, () => `${this.name}-${this.seq++}`);
      const invokeMs = this.history.now();
      try {
        const res = await producer.send({ topic: tp.topic, acks: -1, timeout: 10_000, messages: values.map((value) => ({ value, partition: tp.partition })) });
        const meta = res.find((r) => r.partition === tp.partition && r.topicName === tp.topic);
        const base = Number(meta?.baseOffset ?? meta?.offset ?? NaN);
        if (!meta || meta.errorCode !== 0 || !Number.isSafeInteger(base)) throw new Error(`unexpected answer ${JSON.stringify(res)}`);
        this.history.add({ f: 'send', process: this.name, type: 'ok', invokeMs, completeMs: this.history.now(), ...tp, values, offsets: values.map((_, i) => base + i), idempotent: this.idempotent });
        errors = 0;
        await sleep(this.pauseMs);
      } catch (err) {
        this.history.add({ f: 'send', process: this.name, type: 'info', invokeMs, completeMs: this.history.now(), ...tp, values, idempotent: this.idempotent, error: String((err as Error).message ?? err).slice(0, 200) });
        errors++;
        await sleep(200);
        if ((errors >= 3 || this.idempotent) && this.running) {
          // A client stuck on a dead connection, or an idempotent one whose next sequence number
          // the failed batch may hold: start afresh.
          await producer.disconnect().catch(() => {});
          producer = await this.connect();
          errors = 0;
        }
      }
    }
    await producer.disconnect().catch(() => {});
  }
}

/** Runs kcat; `onLines` gets each stdout chunk's complete lines. Resolves with the exit code. */
function runKcat(args: readonly string[], onLines: (lines: string[]) => void, onStderr: (text: string) => void): { child: ChildProcess; done: Promise<number | null> } {
  const child = spawn('kcat', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const text = rest + d.toString('utf8');
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      rest = text;
      return;
    }
    rest = text.slice(cut + 1);
    onLines(text.slice(0, cut).split('\n').filter((l) => l !== ''));
  });
  child.stderr!.on('data', (d: Buffer) => onStderr(d.toString('utf8')));
  const done = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(-1));
  });
  return { child, done };
}

function parseRecords(lines: readonly string[]): [number, string][] {
  const out: [number, string][] = [];
  for (const line of lines) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const offset = Number(line.slice(0, sp));
    if (Number.isSafeInteger(offset)) out.push([offset, line.slice(sp + 1)]);
  }
  return out;
}

const KCAT_CONSUMER_ARGS = ['-q', '-u', '-f', '%o %s\\n', '-X', 'auto.offset.reset=error', '-X', 'topic.metadata.refresh.interval.ms=1000', '-X', 'socket.timeout.ms=5000'];

/** An assigned consumer of one partition: kcat -C -p N. */
export class AssignedConsumer implements Workload {
  readonly name: string;
  private readonly cluster: ChaosCluster;
  private readonly history: HistoryRecorder;
  private readonly tp: TopicPartition;
  private readonly stderr: WriteStream;
  private running = false;
  private child: ChildProcess | null = null;
  private loop: Promise<void> | null = null;
  private session = 0;
  /** The next offset to read. */
  next = 0;

  constructor(options: { name: string; cluster: ChaosCluster; history: HistoryRecorder; tp: TopicPartition; stderr: WriteStream }) {
    this.name = options.name;
    this.cluster = options.cluster;
    this.history = options.history;
    this.tp = options.tp;
    this.stderr = options.stderr;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const session = this.session++;
      const from = this.next === 0 ? 'beginning' : String(this.next);
      const { child, done } = runKcat(
        ['-C', '-b', this.cluster.bootstrap.join(','), '-t', this.tp.topic, '-p', String(this.tp.partition), '-o', from, ...KCAT_CONSUMER_ARGS, ...kcatSecurityArgs(this.cluster)],
        (lines) => {
          const records = parseRecords(lines);
          if (records.length === 0) return;
          this.history.add({ f: 'poll', process: this.name, session, timeMs: this.history.now(), ...this.tp, records });
          this.next = Math.max(this.next, records[records.length - 1]![0] + 1);
        },
        (text) => this.stderr.write(`[${this.name}#${session}] ${text}`),
      );
      this.child = child;
      await done;
      if (this.running) await sleep(1000);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.child?.kill('SIGTERM');
    await this.loop;
  }
}

/**
 * The final polls: every partition read from the beginning to its end (kcat -e), retried until the
 * read reaches `atLeast` (the offset after the highest acknowledged one) or the attempts run out.
 */
export async function finalPolls(options: {
  cluster: ChaosCluster; history: HistoryRecorder; partitions: readonly TopicPartition[]; atLeast: (tp: TopicPartition) => number;
  stderr: WriteStream; attempts?: number;
}): Promise<boolean> {
  let complete = true;
  let session = 0;
  for (const tp of options.partitions) {
    let reached = false;
    for (let attempt = 0; attempt < (options.attempts ?? 4) && !reached; attempt++) {
      if (attempt > 0) await sleep(3000);
      const s = session++;
      const records: [number, string][] = [];
      const { child, done } = runKcat(
        ['-C', '-e', '-b', options.cluster.bootstrap.join(','), '-t', tp.topic, '-p', String(tp.partition), '-o', 'beginning', ...KCAT_CONSUMER_ARGS, ...kcatSecurityArgs(options.cluster)],
        (lines) => records.push(...parseRecords(lines)),
        (text) => options.stderr.write(`[final ${tp.topic}-${tp.partition}#${s}] ${text}`),
      );
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const code = await done;
      clearTimeout(timer);
      const last = records.length > 0 ? records[records.length - 1]![0] : -1;
      reached = code === 0 && last + 1 >= options.atLeast(tp);
      if (reached) options.history.add({ f: 'poll', process: 'final', session: s, timeMs: options.history.now(), ...tp, records, final: true });
    }
    if (!reached) complete = false;
  }
  return complete;
}

/** Commit errors the coordinator answers before appending anything: the commit definitely failed. */
const COMMIT_REFUSALS = new Set(['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID']);

function errorText(err: unknown): string {
  return String((err as Error)?.message ?? err).slice(0, 200);
}

/**
 * One member of a consumer group (KafkaJS). Its generation and assignment come from KafkaJS's
 * debug log line 'Received assignment' (written once SyncGroup answered), the generation of each
 * acknowledged commit from the COMMIT_OFFSETS event: KafkaJS exposes neither otherwise.
 */
export class GroupMember implements Workload {
  readonly name: string;
  readonly group: string;
  private readonly cluster: ChaosCluster;
  private readonly history: HistoryRecorder;
  private readonly topics: readonly string[];
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private session = -1;
  private generation = -1;
  private commitGeneration: number | null = null;

  constructor(options: { name: string; group: string; cluster: ChaosCluster; history: HistoryRecorder; topics: readonly string[] }) {
    this.name = options.name;
    this.group = options.group;
    this.cluster = options.cluster;
    this.history = options.history;
    this.topics = options.topics;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.life();
      if (this.running) await sleep(1000);
    }
  }

  /** One KafkaJS consumer, until it gives up (a crash it does not restart from) or the member stops. */
  private async life(): Promise<void> {
    const kafka = new KafkaClient({
      ...clientConfig(this.cluster, this.name), connectionTimeout: 2000, requestTimeout: 8000,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: logLevel.DEBUG, logCreator: () => (entry) => this.onLog(entry),
    });
    const consumer = kafka.consumer({
      groupId: this.group, sessionTimeout: 10_000, rebalanceTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 200,
      allowAutoTopicCreation: false, retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const ended = new Promise<void>((resolve) => {
      this.wake = resolve;
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart) resolve();
      });
    });
    consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
      this.commitGeneration = e.payload.groupGenerationId;
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...this.topics], fromBeginning: true });
      await consumer.run({ autoCommit: false, partitionsConsumedConcurrently: 1, eachBatch: (payload) => this.onBatch(payload) });
      if (this.running) await ended;
    } catch {
      // Could not connect or subscribe: try again as a new consumer.
    }
    this.wake = null;
    await consumer.disconnect().catch(() => {});
  }

  private onLog(entry: LogEntry): void {
    const log = entry.log;
    if (log.message !== 'Received assignment' || log.groupId !== this.group) return;
    const assigned = (log.memberAssignment ?? {}) as Record<string, number[]>;
    this.session++;
    this.generation = Number(log.generationId);
    this.history.add({
      f: 'join', group: this.group, process: this.name, session: this.session, memberId: String(log.memberId), generation: this.generation,
      timeMs: this.history.now(), assignment: Object.entries(assigned).flatMap(([topic, ps]) => ps.map((p) => [topic, p] as const)),
    });
  }

  private async onBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat }: EachBatchPayload): Promise<void> {
    const messages = batch.messages;
    if (messages.length === 0) return;
    const session = this.session;
    const records = messages.map((m) => [Number(m.offset), m.value === null ? '' : m.value.toString('utf8')] as [number, string]);
    this.history.add({ f: 'poll', process: this.name, session, timeMs: this.history.now(), topic: batch.topic, partition: batch.partition, records, group: this.group, generation: this.generation });
    // Resolved before anything can throw, so KafkaJS never hands this batch to this session again.
    resolveOffset(messages[messages.length - 1]!.offset);
    const offsets: GroupOffset[] = [{ topic: batch.topic, partition: batch.partition, offset: records[records.length - 1]![0] + 1 }];
    const invokeMs = this.history.now();
    this.commitGeneration = null;
    try {
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(offsets[0]!.offset) }] }] });
      this.history.add({ f: 'commit', group: this.group, process: this.name, session, type: 'ok', invokeMs, completeMs: this.history.now(), generation: this.commitGeneration, offsets });
    } catch (err) {
      const type = COMMIT_REFUSALS.has(String((err as { type?: unknown }).type)) ? 'fail' : 'info';
      this.history.add({ f: 'commit', group: this.group, process: this.name, session, type, invokeMs, completeMs: this.history.now(), generation: null, offsets, error: errorText(err) });
    }
    await heartbeat();
  }
}

function toOffsets(answer: { topic: string; partitions: { partition: number; offset: string }[] }[]): GroupOffset[] {
  return answer.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: Number(p.offset) })));
}

/** Asks the group's committed offsets (OffsetFetch) every `intervalMs`; each answer is an OffsetFetchOp. */
export class OffsetObserver implements Workload {
  readonly name: string;
  private readonly cluster: ChaosCluster;
  private readonly history: HistoryRecorder;
  private readonly group: string;
  private readonly topics: readonly string[];
  private readonly intervalMs: number;
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(options: { name: string; group: string; cluster: ChaosCluster; history: HistoryRecorder; topics: readonly string[]; intervalMs?: number }) {
    this.name = options.name;
    this.group = options.group;
    this.cluster = options.cluster;
    this.history = options.history;
    this.topics = options.topics;
    this.intervalMs = options.intervalMs ?? 1000;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    let admin: Admin | null = null;
    while (this.running) {
      try {
        if (!admin) {
          admin = kafkaFor(this.cluster, this.name).admin({ retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 } });
          await admin.connect();
        }
        await fetchGroupOffsets(admin, this.history, this.name, this.group, this.topics, false);
      } catch {
        await admin?.disconnect().catch(() => {});
        admin = null;
      }
      await sleep(this.intervalMs);
    }
    await admin?.disconnect().catch(() => {});
  }
}

async function fetchGroupOffsets(admin: Admin, history: HistoryRecorder, process: string, group: string, topics: readonly string[], final: boolean): Promise<GroupOffset[]> {
  const invokeMs = history.now();
  const answer = await admin.fetchOffsets({ groupId: group, topics: [...topics] });
  const offsets = toOffsets(answer);
  history.add({ f: 'offsets', group, process, invokeMs, completeMs: history.now(), offsets, ...(final ? { final } : {}) });
  return offsets;
}

/** The group's committed offsets once its members left and the cluster settled (retried until answered). */
export async function finalGroupOffsets(options: { cluster: ChaosCluster; history: HistoryRecorder; group: string; topics: readonly string[]; timeoutMs?: number }): Promise<GroupOffset[] | null> {
  const end = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < end) {
    const admin = kafkaFor(options.cluster, 'final-offsets').admin();
    try {
      await admin.connect();
      return await fetchGroupOffsets(admin, options.history, 'final', options.group, options.topics, true);
    } catch {
      await sleep(1000);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
  return null;
}

/** Samples every running node's /status every `intervalMs`: high watermarks per process life. */
export class StatusSampler implements Workload {
  readonly name = 'status';
  private readonly cluster: ChaosCluster;
  private readonly history: HistoryRecorder;
  private readonly topics: ReadonlySet<string>;
  private readonly intervalMs: number;
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(options: { cluster: ChaosCluster; history: HistoryRecorder; topics: readonly string[]; intervalMs?: number }) {
    this.cluster = options.cluster;
    this.history = options.history;
    this.topics = new Set(options.topics);
    this.intervalMs = options.intervalMs ?? 500;
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      await Promise.allSettled(this.cluster.nodes.map(async (n) => {
        const incarnation = n.incarnation;
        const st = await n.status();
        // A status from a process that was restarted meanwhile cannot be placed in a life: drop it.
        if (!st || n.incarnation !== incarnation) return;
        const timeMs = this.history.now();
        for (const p of st.partitions) {
          if (!this.topics.has(p.topic)) continue;
          this.history.add({ f: 'hw', node: n.id, incarnation, timeMs, topic: p.topic, partition: p.partition, role: p.role, term: p.term, highWatermark: p.highWatermark });
        }
      }));
      await sleep(this.intervalMs);
    }
  }
}
