/**
 * Linearizable reads: a ReadIndex never outlives the leadership it came from (etcd #20418), a
 * deposed leader's pending read is dropped rather than served, and a lease read is served only
 * while no other leader can exist.
 */
import { expect } from 'chai';
import { Harness } from '../../../lib/sim/harness.js';
import { MessageType, Role } from '../../../lib/raft/core/types.js';

const all = [1, 2, 3];
const electionTypes = [MessageType.TimeoutNow, MessageType.PreVote, MessageType.PreVoteResponse, MessageType.Vote, MessageType.VoteResponse];

/** Node 1 serves a read, leads again after node 2 wrote, and is asked to read before its no-op commits. */
function readAfterLeadershipReturns(plant?: 'reuse-read-index'): { h: Harness; written: number } {
  const h = new Harness({ voters: all, plant });
  h.elect(1);
  h.propose(1, 'x=1');
  h.run(() => all.every((id) => h.node(id).appliedIndex === 2));
  h.readIndex(1, 1);
  h.run(() => h.node(1).reads.has(1));
  expect(h.node(1).reads.get(1)!.texts).to.deep.equal(['x=1']);
  h.transferLeadership(1, 2);
  h.settle({ type: electionTypes });
  expect(h.leaders()).to.deep.equal([2]);
  const written = h.propose(2, 'x=2');
  // Node 1 gets the entry but not the news that it committed; node 2 applies it (acknowledged).
  h.settle({ where: (m) => m.to !== 1 || m.entries.length > 0 });
  h.drop({ to: 1 });
  expect(h.node(2).appliedIndex).to.be.at.least(written);
  expect(h.node(1).store.lastIndex()).to.be.at.least(written);
  expect(h.core(1).commit).to.be.below(written);
  // Leadership goes back to node 1, and a read arrives at once.
  h.transferLeadership(2, 1);
  h.settle({ type: electionTypes });
  expect(h.leaders()).to.deep.equal([1]);
  h.readIndex(1, 2);
  h.run(() => h.node(1).reads.has(2));
  return { h, written };
}

describe('scenario: linearizable reads', () => {
  it('a new leader answers a read only after committing in its term: it sees every acknowledged write', () => {
    const { h, written } = readAfterLeadershipReturns();
    const read = h.node(1).reads.get(2)!;
    expect(read.index).to.be.at.least(written);
    expect(read.texts).to.deep.equal(['x=1', 'x=2']);
  });

  it('the transcript catches the planted bug reuse-read-index (a stale read)', () => {
    const { h, written } = readAfterLeadershipReturns('reuse-read-index');
    const read = h.node(1).reads.get(2)!;
    expect(read.index).to.be.below(written);
    expect(read.texts).to.deep.equal(['x=1']);
  });

  it('a read pending on a leader that gets cut off is dropped when it learns of the new term, never served', () => {
    const h = new Harness({ voters: all });
    h.elect(1);
    h.run(() => all.every((id) => h.node(id).appliedIndex === 1));
    h.isolate(1);
    h.readIndex(1, 7);
    for (let r = 0; r < 60; r++) {
      h.tick(all);
      h.settle();
    }
    const [leader] = h.leaders().filter((id) => id !== 1);
    expect(leader).to.not.equal(undefined);
    const written = h.propose(leader!, 'while 1 is away');
    h.run(() => h.node(leader!).appliedIndex >= written);
    h.heal();
    h.run(() => h.node(1).appliedIndex >= written);
    expect(h.node(1).reads.has(7)).to.equal(false);
    expect(h.node(1).droppedReads).to.include(7);
  });

  /**
   * Node 1 leads with lease reads and is cut off; every round it is asked for a read. Its clock
   * ticks only in the rounds `ticks(round)` says (a slow clock). Returns reads served while
   * another leader existed, and how many it served at all.
   */
  function isolatedLeaseLeader(ticks: (round: number) => boolean): { stale: number; served: number } {
    const h = new Harness({ voters: all, settings: { readMode: 'lease', maxClockDriftTicks: 2 } });
    h.elect(1);
    h.run(() => all.every((id) => h.node(id).appliedIndex === 1));
    for (let r = 0; r < 3; r++) {
      h.tick(all);
      h.settle();
    }
    // In its lease, the leader answers at once (no heartbeat round).
    h.readIndex(1, 1);
    expect(h.node(1).reads.has(1)).to.equal(true);
    h.isolate(1);
    let served = 0;
    let stale = 0;
    for (let r = 1; r <= 60; r++) {
      h.tick(ticks(r) ? all : [2, 3]);
      h.settle();
      const id = 100 + r;
      if (h.core(1).role !== Role.Leader) continue;
      h.readIndex(1, id);
      if (!h.node(1).reads.has(id)) continue;
      served++;
      if (h.leaders().some((l) => l !== 1)) stale++;
    }
    expect(h.leaders().filter((l) => l !== 1)).to.have.length(1);
    return { stale, served };
  }

  it('lease reads: an isolated leader stops serving before anyone else can lead (clock drift within the bound)', () => {
    // Node 1's clock: on time; 10 % slow (one tick in 10 missed), within raft.maxClockDriftTicks (2 per 10).
    for (const [name, ticks] of [['on time', () => true], ['10 % slow', (r: number) => r % 10 !== 0]] as const) {
      const { stale, served } = isolatedLeaseLeader(ticks);
      expect(served, name).to.be.greaterThan(0);
      expect(stale, name).to.equal(0);
    }
  });

  it('lease reads: with a clock far slower than the drift bound, stale reads happen (the bound is load-bearing)', () => {
    // Node 1's clock runs at a third of the speed: its lease outlives the others' election timeouts.
    const { stale } = isolatedLeaseLeader((r) => r % 3 === 0);
    expect(stale).to.be.greaterThan(0);
  });
});
