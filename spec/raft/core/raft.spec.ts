import { expect } from 'chai';
import { ConfigChangeType, Role } from '../../../lib/raft/core/types.js';
import { isFlotillaError } from '../../../lib/base/errors.js';
import { membershipOf } from '../../../lib/raft/core/membership.js';
import { Cluster } from './harness.js';

describe('RaftCore', () => {
  it('a single node elects itself and commits', () => {
    const c = new Cluster([1]);
    c.node(1).core.campaign();
    c.deliverAll();
    expect(c.node(1).core.role).to.equal(Role.Leader);
    c.propose(1, 'a');
    expect(c.appliedTexts(1)).to.deep.equal(['a']);
  });

  it('three nodes elect one leader and replicate', () => {
    const c = new Cluster([1, 2, 3]);
    const leader = c.electLeader();
    for (let i = 0; i < 10; i++) c.propose(leader, `v${i}`);
    c.tick(2);
    for (const id of [1, 2, 3]) expect(c.appliedTexts(id)).to.have.length(10);
    expect(c.leaders()).to.deep.equal([leader]);
  });

  it('refuses proposals on a follower with the leader id', () => {
    const c = new Cluster([1, 2, 3]);
    const leader = c.electLeader();
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    try {
      c.node(follower).core.propose([Buffer.from('x')]);
      expect.fail('accepted');
    } catch (err) {
      expect(isFlotillaError(err, 'NOT_LEADER')).to.equal(true);
      expect((err as { details: { leaderId: number } }).details.leaderId).to.equal(leader);
    }
  });

  it('a leader cut off from the quorum steps down (check-quorum), and a new one is elected', () => {
    const c = new Cluster([1, 2, 3]);
    const old = c.electLeader();
    c.isolate(old);
    c.tick(25);
    expect(c.node(old).core.role).to.not.equal(Role.Leader);
    const others = [1, 2, 3].filter((id) => id !== old);
    const fresh = c.electLeader(others);
    expect(fresh).to.not.equal(old);
    c.propose(fresh, 'after');
    c.heal();
    c.tick(30);
    expect(c.appliedTexts(old)).to.include('after');
  });

  it('outOfSyncVoters counts the voters a leader has not heard from in a check-quorum round (Kafka\'s under-replicated)', () => {
    const c = new Cluster([1, 2, 3, 4, 5], { checkQuorum: true });
    const leader = c.electLeader();
    c.propose(leader, 'x');
    c.tick(25);
    expect(c.node(leader).core.outOfSyncVoters()).to.equal(0);
    const follower = [1, 2, 3, 4, 5].find((id) => id !== leader)!;
    expect(c.node(follower).core.outOfSyncVoters()).to.equal(0);
    c.isolate(follower);
    c.tick(45); // past two check-quorum rounds (election timeout 10-20 ticks)
    expect(c.node(leader).core.role).to.equal(Role.Leader);
    expect(c.node(leader).core.outOfSyncVoters()).to.equal(1);
    c.heal();
    c.tick(45);
    expect(c.leaders()).to.deep.equal([leader]);
    expect(c.node(leader).core.outOfSyncVoters()).to.equal(0);
  });

  it('a heartbeat answer sent before appends arrived keeps the follower replicating; appends lost before a heartbeat send it back to probing', () => {
    // Commit advances unannounced, so only the heartbeat can reveal the loss.
    const c = new Cluster([1, 2, 3], { broadcastCommit: false });
    const leader = c.electLeader();
    const f = [1, 2, 3].find((id) => id !== leader)!;
    const state = (): string => c.node(leader).core.status().progress.get(f)!.state;
    const to = (ms: typeof c.inbox, id: number): typeof c.inbox => ms.filter((m) => m.to === id);
    const deliver = (ms: typeof c.inbox): void => {
      for (const m of ms) c.node(m.to).core.step(m);
      c.processReadies();
    };
    expect(state()).to.equal('replicate');
    // A heartbeat leaves, then appends behind it; the follower answers the heartbeat before the
    // appends reach it (they are merely on the way): no reason to probe.
    c.node(leader).core.tick();
    c.processReadies();
    const heartbeats = c.inbox;
    c.inbox = [];
    for (let i = 0; i < 3; i++) c.node(leader).core.propose([Buffer.from(`p${i}`)]);
    c.processReadies();
    const appends = c.inbox;
    c.inbox = [];
    deliver(to(heartbeats, f));
    deliver(to(c.inbox.splice(0), leader));
    expect(state()).to.equal('replicate');
    deliver([...to(heartbeats, 6 - leader - f), ...appends]);
    c.deliverAll();
    expect(c.appliedTexts(leader)).to.deep.equal(['p0', 'p1', 'p2']);
    // Appends lost, then a heartbeat behind them: its answer shows the loss.
    c.node(leader).core.propose([Buffer.from('lost')]);
    c.processReadies();
    const lost = to(c.inbox, f);
    c.inbox = c.inbox.filter((m) => !lost.includes(m));
    c.node(leader).core.tick();
    c.processReadies();
    const behind = c.inbox.filter((m) => m.to === f && m.type === 7);
    c.inbox = c.inbox.filter((m) => !behind.includes(m));
    c.deliverAll();
    expect(lost.length).to.be.greaterThan(0);
    deliver(behind);
    deliver(to(c.inbox.splice(0), leader));
    expect(state()).to.equal('probe');
    c.deliverAll();
    c.tick(3);
    expect(c.appliedTexts(f)).to.deep.equal(['p0', 'p1', 'p2', 'lost']);
  });

  it('quiescence: an idle group goes quiet (no messages per tick), wakes on a proposal or a read, and a woken follower fails over from a dead leader', () => {
    const c = new Cluster([1, 2, 3], { quiesceTicks: 3 });
    const leader = c.electLeader();
    c.propose(leader, 'a');
    const sent = (): number => {
      let n = 0;
      for (let i = 0; i < 50; i++) {
        for (const node of c.nodes.values()) node.core.tick();
        c.processReadies();
        n += c.inbox.length;
        c.deliverAll();
      }
      return n;
    };
    c.tick(6);
    for (const id of [1, 2, 3]) expect(c.node(id).core.quiesced, `node ${id} quiet`).to.equal(true);
    expect(sent(), 'messages in 50 quiet ticks').to.equal(0);
    const term = c.node(leader).core.term;
    // A proposal wakes the leader, and its append wakes the followers.
    c.propose(leader, 'b');
    c.tick(1);
    expect(c.appliedTexts(leader)).to.deep.equal(['a', 'b']);
    for (const id of [1, 2, 3]) expect(c.appliedTexts(id), `node ${id}`).to.deep.equal(['a', 'b']);
    c.tick(6);
    for (const id of [1, 2, 3]) expect(c.node(id).core.quiesced).to.equal(true);
    // A read wakes it too, and is served.
    c.node(leader).core.readIndex(7);
    c.tick(2);
    expect(c.node(leader).reads.map((r) => r.id)).to.include(7);
    c.tick(6);
    expect(c.node(leader).core.quiesced).to.equal(true);
    // The leader dies quietly: nothing tells the followers until the host wakes them.
    c.isolate(leader);
    c.tick(60, [1, 2, 3].filter((id) => id !== leader));
    expect(c.leaders()).to.deep.equal([leader]);
    for (const id of [1, 2, 3]) if (id !== leader) c.node(id).core.wake();
    const others = [1, 2, 3].filter((id) => id !== leader);
    const fresh = c.electLeader(others);
    expect(c.node(fresh).core.term).to.be.greaterThan(term);
    c.propose(fresh, 'c');
    // Healed, the old leader hears the new term (its own clock stood still) and follows.
    c.heal();
    c.tick(30);
    expect(c.node(leader).core.role).to.equal(Role.Follower);
    expect(c.appliedTexts(leader)).to.deep.equal(['a', 'b', 'c']);
    expect(c.leaders()).to.deep.equal([fresh]);
  });

  it('quiescence needs pre-vote', () => {
    expect(() => new Cluster([1], { quiesceTicks: 3, preVote: false })).to.throw(/quiesceTicks.*needs preVote/);
  });

  it('a partitioned node rejoins without disrupting the leader (pre-vote)', () => {
    const c = new Cluster([1, 2, 3]);
    const leader = c.electLeader();
    const lone = [1, 2, 3].find((id) => id !== leader)!;
    c.isolate(lone);
    c.tick(100);
    const term = c.node(leader).core.term;
    expect(c.node(lone).core.term).to.equal(term);
    c.heal();
    c.tick(30);
    expect(c.node(leader).core.role).to.equal(Role.Leader);
    expect(c.node(leader).core.term).to.equal(term);
  });

  it('serves ReadIndex reads on the leader and on a follower', () => {
    const c = new Cluster([1, 2, 3]);
    const leader = c.electLeader();
    c.propose(leader, 'x');
    c.node(leader).core.readIndex(7);
    c.deliverAll();
    expect(c.node(leader).reads).to.deep.equal([{ id: 7, index: c.node(leader).core.commit }]);
    const follower = [1, 2, 3].find((id) => id !== leader)!;
    c.node(follower).core.readIndex(8);
    c.deliverAll();
    expect(c.node(follower).reads.map((r) => r.id)).to.deep.equal([8]);
  });

  it('adds a learner, promotes it once caught up, and removes the leader', () => {
    const c = new Cluster([1, 2, 3]);
    const leader = c.electLeader();
    for (let i = 0; i < 5; i++) c.propose(leader, `v${i}`);
    c.add(4, membershipOf([]));
    c.node(leader).core.proposeConfigChange({ type: ConfigChangeType.AddLearner, node: 4 });
    c.deliverAll();
    c.tick(3);
    expect(c.appliedTexts(4)).to.have.length(5);
    c.node(leader).core.proposeConfigChange({ type: ConfigChangeType.PromoteLearner, node: 4 });
    c.tick(3);
    expect(c.node(4).core.membership.voters).to.deep.equal([1, 2, 3, 4]);
    c.node(leader).core.proposeConfigChange({ type: ConfigChangeType.Remove, node: leader });
    c.tick(3);
    expect(c.node(leader).core.role).to.not.equal(Role.Leader);
    const remaining = [1, 2, 3, 4].filter((id) => id !== leader);
    const next = c.electLeader(remaining);
    c.propose(next, 'after removal');
    c.tick(2);
    for (const id of remaining) expect(c.appliedTexts(id)).to.include('after removal');
  });

  it('transfers leadership', () => {
    const c = new Cluster([1, 2, 3]);
    const leader = c.electLeader();
    const target = [1, 2, 3].find((id) => id !== leader)!;
    c.node(leader).core.transferLeadership(target);
    c.deliverAll();
    c.tick(2);
    expect(c.leaders()).to.deep.equal([target]);
  });

  it('sends a snapshot in chunks to a follower behind the log start', () => {
    const c = new Cluster([1, 2, 3], { snapshotChunkBytes: 4 });
    const leader = c.electLeader();
    const lagging = [1, 2, 3].find((id) => id !== leader)!;
    c.isolate(lagging);
    for (let i = 0; i < 20; i++) c.propose(leader, `v${i}`);
    const ln = c.node(leader);
    const applied = ln.core.status().applied;
    const meta = ln.core.snapshotMetaAt(applied)!;
    void ln.storage.saveSnapshot(meta, Buffer.from('snapshot-data-of-some-length'), meta.index + 1);
    c.heal();
    c.tick(5);
    const lg = c.node(lagging);
    expect(lg.storage.snapshotMeta().index).to.equal(meta.index);
    expect(Buffer.from(lg.storage.readSnapshot(0, lg.storage.snapshotSize())).toString()).to.equal('snapshot-data-of-some-length');
    c.propose(leader, 'after');
    c.tick(2);
    expect(c.appliedTexts(lagging)).to.include('after');
  });

  it('restarts from durable state and keeps its log', () => {
    const c = new Cluster([1, 2, 3]);
    const leader = c.electLeader();
    for (let i = 0; i < 3; i++) c.propose(leader, `v${i}`);
    c.tick(2);
    for (const id of [1, 2, 3]) c.restart(id);
    const again = c.electLeader();
    c.propose(again, 'v3');
    c.tick(2);
    for (const id of [1, 2, 3]) expect(c.appliedTexts(id)).to.deep.equal(['v0', 'v1', 'v2', 'v3']);
  });
});
