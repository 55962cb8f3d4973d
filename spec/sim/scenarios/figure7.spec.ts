/**
 * Raft paper, figure 7: a new leader of term 8 meets followers with missing entries (a, b, e),
 * extra uncommitted entries (c, d) and both (f). Its log wins: every follower converges on it.
 */
import { expect } from 'chai';
import { Harness } from '../../../lib/sim/harness.js';
import { Role } from '../../../lib/raft/core/types.js';

describe('scenario: Raft figure 7 (followers with missing and extra entries converge)', () => {
  // Node 1 is the figure's leader; 2..7 are its followers a..f.
  const logs = {
    1: { terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], term: 7 },
    2: { terms: [1, 1, 1, 4, 4, 5, 5, 6, 6], term: 7 }, // a: one missing
    3: { terms: [1, 1, 1, 4], term: 7 }, // b: many missing
    4: { terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], term: 7 }, // c: one extra
    5: { terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], term: 7 }, // d: two extra of term 7
    6: { terms: [1, 1, 1, 4, 4, 4, 4], term: 7 }, // e: missing, and extra of term 4
    7: { terms: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], term: 7 }, // f: extra of terms 2 and 3
  };
  const all = [1, 2, 3, 4, 5, 6, 7];

  it('c and d refuse to vote for the leader, a, b, e and f elect it in term 8', () => {
    const h = new Harness({ voters: all, logs });
    h.elect(1);
    expect(h.core(1).term).to.equal(8);
    // c and d hold logs more up to date than the leader's: they never granted it a vote.
    expect(h.core(4).status().vote).to.not.equal(1);
    expect(h.core(5).status().vote).to.not.equal(1);
  });

  it('every follower ends with the leader log plus its term-8 entry, and only that is applied', () => {
    const h = new Harness({ voters: all, logs });
    h.elect(1);
    const expected = [...logs[1].terms, 8];
    h.run(() => all.every((id) => h.core(id).commit === 11));
    for (const id of all) {
      expect(h.terms(id), `node ${id}`).to.deep.equal(expected);
      expect(h.node(id).applied, `node ${id}`).to.deep.equal(logs[1].terms.map((t, i) => `${i + 1}@${t}`));
    }
    expect(h.core(1).role).to.equal(Role.Leader);
    expect(h.core(1).term).to.equal(8);
  });

  it('with d down and f cut off, a, b, c and e suffice to elect and commit; f and d converge later', () => {
    const h = new Harness({ voters: all, logs });
    h.crash(5);
    h.isolate(7);
    h.elect(1);
    h.run(() => h.core(1).commit === 11);
    for (const id of [1, 2, 3, 4, 6]) expect(h.terms(id), `node ${id}`).to.deep.equal([...logs[1].terms, 8]);
    // f never heard from the leader: its divergent suffix is still there, uncommitted.
    expect(h.terms(7)).to.deep.equal(logs[7].terms);
    expect(h.node(7).appliedIndex).to.equal(0);
    // Healed, f converges too, and d restarts and drops its term-7 entries.
    h.heal();
    h.restart(5);
    h.run(() => [5, 7].every((id) => h.node(id).appliedIndex === 11));
    expect(h.terms(5)).to.deep.equal([...logs[1].terms, 8]);
    expect(h.terms(7)).to.deep.equal([...logs[1].terms, 8]);
  });
});
