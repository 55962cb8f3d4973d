import { expect } from 'chai';
import { Inflights, Progress } from '../../../lib/raft/core/progress.js';

describe('Inflights', () => {
  it('bounds messages and bytes, and frees in order', () => {
    const f = new Inflights(3, 100);
    f.add(1, 10);
    f.add(2, 10);
    expect(f.full()).to.equal(false);
    f.add(3, 10);
    expect(f.full()).to.equal(true);
    f.freeTo(2);
    expect(f.count).to.equal(1);
    expect(f.bytes).to.equal(10);
    f.add(4, 95);
    expect(f.full()).to.equal(true);
    f.freeTo(10);
    expect(f.count).to.equal(0);
    expect(f.bytes).to.equal(0);
  });

  it('refuses an index that does not grow', () => {
    const f = new Inflights(10, 1000);
    f.add(5, 1);
    expect(() => f.add(5, 1)).to.throw(/not above/);
  });
});

describe('Progress', () => {
  it('ignores a stale rejection in probe state and backs off with the hint otherwise', () => {
    const p = new Progress(11, 8, 1000);
    p.match = 3;
    expect(p.maybeDecrTo(7, 5)).to.equal(false); // next-1 is 10, not 7: stale
    expect(p.maybeDecrTo(10, 5)).to.equal(true);
    expect(p.next).to.equal(6);
    expect(p.maybeDecrTo(5, 0)).to.equal(true);
    expect(p.next).to.equal(4); // never below match + 1
  });

  it('in replicate state a rejection above the match rewinds to match + 1', () => {
    const p = new Progress(1, 8, 1000);
    p.maybeUpdate(4);
    p.becomeReplicate();
    p.next = 9;
    expect(p.maybeDecrTo(3, 0)).to.equal(false);
    expect(p.maybeDecrTo(8, 2)).to.equal(true);
    expect(p.next).to.equal(5);
  });

  it('pauses by state', () => {
    const p = new Progress(1, 1, 1000);
    expect(p.isPaused()).to.equal(false);
    p.probeSent = true;
    expect(p.isPaused()).to.equal(true);
    p.becomeReplicate();
    p.inflights.add(1, 1);
    expect(p.isPaused()).to.equal(true);
    p.becomeSnapshot(10);
    expect(p.isPaused()).to.equal(true);
    p.match = 10;
    p.becomeProbe();
    expect(p.next).to.equal(11);
  });
});
