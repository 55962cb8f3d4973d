/**
 * The linearizability checker (lib/sim/linearizability.ts) on histories whose answer is known:
 * Porcupine's register histories (from MIT 6.824's 2017 quiz 2, section VII), the CAS-register
 * history of pingcap/chaos's Porcupine model test, and the textbook anomalies (stale read, new-old
 * inversion, two winning compare-and-sets, a FIFO queue served out of order), with operations
 * that never answered, per-key partitions and the bounds.
 */
import { expect } from 'chai';
import { Xoshiro128 } from '../../lib/base/prng.js';
import { type HistoryOperation, type Model, checkLinearizable } from '../../lib/sim/linearizability.js';

type RegIn = { op: 'write'; value: number } | { op: 'read' } | { op: 'cas'; from: number; to: number };
type RegOut = number | boolean | null;

const register: Model<number, RegIn, RegOut> = {
  init: () => 0,
  step(state, input) {
    if (input.op === 'write') return { state: input.value, output: null };
    if (input.op === 'read') return { state, output: state };
    return state === input.from ? { state: input.to, output: true } : { state, output: false };
  },
};

function op(client: number, input: RegIn, call: number, ret: number | undefined, output: RegOut = null): HistoryOperation<RegIn, RegOut> {
  return { client, input, call, return: ret, output };
}
const w = (v: number): RegIn => ({ op: 'write', value: v });
const r: RegIn = { op: 'read' };
const cas = (from: number, to: number): RegIn => ({ op: 'cas', from, to });

describe('linearizability checker', () => {
  it("Porcupine's register histories: the first is linearizable, the second is not", () => {
    const ok = [op(0, w(100), 0, 100), op(1, r, 25, 75, 100), op(2, r, 30, 60, 0)];
    expect(checkLinearizable(register, ok).result).to.equal('ok');
    const bad = [op(0, w(200), 0, 100), op(1, r, 10, 30, 200), op(2, r, 40, 90, 0)];
    const res = checkLinearizable(register, bad);
    expect(res.result).to.equal('illegal');
    expect(res.failure!.unexplained.map((o) => o.output)).to.deep.equal([0]);
  });

  it("pingcap/chaos's CAS-register history is linearizable", () => {
    // Calls in order: write 100 (0), read (1), read (2), cas 100->200 (3), read (4); returns:
    // read(2) 0, read(1) 100, write, cas ok, read(4) 200.
    const h = [
      op(0, w(100), 0, 7), op(1, r, 1, 6, 100), op(2, r, 2, 5, 0), op(3, cas(100, 200), 3, 8, true), op(4, r, 4, 9, 200),
    ];
    expect(checkLinearizable(register, h).result).to.equal('ok');
  });

  it('a stale read after an acknowledged write is illegal', () => {
    expect(checkLinearizable(register, [op(0, w(1), 0, 10), op(1, r, 20, 30, 0)]).result).to.equal('illegal');
    // Overlapping the write, either value is fine.
    expect(checkLinearizable(register, [op(0, w(1), 0, 10), op(1, r, 5, 30, 0)]).result).to.equal('ok');
    expect(checkLinearizable(register, [op(0, w(1), 0, 10), op(1, r, 5, 30, 1)]).result).to.equal('ok');
  });

  it('new-old inversion: once a read saw the new value, a later read may not see the old one', () => {
    const h = [op(0, w(1), 0, 50), op(1, r, 10, 20, 1), op(2, r, 30, 40, 0)];
    expect(checkLinearizable(register, h).result).to.equal('illegal');
    // The same reads, overlapping each other: legal (the old read first).
    const h2 = [op(0, w(1), 0, 50), op(1, r, 10, 35, 1), op(2, r, 30, 40, 0)];
    expect(checkLinearizable(register, h2).result).to.equal('ok');
  });

  it('two compare-and-sets from the same value cannot both win', () => {
    const both = [op(0, w(1), 0, 10), op(1, cas(1, 2), 20, 30, true), op(2, cas(1, 3), 25, 35, true)];
    expect(checkLinearizable(register, both).result).to.equal('illegal');
    const one = [op(0, w(1), 0, 10), op(1, cas(1, 2), 20, 30, true), op(2, cas(1, 3), 25, 35, false), op(3, r, 40, 45, 2)];
    expect(checkLinearizable(register, one).result).to.equal('ok');
  });

  it('an operation that never answered may take effect at any time after its call, or never', () => {
    const lost = op(0, w(1), 0, undefined);
    expect(checkLinearizable(register, [lost, op(1, r, 50, 60, 1)]).result).to.equal('ok');
    expect(checkLinearizable(register, [lost, op(1, r, 50, 60, 0)]).result).to.equal('ok');
    expect(checkLinearizable(register, [lost, op(1, r, 10, 20, 0), op(1, r, 30, 40, 1)]).result).to.equal('ok');
    // ... but only once: 1 then 0 is an inversion.
    expect(checkLinearizable(register, [lost, op(1, r, 10, 20, 1), op(1, r, 30, 40, 0)]).result).to.equal('illegal');
    // ... and not before its call.
    expect(checkLinearizable(register, [op(1, r, 0, 5, 1), op(0, w(1), 10, undefined)]).result).to.equal('illegal');
  });

  it('a FIFO queue served out of order is illegal; concurrent enqueues may go either way', () => {
    type QIn = { op: 'enq'; v: string } | { op: 'deq' };
    const queue: Model<readonly string[], QIn, string | null> = {
      init: () => [],
      step: (s, i) => (i.op === 'enq' ? { state: [...s, i.v], output: null } : { state: s.slice(1), output: s[0] ?? null }),
    };
    const q = (client: number, input: QIn, call: number, ret: number, output: string | null = null): HistoryOperation<QIn, string | null> => ({ client, input, call, return: ret, output });
    const seq = [q(0, { op: 'enq', v: 'x' }, 0, 10), q(1, { op: 'enq', v: 'y' }, 20, 30), q(2, { op: 'deq' }, 40, 50, 'y')];
    expect(checkLinearizable(queue, seq).result).to.equal('illegal');
    const overlap = [q(0, { op: 'enq', v: 'x' }, 0, 25), q(1, { op: 'enq', v: 'y' }, 20, 30), q(2, { op: 'deq' }, 40, 50, 'y')];
    expect(checkLinearizable(queue, overlap).result).to.equal('ok');
  });

  it('partitions by key: each key is checked apart and the failing key is named', () => {
    type KvIn = { key: string; op: 'put'; v: number } | { key: string; op: 'get' };
    const kv: Model<number, KvIn, number | null> = {
      init: () => 0,
      step: (s, i) => (i.op === 'put' ? { state: i.v, output: null } : { state: s, output: s }),
      partition: (i) => i.key,
    };
    const k = (client: number, input: KvIn, call: number, ret: number, output: number | null = null): HistoryOperation<KvIn, number | null> => ({ client, input, call, return: ret, output });
    const h = [
      k(0, { key: 'a', op: 'put', v: 1 }, 0, 10), k(1, { key: 'b', op: 'put', v: 2 }, 0, 10),
      k(2, { key: 'a', op: 'get' }, 20, 30, 1), k(3, { key: 'b', op: 'get' }, 20, 30, 0),
    ];
    const res = checkLinearizable(kv, h);
    expect(res.result).to.equal('illegal');
    expect(res.partition).to.equal('b');
    expect(res.partitions).to.equal(2);
    expect(res.failure!.history.length).to.equal(2);
  });

  it('refuses histories above its bounds instead of guessing', () => {
    const h = [op(0, w(1), 0, 10), op(1, r, 20, 30, 1), op(2, r, 40, 50, 1)];
    const big = checkLinearizable(register, h, { maxOperations: 2 });
    expect(big.result).to.equal('unknown');
    expect(big.reason).to.match(/maxOperations/);
    expect(checkLinearizable(register, h, { maxSteps: 1 }).result).to.equal('unknown');
  });

  it('checks a 2,000-operation history of 5 concurrent clients quickly, and finds one corrupted read in it', () => {
    // A real linearizable execution: each operation takes effect at a point inside its interval.
    const prng = new Xoshiro128(7);
    const history: HistoryOperation<RegIn, RegOut>[] = [];
    let state = 0;
    const busyUntil = [0, 0, 0, 0, 0];
    for (let t = 0; history.length < 2000; t++) {
      const c = prng.int(0, 4);
      if (busyUntil[c]! > t) continue;
      const input: RegIn = prng.chance(0.5) ? w(prng.int(1, 3)) : r;
      const out = register.step(state, input);
      state = out.state;
      const ret = t + prng.int(1, 20);
      busyUntil[c] = ret + 1;
      history.push(op(c, input, t - prng.int(0, 3), ret, out.output));
    }
    const t0 = performance.now();
    expect(checkLinearizable(register, history).result).to.equal('ok');
    expect(performance.now() - t0).to.be.below(2000);
    // One read of a value never written (writes are 1-3) cannot be explained.
    const i = history.findIndex((o, j) => j > 1000 && o.input.op === 'read');
    const bad = history.slice();
    bad[i] = { ...bad[i]!, output: 99 };
    const res = checkLinearizable(register, bad);
    expect(res.result).to.equal('illegal');
    expect(res.failure!.unexplained[0]!.output).to.equal(99);
  });
});
