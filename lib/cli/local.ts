/**
 * `flotilla local --nodes 3 [--data-dir ./data] [--port 9092]`: a whole cluster on this machine,
 * one `flotilla start` child process per node.
 *
 * Node i (1..N): data dir DATA/node-i, client port PORT+i-1, peer port PORT+10000+i-1, metrics
 * port PORT+2000+i-1; the controllers are the first min(3, N) nodes. Each child's output lines are
 * printed with a `[node i]` prefix (or appended to DATA/node-i.log with --log-files). The banner
 * (bootstrap servers, one line per node) is printed once the cluster is ready for clients: every
 * node serving, registered and unfenced in every node's metadata (`clusterReady`, admin.ts).
 *
 * Ctrl-C (SIGINT) or SIGTERM stops every child: SIGTERM, then SIGKILL after --stop-timeout-ms; a
 * second Ctrl-C kills at once. A child that dies is reported and the others keep running; when
 * none is left, `local` exits 1. Children run in their own process group (so a terminal's Ctrl-C
 * reaches only this process, which stops them in order) and stop by themselves when this process
 * goes away (their stdin closes).
 *
 * `--secure` (secure-local.ts): a fresh CA and node certificates in DATA/tls/ (kept across runs),
 * peer mutual TLS, one SASL_SSL client listener per node (SCRAM-SHA-512 and PLAIN), an `admin`
 * user with a random password (DATA/tls/admin.password, 0600) who is the only super user, the
 * authorizer on; DATA/client.properties holds the client settings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { logLevels } from '../app/config.js';
import { clusterReady, fetchStatus } from './admin.js';
import { type SecureLocalFiles, prepareSecureLocal, secureBanner, secureNodeArgs } from './secure-local.js';
import { CliError, ExitCode, intOption, printLine, reportFailure } from './output.js';

/** `flotilla local` runs at most this many nodes (ports are counted up from --port). */
export const localNodesMax = 64;
const peerPortOffset = 10_000;
const metricsPortOffset = 2_000;
/** Controller voters: the first three nodes, or all of them if fewer. */
const controllerCount = 3;

export interface LocalNodePlan {
  readonly nodeId: number;
  readonly dataDir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly metricsPort: number;
  /** Arguments after `flotilla` for this node. */
  readonly args: readonly string[];
}

export interface LocalPlanOptions {
  readonly nodes: number;
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  readonly logLevel?: string;
  readonly fsync?: boolean;
  /** `--secure`: the files secure-local.ts made (TLS, SASL, authorizer arguments per node). */
  readonly secure?: SecureLocalFiles;
}

/** The nodes of a local cluster and the `start` arguments of each (pure; tested). */
export function planLocalCluster(o: LocalPlanOptions): readonly LocalNodePlan[] {
  if (o.nodes < 1 || o.nodes > localNodesMax) throw new CliError(`--nodes must be 1..${localNodesMax}`, ExitCode.usage);
  const last = o.port + peerPortOffset + o.nodes - 1;
  if (o.port < 1 || last > 65535) throw new CliError(`--port ${o.port} leaves no room for ${o.nodes} nodes (peer ports reach ${last} > 65535)`, ExitCode.usage);
  const ids = Array.from({ length: o.nodes }, (_, i) => i + 1);
  const controllers = ids.slice(0, controllerCount).map((id) => `${id}@${o.host}:${o.port + peerPortOffset + id - 1}`).join(',');
  const replicationFactor = Math.min(3, o.nodes);
  return ids.map((id) => {
    const clientPort = o.port + id - 1;
    const peerPort = o.port + peerPortOffset + id - 1;
    const metricsPort = o.port + metricsPortOffset + id - 1;
    const dataDir = resolve(o.dataDir, `node-${id}`);
    const args = [
      'start',
      '--node-id', String(id),
      '--data-dir', dataDir,
      ...(o.secure ? secureNodeArgs(o.secure, id, o.host, clientPort) : ['--listen', `${o.host}:${clientPort}`]),
      '--peer-listen', `${o.host}:${peerPort}`,
      '--metrics-listen', `${o.host}:${metricsPort}`,
      '--controllers', controllers,
      '--default-replication-factor', String(replicationFactor),
      ...(o.logLevel === undefined ? [] : ['--log-level', o.logLevel]),
      ...(o.fsync === false ? ['--no-fsync'] : []),
      '--stop-with-stdin',
    ];
    return { nodeId: id, dataDir, clientPort, peerPort, metricsPort, args };
  });
}

interface LocalOptions {
  nodes: number;
  dataDir: string;
  port: number;
  host: string;
  logLevel?: string;
  logFiles?: boolean;
  fsync: boolean;
  stopTimeoutMs: number;
  secure?: boolean;
}

export function registerLocal(program: Command): void {
  program
    .command('local')
    .description('run a whole cluster on this machine, one process per node (Ctrl-C stops it)')
    .option('-n, --nodes <n>', 'number of nodes', intOption('--nodes', 1, localNodesMax), 3)
    .option('-d, --data-dir <dir>', 'data directory (node i uses DIR/node-i)', './data')
    .option('-p, --port <port>', 'client port of node 1; node i listens on PORT+i-1', intOption('--port', 1, 65535), 9092)
    .option('--host <host>', 'address every node listens on', '127.0.0.1')
    .option('--log-level <level>', `log level of the nodes (${logLevels.join(', ')})`)
    .option('--log-files', 'append each node\'s log to DATA/node-i.log instead of printing it')
    .option('--no-fsync', 'do not fsync (faster; data may be lost on power failure)')
    .option('--secure', 'TLS and SASL: a CA and node certificates in DATA/tls, peer mutual TLS, SASL_SSL listeners, an admin user, the authorizer on; writes DATA/client.properties')
    .option('--stop-timeout-ms <ms>', 'time a node gets to stop before it is killed', intOption('--stop-timeout-ms', 0, 600_000), 15_000)
    .action(async (opts: LocalOptions) => {
      try {
        await runLocal(opts);
      } catch (err) {
        reportFailure('local', err, (e) => (e instanceof Error ? e.message : String(e)));
      }
    });
}

interface Child {
  readonly plan: LocalNodePlan;
  readonly process: ChildProcess;
  readonly log: WriteStream | null;
  exited: boolean;
  readonly exit: Promise<void>;
}

/** The bin shim, from dist/lib/cli/local.js. */
const binPath = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));

async function runLocal(opts: LocalOptions): Promise<void> {
  if (opts.logLevel !== undefined && !(logLevels as readonly string[]).includes(opts.logLevel)) {
    throw new CliError(`invalid --log-level ${JSON.stringify(opts.logLevel)}: one of ${logLevels.join(', ')}`, ExitCode.usage);
  }
  const dataDir = resolve(opts.dataDir);
  planLocalCluster({ nodes: opts.nodes, dataDir, port: opts.port, host: opts.host }); // usage errors before any file is made
  mkdirSync(dataDir, { recursive: true });
  const secure = opts.secure === true ? prepareSecureLocal(dataDir, opts.nodes, opts.host) : undefined;
  const plans = planLocalCluster({ nodes: opts.nodes, dataDir, port: opts.port, host: opts.host, logLevel: opts.logLevel, fsync: opts.fsync, ...(secure ? { secure } : {}) });

  let stopping = false;
  const children: Child[] = plans.map((plan) => spawnNode(plan, dataDir, opts.logFiles === true, () => stopping, (child, code, signal) => {
    if (stopping) return;
    process.stderr.write(`flotilla local: node ${child.plan.nodeId} exited (${signal === null ? `code ${code}` : `signal ${signal}`}); the other nodes keep running\n`);
    if (children.every((c) => c.exited)) {
      process.stderr.write('flotilla local: every node has exited\n');
      void endLogs(children).then(() => process.exit(ExitCode.failed));
    }
  }));

  process.stderr.write(`flotilla local: starting ${plans.length} node${plans.length === 1 ? '' : 's'}, data in ${dataDir}${opts.logFiles ? `, logs in ${resolve(dataDir, 'node-<i>.log')}` : ''}; the bootstrap servers follow once every node serves\n`);
  // The banner only once a client can use the whole cluster: before it, a topic of replication
  // factor N could be refused (INVALID_REPLICATION_FACTOR) while a node is not yet unfenced.
  void whenReady(plans, opts.host, () => stopping).then((ready) => {
    if (!ready) return;
    printLine(`Flotilla local cluster: ${plans.length} node${plans.length === 1 ? '' : 's'}, data in ${dataDir}`);
    printLine(`  bootstrap servers: ${plans.map((p) => `${opts.host}:${p.clientPort}`).join(',')}`);
    printLine(`  controllers:       ${plans.slice(0, controllerCount).map((p) => `node ${p.nodeId}`).join(', ')}`);
    for (const p of plans) printLine(`  node ${p.nodeId}: client ${opts.host}:${p.clientPort}  metrics http://${opts.host}:${p.metricsPort}/metrics${opts.logFiles ? `  log ${resolve(dataDir, `node-${p.nodeId}.log`)}` : ''}`);
    if (secure) for (const line of secureBanner(secure, plans.map((p) => `${opts.host}:${p.clientPort}`))) printLine(line);
    printLine('Press Ctrl-C to stop.');
  });

  const stopAll = async (signal: string) => {
    if (stopping) {
      process.stderr.write('flotilla local: killing the nodes\n');
      for (const c of children) if (!c.exited) c.process.kill('SIGKILL');
      return;
    }
    stopping = true;
    const live = children.filter((c) => !c.exited);
    process.stderr.write(`flotilla local: ${signal}: stopping ${live.length} node${live.length === 1 ? '' : 's'}\n`);
    for (const c of live) c.process.kill('SIGTERM');
    const killTimer = setTimeout(() => {
      for (const c of children) {
        if (!c.exited) {
          process.stderr.write(`flotilla local: node ${c.plan.nodeId} did not stop in ${opts.stopTimeoutMs} ms: killing it\n`);
          c.process.kill('SIGKILL');
        }
      }
    }, opts.stopTimeoutMs);
    await Promise.all(children.map((c) => c.exit));
    clearTimeout(killTimer);
    await endLogs(children);
    process.stderr.write('flotilla local: stopped\n');
    process.exit(ExitCode.ok);
  };
  process.on('SIGINT', () => void stopAll('SIGINT'));
  process.on('SIGTERM', () => void stopAll('SIGTERM'));
  // If this process ends any other way, do not leave the nodes running (they also stop when their stdin closes).
  process.on('exit', () => {
    for (const c of children) if (!c.exited) c.process.kill('SIGKILL');
  });
  await new Promise<never>(() => undefined); // runs until a signal or every node has exited
}

/** How often `local` reads the nodes' /status until the cluster is ready. */
const readyPollMs = 200;
/** After this long without the cluster ready, `local` says which nodes it waits for (once). */
const readyHintMs = 30_000;

/**
 * Resolves true once the cluster is ready for clients (`clusterReady`: every node serving, and
 * registered and unfenced in every node's metadata), false if `local` stops first.
 */
async function whenReady(plans: readonly LocalNodePlan[], host: string, isStopping: () => boolean): Promise<boolean> {
  const ids = plans.map((p) => p.nodeId);
  const started = Date.now();
  let hinted = false;
  while (!isStopping()) {
    const statuses = await Promise.all(plans.map((p) => fetchStatus(p.nodeId, host, p.metricsPort, 1000)));
    if (clusterReady(statuses, ids)) return true;
    if (!hinted && Date.now() - started > readyHintMs) {
      hinted = true;
      const notServing = statuses.filter((s) => !clusterReady([s], [s.nodeId])).map((s) => s.nodeId);
      process.stderr.write(`flotilla local: still waiting for every node to serve and be unfenced${notServing.length > 0 ? ` (not serving yet: node ${notServing.join(', ')})` : ''}\n`);
    }
    await new Promise((r) => setTimeout(r, readyPollMs));
  }
  return false;
}

/** Flushes and closes the log files (before exiting, so no line is lost). */
function endLogs(children: readonly Child[]): Promise<unknown> {
  return Promise.all(children.map((c) => (c.log === null || c.log.closed ? Promise.resolve() : new Promise<void>((r) => c.log?.end(r)))));
}

function spawnNode(
  plan: LocalNodePlan,
  dataDir: string,
  logFiles: boolean,
  isStopping: () => boolean,
  onUnexpectedExit: (child: Child, code: number | null, signal: NodeJS.Signals | null) => void,
): Child {
  const proc = spawn(process.execPath, [binPath, ...plan.args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // own process group: a terminal's Ctrl-C goes to `local`, which stops the nodes in order
    env: process.env,
  });
  const log = logFiles ? createWriteStream(resolve(dataDir, `node-${plan.nodeId}.log`), { flags: 'a' }) : null;
  const prefix = `[node ${plan.nodeId}] `;
  for (const stream of [proc.stdout, proc.stderr]) {
    if (stream === null) continue;
    if (log !== null) {
      stream.pipe(log, { end: false });
    } else {
      const out = stream === proc.stderr ? process.stderr : process.stdout;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => out.write(`${prefix}${line}\n`));
    }
  }
  let resolveExit: () => void = () => undefined;
  const child: Child = { plan, process: proc, log, exited: false, exit: new Promise<void>((r) => { resolveExit = r; }) };
  proc.on('error', (err) => {
    process.stderr.write(`flotilla local: node ${plan.nodeId}: ${err.message}\n`);
  });
  proc.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
    child.exited = true;
    resolveExit();
    if (isStopping()) {
      if (code !== 0) process.stderr.write(`flotilla local: node ${plan.nodeId} stopped (${signal === null ? `code ${code}` : `signal ${signal}`})\n`);
      return;
    }
    onUnexpectedExit(child, code, signal);
  });
  return child;
}
