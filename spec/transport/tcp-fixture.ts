/**
 * What the TcpTransport specs share (plain TCP and mutual TLS alike): the conformance suite over
 * TcpTransports a spec builds, and the per-test bench of a describe block (the transports and raw
 * sockets it made, closed after each test; `link` makes transports each other's peers).
 */
import type { Socket } from 'node:net';
import type { Clock } from '../../lib/base/clock.js';
import type { NodeId } from '../../lib/raft/core/types.js';
import type { TcpTransport } from '../../lib/transport/tcp-transport.js';
import { FrameKind, FrameReader, PROTOCOL_VERSION, decodeFrame, encodeFrame } from '../../lib/transport/transport.js';
import { transportConformance } from './transport-conformance.js';

export const clock: Clock = { nowMs: () => performance.now(), wallMs: () => Date.now() };
export const LOCAL = '127.0.0.1';

/** The transport conformance suite over the (unstarted) TcpTransports `create` builds. */
export function tcpConformance(name: string, create: (id: NodeId, settings?: Record<string, unknown>) => TcpTransport): void {
  transportConformance(name, () => {
    const made: TcpTransport[] = [];
    return {
      async make(id, settings) {
        const t = create(id, settings);
        await t.start();
        made.push(t);
        return t;
      },
      address: (t) => ({ host: LOCAL, port: (t as TcpTransport).port }),
      async cleanup() {
        for (const t of made) await t.close();
      },
    };
  });
}

/** The hello frame of `node` in `cluster`. */
export const hello = (node: NodeId, cluster = 'c'): Buffer => encodeFrame(FrameKind.Hello, { protocolVersion: PROTOCOL_VERSION, clusterId: cluster, nodeId: node }, 4096);

/** A raw socket as a test peer sees it: the frames it receives, decoded, and when it closed. */
export interface RawPeer<S extends Socket> {
  readonly socket: S;
  readonly frames: ReturnType<typeof decodeFrame>[];
  readonly closed: Promise<void>;
}

export interface TcpBench<O> {
  /** The transports made in this test (a test that closes one itself takes it out). */
  readonly made: TcpTransport[];
  /** Raw sockets of this test, destroyed after it. */
  readonly sockets: Socket[];
  /** A started transport `create` builds. */
  make(id: NodeId, opts?: O): Promise<TcpTransport>;
  link(...ts: TcpTransport[]): void;
  /** Takes a raw socket into the test (destroyed after it): its frames decoded, its errors swallowed. */
  watch<S extends Socket>(socket: S): RawPeer<S>;
}

/** Call inside a describe block: registers the afterEach that closes what each test made. */
export function tcpBench<O>(create: (id: NodeId, opts?: O) => TcpTransport): TcpBench<O> {
  const made: TcpTransport[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const t of made.splice(0)) await t.close();
  });
  return {
    made,
    sockets,
    async make(id, opts) {
      const t = create(id, opts);
      await t.start();
      made.push(t);
      return t;
    },
    link(...ts) {
      for (const t of ts) t.setPeers(new Map(ts.filter((o) => o !== t).map((o) => [o.nodeId, { host: LOCAL, port: o.port }])));
    },
    watch(socket) {
      sockets.push(socket);
      const frames: ReturnType<typeof decodeFrame>[] = [];
      const reader = new FrameReader(1 << 20);
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk);
        for (const c of reader.drain()) frames.push(decodeFrame(c));
      });
      socket.on('error', () => {});
      const closed = new Promise<void>((res) => socket.once('close', () => res()));
      return { socket, frames, closed };
    },
  };
}
