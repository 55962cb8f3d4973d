/**
 * Membership transcripts: removing the leader, promoting a learner, and replacing a node whose
 * disk was wiped (identity is tied to the disk: it rejoins under a NEW id, as a learner first,
 * catching up from a snapshot sent in chunks).
 */
import { expect } from 'chai';
import { Harness } from '../../../lib/sim/harness.js';
import { ConfigChangeType, Role } from '../../../lib/raft/core/types.js';
import { isFlotillaError } from '../../../lib/base/errors.js';

function steady(voters: number[], settings: Record<string, unknown> = {}): Harness {
  const h = new Harness({ voters, settings });
  h.elect(voters[0]!);
  h.run(() => voters.every((id) => h.node(id).appliedIndex === 1));
  return h;
}

function live(h: Harness): number[] {
  return [...h.nodes.values()].filter((n) => n.alive).map((n) => n.id);
}

function pass(h: Harness, rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    h.tick(live(h));
    h.settle();
  }
}

describe('scenario: leader removal', () => {
  it('the leader removes itself: it steps down once the change commits, the others elect a leader, it does not disrupt', () => {
    const h = steady([1, 2, 3]);
    h.propose(1, 'before');
    const at = h.changeConfig(1, ConfigChangeType.Remove, 1);
    h.run(() => [2, 3].every((id) => h.node(id).appliedIndex >= at));
    for (const id of [2, 3]) expect(h.core(id).membership.voters).to.deep.equal([2, 3]);
    h.run(() => h.leaders().length === 1 && h.leaders()[0] !== 1);
    expect(h.core(1).role).to.not.equal(Role.Leader);
    const [leader] = h.leaders();
    const term = h.core(leader!).term;
    // Node 1 keeps running (it may not even know it was removed): no term change for 10 timeouts.
    pass(h, 200);
    expect(h.leaders()).to.deep.equal([leader]);
    expect(h.core(leader!).term).to.equal(term);
    // The two-voter group commits on its own.
    const index = h.propose(leader!, 'after');
    h.run(() => [2, 3].every((id) => h.node(id).appliedIndex >= index));
    expect(h.node(2).applied).to.deep.equal(['before', 'after']);
    expect(h.node(3).applied).to.deep.equal(['before', 'after']);
  });

  it('a second change waits for the first to commit, and none before the leader commits in its term', () => {
    const h = new Harness({ voters: [1, 2, 3] });
    h.elect(1);
    // The no-op of term 1 is not committed yet: no config change.
    expect(() => h.changeConfig(1, ConfigChangeType.Remove, 3)).to.throw(/CONFIG_CHANGE_PENDING/);
    h.run(() => h.core(1).commit >= 1);
    h.changeConfig(1, ConfigChangeType.Remove, 3);
    let err: unknown;
    try {
      h.changeConfig(1, ConfigChangeType.Remove, 2);
    } catch (e) {
      err = e;
    }
    expect(isFlotillaError(err, 'CONFIG_CHANGE_PENDING')).to.equal(true);
  });
});

describe('scenario: learner promotion', () => {
  it('a learner catches up without voting, is promoted once caught up, then counts in the quorum', () => {
    const h = steady([1, 2, 3]);
    for (let i = 0; i < 5; i++) h.propose(1, `e${i}`);
    h.join(4);
    const at = h.changeConfig(1, ConfigChangeType.AddLearner, 4);
    h.run(() => h.node(4).appliedIndex === h.core(1).commit && h.core(1).commit >= at);
    expect(h.core(4).membership.learners).to.deep.equal([4]);
    expect(h.node(4).applied).to.deep.equal(h.node(1).applied);
    // A learner never campaigns.
    const term = h.core(4).term;
    h.campaign(4);
    h.tick(4, 50);
    expect(h.core(4).role).to.equal(Role.Follower);
    expect(h.core(4).term).to.equal(term);
    // Voters 1..3 still decide alone: with the learner down, commits go on.
    h.crash(4);
    const i1 = h.propose(1, 'learner down');
    h.run(() => h.core(1).commit >= i1);
    h.restart(4);
    h.run(() => h.node(4).appliedIndex === h.core(1).commit);
    h.changeConfig(1, ConfigChangeType.PromoteLearner, 4);
    h.run(() => [1, 2, 3, 4].every((id) => h.core(id).membership.voters.includes(4) && h.node(id).appliedIndex === h.core(1).commit));
    // Four voters: a quorum is three. With 2 and 3 down, nothing commits; with 4 back in, it does.
    h.crash(2);
    h.crash(3);
    const i2 = h.propose(1, 'needs three');
    pass(h, 5);
    expect(h.core(1).commit).to.be.lessThan(i2);
    h.restart(2);
    h.run(() => h.core(1).commit >= i2);
    // Followers learn the commit index from the next append or heartbeat.
    h.run(() => h.node(4).appliedIndex >= i2);
    expect(h.node(4).applied.at(-1)).to.equal('needs three');
  });
});

describe('scenario: a joiner catching up from the log', () => {
  it('offers no snapshot below its first config entry (it does not know the configuration there), or the right one', () => {
    const h = steady([1, 2, 3]);
    for (let i = 0; i < 5; i++) h.propose(1, `e${i}`);
    h.run(() => h.node(1).appliedIndex === 6);
    h.join(4);
    const at = h.changeConfig(1, ConfigChangeType.AddLearner, 4);
    h.run(() => h.node(4).appliedIndex >= at);
    const meta = h.core(4).snapshotMetaAt(at - 1);
    if (meta !== null) expect(meta.membership).to.deep.equal({ voters: [1, 2, 3], learners: [] });
    expect(h.core(4).snapshotMetaAt(at)!.membership).to.deep.equal({ voters: [1, 2, 3], learners: [4] });
  });
});

describe('scenario: a wiped disk rejoins under a new id, from a snapshot', () => {
  it('remove the old id, add the new one as learner (snapshot in chunks), promote it', () => {
    const h = steady([1, 2, 3], { snapshotChunkBytes: 16, snapshotInflightChunks: 2 });
    for (let i = 0; i < 30; i++) h.propose(1, `e${i}`);
    h.run(() => [1, 2, 3].every((id) => h.node(id).appliedIndex === h.core(1).commit && h.core(1).commit >= 31));
    for (const id of [1, 2]) h.snapshot(id);
    expect(h.node(1).store.firstIndex()).to.be.greaterThan(1);
    // Node 3 loses its disk. It must never come back as 3: its vote and log are gone.
    h.wipe(3);
    expect(() => h.join(3)).to.throw(/new id/);
    const removed = h.changeConfig(1, ConfigChangeType.Remove, 3);
    h.run(() => h.core(1).commit >= removed);
    h.join(4);
    h.changeConfig(1, ConfigChangeType.AddLearner, 4);
    h.run(() => h.node(4).appliedIndex === h.core(1).commit);
    // It caught up from the leader's snapshot, received in many chunks.
    expect(h.node(4).store.snapshotMeta().index).to.equal(31);
    expect(h.node(4).store.snapshotSize()).to.be.greaterThan(16 * 10);
    expect(h.node(4).applied).to.deep.equal(h.node(1).applied);
    expect(h.core(4).membership).to.deep.equal({ voters: [1, 2], learners: [4] });
    h.changeConfig(1, ConfigChangeType.PromoteLearner, 4);
    h.run(() => [1, 2, 4].every((id) => h.core(id).membership.voters.includes(4) && h.node(id).appliedIndex === h.core(1).commit));
    // 1 and 4 are a quorum of {1, 2, 4}.
    h.crash(2);
    const index = h.propose(1, 'with the new node');
    h.run(() => h.node(4).appliedIndex >= index);
    expect(h.node(4).applied.at(-1)).to.equal('with the new node');
  });
});
