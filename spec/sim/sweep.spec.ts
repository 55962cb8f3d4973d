/**
 * CI's sweep of the Raft core's simulation: 1,000 seeds x 10,000 steps (plus each seed's liveness
 * phase), every invariant checked after every step. A failing seed prints the command to replay it.
 */
import { expect } from 'chai';
import { runSeed } from '../../lib/sim/simulation.js';

const SEEDS = 1000;
const STEPS = 10_000;

describe('simulation sweep', function () {
  this.timeout(20 * 60_000);

  it(`${SEEDS} seeds x ${STEPS} steps: no violation`, () => {
    const failures: string[] = [];
    let steps = 0;
    const t0 = performance.now();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = runSeed({ seed, steps: STEPS });
      steps += r.steps;
      for (const v of r.violations) failures.push(`seed ${seed} step ${v.step} ${v.kind}: ${v.detail}\n    replay: npm run simulate -- --seed ${seed} --steps ${STEPS}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    console.log(`      ${SEEDS} seeds, ${steps} steps in ${seconds.toFixed(1)} s = ${Math.round(steps / seconds)} steps/s`);
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });
});
