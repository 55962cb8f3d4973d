/**
 * A tap in front of a test cluster's Kafka listeners: every node runs with `--advertised-host
 * 127.0.0.2`, and the tap listens on 127.0.0.2 at each node's client port and forwards to
 * 127.0.0.1 at the same port. Metadata then sends every client through the tap, which reads the
 * client-to-node byte stream as Kafka frames (int32 size, then the request) and keeps each one's
 * API key, version and bytes. A test that fails then says which request a client sent last before
 * the node closed its connection, and the frames a client sent become fixtures
 * (spec/server/fixtures/clients/): an encoder that is not ours.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { apiKeys } from '../../lib/kafka/header.js';
import type { TestCluster } from './cluster-harness.js';

export const TAP_HOST = '127.0.0.2';

export interface TappedFrame {
  /** The tap's connection number (one per client connection). */
  readonly conn: number;
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly clientId: string | null;
  /** The request without its size prefix. */
  readonly bytes: Buffer;
}

/** A connection the node closed (not the client) and the last request the client had sent on it. */
export interface NodeClose {
  readonly conn: number;
  readonly last: TappedFrame | null;
}

/** At most this many frames are kept (the oldest go); enough for every request of one spec. */
const MAX_FRAMES = 50_000;
/** Frames larger than this keep their first bytes only (a Produce of 100 records is far smaller). */
const MAX_FRAME_BYTES = 1 << 20;

const apiNames = new Map<number, string>(Object.entries(apiKeys).map(([name, key]) => [key, name]));

export function apiName(key: number): string {
  return apiNames.get(key) ?? `ApiKey${key}`;
}

export class FrameTap {
  readonly frames: TappedFrame[] = [];
  readonly nodeCloses: NodeClose[] = [];
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private nextConn = 1;

  /**
   * Starts listening in front of every node of `cluster` (started with `--advertised-host
   * 127.0.0.2`). The nodes reach each other's peer port at the advertised host too (a node
   * registers its advertised address): those connections are forwarded as they are.
   */
  static async start(cluster: TestCluster): Promise<FrameTap> {
    const tap = new FrameTap();
    for (const n of cluster.nodes) {
      await tap.listen(n.clientPort, true);
      await tap.listen(n.peerPort, false);
    }
    return tap;
  }

  /**
   * A tap on TAP_HOST at each of `ports`, forwarding to 127.0.0.1 at the same port (nodes that do
   * not advertise TAP_HOST): a client given these addresses as its bootstrap goes through the tap
   * for its first connection only, which shows its login (security-clients.spec.ts).
   */
  static async before(ports: readonly number[]): Promise<FrameTap> {
    const tap = new FrameTap();
    for (const port of ports) await tap.listen(port, true);
    return tap;
  }

  /** The (API key, version) pairs seen since frame index `from`, in first-seen order, as `Name vN`. */
  seen(from = 0, clientId?: string): string[] {
    const out = new Set<string>();
    for (const f of this.frames.slice(from)) if (clientId === undefined || f.clientId === clientId) out.add(`${apiName(f.apiKey)} v${f.apiVersion}`);
    return [...out];
  }

  /** The node's closes since close index `from`, as readable lines (one per last request, with a count). */
  closesSince(from = 0): string[] {
    const counts = new Map<string, number>();
    for (const c of this.nodeCloses.slice(from)) {
      const what = c.last ? `after ${apiName(c.last.apiKey)} v${c.last.apiVersion} (clientId ${c.last.clientId})` : 'before any request';
      counts.set(what, (counts.get(what) ?? 0) + 1);
    }
    return [...counts].map(([what, n]) => `the node closed ${n} connection${n > 1 ? 's' : ''} ${what}`);
  }

  /**
   * Writes the first frame of each (API, version) sent since frame index `from` by `clientId` as
   * `<dir>/<Api>-v<N>.hex` (one frame, no size prefix, hex on one line). Returns the file names.
   */
  writeFixtures(dir: string, from: number, clientId: string): string[] {
    mkdirSync(dir, { recursive: true });
    const written = new Map<string, Buffer>();
    for (const f of this.frames.slice(from)) {
      if (f.clientId !== clientId) continue;
      const name = `${apiName(f.apiKey)}-v${f.apiVersion}.hex`;
      if (!written.has(name) && f.bytes.length < MAX_FRAME_BYTES) written.set(name, f.bytes);
    }
    for (const [name, bytes] of written) writeFileSync(join(dir, name), `${bytes.toString('hex')}\n`);
    return [...written.keys()].sort();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private listen(port: number, kafka: boolean): Promise<void> {
    const server = createServer((client) => (kafka ? this.accept(client, port) : this.forward(client, port)));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, TAP_HOST, () => resolve());
    });
  }

  private forward(client: Socket, port: number): void {
    const upstream = connect(port, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', drop);
      s.on('close', drop);
    }
  }

  private accept(client: Socket, port: number): void {
    const conn = this.nextConn++;
    const upstream = connect(port, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    let pending: Buffer = Buffer.alloc(0);
    let last: TappedFrame | null = null;
    let clientEnded = false;
    client.on('data', (d: Buffer) => {
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (size < 8 || pending.length < 4 + size) break;
        const frame = pending.subarray(4, 4 + size);
        const idLen = frame.length >= 10 ? frame.readInt16BE(8) : -1;
        const clientId = idLen >= 0 && frame.length >= 10 + idLen ? frame.toString('utf8', 10, 10 + idLen) : null;
        last = { conn, apiKey: frame.readInt16BE(0), apiVersion: frame.readInt16BE(2), clientId, bytes: Buffer.from(frame.subarray(0, Math.min(frame.length, MAX_FRAME_BYTES))) };
        this.frames.push(last);
        if (this.frames.length > MAX_FRAMES) this.frames.shift();
        pending = pending.subarray(4 + size);
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    client.on('end', () => {
      clientEnded = true;
      upstream.end();
    });
    upstream.on('end', () => {
      if (!clientEnded) this.nodeCloses.push({ conn, last });
      client.end();
    });
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  }
}
