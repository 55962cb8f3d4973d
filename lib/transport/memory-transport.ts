/**
 * The in-memory twin of TcpTransport, for tests and simulations of the I/O layers: a
 * MemoryNetwork connects MemoryTransports by node id. Same semantics where they matter: frames
 * are encoded and decoded (so payloads must survive msgpackr, as on the wire), delivered in order
 * per link on a later turn of the event loop, bounded per peer by the same settings, dropped for
 * unknown peers or while a link is cut (`network.cut(a, b)`, `network.heal()`).
 */
import type { NodeId } from '../raft/core/types.js';
import {
  type PeerAddress, type PeerStats, type Transport, type TransportSettings, decodeBody, encodeFrame,
  validateTransportSettings,
} from './transport.js';

export class MemoryNetwork {
  private readonly transports = new Map<NodeId, MemoryTransport>();
  private readonly cuts = new Set<string>();

  transport(nodeId: NodeId, settings?: Readonly<Record<string, unknown>>): MemoryTransport {
    const t = new MemoryTransport(this, nodeId, validateTransportSettings(settings));
    this.transports.set(nodeId, t);
    return t;
  }

  /** Cuts the link between a and b, both ways (or one way with oneWay). */
  cut(a: NodeId, b: NodeId, oneWay = false): void {
    this.cuts.add(`${a}->${b}`);
    if (!oneWay) this.cuts.add(`${b}->${a}`);
  }

  heal(): void {
    this.cuts.clear();
  }

  /** @internal */
  linkUp(from: NodeId, to: NodeId): boolean {
    const t = this.transports.get(to);
    return t !== undefined && t.running && !this.cuts.has(`${from}->${to}`);
  }

  /** @internal */
  deliver(from: NodeId, to: NodeId, frame: Buffer): void {
    if (!this.linkUp(from, to)) return;
    this.transports.get(to)!.receive(from, frame);
  }

  /** @internal */
  remove(t: MemoryTransport): void {
    if (this.transports.get(t.nodeId) === t) this.transports.delete(t.nodeId);
  }
}

export class MemoryTransport implements Transport {
  readonly nodeId: NodeId;
  readonly settings: TransportSettings;
  running = false;
  private readonly network: MemoryNetwork;
  private peers = new Map<NodeId, PeerAddress>();
  private readonly queues = new Map<NodeId, { frames: Buffer[]; bytes: number; scheduled: boolean }>();
  private readonly peerStats = new Map<NodeId, PeerStats>();
  private receiveHandler: (from: NodeId, payload: unknown) => void = () => {};
  private peerStateHandler: (peer: NodeId, connected: boolean) => void = () => {};

  constructor(network: MemoryNetwork, nodeId: NodeId, settings: TransportSettings) {
    this.network = network;
    this.nodeId = nodeId;
    this.settings = settings;
  }

  async start(): Promise<void> {
    this.running = true;
  }

  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    this.peers = new Map([...peers].filter(([id]) => id !== this.nodeId));
    for (const id of [...this.queues.keys()]) if (!this.peers.has(id)) this.queues.delete(id);
    for (const id of [...this.peerStats.keys()]) {
      if (!this.peers.has(id)) {
        this.peerStats.delete(id);
        this.peerStateHandler(id, false);
      }
    }
    for (const id of this.peers.keys()) {
      if (!this.peerStats.has(id)) {
        this.peerStats.set(id, { connected: true, queuedFrames: 0, queuedBytes: 0, framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0, dropped: 0, reconnects: 0, badFrames: 0 });
        this.peerStateHandler(id, true);
      }
    }
  }

  send(to: NodeId, payload: unknown): boolean {
    const stats = this.peerStats.get(to);
    if (!this.running || !this.peers.has(to) || !stats) return false;
    let frame: Buffer;
    try {
      frame = encodeFrame(payload, this.settings.maxFrameBytes);
    } catch {
      stats.dropped++;
      return false;
    }
    let q = this.queues.get(to);
    if (!q) {
      q = { frames: [], bytes: 0, scheduled: false };
      this.queues.set(to, q);
    }
    if (q.frames.length >= this.settings.maxQueuedFrames || q.bytes + frame.length > this.settings.maxQueuedBytes) {
      stats.dropped++;
      return false;
    }
    q.frames.push(frame);
    q.bytes += frame.length;
    if (!q.scheduled) {
      q.scheduled = true;
      const queue = q;
      setImmediate(() => {
        queue.scheduled = false;
        const frames = queue.frames;
        queue.frames = [];
        queue.bytes = 0;
        for (const f of frames) {
          stats.framesSent++;
          stats.bytesSent += f.length;
          this.network.deliver(this.nodeId, to, f);
        }
      });
    }
    return true;
  }

  /** @internal */
  receive(from: NodeId, frame: Buffer): void {
    const stats = this.peerStats.get(from);
    if (!this.running || !stats) return;
    stats.framesReceived++;
    stats.bytesReceived += frame.length;
    this.receiveHandler(from, decodeBody(frame.subarray(4)));
  }

  onReceive(handler: (from: NodeId, payload: unknown) => void): void {
    this.receiveHandler = handler;
  }

  onPeerState(handler: (peer: NodeId, connected: boolean) => void): void {
    this.peerStateHandler = handler;
  }

  stats(): Map<NodeId, PeerStats> {
    const out = new Map<NodeId, PeerStats>();
    for (const [id, s] of this.peerStats) {
      const q = this.queues.get(id);
      out.set(id, { ...s, connected: this.network.linkUp(this.nodeId, id), queuedFrames: q?.frames.length ?? 0, queuedBytes: q?.bytes ?? 0 });
    }
    return out;
  }

  async close(): Promise<void> {
    this.running = false;
    this.queues.clear();
    this.network.remove(this);
  }
}
