/**
 * KafkaServer: the client listener. It owns a net.Server and, per connection, the framing, the
 * in-order response queue and the bounds; it hands each request frame to dispatch.ts.
 *
 * Per connection:
 * - Frames are `int32 size | request`. A size below 0 or above `maxRequestBytes` (Kafka's
 *   socket.request.max.bytes) closes the connection before anything is allocated for it; a frame
 *   is assembled only once all its bytes have arrived, so a lying size costs at most the bytes the
 *   peer really sent (bounded by that maximum).
 * - Many requests are in flight at once (clients pipeline: librdkafka up to 1,000,000 by default,
 *   KafkaJS one per API at a time), answered strictly in request order. acks=0 Produce takes a
 *   slot but writes nothing, and the responses after it keep their order.
 * - Reading pauses while `maxInFlightRequestsPerConnection` requests are unanswered, or while the
 *   in-flight bytes (request frames being handled, responses waiting for their turn, responses
 *   not yet taken by the socket) exceed `maxInFlightBytesPerConnection`; a single request larger
 *   than that bound is still admitted when nothing else is in flight.
 * - A malformed or truncated request, an unknown API key, an unsupported version (except
 *   ApiVersions, answered per KIP-511) close that connection only, after the responses to the
 *   requests before it. Nothing a client sends can throw out of the server.
 * - An idle connection (no bytes either way, nothing in flight) is closed after `idleTimeoutMs`.
 *
 * Lifecycle: `start()` listens; `address()`; `close()` stops accepting, stops reading, lets the
 * requests in flight finish and their responses go out (up to `closeTimeoutMs`), then ends every
 * connection (destroying the ones still busy).
 */
import { type Server, type Socket, createServer } from 'node:net';
import type { BrokerApi } from '../broker/api.js';
import type { GroupCoordinatorApi } from '../group/api.js';
import type { TxnCoordinatorApi } from '../txn/api.js';
import { FlotillaError } from '../base/errors.js';
import { type SettingsOf, validateSettings } from '../base/settings.js';
import { type DispatchEnv, type FrameOutcome, dispatch, parseFrame } from './dispatch.js';
import type { AuditLog } from './audit.js';
import type { Authorizer } from '../auth/authorizer.js';
import { ServerMetrics } from './metrics.js';
import { type Session, normaliseAddress, plaintextSession } from './session.js';
import { ThrottledLog } from './throttled-log.js';

const MiB = 1024 * 1024;

export const kafkaServerSettings = {
  maxRequestBytes: {
    type: 'int', default: 100 * MiB, min: 64, max: 2 ** 31 - 1, unit: 'bytes',
    doc: 'largest request frame accepted (Kafka socket.request.max.bytes); a larger size closes the connection',
  },
  maxResponseBytes: {
    type: 'int', default: 256 * MiB, min: 1024, max: 2 ** 31 - 1, unit: 'bytes',
    doc: 'largest response frame the server will encode (fetch sizes are bounded well below it by the broker)',
  },
  maxInFlightRequestsPerConnection: {
    type: 'int', default: 256, min: 1, max: 1_000_000,
    doc: 'unanswered requests per connection before the server stops reading from it',
  },
  maxInFlightBytesPerConnection: {
    type: 'int', default: 64 * MiB, min: 1024, max: 2 ** 31 - 1, unit: 'bytes',
    doc: 'request and response bytes held per connection before the server stops reading from it',
  },
  maxConnections: {
    type: 'int', default: 10_000, min: 1, max: 1_000_000,
    doc: 'open client connections; more are refused at accept',
  },
  idleTimeoutMs: {
    type: 'int', default: 600_000, min: 0, max: 2 ** 31 - 1, unit: 'ms',
    doc: 'close a connection idle this long (Kafka connections.max.idle.ms); 0: never',
  },
  closeTimeoutMs: {
    type: 'int', default: 5_000, min: 0, max: 600_000, unit: 'ms',
    doc: 'how long close() waits for requests in flight before destroying their connections',
  },
} as const;

export type KafkaServerSettings = SettingsOf<typeof kafkaServerSettings>;

export interface KafkaServerOptions {
  readonly broker: BrokerApi;
  /** The node's group coordinator; without it the group APIs answer COORDINATOR_NOT_AVAILABLE. */
  readonly groups?: GroupCoordinatorApi;
  /** The node's transaction coordinator; without it the transactional APIs answer COORDINATOR_NOT_AVAILABLE. */
  readonly txn?: TxnCoordinatorApi;
  /** Address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port to listen on (default 0: any free port; see address()). */
  readonly port?: number;
  /** Overrides of `kafkaServerSettings`, validated once (INVALID_CONFIG names the setting). */
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
  /**
   * Sees every request frame (without its size prefix) as it is read and every response frame
   * (with its prefix) as it is written: golden-byte capture in tests, protocol tracing.
   */
  readonly onFrame?: (direction: 'request' | 'response', frame: Buffer) => void;
  /** Failed logins and authorization denials (audit.ts); absent: not logged. */
  readonly audit?: AuditLog;
  /** The ACL authorizer (lib/auth); absent: authorization is off. */
  readonly authorizer?: Authorizer;
}

export class KafkaServer {
  readonly settings: KafkaServerSettings;
  readonly metrics = new ServerMetrics();
  private readonly options: KafkaServerOptions;
  private readonly env: DispatchEnv;
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private state: 'new' | 'listening' | 'closing' | 'closed' = 'new';
  private closing: Promise<void> | null = null;

  constructor(options: KafkaServerOptions) {
    this.options = options;
    this.settings = validateSettings(kafkaServerSettings, options.settings, 'server');
    this.env = {
      broker: options.broker,
      groups: options.groups,
      txn: options.txn,
      metrics: this.metrics,
      responseBytesMax: this.settings.maxResponseBytes,
      logger: options.logger,
      protocolLog: options.logger ? new ThrottledLog(options.logger) : undefined,
      audit: options.audit,
      authorizer: options.authorizer,
    };
    // Half-open: a client that shuts down its sending side still gets the answers in flight.
    this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => this.options.logger?.(`kafka server: listener error: ${err.message}`));
  }

  /** Listens on host:port; resolves once listening. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new FlotillaError('INVALID_REQUEST', `kafka server cannot start: it is ${this.state}`);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.state = 'listening';
  }

  /** The address listened on (after start()). */
  address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new FlotillaError('NOT_READY', 'kafka server is not listening');
    return { host: a.address, port: a.port };
  }

  /** Open connections (for tests and status). */
  connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, stops reading, waits (up to closeTimeoutMs) for the requests in flight to be
   * answered, then ends every connection. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      const wasListening = this.state === 'listening';
      this.state = 'closing';
      const serverClosed = wasListening
        ? new Promise<void>((resolve) => this.server.close(() => resolve()))
        : Promise.resolve();
      const drained = Promise.all([...this.connections].map((c) => c.drainAndEnd()));
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => { timer = setTimeout(resolve, this.settings.closeTimeoutMs); })]);
      clearTimeout(timer);
      for (const c of this.connections) c.destroy();
      await serverClosed;
      this.state = 'closed';
    })();
    return this.closing;
  }

  private accept(socket: Socket): void {
    if (this.state !== 'listening' || this.connections.size >= this.settings.maxConnections) {
      this.metrics.connectionsRejected++;
      socket.destroy();
      return;
    }
    this.metrics.connectionsAccepted++;
    this.metrics.connectionsActive++;
    const conn = new Connection(socket, this.settings, this.env, this.options, () => {
      this.connections.delete(conn);
      this.metrics.connectionsActive--;
    });
    this.connections.add(conn);
  }
}

interface Slot {
  /** Bytes this request holds against the in-flight bound (its frame, then its response). */
  bytes: number;
  outcome: FrameOutcome | null;
}

/** One client connection: framing, the ordered response queue, and the bounds. */
class Connection {
  private readonly socket: Socket;
  /** "/address", as Kafka shows a member's host. */
  private readonly clientHost: string;
  /** The listener, address and principal of this connection. */
  private readonly session: Session;
  private readonly settings: KafkaServerSettings;
  private readonly env: DispatchEnv;
  private readonly options: KafkaServerOptions;
  private readonly onClosed: () => void;
  private readonly peer: string;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Requests not yet answered, in request order. */
  private readonly slots: Slot[] = [];
  private inFlightBytes = 0;
  /** No more frames are read (a bad frame, or the server closing); end once `slots` is empty. */
  private stopping = false;
  private closed = false;
  private readonly closedPromise: Promise<void>;

  constructor(socket: Socket, settings: KafkaServerSettings, env: DispatchEnv, options: KafkaServerOptions, onClosed: () => void) {
    this.socket = socket;
    this.clientHost = socket.remoteAddress === undefined ? '' : `/${socket.remoteAddress}`;
    this.session = plaintextSession(normaliseAddress(socket.remoteAddress));
    this.settings = settings;
    this.env = env;
    this.options = options;
    this.onClosed = onClosed;
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.closedPromise = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.pump());
    socket.on('error', (err) => this.options.logger?.(`kafka server: connection ${this.peer}: ${err.message}`));
    socket.on('end', () => {
      // The client half-closed: answer what is in flight, then close our side.
      this.stopping = true;
      this.endIfIdle();
    });
    socket.once('close', () => {
      this.closed = true;
      this.chunks = [];
      this.buffered = 0;
      this.onClosed();
    });
    if (settings.idleTimeoutMs > 0) {
      socket.setTimeout(settings.idleTimeoutMs);
      socket.on('timeout', () => {
        if (this.slots.length > 0) return; // busy (a long poll), not idle
        this.env.metrics.connectionsClosedIdle++;
        socket.destroy();
      });
    }
  }

  /** Stops reading, answers what is in flight, then ends; resolves once the socket is closed. */
  drainAndEnd(): Promise<void> {
    this.stopping = true;
    this.socket.pause();
    this.endIfIdle();
    return this.closedPromise;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.env.metrics.bytesIn += chunk.length;
    if (this.stopping || this.closed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.pump();
  }

  private blocked(): boolean {
    return this.slots.length >= this.settings.maxInFlightRequestsPerConnection
      || this.inFlightBytes + this.socket.writableLength >= this.settings.maxInFlightBytesPerConnection;
  }

  /** Takes every complete frame the bounds allow, then pauses or resumes reading. */
  private pump(): void {
    while (!this.stopping && !this.closed && this.buffered >= 4) {
      const size = this.peekSize();
      if (size < 0 || size > this.settings.maxRequestBytes) {
        this.protocolClose(`frame size ${size} is outside 0..${this.settings.maxRequestBytes} (maxRequestBytes)`);
        return;
      }
      if (this.buffered < 4 + size) break;
      const held = this.inFlightBytes + this.socket.writableLength;
      if (this.slots.length >= this.settings.maxInFlightRequestsPerConnection
        || (this.slots.length > 0 && held + size > this.settings.maxInFlightBytesPerConnection)) break;
      const frame = this.take(4 + size).subarray(4);
      this.handleFrame(frame);
    }
    if (this.closed) return;
    if (this.stopping || this.blocked() || this.fullFrameWaiting()) this.socket.pause();
    else this.socket.resume();
  }

  /** A complete frame is buffered but the bounds hold it back. */
  private fullFrameWaiting(): boolean {
    return this.buffered >= 4 && this.buffered >= 4 + this.peekSize();
  }

  private peekSize(): number {
    let first = this.chunks[0] as Buffer;
    while (first.length < 4) {
      const second = this.chunks[1] as Buffer;
      first = Buffer.concat([first, second]);
      this.chunks.splice(0, 2, first);
    }
    return first.readInt32BE(0);
  }

  /** Removes and returns the first `n` buffered bytes (a view when one chunk holds them). */
  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0] as Buffer;
        const k = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, k);
        filled += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }

  private handleFrame(frame: Buffer): void {
    this.options.onFrame?.('request', frame);
    const slot: Slot = { bytes: frame.length, outcome: null };
    this.slots.push(slot);
    this.inFlightBytes += slot.bytes;
    const parsed = parseFrame(frame, this.env.metrics);
    if (parsed.kind !== 'request') {
      if (parsed.kind === 'close') this.stopping = true;
      this.settle(slot, parsed);
      return;
    }
    void dispatch(parsed, this.env, this.clientHost, this.session).then((outcome) => this.settle(slot, outcome));
  }

  private settle(slot: Slot, outcome: FrameOutcome): void {
    this.inFlightBytes -= slot.bytes;
    slot.bytes = outcome.kind === 'response' ? outcome.frame.length : 0;
    this.inFlightBytes += slot.bytes;
    slot.outcome = outcome;
    if (this.closed) return;
    this.flush();
    if (!this.closed) this.pump();
  }

  /** Writes the answered requests at the head of the queue, in order. */
  private flush(): void {
    while (!this.closed) {
      const head = this.slots[0];
      if (head === undefined || head.outcome === null) break;
      this.slots.shift();
      this.inFlightBytes -= head.bytes;
      const outcome = head.outcome;
      if (outcome.kind === 'response') {
        this.env.metrics.bytesOut += outcome.frame.length;
        this.options.onFrame?.('response', outcome.frame);
        this.socket.write(outcome.frame);
      } else if (outcome.kind === 'close') {
        this.protocolClose(outcome.reason);
        return;
      }
    }
    this.endIfIdle();
  }

  private endIfIdle(): void {
    if (this.stopping && this.slots.length === 0 && !this.closed && !this.socket.writableEnded) {
      this.socket.end(() => this.socket.destroy());
    }
  }

  /** Ends the connection after what is already written; later answers are dropped. */
  private protocolClose(reason: string): void {
    this.env.metrics.connectionsClosedForProtocol++;
    this.options.logger?.(`kafka server: closing connection ${this.peer}: ${reason}`);
    this.stopping = true;
    this.slots.length = 0;
    this.inFlightBytes = 0;
    this.chunks = [];
    this.buffered = 0;
    if (!this.socket.writableEnded) this.socket.end(() => this.socket.destroy());
    this.socket.pause();
  }
}
