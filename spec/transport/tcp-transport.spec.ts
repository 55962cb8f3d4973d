import { expect } from 'chai';
import { type AddressInfo, type Socket, connect, createServer } from 'node:net';
import { Xoshiro128 } from '../../lib/base/prng.js';
import type { NodeId } from '../../lib/raft/core/types.js';
import { TcpTransport } from '../../lib/transport/tcp-transport.js';
import { FrameKind, encodeFrame } from '../../lib/transport/transport.js';
import { LOCAL, type RawPeer, clock, hello, tcpBench, tcpConformance } from './tcp-fixture.js';
import { isConnected, peerStats, sleep, until } from './transport-conformance.js';

function tcp(id: NodeId, opts: { cluster?: string; port?: number; settings?: Record<string, unknown>; log?: string[] } = {}): TcpTransport {
  return new TcpTransport({
    nodeId: id, clusterId: opts.cluster ?? 'c', listen: { host: LOCAL, port: opts.port ?? 0 }, prng: new Xoshiro128(id), clock,
    settings: { reconnectMinMs: 5, reconnectMaxMs: 50, ...opts.settings },
    logger: opts.log ? (line) => opts.log!.push(line) : undefined,
  });
}

tcpConformance('TcpTransport', (id, settings) => tcp(id, { settings }));

describe('TcpTransport', () => {
  const { made, sockets, make, link, watch } = tcpBench(tcp);

  /** A raw client socket, with the frames it receives decoded. */
  const rawClient = async (port: number): Promise<RawPeer<Socket>> => {
    const peer = watch(connect({ host: LOCAL, port }));
    await new Promise((res) => peer.socket.once('connect', res));
    return peer;
  };

  it('a frame over the receiver\'s limit closes that connection only: counted, logged, the other peers unaffected, then it reconnects', async () => {
    const logB: string[] = [];
    const a = await make(1, { settings: { maxFrameBytes: 1 << 20 } });
    const b = await make(2, { settings: { maxFrameBytes: 4096 }, log: logB });
    const c = await make(3, { settings: { maxFrameBytes: 4096 } });
    link(a, b, c);
    const atB: unknown[] = [];
    b.onReceive((from, p) => atB.push([from, p]));
    await until(() => isConnected(a, 2) && isConnected(b, 3) && isConnected(a, 3));
    expect(a.send(2, { big: Buffer.alloc(10_000) })).to.equal(true);
    await until(() => peerStats(b, 1).badFrames === 1);
    expect(logB.some((l) => /exceeds the limit of 4096/.test(l))).to.equal(true);
    // b <-> c never noticed.
    expect(c.send(2, { from: 'c' })).to.equal(true);
    await until(() => atB.length === 1);
    expect(atB[0]).to.deep.equal([3, { from: 'c' }]);
    expect(peerStats(b, 3).reconnects).to.equal(0);
    // a redials; small frames flow again.
    await until(() => isConnected(a, 2) && peerStats(a, 2).reconnects === 1);
    a.send(2, { small: true });
    await until(() => atB.length === 2);
    expect(atB[1]).to.deep.equal([1, { small: true }]);
  });

  it('garbage bytes close the connection: before the hello (rejected), and after it (a bad frame of that peer)', async () => {
    const log: string[] = [];
    const b = await make(1, { log });
    const a = await make(2);
    link(a, b);
    await until(() => isConnected(b, 2));
    const before = await rawClient(b.port);
    before.socket.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]));
    await before.closed;
    expect(b.stats().rejectedConnections).to.equal(1);
    // Posing as node 2 replaces a's connection (the newest wins), then misbehaves.
    const after = await rawClient(b.port);
    after.socket.write(hello(2));
    await until(() => after.frames.length === 1);
    expect(after.frames[0]!.kind).to.equal(FrameKind.Hello);
    after.socket.write(Buffer.from([0, 0, 0, 4, FrameKind.Data, 0xc1, 0xc1, 0xc1]));
    await after.closed;
    expect(peerStats(b, 2).badFrames).to.equal(1);
    expect(log.some((l) => /undecodable frame body/.test(l))).to.equal(true);
    // The real node 2 comes back by itself.
    await until(() => isConnected(a, 1) && isConnected(b, 2));
  });

  it('an unidentified connection may not send a large frame, nor stay silent', async () => {
    const b = await make(2, { settings: { connectTimeoutMs: 100 } });
    const big = await rawClient(b.port);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(100_000);
    big.socket.write(header);
    await big.closed;
    const silent = await rawClient(b.port);
    await silent.closed;
    expect(b.stats().rejectedConnections).to.equal(2);
  });

  it('rejects a wrong cluster id, with the reason logged on both sides', async () => {
    const logA: string[] = [];
    const logB: string[] = [];
    const a = await make(2, { cluster: 'one', log: logA });
    const b = await make(1, { cluster: 'two', log: logB });
    link(a, b);
    await until(() => logA.some((l) => /refused by the peer: cluster id "one" is not "two"/.test(l)));
    expect(logB.some((l) => /refused: cluster id "one" is not "two"/.test(l))).to.equal(true);
    expect(isConnected(a, 1)).to.equal(false);
    expect(isConnected(b, 2)).to.equal(false);
    expect(a.send(1, { x: 1 })).to.equal(true);
    expect(b.stats().rejectedConnections).to.be.at.least(1);
  });

  it('rejects an unexpected node id: a dial that reaches another node, and a hello from a lower id', async () => {
    const logA: string[] = [];
    const a = await make(3, { log: logA });
    const c = await make(1);
    // a believes node 2 lives at c's address; c takes a's hello (a higher id, learned), and a sees
    // that the answer comes from 1, not 2.
    a.setPeers(new Map([[2, { host: LOCAL, port: c.port }]]));
    await until(() => logA.some((l) => /the node at 127\.0\.0\.1:\d+ is 1, not 2/.test(l)));
    expect(isConnected(a, 2)).to.equal(false);
    const raw = await rawClient(a.port);
    raw.socket.write(hello(0));
    await raw.closed;
    expect(raw.frames[0]).to.deep.include({ kind: FrameKind.Hello });
    expect((raw.frames[0] as { body: { reject: string } }).body.reject).to.match(/node 0 has the lower id and must accept/);
  });

  it('accepts a node it does not know yet (it joins by dialing) and forgets it with its connection', async () => {
    const a = await make(1);
    const b = await make(5);
    const atA: unknown[] = [];
    a.onReceive((from, p) => atA.push([from, p]));
    b.setPeers(new Map([[1, { host: LOCAL, port: a.port }]]));
    b.send(1, { hi: 'from 5' });
    await until(() => atA.length === 1);
    expect(atA[0]).to.deep.equal([5, { hi: 'from 5' }]);
    // a answers over the same connection, before it has been told where 5 lives.
    const atB: unknown[] = [];
    b.onReceive((_f, p) => atB.push(p));
    expect(a.send(5, { hi: 'back' })).to.equal(true);
    await until(() => atB.length === 1);
    // setPeers without 5 keeps the learned peer while its connection lives.
    a.setPeers(new Map());
    expect(isConnected(a, 5)).to.equal(true);
    b.destroy();
    await until(() => !a.stats().peers.has(5));
  });

  it('refuses a dial from the lower id: the higher id dials, and both directions share its connection', async () => {
    const a = await make(1);
    const b = await make(2);
    link(a, b);
    const atA: unknown[] = [];
    a.onReceive((_f, p) => atA.push(p));
    b.send(1, { from: 'b' });
    await until(() => atA.length === 1);
    const raw = await rawClient(b.port);
    raw.socket.write(hello(1));
    await raw.closed;
    expect((raw.frames[0] as { body: { reject: string } }).body.reject).to.match(/lower id and must accept/);
    expect(isConnected(b, 1)).to.equal(true);
    expect(b.connectionCount).to.equal(1);
  });

  it('simultaneous start: both sides add each other in the same turn and send at once; one connection carries it all', async () => {
    const a = await make(1);
    const b = await make(2);
    const atA: number[] = [];
    const atB: number[] = [];
    a.onReceive((_f, p) => atA.push((p as { i: number }).i));
    b.onReceive((_f, p) => atB.push((p as { i: number }).i));
    link(a, b);
    for (let i = 0; i < 50; i++) {
      a.send(2, { i });
      b.send(1, { i });
    }
    await until(() => atA.length === 50 && atB.length === 50);
    expect(atA).to.deep.equal([...Array(50).keys()]);
    expect(atB).to.deep.equal([...Array(50).keys()]);
    expect(a.connectionCount).to.equal(1);
    expect(b.connectionCount).to.equal(1);
    expect(peerStats(a, 2).reconnects + peerStats(b, 1).reconnects).to.equal(0);
  });

  it('a second connection from the same peer replaces the first', async () => {
    const b = await make(1);
    b.setPeers(new Map([[2, { host: LOCAL, port: 1 }]]));
    const first = await rawClient(b.port);
    first.socket.write(hello(2));
    await until(() => isConnected(b, 2));
    const second = await rawClient(b.port);
    second.socket.write(hello(2));
    await first.closed;
    expect(isConnected(b, 2)).to.equal(true);
    b.send(2, { to: 'second' });
    await until(() => second.frames.length === 2);
    expect(second.frames[1]).to.deep.equal({ kind: FrameKind.Data, body: { to: 'second' } });
  });

  it('a data frame larger than maxHelloBytes right behind the hello answer, in one segment, is delivered', async () => {
    // A raw acceptor posing as node 2 answers the hello and sends a big frame in the same write.
    const server = createServer((s) => {
      sockets.push(s);
      s.once('data', () => s.write(Buffer.concat([hello(2), encodeFrame(FrameKind.Data, { big: Buffer.alloc(20_000, 1) }, 1 << 20)])));
    });
    await new Promise<void>((res) => server.listen(0, LOCAL, () => res()));
    try {
      const a = await make(3);
      const got: unknown[] = [];
      a.onReceive((_f, p) => got.push(p));
      a.setPeers(new Map([[2, { host: LOCAL, port: (server.address() as AddressInfo).port }]]));
      await until(() => got.length === 1);
      expect((got[0] as { big: Buffer }).big.length).to.equal(20_000);
      expect(peerStats(a, 2).badFrames).to.equal(0);
    } finally {
      for (const s of sockets.splice(0)) s.destroy();
      await new Promise((res) => server.close(res));
    }
  });

  it('reconnects after the peer restarts on the same port', async () => {
    const a = await make(1);
    let b = await make(2);
    link(a, b);
    await until(() => isConnected(a, 2));
    const port = b.port;
    await b.close();
    made.splice(made.indexOf(b), 1);
    await until(() => !isConnected(a, 2));
    await sleep(30);
    b = await make(2, { port });
    b.setPeers(new Map([[1, { host: LOCAL, port: a.port }]]));
    const got: unknown[] = [];
    b.onReceive((_f, p) => got.push(p));
    await until(() => isConnected(a, 2));
    expect(peerStats(a, 2).reconnects).to.equal(1);
    a.send(2, { after: 'restart' });
    await until(() => got.length === 1);
  });

  it('follows a peer to a new address', async () => {
    const a = await make(1);
    const b1 = await make(2);
    link(a, b1);
    await until(() => isConnected(a, 2));
    await b1.close();
    const b2 = await make(2);
    b2.setPeers(new Map([[1, { host: LOCAL, port: a.port }]]));
    a.setPeers(new Map([[2, { host: LOCAL, port: b2.port }]]));
    const got: unknown[] = [];
    b2.onReceive((_f, p) => got.push(p));
    await until(() => isConnected(a, 2));
    a.send(2, { moved: true });
    await until(() => got.length === 1);
  });

  it('pings keep a quiet connection alive; a silent peer is closed as dead', async () => {
    // Margins wide enough for a loaded CI machine: ten pings per idle timeout.
    const settings = { pingIntervalMs: 25, idleTimeoutMs: 250 };
    const a = await make(1, { settings });
    const b = await make(2, { settings });
    link(a, b);
    await until(() => isConnected(a, 2));
    await sleep(750);
    expect(isConnected(a, 2)).to.equal(true);
    expect(peerStats(a, 2).reconnects).to.equal(0);
    // A peer that greets and then never speaks again (a dead host) is dropped.
    const c = await make(3, { settings });
    c.setPeers(new Map([[4, { host: LOCAL, port: 1 }]]));
    const dead = await rawClient(c.port);
    dead.socket.write(hello(4));
    await until(() => isConnected(c, 4));
    const t0 = Date.now();
    await dead.closed;
    expect(Date.now() - t0).to.be.within(150, 2000);
    expect(dead.frames.filter((f) => f.kind === FrameKind.Ping).length).to.be.at.least(1);
  });

  it('backpressure: a peer that stops reading fills the bounded queue, then send drops', async () => {
    const b = await make(2, { settings: { maxFrameBytes: 1024 * 1024, maxQueuedFrames: 10_000, maxQueuedBytes: 4 * 1024 * 1024 } });
    b.setPeers(new Map([[3, { host: LOCAL, port: 1 }]]));
    const raw = await rawClient(b.port);
    raw.socket.write(hello(3));
    await until(() => isConnected(b, 3));
    raw.socket.pause();
    const frame = { data: Buffer.alloc(64 * 1024) };
    let refused = 0;
    for (let turn = 0; turn < 400 && refused === 0; turn++) {
      for (let i = 0; i < 16; i++) if (!b.send(3, frame)) refused++;
      await new Promise((r) => setImmediate(r));
    }
    expect(refused).to.be.above(0);
    const s = peerStats(b, 3);
    expect(s.queuedBytes).to.be.at.most(4 * 1024 * 1024);
    expect(s.dropped).to.equal(refused);
    expect(isConnected(b, 3)).to.equal(true);
  });

  it('frames queued in one turn leave in one write', async () => {
    const a = await make(1);
    const b = await make(2);
    link(a, b);
    await until(() => isConnected(a, 2));
    let n = 0;
    b.onReceive(() => n++);
    const before = peerStats(a, 2).flushes;
    for (let i = 0; i < 100; i++) a.send(2, { i });
    await until(() => n === 100);
    expect(peerStats(a, 2).flushes - before).to.equal(1);
  });
});
