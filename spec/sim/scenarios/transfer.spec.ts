/**
 * Leadership transfer under load: proposals keep coming while the leader hands over. Proposals
 * during the handover are refused (PROPOSAL_DROPPED), never half-taken; every accepted proposal
 * that committed is applied exactly once on every node, in the same order; the target wins the
 * next term at once (TimeoutNow skips the election timeout and the leader lease).
 */
import { expect } from 'chai';
import { Harness } from '../../../lib/sim/harness.js';
import { isFlotillaError } from '../../../lib/base/errors.js';
import { type Message, MessageType } from '../../../lib/raft/core/types.js';

const all = [1, 2, 3];

describe('scenario: leadership transfer under load', () => {
  it('hands over to a lagging follower while clients keep proposing; nothing is lost or applied twice', () => {
    const h = new Harness({ voters: all });
    h.elect(1);
    h.run(() => all.every((id) => h.node(id).appliedIndex === 1));
    const term = h.core(1).term;
    const accepted: { text: string; index: number; term: number }[] = [];
    let dropped = 0;
    let seq = 0;
    const client = (): void => {
      const leader = h.leaders()[0];
      if (leader === undefined) return;
      const text = `w${seq++}`;
      try {
        const index = h.propose(leader, text);
        accepted.push({ text, index, term: h.core(leader).term });
      } catch (err) {
        if (!isFlotillaError(err, 'PROPOSAL_DROPPED') && !isFlotillaError(err, 'NOT_LEADER')) throw err;
        dropped++;
      }
    };
    // Node 2 lags: appends to it are lost for a while, so the transfer must first catch it up.
    for (let r = 0; r < 10; r++) {
      client();
      client();
      h.drop({ to: 2 });
      h.tick(all);
      h.settle({ where: (m) => m.to !== 2 });
    }
    h.drop();
    h.transferLeadership(1, 2);
    for (let r = 0; r < 30; r++) {
      client();
      h.tick(all);
      h.deliver();
    }
    h.settle();
    expect(h.leaders()).to.deep.equal([2]);
    expect(h.core(2).term).to.equal(term + 1);
    expect(dropped).to.be.greaterThan(0);
    h.run(() => all.every((id) => h.node(id).appliedIndex === h.core(2).commit && h.core(2).commit === h.core(2).status().lastIndex));
    const applied = h.node(2).applied;
    for (const id of all) expect(h.node(id).applied, `node ${id}`).to.deep.equal(applied);
    expect(new Set(applied).size).to.equal(applied.length);
    // Every accepted proposal whose entry is in the final log was applied; the others were not.
    for (const a of accepted) {
      const inLog = a.index <= h.node(2).store.lastIndex() && h.node(2).store.term(a.index) === a.term;
      expect(applied.includes(a.text), `${a.text} at ${a.index}@${a.term}`).to.equal(inLog);
    }
    // With no faults, every accepted proposal made it.
    expect(applied).to.deep.equal(accepted.map((a) => a.text));
  });

  it('a transfer that cannot finish (the target is down) times out after an election timeout; the leader takes proposals again', () => {
    const h = new Harness({ voters: all });
    h.elect(1);
    h.run(() => all.every((id) => h.node(id).appliedIndex === 1));
    h.crash(3);
    h.transferLeadership(1, 3);
    expect(() => h.propose(1, 'x')).to.throw(/PROPOSAL_DROPPED/);
    for (let r = 0; r < 25; r++) {
      h.tick([1, 2]);
      h.settle();
    }
    expect(h.leaders()).to.deep.equal([1]);
    const index = h.propose(1, 'after the timeout');
    h.run(() => h.node(2).appliedIndex >= index);
  });
});

describe('scenario: durability before acknowledgement', () => {
  const voteThenAppend = (plant?: 'vote-before-persist'): void => {
    const h = new Harness({ voters: all, plant });
    h.crash(3); // node 1 needs node 2's vote and node 2's copy
    h.hold(2);
    /** Persists node 2's writes one Ready at a time until `sent` is in flight; checks durability then. */
    const untilSent = (sent: (m: Message) => boolean, durable: (m: Message) => boolean): void => {
      for (let i = 0; i < 20; i++) {
        h.settle({ where: (m) => !(m.from === 2 && sent(m)) });
        const out = h.inFlight({ from: 2, where: sent });
        if (out.length > 0) {
          for (const m of out) expect(durable(m), `${JSON.stringify(m)} left before its write was durable`).to.equal(true);
          return;
        }
        expect(h.node(2).inFlight, 'node 2 has nothing to persist and sent nothing').to.not.equal(null);
        h.persist(2);
        const after = h.inFlight({ from: 2, where: sent });
        for (const m of after) expect(durable(m), `${JSON.stringify(m)} left before its write was durable`).to.equal(true);
        if (after.length > 0) return;
      }
      expect.fail('never sent');
    };
    h.campaign(1);
    untilSent((m) => m.type === MessageType.VoteResponse && !m.reject, (m) => h.node(2).store.hardState.term === m.term && h.node(2).store.hardState.vote === 1);
    h.settle({ type: MessageType.VoteResponse });
    expect(h.leaders()).to.deep.equal([1]);
    untilSent((m) => m.type === MessageType.AppendResponse && !m.reject && m.index >= 1, (m) => h.node(2).store.lastIndex() >= m.index);
    h.persist(2, true);
    h.run(() => h.core(1).commit >= 1);
  };

  it('a vote and an append answer leave only once the write they promise is durable', () => voteThenAppend());

  it('the transcript catches the planted bug vote-before-persist', () => {
    expect(() => voteThenAppend('vote-before-persist')).to.throw(/left before its write was durable/);
  });

  it('a crash before the write is durable loses it: the vote is not remembered, and was never sent', () => {
    const h = new Harness({ voters: all });
    h.hold(2);
    h.hold(3);
    h.campaign(1);
    h.settle();
    expect(h.inFlight({ type: MessageType.VoteResponse })).to.have.length(0);
    h.crash(2);
    h.crash(3);
    h.restart(2);
    h.restart(3);
    expect(h.node(2).store.hardState.vote).to.equal(0);
    expect(h.core(2).status().vote).to.equal(0);
    expect(h.leaders()).to.deep.equal([]);
  });
});
