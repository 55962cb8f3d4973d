import { expect } from 'chai';
import { FlotillaError, isFlotillaError } from '../../lib/base/errors.js';
import { ControllerClient } from '../../lib/metadata/controller-client.js';
import { clock } from './controller-harness.js';

/** A fake PeerRpc: `answer(to)` decides each attempt. */
function fakeRpc(answer: (to: number, attempt: number) => unknown): { rpc: { call<T>(to: number): Promise<T> }; asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    rpc: {
      call<T>(to: number): Promise<T> {
        asked.push(to);
        try {
          return Promise.resolve(answer(to, asked.length) as T);
        } catch (err) {
          return Promise.reject(err);
        }
      },
    },
  };
}

describe('metadata/controller-client', () => {
  it('follows NOT_CONTROLLER to the named leader and remembers it', async () => {
    const { rpc, asked } = fakeRpc((to) => {
      if (to !== 3) throw new FlotillaError('NOT_CONTROLLER', 'not me', { leaderId: 3 });
      return { ok: to };
    });
    const c = new ControllerClient({ nodeId: 9, rpc: rpc as never, controllerIds: [1, 2, 3], clock, backoffMinMs: 1 });
    expect(await c.call('m', {})).to.deep.equal({ ok: 3 });
    expect(await c.call('m', {})).to.deep.equal({ ok: 3 });
    expect(asked).to.deep.equal([1, 3, 3]);
  });

  it('follows a leader that is not one of the configured controllers (a voter added at run time, KIP-853)', async () => {
    // Voters [1, 2, 4] after AddRaftVoter 4 / RemoveRaftVoter 3, while --controllers still says 1, 2, 3.
    const { rpc, asked } = fakeRpc((to) => {
      if (to !== 4) throw new FlotillaError('NOT_CONTROLLER', 'not me', { leaderId: 4 });
      return { ok: to };
    });
    const c = new ControllerClient({ nodeId: 9, rpc: rpc as never, controllerIds: [1, 2, 3], clock, backoffMinMs: 1 });
    expect(await c.call('m', {})).to.deep.equal({ ok: 4 });
    expect(asked).to.deep.equal([1, 4]);
    const hinted = fakeRpc((to) => (to === 4 ? 'done' : (() => { throw new FlotillaError('NOT_CONTROLLER', 'not me', { leaderId: 0 }); })()));
    const h = new ControllerClient({ nodeId: 9, rpc: hinted.rpc as never, controllerIds: [1, 2, 3], leaderHint: () => 4, clock, backoffMinMs: 1 });
    expect(await h.call('m', {})).to.equal('done');
    expect(hinted.asked).to.deep.equal([4]);
  });

  it('moves on to another voter after a TIMEOUT, and prefers the local leader hint', async () => {
    const { rpc, asked } = fakeRpc((to) => {
      if (to === 2) throw new FlotillaError('TIMEOUT', 'no answer');
      return 'done';
    });
    const c = new ControllerClient({ nodeId: 9, rpc: rpc as never, controllerIds: [1, 2, 3], leaderHint: () => 2, clock, backoffMinMs: 1 });
    expect(await c.call('m', {})).to.equal('done');
    expect(asked[0]).to.equal(2);
    expect(asked[1]).to.not.equal(2);
  });

  it('throws a non-retriable error at once, and the last retriable one at the deadline', async () => {
    const bad = fakeRpc(() => {
      throw new FlotillaError('INVALID_REQUEST', 'no');
    });
    const c1 = new ControllerClient({ nodeId: 9, rpc: bad.rpc as never, controllerIds: [1], clock });
    const e1 = await c1.call('m', {}).then(() => null, (e: unknown) => e);
    expect(isFlotillaError(e1, 'INVALID_REQUEST')).to.equal(true);
    expect(bad.asked).to.have.length(1);
    const busy = fakeRpc(() => {
      throw new FlotillaError('NOT_READY', 'warming up', { leaderId: 1 });
    });
    const c2 = new ControllerClient({ nodeId: 9, rpc: busy.rpc as never, controllerIds: [1, 2], clock, backoffMinMs: 2, backoffMaxMs: 5 });
    const e2 = await c2.call('m', {}, { deadlineMs: 60 }).then(() => null, (e: unknown) => e);
    expect(isFlotillaError(e2, 'NOT_READY')).to.equal(true);
    expect(busy.asked.length).to.be.greaterThan(1);
    expect(new Set(busy.asked)).to.deep.equal(new Set([1])); // NOT_READY: the leader warming up is asked again
  });

  it('moves on from a node it has no connection to (NOT_READY without the leader named), to the local leader hint', async () => {
    // Found by a chaos run (disk-full, seed 1): the last controller died and stayed down; every
    // node kept heartbeating it ("no connection to node 2") although node 1 had been elected.
    let leader = 2;
    let twoIsUp = true;
    const { rpc, asked } = fakeRpc((to) => {
      if (to === 2 && !twoIsUp) throw new FlotillaError('NOT_READY', 'no connection to node 2 for controller.heartbeat');
      if (to !== leader) throw new FlotillaError('NOT_CONTROLLER', 'not me', { leaderId: leader });
      return `beat from ${to}`;
    });
    const c = new ControllerClient({ nodeId: 3, rpc: rpc as never, controllerIds: [1, 2, 3], leaderHint: () => leader, clock, backoffMinMs: 1, backoffMaxMs: 2 });
    expect(await c.call('m', {})).to.equal('beat from 2');
    // Node 2 dies for good; node 1 wins the election and this node's metadata follows it.
    twoIsUp = false;
    leader = 1;
    expect(await c.call('m', {}, { deadlineMs: 2_000 })).to.equal('beat from 1');
    expect(asked.slice(1)).to.deep.equal([2, 1]);
  });
});
