/**
 * `npm run chaos -- [--nodes 3|5] [--duration SECONDS] [--faults kill,pause,partition,...] [--seed S] [--json]
 *                   [--overlap] [--producers N] [--dir RUN_DIR] [--base-port PORT]`
 *
 * One chaos run against a real cluster of `flotilla` processes (lib/chaos/run.ts): producers and
 * consumers through real Kafka clients, a fault schedule drawn from the seed (kill -9 and restart,
 * SIGSTOP/SIGCONT, partitions through a proxy on every peer link), heal, settle, final polls, every
 * replica's files read back and checked (lib/chaos/checker.ts). Prints the anomalies by name, the
 * run folder it keeps and the command that repeats the run. `--json` prints one object instead.
 * Exit code 1 when any safety anomaly was found, 2 on a usage error.
 * Faults: kill, pause, partition (= every partition kind), partition-one, partition-oneway,
 * partition-majority, partition-leader, partition-metadata, partition-ring (5 nodes), slow, all.
 * disk-full is not injected yet (said so when asked for). `--overlap`: process faults (kill, pause)
 * run on their own track at the same time as link faults.
 */
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OTHER_ANOMALIES } from '../lib/chaos/checker.js';
import { runChaos } from '../lib/chaos/run.js';
import { parseFaults } from '../lib/chaos/schedule.js';

function usage(message: string): never {
  process.stderr.write(`chaos: ${message}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '3' },
      duration: { type: 'string', default: '90' },
      faults: { type: 'string', default: 'kill,pause,partition' },
      seed: { type: 'string' },
      producers: { type: 'string', default: '4' },
      dir: { type: 'string' },
      'base-port': { type: 'string' },
      json: { type: 'boolean', default: false },
      overlap: { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  usage((err as Error).message);
}

const nodes = Number(values.nodes);
if (nodes !== 3 && nodes !== 5) usage('--nodes must be 3 or 5');
const durationS = Number(values.duration);
if (!Number.isInteger(durationS) || durationS < 10 || durationS > 86_400) usage('--duration must be whole seconds, 10 to 86400');
const seed = values.seed !== undefined ? Number(values.seed) : randomInt(1, 2 ** 31 - 1);
if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) usage('--seed must be an integer 0 to 2^32-1');
const producers = Number(values.producers);
if (!Number.isInteger(producers) || producers < 1 || producers > 64) usage('--producers must be 1 to 64');
let faults;
try {
  faults = parseFaults(values.faults, nodes);
} catch (err) {
  usage((err as Error).message);
}
const basePort = values['base-port'] !== undefined ? Number(values['base-port']) : randomInt(20_000, 60_000);
if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65_000) usage('--base-port must be 1024 to 65000');
const runDir = values.dir ?? join(tmpdir(), 'flotilla-chaos', `seed-${seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
for (const s of faults.skipped) log(`chaos: skipped: ${s}`);
// Ctrl-C: exit, which kills the node processes (lib/chaos/cluster.ts); the run folder stays.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const result = await runChaos({ nodes, durationS, faults: faults.kinds, faultsText: values.faults, seed, runDir, basePort, producers, overlap: values.overlap, log });
const r = result.report;
if (values.json) {
  process.stdout.write(`${JSON.stringify({ seed, runDir, command: result.command, faultsInjected: result.faultsInjected, skippedFaults: faults.skipped, ...r })}\n`);
} else {
  const lines = [
    `chaos run, seed ${seed}: ${result.faultsInjected} faults injected`,
    `  acknowledged ${r.acknowledged}, indeterminate ${r.indeterminate}, failed ${r.failed}, records polled ${r.polled}`,
    `  lost ${r.lost}, unseen ${r.unseen}, duplicates ${r.duplicates} (plain producers: ${r.duplicatesNonIdempotent} counted apart)`,
    `  replicas read ${r.replicasRead}, batches compared ${r.batchesCompared}, divergent replicas ${r.divergentReplicas}, bad CRC ${r.badCrc}`,
    `  recovery after the last heal: ${r.recoverySeconds === null ? 'n/a' : `${r.recoverySeconds.toFixed(1)} s`}`,
  ];
  const names = Object.keys(r.anomalies).sort();
  if (names.length === 0) lines.push('  anomalies: none');
  for (const name of names) {
    const kind = (OTHER_ANOMALIES as readonly string[]).includes(name) ? 'reported' : 'SAFETY';
    lines.push(`  ${kind} ${name}: ${r.anomalies[name]}`);
    for (const ex of r.examples[name] ?? []) lines.push(`      ${ex}`);
  }
  lines.push(r.safe ? '  result: no safety anomaly' : `  result: SAFETY ANOMALIES: ${r.safetyAnomalies.join(', ')}`);
  lines.push(`  run folder: ${result.runDir}`);
  lines.push(`  repeat: ${result.command}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
process.exit(r.safe ? 0 : 1);
