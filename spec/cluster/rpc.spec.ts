import { expect } from 'chai';
import { FlotillaError, isFlotillaError } from '../../lib/base/errors.js';
import { PeerRpc } from '../../lib/cluster/rpc.js';
import { MemoryNetwork, type MemoryTransport } from '../../lib/transport/memory-transport.js';

async function expectCode(p: Promise<unknown>, code: string): Promise<FlotillaError> {
  try {
    await p;
  } catch (err) {
    expect(isFlotillaError(err) ? err.code : String(err)).to.equal(code);
    return err as FlotillaError;
  }
  return expect.fail(`expected ${code}`);
}

describe('PeerRpc: calls between nodes over the peer transport', () => {
  let net: MemoryNetwork;
  let transports: MemoryTransport[];
  let a: PeerRpc;
  let b: PeerRpc;

  beforeEach(async () => {
    net = new MemoryNetwork();
    transports = [net.transport(1), net.transport(2)];
    for (const t of transports) {
      await t.start();
      t.setPeers(new Map(transports.filter((o) => o !== t).map((o) => [o.nodeId, { host: 'm', port: o.nodeId }])));
    }
    a = new PeerRpc({ nodeId: 1, transport: transports[0]!, timeoutMs: 200 });
    b = new PeerRpc({ nodeId: 2, transport: transports[1]!, timeoutMs: 200 });
  });

  afterEach(async () => {
    a.close();
    b.close();
    for (const t of transports) await t.close();
  });

  it('answers a call with the handler result, and a thrown FlotillaError with its code and details', async () => {
    b.handle('echo', (from, body) => ({ from, body }));
    b.handle('fail', () => {
      throw new FlotillaError('NOT_CONTROLLER', 'not me', { leaderId: 3 });
    });
    expect(await a.call(2, 'echo', { x: [1, 2] })).to.deep.equal({ from: 1, body: { x: [1, 2] } });
    const err = await expectCode(a.call(2, 'fail', null), 'NOT_CONTROLLER');
    expect(err.details).to.deep.equal({ leaderId: 3 });
    expect(err.retriable).to.equal(true);
    await expectCode(a.call(2, 'nope', null), 'INVALID_REQUEST');
  });

  it('times out (outcome unknown) when no answer comes, and calls itself without the network, bounded the same way', async () => {
    b.handle('slow', () => new Promise(() => {}));
    net.isolate(2);
    await expectCode(a.call(2, 'slow', null, 50), 'TIMEOUT');
    a.handle('self', (from) => from);
    expect(await a.call(1, 'self', null)).to.equal(1);
    a.handle('hang', () => new Promise(() => {}));
    await expectCode(a.call(1, 'hang', null, 30), 'TIMEOUT');
  });

  it('hands Raft payloads to the host untouched and keeps them apart from calls', async () => {
    const raft: unknown[] = [];
    b.raftTransport.onReceive((from, payload) => raft.push([from, payload]));
    b.handle('ping', () => 'pong');
    a.raftTransport.send(2, { g: [['group', []]] });
    expect(await a.call(2, 'ping', null)).to.equal('pong');
    expect(raft).to.deep.equal([[1, { g: [['group', []]] }]]);
  });

  it('refuses calls once closed, and pending ones fail with CLOSED', async () => {
    b.handle('hang', () => new Promise(() => {}));
    const pending = a.call(2, 'hang', null, 10_000);
    a.close();
    await expectCode(pending, 'CLOSED');
    await expectCode(a.call(2, 'hang', null), 'CLOSED');
  });
});
