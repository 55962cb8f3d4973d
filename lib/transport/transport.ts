/**
 * The node-to-node transport interface, its settings and its frame codec. A transport carries
 * opaque payloads (any msgpack-encodable value: the Raft host sends `{ g: [[group, messages]] }`)
 * between nodes of one cluster, one connection per peer pair, with bounded queues: `send` never
 * blocks and never grows a queue past its limit — it drops and returns false, and Raft retries.
 *
 * Frame format (both directions): u32 BE body length | msgpackr body. The first frame on a
 * connection, each way, is the hello `{ v: 1, cluster, node }`; a wrong cluster id, an unexpected
 * node id, a malformed body or a frame over `maxFrameBytes` closes that connection only.
 */
import { Packr } from 'msgpackr';
import { FlotillaError } from '../base/errors.js';
import { type SettingsOf, validateSettings } from '../base/settings.js';
import type { NodeId } from '../raft/core/types.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface PeerStats {
  connected: boolean;
  queuedFrames: number;
  queuedBytes: number;
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  dropped: number;
  reconnects: number;
  badFrames: number;
}

export interface Transport {
  readonly nodeId: NodeId;
  start(): Promise<void>;
  /** Adds, removes or changes peers at run time. */
  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void;
  /** Queues a frame for `to`; false when dropped (unknown peer, queue full, closed). */
  send(to: NodeId, payload: unknown): boolean;
  onReceive(handler: (from: NodeId, payload: unknown) => void): void;
  onPeerState(handler: (peer: NodeId, connected: boolean) => void): void;
  stats(): Map<NodeId, PeerStats>;
  /** Flushes what is queued (briefly), then closes. */
  close(): Promise<void>;
}

export const transportSettings = {
  maxFrameBytes: { type: 'int', default: 64 * 1024 * 1024, min: 1024, max: 1024 * 1024 * 1024, unit: 'bytes', doc: 'largest frame sent or accepted between nodes' },
  maxQueuedFrames: { type: 'int', default: 4096, min: 1, max: 1_000_000, unit: 'frames', doc: 'frames queued for one peer before send() drops' },
  maxQueuedBytes: { type: 'int', default: 128 * 1024 * 1024, min: 1024, max: 2 ** 40, unit: 'bytes', doc: 'bytes queued for one peer before send() drops' },
  reconnectMinMs: { type: 'int', default: 50, min: 1, max: 60_000, unit: 'ms', doc: 'first reconnect back-off (doubles, with jitter)' },
  reconnectMaxMs: { type: 'int', default: 2_000, min: 1, max: 600_000, unit: 'ms', doc: 'longest reconnect back-off' },
  connectTimeoutMs: { type: 'int', default: 3_000, min: 10, max: 600_000, unit: 'ms', doc: 'a connection not established and greeted by then is abandoned' },
  idleTimeoutMs: { type: 'int', default: 30_000, min: 100, max: 3_600_000, unit: 'ms', doc: 'a connection silent this long is closed (the Raft host sends heartbeats far more often)' },
  closeDrainMs: { type: 'int', default: 500, min: 0, max: 60_000, unit: 'ms', doc: 'how long close() waits for queued frames to be written' },
} as const;

export type TransportSettings = SettingsOf<typeof transportSettings>;

export function validateTransportSettings(input?: Readonly<Record<string, unknown>>): TransportSettings {
  return validateSettings(transportSettings, input, 'transport', (s, fail) => {
    if (s.reconnectMaxMs < s.reconnectMinMs) fail('reconnectMaxMs', `must be at least reconnectMinMs (${s.reconnectMinMs})`);
  });
}

export const PROTOCOL_VERSION = 1;

export interface Hello {
  readonly v: number;
  readonly cluster: string;
  readonly node: NodeId;
}

/** One codec for every frame: plain maps (no records), so bytes never depend on history. */
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export function encodeFrame(payload: unknown, maxFrameBytes: number): Buffer {
  const body = packr.pack(payload);
  if (body.length > maxFrameBytes) {
    throw new FlotillaError('BACKPRESSURE', `frame of ${body.length} bytes exceeds transport.maxFrameBytes (${maxFrameBytes})`);
  }
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

export function decodeBody(body: Buffer): unknown {
  return packr.unpack(body);
}

/**
 * Splits a byte stream into frame bodies. Throws FlotillaError CORRUPT on a frame over the limit
 * (the caller closes the connection).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private total = 0;
  /** Length (with header) of the frame being assembled, or -1 before its header is read. */
  private needed = -1;
  private readonly maxFrameBytes: number;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Returns the complete frame bodies the chunk finishes. Each byte is copied at most once. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.total += chunk.length;
    if (this.needed < 0) this.readHeader();
    if (this.needed < 0 || this.total < this.needed) return [];
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.total);
    const out: Buffer[] = [];
    let at = 0;
    for (;;) {
      if (buf.length - at < 4) break;
      const length = this.checkLength(buf.readUInt32BE(at));
      if (buf.length - at < 4 + length) break;
      out.push(buf.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
    const rest = buf.subarray(at);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.total = rest.length;
    this.needed = -1;
    this.readHeader();
    return out;
  }

  private readHeader(): void {
    if (this.total < 4) return;
    const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : Buffer.concat(this.chunks, this.total);
    this.needed = 4 + this.checkLength(head.readUInt32BE(0));
  }

  private checkLength(length: number): number {
    if (length > this.maxFrameBytes) {
      throw new FlotillaError('CORRUPT', `frame of ${length} bytes exceeds transport.maxFrameBytes (${this.maxFrameBytes})`);
    }
    return length;
  }
}
