/**
 * Stale and early messages, each with the planted bug that breaks it: a duplicated old append
 * must not truncate what a follower acknowledged since; a pre-vote never moves the voter's term;
 * a new leader proposes no config change before committing an entry of its own term.
 */
import { expect } from 'chai';
import { Harness } from '../../../lib/sim/harness.js';
import { ConfigChangeType, type Message, MessageType, Role } from '../../../lib/raft/core/types.js';
import type { PlantedBug } from '../../../lib/raft/core/raft.js';

const all = [1, 2, 3];

function steady(plant?: PlantedBug): Harness {
  const h = new Harness({ voters: all, plant });
  h.elect(1);
  h.run(() => all.every((id) => h.node(id).appliedIndex === 1));
  return h;
}

describe('scenario: stale and early messages', () => {
  /**
   * Node 2 takes the pipelined appends of a and b and acknowledges both (the leader commits b);
   * the news of the commit is lost; then a duplicate of the first append arrives late.
   */
  function duplicatedAppend(plant?: PlantedBug): Harness {
    const h = steady(plant);
    h.crash(3); // the quorum is {1, 2}: what 2 acknowledged is what makes an entry committed
    h.propose(1, 'a');
    const first = h.inFlight({ to: 2, type: MessageType.Append })[0]!;
    const b = h.propose(1, 'b');
    h.deliver({ to: 2 });
    h.deliver({ from: 2 });
    expect(h.core(1).commit).to.equal(b);
    h.drop({ to: 2 });
    expect(h.core(2).commit).to.be.below(2);
    const replay: Message = { ...first };
    h.net.push(replay);
    expect(h.deliver()).to.equal(1);
    return h;
  }

  it('a duplicated old append does not truncate entries the follower acknowledged since', () => {
    const h = duplicatedAppend();
    expect(h.terms(2)).to.have.length(3);
    h.run(() => h.node(2).appliedIndex === 3);
    expect(h.node(2).applied).to.deep.equal(['a', 'b']);
  });

  it('the transcript catches the planted bug truncate-on-stale-append', () => {
    const h = duplicatedAppend('truncate-on-stale-append');
    // Entry 3 is committed (on 1 and 2), and node 2 just dropped it from its disk.
    expect(h.terms(2)).to.have.length(2);
  });

  /** Node 1 is gone; 2 and 3 time out; 3's pre-vote reaches 2. Returns 2's term before and after. */
  function preVoteReachesVoter(plant?: PlantedBug): { before: number; after: number } {
    const h = steady(plant);
    h.crash(1);
    for (let r = 0; r < 60 && h.inFlight({ from: 3, to: 2, type: MessageType.PreVote }).length === 0; r++) {
      h.drop();
      h.tick([2, 3]);
    }
    h.drop({ where: (m) => !(m.from === 3 && m.to === 2 && m.type === MessageType.PreVote) });
    const before = h.core(2).term;
    expect(h.deliver()).to.equal(1);
    return { before, after: h.core(2).term };
  }

  it('a pre-vote never changes the term of the node that answers it', () => {
    const { before, after } = preVoteReachesVoter();
    expect(after).to.equal(before);
  });

  it('the transcript catches the planted bug prevote-changes-term', () => {
    const { before, after } = preVoteReachesVoter('prevote-changes-term');
    expect(after).to.be.greaterThan(before);
  });

  /** A new leader of term 2 whose no-op is not committed yet is asked for a config change. */
  function earlyConfigChange(plant?: PlantedBug): () => number {
    const h = steady(plant);
    h.transferLeadership(1, 2);
    h.settle({ type: [MessageType.TimeoutNow, MessageType.Vote, MessageType.VoteResponse] });
    expect(h.core(2).role).to.equal(Role.Leader);
    expect(h.core(2).logTerm(h.core(2).commit)).to.be.below(h.core(2).term);
    return () => h.changeConfig(2, ConfigChangeType.Remove, 3);
  }

  it('a leader proposes no config change before it committed an entry of its term', () => {
    expect(earlyConfigChange()).to.throw(/CONFIG_CHANGE_PENDING/);
  });

  it('the transcript catches the planted bug config-change-without-current-term-commit', () => {
    expect(earlyConfigChange('config-change-without-current-term-commit')).to.not.throw();
  });

  /**
   * An append answer queued (persistedMessages) for entries that a later step of the same node
   * truncates before the Ready carrying both is written must not go out after that write: it
   * would acknowledge, at the old term, an entry the node no longer holds (sim seed 129805).
   */
  it('no append answer leaves for an entry the same Ready truncated', () => {
    const h = new Harness({ voters: [1, 2, 3, 4, 5], settings: { checkQuorum: false } });
    h.elect(1);
    h.run(() => [1, 2, 3, 4, 5].every((id) => h.node(id).appliedIndex === 1));
    // Leader 1 (term 1) appends a at index 2; only node 3 gets it, and node 3's disk is slow.
    h.hold(3);
    h.propose(1, 'a');
    const append = h.inFlight({ from: 1, to: 3, type: MessageType.Append })[0]!;
    h.drop({ from: 1 });
    h.net.push(append);
    h.deliver({ to: 3 }); // Ready R1 {entries [2@1]; ack 2 after} in flight
    h.net.push({ ...append }); // a retransmission: node 3 queues another ack of 2 for the next Ready
    h.deliver({ to: 3 });
    // Node 2 wins term 2 with 4 and 5 (1 and 3 cut off from it) and appends its no-op at 2.
    h.partition([1, 3], [2, 4, 5]);
    h.elect(2);
    h.heal();
    h.deliver({ from: 2, to: 3, type: MessageType.Append }); // truncates 2@1 in the next Ready
    h.persist(3); // R1: 2@1 durable, its ack goes out (correct)
    h.drop({ from: 3 });
    h.persist(3, true); // R2: [2@2] and term 2 durable; then its persisted answers
    expect(h.node(3).store.term(2)).to.equal(2);
    const lies = h.inFlight({ from: 3, to: 1, type: MessageType.AppendResponse, where: (m) => !m.reject && m.index >= 2 });
    expect(lies.map((m) => `term ${m.term} index ${m.index}`), 'acknowledges 2@1, which it just replaced by 2@2').to.deep.equal([]);
  });
});
