import { expect } from 'chai';
import { Xoshiro128 } from '../../lib/base/prng.js';

describe('Xoshiro128', () => {
  it('replays the same sequence for the same seed', () => {
    const a = new Xoshiro128(42);
    const b = new Xoshiro128(42);
    for (let i = 0; i < 100; i++) expect(a.next()).to.equal(b.next());
  });

  it('draws integers within bounds, covering them', () => {
    const p = new Xoshiro128(7);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const n = p.int(3, 9);
      expect(n).to.be.within(3, 9);
      seen.add(n);
    }
    expect(seen.size).to.equal(7);
  });
});
