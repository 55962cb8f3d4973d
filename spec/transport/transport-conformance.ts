/**
 * The conformance suite every Transport passes (TCP and memory alike).
 */
import { expect } from 'chai';
import type { NodeId } from '../../lib/raft/core/types.js';
import type { PeerAddress, Transport } from '../../lib/transport/transport.js';

export interface TransportFixture {
  /** Makes a started transport for `id` that knows `peers`. */
  make(id: NodeId, settings?: Record<string, unknown>): Promise<Transport>;
  address(id: NodeId): PeerAddress;
  cleanup(): Promise<void>;
}

export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function transportConformance(name: string, fixture: () => TransportFixture): void {
  describe(`${name}: transport conformance`, () => {
    let fx: TransportFixture;
    beforeEach(() => {
      fx = fixture();
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    const pair = async (settings?: Record<string, unknown>): Promise<[Transport, Transport]> => {
      const a = await fx.make(1, settings);
      const b = await fx.make(2, settings);
      a.setPeers(new Map([[2, fx.address(2)]]));
      b.setPeers(new Map([[1, fx.address(1)]]));
      return [a, b];
    };

    it('delivers frames in order per peer, both ways, with binary fields intact', async () => {
      const [a, b] = await pair();
      const atB: unknown[] = [];
      const atA: unknown[] = [];
      b.onReceive((from, p) => atB.push([from, p]));
      a.onReceive((from, p) => atA.push([from, p]));
      for (let i = 0; i < 200; i++) a.send(2, { i, data: new Uint8Array([i & 255, 1, 2]) });
      b.send(1, { back: true, n: 2 ** 40 });
      await until(() => atB.length === 200 && atA.length === 1);
      for (let i = 0; i < 200; i++) {
        const [from, p] = atB[i] as [number, { i: number; data: Uint8Array }];
        expect(from).to.equal(1);
        expect(p.i).to.equal(i);
        expect(p.data).to.be.instanceOf(Uint8Array);
        expect([...p.data]).to.deep.equal([i & 255, 1, 2]);
      }
      expect(atA[0]).to.deep.equal([2, { back: true, n: 2 ** 40 }]);
    });

    it('refuses frames to an unknown peer', async () => {
      const [a] = await pair();
      expect(a.send(9, { x: 1 })).to.equal(false);
    });

    it('bounds the queue per peer: past it, send drops and says so', async () => {
      const [a, b] = await pair({ maxQueuedFrames: 5 });
      const got: unknown[] = [];
      b.onReceive((_f, p) => got.push(p));
      const results: boolean[] = [];
      for (let i = 0; i < 20; i++) results.push(a.send(2, { i }));
      expect(results.filter((r) => !r).length).to.be.above(0);
      expect(a.stats().get(2)!.dropped).to.be.above(0);
      await new Promise((r) => setTimeout(r, 100));
      expect(got.length).to.be.at.most(20);
    });

    it('stops sending to a removed peer', async () => {
      const [a] = await pair();
      a.setPeers(new Map());
      expect(a.send(2, { x: 1 })).to.equal(false);
      expect(a.stats().has(2)).to.equal(false);
    });

    it('counts frames sent and received', async () => {
      const [a, b] = await pair();
      let n = 0;
      b.onReceive(() => n++);
      a.send(2, { hello: 'world' });
      await until(() => n === 1);
      expect(a.stats().get(2)!.framesSent).to.equal(1);
      expect(b.stats().get(1)!.framesReceived).to.equal(1);
    });

    it('after close, send returns false', async () => {
      const [a] = await pair();
      await a.close();
      expect(a.send(2, { x: 1 })).to.equal(false);
    });
  });
}
