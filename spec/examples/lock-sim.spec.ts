/**
 * The lock service example in the simulator, through the public entry only: a correct machine
 * passes hundreds of seeds of faults; two planted bugs are found within 100 seeds.
 *
 * What the checks mean for locks: linearizability against lockModel says every answered
 * acquire, renew, release and read is explained by one sequential run of the lock rules in an
 * order consistent with real time; in such a run a grant to a new holder takes the next token, so
 * no two clients were ever granted the same token and tokens increase. The replica checks say
 * every replica holds the same locks after the same log.
 */
import { expect } from 'chai';
import { simulate } from '../../lib/index.js';
import { LockMachine, type LockBug, lockModel, lockWorkload, step } from '../../examples/lock/lock-machine.js';

const STEPS = 500;

function run(bug: LockBug, seeds: number) {
  return simulate({ machine: () => new LockMachine({ bug }), workload: lockWorkload(), model: lockModel, seeds, steps: STEPS, stopAtFirst: bug !== null });
}

describe('examples/lock in the simulator (public entry)', function () {
  this.timeout(180_000);

  it('the rules: tokens increase with each new grant, a holder asking again keeps its token, a lease runs out on the lock clock', () => {
    let s = { holder: '', token: 0, expiresAt: 0, clock: 0 };
    const a1 = step(s, { op: 'acquire', lock: 'l', client: 'x', ttlMs: 100, now: 1000 });
    expect(a1.output).to.deep.equal({ ok: true, token: 1, expiresAt: 1100 });
    s = a1.state;
    expect(step(s, { op: 'acquire', lock: 'l', client: 'y', ttlMs: 100, now: 1050 }).output).to.deep.equal({ ok: false, holder: 'x', token: 1, expiresAt: 1100 });
    expect(step(s, { op: 'acquire', lock: 'l', client: 'x', ttlMs: 100, now: 1050 }).output).to.deep.equal({ ok: true, token: 1, expiresAt: 1150 });
    const renewed = step(s, { op: 'renew', lock: 'l', client: 'x', ttlMs: 10, now: 1095 });
    expect(renewed.output).to.deep.equal({ ok: true, token: 1, expiresAt: 1105 });
    const taken = step(renewed.state, { op: 'acquire', lock: 'l', client: 'y', ttlMs: 100, now: 1110 });
    expect(taken.output).to.deep.equal({ ok: true, token: 2, expiresAt: 1210 });
    // The old holder is fenced: its token no longer renews or releases.
    expect(step(taken.state, { op: 'renew', lock: 'l', client: 'x', token: 1, ttlMs: 10, now: 1111 }).output).to.deep.equal({ ok: false });
    expect(step(taken.state, { op: 'release', lock: 'l', client: 'x', token: 1, now: 1111 }).output).to.deep.equal({ ok: false });
    // A stamp from a clock that is behind does not turn the lock's time back.
    const behind = step(taken.state, { op: 'acquire', lock: 'l', client: 'y', ttlMs: 100, now: 900 });
    expect(behind.output).to.deep.equal({ ok: true, token: 2, expiresAt: 1210 });
    expect(behind.state.clock).to.equal(1110);
    const freed = step(behind.state, { op: 'release', lock: 'l', client: 'y', token: 2, now: 1120 });
    expect(freed.output).to.deep.equal({ ok: true });
    expect(step(freed.state, { op: 'acquire', lock: 'l', client: 'x', ttlMs: 5, now: 1121 }).output).to.deep.equal({ ok: true, token: 3, expiresAt: 1126 });
  });

  it('a correct lock machine passes 500 seeds of faults (crashes, partitions, pauses, clock skew, membership changes)', () => {
    const report = run(null, 500);
    expect(report.failures.map((f) => `seed ${f.seed}: ${f.violations[0]!.kind}: ${f.violations[0]!.detail}`)).to.deep.equal([]);
    console.log(`      ${report.seeds} seeds, ${report.inconclusive.length} inconclusive for the checker`);
    expect(report.inconclusive.length, 'seeds the checker could not decide').to.be.below(25);
  });

  it('finds a machine that judges leases by the replica\'s own clock (replicas diverge)', () => {
    const report = run('wall-clock', 100);
    expect(report.ok).to.equal(false);
    const f = report.failures[0]!;
    console.log(`      seed ${f.seed}: ${f.violations[0]!.kind}: ${f.violations[0]!.detail.slice(0, 160)}`);
    expect(f.violations[0]!.kind).to.match(/^replicas-/);
  });

  it('finds a machine that gives a new holder the previous token (two holders with one token)', () => {
    const report = run('reuse-token', 100);
    expect(report.ok).to.equal(false);
    const f = report.failures[0]!;
    console.log(`      seed ${f.seed}: ${f.violations[0]!.kind}: ${f.violations[0]!.detail.slice(0, 160)}`);
    expect(f.violations[0]!.kind).to.equal('linearizability');
  });
});
