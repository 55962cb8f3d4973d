import { expect } from 'chai';
import type { NodeId } from '../../lib/raft/core/types.js';
import { MemoryNetwork, type MemoryTransport } from '../../lib/transport/memory-transport.js';
import { isConnected, peerStats, sleep, transportConformance, until } from './transport-conformance.js';

transportConformance('MemoryTransport', () => {
  const network = new MemoryNetwork();
  const made: MemoryTransport[] = [];
  return {
    async make(id, settings) {
      const t = network.transport(id, settings);
      await t.start();
      made.push(t);
      return t;
    },
    address: (t) => ({ host: 'memory', port: t.nodeId }),
    async cleanup() {
      for (const t of made) await t.close();
    },
  };
});

describe('MemoryTransport', () => {
  let net: MemoryNetwork;
  const made: MemoryTransport[] = [];
  afterEach(async () => {
    for (const t of made.splice(0)) await t.close();
  });

  const make = async (id: NodeId, settings?: Record<string, unknown>): Promise<MemoryTransport> => {
    const t = net.transport(id, settings);
    await t.start();
    made.push(t);
    return t;
  };
  const link = (...ts: MemoryTransport[]): void => {
    for (const t of ts) t.setPeers(new Map(ts.filter((o) => o !== t).map((o) => [o.nodeId, { host: 'm', port: o.nodeId }])));
  };
  beforeEach(() => {
    net = new MemoryNetwork();
  });

  it('loses frames across a cut link, counts them, and delivers again once healed', async () => {
    const a = await make(1);
    const b = await make(2);
    link(a, b);
    const got: unknown[] = [];
    b.onReceive((_f, p) => got.push(p));
    net.cut(1, 2);
    expect(a.send(2, { lost: true })).to.equal(true);
    await sleep(10);
    expect(got).to.deep.equal([]);
    expect(peerStats(a, 2).dropped).to.equal(1);
    expect(isConnected(a, 2)).to.equal(false);
    net.heal();
    a.send(2, { kept: true });
    await until(() => got.length === 1);
    expect(got[0]).to.deep.equal({ kept: true });
  });

  it('a one-way cut loses one direction only, and the link reports down', async () => {
    const a = await make(1);
    const b = await make(2);
    link(a, b);
    const atA: unknown[] = [];
    const atB: unknown[] = [];
    a.onReceive((_f, p) => atA.push(p));
    b.onReceive((_f, p) => atB.push(p));
    net.cut(1, 2, true);
    a.send(2, { n: 1 });
    b.send(1, { n: 2 });
    await until(() => atA.length === 1);
    await sleep(10);
    expect(atB).to.deep.equal([]);
    expect(isConnected(a, 2)).to.equal(false);
    expect(isConnected(b, 1)).to.equal(false);
  });

  it('isolate cuts every link of a node; peer state follows cuts and heals', async () => {
    const a = await make(1);
    const b = await make(2);
    const c = await make(3);
    link(a, b, c);
    const events: [NodeId, boolean][] = [];
    a.onPeerState((peer, up) => events.push([peer, up]));
    await until(() => events.length === 2);
    net.isolate(1);
    await until(() => events.length === 4);
    expect(events.slice(2).sort()).to.deep.equal([[2, false], [3, false]]);
    expect(isConnected(b, 3)).to.equal(true);
    net.heal(1, 2);
    await until(() => events.length === 5);
    expect(events[4]).to.deep.equal([2, true]);
    expect(peerStats(a, 2).reconnects).to.equal(1);
    expect(isConnected(a, 3)).to.equal(false);
  });

  it('a frame over the receiver\'s maxFrameBytes is refused and counted as bad', async () => {
    const a = await make(1, { maxFrameBytes: 64 * 1024 });
    const b = await make(2, { maxFrameBytes: 1024, maxHelloBytes: 512 });
    link(a, b);
    const got: unknown[] = [];
    b.onReceive((_f, p) => got.push(p));
    a.send(2, { big: Buffer.alloc(4000) });
    a.send(2, { small: 1 });
    await until(() => got.length === 1);
    expect(got[0]).to.deep.equal({ small: 1 });
    expect(peerStats(b, 1).badFrames).to.equal(1);
  });

  it('a node restarts with a new transport under the same id', async () => {
    const a = await make(1);
    let b = await make(2);
    link(a, b);
    expect(() => net.transport(2)).to.throw(/already has a running transport/);
    await b.close();
    b = await make(2);
    link(a, b);
    const got: unknown[] = [];
    b.onReceive((_f, p) => got.push(p));
    a.send(2, { after: 'restart' });
    await until(() => got.length === 1);
  });
});
