/**
 * The checker on hand-made misbehaviour: cores that break one promise each, through the Ready
 * they hand to the host, must be reported under the right name.
 */
import { expect } from 'chai';
import { RaftCore } from '../../lib/raft/core/raft.js';
import { EntryType, type Ready, type SnapshotMeta } from '../../lib/raft/core/types.js';
import { type SimResult, runSeed } from '../../lib/sim/simulation.js';

/** Runs seeds from 1 with a misbehaving core until one reports a violation (bounded). */
function firstViolation(make: (options: ConstructorParameters<typeof RaftCore>[0]) => RaftCore, seeds = 200): SimResult | null {
  for (let seed = 1; seed <= seeds; seed++) {
    const r = runSeed({ seed, steps: 5_000, coreFactory: make });
    if (r.violations.length > 0) return r;
  }
  return null;
}

/** A core whose Readies are rewritten on the way to the host (advance gets the original back). */
abstract class Tampering extends RaftCore {
  private readonly originals = new WeakMap<Ready, Ready>();
  protected abstract tamper(rd: Ready): Ready;
  override ready(): Ready {
    const rd = super.ready();
    const out = this.tamper(rd);
    this.originals.set(out, rd);
    return out;
  }
  override advance(rd: Ready): void {
    super.advance(this.originals.get(rd) ?? rd);
  }
}

/** Sends what must wait for durability at once: persistedMessages moved into messages. */
class Hasty extends Tampering {
  protected tamper(rd: Ready): Ready {
    return { ...rd, messages: [...rd.messages, ...rd.persistedMessages], persistedMessages: [] };
  }
}

/** Node 2 writes a different payload than the one it was sent (same index and term). */
class Scribbler extends Tampering {
  protected tamper(rd: Ready): Ready {
    if (this.id !== 2 || rd.entries.length === 0) return rd;
    const entries = rd.entries.map((e) => (e.type === EntryType.Normal ? { ...e, data: Uint8Array.from(e.data, (b) => b ^ 0xff) } : e));
    return { ...rd, entries };
  }
}

/** Takes snapshots without their configuration (pitfall: a restored node counts the wrong quorum). */
class Forgetful extends RaftCore {
  override snapshotMetaAt(index: number): SnapshotMeta | null {
    const meta = super.snapshotMetaAt(index);
    return meta && { ...meta, membership: { voters: meta.membership.voters.slice(1), learners: meta.membership.learners } };
  }
}

describe('the simulation checker on hand-made misbehaviour', function () {
  this.timeout(120_000);

  it('answers sent before their write is durable: vote-, ack- or term-before-durable', () => {
    const r = firstViolation((o) => new Hasty(o));
    expect(r, 'no violation found').to.not.equal(null);
    expect(r!.violations[0]!.kind).to.be.oneOf(['vote-before-durable', 'ack-before-durable', 'term-before-durable']);
  });

  it('a node that writes another entry under the same index and term: log-matching', () => {
    const r = firstViolation((o) => new Scribbler(o));
    expect(r, 'no violation found').to.not.equal(null);
    expect(r!.violations[0]!.kind).to.equal('log-matching');
  });

  it('a snapshot without the configuration in force at its index: snapshot-meta', () => {
    const r = firstViolation((o) => new Forgetful(o));
    expect(r, 'no violation found').to.not.equal(null);
    expect(r!.violations[0]!.kind).to.equal('snapshot-meta');
  });

  it('an honest core on the same seeds: nothing', () => {
    for (let seed = 1; seed <= 20; seed++) expect(runSeed({ seed, steps: 5_000, coreFactory: (o) => new RaftCore(o) }).violations).to.deep.equal([]);
  });
});
