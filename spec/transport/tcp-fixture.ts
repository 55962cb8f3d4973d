/**
 * What the TcpTransport specs share (plain TCP and mutual TLS alike): the conformance suite over
 * TcpTransports a spec builds, and the per-test bench of a describe block (the transports and raw
 * sockets it made, closed after each test; `link` makes transports each other's peers).
 */
import type { Socket } from 'node:net';
import type { Clock } from '../../lib/base/clock.js';
import type { NodeId } from '../../lib/raft/core/types.js';
import type { TcpTransport } from '../../lib/transport/tcp-transport.js';
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

export interface TcpBench<O> {
  /** The transports made in this test (a test that closes one itself takes it out). */
  readonly made: TcpTransport[];
  /** Raw sockets of this test, destroyed after it. */
  readonly sockets: Socket[];
  /** A started transport `create` builds. */
  make(id: NodeId, opts?: O): Promise<TcpTransport>;
  link(...ts: TcpTransport[]): void;
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
  };
}
