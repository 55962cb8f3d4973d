/**
 * `flotilla simulate --machine ./my-machine.js [--seeds 100] [--first-seed 1] [--nodes 3|5]
 * [--steps 1000] [--faults network,crashes,clock,membership] [--stop-at-first] [--json]`
 * `flotilla simulate --machine ./my-machine.js --seed S --trace`
 *
 * Runs a user's state machine in the deterministic simulator (lib/sim/machine-sim.ts). The module
 * (ESM) exports `machine` (a function returning a fresh StateMachine), `workload` and, optionally,
 * `model` (the sequential model for the linearizability check), as named exports or as the
 * properties of its default export. A sweep prints each failing seed with its first violation and
 * the command that replays it; `--seed S --trace` replays one seed and prints its trace (the last
 * `--trace-lines` events and operations), its violations and, for a linearizability failure, the
 * failing key's history. Exit 0: no violation; 1: a seed failed; 2: bad usage or a bad module.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { type FaultMix, type MachineSimOptions, type SeedReport, simulate, simulateSeed } from '../sim/machine-sim.js';
import { CliError, ExitCode, intOption, printJson, printLine, reportFailure } from './output.js';

interface SimulateCliOptions {
  machine: string;
  seeds: number;
  firstSeed: number;
  seed?: number;
  nodes: number;
  steps: number;
  faults?: string;
  trace?: boolean;
  traceLines: number;
  stopAtFirst?: boolean;
  json?: boolean;
}

const FAMILIES = ['network', 'crashes', 'clock', 'membership'] as const;

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('run your StateMachine on a simulated Raft cluster with faults, seed by seed; check replicas agree and the history is linearizable')
    .requiredOption('--machine <path>', 'an ESM module exporting machine (a factory), workload and, optionally, model')
    .option('--seeds <n>', 'seeds to run', intOption('--seeds', 1, 10_000_000), 100)
    .option('--first-seed <n>', 'the first seed of the sweep', intOption('--first-seed', 0, 2 ** 32 - 1), 1)
    .option('--seed <n>', 'run (replay) this seed alone', intOption('--seed', 0, 2 ** 32 - 1))
    .option('--nodes <n>', 'nodes in the cluster at the start (3 or 5; 1-7)', intOption('--nodes', 1, 7), 3)
    .option('--steps <n>', "events in each seed's faulty phase (the liveness phase follows)", intOption('--steps', 1, 10_000_000), 1000)
    .option('--faults <list>', `fault families on, comma-separated (default all: ${FAMILIES.join(',')}; "none" for none)`)
    .option('--trace', "with --seed: print the seed's trace")
    .option('--trace-lines <n>', 'trace lines kept (the last ones)', intOption('--trace-lines', 10, 1_000_000), 400)
    .option('--stop-at-first', 'stop the sweep at the first failing seed')
    .option('--json', 'print the report as JSON')
    .action(async (opts: SimulateCliOptions) => {
      try {
        process.exitCode = await run(opts);
      } catch (err) {
        reportFailure('simulate', err, (e) => (e instanceof Error ? e.message : String(e)));
      }
    });
}

export function parseFaults(text: string | undefined): FaultMix | undefined {
  if (text === undefined) return undefined;
  const on = text === 'none' ? [] : text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  for (const f of on) {
    if (!(FAMILIES as readonly string[]).includes(f)) throw new CliError(`unknown fault family ${JSON.stringify(f)}: ${FAMILIES.join(', ')} or none`, ExitCode.usage);
  }
  return Object.fromEntries(FAMILIES.map((f) => [f, on.includes(f)])) as FaultMix;
}

/** Loads the user's module: named exports, or the properties of its default export. */
async function loadMachine(path: string): Promise<Pick<MachineSimOptions<never, unknown, unknown, unknown>, 'machine' | 'workload' | 'model'>> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`cannot load ${path}: ${err instanceof Error ? err.message : String(err)}`, ExitCode.usage);
  }
  const src = (typeof mod.machine === 'function' ? mod : (mod.default ?? {})) as Record<string, unknown>;
  if (typeof src.machine !== 'function') throw new CliError(`${path} exports no machine() factory (export const machine = () => new MyMachine())`, ExitCode.usage);
  const workload = src.workload as { next?: unknown } | undefined;
  if (!workload || typeof workload.next !== 'function') throw new CliError(`${path} exports no workload with next(prng, client)`, ExitCode.usage);
  return { machine: src.machine as never, workload: workload as never, model: src.model as never };
}

async function run(opts: SimulateCliOptions): Promise<number> {
  if (opts.trace && opts.seed === undefined) throw new CliError('--trace needs --seed S (a sweep prints the seeds to replay)', ExitCode.usage);
  const loaded = await loadMachine(opts.machine);
  const options: MachineSimOptions<never, unknown, unknown, unknown> = {
    ...loaded, nodes: opts.nodes, steps: opts.steps, faults: parseFaults(opts.faults), traceLines: opts.traceLines,
    seeds: opts.seeds, firstSeed: opts.firstSeed, stopAtFirst: opts.stopAtFirst === true,
  };
  const replay = (seed: number): string => [
    'flotilla simulate', `--machine ${opts.machine}`, `--seed ${seed}`, `--steps ${opts.steps}`, `--nodes ${opts.nodes}`,
    ...(opts.faults !== undefined ? [`--faults ${opts.faults}`] : []), '--trace',
  ].join(' ');
  const t0 = performance.now();
  if (opts.seed !== undefined) {
    const r = simulateSeed(options, opts.seed);
    if (opts.json) printJson(r);
    else printSeed(r, opts.trace === true, replay(r.seed), performance.now() - t0);
    return r.ok ? ExitCode.ok : ExitCode.failed;
  }
  const report = simulate(options);
  const seconds = (performance.now() - t0) / 1000;
  if (opts.json) {
    printJson({ ...report, seconds, failures: report.failures.map((f) => ({ ...f, replay: replay(f.seed) })) });
    return report.ok ? ExitCode.ok : ExitCode.failed;
  }
  printLine(`${report.seeds} seeds x ${opts.steps} steps (${opts.nodes} nodes): ${report.steps} events in ${seconds.toFixed(1)} s; ${report.failures.length} failing seed${report.failures.length === 1 ? '' : 's'}`);
  if (report.inconclusive.length > 0) printLine(`history beyond the checker's bounds (not checked) in seeds ${report.inconclusive.slice(0, 20).join(', ')}${report.inconclusive.length > 20 ? ', ...' : ''}`);
  for (const f of report.failures.slice(0, 20)) {
    const v = f.violations[0]!;
    printLine(`seed ${f.seed}: ${v.kind} at step ${v.step}: ${v.detail}`);
    printLine(`  replay: ${replay(f.seed)}`);
  }
  if (report.failures.length > 20) printLine(`... and ${report.failures.length - 20} more failing seeds (--json lists them all)`);
  return report.ok ? ExitCode.ok : ExitCode.failed;
}

function printSeed(r: SeedReport, trace: boolean, replay: string, ms: number): void {
  if (trace) for (const l of r.trace) printLine(l);
  printLine(`seed ${r.seed}: ${r.steps} events in ${(ms / 1000).toFixed(1)} s; operations answered ${r.operations.answered}, unknown ${r.operations.unknown}, without effect ${r.operations.discarded}; linearizability ${r.linearizability}`);
  for (const v of r.violations) printLine(`${v.kind} at step ${v.step}: ${v.detail}`);
  if (r.history) {
    printLine('history of the failing key (virtual times):');
    for (const l of r.history) printLine(`  ${l}`);
  }
  if (!r.ok && !trace) printLine(`trace: ${replay}`);
}
