/**
 * A cluster of real `flotilla start` processes on loopback for end-to-end tests: real TCP, real
 * segment files, real LevelDB. Each node's stdout/stderr are kept (printed when a test fails).
 */
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, type Message, type Producer, logLevel } from 'kafkajs';
import { clusterReady } from '../../lib/cli/admin.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;

export interface NodeStatus {
  nodeId: number;
  serving: boolean;
  fenced: boolean;
  unfencedNodes: number[];
  metadata: { role: string; term: number; leader: number; commitIndex: number; appliedIndex: number; controller: boolean };
  partitions: { topic: string; partition: number; role: string; leader: number; term: number; highWatermark: number; voters: number[] }[];
}

export class FlotillaProcess {
  child: ChildProcess | null = null;
  output = '';
  /** How the process ended when nobody stopped it (a port taken, a crash), or null. */
  died: string | null = null;
  readonly id: number;
  readonly dir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly metricsPort: number;
  /** Arguments of this node only, given at every start after the common ones (its own certificate files, say). */
  nodeArgs: readonly string[] = [];

  constructor(id: number, dir: string, basePort: number) {
    this.id = id;
    this.dir = dir;
    this.clientPort = basePort + id;
    this.peerPort = basePort + 100 + id;
    this.metricsPort = basePort + 200 + id;
  }

  /** `extra` may give --listeners: --listen is then left out (a node takes one or the other). */
  start(controllers: string, extra: readonly string[] = []): void {
    const listen = extra.includes('--listeners') || this.nodeArgs.includes('--listeners') ? [] : ['--listen', `127.0.0.1:${this.clientPort}`];
    const args = [
      BIN, 'start', '--node-id', String(this.id), '--data-dir', this.dir,
      ...listen, '--peer-listen', `127.0.0.1:${this.peerPort}`,
      '--metrics-listen', `127.0.0.1:${this.metricsPort}`, '--controllers', controllers, '--tick-ms', '50', ...this.nodeArgs, ...extra,
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer): void => {
      this.output += d.toString();
      if (this.output.length > 2_000_000) this.output = this.output.slice(-1_000_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.died = null;
    child.on('exit', (code, signal) => {
      if (this.child === child) this.died = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
    });
    this.child = child;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill -9 (default) or a clean stop (SIGTERM). */
  stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.on('exit', () => resolve());
      child.kill(signal);
    });
  }

  async status(): Promise<NodeStatus | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.metricsPort}/status`, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as NodeStatus | { state: 'starting' };
      // A node still opening its stores answers { nodeId, state: 'starting' }: no status yet.
      return 'partitions' in body ? body : null;
    } catch {
      return null;
    }
  }
}

export class TestCluster {
  readonly root: string;
  readonly nodes: FlotillaProcess[];
  readonly controllers: string;

  /** Ports from `basePort` (default: a free block, see freeBasePort): client base+id, peer base+100+id, metrics base+200+id. */
  constructor(size: number, basePort: number = freeBasePort(size)) {
    this.root = mkdtempSync(join(tmpdir(), 'flotilla-e2e-'));
    this.nodes = Array.from({ length: size }, (_, i) => new FlotillaProcess(i + 1, join(this.root, `node-${i + 1}`), basePort));
    this.controllers = this.nodes.slice(0, Math.min(3, size)).map((n) => `${n.id}@127.0.0.1:${n.peerPort}`).join(',');
  }

  /** Restarts scheduled with restartLater() and not done yet: ready() waits for them first. */
  private readonly pendingRestarts = new Set<Promise<void>>();

  node(id: number): FlotillaProcess {
    return this.nodes[id - 1]!;
  }

  /**
   * Starts node `id` again after `delayMs` (a node killed mid-test). ready() waits for it: a
   * ready() before the restart would count the stopped node as fine, and the next test would start
   * with one node fewer (CreateTopics with RF 3 then fails).
   */
  restartLater(id: number, delayMs: number): void {
    const restart = new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() => {
      this.node(id).start(this.controllers);
    });
    this.pendingRestarts.add(restart);
    void restart.finally(() => this.pendingRestarts.delete(restart));
  }

  /** Starts every node with `extra` after the common arguments (a node's own arguments: FlotillaProcess.nodeArgs). */
  start(extra: readonly string[] = []): void {
    for (const n of this.nodes) n.start(this.controllers, extra);
  }

  get bootstrap(): string[] {
    return this.nodes.filter((n) => n.running).map((n) => `127.0.0.1:${n.clientPort}`);
  }

  kafka(clientId = 'e2e'): Kafka {
    // KJS_DEBUG=1 prints the clients' own log (KafkaJS at debug level, requests included).
    const debug = process.env.KJS_DEBUG !== undefined;
    const logCreator = () => ({ namespace, log }: { namespace: string; log: { message: string } & Record<string, unknown> }): void => {
      const { message, timestamp: _t, logger: _l, ...rest } = log;
      console.log(`KJS ${new Date().toISOString()} ${namespace} ${message} ${JSON.stringify(rest).slice(0, 400)}`);
    };
    return new Kafka({ clientId, brokers: this.bootstrap, logLevel: debug ? logLevel.DEBUG : logLevel.NOTHING, ...(debug ? { logCreator } : {}), retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
  }

  async statuses(): Promise<(NodeStatus | null)[]> {
    return Promise.all(this.nodes.map((n) => (n.running ? n.status() : Promise.resolve(null))));
  }

  /**
   * Waits until every running node serves clients and every running node's metadata has them all
   * registered and unfenced (`clusterReady`, what `flotilla local` waits for before its banner).
   * A node that ended without being stopped fails it at once, with its output: otherwise the test
   * would go on with one node fewer and fail later for a reason of its own (CreateTopics answering
   * INVALID_REPLICATION_FACTOR, say).
   */
  async ready(timeoutMs = 30_000): Promise<void> {
    await Promise.all([...this.pendingRestarts]);
    await until(async () => {
      const dead = this.nodes.find((n) => n.died !== null);
      if (dead) throw new Error(`node ${dead.id} ${dead.died} before serving:\n${dead.output.slice(-4000)}`);
      const running = this.nodes.filter((n) => n.running);
      const st = await Promise.all(running.map((n) => n.status()));
      return clusterReady(running.map((n, i) => ({ nodeId: n.id, url: '', status: st[i] ?? undefined })), running.map((n) => n.id));
    }, timeoutMs, 'every node serving');
  }

  /** The node that leads the metadata group, as the running nodes see it. */
  async metadataLeader(): Promise<number> {
    let leader = 0;
    await until(async () => {
      const st = await this.statuses();
      const l = st.find((s) => s?.metadata.role === 'leader' || (s && s.metadata.leader > 0 && this.node(s.metadata.leader).running));
      leader = l ? (l.metadata.role === 'leader' ? l.nodeId : l.metadata.leader) : 0;
      return leader > 0 && this.node(leader).running;
    }, 15_000, 'a metadata leader');
    return leader;
  }

  output(): string {
    return this.nodes.map((n) => `----- node ${n.id} -----\n${n.output.slice(-20_000)}`).join('\n');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(signal)));
  }

  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
  }
}

/**
 * Sends `messages` (each naming its partition) with acks=all, one send per partition, the sends in
 * parallel. KafkaJS 2.2.4 loses a partition's records when, within one multi-partition send, that
 * partition's leadership moves to a broker that already answered for another partition (its retry
 * skips brokers that answered) and still reports success. README: Kafka compatibility.
 */
export async function sendByPartition(producer: Producer, topic: string, messages: readonly (Message & { partition: number })[]): Promise<void> {
  const byPartition = new Map<number, Message[]>();
  for (const m of messages) byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m]);
  await Promise.all([...byPartition.values()].map((batch) => producer.send({ topic, acks: -1, messages: batch })));
}

export async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Where freeBasePort looks: below Linux's ephemeral range (32768-60999), whose ports any outgoing connection may take. */
const PORT_RANGE = { from: 10_000, to: 32_000 } as const;

/**
 * A base port whose block (base+1 .. base+300) is free on 127.0.0.1 now, from a random start
 * below the ephemeral range: clusters of several test runs at once (other worktrees, chaos runs)
 * and the clients' own outgoing connections then do not take a node's port, which used to make
 * a node exit at start (EADDRINUSE) or when restarted. Probed in a child process (the constructor
 * that needs it is synchronous); a port taken between the probe and the node's start remains
 * possible, and ready() then says so.
 */
export function freeBasePort(size: number): number {
  const probe = `
    import { createServer } from 'node:net';
    const [from, to, size] = process.argv.slice(1).map(Number);
    const free = (port) => new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    const blocks = Math.floor((to - from) / 300);
    const start = Math.floor(Math.random() * blocks);
    for (let i = 0; i < blocks; i++) {
      const base = from + ((start + i) % blocks) * 300;
      let ok = true;
      for (let id = 1; ok && id <= size; id++) for (const off of [0, 100, 200]) if (ok && !(await free(base + off + id))) ok = false;
      if (ok) { console.log(base); process.exit(0); }
    }
    process.exit(1);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe, String(PORT_RANGE.from), String(PORT_RANGE.to), String(size)], { encoding: 'utf8' });
  const base = Number(r.stdout.trim());
  if (r.status !== 0 || !Number.isInteger(base)) throw new Error(`no free block of ports for ${size} nodes in ${PORT_RANGE.from}-${PORT_RANGE.to}: ${r.stderr}`);
  return base;
}

/** kcat's path, or null when it is not installed (outside CI the kcat tests are then skipped). */
/** A Python with kafka-python (Debian's python3-kafka lives under /usr/bin/python3), or null. */
export function kafkaPython(): string | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(python, ['-c', 'import kafka'], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  return null;
}

/** Runs a child process to its end: its stdout, or a rejection naming it with the tail of its stderr. */
export function runChild(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr.slice(-4000)}`));
      else resolve(stdout);
    });
  });
}

export function kcatPath(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v kcat'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Runs kcat; resolves with its stdout (rejects on a non-zero exit, with stderr). */
export function kcat(args: readonly string[], input?: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(kcatPath() ?? 'kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`kcat ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
    });
    child.stdin.end(input ?? '');
  });
}
