/**
 * The conformance suite every Transport passes (TCP and memory alike): ordered delivery per peer,
 * binary and number round-trips, bounded queues that drop and say so, oversized frames, peer
 * removal, peer-state reports, close (drains) and destroy (drops).
 */
import { expect } from 'chai';
import type { NodeId } from '../../lib/raft/core/types.js';
import type { PeerAddress, PeerStats, Transport } from '../../lib/transport/transport.js';

export interface TransportFixture {
  /** A started transport for `id`. */
  make(id: NodeId, settings?: Record<string, unknown>): Promise<Transport>;
  /** Where peers reach `t`. */
  address(t: Transport): PeerAddress;
  /** Closes whatever the fixture made. */
  cleanup(): Promise<void>;
}

export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function peerStats(t: Transport, peer: NodeId): PeerStats {
  const s = t.stats().peers.get(peer);
  if (!s) throw new Error(`node ${t.nodeId} has no stats for peer ${peer}`);
  return s;
}

export function isConnected(t: Transport, peer: NodeId): boolean {
  return t.stats().peers.get(peer)?.connected === true;
}

/** A payload shaped like the Raft host's: groups of messages with binary entry data. */
function hostPayload(i: number): unknown {
  return {
    g: [[`topic-${i % 3}/0`, [{
      type: 3, from: 1, to: 2, term: 7, logTerm: 7, index: 2 ** 40 + i, commit: i, reject: false, hintIndex: -1, hintTerm: 0,
      context: 0, transfer: false, snapshot: null, chunkOffset: 0, chunk: null, chunkLast: false, quiesce: false,
      entries: [{ index: 2 ** 40 + i + 1, term: 7, type: 0, data: new Uint8Array([i & 255, 0, 255]) }],
    }]]],
  };
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

    const link = (...ts: Transport[]): void => {
      for (const t of ts) t.setPeers(new Map(ts.filter((o) => o !== t).map((o) => [o.nodeId, fx.address(o)])));
    };
    const pair = async (settings?: Record<string, unknown>): Promise<[Transport, Transport]> => {
      const a = await fx.make(1, settings);
      const b = await fx.make(2, settings);
      link(a, b);
      return [a, b];
    };
    const connectedPair = async (settings?: Record<string, unknown>): Promise<[Transport, Transport]> => {
      const [a, b] = await pair(settings);
      await until(() => isConnected(a, 2) && isConnected(b, 1), 5000, 'connected');
      return [a, b];
    };

    it('delivers frames in order per peer, both ways, on a later turn, with binary fields and numbers intact', async () => {
      const [a, b] = await connectedPair();
      const atB: [NodeId, unknown][] = [];
      const atA: [NodeId, unknown][] = [];
      b.onReceive((from, p) => atB.push([from, p]));
      a.onReceive((from, p) => atA.push([from, p]));
      for (let i = 0; i < 300; i++) expect(a.send(2, hostPayload(i))).to.equal(true);
      const numbers = { big: 2 ** 40, max: Number.MAX_SAFE_INTEGER, neg: -(2 ** 33), small: -1, half: 0.5, zero: 0 };
      expect(b.send(1, { numbers, buf: Buffer.from('raw bytes'), empty: new Uint8Array(0) })).to.equal(true);
      expect(atB.length + atA.length, 'delivered inside send()').to.equal(0);
      await until(() => atB.length === 300 && atA.length === 1);
      for (let i = 0; i < 300; i++) {
        const [from, p] = atB[i]!;
        expect(from).to.equal(1);
        const [group, messages] = (p as { g: [string, { index: number; entries: { index: number; data: Uint8Array }[] }[]][] }).g[0]!;
        expect(group).to.equal(`topic-${i % 3}/0`);
        expect(messages[0]!.index).to.equal(2 ** 40 + i);
        const entry = messages[0]!.entries[0]!;
        expect(entry.index).to.equal(2 ** 40 + i + 1);
        expect(entry.data).to.be.instanceOf(Uint8Array);
        expect([...entry.data]).to.deep.equal([i & 255, 0, 255]);
      }
      const [from, back] = atA[0]! as [NodeId, { numbers: unknown; buf: Uint8Array; empty: Uint8Array }];
      expect(from).to.equal(2);
      expect(back.numbers).to.deep.equal(numbers);
      expect(back.buf).to.be.instanceOf(Uint8Array);
      expect(Buffer.from(back.buf).toString()).to.equal('raw bytes');
      expect(back.empty).to.be.instanceOf(Uint8Array);
      expect(back.empty.length).to.equal(0);
    });

    it('delivers blobs beside the payload, in order and intact (large, empty, many), and none when none were sent', async () => {
      const [a, b] = await connectedPair();
      const got: [unknown, readonly Buffer[]][] = [];
      b.onReceive((_from, p, blobs) => got.push([p, blobs]));
      const big = Buffer.alloc(300_000);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
      const many = Array.from({ length: 500 }, (_, i) => Buffer.from(`blob ${i}`));
      expect(a.send(2, { n: 1 }, [big, new Uint8Array(0), new Uint8Array([1, 2, 3])])).to.equal(true);
      expect(a.send(2, { n: 2 }, many)).to.equal(true);
      expect(a.send(2, { n: 3 })).to.equal(true);
      expect(a.send(2, { n: 4 }, [])).to.equal(true);
      await until(() => got.length === 4);
      expect(got.map(([p]) => (p as { n: number }).n)).to.deep.equal([1, 2, 3, 4]);
      const first = got[0]![1];
      expect(first.length).to.equal(3);
      expect(first[0]!.equals(big)).to.equal(true);
      expect(first[1]!.length).to.equal(0);
      expect([...first[2]!]).to.deep.equal([1, 2, 3]);
      expect(got[1]![1].map((x) => x.toString())).to.deep.equal(many.map((x) => x.toString()));
      expect(got[2]![1]).to.deep.equal([]);
      expect(got[3]![1]).to.deep.equal([]);
    });

    it('keeps per-peer order with several peers at once', async () => {
      const ts = [await fx.make(1), await fx.make(2), await fx.make(3)];
      link(...ts);
      await until(() => ts.every((t) => ts.every((o) => o === t || isConnected(t, o.nodeId))));
      const got = new Map<string, number[]>();
      for (const t of ts) t.onReceive((from, p) => {
        const key = `${from}->${t.nodeId}`;
        got.set(key, [...(got.get(key) ?? []), (p as { n: number }).n]);
      });
      for (let n = 0; n < 50; n++) {
        for (const t of ts) for (const o of ts) if (o !== t) expect(t.send(o.nodeId, { n })).to.equal(true);
      }
      await until(() => got.size === 6 && [...got.values()].every((l) => l.length === 50));
      for (const list of got.values()) expect(list).to.deep.equal([...Array(50).keys()]);
    });

    it('refuses frames to an unknown peer and to itself', async () => {
      const [a] = await pair();
      expect(a.send(9, { x: 1 })).to.equal(false);
      expect(a.send(1, { x: 1 })).to.equal(false);
      expect(a.stats().peers.has(9)).to.equal(false);
    });

    it('bounds the queue in frames: past it, send drops, says so and counts', async () => {
      const [a, b] = await pair({ maxQueuedFrames: 5, maxQueuedFramesOffline: 5 });
      const got: number[] = [];
      b.onReceive((_f, p) => got.push((p as { i: number }).i));
      const results: boolean[] = [];
      for (let i = 0; i < 20; i++) results.push(a.send(2, { i }));
      expect(results).to.deep.equal([...Array(20).keys()].map((i) => i < 5));
      expect(peerStats(a, 2).dropped).to.equal(15);
      expect(peerStats(a, 2).queuedFrames).to.equal(5);
      await until(() => got.length === 5);
      await sleep(20);
      expect(got).to.deep.equal([0, 1, 2, 3, 4]);
      expect(peerStats(a, 2).queuedFrames).to.equal(0);
    });

    it('bounds the queue in bytes', async () => {
      const settings = { maxFrameBytes: 1024, maxHelloBytes: 512, maxQueuedBytes: 4096 };
      const [a, b] = await pair(settings);
      let n = 0;
      b.onReceive(() => n++);
      const results: boolean[] = [];
      for (let i = 0; i < 8; i++) results.push(a.send(2, { data: Buffer.alloc(900, i) }));
      expect(results).to.deep.equal([true, true, true, true, false, false, false, false]);
      expect(peerStats(a, 2).queuedBytes).to.be.within(3600, 4096);
      await until(() => n === 4);
    });

    it('drops a frame over maxFrameBytes at send, and carries on', async () => {
      const [a, b] = await pair({ maxFrameBytes: 1024, maxHelloBytes: 512, maxQueuedBytes: 8192 });
      const got: unknown[] = [];
      b.onReceive((_f, p) => got.push(p));
      expect(a.send(2, { data: Buffer.alloc(2000) })).to.equal(false);
      expect(peerStats(a, 2).dropped).to.equal(1);
      expect(a.send(2, { small: true })).to.equal(true);
      await until(() => got.length === 1);
      expect(got[0]).to.deep.equal({ small: true });
    });

    it('forgets a removed peer, and can add it back', async () => {
      const [a, b] = await connectedPair();
      const got: unknown[] = [];
      b.onReceive((_f, p) => got.push(p));
      a.setPeers(new Map());
      expect(a.send(2, { x: 1 })).to.equal(false);
      expect(a.stats().peers.has(2)).to.equal(false);
      await until(() => !isConnected(b, 1));
      link(a, b);
      await until(() => isConnected(a, 2) && isConnected(b, 1));
      expect(a.send(2, { x: 2 })).to.equal(true);
      await until(() => got.length === 1);
      expect(got[0]).to.deep.equal({ x: 2 });
    });

    it('counts frames and bytes sent and received alike on both ends', async () => {
      const [a, b] = await connectedPair();
      let n = 0;
      b.onReceive(() => n++);
      for (let i = 0; i < 10; i++) a.send(2, { hello: 'world', i });
      await until(() => n === 10);
      const sent = peerStats(a, 2);
      const received = peerStats(b, 1);
      expect(sent.framesSent).to.equal(10);
      expect(received.framesReceived).to.equal(10);
      expect(sent.bytesSent).to.be.above(10 * 5);
      expect(received.bytesReceived).to.equal(sent.bytesSent);
      expect(sent.flushes).to.be.at.least(1);
      expect(sent.flushes, 'frames of one turn leave together').to.be.below(10);
    });

    it('reports peer state: connected once linked, disconnected when the peer closes', async () => {
      const a = await fx.make(1);
      const events: [NodeId, boolean][] = [];
      a.onPeerState((peer, up) => events.push([peer, up]));
      const b = await fx.make(2);
      link(a, b);
      await until(() => events.length === 1);
      expect(events[0]).to.deep.equal([2, true]);
      await b.close();
      await until(() => events.length === 2);
      expect(events[1]).to.deep.equal([2, false]);
      expect(isConnected(a, 2)).to.equal(false);
    });

    it('close() delivers what was queued, then refuses to send; it is idempotent', async () => {
      const [a, b] = await connectedPair();
      const got: number[] = [];
      b.onReceive((_f, p) => got.push((p as { i: number }).i));
      for (let i = 0; i < 100; i++) a.send(2, { i, pad: Buffer.alloc(100) });
      await a.close();
      expect(a.send(2, { late: true })).to.equal(false);
      await until(() => got.length === 100);
      expect(got).to.deep.equal([...Array(100).keys()]);
      await a.close();
      a.destroy();
    });

    it('destroy() drops what was queued at once', async () => {
      const [a, b] = await connectedPair();
      let n = 0;
      b.onReceive(() => n++);
      for (let i = 0; i < 10; i++) a.send(2, { i });
      a.destroy();
      expect(a.send(2, { late: true })).to.equal(false);
      await sleep(50);
      expect(n).to.equal(0);
    });
  });
}
