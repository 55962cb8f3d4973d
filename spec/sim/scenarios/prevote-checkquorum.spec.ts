/**
 * Pre-vote with check-quorum (etcd testdata/prevote_checkquorum.txt; CockroachDB
 * leader_step_down_stranded_peer_prevote.txt): a node cut off from the group must rejoin without
 * disrupting the leader, and a node stranded at a higher term must still be able to rejoin.
 */
import { expect } from 'chai';
import { Harness } from '../../../lib/sim/harness.js';
import { Role } from '../../../lib/raft/core/types.js';

const all = [1, 2, 3];

function steady(settings: Record<string, unknown> = {}): Harness {
  const h = new Harness({ voters: all, settings });
  h.elect(1);
  h.run(() => all.every((id) => h.node(id).appliedIndex === 1));
  return h;
}

/** Lets the group run `rounds` rounds: every live node ticks, the network settles. */
function pass(h: Harness, rounds: number, each?: (round: number) => void): void {
  for (let r = 0; r < rounds; r++) {
    each?.(r);
    h.tick(all.filter((id) => h.node(id).alive));
    h.settle();
  }
}

describe('scenario: pre-vote with check-quorum', () => {
  it('a stranded node pre-campaigns without raising its term, then rejoins without disrupting', () => {
    const h = steady();
    const term = h.core(1).term;
    h.isolate(3);
    pass(h, 100, (r) => {
      if (r % 10 === 0) h.propose(1, `while away ${r}`);
      expect(h.core(3).term, `round ${r}`).to.equal(term);
    });
    expect(h.core(3).role).to.equal(Role.PreCandidate);
    expect(h.core(1).commit).to.be.greaterThan(1);
    h.heal();
    h.run(() => h.node(3).appliedIndex === h.core(1).commit);
    pass(h, 60);
    for (const id of all) expect(h.core(id).term, `node ${id}`).to.equal(term);
    expect(h.leaders()).to.deep.equal([1]);
    expect(h.node(3).applied).to.deep.equal(h.node(1).applied);
  });

  it('without pre-vote the same node comes back at a higher term and deposes the leader (the test can fail)', () => {
    const h = steady({ preVote: false });
    const term = h.core(1).term;
    h.isolate(3);
    pass(h, 100);
    expect(h.core(3).term).to.be.greaterThan(term);
    h.heal();
    pass(h, 60);
    expect(h.core(1).term).to.be.greaterThan(term);
  });

  it('a node stranded at a higher term with a shorter log still rejoins: one step-down, then a stable leader', () => {
    const h = steady();
    h.isolate(3);
    // Node 3 runs a while without pre-vote (as an older version would), raising its term.
    h.crash(3);
    h.restart(3, { preVote: false });
    pass(h, 100, (r) => {
      if (r % 10 === 0) h.propose(h.leaders()[0]!, `while away ${r}`);
    });
    const stranded = h.core(3).term;
    expect(stranded).to.be.greaterThan(h.core(1).term);
    h.crash(3);
    h.restart(3, { preVote: true });
    h.heal();
    h.run(() => {
      const ls = h.leaders();
      return ls.length === 1 && all.every((id) => h.core(id).term === h.core(ls[0]!).term && h.node(id).appliedIndex === h.core(ls[0]!).commit);
    });
    const [leader] = h.leaders();
    // Node 3's log is behind: it cannot have won; the others moved past its term.
    expect(leader).to.not.equal(3);
    expect(h.core(leader!).term).to.be.greaterThan(stranded);
    const settled = h.core(leader!).term;
    pass(h, 100);
    expect(h.leaders()).to.deep.equal([leader]);
    for (const id of all) expect(h.core(id).term).to.equal(settled);
    expect(h.node(3).applied).to.deep.equal(h.node(leader!).applied);
  });

  it('check-quorum: a leader cut off from its quorum steps down within an election timeout; the rest elect a new one', () => {
    const h = steady();
    const term = h.core(1).term;
    h.isolate(1);
    pass(h, 21);
    expect(h.core(1).role).to.not.equal(Role.Leader);
    pass(h, 40);
    const ls = h.leaders();
    expect(ls).to.have.length(1);
    expect(ls[0]).to.not.equal(1);
    expect(h.core(ls[0]!).term).to.be.greaterThan(term);
  });
});
