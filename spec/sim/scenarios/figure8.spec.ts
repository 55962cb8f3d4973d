/**
 * Raft paper, figure 8: an entry of an older term that sits on a majority is NOT committed by
 * counting replicas; only an entry of the leader's own term commits it (and what lies before it).
 *
 * The situation, in the paper's plain Raft (no pre-vote, no check-quorum), five nodes:
 *   S1 [1@1 2@2]  (led term 2, got 2@2 to nobody)        S5 [1@1 2@3]  (led term 3, got 2@3 to nobody)
 *   S2, S3, S4 [1@1]                                     every durable term is 3.
 * S1 wins term 4 (S2..S4 vote for it; S5's log is newer than S1's) and appends its no-op 3@4.
 * Appends carry one entry each (small maxMessageBytes), so S2 and S3 first receive 2@2 alone:
 * 2@2 is then on S1, S2 and S3, a majority, and must still not count as committed.
 */
import { expect } from 'chai';
import { Harness } from '../../../lib/sim/harness.js';
import { type Message, MessageType, Role } from '../../../lib/raft/core/types.js';

const logs = {
  1: { terms: [1, 2], term: 3 },
  2: { terms: [1], term: 3 },
  3: { terms: [1], term: 3 },
  4: { terms: [1], term: 3 },
  5: { terms: [1, 3], term: 3 },
};
const settings = { preVote: false, checkQuorum: false, maxMessageBytes: 64 };
const carries = (index: number) => (m: Message): boolean => m.entries.some((e) => e.index === index);

/** Brings the cluster to figure 8 (c): S1 leads term 4 and 2@2 is on S1, S2, S3; 3@4 is on S1 alone. */
function figure8c(plant?: 'commit-previous-term'): Harness {
  const h = new Harness({ voters: [1, 2, 3, 4, 5], logs, settings, pad: 60, plant });
  h.crash(5); // S5 is down while S1 wins term 4
  h.elect(1);
  expect(h.core(1).term).to.equal(4);
  // Nobody but S1 may store 3@4 (an append carrying it is lost unless the follower must reject
  // it for a gap); S4 hears nothing from S1. Heartbeats drive the leader's probes.
  const wouldStore = (m: Message): boolean => carries(3)(m) && h.node(m.to).store.lastIndex() >= m.index;
  for (let i = 0; i < 10; i++) {
    h.drop({ from: 1, where: wouldStore });
    h.drop({ from: 1, to: 4 });
    h.deliver();
    if (i % 3 === 2) h.tick(1);
  }
  return h;
}

describe('scenario: Raft figure 8 (a previous-term entry is not committed by counting)', () => {
  it('2@2 on a majority is not committed while the leader has no entry of term 4 on a majority', () => {
    const h = figure8c();
    expect(h.terms(2)).to.deep.equal([1, 2]);
    expect(h.terms(3)).to.deep.equal([1, 2]);
    // The leader knows S2 and S3 match it up to index 2: a majority, counting S1.
    const progress = h.core(1).status().progress;
    expect(progress.get(2)!.match).to.equal(2);
    expect(progress.get(3)!.match).to.equal(2);
    expect(h.core(1).commit).to.equal(0);
    expect(h.node(1).applied).to.deep.equal([]);
  });

  it('(d) S5 may then win term 5 and overwrite 2@2: safe, because it was never committed or applied', () => {
    const h = figure8c();
    h.crash(1);
    h.restart(5);
    // S5's first try is at term 4, where S2..S4 voted for S1 already; its second, term 5, wins.
    h.campaign(5);
    h.settle();
    expect(h.core(5).role).to.not.equal(Role.Leader);
    h.elect(5);
    expect(h.core(5).term).to.equal(5);
    h.run(() => [2, 3, 4, 5].every((id) => h.core(id).commit === 3 && h.node(id).appliedIndex === 3));
    for (const id of [2, 3, 4, 5]) {
      expect(h.terms(id), `node ${id}`).to.deep.equal([1, 3, 5]);
      expect(h.node(id).applied, `node ${id}`).to.deep.equal(['1@1', '2@3']);
    }
    // S1 comes back and loses its 2@2 and 3@4 as well.
    h.restart(1);
    h.run(() => h.node(1).appliedIndex === 3);
    expect(h.terms(1)).to.deep.equal([1, 3, 5]);
  });

  it('(e) once 3@4 is on a majority, 2@2 commits with it, and S5 can no longer be elected', () => {
    const h = figure8c();
    h.settle({ type: [MessageType.Append, MessageType.AppendResponse], where: (m) => m.to !== 4 && m.from !== 4 });
    h.tick(1);
    h.settle({ where: (m) => m.to !== 4 && m.from !== 4 });
    expect(h.core(1).commit).to.equal(3);
    expect(h.node(1).applied).to.deep.equal(['1@1', '2@2']);
    h.crash(1);
    h.restart(5);
    h.campaign(5);
    h.settle();
    expect(h.core(5).role).to.not.equal(Role.Leader);
    expect(h.core(2).status().vote).to.not.equal(5);
    expect(h.core(3).status().vote).to.not.equal(5);
  });

  it('the transcript catches the planted bug commit-previous-term', () => {
    const h = figure8c('commit-previous-term');
    expect(h.core(1).commit).to.equal(2);
    // ...so S2 and S3 apply 2@2; S5 still wins term 5 (its log is newer) and overwrites it: the
    // harness's state machine safety check fires.
    h.crash(1);
    h.restart(5);
    h.campaign(5);
    h.settle();
    h.elect(5);
    expect(() => h.run(() => h.node(4).appliedIndex >= 2)).to.throw(/state machine safety/);
  });
});
