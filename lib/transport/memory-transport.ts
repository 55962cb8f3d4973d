/**
 * The in-memory twin of TcpTransport, for tests and simulations of the I/O layers. A MemoryNetwork
 * connects MemoryTransports by node id; it passes the same conformance suite as TCP.
 *
 * Same semantics where they matter:
 * - frames are encoded and decoded with the same codec, so a payload must survive msgpackr exactly
 *   as on the wire, and maxFrameBytes is enforced on send (drop) and on receipt (badFrames);
 * - bounded queues per peer with the same settings; `send` never blocks, returns false on a drop;
 * - delivery in order per link, always on a later turn of the event loop (never inside `send`),
 *   everything queued in one turn delivered in the next;
 * - a link is up when both transports run, each lists the other as a peer, and it is not cut;
 *   `onPeerState` reports changes (on a later turn);
 * - `close()` delivers what is queued, then leaves the network; `destroy()` drops it.
 *
 * Faults for tests: `cut(a, b)` (both ways, or one way), `isolate(a)`, `heal(a, b)` / `heal()`.
 * A frame sent across a cut link is lost and counted in the sender's `dropped`, as a frame written
 * into a connection that then dies is lost.
 */
import { assert } from '../base/assert.js';
import { isFlotillaError } from '../base/errors.js';
import type { NodeId } from '../raft/core/types.js';
import {
  FRAME_HEADER_BYTES, FrameKind, type PeerAddress, type PeerStats, type Transport, type TransportSettings, type TransportStats,
  NO_BLOBS, type ReceiveHandler, decodeFrame, encodeDataFrame, validateTransportSettings,
} from './transport.js';

type MutablePeerStats = { -readonly [K in keyof PeerStats]: PeerStats[K] };

interface MemoryPeer {
  readonly id: NodeId;
  queue: Buffer[];
  queuedBytes: number;
  /** Last state reported to onPeerState. */
  reported: boolean;
  everConnected: boolean;
  readonly stats: MutablePeerStats;
}

export class MemoryNetwork {
  private readonly transports = new Map<NodeId, MemoryTransport>();
  private readonly cuts = new Set<string>();
  private refreshScheduled = false;

  /** A new transport for `nodeId` (a closed one with the same id is replaced: a restart). */
  transport(nodeId: NodeId, settings?: Readonly<Record<string, unknown>>): MemoryTransport {
    const existing = this.transports.get(nodeId);
    assert(!existing || !existing.running, () => `node ${nodeId} already has a running transport on this network`);
    const t = new MemoryTransport(this, nodeId, validateTransportSettings(settings));
    this.transports.set(nodeId, t);
    return t;
  }

  /** Cuts the link between a and b, both ways (or only a -> b with oneWay). */
  cut(a: NodeId, b: NodeId, oneWay = false): void {
    this.cuts.add(`${a}->${b}`);
    if (!oneWay) this.cuts.add(`${b}->${a}`);
    this.scheduleRefresh();
  }

  /** Cuts every link of `a`. */
  isolate(a: NodeId): void {
    for (const id of this.transports.keys()) if (id !== a) this.cut(a, id);
  }

  /** Heals the link between a and b (both ways), or every link when called without arguments. */
  heal(a?: NodeId, b?: NodeId): void {
    if (a === undefined || b === undefined) {
      this.cuts.clear();
    } else {
      this.cuts.delete(`${a}->${b}`);
      this.cuts.delete(`${b}->${a}`);
    }
    this.scheduleRefresh();
  }

  /** @internal Frames from `from` reach `to`. */
  canDeliver(from: NodeId, to: NodeId): boolean {
    const t = this.transports.get(to);
    return t !== undefined && t.running && t.knows(from) && !this.cuts.has(`${from}->${to}`);
  }

  /** @internal Both directions work: what TCP would call a connection. */
  connected(a: NodeId, b: NodeId): boolean {
    const t = this.transports.get(a);
    return t !== undefined && t.running && t.knows(b) && this.canDeliver(a, b) && this.canDeliver(b, a);
  }

  /** @internal */
  deliver(from: NodeId, to: NodeId, frame: Buffer): void {
    this.transports.get(to)!.receive(from, frame);
  }

  /** @internal */
  leave(t: MemoryTransport): void {
    if (this.transports.get(t.nodeId) === t) this.transports.delete(t.nodeId);
    this.scheduleRefresh();
  }

  /** @internal Peer-state changes are reported on a later turn, as TCP's would be. */
  scheduleRefresh(): void {
    if (this.refreshScheduled) return;
    this.refreshScheduled = true;
    setImmediate(() => {
      this.refreshScheduled = false;
      for (const t of [...this.transports.values()]) t.refreshLinks();
    });
  }
}

export class MemoryTransport implements Transport {
  readonly nodeId: NodeId;
  readonly settings: TransportSettings;
  running = false;
  private closing = false;
  private readonly network: MemoryNetwork;
  private readonly peers = new Map<NodeId, MemoryPeer>();
  private readonly dirty = new Set<MemoryPeer>();
  private flushScheduled = false;
  private receiveHandler: ReceiveHandler = () => {};
  private peerStateHandler: (peer: NodeId, connected: boolean) => void = () => {};

  constructor(network: MemoryNetwork, nodeId: NodeId, settings: TransportSettings) {
    this.network = network;
    this.nodeId = nodeId;
    this.settings = settings;
  }

  async start(): Promise<void> {
    if (this.closing) return;
    this.running = true;
    this.network.scheduleRefresh();
  }

  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    for (const [id, peer] of [...this.peers]) {
      if (peers.has(id)) continue;
      this.peers.delete(id);
      this.dirty.delete(peer);
      if (peer.reported) this.peerStateHandler(id, false);
    }
    for (const id of peers.keys()) {
      if (id === this.nodeId || this.peers.has(id)) continue;
      this.peers.set(id, {
        id, queue: [], queuedBytes: 0, reported: false, everConnected: false,
        stats: {
          connected: false, queuedFrames: 0, queuedBytes: 0, framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0,
          dropped: 0, reconnects: 0, badFrames: 0, flushes: 0,
        },
      });
    }
    this.network.scheduleRefresh();
  }

  send(to: NodeId, payload: unknown, blobs?: readonly Uint8Array[]): boolean {
    const peer = this.peers.get(to);
    if (!peer || !this.running || this.closing) return false;
    let frame: Buffer;
    try {
      // One buffer per frame here (the twin copies; TCP writes the parts without a copy).
      const encoded = encodeDataFrame(payload, blobs, this.settings.maxFrameBytes);
      frame = encoded.parts.length === 1 ? encoded.parts[0]! : Buffer.concat(encoded.parts, encoded.bytes);
    } catch (err) {
      if (!isFlotillaError(err, 'TOO_LARGE')) throw err;
      peer.stats.dropped++;
      return false;
    }
    const maxFrames = this.network.connected(this.nodeId, to) ? this.settings.maxQueuedFrames : this.settings.maxQueuedFramesOffline;
    if (peer.queue.length >= maxFrames || peer.queuedBytes + frame.length > this.settings.maxQueuedBytes) {
      peer.stats.dropped++;
      return false;
    }
    peer.queue.push(frame);
    peer.queuedBytes += frame.length;
    this.dirty.add(peer);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** @internal */
  knows(id: NodeId): boolean {
    return this.peers.has(id);
  }

  /** @internal A frame from `from` (the network checked the link). */
  receive(from: NodeId, frame: Buffer): void {
    const peer = this.peers.get(from);
    if (!peer || !this.running) return;
    const content = frame.subarray(FRAME_HEADER_BYTES);
    if (content.length > this.settings.maxFrameBytes) {
      // TCP would close the connection; here the frame is simply refused.
      peer.stats.badFrames++;
      return;
    }
    const decoded = decodeFrame(content);
    if (decoded.kind !== FrameKind.Data) return;
    peer.stats.framesReceived++;
    peer.stats.bytesReceived += frame.length;
    this.receiveHandler(from, decoded.body, decoded.blobs ?? NO_BLOBS);
  }

  /** @internal Reports link changes to onPeerState. */
  refreshLinks(): void {
    if (!this.running) return;
    for (const peer of this.peers.values()) {
      const up = this.network.connected(this.nodeId, peer.id);
      if (up === peer.reported) continue;
      peer.reported = up;
      if (up) {
        if (peer.everConnected) peer.stats.reconnects++;
        peer.everConnected = true;
      }
      this.peerStateHandler(peer.id, up);
    }
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
      peers.set(id, { ...p.stats, connected: this.running && this.network.connected(this.nodeId, id), queuedFrames: p.queue.length, queuedBytes: p.queuedBytes });
    }
    return { peers, rejectedConnections: 0 };
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // One turn: the pending flush (scheduled before this) delivers what is queued.
    if (this.dirty.size > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    this.destroy();
  }

  destroy(): void {
    this.closing = true;
    this.running = false;
    for (const peer of this.peers.values()) {
      peer.queue = [];
      peer.queuedBytes = 0;
    }
    this.dirty.clear();
    this.network.leave(this);
  }

  /** Everything queued in the last turn, in order, per peer. */
  private flush(): void {
    this.flushScheduled = false;
    const peers = [...this.dirty];
    this.dirty.clear();
    if (!this.running) return;
    for (const peer of peers) {
      const frames = peer.queue;
      peer.queue = [];
      peer.queuedBytes = 0;
      if (frames.length > 0) peer.stats.flushes++;
      for (const frame of frames) {
        // The receiver's handler may have cut the link or closed a transport: check each frame.
        if (this.running && this.peers.get(peer.id) === peer && this.network.canDeliver(this.nodeId, peer.id)) {
          peer.stats.framesSent++;
          peer.stats.bytesSent += frame.length;
          this.network.deliver(this.nodeId, peer.id, frame);
        } else {
          peer.stats.dropped++;
        }
      }
    }
  }
}
