/**
 * The node-to-node transport: its interface, settings, frame codec and reconnect back-off.
 *
 * A transport carries opaque payloads (any msgpack-encodable value; the Raft host sends
 * `{ g: [[groupId, Message[]], ...] }`) between the nodes of one cluster, one connection per peer
 * pair, with bounded queues: `send` never blocks and never grows a queue past its limit — it
 * drops, counts the drop and returns false, and Raft retries.
 *
 * Frame format (both directions, TCP and the memory twin alike; protocol version 2):
 *
 *   u32 BE length | u8 kind | body            length = 1 + body bytes, at most maxFrameBytes
 *
 *   kind 1 HELLO  body = msgpack { protocolVersion, clusterId, nodeId, reject? }
 *   kind 2 DATA   body = msgpack payload (what `send` was given, without blobs)
 *   kind 3 PING   body empty (keeps an idle connection provably alive)
 *   kind 4 BLOBS  body = u32 BE n | msgpack payload (n bytes) | u32 BE count | count x u32 BE size
 *                        | the blobs' bytes back to back (what `send` was given, with blobs)
 *
 * The kind byte keeps transport control traffic out of the payload's namespace: a payload can be
 * any value, and a ping never reaches the receive handler.
 *
 * Blobs are raw bytes sent beside the payload (the Raft host passes the entries' data as blobs):
 * they are never copied on the way out (the frame leaves as a list of buffers, header first, in
 * one writev) and arrive as views onto the received frame, which is itself assembled with one copy
 * of each byte at most (none when the frame lies within one socket read).
 *
 * Encoding: msgpackr with plain maps (no records, no extension types), so the bytes never depend
 * on what was sent before and any msgpack implementation can read them. Numbers stay numbers
 * (64-bit integers decode as numbers), and binary fields (Uint8Array, Buffer) decode as Buffers
 * that are views onto the received frame (zero copy: copy one if you keep it for long and the
 * frame was large).
 */
import { C1, Packr } from 'msgpackr';
import { FlotillaError } from '../base/errors.js';
import type { Prng } from '../base/prng.js';
import { type SettingsOf, validateSettings } from '../base/settings.js';
import type { NodeId } from '../raft/core/types.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Counters for one peer. Frames and bytes count whole frames, header included. */
export interface PeerStats {
  /** The link is up: handshake done (TCP) or not cut (memory). */
  readonly connected: boolean;
  readonly queuedFrames: number;
  readonly queuedBytes: number;
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly framesReceived: number;
  readonly bytesReceived: number;
  /** Frames `send` refused (queue full, frame too large) or that a cut link lost. */
  readonly dropped: number;
  /** Connections to this peer established after the first one. */
  readonly reconnects: number;
  /** Malformed or oversized frames received from this peer (each closed the connection). */
  readonly badFrames: number;
  /** Socket writes: frames queued within one event-loop turn leave in one write. */
  readonly flushes: number;
}

export interface TransportStats {
  readonly peers: ReadonlyMap<NodeId, PeerStats>;
  /** Inbound connections closed before they identified a peer (bad hello, garbage, timeout). */
  readonly rejectedConnections: number;
}

export interface Transport {
  readonly nodeId: NodeId;
  /** Starts listening (TCP: on this node's peer address) and connecting to known peers. */
  start(): Promise<void>;
  /** Adds, removes or changes peers at run time; an entry for this node itself is ignored. */
  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void;
  /**
   * Queues a frame for `to`, delivered in order on a later turn. False when it was dropped:
   * unknown peer, queue full (frames or bytes), frame over maxFrameBytes, or closing. `blobs`
   * travel beside the payload as raw bytes, never copied on the way out: they must not change
   * until the frame is written (the caller hands over immutable buffers).
   */
  send(to: NodeId, payload: unknown, blobs?: readonly Uint8Array[]): boolean;
  /** `blobs` are the ones sent with the payload (empty when none), views onto the received frame. */
  onReceive(handler: ReceiveHandler): void;
  onPeerState(handler: (peer: NodeId, connected: boolean) => void): void;
  stats(): TransportStats;
  /** Writes what is queued for connected peers (for at most closeDrainMs), then closes. */
  close(): Promise<void>;
  /** Closes at once, dropping whatever is queued. */
  destroy(): void;
}

/** What a transport hands up: the payload and the blobs sent with it (views onto the frame). */
export type ReceiveHandler = (from: NodeId, payload: unknown, blobs: readonly Buffer[]) => void;

export const transportSettings = {
  maxFrameBytes: { type: 'int', default: 64 * 1024 * 1024, min: 1024, max: 1024 * 1024 * 1024, unit: 'bytes', doc: 'largest frame (kind byte + body) sent or accepted between nodes; a larger one is dropped on send and closes the connection on receipt' },
  maxHelloBytes: { type: 'int', default: 4096, min: 64, max: 1024 * 1024, unit: 'bytes', doc: 'largest frame accepted before the handshake completes (an unidentified connection cannot make us buffer more)' },
  maxQueuedFrames: { type: 'int', default: 4096, min: 1, max: 1_000_000, unit: 'frames', doc: 'frames queued for one connected peer before send() drops' },
  maxQueuedBytes: { type: 'int', default: 256 * 1024 * 1024, min: 1024, max: 2 ** 40, unit: 'bytes', doc: 'bytes queued for one peer before send() drops' },
  maxQueuedFramesOffline: { type: 'int', default: 64, min: 1, max: 1_000_000, unit: 'frames', doc: 'frames queued for a peer that is not connected before send() drops (they would be stale on reconnect; Raft resends what matters)' },
  reconnectMinMs: { type: 'int', default: 50, min: 1, max: 60_000, unit: 'ms', doc: 'first reconnect back-off (doubles per failed attempt, with jitter)' },
  reconnectMaxMs: { type: 'int', default: 2_000, min: 1, max: 600_000, unit: 'ms', doc: 'longest reconnect back-off' },
  connectTimeoutMs: { type: 'int', default: 3_000, min: 10, max: 600_000, unit: 'ms', doc: 'a connection not established and greeted both ways by then is abandoned' },
  pingIntervalMs: { type: 'int', default: 1_000, min: 10, max: 600_000, unit: 'ms', doc: 'a connection that sent nothing for this long sends a ping frame' },
  idleTimeoutMs: { type: 'int', default: 10_000, min: 50, max: 3_600_000, unit: 'ms', doc: 'a connection that received nothing (not even a ping) for this long is deemed dead and closed' },
  closeDrainMs: { type: 'int', default: 500, min: 0, max: 60_000, unit: 'ms', doc: 'how long close() waits for queued frames to be written' },
} as const;

export type TransportSettings = SettingsOf<typeof transportSettings>;

export function validateTransportSettings(input?: Readonly<Record<string, unknown>>): TransportSettings {
  return validateSettings(transportSettings, input, 'transport', (s, fail) => {
    if (s.reconnectMaxMs < s.reconnectMinMs) fail('reconnectMaxMs', `must be at least reconnectMinMs (${s.reconnectMinMs})`);
    if (s.maxHelloBytes > s.maxFrameBytes) fail('maxHelloBytes', `must be at most maxFrameBytes (${s.maxFrameBytes})`);
    if (s.maxQueuedBytes < s.maxFrameBytes + FRAME_HEADER_BYTES) {
      fail('maxQueuedBytes', `must hold at least one frame of maxFrameBytes (${s.maxFrameBytes + FRAME_HEADER_BYTES})`);
    }
    if (s.maxQueuedFramesOffline > s.maxQueuedFrames) fail('maxQueuedFramesOffline', `must be at most maxQueuedFrames (${s.maxQueuedFrames})`);
    if (s.idleTimeoutMs < 2 * s.pingIntervalMs) fail('idleTimeoutMs', `must be at least twice pingIntervalMs (${2 * s.pingIntervalMs}), or a quiet peer looks dead`);
  });
}

/** 2: the BLOBS frame kind. A node of another version is refused at the handshake, with the reason. */
export const PROTOCOL_VERSION = 2;

/** The 4-byte length prefix. */
export const FRAME_HEADER_BYTES = 4;

export const FrameKind = {
  Hello: 1,
  Data: 2,
  Ping: 3,
  Blobs: 4,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export interface Hello {
  readonly protocolVersion: number;
  readonly clusterId: string;
  readonly nodeId: NodeId;
  /** Set by an acceptor that refuses the connection: the reason, logged by the dialer. */
  readonly reject?: string;
}

/** A decoded frame (a BLOBS frame decodes as Data with its blobs). */
export type Frame =
  | { readonly kind: typeof FrameKind.Hello; readonly body: unknown }
  | { readonly kind: typeof FrameKind.Data; readonly body: unknown; readonly blobs?: readonly Buffer[] }
  | { readonly kind: typeof FrameKind.Ping };

/** A frame ready to write: its parts (header first, then the blobs as given), `bytes` in all. */
export interface EncodedFrame {
  readonly parts: readonly Buffer[];
  readonly bytes: number;
}

export const NO_BLOBS: readonly Buffer[] = Object.freeze([]);

/** One codec for every frame: plain maps (no records), so bytes never depend on history. */
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** Encodes one frame; throws TOO_LARGE when its length would exceed `maxFrameBytes`. */
export function encodeFrame(kind: FrameKind, payload: unknown, maxFrameBytes: number): Buffer {
  if (kind === FrameKind.Ping) return PING_FRAME;
  const body = packr.pack(payload);
  const length = 1 + body.length;
  if (length > maxFrameBytes) {
    throw new FlotillaError('TOO_LARGE', `frame of ${length} bytes exceeds transport.maxFrameBytes (${maxFrameBytes})`, { bytes: length, limit: maxFrameBytes });
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  frame.writeUInt32BE(length, 0);
  frame[FRAME_HEADER_BYTES] = kind;
  body.copy(frame, FRAME_HEADER_BYTES + 1);
  return frame;
}

const PING_FRAME = Buffer.from([0, 0, 0, 1, FrameKind.Ping]);

/**
 * Encodes a data frame: DATA when there are no blobs, else BLOBS, whose blobs are referenced, not
 * copied. Throws TOO_LARGE when its length would exceed `maxFrameBytes`.
 */
export function encodeDataFrame(payload: unknown, blobs: readonly Uint8Array[] | undefined, maxFrameBytes: number): EncodedFrame {
  if (blobs === undefined || blobs.length === 0) {
    const frame = encodeFrame(FrameKind.Data, payload, maxFrameBytes);
    return { parts: [frame], bytes: frame.length };
  }
  const body = packr.pack(payload);
  let blobBytes = 0;
  for (const b of blobs) blobBytes += b.byteLength;
  const headerBytes = FRAME_HEADER_BYTES + 1 + 4 + body.length + 4 + 4 * blobs.length;
  const length = headerBytes - FRAME_HEADER_BYTES + blobBytes;
  if (length > maxFrameBytes) {
    throw new FlotillaError('TOO_LARGE', `frame of ${length} bytes exceeds transport.maxFrameBytes (${maxFrameBytes})`, { bytes: length, limit: maxFrameBytes });
  }
  const header = Buffer.allocUnsafe(headerBytes);
  header.writeUInt32BE(length, 0);
  header[FRAME_HEADER_BYTES] = FrameKind.Blobs;
  header.writeUInt32BE(body.length, FRAME_HEADER_BYTES + 1);
  body.copy(header, FRAME_HEADER_BYTES + 5);
  let at = FRAME_HEADER_BYTES + 5 + body.length;
  header.writeUInt32BE(blobs.length, at);
  at += 4;
  const parts: Buffer[] = [header];
  for (const b of blobs) {
    header.writeUInt32BE(b.byteLength, at);
    at += 4;
    if (b.byteLength > 0) parts.push(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  return { parts, bytes: headerBytes + blobBytes };
}

/**
 * Decodes a frame's content (what follows the length prefix). Throws CORRUPT on an unknown kind,
 * an undecodable body, or a ping with a body.
 */
export function decodeFrame(content: Buffer): Frame {
  const kind = content[0];
  if (kind === FrameKind.Ping) {
    if (content.length !== 1) throw new FlotillaError('CORRUPT', `ping frame with a ${content.length - 1}-byte body`);
    return { kind };
  }
  if (kind === FrameKind.Blobs) return decodeBlobsFrame(content);
  if (kind !== FrameKind.Hello && kind !== FrameKind.Data) throw new FlotillaError('CORRUPT', `unknown frame kind ${String(kind)}`);
  if (content.length < 2) throw new FlotillaError('CORRUPT', 'frame without a body');
  return { kind, body: unpackBody(content.subarray(1)) };
}

function unpackBody(bytes: Buffer): unknown {
  let body: unknown;
  try {
    body = packr.unpack(bytes);
  } catch (err) {
    throw new FlotillaError('CORRUPT', `undecodable frame body: ${(err as Error).message}`);
  }
  // msgpackr decodes the never-used byte 0xc1 to a marker instead of failing. A body that is
  // nothing but that is garbage; deeper in a payload the receiver's own shape checks catch it.
  if (body === C1) throw new FlotillaError('CORRUPT', 'undecodable frame body: 0xc1');
  return body;
}

/** A BLOBS frame's content: every length checked against what the frame holds. */
function decodeBlobsFrame(content: Buffer): Frame {
  const bad = (why: string): never => {
    throw new FlotillaError('CORRUPT', `blobs frame: ${why}`);
  };
  if (content.length < 1 + 4 + 1 + 4) bad(`${content.length} bytes are too few`);
  const bodyBytes = content.readUInt32BE(1);
  let at = 5 + bodyBytes;
  if (bodyBytes === 0 || at + 4 > content.length) bad(`a payload of ${bodyBytes} bytes does not fit`);
  const body = unpackBody(content.subarray(5, at));
  const count = content.readUInt32BE(at);
  at += 4;
  if (count === 0 || at + 4 * count > content.length) bad(`${count} blob sizes do not fit`);
  let data = at + 4 * count;
  const blobs: Buffer[] = new Array<Buffer>(count);
  for (let i = 0; i < count; i++) {
    const size = content.readUInt32BE(at + 4 * i);
    if (data + size > content.length) bad(`blob ${i} of ${size} bytes runs past the frame`);
    blobs[i] = content.subarray(data, data + size);
    data += size;
  }
  if (data !== content.length) bad(`${content.length - data} bytes after the last blob`);
  return { kind: FrameKind.Data, body, blobs };
}

/**
 * Splits a byte stream into frame contents (kind byte + body, without the length prefix).
 * `push` appends what the socket read; `next` returns one complete frame or null. The limit is
 * checked when a frame is taken, so a caller can raise it between frames (once the handshake is
 * done) even for frames that arrived in the same chunk as the hello. Throws FlotillaError CORRUPT
 * on a length of 0 or over `maxFrameBytes` as soon as the prefix is readable (the caller closes
 * the connection). A frame inside one chunk is a view onto it; a frame spread over several
 * chunks is assembled into one buffer of its declared length, copying each of its bytes once
 * (and none of the next frame's).
 */
export class FrameReader {
  maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private total = 0;
  /** The frame being assembled (its content) and how much of it is filled. */
  private partial: Buffer | null = null;
  private filled = 0;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held for frames not yet taken. */
  get bufferedBytes(): number {
    return this.total + this.filled;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  next(): Buffer | null {
    if (this.partial !== null) return this.fill();
    if (this.total < FRAME_HEADER_BYTES) return null;
    let head = this.chunks[0]!;
    if (head.length < FRAME_HEADER_BYTES) head = this.joinPrefix();
    const length = this.checkLength(head.readUInt32BE(0));
    const end = FRAME_HEADER_BYTES + length;
    if (head.length >= end) {
      const content = head.subarray(FRAME_HEADER_BYTES, end);
      if (head.length > end) this.chunks[0] = head.subarray(end);
      else this.chunks.shift();
      this.total -= end;
      return content;
    }
    // Spread over chunks: take the prefix, then copy the content in as it arrives.
    if (head.length > FRAME_HEADER_BYTES) this.chunks[0] = head.subarray(FRAME_HEADER_BYTES);
    else this.chunks.shift();
    this.total -= FRAME_HEADER_BYTES;
    this.partial = Buffer.allocUnsafe(length);
    this.filled = 0;
    return this.fill();
  }

  /** Every complete frame (for tests and simple readers). */
  drain(): Buffer[] {
    const out: Buffer[] = [];
    for (let c = this.next(); c; c = this.next()) out.push(c);
    return out;
  }

  /** Copies buffered bytes into the frame being assembled; returns it once complete. */
  private fill(): Buffer | null {
    const frame = this.partial!;
    while (this.filled < frame.length && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, frame.length - this.filled);
      c.copy(frame, this.filled, 0, k);
      this.filled += k;
      this.total -= k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    if (this.filled < frame.length) return null;
    this.partial = null;
    this.filled = 0;
    return frame;
  }

  /** Makes the first chunk hold the whole 4-byte prefix (copies at most 4 bytes per chunk). */
  private joinPrefix(): Buffer {
    let head = this.chunks[0]!;
    while (head.length < FRAME_HEADER_BYTES) {
      head = Buffer.concat([head, this.chunks[1]!]);
      this.chunks.splice(0, 2, head);
    }
    return head;
  }

  private checkLength(length: number): number {
    if (length === 0) throw new FlotillaError('CORRUPT', 'frame of length 0');
    if (length > this.maxFrameBytes) {
      throw new FlotillaError('CORRUPT', `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
    }
    return length;
  }
}

/**
 * The delay before reconnect attempt `attempt` (0 = the first after a loss): exponential from
 * reconnectMinMs, capped at reconnectMaxMs, with "equal jitter" — uniform in [base/2, base] — so
 * peers that lost each other at the same moment do not redial in lockstep, yet never retry much
 * sooner than the back-off intends.
 */
export function reconnectDelayMs(attempt: number, settings: Pick<TransportSettings, 'reconnectMinMs' | 'reconnectMaxMs'>, prng: Prng): number {
  const base = Math.min(settings.reconnectMaxMs, settings.reconnectMinMs * 2 ** Math.min(attempt, 30));
  return Math.max(1, Math.round(base / 2 + prng.next() * (base / 2)));
}
