/**
 * `npm run simulate -- [--seeds N] [--steps M] [--seed S] [--start S] [--plant BUG] [--workers W] [--json]`
 *
 * Runs the deterministic simulation of the Raft core (lib/sim) over many seeds and prints seeds
 * run, total steps, steps per second and every violation, each with the one command that replays
 * it. `--seed S` runs that seed alone; `--start S` starts a sweep at S; `--plant BUG` runs with a
 * planted bug (to show the checker catches it); `--workers W` spreads seeds over W processes.
 * `--json` prints one object: { seeds, steps, stepsPerSecond, violations, ... }. Exit code 1 when
 * any violation was found.
 */
import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { isPlantedBug } from '../lib/sim/planted-bugs.js';
import { type SimResult, runSeed } from '../lib/sim/simulation.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    steps: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    start: { type: 'string', default: '1' },
    plant: { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'boolean', default: false },
    worker: { type: 'boolean', default: false },
  },
});

const steps = Number(values.steps);
const plant = values.plant ?? null;
if (plant !== null && !isPlantedBug(plant)) {
  process.stderr.write(`simulate: unknown planted bug "${plant}"\n`);
  process.exit(2);
}
const start = values.seed !== undefined ? Number(values.seed) : Number(values.start);
const count = values.seed !== undefined ? 1 : Number(values.seeds);
const workers = Math.max(1, Math.min(count, Number(values.workers ?? (count >= 50 ? cpus().length : 1))));

interface Summary {
  seeds: number;
  steps: number;
  violations: { seed: number; kind: string; step: number; detail: string; replay: string }[];
}

function replay(seed: number): string {
  return `npm run simulate -- --seed ${seed} --steps ${steps}${plant ? ` --plant ${plant}` : ''}`;
}

function runRange(from: number, n: number, stride: number): Summary {
  const summary: Summary = { seeds: 0, steps: 0, violations: [] };
  for (let i = 0; i < n; i++) {
    const seed = from + i * stride;
    const r: SimResult = runSeed({ seed, steps, plant: plant as never, debug: count === 1 ? (text) => console.log(text) : undefined });
    summary.seeds++;
    summary.steps += r.steps;
    for (const v of r.violations) summary.violations.push({ seed, kind: v.kind, step: v.step, detail: v.detail, replay: replay(seed) });
  }
  return summary;
}

if (values.worker) {
  // A worker runs seeds start, start+stride, ... and reports one summary.
  const stride = Number(process.env.SIM_STRIDE);
  const n = Number(process.env.SIM_COUNT);
  process.send!(runRange(start, n, stride));
  process.exit(0);
}

const t0 = performance.now();
let total: Summary;
if (workers === 1) {
  total = runRange(start, count, 1);
} else {
  const parts = await Promise.all(Array.from({ length: workers }, (_, w) => new Promise<Summary>((resolve, reject) => {
    const n = Math.floor(count / workers) + (w < count % workers ? 1 : 0);
    const args = ['--worker', '--start', String(start + w), '--steps', String(steps)];
    if (plant) args.push('--plant', plant);
    const child = fork(new URL(import.meta.url), args, { env: { ...process.env, SIM_STRIDE: String(workers), SIM_COUNT: String(n) } });
    child.on('message', (m) => resolve(m as Summary));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`worker ${w} exited with ${code}`));
    });
  })));
  total = { seeds: 0, steps: 0, violations: [] };
  for (const p of parts) {
    total.seeds += p.seeds;
    total.steps += p.steps;
    total.violations.push(...p.violations);
  }
}
const seconds = (performance.now() - t0) / 1000;
const stepsPerSecond = Math.round(total.steps / seconds);
if (values.json) {
  console.log(JSON.stringify({ seeds: total.seeds, steps: total.steps, stepsPerSecond, seconds: Number(seconds.toFixed(1)), workers, plant, violations: total.violations }));
} else {
  console.log(`simulate: ${total.seeds} seeds from ${start}, ${total.steps} steps in ${seconds.toFixed(1)} s = ${stepsPerSecond} steps/s (${workers} worker${workers > 1 ? 's' : ''}, ${Math.round(stepsPerSecond / workers)} per worker)${plant ? `, planted bug ${plant}` : ''}`);
  for (const v of total.violations) console.log(`VIOLATION seed ${v.seed} step ${v.step} ${v.kind}: ${v.detail}\n  replay: ${v.replay}`);
  console.log(total.violations.length === 0 ? 'no violations' : `${total.violations.length} violation(s)`);
}
process.exitCode = total.violations.length === 0 ? 0 : 1;
