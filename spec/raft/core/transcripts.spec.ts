/**
 * Transcript-style tests of situations from the Raft paper, driven message by message.
 */
import { expect } from 'chai';
import { MessageType, Role } from '../../../lib/raft/core/types.js';
import { Cluster } from './harness.js';

describe('RaftCore transcripts', () => {
  it('a vote is answered only after it is durable (persistedMessages)', () => {
    const c = new Cluster([1, 2, 3]);
    c.node(1).core.campaign();
    // Deliver S1's pre-votes and the answers, then its vote requests.
    for (let round = 0; round < 3; round++) {
      c.processReadies();
      const batch = c.inbox;
      c.inbox = [];
      for (const m of batch) c.node(m.to).core.step(m);
    }
    const voter = c.node(2).core;
    expect(voter.hasReady()).to.equal(true);
    const rd = voter.ready();
    const granted = rd.persistedMessages.filter((m) => m.type === MessageType.VoteResponse && !m.reject);
    expect(granted.map((m) => m.to)).to.deep.equal([1]);
    expect(rd.messages.filter((m) => m.type === MessageType.VoteResponse)).to.have.length(0);
    expect(rd.hardState).to.include({ vote: 1, term: 1 });
    voter.advance(rd);
  });

  it('never changes its term on a pre-vote', () => {
    const c = new Cluster([1, 2, 3]);
    const leader = c.electLeader();
    const lone = [1, 2, 3].find((id) => id !== leader)!;
    const other = [1, 2, 3].find((id) => id !== leader && id !== lone)!;
    const term = c.node(leader).core.term;
    c.isolate(lone);
    c.tick(80, [lone]);
    // Many pre-vote rounds without an answer: the term has not moved.
    expect(c.node(lone).core.role).to.equal(Role.PreCandidate);
    expect(c.node(lone).core.term).to.equal(term);
    // Back in touch, its pre-votes reach voters inside the leader's lease: ignored, nothing changes.
    c.heal();
    c.node(lone).core.tick();
    c.deliverAll();
    expect(c.node(other).core.term).to.equal(term);
    expect(c.node(leader).core.role).to.equal(Role.Leader);
    expect(c.node(leader).core.term).to.equal(term);
  });
});
