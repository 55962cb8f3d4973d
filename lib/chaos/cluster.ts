/**
 * A chaos cluster: real `flotilla start` processes on loopback whose every peer link runs through
 * a LinkProxy (proxy.ts). Node x reaches node y < x (x dials y: the higher id dials) through the
 * proxy (x, y): its `--controllers` entries and its `--peer-addresses` for other nodes point there;
 * its own controllers entry is its real peer port. Kafka clients reach the nodes directly.
 *
 * Ports from `basePort`: client base+id, peer base+100+id, metrics base+200+id, proxy (x, y)
 * base+300+10x+y. Each node's stdout/stderr go to `<runDir>/node-<id>.log`; its data to
 * `<runDir>/data/node-<id>`.
 *
 * With `secure`, the cluster is secured as `flotilla local --secure` secures one (lib/cli/secure-local.ts,
 * files in `<runDir>/tls` and `<runDir>/client.properties`): the peer transport runs over mutual
 * TLS with node-id-bound certificates (--peer-tls-*), and each node's one client listener (the
 * client port) is SASL_SSL with the same certificate, SCRAM-SHA-512 and PLAIN, the authorizer on
 * and one super user whose SCRAM credential --add-scram writes when the metadata log is created
 * (`clientSecurity`: what the chaos clients log in with). The proxies forward bytes, so peer TLS
 * goes through them unchanged (the node id, not the host, is checked); clients reach the nodes
 * directly, as in plaintext.
 *
 * With `diskBytes` (the disk-full fault), each node's data dir is a tmpfs of that size, mounted
 * before the node starts (root only: `probeDiskFaults` says why not). Filling it (`fillDisk`)
 * shrinks the tmpfs to what is used plus a little and writes a ballast file into the rest, so the
 * node's next write fails with ENOSPC; `freeDisk` deletes the ballast and gives the size back.
 * `releaseDisks` (after the nodes stopped) copies each tmpfs into the run folder and unmounts it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  type WriteStream, closeSync, cpSync, createWriteStream, mkdirSync, openSync, readFileSync, renameSync, rmSync, rmdirSync, statfsSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { SECURE_LOCAL_MECHANISM, SECURE_LOCAL_USER, prepareSecureLocal, secureNodeArgs } from '../cli/secure-local.js';
import { LinkProxy, type LinkMode, PASS } from './proxy.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;

export interface PartitionStatus {
  topic: string;
  partition: number;
  role: string;
  leader: number;
  term: number;
  commitIndex: number;
  highWatermark: number;
  logEndOffset: number;
  voters: number[];
}

export interface NodeStatus {
  nodeId: number;
  serving: boolean;
  fenced: boolean;
  metadata: { role: string; term: number; leader: number; commitIndex: number; appliedIndex: number; controller: boolean; voters: number[] };
  partitions: PartitionStatus[];
}

/** Node processes still running: killed (SIGKILL) if this process exits first, so none is left behind. */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** tmpfs mounts still mounted: lazily unmounted if this process exits first. */
const liveMounts = new Set<string>();
process.on('exit', () => {
  for (const dir of liveMounts) spawnSync('umount', ['-l', dir]);
});

function run(cmd: string, args: readonly string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return `${cmd}: ${r.error.message}`;
  return r.status === 0 ? null : `${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout || `exit ${r.status}`).trim()}`;
}

/**
 * Null when this machine can give a node a disk of its own to fill (mount a tmpfs: root, or
 * CAP_SYS_ADMIN), else the reason it cannot.
 */
export function probeDiskFaults(scratchDir: string): string | null {
  if (process.platform !== 'linux') return `disk-full needs Linux (tmpfs mounts); this is ${process.platform}`;
  const dir = join(scratchDir, '.disk-probe');
  mkdirSync(dir, { recursive: true });
  const failed = run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  if (failed === null) run('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
  return failed === null ? null : `disk-full needs to mount a tmpfs per node (root or CAP_SYS_ADMIN): ${failed}`;
}

/** Kills `child` if this process exits while it runs. */
export function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.on('exit', () => liveChildren.delete(child));
}

export class ChaosNode {
  readonly id: number;
  readonly dataDir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly metricsPort: number;
  /** Counts process lives: 0 for the first start. */
  incarnation = -1;
  paused = false;
  /** Every process life that ended without the runner asking (a crash, a fatal error): when (performance.now()) and how. */
  readonly crashes: { life: number; code: number | null; signal: string | null; atMs: number }[] = [];
  /** Called when a process life ends without the runner asking. */
  onCrash: ((life: number) => void) | null = null;
  private stopping = false;
  private child: ChildProcess | null = null;
  private readonly log: WriteStream;
  private readonly args: string[];

  constructor(id: number, runDir: string, basePort: number, args: string[]) {
    this.id = id;
    this.dataDir = join(runDir, 'data', `node-${id}`);
    this.clientPort = basePort + id;
    this.peerPort = basePort + 100 + id;
    this.metricsPort = basePort + 200 + id;
    this.log = createWriteStream(join(runDir, `node-${id}.log`), { flags: 'a' });
    this.args = args;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  start(): void {
    if (this.running) return;
    this.incarnation++;
    this.paused = false;
    this.log.write(`----- start (life ${this.incarnation}) at ${new Date().toISOString()} -----\n`);
    const child = spawn(process.execPath, [BIN, 'start', ...this.args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => this.log.write(d));
    child.stderr!.on('data', (d: Buffer) => this.log.write(d));
    trackChild(child);
    const life = this.incarnation;
    this.stopping = false;
    child.on('exit', (code, signal) => {
      if (!this.stopping) {
        this.crashes.push({ life, code, signal, atMs: performance.now() });
        this.onCrash?.(life);
      }
      this.log.write(`----- exit code ${code} signal ${signal} at ${new Date().toISOString()} -----\n`);
    });
    this.child = child;
  }

  /** Sends a signal to this node's own process (never by name). */
  signal(sig: NodeJS.Signals): void {
    if (this.child && this.running) this.child.kill(sig);
  }

  pause(): void {
    if (!this.running || this.paused) return;
    this.signal('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.signal('SIGCONT');
    this.paused = false;
  }

  /** kill -9 (default) or SIGTERM with a SIGKILL after `graceMs`. Resolves when the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGKILL', graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (this.paused) this.resume();
    this.stopping = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    if (signal !== 'SIGKILL') {
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    } else {
      await exited;
    }
  }

  async status(timeoutMs = 1000): Promise<NodeStatus | null> {
    if (!this.running || this.paused) return null;
    try {
      const res = await fetch(`http://127.0.0.1:${this.metricsPort}/status`, { signal: AbortSignal.timeout(timeoutMs) });
      const st = (await res.json()) as Partial<NodeStatus> | null;
      // A node still starting (or stopping) may answer with less: only a whole status counts.
      if (!st || typeof st !== 'object' || !Array.isArray(st.partitions) || !st.metadata || typeof st.metadata !== 'object') return null;
      return st as NodeStatus;
    } catch {
      return null;
    }
  }

  closeLog(): Promise<void> {
    return new Promise((resolve) => this.log.end(() => resolve()));
  }
}

export interface ChaosClusterOptions {
  readonly size: number;
  readonly runDir: string;
  readonly basePort: number;
  readonly tickMs?: number;
  readonly extraArgs?: readonly string[];
  /** Give each node a tmpfs of this many bytes as its data dir (for disk-full faults). */
  readonly diskBytes?: number;
  /** Peer mutual TLS, SASL_SSL client listeners, the authorizer (files made in `<runDir>/tls`). */
  readonly secure?: boolean;
}

/** How a client logs in to a secure chaos cluster: TLS trusting the run's CA, then SCRAM-SHA-512. */
export interface ChaosClientSecurity {
  /** The run's CA certificate (PEM file and text): it signs every node's certificate. */
  readonly caFile: string;
  readonly caPem: string;
  readonly mechanism: typeof SECURE_LOCAL_MECHANISM;
  /** A super user (--super-users), so the authorizer allows every request of the workload. */
  readonly username: string;
  readonly password: string;
  /** librdkafka's settings (security.protocol, sasl.*, ssl.ca.location) for `kcat -F`; 0600. */
  readonly clientProperties: string;
}

const BALLAST = 'chaos-ballast';
/** Room left beside what a node uses when its disk is shrunk; the ballast takes it. */
const DISK_SLACK_BYTES = 1 << 20;

export class ChaosCluster {
  readonly nodes: ChaosNode[];
  /** Key `${dialer}>${acceptor}` (dialer > acceptor). */
  readonly proxies = new Map<string, LinkProxy>();
  /** Null: plaintext client listeners. */
  readonly clientSecurity: ChaosClientSecurity | null;
  private readonly basePort: number;
  private readonly diskBytes: number | null;
  private readonly mounted = new Set<number>();

  constructor(options: ChaosClusterOptions) {
    this.basePort = options.basePort;
    this.diskBytes = options.diskBytes ?? null;
    mkdirSync(join(options.runDir, 'data'), { recursive: true });
    const ids = Array.from({ length: options.size }, (_, i) => i + 1);
    const controllerIds = ids.slice(0, Math.min(3, options.size));
    const secure = options.secure ? prepareSecureLocal(options.runDir, options.size, '127.0.0.1') : null;
    this.clientSecurity = secure === null ? null : {
      caFile: secure.caFile, caPem: readFileSync(secure.caFile, 'utf8'), mechanism: SECURE_LOCAL_MECHANISM, username: SECURE_LOCAL_USER,
      password: readFileSync(secure.passwordFile, 'utf8').trim(), clientProperties: secure.clientProperties,
    };
    this.nodes = ids.map((id) => {
      const peerOf = (other: number): string => `127.0.0.1:${other === id ? options.basePort + 100 + id : other < id ? this.proxyPort(id, other) : options.basePort + 100 + other}`;
      const controllers = controllerIds.map((c) => `${c}@${peerOf(c)}`).join(',');
      const peerAddresses = ids.filter((o) => o !== id).map((o) => `${o}@${peerOf(o)}`).join(',');
      const args = [
        '--node-id', String(id), '--data-dir', join(options.runDir, 'data', `node-${id}`),
        ...(secure === null ? ['--listen', `127.0.0.1:${options.basePort + id}`] : secureNodeArgs(secure, id, '127.0.0.1', options.basePort + id)),
        '--peer-listen', `127.0.0.1:${options.basePort + 100 + id}`,
        '--metrics-listen', `127.0.0.1:${options.basePort + 200 + id}`, '--controllers', controllers,
        '--peer-addresses', peerAddresses, '--tick-ms', String(options.tickMs ?? 50), ...(options.extraArgs ?? []),
      ];
      return new ChaosNode(id, options.runDir, options.basePort, args);
    });
    for (const x of ids) {
      for (const y of ids) {
        if (y >= x) continue;
        this.proxies.set(`${x}>${y}`, new LinkProxy({ dialer: x, acceptor: y, listenPort: this.proxyPort(x, y), target: { host: '127.0.0.1', port: options.basePort + 100 + y } }));
      }
    }
  }

  private proxyPort(dialer: number, acceptor: number): number {
    return this.basePort + 300 + dialer * 10 + acceptor;
  }

  node(id: number): ChaosNode {
    return this.nodes[id - 1]!;
  }

  get bootstrap(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.clientPort}`);
  }

  async start(): Promise<void> {
    if (this.diskBytes !== null) {
      for (const n of this.nodes) {
        mkdirSync(n.dataDir, { recursive: true });
        const failed = run('mount', ['-t', 'tmpfs', '-o', `size=${this.diskBytes},mode=0755`, 'tmpfs', n.dataDir]);
        if (failed !== null) throw new Error(`cannot give node ${n.id} a disk of its own: ${failed}`);
        this.mounted.add(n.id);
        liveMounts.add(n.dataDir);
      }
    }
    for (const p of this.proxies.values()) await p.start();
    for (const n of this.nodes) n.start();
  }

  /** Fills node `id`'s disk: its next write that needs space fails with ENOSPC. Returns the ballast's size. */
  fillDisk(id: number): number {
    const n = this.node(id);
    if (!this.mounted.has(id)) throw new Error(`node ${id} has no disk of its own (run with diskBytes)`);
    // Shrink the tmpfs to what is used now plus a little (the node keeps writing: retry if it grew).
    for (let attempt = 0; ; attempt++) {
      const st = statfsSync(n.dataDir);
      const used = (st.blocks - st.bfree) * st.bsize;
      const size = Math.ceil((used + DISK_SLACK_BYTES) / 4096) * 4096;
      const failed = run('mount', ['-o', `remount,size=${size}`, n.dataDir]);
      if (failed === null) break;
      if (attempt >= 10) throw new Error(`cannot shrink node ${id}'s disk: ${failed}`);
    }
    const fd = openSync(join(n.dataDir, BALLAST), 'w');
    const chunk = Buffer.alloc(64 * 1024);
    let written = 0;
    try {
      for (;;) written += writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    } finally {
      closeSync(fd);
    }
    return written;
  }

  /** Gives node `id` its space back. */
  freeDisk(id: number): void {
    const n = this.node(id);
    if (!this.mounted.has(id)) return;
    rmSync(join(n.dataDir, BALLAST), { force: true });
    const failed = run('mount', ['-o', `remount,size=${this.diskBytes}`, n.dataDir]);
    if (failed !== null) throw new Error(`cannot give node ${id} its space back: ${failed}`);
  }

  /** After the nodes stopped: copies every tmpfs data dir into the run folder and unmounts it. */
  releaseDisks(): void {
    for (const id of [...this.mounted]) {
      const n = this.node(id);
      const copy = `${n.dataDir}.copy`;
      rmSync(join(n.dataDir, BALLAST), { force: true });
      cpSync(n.dataDir, copy, { recursive: true });
      let failed = run('umount', [n.dataDir]);
      if (failed !== null) failed = run('umount', ['-l', n.dataDir]);
      if (failed !== null) throw new Error(`cannot unmount node ${id}'s disk: ${failed}`);
      this.mounted.delete(id);
      liveMounts.delete(n.dataDir);
      rmdirSync(n.dataDir);
      renameSync(copy, n.dataDir);
    }
  }

  /**
   * Cuts the given directed links (bytes from a to b) and heals every other one.
   * `style` blackhole: bytes swallowed; refuse: connections reset. `delayMs`: delay instead of cut.
   */
  setLinks(cut: readonly (readonly [number, number])[], style: 'blackhole' | 'refuse' | 'delay', delayMs = 0): void {
    const cutSet = new Set(cut.map(([a, b]) => `${a}>${b}`));
    for (const p of this.proxies.values()) {
      const toAcceptor = cutSet.has(`${p.dialer}>${p.acceptor}`);
      const toDialer = cutSet.has(`${p.acceptor}>${p.dialer}`);
      let mode: LinkMode = PASS;
      if (toAcceptor || toDialer) {
        if (style === 'refuse' && toAcceptor && toDialer) mode = { toAcceptor: 'pass', toDialer: 'pass', refuse: true };
        else {
          const m = style === 'delay' ? 'delay' as const : 'drop' as const;
          mode = { toAcceptor: toAcceptor ? m : 'pass', toDialer: toDialer ? m : 'pass', delayMs };
        }
      }
      p.set(mode);
    }
  }

  healLinks(): void {
    for (const p of this.proxies.values()) p.set(PASS);
  }

  statuses(): Promise<(NodeStatus | null)[]> {
    return Promise.all(this.nodes.map((n) => n.status()));
  }

  /** Stops every node (SIGTERM, then SIGKILL after the grace period) and every proxy. */
  async shutdown(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(signal)));
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    await Promise.all(this.nodes.map((n) => n.closeLog()));
  }
}
