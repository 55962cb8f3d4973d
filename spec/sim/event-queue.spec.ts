import { expect } from 'chai';
import { EventQueue } from '../../lib/sim/event-queue.js';
import { Xoshiro128 } from '../../lib/base/prng.js';

describe('EventQueue', () => {
  it('pops by time, then in insertion order', () => {
    const q = new EventQueue<{ time: number; seq: number; name: string }>();
    const p = new Xoshiro128(3);
    const pushed: { time: number; name: string }[] = [];
    for (let i = 0; i < 500; i++) {
      const e = { time: p.int(0, 50), seq: 0, name: `e${i}` };
      pushed.push(e);
      q.push(e);
    }
    const expected = pushed.map((e, i) => ({ ...e, i })).sort((a, b) => a.time - b.time || a.i - b.i).map((e) => e.name);
    const got: string[] = [];
    for (let e = q.pop(); e; e = q.pop()) got.push(e.name);
    expect(got).to.deep.equal(expected);
  });
});
