/**
 * Every bug the simulator found stays a seed here forever (seeds 1..1,000 run in the sweep too).
 * Each line: the seed and what it caught, fixed in the core or the checker.
 */
import { expect } from 'chai';
import { runSeed } from '../../lib/sim/simulation.js';

const FOUND: readonly [number, string][] = [
  [4, 'a leader removing itself lost leadership before the removal committed: nobody could campaign (fix: campaign on the committed configuration too)'],
  [48, 'a lost append answer with a full inflight window stalled a follower forever (fix: free one slot on a heartbeat answer)'],
  [691, 'an idle leader never probed a learner with an empty log (fix: a probe goes out even empty)'],
  [684, 'a lost answer to the last append left a follower one entry behind forever (fix: re-probe the end of an idle window)'],
  [415, 'stale snapshot answers rewound the window and fed a storm of resends (fix: answers only move forward)'],
  [10612, 'chunks of a newer snapshot landed in the Ready that installs the previous one (fix: no chunks while an install waits)'],
  [53051, 'a joiner took a snapshot below its first config entry with an empty configuration (fix: no snapshot where the node does not know the configuration)'],
  [67931, 'the same, with a two-node cluster'],
  [129805, 'an append answer queued for entries a later step replaced went out after the replacing write (fix: such answers are dropped)'],
  [147005, 'a single voter counted its own vote before its term was durable, so after a crash it named two entries with one (index, term) (fix: the self-vote counts at advance)'],
  [61770, 'checker: the partial-connectivity core was a quorum of one configuration but not of an uncommitted newer one (fix: a quorum of every live configuration)'],
  [95213, 'checker: the partial-connectivity core counted wiped voters (fix: live voters only, and skip when a configuration has no live quorum)'],
  [100504, 'checker: the operator forgot a replacement whose removal was uncommitted and then lost (fix: done only once the removal commits)'],
  [68934, 'a stale snapshot answer from before a follower restarted moved the acknowledged offset past what it holds: the transfer stalled (fix: an answer behind the acknowledged offset rewinds the window, one window per answer)'],
];

describe('simulation regressions', function () {
  this.timeout(120_000);
  for (const [seed, what] of FOUND) {
    it(`seed ${seed}: ${what}`, () => {
      const r = runSeed({ seed, steps: 10_000 });
      expect(r.violations.map((v) => `${v.kind}: ${v.detail}`)).to.deep.equal([]);
    });
  }
});
