/**
 * `npm run chaos -- [--nodes 3|5] [--duration SECONDS] [--faults kill,pause,partition,...] [--seed S] [--json]
 *                   [--runs N] [--overlap] [--producers N] [--group-members N] [--dir RUN_DIR] [--base-port PORT] [--secure]`
 *
 * One chaos run against a real cluster of `flotilla` processes (lib/chaos/run.ts): producers,
 * assigned consumers and a consumer group through real Kafka clients, a fault schedule drawn from
 * the seed (kill -9 and restart, SIGSTOP/SIGCONT, partitions through a proxy on every peer link,
 * disk-full), heal, settle, final polls, every replica's files read back and checked
 * (lib/chaos/checker.ts). Prints the anomalies by name, the run folder it keeps and the command that
 * repeats the run. `--json` prints one object instead.
 *
 * `--runs N` is a soak: N runs one after another with seeds S, S+1, ..., each in its own folder
 * (under --dir when given); one summary line per run as it ends, then the totals (lost,
 * duplicates, divergent replicas, anomalies by name, the slowest recovery) and the command that
 * repeats each unsafe run. With `--json`, one object: the totals and every run's summary.
 *
 * Exit code 1 when any safety anomaly was found (in any run), 2 on a usage error.
 * Faults: kill, kill-majority, pause, partition (= every partition kind), partition-one,
 * partition-oneway, partition-majority, partition-leader, partition-metadata,
 * partition-coordinator, partition-ring (5 nodes), slow, disk-full (root: a tmpfs per node), all.
 * `--overlap`: process faults (kill, pause, disk-full) run on their own track at the same time as
 * link faults.
 * `--secure`: the peer transport runs over mutual TLS with node-id-bound certificates, and every
 * client (KafkaJS producers, group members and admin; kcat consumers and final polls) connects to
 * SASL_SSL listeners with TLS (the run's CA) and SCRAM-SHA-512 as a super user, the authorizer on
 * (certificates, password and client.properties made in the run folder).
 */
import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ChaosReport, OTHER_ANOMALIES, RECOVERY_SECONDS_TARGET } from '../lib/chaos/checker.js';
import { type ChaosResult, GROUP_MEMBERS_DEFAULT, PRODUCERS_DEFAULT, repeatCommand, runChaos } from '../lib/chaos/run.js';
import { parseFaults } from '../lib/chaos/schedule.js';

function usage(message: string): never {
  process.stderr.write(`chaos: ${message}\n`);
  process.exit(2);
}

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        nodes: { type: 'string', default: '3' },
        duration: { type: 'string', default: '90' },
        faults: { type: 'string', default: 'kill,pause,partition' },
        seed: { type: 'string' },
        runs: { type: 'string', default: '1' },
        producers: { type: 'string', default: String(PRODUCERS_DEFAULT) },
        'group-members': { type: 'string', default: String(GROUP_MEMBERS_DEFAULT) },
        dir: { type: 'string' },
        'base-port': { type: 'string' },
        json: { type: 'boolean', default: false },
        overlap: { type: 'boolean', default: false },
        secure: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    usage((err as Error).message);
  }
}
const { values } = parseCommandLine();

const nodes = Number(values.nodes);
if (nodes !== 3 && nodes !== 5) usage('--nodes must be 3 or 5');
const durationS = Number(values.duration);
if (!Number.isInteger(durationS) || durationS < 10 || durationS > 86_400) usage('--duration must be whole seconds, 10 to 86400');
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 10_000) usage('--runs must be 1 to 10000');
const seed = values.seed !== undefined ? Number(values.seed) : randomInt(1, 2 ** 31 - 1);
if (!Number.isInteger(seed) || seed < 0 || seed + runs - 1 >= 2 ** 32) usage('--seed must be an integer 0 to 2^32-1 (and leave room for --runs seeds)');
const producers = Number(values.producers);
if (!Number.isInteger(producers) || producers < 1 || producers > 64) usage('--producers must be 1 to 64');
const groupMembers = Number(values['group-members']);
if (!Number.isInteger(groupMembers) || groupMembers < 0 || groupMembers > 16) usage('--group-members must be 0 to 16');
let faults;
try {
  faults = parseFaults(values.faults, nodes);
} catch (err) {
  usage((err as Error).message);
}
const basePortGiven = values['base-port'] !== undefined ? Number(values['base-port']) : null;
if (basePortGiven !== null && (!Number.isInteger(basePortGiven) || basePortGiven < 1024 || basePortGiven > 65_000)) usage('--base-port must be 1024 to 65000');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
for (const s of faults.skipped) log(`chaos: skipped: ${s}`);
// Ctrl-C: exit, which kills the node processes and unmounts their disks (lib/chaos/cluster.ts); the run folders stay.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

function runDirOf(runSeed: number): string {
  if (runs === 1) return values.dir ?? join(tmpdir(), 'flotilla-chaos', `seed-${runSeed}-${stamp}`);
  return join(values.dir ?? join(tmpdir(), 'flotilla-chaos', `soak-${seed}-${stamp}`), `seed-${runSeed}`);
}

function details(result: ChaosResult): string[] {
  const r = result.report;
  const lines = [
    `chaos run, seed ${result.seed}: ${result.faultsInjected} faults injected`,
    `  acknowledged ${r.acknowledged}, indeterminate ${r.indeterminate}, failed ${r.failed}, records polled ${r.polled}`,
    `  consumer group: ${r.groupJoins} rebalances completed by members, ${r.groupCommits} commits acknowledged`,
    `  lost ${r.lost}, unseen ${r.unseen}, duplicates ${r.duplicates} (plain producers: ${r.duplicatesNonIdempotent} counted apart)`,
    `  replicas read ${r.replicasRead}, batches compared ${r.batchesCompared}, divergent replicas ${r.divergentReplicas}, bad CRC ${r.badCrc}`,
    `  recovery after the last heal: ${r.recoverySeconds === null ? 'n/a' : `${r.recoverySeconds.toFixed(1)} s`}`,
  ];
  for (const s of result.skippedFaults) lines.push(`  skipped: ${s}`);
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
  return lines;
}

/** One line per soak run. */
function summaryLine(i: number, result: ChaosResult): string {
  const r = result.report;
  const anomalies = Object.entries(r.anomalies).map(([n, c]) => `${n}=${c}`).join(' ') || 'none';
  return `run ${i + 1}/${runs} seed ${result.seed}: ${r.safe ? 'safe' : 'UNSAFE'}; faults ${result.faultsInjected}, acknowledged ${r.acknowledged}, lost ${r.lost}, `
    + `duplicates ${r.duplicates}+${r.duplicatesNonIdempotent} plain, divergent ${r.divergentReplicas}, recovery ${r.recoverySeconds === null ? 'n/a' : `${r.recoverySeconds.toFixed(1)} s`}; `
    + `anomalies: ${anomalies}; ${result.runDir}`;
}

interface Totals {
  runs: number;
  unsafeRuns: number;
  faultsInjected: number;
  acknowledged: number;
  lost: number;
  duplicates: number;
  duplicatesNonIdempotent: number;
  divergentReplicas: number;
  badCrc: number;
  groupCommits: number;
  anomalies: Record<string, number>;
  /** The slowest recovery after the last heal (null: some run did not recover). */
  recoverySecondsMax: number | null;
  runsNotRecoveredInTarget: number;
}

function add(t: Totals, r: ChaosReport, faultsInjected: number): void {
  t.runs++;
  if (!r.safe) t.unsafeRuns++;
  t.faultsInjected += faultsInjected;
  t.acknowledged += r.acknowledged;
  t.lost += r.lost;
  t.duplicates += r.duplicates;
  t.duplicatesNonIdempotent += r.duplicatesNonIdempotent;
  t.divergentReplicas += r.divergentReplicas;
  t.badCrc += r.badCrc;
  t.groupCommits += r.groupCommits;
  for (const [n, c] of Object.entries(r.anomalies)) t.anomalies[n] = (t.anomalies[n] ?? 0) + c;
  if (r.recoverySeconds === null || r.recoverySeconds > RECOVERY_SECONDS_TARGET) t.runsNotRecoveredInTarget++;
  if (t.recoverySecondsMax !== null) t.recoverySecondsMax = r.recoverySeconds === null ? null : Math.max(t.recoverySecondsMax, r.recoverySeconds);
}

const results: ChaosResult[] = [];
const totals: Totals = {
  runs: 0, unsafeRuns: 0, faultsInjected: 0, acknowledged: 0, lost: 0, duplicates: 0, duplicatesNonIdempotent: 0, divergentReplicas: 0, badCrc: 0,
  groupCommits: 0, anomalies: {}, recoverySecondsMax: 0, runsNotRecoveredInTarget: 0,
};
for (let i = 0; i < runs; i++) {
  const runSeed = seed + i;
  // Below the ephemeral range (32768 up on Linux), so that no client's outgoing connection takes a
  // node's or a proxy's port; a run uses base+1 .. base+355.
  const basePort = basePortGiven ?? randomInt(10_000, 32_000 - 400);
  const result = await runChaos({
    nodes, durationS, faults: faults.kinds, faultsText: values.faults, seed: runSeed, runDir: runDirOf(runSeed), basePort, producers, groupMembers,
    overlap: values.overlap, secure: values.secure, log,
  });
  results.push(result);
  add(totals, result.report, result.faultsInjected);
  if (runs === 1) {
    if (values.json) process.stdout.write(`${JSON.stringify({ seed: runSeed, runDir: result.runDir, command: result.command, faultsInjected: result.faultsInjected, skippedFaults: [...faults.skipped, ...result.skippedFaults], ...result.report })}\n`);
    else process.stdout.write(`${details(result).join('\n')}\n`);
  } else if (!values.json) {
    process.stdout.write(`${summaryLine(i, result)}\n`);
    if (!result.report.safe) process.stdout.write(`${details(result).map((l) => `    ${l}`).join('\n')}\n`);
  }
}

if (runs > 1) {
  const soakCommand = `${repeatCommand({ nodes, durationS, faultsText: values.faults, seed, overlap: values.overlap, producers, groupMembers, secure: values.secure })} --runs ${runs}`;
  const unsafe = results.filter((r) => !r.report.safe);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({
      command: soakCommand, seed, ...totals,
      runsDetail: results.map((r) => ({
        seed: r.seed, safe: r.report.safe, faultsInjected: r.faultsInjected, acknowledged: r.report.acknowledged, lost: r.report.lost,
        duplicates: r.report.duplicates, duplicatesNonIdempotent: r.report.duplicatesNonIdempotent, divergentReplicas: r.report.divergentReplicas,
        anomalies: r.report.anomalies, recoverySeconds: r.report.recoverySeconds, runDir: r.runDir, command: r.command,
      })),
    })}\n`);
  } else {
    const anomalies = Object.entries(totals.anomalies).map(([n, c]) => `${n}=${c}`).join(' ') || 'none';
    const lines = [
      `soak: ${totals.runs} runs of ${durationS} s on ${nodes} nodes, faults ${values.faults}: ${totals.unsafeRuns} unsafe`,
      `  faults injected ${totals.faultsInjected}, acknowledged ${totals.acknowledged}, group commits acknowledged ${totals.groupCommits}`,
      `  lost ${totals.lost}, duplicates ${totals.duplicates} (plain producers: ${totals.duplicatesNonIdempotent} counted apart), divergent replicas ${totals.divergentReplicas}, bad CRC ${totals.badCrc}`,
      `  slowest recovery after the last heal: ${totals.recoverySecondsMax === null ? 'n/a (a run did not recover)' : `${totals.recoverySecondsMax.toFixed(1)} s`}; runs over ${RECOVERY_SECONDS_TARGET} s: ${totals.runsNotRecoveredInTarget}`,
      `  anomalies: ${anomalies}`,
      `  repeat the soak: ${soakCommand}`,
      ...unsafe.map((r) => `  repeat unsafe seed ${r.seed}: ${r.command}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}
process.exit(totals.unsafeRuns === 0 ? 0 : 1);
