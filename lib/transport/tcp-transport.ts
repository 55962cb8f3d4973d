/**
 * TcpTransport: the real transport between Flotilla nodes.
 *
 * One TCP connection per peer pair, carrying every Raft group's traffic both ways. The rule that
 * makes it one: the node with the LOWER id dials, the higher one accepts. So there is no race of
 * simultaneous dials to break; a new inbound connection from a peer replaces the old one (the
 * peer restarted, or noticed a dead connection before we did).
 *
 * Per peer: a bounded queue (frames and bytes); frames queued in one event-loop turn go out in one
 * socket write; when the socket pushes back (`write()` returns false) frames wait in the queue until
 * 'drain', and past the bound `send()` drops and returns false — Raft resends what matters. A
 * dialer reconnects with jittered exponential back-off. A malformed or oversized frame, a wrong
 * cluster id or an unexpected node id closes that one connection and is logged and counted; the
 * other peers are not affected. TCP_NODELAY is on; an idle timeout catches dead peers.
 */
import { type Server, type Socket, createConnection, createServer } from 'node:net';
import type { Prng } from '../base/prng.js';
import type { NodeId } from '../raft/core/types.js';
import {
  FrameReader, type Hello, PROTOCOL_VERSION, type PeerAddress, type PeerStats, type Transport, type TransportSettings,
  decodeBody, encodeFrame, validateTransportSettings,
} from './transport.js';

/** Frames kept for a peer that is not connected (the newest win). */
const DISCONNECTED_QUEUE_FRAMES = 256;

export interface TcpTransportOptions {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  readonly listen: PeerAddress;
  /** Jitter for reconnect back-off. */
  readonly prng: Prng;
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
}

interface Peer {
  readonly id: NodeId;
  address: PeerAddress;
  socket: Socket | null;
  /** Set once the hello exchange completed on `socket`. */
  ready: boolean;
  queue: Buffer[];
  queuedBytes: number;
  flushScheduled: boolean;
  blocked: boolean;
  backoffMs: number;
  reconnectTimer: ReturnType<typeof setTimeout> | null;
  readonly stats: PeerStats;
  removed: boolean;
}

export class TcpTransport implements Transport {
  readonly nodeId: NodeId;
  readonly settings: TransportSettings;
  private readonly clusterId: string;
  private readonly listenAddress: PeerAddress;
  private readonly prng: Prng;
  private readonly logger: (line: string) => void;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly inbound = new Set<Socket>();
  private receiveHandler: (from: NodeId, payload: unknown) => void = () => {};
  private peerStateHandler: (peer: NodeId, connected: boolean) => void = () => {};
  private server: Server | null = null;
  private closed = false;

  constructor(options: TcpTransportOptions) {
    this.nodeId = options.nodeId;
    this.clusterId = options.clusterId;
    this.listenAddress = options.listen;
    this.prng = options.prng;
    this.settings = validateTransportSettings(options.settings);
    this.logger = options.logger ?? (() => {});
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : this.listenAddress.port;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((socket) => this.accept(socket));
    server.on('error', (err) => this.logger(`transport ${this.nodeId}: server error: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenAddress.port, this.listenAddress.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    for (const peer of this.peers.values()) this.maybeDial(peer);
  }

  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    for (const [id, peer] of this.peers) {
      if (!peers.has(id)) this.removePeer(peer);
    }
    for (const [id, address] of peers) {
      if (id === this.nodeId) continue;
      const existing = this.peers.get(id);
      if (existing) {
        if (existing.address.host !== address.host || existing.address.port !== address.port) {
          existing.address = address;
          if (id > this.nodeId) this.dropSocket(existing, 'peer address changed');
        }
        continue;
      }
      const peer: Peer = {
        id, address, socket: null, ready: false, queue: [], queuedBytes: 0, flushScheduled: false, blocked: false,
        backoffMs: this.settings.reconnectMinMs, reconnectTimer: null, removed: false,
        stats: { connected: false, queuedFrames: 0, queuedBytes: 0, framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0, dropped: 0, reconnects: 0, badFrames: 0 },
      };
      this.peers.set(id, peer);
      if (this.server) this.maybeDial(peer);
    }
  }

  send(to: NodeId, payload: unknown): boolean {
    const peer = this.peers.get(to);
    if (!peer || this.closed) return false;
    let frame: Buffer;
    try {
      frame = encodeFrame(payload, this.settings.maxFrameBytes);
    } catch (err) {
      peer.stats.dropped++;
      this.logger(`transport ${this.nodeId}: frame to ${to} dropped: ${(err as Error).message}`);
      return false;
    }
    if (peer.queue.length >= this.settings.maxQueuedFrames || peer.queuedBytes + frame.length > this.settings.maxQueuedBytes) {
      peer.stats.dropped++;
      return false;
    }
    if (!peer.ready && peer.queue.length >= DISCONNECTED_QUEUE_FRAMES) {
      // While the peer is away keep only the newest frames: old heartbeats and appends are stale
      // by the time it is back, and Raft resends what still matters.
      const old = peer.queue.shift()!;
      peer.queuedBytes -= old.length;
      peer.stats.dropped++;
    }
    peer.queue.push(frame);
    peer.queuedBytes += frame.length;
    this.scheduleFlush(peer);
    return true;
  }

  onReceive(handler: (from: NodeId, payload: unknown) => void): void {
    this.receiveHandler = handler;
  }

  onPeerState(handler: (peer: NodeId, connected: boolean) => void): void {
    this.peerStateHandler = handler;
  }

  stats(): Map<NodeId, PeerStats> {
    const out = new Map<NodeId, PeerStats>();
    for (const [id, p] of this.peers) out.set(id, { ...p.stats, connected: p.ready, queuedFrames: p.queue.length, queuedBytes: p.queuedBytes });
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Give queued frames a moment to leave.
    const deadline = Date.now() + this.settings.closeDrainMs;
    while (Date.now() < deadline && [...this.peers.values()].some((p) => p.ready && p.queue.length > 0)) {
      await new Promise((r) => setTimeout(r, 5));
    }
    this.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Closes everything at once, dropping what is queued. */
  destroy(): void {
    this.closed = true;
    for (const peer of this.peers.values()) this.removePeer(peer);
    for (const socket of this.inbound) socket.destroy();
    this.inbound.clear();
  }

  // ---- Connections ----------------------------------------------------------------------------

  private maybeDial(peer: Peer): void {
    if (this.closed || peer.removed || peer.id < this.nodeId || peer.socket || peer.reconnectTimer) return;
    const socket = createConnection({ host: peer.address.host, port: peer.address.port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    peer.socket = socket;
    const connectTimer = setTimeout(() => {
      if (!peer.ready) socket.destroy(new Error(`no greeting within ${this.settings.connectTimeoutMs} ms`));
    }, this.settings.connectTimeoutMs);
    socket.once('connect', () => {
      socket.write(encodeFrame({ v: PROTOCOL_VERSION, cluster: this.clusterId, node: this.nodeId } satisfies Hello, this.settings.maxFrameBytes));
    });
    this.readFrames(socket, (body) => {
      if (!peer.ready) {
        const why = this.checkHello(body, peer.id);
        if (why) {
          this.logger(`transport ${this.nodeId}: connection to ${peer.id} rejected: ${why}`);
          peer.stats.badFrames++;
          socket.destroy();
          return;
        }
        clearTimeout(connectTimer);
        this.setReady(peer, socket);
        return;
      }
      this.deliver(peer, body);
    }, peer);
    socket.on('close', () => {
      clearTimeout(connectTimer);
      if (peer.socket === socket) this.onSocketClosed(peer);
    });
    socket.on('error', (err) => {
      if (peer.ready) this.logger(`transport ${this.nodeId}: connection to ${peer.id} failed: ${err.message}`);
    });
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    this.inbound.add(socket);
    let peer: Peer | null = null;
    const greetTimer = setTimeout(() => {
      if (!peer) socket.destroy();
    }, this.settings.connectTimeoutMs);
    this.readFrames(socket, (body) => {
      if (peer) {
        this.deliver(peer, body);
        return;
      }
      const hello = body as Partial<Hello>;
      const claimed = typeof hello?.node === 'number' ? this.peers.get(hello.node) : undefined;
      let why = this.checkHello(body, claimed?.id ?? -1);
      if (!why && claimed && claimed.id > this.nodeId) why = `node ${claimed.id} has a higher id and must accept, not dial`;
      if (why || !claimed) {
        this.logger(`transport ${this.nodeId}: inbound connection rejected: ${why ?? 'unknown node'}`);
        socket.destroy();
        return;
      }
      clearTimeout(greetTimer);
      peer = claimed;
      if (peer.socket && peer.socket !== socket) {
        const old = peer.socket;
        peer.socket = null;
        peer.ready = false;
        old.destroy();
      }
      socket.write(encodeFrame({ v: PROTOCOL_VERSION, cluster: this.clusterId, node: this.nodeId } satisfies Hello, this.settings.maxFrameBytes));
      this.setReady(peer, socket);
    }, null);
    socket.on('close', () => {
      clearTimeout(greetTimer);
      this.inbound.delete(socket);
      if (peer && peer.socket === socket) this.onSocketClosed(peer);
    });
    socket.on('error', () => {});
  }

  private checkHello(body: unknown, expected: NodeId): string | null {
    const hello = body as Partial<Hello> | null;
    if (!hello || typeof hello !== 'object') return 'malformed greeting';
    if (hello.v !== PROTOCOL_VERSION) return `protocol version ${String(hello.v)} (this node speaks ${PROTOCOL_VERSION})`;
    if (hello.cluster !== this.clusterId) return `cluster id "${String(hello.cluster)}" is not "${this.clusterId}"`;
    if (hello.node !== expected) return `node id ${String(hello.node)} is not the expected ${expected}`;
    return null;
  }

  private readFrames(socket: Socket, onBody: (body: unknown) => void, peerForStats: Peer | null): void {
    const reader = new FrameReader(this.settings.maxFrameBytes);
    socket.setTimeout(this.settings.idleTimeoutMs, () => socket.destroy(new Error('idle timeout')));
    socket.on('data', (chunk: Buffer) => {
      let bodies: Buffer[];
      try {
        bodies = reader.push(chunk);
      } catch (err) {
        this.badFrame(socket, peerForStats, (err as Error).message);
        return;
      }
      for (const raw of bodies) {
        let body: unknown;
        try {
          body = decodeBody(raw);
        } catch (err) {
          this.badFrame(socket, peerForStats, `undecodable frame: ${(err as Error).message}`);
          return;
        }
        if (socket.destroyed) return;
        onBody(body);
      }
    });
  }

  private badFrame(socket: Socket, peer: Peer | null, why: string): void {
    if (peer) peer.stats.badFrames++;
    this.logger(`transport ${this.nodeId}: closing a connection${peer ? ` with ${peer.id}` : ''}: ${why}`);
    socket.destroy();
  }

  private deliver(peer: Peer, body: unknown): void {
    peer.stats.framesReceived++;
    // The handler (the Raft host) handles its own failures; one escaping here is a bug: let it
    // crash the process loudly.
    this.receiveHandler(peer.id, body);
  }

  private setReady(peer: Peer, socket: Socket): void {
    peer.socket = socket;
    peer.ready = true;
    peer.blocked = false;
    peer.backoffMs = this.settings.reconnectMinMs;
    socket.on('drain', () => {
      peer.blocked = false;
      this.scheduleFlush(peer);
    });
    this.peerStateHandler(peer.id, true);
    this.scheduleFlush(peer);
  }

  private onSocketClosed(peer: Peer): void {
    const wasReady = peer.ready;
    peer.socket = null;
    peer.ready = false;
    peer.blocked = false;
    if (wasReady) this.peerStateHandler(peer.id, false);
    if (this.closed || peer.removed || peer.id < this.nodeId) return;
    peer.stats.reconnects++;
    const jitter = 0.5 + this.prng.next();
    const delay = Math.min(this.settings.reconnectMaxMs, Math.round(peer.backoffMs * jitter));
    peer.backoffMs = Math.min(this.settings.reconnectMaxMs, peer.backoffMs * 2);
    peer.reconnectTimer = setTimeout(() => {
      peer.reconnectTimer = null;
      this.maybeDial(peer);
    }, delay);
  }

  private dropSocket(peer: Peer, why: string): void {
    if (peer.socket) {
      this.logger(`transport ${this.nodeId}: closing connection with ${peer.id}: ${why}`);
      peer.socket.destroy();
    }
  }

  private removePeer(peer: Peer): void {
    peer.removed = true;
    if (peer.reconnectTimer) clearTimeout(peer.reconnectTimer);
    peer.reconnectTimer = null;
    peer.socket?.destroy();
    peer.socket = null;
    peer.ready = false;
    peer.queue = [];
    peer.queuedBytes = 0;
    this.peers.delete(peer.id);
  }

  private scheduleFlush(peer: Peer): void {
    if (peer.flushScheduled || !peer.ready || peer.blocked || peer.queue.length === 0) return;
    peer.flushScheduled = true;
    setImmediate(() => {
      peer.flushScheduled = false;
      this.flush(peer);
    });
  }

  /** One socket write for everything queued this turn. */
  private flush(peer: Peer): void {
    const socket = peer.socket;
    if (!socket || !peer.ready || peer.blocked || peer.queue.length === 0) return;
    const frames = peer.queue;
    const bytes = peer.queuedBytes;
    peer.queue = [];
    peer.queuedBytes = 0;
    peer.stats.framesSent += frames.length;
    peer.stats.bytesSent += bytes;
    const ok = socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes));
    if (!ok) peer.blocked = true;
  }
}
