import { expect } from 'chai';
import { type Socket, connect } from 'node:net';
import { Xoshiro128 } from '../../lib/base/prng.js';
import { TcpTransport } from '../../lib/transport/tcp-transport.js';
import { encodeFrame } from '../../lib/transport/transport.js';
import { transportConformance, until } from './transport-conformance.js';

const BASE = 30000 + Math.floor(Math.random() * 20000);
let round = 0;

function portOf(id: number, r: number): number {
  return BASE + r * 10 + id;
}

transportConformance('TcpTransport', () => {
  const r = round++;
  const made: TcpTransport[] = [];
  return {
    async make(id, settings) {
      const t = new TcpTransport({ nodeId: id, clusterId: 'test', listen: { host: '127.0.0.1', port: portOf(id, r) }, prng: new Xoshiro128(id), settings });
      await t.start();
      made.push(t);
      return t;
    },
    address: (id) => ({ host: '127.0.0.1', port: portOf(id, r) }),
    async cleanup() {
      for (const t of made) await t.close();
    },
  };
});

describe('TcpTransport', () => {
  const made: TcpTransport[] = [];
  const sockets: Socket[] = [];
  let r = 0;
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const t of made.splice(0)) await t.close();
  });

  const make = async (id: number, cluster = 'c', settings: Record<string, unknown> = {}): Promise<TcpTransport> => {
    const t = new TcpTransport({ nodeId: id, clusterId: cluster, listen: { host: '127.0.0.1', port: portOf(id, 500 + r) }, prng: new Xoshiro128(id), settings: { reconnectMinMs: 5, reconnectMaxMs: 50, ...settings } });
    await t.start();
    made.push(t);
    return t;
  };
  const link = (a: TcpTransport, b: TcpTransport): void => {
    a.setPeers(new Map([[b.nodeId, { host: '127.0.0.1', port: b.port }]]));
    b.setPeers(new Map([[a.nodeId, { host: '127.0.0.1', port: a.port }]]));
  };
  beforeEach(() => {
    r++;
  });

  const rawClient = async (port: number): Promise<Socket> => {
    const s = connect({ host: '127.0.0.1', port });
    sockets.push(s);
    await new Promise((res) => s.once('connect', res));
    return s;
  };

  it('an oversized frame closes that connection only; the other peer keeps working', async () => {
    const a = await make(1, 'c', { maxFrameBytes: 4096 });
    const b = await make(2, 'c', { maxFrameBytes: 4096 });
    const c = await make(3, 'c', { maxFrameBytes: 4096 });
    a.setPeers(new Map([[2, { host: '127.0.0.1', port: b.port }], [3, { host: '127.0.0.1', port: c.port }]]));
    b.setPeers(new Map([[1, { host: '127.0.0.1', port: a.port }]]));
    c.setPeers(new Map([[1, { host: '127.0.0.1', port: a.port }]]));
    const atC: unknown[] = [];
    c.onReceive((_f, p) => atC.push(p));
    await until(() => a.stats().get(2)!.connected && a.stats().get(3)!.connected);
    // A raw socket posing as node 1 at b sends a header announcing a huge frame.
    const raw = await rawClient(b.port);
    raw.write(encodeFrame({ v: 1, cluster: 'c', node: 1 }, 4096));
    const closed = new Promise((res) => raw.once('close', res));
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1_000_000);
    raw.write(header);
    await closed;
    a.send(3, { still: 'fine' });
    await until(() => atC.length === 1);
  });

  it('garbage bytes close the connection and are counted', async () => {
    const b = await make(2);
    const a = await make(1);
    link(a, b);
    await until(() => b.stats().get(1)!.connected);
    const raw = await rawClient(b.port);
    const closed = new Promise((res) => raw.once('close', res));
    raw.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]));
    await closed;
  });

  it('rejects a wrong cluster id', async () => {
    const a = await make(1, 'one');
    const b = await make(2, 'two');
    link(a, b);
    await new Promise((res) => setTimeout(res, 100));
    expect(a.stats().get(2)!.connected).to.equal(false);
    expect(b.stats().get(1)!.connected).to.equal(false);
  });

  it('reconnects after the peer restarts', async () => {
    const a = await make(1);
    let b = await make(2);
    link(a, b);
    await until(() => a.stats().get(2)!.connected);
    const port = b.port;
    await b.close();
    made.splice(made.indexOf(b), 1);
    await until(() => !a.stats().get(2)!.connected);
    b = new TcpTransport({ nodeId: 2, clusterId: 'c', listen: { host: '127.0.0.1', port }, prng: new Xoshiro128(2) });
    await b.start();
    made.push(b);
    b.setPeers(new Map([[1, { host: '127.0.0.1', port: a.port }]]));
    const got: unknown[] = [];
    b.onReceive((_f, p) => got.push(p));
    await until(() => a.stats().get(2)!.connected, 5000);
    a.send(2, { after: 'restart' });
    await until(() => got.length === 1);
  });

  it('keeps one connection per pair: the lower id dials, both directions share it', async () => {
    const a = await make(1);
    const b = await make(2);
    link(a, b);
    const atA: unknown[] = [];
    a.onReceive((_f, p) => atA.push(p));
    b.send(1, { from: 'b' });
    await until(() => atA.length === 1);
    // A dial from the higher id is refused.
    const raw = await rawClient(a.port);
    const closed = new Promise((res) => raw.once('close', res));
    raw.write(encodeFrame({ v: 1, cluster: 'c', node: 2 }, 1 << 20));
    await closed;
    expect(a.stats().get(2)!.connected).to.equal(true);
  });
});
