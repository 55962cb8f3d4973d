/**
 * TcpTransport: the real transport between Flotilla nodes.
 *
 * One TCP connection per peer pair carries every Raft group's traffic, both ways. The rule that
 * makes it one: the node with the HIGHER id dials, the node with the lower id accepts. Both sides
 * apply the same rule to the same two ids, so they never dial each other at once; the acceptor
 * refuses (with a reason) a hello from a lower id, and when a second connection from the same
 * higher-id peer completes its handshake, the newer one replaces the older one (the peer restarted,
 * or noticed a dead connection before we did: its new connection is the live one).
 * Why the higher id: the controllers (configured, low ids) are known to every node, while a node
 * that joins later is known to the others only once it has registered — which it does over this
 * very connection. So the newcomer dials, and an acceptor takes a hello from a node it does not
 * know yet (same cluster id) as a "learned" peer: reachable over that connection only, kept until
 * the connection ends or `setPeers` names it.
 *
 * Handshake: the dialer sends HELLO {protocolVersion, clusterId, nodeId}; the acceptor checks it
 * (version, cluster id, a peer with a higher id, known or learned) and answers with its own HELLO, or with one
 * carrying `reject: reason` before closing. The dialer checks the answer the same way (and that it
 * comes from the node it meant to dial). Until the handshake completes a connection may carry
 * frames of at most maxHelloBytes, and it must complete within connectTimeoutMs.
 *
 * Sending: a bounded queue per peer (frames and bytes; fewer frames while the peer is not
 * connected). `send()` encodes, queues and returns at once; once per event-loop turn every peer's
 * queue leaves in one corked socket write (a single writev). When the socket pushes back
 * (`write()` returned false) the queue holds frames until 'drain', and past its bound `send()`
 * drops and returns false — Raft resends what matters.
 *
 * Failures: a malformed or oversized frame closes that one connection (logged, counted in the
 * peer's badFrames); other peers are not affected. A dialer reconnects with jittered exponential
 * back-off. TCP_NODELAY and TCP keep-alive are on; in addition one coarse timer per transport sends
 * a PING on a connection that sent nothing for pingIntervalMs and closes a connection that
 * received nothing for idleTimeoutMs, so a dead peer is noticed within seconds, not TCP's hours.
 *
 * Mutual TLS (option `tls`, lib/transport/peer-tls.ts): both ends present a certificate signed by the
 * cluster CA, and each certificate names its node (SAN URI:urn:flotilla:node:<id>). The acceptor
 * refuses a connection without a valid certificate before reading a byte of it, and a HELLO whose
 * node id is not the certificate's; the dialer refuses an acceptor whose certificate names another
 * node than the one it dialed. Host names are not checked: the node id is the identity.
 *
 * Lifecycle: new -> setPeers() (any time) -> start() -> send()/onReceive() -> close() (writes
 * what is queued to connected peers, ends the sockets, waits for at most closeDrainMs) or
 * destroy() (at once).
 */
import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { type TLSSocket, connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import type { Clock } from '../base/clock.js';
import { isFlotillaError } from '../base/errors.js';
import type { Prng } from '../base/prng.js';
import type { NodeId } from '../raft/core/types.js';
import { type PeerTls, certificateNodeId } from './peer-tls.js';
import {
  type EncodedFrame, FRAME_HEADER_BYTES, FrameKind, FrameReader, type Hello, NO_BLOBS, PROTOCOL_VERSION, type PeerAddress, type PeerStats,
  type ReceiveHandler, type Transport, type TransportSettings, type TransportStats, decodeFrame, encodeDataFrame, encodeFrame, reconnectDelayMs,
  validateTransportSettings,
} from './transport.js';

export interface TcpTransportOptions {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  /** Where to listen for peers (port 0: any free port; read it back from `port`). */
  readonly listen: PeerAddress;
  /** Jitter for reconnect back-off (seeded by the caller; never Math.random). */
  readonly prng: Prng;
  /** Monotonic time for the connect, ping and idle checks. */
  readonly clock: Clock;
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
  /** Mutual TLS with node-id binding (absent: plaintext TCP). */
  readonly tls?: PeerTls;
}

/** Refusal log lines: at most this many per window (the rest are counted, then summed up). */
const REFUSAL_LINES_PER_WINDOW = 20;
const REFUSAL_WINDOW_MS = 10_000;

type MutablePeerStats = { -readonly [K in keyof PeerStats]: PeerStats[K] };

interface Connection {
  readonly socket: Socket;
  readonly outbound: boolean;
  /** Known from the start when we dialed; set by the hello when we accepted. */
  peer: Peer | null;
  ready: boolean;
  /** Refused during the handshake: closing, ignore what else arrives. */
  refused: boolean;
  readonly openedMs: number;
  lastReceivedMs: number;
  lastSentMs: number;
  readonly reader: FrameReader;
  /** With TLS: the node id the peer's verified certificate names (its HELLO must say the same). */
  certNodeId: number | null;
  /** Plaintext: nothing received yet (a TLS ClientHello as the first bytes gets its own reason). */
  fresh: boolean;
}

interface Peer {
  readonly id: NodeId;
  address: PeerAddress;
  /** The connection in use (ready) or being set up by us as the dialer. */
  conn: Connection | null;
  queue: EncodedFrame[];
  queuedBytes: number;
  /** The socket said write() false: wait for 'drain'. */
  blocked: boolean;
  /** Failed connection attempts since the last handshake (drives the back-off). */
  attempts: number;
  reconnectTimer: ReturnType<typeof setTimeout> | null;
  everConnected: boolean;
  removed: boolean;
  /** Accepted from a node `setPeers` has not named (yet): no address, gone with its connection. */
  learned: boolean;
  readonly stats: MutablePeerStats;
}

export class TcpTransport implements Transport {
  readonly nodeId: NodeId;
  readonly settings: TransportSettings;
  private readonly clusterId: string;
  private readonly listenAddress: PeerAddress;
  private readonly prng: Prng;
  private readonly clock: Clock;
  private readonly logger: (line: string) => void;
  private readonly tls: PeerTls | null;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly connections = new Set<Connection>();
  private readonly dirty = new Set<Peer>();
  private flushScheduled = false;
  private rejectedConnections = 0;
  private refusalWindowStartMs = -Infinity;
  private refusalLines = 0;
  private refusalsSuppressed = 0;
  private receiveHandler: ReceiveHandler = () => {};
  private peerStateHandler: (peer: NodeId, connected: boolean) => void = () => {};
  private server: Server | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private closing = false;
  private closed = false;
  private closePromise: Promise<void> | null = null;

  constructor(options: TcpTransportOptions) {
    this.nodeId = options.nodeId;
    this.clusterId = options.clusterId;
    this.listenAddress = options.listen;
    this.prng = options.prng;
    this.clock = options.clock;
    this.settings = validateTransportSettings(options.settings);
    this.logger = options.logger ?? (() => {});
    this.tls = options.tls ?? null;
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : this.listenAddress.port;
  }

  /** Open sockets, greeted or not (for tests and diagnostics). */
  get connectionCount(): number {
    return this.connections.size;
  }

  async start(): Promise<void> {
    if (this.server || this.closing) return;
    const server = this.tls ? this.tlsServer(this.tls) : createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenAddress.port, this.listenAddress.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log(`listener error: ${err.message}`));
    this.server = server;
    this.log(`listening for peers on ${this.listenAddress.host}:${this.port} (${this.tls ? 'mutual TLS, node ids bound to certificates' : 'plaintext'})`);
    const s = this.settings;
    const periodMs = Math.max(5, Math.floor(Math.min(s.pingIntervalMs, s.connectTimeoutMs, s.idleTimeoutMs) / 2));
    this.ticker = setInterval(() => this.tick(), periodMs);
    this.ticker.unref();
    for (const peer of this.peers.values()) this.maybeDial(peer);
  }

  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    for (const [id, peer] of this.peers) {
      if (!peers.has(id) && !peer.learned) this.removePeer(peer);
    }
    for (const [id, address] of peers) {
      if (id === this.nodeId) continue;
      const existing = this.peers.get(id);
      if (existing) {
        existing.learned = false;
        if (existing.address.host !== address.host || existing.address.port !== address.port) {
          existing.address = address;
          if (this.dials(existing) && existing.conn) {
            this.log(`peer ${id} moved to ${address.host}:${address.port}; reconnecting`);
            existing.conn.socket.destroy();
          }
        }
        continue;
      }
      const peer = this.newPeer(id, address, false);
      if (this.server) this.maybeDial(peer);
    }
  }

  send(to: NodeId, payload: unknown, blobs?: readonly Uint8Array[]): boolean {
    const peer = this.peers.get(to);
    if (!peer || this.closing) return false;
    let frame: EncodedFrame;
    try {
      frame = encodeDataFrame(payload, blobs, this.settings.maxFrameBytes);
    } catch (err) {
      if (!isFlotillaError(err, 'TOO_LARGE')) throw err;
      peer.stats.dropped++;
      this.log(`frame to ${to} dropped: ${err.message}`);
      return false;
    }
    const ready = peer.conn?.ready === true;
    const maxFrames = ready ? this.settings.maxQueuedFrames : this.settings.maxQueuedFramesOffline;
    if (peer.queue.length >= maxFrames || peer.queuedBytes + frame.bytes > this.settings.maxQueuedBytes) {
      peer.stats.dropped++;
      return false;
    }
    peer.queue.push(frame);
    peer.queuedBytes += frame.bytes;
    this.markDirty(peer);
    return true;
  }

  onReceive(handler: ReceiveHandler): void {
    this.receiveHandler = handler;
  }

  onPeerState(handler: (peer: NodeId, connected: boolean) => void): void {
    this.peerStateHandler = handler;
  }

  stats(): TransportStats {
    const peers = new Map<NodeId, PeerStats>();
    for (const [id, p] of this.peers) {
      peers.set(id, { ...p.stats, connected: p.conn?.ready === true, queuedFrames: p.queue.length, queuedBytes: p.queuedBytes });
    }
    return { peers, rejectedConnections: this.rejectedConnections };
  }

  close(): Promise<void> {
    this.closePromise ??= this.drainAndClose();
    return this.closePromise;
  }

  destroy(): void {
    this.closing = true;
    if (this.closed) return;
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    for (const peer of [...this.peers.values()]) this.forget(peer);
    for (const conn of this.connections) conn.socket.destroy();
    this.connections.clear();
    this.dirty.clear();
    this.server?.close();
  }

  // ---- Closing ---------------------------------------------------------------------------------

  private async drainAndClose(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    const server = this.server;
    const serverClosed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const peer of this.peers.values()) {
      if (peer.reconnectTimer) clearTimeout(peer.reconnectTimer);
      peer.reconnectTimer = null;
    }
    // Connected peers get what is queued (the socket buffers it, bounded by maxQueuedBytes),
    // then an orderly end; connections still in their handshake are dropped.
    const ended: Promise<void>[] = [];
    for (const conn of [...this.connections]) {
      const peer = conn.peer;
      if (conn.ready && peer && peer.conn === conn) {
        this.flush(peer, true);
        ended.push(new Promise((resolve) => conn.socket.once('close', () => resolve())));
        conn.socket.end();
      } else {
        conn.socket.destroy();
      }
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.settings.closeDrainMs);
    });
    await Promise.race([Promise.all(ended), deadline]);
    clearTimeout(timer);
    this.destroy();
    await serverClosed;
  }

  // ---- Connections -----------------------------------------------------------------------------

  private newPeer(id: NodeId, address: PeerAddress, learned: boolean): Peer {
    const peer: Peer = {
      id, address, conn: null, queue: [], queuedBytes: 0, blocked: false, attempts: 0, reconnectTimer: null,
      everConnected: false, removed: false, learned,
      stats: {
        connected: false, queuedFrames: 0, queuedBytes: 0, framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0,
        dropped: 0, reconnects: 0, badFrames: 0, flushes: 0,
      },
    };
    this.peers.set(id, peer);
    return peer;
  }

  /** The higher id dials. */
  private dials(peer: Peer): boolean {
    return this.nodeId > peer.id;
  }

  private maybeDial(peer: Peer): void {
    if (this.closing || !this.server || peer.removed || !this.dials(peer) || peer.conn || peer.reconnectTimer) return;
    const tls = this.tls;
    const socket: Socket = tls
      ? tlsConnect({
        host: peer.address.host, port: peer.address.port,
        cert: tls.cert, key: tls.key, ca: tls.ca, rejectUnauthorized: true,
        // The identity of a peer is the node id its certificate names (checked below), not a host name.
        checkServerIdentity: () => undefined,
      })
      : createConnection({ host: peer.address.host, port: peer.address.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 });
    if (tls) socket.setNoDelay(true).setKeepAlive(true, 1000);
    const conn = this.track(socket, true, peer);
    peer.conn = conn;
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      if (tls) {
        const named = certificateNodeId((socket as TLSSocket).getPeerX509Certificate());
        const nodeId = 'nodeId' in named ? named.nodeId : null;
        const why = 'why' in named ? named.why : nodeId !== peer.id ? `its certificate names node ${String(nodeId)}, not ${peer.id}` : null;
        if (why !== null) {
          this.rejectedConnections++;
          const n = peer.attempts;
          if ((n & (n - 1)) === 0) this.log(`connection to ${peer.id} at ${peer.address.host}:${peer.address.port} refused: ${why}`);
          socket.destroy();
          return;
        }
        conn.certNodeId = nodeId;
      }
      this.write(conn, encodeFrame(FrameKind.Hello, this.hello(), this.settings.maxHelloBytes));
    });
    socket.on('error', (err) => {
      // Refused dials repeat while a peer is down: log the first and then at powers of two.
      const n = peer.attempts;
      if (conn.ready || (n & (n - 1)) === 0) this.log(`connection to ${peer.id} at ${peer.address.host}:${peer.address.port} failed: ${err.message}`);
    });
  }

  private accept(socket: Socket, certNodeId: number | null = null): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = this.track(socket, false, null);
    conn.certNodeId = certNodeId;
    socket.on('error', (err) => {
      if (conn.ready) this.log(`connection from ${conn.peer?.id} failed: ${err.message}`);
    });
  }

  /**
   * The mutual-TLS listener. It asks for a client certificate but verifies it itself (instead of
   * letting OpenSSL abort the handshake) so that the reason can be logged; a connection whose
   * certificate is missing, not from the cluster CA, or names no node is closed before anything
   * it sends is read. A handshake that fails (plaintext to this port) or does not finish within
   * connectTimeoutMs is logged and counted too.
   */
  private tlsServer(tls: PeerTls): Server {
    const server = createTlsServer({
      cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: true, rejectUnauthorized: false,
      handshakeTimeout: this.settings.connectTimeoutMs, noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000,
    }, (socket) => {
      const from = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      let why: string | null = null;
      let certNodeId: number | null = null;
      if (!socket.authorized) {
        const hasCert = Object.keys(socket.getPeerCertificate()).length > 0;
        why = hasCert ? `its certificate is not valid for this cluster (${String(socket.authorizationError)})` : 'it presented no certificate';
      } else {
        const named = certificateNodeId(socket.getPeerX509Certificate());
        if ('why' in named) why = named.why;
        else certNodeId = named.nodeId;
      }
      if (why !== null) {
        this.rejectedConnections++;
        this.logRefusal(`peer connection from ${from} refused: ${why}`);
        socket.on('error', () => {});
        socket.destroy();
        return;
      }
      this.accept(socket, certNodeId);
    });
    server.on('tlsClientError', (err, socket) => {
      this.rejectedConnections++;
      const code = (err as NodeJS.ErrnoException).code;
      const hint = code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_HTTP_REQUEST' ? ' (a plaintext peer? this node has peer TLS on)' : '';
      this.logRefusal(`peer TLS handshake from ${socket.remoteAddress ?? '?'} failed: ${code ?? ''} ${err.message}${hint}`);
    });
    return server;
  }

  /** Wires the socket's reading and closing; the same for both directions. */
  private track(socket: Socket, outbound: boolean, peer: Peer | null): Connection {
    const now = this.clock.nowMs();
    const conn: Connection = {
      socket, outbound, peer, ready: false, refused: false, openedMs: now, lastReceivedMs: now, lastSentMs: now,
      reader: new FrameReader(this.settings.maxHelloBytes), certNodeId: null, fresh: true,
    };
    this.connections.add(conn);
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('close', () => {
      this.connections.delete(conn);
      const p = conn.peer;
      if (p && p.conn === conn) this.lost(p, conn);
    });
    return conn;
  }

  private onData(conn: Connection, chunk: Buffer): void {
    if (conn.socket.destroyed || conn.refused) return;
    conn.lastReceivedMs = this.clock.nowMs();
    if (conn.fresh) {
      conn.fresh = false;
      // 0x16 0x03: a TLS record carrying a handshake; read as a frame length it would be ~369 MB.
      if (!this.tls && chunk.length >= 2 && chunk[0] === 0x16 && chunk[1] === 0x03) {
        this.badFrame(conn, 'a TLS handshake on a plaintext peer listener (the other node has peer TLS on, this one does not)');
        return;
      }
    }
    conn.reader.push(chunk);
    // Frame by frame: the hello raises the reader's limit for the frames behind it.
    for (;;) {
      // A handler may have closed or replaced this connection (or the whole transport).
      if (conn.socket.destroyed || conn.refused) return;
      let frame;
      let bytes: number;
      try {
        const content = conn.reader.next();
        if (!content) return;
        bytes = FRAME_HEADER_BYTES + content.length;
        frame = decodeFrame(content);
      } catch (err) {
        this.badFrame(conn, (err as Error).message);
        return;
      }
      if (!conn.ready) {
        if (frame.kind !== FrameKind.Hello) {
          this.badFrame(conn, `frame of kind ${frame.kind} before the handshake`);
          return;
        }
        if (conn.outbound) this.onHelloAnswer(conn, frame.body);
        else this.onHello(conn, frame.body);
        continue;
      }
      const peer = conn.peer!;
      if (frame.kind === FrameKind.Ping) continue;
      if (frame.kind === FrameKind.Hello) {
        this.badFrame(conn, 'a second hello');
        return;
      }
      peer.stats.framesReceived++;
      peer.stats.bytesReceived += bytes;
      // The handler (the Raft host) deals with its own failures; one escaping here is a bug: let
      // it end the process loudly rather than be mistaken for a network fault.
      this.receiveHandler(peer.id, frame.body, frame.blobs ?? NO_BLOBS);
    }
  }

  /** Acceptor: the dialer's hello. */
  private onHello(conn: Connection, body: unknown): void {
    const hello = asHello(body);
    let why = this.checkHello(hello);
    let peer: Peer | undefined;
    if (!why && hello) {
      peer = this.peers.get(hello.nodeId);
      if (hello.nodeId === this.nodeId) why = `node ${hello.nodeId} has this node's own id`;
      else if (hello.nodeId < this.nodeId) why = `node ${hello.nodeId} has the lower id and must accept, not dial (the higher id dials)`;
      else if (this.tls && conn.certNodeId !== hello.nodeId) why = `certificate names node ${String(conn.certNodeId)}, HELLO says ${hello.nodeId}`;
      else if (!peer) peer = this.newPeer(hello.nodeId, { host: conn.socket.remoteAddress ?? '', port: 0 }, true);
    }
    if (why || !peer) {
      this.rejectedConnections++;
      this.logRefusal(`inbound connection from ${String(hello?.nodeId ?? 'an unknown node')} refused: ${why ?? 'malformed hello'}`);
      conn.refused = true;
      this.write(conn, encodeFrame(FrameKind.Hello, { ...this.hello(), reject: why ?? 'malformed hello' }, this.settings.maxHelloBytes));
      conn.socket.end();
      conn.socket.destroySoon();
      return;
    }
    const old = peer.conn;
    if (old && old !== conn) {
      this.log(`a new connection from ${peer.id} replaces the old one`);
      // Detach first so the old socket's close does not count as losing the peer.
      old.peer = null;
      peer.conn = null;
      old.socket.destroy();
    }
    conn.peer = peer;
    this.write(conn, encodeFrame(FrameKind.Hello, this.hello(), this.settings.maxHelloBytes));
    this.ready(peer, conn);
  }

  /** Dialer: the acceptor's answer. */
  private onHelloAnswer(conn: Connection, body: unknown): void {
    const peer = conn.peer!;
    const hello = asHello(body);
    let why = hello?.reject !== undefined ? `refused by the peer: ${hello.reject}` : this.checkHello(hello);
    if (!why && hello && hello.nodeId !== peer.id) why = `the node at ${peer.address.host}:${peer.address.port} is ${hello.nodeId}, not ${peer.id}`;
    if (why) {
      this.rejectedConnections++;
      this.log(`connection to ${peer.id} closed: ${why}`);
      conn.socket.destroy();
      return;
    }
    this.ready(peer, conn);
  }

  private hello(): Hello {
    return { protocolVersion: PROTOCOL_VERSION, clusterId: this.clusterId, nodeId: this.nodeId };
  }

  /** Why the hello is unacceptable (version, cluster), or null. */
  private checkHello(hello: Hello | null): string | null {
    if (!hello) return 'malformed hello';
    if (hello.protocolVersion !== PROTOCOL_VERSION) return `protocol version ${hello.protocolVersion} (this node speaks ${PROTOCOL_VERSION})`;
    if (hello.clusterId !== this.clusterId) return `cluster id "${hello.clusterId}" is not "${this.clusterId}"`;
    return null;
  }

  private ready(peer: Peer, conn: Connection): void {
    conn.ready = true;
    conn.reader.maxFrameBytes = this.settings.maxFrameBytes;
    peer.conn = conn;
    peer.blocked = false;
    peer.attempts = 0;
    if (peer.everConnected) peer.stats.reconnects++;
    peer.everConnected = true;
    conn.socket.on('drain', () => {
      if (peer.conn !== conn) return;
      peer.blocked = false;
      this.markDirty(peer);
    });
    this.markDirty(peer);
    this.peerStateHandler(peer.id, true);
  }

  private lost(peer: Peer, conn: Connection): void {
    peer.conn = null;
    peer.blocked = false;
    if (conn.ready) {
      this.log(`connection with ${peer.id} lost`);
      // What waits now waits for a new connection: keep only what the offline bound allows.
      const excess = peer.queue.length - this.settings.maxQueuedFramesOffline;
      if (excess > 0) {
        for (const f of peer.queue.splice(0, excess)) peer.queuedBytes -= f.bytes;
        peer.stats.dropped += excess;
      }
      this.peerStateHandler(peer.id, false);
    }
    if (peer.learned && !peer.removed) {
      this.forget(peer);
      return;
    }
    if (this.closing || peer.removed || !this.dials(peer)) return;
    const delayMs = reconnectDelayMs(peer.attempts, this.settings, this.prng);
    peer.attempts++;
    peer.reconnectTimer = setTimeout(() => {
      peer.reconnectTimer = null;
      this.maybeDial(peer);
    }, delayMs);
  }

  private badFrame(conn: Connection, why: string): void {
    const peer = conn.peer;
    if (peer && conn.ready) peer.stats.badFrames++;
    else this.rejectedConnections++;
    this.log(`closing the connection ${conn.outbound ? 'to' : 'from'} ${peer ? String(peer.id) : 'an unidentified node'}: ${why}`);
    conn.socket.destroy();
  }

  private removePeer(peer: Peer): void {
    const wasConnected = peer.conn?.ready === true;
    this.forget(peer);
    if (wasConnected) this.peerStateHandler(peer.id, false);
  }

  private forget(peer: Peer): void {
    peer.removed = true;
    if (peer.reconnectTimer) clearTimeout(peer.reconnectTimer);
    peer.reconnectTimer = null;
    const conn = peer.conn;
    peer.conn = null;
    if (conn) {
      conn.peer = null;
      conn.socket.destroy();
    }
    peer.queue = [];
    peer.queuedBytes = 0;
    this.dirty.delete(peer);
    this.peers.delete(peer.id);
  }

  /** One coarse timer for every connection: handshake deadline, pings, dead-peer detection. */
  private tick(): void {
    const now = this.clock.nowMs();
    const s = this.settings;
    for (const conn of this.connections) {
      if (conn.socket.destroyed) continue;
      if (conn.refused) {
        // The refused peer did not close its end in time.
        if (now - conn.openedMs > s.connectTimeoutMs) conn.socket.destroy();
        continue;
      }
      if (!conn.ready) {
        if (now - conn.openedMs > s.connectTimeoutMs) {
          if (!conn.outbound) this.rejectedConnections++;
          this.log(`connection ${conn.outbound ? `to ${conn.peer?.id}` : 'from an unidentified node'} not greeted within ${s.connectTimeoutMs} ms; closing`);
          conn.socket.destroy();
        }
        continue;
      }
      if (now - conn.lastReceivedMs > s.idleTimeoutMs) {
        this.log(`nothing received from ${conn.peer?.id} for ${Math.round(now - conn.lastReceivedMs)} ms; closing the connection`);
        conn.socket.destroy();
        continue;
      }
      if (now - conn.lastSentMs >= s.pingIntervalMs && conn.socket.writableLength === 0) {
        this.write(conn, encodeFrame(FrameKind.Ping, null, s.maxFrameBytes));
      }
    }
  }

  // ---- Writing ---------------------------------------------------------------------------------

  private write(conn: Connection, frame: Buffer): boolean {
    conn.lastSentMs = this.clock.nowMs();
    return conn.socket.write(frame);
  }

  private markDirty(peer: Peer): void {
    if (peer.blocked || peer.conn?.ready !== true || peer.queue.length === 0) return;
    this.dirty.add(peer);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const peers = [...this.dirty];
      this.dirty.clear();
      for (const p of peers) this.flush(p, false);
    });
  }

  /** Everything queued for the peer in one corked write (one writev of every frame's parts: no copy). */
  private flush(peer: Peer, evenIfBlocked: boolean): void {
    const conn = peer.conn;
    if (!conn || !conn.ready || (peer.blocked && !evenIfBlocked) || peer.queue.length === 0 || conn.socket.destroyed) return;
    const frames = peer.queue;
    const bytes = peer.queuedBytes;
    peer.queue = [];
    peer.queuedBytes = 0;
    peer.stats.framesSent += frames.length;
    peer.stats.bytesSent += bytes;
    peer.stats.flushes++;
    conn.lastSentMs = this.clock.nowMs();
    const socket = conn.socket;
    let ok = true;
    socket.cork();
    for (const frame of frames) for (const part of frame.parts) ok = socket.write(part);
    socket.uncork();
    if (!ok) peer.blocked = true;
  }

  private log(line: string): void {
    this.logger(`transport ${this.nodeId}: ${line}`);
  }

  /**
   * Refused inbound connections are logged at most REFUSAL_LINES_PER_WINDOW per window (a
   * misconfigured or hostile peer reconnecting in a loop cannot flood the log); the rest are
   * counted in rejectedConnections and summed up in one line when the next window starts.
   */
  private logRefusal(line: string): void {
    const now = this.clock.nowMs();
    if (now - this.refusalWindowStartMs >= REFUSAL_WINDOW_MS) {
      if (this.refusalsSuppressed > 0) this.log(`${this.refusalsSuppressed} more refused connections were not logged`);
      this.refusalWindowStartMs = now;
      this.refusalLines = 0;
      this.refusalsSuppressed = 0;
    }
    if (this.refusalLines < REFUSAL_LINES_PER_WINDOW) {
      this.refusalLines++;
      this.log(line);
    } else {
      this.refusalsSuppressed++;
    }
  }
}

function asHello(body: unknown): Hello | null {
  if (typeof body !== 'object' || body === null) return null;
  const h = body as Record<string, unknown>;
  if (typeof h.protocolVersion !== 'number' || typeof h.clusterId !== 'string' || typeof h.nodeId !== 'number') return null;
  if (h.reject !== undefined && typeof h.reject !== 'string') return null;
  return h as unknown as Hello;
}
