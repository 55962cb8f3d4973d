import { expect } from 'chai';
import { MemoryNetwork, type MemoryTransport } from '../../lib/transport/memory-transport.js';
import { transportConformance, until } from './transport-conformance.js';

let network: MemoryNetwork;
transportConformance('MemoryTransport', () => {
  network = new MemoryNetwork();
  const made: MemoryTransport[] = [];
  return {
    async make(id, settings) {
      const t = network.transport(id, settings);
      await t.start();
      made.push(t);
      return t;
    },
    address: (id) => ({ host: 'memory', port: id }),
    async cleanup() {
      for (const t of made) await t.close();
    },
  };
});

describe('MemoryTransport', () => {
  it('drops frames across a cut link until healed', async () => {
    const net = new MemoryNetwork();
    const a = net.transport(1);
    const b = net.transport(2);
    await a.start();
    await b.start();
    a.setPeers(new Map([[2, { host: 'm', port: 2 }]]));
    b.setPeers(new Map([[1, { host: 'm', port: 1 }]]));
    const got: unknown[] = [];
    b.onReceive((_f, p) => got.push(p));
    net.cut(1, 2);
    a.send(2, { lost: true });
    await new Promise((r) => setTimeout(r, 10));
    expect(got).to.have.length(0);
    net.heal();
    a.send(2, { kept: true });
    await until(() => got.length === 1);
    expect(got[0]).to.deep.equal({ kept: true });
  });
});
