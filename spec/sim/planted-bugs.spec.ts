/**
 * The checker must be able to fail: each planted bug is caught within 1,000 seeds.
 */
import { expect } from 'chai';
import { PLANTED_BUGS } from '../../lib/sim/planted-bugs.js';
import { runSeed } from '../../lib/sim/simulation.js';

describe('simulation catches every planted bug', function () {
  this.timeout(10 * 60_000);

  for (const bug of PLANTED_BUGS) {
    it(`${bug}: caught within 1,000 seeds`, () => {
      for (let seed = 1; seed <= 1000; seed++) {
        const r = runSeed({ seed, steps: 10_000, plant: bug });
        if (r.violations.length > 0) {
          console.log(`      seed ${seed}: ${r.violations[0]!.kind}: ${r.violations[0]!.detail}`);
          return;
        }
      }
      expect.fail(`${bug} was not caught in 1,000 seeds`);
    });
  }

  it('the same seed replays the same run', () => {
    const a = runSeed({ seed: 42, steps: 5_000 });
    const b = runSeed({ seed: 42, steps: 5_000 });
    expect(a.steps).to.equal(b.steps);
    expect(a.stats).to.deep.equal(b.stats);
  });
});
