/**
 * `npm run bench:raft -- [--json] [--entries N] [--inflight N] [--entry-bytes N] [--peers] [--peers-dir DIR] [--profile DIR]`
 *
 * A 3-node Raft group of real processes on loopback (real TCP, real segment files and LevelDB in a
 * temporary directory), 1 KiB entries, many proposals in flight, measured on the leader: entries/s,
 * MB/s, p50/p99 commit latency — once with fsync on (the default: durable before acknowledged) and
 * once with fsync off. It prints its parameters, the machine and the figures; it asserts nothing.
 * `--peers` also runs etcd 3.4's own saturation check (`../shared/bench/etcd.sh perfl`: 3 members,
 * fsync per commit, 1 KiB values) in the same run and prints the ratio of the fsync-on rate to
 * etcd's put rate; without etcd here it uses the figure recorded in ../shared/bench/RESULTS.md.
 * `--profile DIR` runs each node with --cpu-prof (one .cpuprofile per process and pass, in DIR).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type PeerFigure, peersUnavailable, recordedEtcdSaturation, runEtcdSaturation } from './bench-peers.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    entries: { type: 'string', default: '50000' },
    inflight: { type: 'string', default: '256' },
    'entry-bytes': { type: 'string', default: '1024' },
    'base-port': { type: 'string', default: '17400' },
    peers: { type: 'boolean', default: false },
    profile: { type: 'string' },
    'peers-dir': { type: 'string', default: fileURLToPath(new URL('../../../shared/bench', import.meta.url)) },
  },
});
const entries = Number(values.entries);
const inflight = Number(values.inflight);
const entryBytes = Number(values['entry-bytes']);
const basePort = Number(values['base-port']);

interface Figures {
  fsync: boolean;
  entries: number;
  errors: number;
  entriesPerSecond: number;
  megabytesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** CPU time of the three processes per entry, in microseconds (load-independent, unlike the rate). */
  cpuMicrosPerEntry: number;
}

/** utime + stime of a process in seconds (/proc/PID/stat, USER_HZ 100), NaN when unknown. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function runOnce(fsync: boolean, round: number): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-raft-'));
  const ports = [1, 2, 3].map((i) => basePort + round * 10 + i);
  const children: ChildProcess[] = [];
  const leaderElected = new Promise<ChildProcess>((resolve) => {
    for (let i = 1; i <= 3; i++) {
      const child = fork(new URL('./bench-raft-node.js', import.meta.url), [String(i), join(dir, `n${i}`), ports.join(','), String(fsync)], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: values.profile !== undefined ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [],
      });
      child.on('message', (m: { type: string }) => {
        if (m.type === 'leader') resolve(child);
      });
      children.push(child);
    }
  });
  try {
    const l = await leaderElected;
    // Warm up (JIT, connections), then measure.
    await load(l, Math.min(2000, entries), inflight);
    const cpu = (): number => children.reduce((sum, c) => sum + cpuSeconds(c.pid), 0);
    const cpu0 = cpu();
    const result = await load(l, entries, inflight);
    const cpuMicros = ((cpu() - cpu0) * 1e6) / Math.max(1, result.latenciesMs.length);
    const sorted = result.latenciesMs.sort((a, b) => a - b);
    const eps = result.latenciesMs.length / result.seconds;
    return {
      fsync, entries: result.latenciesMs.length, errors: result.errors,
      entriesPerSecond: Math.round(eps),
      megabytesPerSecond: Number(((eps * entryBytes) / 1e6).toFixed(1)),
      p50Ms: Number(quantile(sorted, 0.5).toFixed(2)),
      p99Ms: Number(quantile(sorted, 0.99).toFixed(2)),
      p999Ms: Number(quantile(sorted, 0.999).toFixed(2)),
      cpuMicrosPerEntry: Number(cpuMicros.toFixed(1)),
    };
  } finally {
    for (const c of children) c.send({ type: 'stop' });
    await Promise.all(children.map((c) => new Promise((r) => {
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
      c.on('exit', () => {
        clearTimeout(timer);
        r(undefined);
      });
    })));
    rmSync(dir, { recursive: true, force: true });
  }
}

function load(child: ChildProcess, count: number, inFlight: number): Promise<{ seconds: number; latenciesMs: number[]; errors: number }> {
  return new Promise((resolve) => {
    const onMessage = (m: { type: string; seconds: number; latenciesMs: number[]; errors: number }): void => {
      if (m.type !== 'result') return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.send({ type: 'load', entries: count, inflight: inFlight, entryBytes });
  });
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`;
if (!values.json) {
  console.log(`bench:raft — 3 processes on loopback, ${entries} entries of ${entryBytes} B, ${inflight} proposals in flight`);
  console.log(`machine: ${machine}`);
}
const results: Figures[] = [];
for (const [round, fsync] of [true, false].entries()) {
  const r = await runOnce(fsync, round);
  results.push(r);
  if (!values.json) {
    console.log(`fsync ${fsync ? 'on ' : 'off'}: ${r.entriesPerSecond} entries/s, ${r.megabytesPerSecond} MB/s, commit latency p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, p999 ${r.p999Ms} ms, ${r.cpuMicrosPerEntry} µs of CPU per entry (3 processes) (${r.errors} errors)`);
  }
}
let etcd: (PeerFigure & { ratio?: number }) | null = null;
if (values.peers) {
  const dir = values['peers-dir']!;
  const log = (line: string): void => void (values.json ? process.stderr : process.stdout).write(`${line}\n`);
  const why = peersUnavailable(dir);
  if (why === null) {
    try {
      etcd = await runEtcdSaturation(dir, log);
    } catch (err) {
      log(`peers: etcd.sh perfl failed (${err instanceof Error ? err.message : String(err)}); using RESULTS.md`);
    }
  } else {
    log(`peers: cannot run etcd here (${why}); using RESULTS.md`);
  }
  etcd ??= recordedEtcdSaturation(dir);
  const ours = results[0]?.entriesPerSecond;
  if (etcd?.recordsPerSecond !== undefined && ours !== undefined) etcd = { ...etcd, ratio: Number((ours / etcd.recordsPerSecond).toFixed(1)) };
  if (!values.json) {
    console.log(etcd === null
      ? 'etcd: no figure'
      : `etcd: ${etcd.recordsPerSecond} puts/s (${etcd.label}; ${etcd.source}); fsync on here: ${etcd.ratio ?? '?'}x etcd's put rate`);
  }
}
if (values.json) {
  console.log(JSON.stringify({ scenario: 'raft-3-nodes', machine, entryBytes, inflight, fsyncOn: results[0], fsyncOff: results[1], ...(etcd === null ? {} : { peer: etcd }) }));
}
