/**
 * The peers' figures for `npm run bench -- --peers`: NATS JetStream and etcd, 3 nodes each, run in
 * the same session by the scripts in ../shared/bench (they stay there; this file only calls them),
 * or — when those scripts or their servers are not available here — the medians of the runs
 * recorded in ../shared/bench/results/raw.jsonl (the figures of RESULTS.md), marked as such.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One peer figure, keyed by the peer script's command (as in RESULTS.md). */
export interface PeerFigure {
  readonly cmd: string;
  readonly label: string;
  readonly recordsPerSecond?: number;
  readonly megabytesPerSecond?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly p999Ms?: number;
  /** 'measured now' or 'RESULTS.md (date)'. */
  readonly source: string;
}

interface RawLine {
  ts: string;
  suite: string;
  name: string;
  size: number;
  cmd: string;
  msgs_s?: number;
  mb_s?: number;
  p50_ms?: number;
  p99_ms?: number;
  p999_ms?: number;
}

/** Which peer command (and which row of its output) each Flotilla scenario is compared with. */
export interface PeerRef {
  readonly cmd: string;
  /** Row name prefix within that command's output (a pub run also emits its consume row). */
  readonly name: string;
  readonly label: string;
}

export const peerRefs: Readonly<Record<string, PeerRef>> = {
  'produce-1k': { cmd: './nats.sh 3 -- rawpub1k', name: 'JetStream publish, thin', label: 'NATS JetStream R=3, thin client, 1000 in flight' },
  'produce-100b': { cmd: './nats.sh 3 -- rawpub100', name: 'JetStream publish, thin', label: 'NATS JetStream R=3, thin client, 1000 in flight' },
  'produce-1k-kafkajs': { cmd: './nats.sh 3 -- pub1k', name: 'JetStream publish, async', label: 'NATS JetStream R=3, npm nats client, 1000 in flight' },
  'consume-1k': { cmd: './nats.sh 3 -- pub1k', name: 'JetStream consume', label: 'NATS JetStream R=3, ordered consumer' },
  'consume-100b': { cmd: './nats.sh 3 -- pub100', name: 'JetStream consume', label: 'NATS JetStream R=3, ordered consumer' },
  'latency-1k-1000': { cmd: './nats.sh 3 -- lat1k', name: 'JetStream publish latency', label: 'NATS JetStream R=3, fixed 1000 msg/s' },
  'produce-1k-fsync': { cmd: './etcd.sh put1k', name: 'etcd put', label: 'etcd 3.4 (fsync per commit), npm etcd3, 256 in flight' },
  'produce-100b-fsync': { cmd: './etcd.sh put100', name: 'etcd put', label: 'etcd 3.4 (fsync per commit), npm etcd3, 256 in flight' },
  'latency-1k-1000-fsync': { cmd: './etcd.sh lat1k', name: 'etcd put latency', label: 'etcd 3.4 (fsync per commit), fixed 1000 puts/s' },
};

function median(xs: number[]): number | undefined {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Medians over the runs of each (cmd, row) in a raw.jsonl file. */
export function figuresFromRaw(text: string, source: (lines: RawLine[]) => string): Map<string, PeerFigure> {
  const lines = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as RawLine);
  const out = new Map<string, PeerFigure>();
  for (const [scenario, ref] of Object.entries(peerRefs)) {
    const rows = lines.filter((l) => l.cmd === ref.cmd && l.name.startsWith(ref.name));
    if (rows.length === 0) continue;
    const pick = (f: (l: RawLine) => number | undefined): number | undefined => median(rows.map(f).filter((x): x is number => x !== undefined));
    out.set(scenario, {
      cmd: ref.cmd, label: ref.label, source: source(rows),
      recordsPerSecond: pick((l) => l.msgs_s), megabytesPerSecond: pick((l) => l.mb_s),
      p50Ms: pick((l) => l.p50_ms), p99Ms: pick((l) => l.p99_ms), p999Ms: pick((l) => l.p999_ms),
    });
  }
  return out;
}

/** Why the peer scripts cannot run here, or null when they can. */
export function peersUnavailable(dir: string): string | null {
  if (!existsSync(join(dir, 'nats.sh')) || !existsSync(join(dir, 'etcd.sh'))) return `no peer scripts in ${dir}`;
  for (const cmd of ['nats-server', 'etcd', 'etcdctl', 'bash', 'ss', 'curl']) {
    if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) return `${cmd} is not installed (run ${join(dir, 'setup.sh')})`;
  }
  const npm = process.env.PEERS_NPM ?? '/tmp/flotilla-peers-npm';
  for (const m of ['nats', 'etcd3']) {
    if (!existsSync(join(npm, 'node_modules', m))) return `npm client ${m} missing in ${npm} (run ${join(dir, 'setup.sh')})`;
  }
  return null;
}

/** The recorded figures (RESULTS.md's raw runs). */
export function recordedPeerFigures(dir: string): Map<string, PeerFigure> {
  const file = join(dir, 'results', 'raw.jsonl');
  if (!existsSync(file)) return new Map();
  return figuresFromRaw(readFileSync(file, 'utf8'), (rows) => `RESULTS.md (${rows.length} run${rows.length === 1 ? '' : 's'}, ${rows[0]!.ts.slice(0, 10)})`);
}

export interface PeerRunOptions {
  readonly dir: string;
  /** Runs per test (the scripts' RUNS). */
  readonly runs: number;
  readonly pubSeconds: number;
  readonly latSeconds: number;
  /** Progress lines go here (stderr in --json mode). */
  readonly log: (line: string) => void;
}

/** Runs the peer scripts now (one run each, short windows) and returns their figures. */
export async function runPeers(o: PeerRunOptions): Promise<Map<string, PeerFigure>> {
  const scratch = mkdtempSync(join(tmpdir(), 'flotilla-bench-peers-'));
  const results = join(scratch, 'raw.jsonl');
  const env = { ...process.env, RUNS: String(o.runs), PUB_SECS: String(o.pubSeconds), LAT_SECS: String(o.latSeconds), PUT_SECS: String(o.pubSeconds), RESULTS: results };
  try {
    const jobs: [string, string[]][] = [
      ['nats.sh', ['3', '--', 'rawpub1k', 'rawpub100', 'pub1k', 'pub100', 'lat1k']],
      ['etcd.sh', ['put1k', 'put100', 'lat1k']],
    ];
    for (const [script, args] of jobs) {
      o.log(`peers: ${script} ${args.join(' ')} (RUNS=${o.runs} PUB_SECS=${o.pubSeconds} LAT_SECS=${o.latSeconds})`);
      await runScript(join(o.dir, script), args, env, o.dir, o.log);
    }
    return existsSync(results) ? figuresFromRaw(readFileSync(results, 'utf8'), () => 'measured in this run') : new Map();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * etcd's own saturation check (`etcdctl check perf --load=l`: 1 KiB values, 500 clients, fsync per
 * commit) run now, one run: the put rate `npm run bench:raft -- --peers` divides by. null when the
 * script wrote no figure.
 */
export async function runEtcdSaturation(dir: string, log: (line: string) => void): Promise<PeerFigure | null> {
  const scratch = mkdtempSync(join(tmpdir(), 'flotilla-bench-peers-'));
  const results = join(scratch, 'raw.jsonl');
  try {
    log('peers: etcd.sh perfl (RUNS=1: etcdctl check perf --load=l, 60 s)');
    await runScript(join(dir, 'etcd.sh'), ['perfl'], { ...process.env, RUNS: '1', RESULTS: results }, dir, log);
    if (!existsSync(results)) return null;
    const row = readFileSync(results, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as RawLine).find((l) => l.cmd === './etcd.sh perfl');
    return row?.msgs_s === undefined ? null : { cmd: row.cmd, label: 'etcd 3.4, 3 members, etcdctl check perf --load=l (fsync per commit)', recordsPerSecond: row.msgs_s, megabytesPerSecond: row.mb_s, source: 'measured in this run' };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The recorded etcd saturation figure (RESULTS.md's `./etcd.sh perfl` median), or null. */
export function recordedEtcdSaturation(dir: string): PeerFigure | null {
  const file = join(dir, 'results', 'raw.jsonl');
  if (!existsSync(file)) return null;
  const rows = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as RawLine).filter((l) => l.cmd === './etcd.sh perfl');
  const rate = median(rows.map((l) => l.msgs_s).filter((x): x is number => x !== undefined));
  return rate === undefined ? null : { cmd: './etcd.sh perfl', label: 'etcd 3.4, 3 members, etcdctl check perf --load=l (fsync per commit)', recordsPerSecond: rate, source: `RESULTS.md (${rows.length} runs, ${rows[0]!.ts.slice(0, 10)})` };
}

function runScript(file: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    // The scripts stop what they start by PID on exit (TERM/INT trapped); a hard bound here too.
    const child = spawn('bash', [file, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim() !== '') log(`  ${line}`);
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), 15 * 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${file} ${args.join(' ')} exited ${code}: ${err.slice(-1000)}`));
    });
  });
}
