/**
 * A local cluster of real `flotilla start` processes for `npm run bench` (scripts/bench.ts): one
 * child process per node on 127.0.0.1, data in a temporary directory removed on stop, logs kept in
 * memory (printed when something fails). CPU time of each node is read from /proc/PID/stat, so a
 * scenario can report what the servers spent apart from the load generator.
 *
 * With `secure`, the nodes are secured as `flotilla local --secure` secures them
 * (lib/cli/secure-local.ts; CA, certificates, password and client.properties in the data
 * directory): the client port is a SASL_SSL listener (SCRAM-SHA-512, the user `admin` created by
 * --add-scram), the peer transport runs over mutual TLS and the authorizer is on with admin as
 * super user. (A node refuses secured client listeners over a plaintext peer transport, so client
 * security cannot be measured without peer TLS.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SecureLocalFiles, prepareSecureLocal, secureNodeArgs } from '../lib/cli/secure-local.js';

/** bin/flotilla.js, from dist/scripts/bench-cluster.js. */
const binPath = fileURLToPath(new URL('../../bin/flotilla.js', import.meta.url));

/** Clock ticks per second of /proc/PID/stat (USER_HZ; 100 on Linux for every architecture we run on). */
const userHz = 100;

export interface BenchNodeStatus {
  nodeId: number;
  serving: boolean;
  partitions: { topic: string; partition: number; role: string; leader: number; highWatermark: number }[];
}

export interface BenchClusterOptions {
  readonly nodes: number;
  readonly basePort: number;
  readonly fsync: boolean;
  /** Extra `flotilla start` arguments for every node (e.g. --log-level). */
  readonly extraArgs?: readonly string[];
  /** Extra node options (NODE_OPTIONS-like arguments before bin/flotilla.js), per node id. */
  readonly nodeArgs?: (nodeId: number) => readonly string[];
  /** Secured as `flotilla local --secure`: SASL_SSL clients, peer mTLS, the authorizer. */
  readonly secure?: boolean;
}

export class BenchNode {
  readonly id: number;
  readonly dir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly metricsPort: number;
  child: ChildProcess | null = null;
  output = '';

  constructor(id: number, dir: string, basePort: number) {
    this.id = id;
    this.dir = dir;
    this.clientPort = basePort + id;
    this.peerPort = basePort + 100 + id;
    this.metricsPort = basePort + 200 + id;
  }

  /** utime + stime of the process in seconds, or NaN when it is gone. */
  cpuSeconds(): number {
    const pid = this.child?.pid;
    if (pid === undefined) return NaN;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // After "pid (comm) ", field 3 (state) is index 0; utime is field 14 and stime field 15.
      return (Number(fields[11]) + Number(fields[12])) / userHz;
    } catch {
      return NaN;
    }
  }

  /** Resident set size in MB, or NaN. */
  rssMegabytes(): number {
    const pid = this.child?.pid;
    if (pid === undefined) return NaN;
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : NaN;
    } catch {
      return NaN;
    }
  }

  async status(): Promise<BenchNodeStatus | null> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.metricsPort}/status`, { signal: AbortSignal.timeout(2000) });
      return (await res.json()) as BenchNodeStatus;
    } catch {
      return null;
    }
  }

  /** The node's Prometheus text (/metrics), or null when it does not answer. */
  async metrics(): Promise<string | null> {
    try {
      return await (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    } catch {
      return null;
    }
  }
}

export class BenchCluster {
  readonly root: string;
  readonly nodes: BenchNode[];
  readonly controllers: string;
  readonly options: BenchClusterOptions;
  /** With `secure`: the CA, node certificates, the admin's password and client.properties (in the data directory). */
  readonly secure: SecureLocalFiles | null;

  constructor(options: BenchClusterOptions) {
    this.options = options;
    this.root = mkdtempSync(join(tmpdir(), 'flotilla-bench-'));
    this.secure = options.secure ? prepareSecureLocal(this.root, options.nodes, '127.0.0.1') : null;
    this.nodes = Array.from({ length: options.nodes }, (_, i) => new BenchNode(i + 1, join(this.root, `node-${i + 1}`), options.basePort));
    this.controllers = this.nodes.slice(0, 3).map((n) => `${n.id}@127.0.0.1:${n.peerPort}`).join(',');
  }

  get bootstrap(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.clientPort}`).join(',');
  }

  /** The `flotilla start` arguments of one node (printed as the parameters of the run). */
  startArgs(n: BenchNode): string[] {
    return [
      'start', '--node-id', String(n.id), '--data-dir', n.dir,
      ...(this.secure === null ? ['--listen', `127.0.0.1:${n.clientPort}`] : secureNodeArgs(this.secure, n.id, '127.0.0.1', n.clientPort)), '--peer-listen', `127.0.0.1:${n.peerPort}`,
      '--metrics-listen', `127.0.0.1:${n.metricsPort}`, '--controllers', this.controllers,
      '--log-level', 'warn', this.options.fsync ? '--fsync' : '--no-fsync', ...(this.options.extraArgs ?? []),
    ];
  }

  /** startArgs plus --stop-with-stdin: a node stops by itself if this process dies (its stdin closes). */
  private spawnArgs(n: BenchNode): string[] {
    return [...this.startArgs(n), '--stop-with-stdin'];
  }

  async start(timeoutMs = 30_000): Promise<void> {
    for (const n of this.nodes) {
      const child = spawn(process.execPath, [...(this.options.nodeArgs?.(n.id) ?? []), binPath, ...this.spawnArgs(n)], { stdio: ['pipe', 'pipe', 'pipe'] });
      const keep = (d: Buffer): void => {
        n.output += d.toString();
        if (n.output.length > 400_000) n.output = n.output.slice(-200_000);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      n.child = child;
    }
    await until(async () => {
      const st = await Promise.all(this.nodes.map((n) => n.status()));
      return st.every((s) => s?.serving === true);
    }, timeoutMs, 'every node serving');
  }

  /** Sum of the nodes' CPU seconds. */
  cpuSeconds(): number {
    return this.nodes.reduce((s, n) => s + n.cpuSeconds(), 0);
  }

  /** Waits until every partition of `topic` has a leader that every node agrees on. */
  async topicReady(topic: string, partitions: number, timeoutMs = 30_000): Promise<void> {
    await until(async () => {
      const st = await Promise.all(this.nodes.map((n) => n.status()));
      for (let p = 0; p < partitions; p++) {
        const views = st.map((s) => s?.partitions.find((x) => x.topic === topic && x.partition === p));
        const leader = views[0]?.leader ?? 0;
        if (leader <= 0 || views.some((v) => v === undefined || v.leader !== leader)) return false;
        if (!views.some((v) => v?.role === 'leader')) return false;
      }
      return true;
    }, timeoutMs, `leaders of ${topic}`);
  }

  /** Node output (last lines), for a failure report. */
  tail(chars = 4000): string {
    return this.nodes.map((n) => `----- node ${n.id} -----\n${n.output.slice(-chars)}`).join('\n');
  }

  /** SIGTERM, then SIGKILL after `graceMs`; removes the data directory. */
  async stop(graceMs = 10_000): Promise<void> {
    await Promise.all(this.nodes.map((n) => stopChild(n.child, graceMs)));
    for (const n of this.nodes) n.child = null;
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Stops one child process that this script started: SIGTERM, then SIGKILL after graceMs. */
export function stopChild(child: ChildProcess | null, graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child === null || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
