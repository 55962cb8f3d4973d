/**
 * Core bugs the simulator found that are not fixed yet (reported to the core's owner; fixing the
 * core is not the simulator's job). Each is a transcript that pins it down and the seeds that
 * found it. When the core is fixed these pass: move the seeds to regressions.spec.ts then.
 */
import { expect } from 'chai';
import { Harness } from '../../lib/sim/harness.js';
import { ConfigChangeType } from '../../lib/raft/core/types.js';
import { runSeed } from '../../lib/sim/simulation.js';

describe('open core bugs found by the simulator', function () {
  this.timeout(60_000);

  /**
   * snapshotMetaAt() on a node that joined later (empty bootstrap membership, as the contract
   * says) and caught up from the log: for an index below its first Config entry it returns the
   * empty bootstrap membership, not the configuration in force there. A snapshot taken then says
   * "no voters" at that index (pitfall: a snapshot without its configuration). Fix options: return
   * null there (the host waits), send a joiner a snapshot first, or bootstrap with Config entries.
   */
  it("a joiner's snapshot below its first config entry carries the configuration in force, or none is offered", () => {
    const h = new Harness({ voters: [1, 2, 3] });
    h.elect(1);
    for (let i = 0; i < 5; i++) h.propose(1, `e${i}`);
    h.run(() => h.node(1).appliedIndex === 6);
    h.join(4);
    const at = h.changeConfig(1, ConfigChangeType.AddLearner, 4);
    h.run(() => h.node(4).appliedIndex >= at);
    const meta = h.core(4).snapshotMetaAt(at - 1);
    if (meta !== null) expect(meta.membership).to.deep.equal({ voters: [1, 2, 3], learners: [] });
  });

  for (const seed of [53051, 67931]) {
    it(`seed ${seed}: a joiner snapshots with an empty configuration (snapshot-meta)`, () => {
      const r = runSeed({ seed, steps: 10_000 });
      expect(r.violations.map((v) => `${v.kind}: ${v.detail}`)).to.deep.equal([]);
    });
  }
});
