/**
 * Core bugs the simulator found that are not fixed yet (reported to the core's owner; fixing the
 * core is not the simulator's job). Each is a transcript that pins it down and the seeds that
 * found it. When the core is fixed these pass: move the seeds to regressions.spec.ts then.
 */
import { expect } from 'chai';
import { Harness } from '../../lib/sim/harness.js';
import { MessageType } from '../../lib/raft/core/types.js';
import { runSeed } from '../../lib/sim/simulation.js';

describe('open core bugs found by the simulator', function () {
  this.timeout(60_000);

  /**
   * An append answer queued (persistedMessages) for entries that a later step of the same node
   * truncates, before the Ready that carries both is written, still goes out after that write:
   * it acknowledges, at the old term, an entry the node no longer holds. The old leader may count
   * it toward a quorum (a committed entry not durable on a quorum; two entries committed at one
   * index). Fix idea: when a step truncates the log at index i, drop queued append answers with
   * index >= i (or every queued answer of an older term once the term moves).
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

  it('seed 129805: ack-before-durable (node 5 acknowledges index 28 to the old leader after truncating it)', () => {
    const r = runSeed({ seed: 129805, steps: 10_000 });
    expect(r.violations.map((v) => `${v.kind}: ${v.detail}`)).to.deep.equal([]);
  });
});
