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
 * Listeners (`options.listener`, absent: PLAINTEXT named "PLAINTEXT"): each connection's Session
 * carries the listener's name and protocol. A TLS listener (SSL, SASL_SSL; tls.ts) serves over
 * node:tls and admits a connection only once its handshake is done and its client certificate,
 * if any, is acceptable (one audit line per refusal); the certificate files can change under a
 * running server (`TlsCertificates.reload` -> `setSecureContext`). A plaintext listener whose
 * first bytes are a TLS record header (0x16 0x03: a client configured for SSL) closes at once with
 * "TLS handshake on a plaintext listener" instead of reading them as a 369 MB frame size.
 *
 * Lifecycle: `start()` listens; `address()`; `close()` stops accepting, stops reading, lets the
 * requests in flight finish and their responses go out (up to `closeTimeoutMs`), then ends every
 * connection (destroying the ones still busy).
 */
import { type Server, type Socket, createServer } from 'node:net';
import { type TLSSocket, createServer as createTlsServer } from 'node:tls';
import type { BrokerApi } from '../broker/api.js';
import type { GroupCoordinatorApi } from '../group/api.js';
import type { TxnCoordinatorApi } from '../txn/api.js';
import { FlotillaError } from '../base/errors.js';
import { type SettingsOf, validateSettings } from '../base/settings.js';
import { type DispatchEnv, type FrameOutcome, type Throttle, dispatch, parseFrame } from './dispatch.js';
import type { QuotaManager } from '../quota/manager.js';
import type { AuditLog } from './audit.js';
import type { Authorizer } from '../auth/authorizer.js';
import { ServerMetrics } from './metrics.js';
import { ANONYMOUS, type KafkaPrincipal, type SecurityProtocol, type Session, normaliseAddress, usesSasl, usesTls } from './session.js';
import { AuditBudget } from './audit.js';
import { type ListenerTlsOptions, clientCertificateVerdict, secureContextOptions } from './tls.js';
import { ThrottledLog } from './throttled-log.js';
// the SASL state machine of a connection (sasl/authenticator.ts)
import { randomBytes } from 'node:crypto';
import { scramCredential } from '../metadata/scram.js';
import { type SaslFrameResult, SaslAuthenticator } from './sasl/authenticator.js';
import { type SaslServerOptions, type SaslSettings, saslMechanismNames, saslSettings } from './sasl/options.js';
import { PlainVerifier } from './sasl/plain.js';
import type { ScramLookup } from './sasl/scram.js';

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
  maxConnectionsPerIp: {
    type: 'int', default: 10_000, min: 1, max: 1_000_000,
    doc: 'open connections from one client address; more are refused at accept (max.connections.per.ip)',
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
  /** Counters shared by the node's listeners (one set per node); absent: this server's own. */
  readonly metrics?: ServerMetrics;
  /** The listener this server is (name as in --listeners); absent: PLAINTEXT named "PLAINTEXT". */
  readonly listener?: {
    readonly name: string;
    readonly securityProtocol: SecurityProtocol;
    /** Required for SSL and SASL_SSL. */
    readonly tls?: ListenerTlsOptions;
  };
  /** SASL settings of a SASL_PLAINTEXT / SASL_SSL listener (sasl/options.ts); ignored on the others. */
  readonly sasl?: SaslServerOptions;
  /** The ACL authorizer (lib/auth); absent: authorization is off. */
  readonly authorizer?: Authorizer;
  /** The node's client quotas (lib/quota, issue 19), shared by its listeners; absent: none enforced. */
  readonly quotas?: QuotaManager;
}

/** What the connections of a SASL listener share (sasl/authenticator.ts). */
interface SaslListener {
  readonly settings: SaslSettings;
  readonly mechanisms: readonly string[];
  readonly lookup: ScramLookup;
  readonly secret: Uint8Array;
  readonly verifier: PlainVerifier;
  readonly now: () => number;
  /** Connections that have not logged in yet. */
  unauthenticated: number;
}

export class KafkaServer {
  readonly settings: KafkaServerSettings;
  readonly metrics: ServerMetrics;
  private readonly options: KafkaServerOptions;
  private readonly env: DispatchEnv;
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  /** Open connections per client address (maxConnectionsPerIp). */
  private readonly perIp = new Map<string, number>();
  private readonly sasl: SaslListener | null;
  private state: 'new' | 'listening' | 'closing' | 'closed' = 'new';
  private closing: Promise<void> | null = null;
  private readonly listenerName: string;
  private readonly securityProtocol: SecurityProtocol;
  private unsubscribeTls: (() => void) | null = null;
  /** Refused handshakes have no connection of their own: their audit lines share this listener's budget. */
  private readonly refusalBudget = new AuditBudget();

  constructor(options: KafkaServerOptions) {
    this.options = options;
    this.metrics = options.metrics ?? new ServerMetrics();
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
      quotas: options.quotas,
    };
    this.listenerName = options.listener?.name ?? 'PLAINTEXT';
    this.securityProtocol = options.listener?.securityProtocol ?? 'PLAINTEXT';
    this.sasl = usesSasl(this.securityProtocol) ? saslListener(options) : null;
    const tls = options.listener?.tls;
    if (usesTls(this.securityProtocol) !== (tls !== undefined)) {
      throw new FlotillaError('INVALID_CONFIG', `listener ${this.listenerName} is ${this.securityProtocol}: ${tls === undefined ? 'it needs TLS options' : 'TLS options do not apply'}`);
    }
    if (tls === undefined) {
      // Half-open: a client that shuts down its sending side still gets the answers in flight.
      this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket, ANONYMOUS));
    } else {
      const server = createTlsServer({
        ...secureContextOptions(tls.certificates.current()),
        minVersion: tls.minVersion,
        requestCert: tls.clientAuth !== 'none',
        // Verified below, so that a refusal has a reason to log (Node gives none when it refuses).
        rejectUnauthorized: false,
        handshakeTimeout: tls.handshakeTimeoutMs ?? 10_000,
        noDelay: true,
        allowHalfOpen: true,
      }, (socket) => this.acceptTls(socket, tls));
      server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
        this.refuse(socket, `TLS handshake failed: ${err.code ?? err.message}`);
      });
      this.unsubscribeTls = tls.certificates.onChange((m) => server.setSecureContext(secureContextOptions(m)));
      // Sockets still in their handshake are not connections yet: bound them at the TCP level too.
      server.maxConnections = this.settings.maxConnections;
      this.server = server;
    }
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
    const quotas = this.options.quotas;
    if (quotas !== undefined) {
      // Quotas set or removed apply within a window even when no request asks (releasing the muted).
      this.quotaTimer = setInterval(() => quotas.refresh(), quotas.settings.windowSizeMs);
      this.quotaTimer.unref();
    }
  }

  private quotaTimer: ReturnType<typeof setInterval> | null = null;

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

  /** The sessions of the open connections (for tests and status). */
  sessions(): Session[] {
    return [...this.connections].map((c) => c.session);
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
      this.unsubscribeTls?.();
      if (this.quotaTimer !== null) clearInterval(this.quotaTimer);
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

  /** A TLS connection whose handshake is done: admitted with its principal, or refused. */
  private acceptTls(socket: TLSSocket, tls: ListenerTlsOptions): void {
    const verdict = clientCertificateVerdict(socket, tls.clientAuth, tls.principalRules);
    if (!verdict.ok) {
      this.refuse(socket, verdict.reason);
      return;
    }
    this.accept(socket, verdict.principal);
  }

  /** A failed TLS handshake or client certificate: one audit line, one log line, the socket destroyed. */
  private refuse(socket: Socket, reason: string): void {
    this.metrics.connectionsRejected++;
    const address = normaliseAddress(socket.remoteAddress);
    this.options.logger?.(`kafka server: listener ${this.listenerName}: refusing ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}: ${reason}`);
    this.options.audit?.authenticationFailed({
      listener: this.listenerName, securityProtocol: this.securityProtocol, clientAddress: address, mechanism: 'TLS', reason,
    }, this.refusalBudget);
    socket.destroy();
  }

  private accept(socket: Socket, principal: KafkaPrincipal): void {
    const ip = normaliseAddress(socket.remoteAddress);
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.state !== 'listening' || this.connections.size >= this.settings.maxConnections || fromIp >= this.settings.maxConnectionsPerIp
      || (this.sasl !== null && this.sasl.unauthenticated >= this.sasl.settings.maxUnauthenticatedConnections)) {
      this.metrics.connectionsRejected++;
      socket.destroy();
      return;
    }
    // connection_creation_rate (KIP-612): over the ip's rate, the connection is closed after the
    // throttle, unread (the client backs off instead of reconnecting at once).
    const connectionThrottle = this.options.quotas?.recordConnection(ip) ?? 0;
    if (connectionThrottle > 0) {
      this.metrics.connectionsRejected++;
      socket.pause();
      socket.on('error', () => undefined);
      const t = setTimeout(() => socket.destroy(), Math.min(connectionThrottle, this.settings.closeTimeoutMs));
      t.unref();
      socket.once('close', () => clearTimeout(t));
      return;
    }
    this.perIp.set(ip, fromIp + 1);
    this.metrics.connectionsAccepted++;
    this.metrics.connectionsActive++;
    const session: Session = {
      listener: this.listenerName, securityProtocol: this.securityProtocol, clientAddress: normaliseAddress(socket.remoteAddress),
      principal, saslMechanism: null, sessionExpiresAtMs: null, auditBudget: new AuditBudget(),
    };
    const conn = new Connection(socket, session, this.settings, this.env, this.options, this.sasl, () => {
      this.connections.delete(conn);
      this.metrics.connectionsActive--;
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.perIp.set(ip, left);
      else this.perIp.delete(ip);
    });
    this.connections.add(conn);
  }
}

interface Slot {
  /** Bytes this request holds against the in-flight bound (its frame, then its response). */
  bytes: number;
  outcome: FrameOutcome | null;
  /** A failed login: close once this slot's answer is written (sasl/authenticator.ts). */
  closeAfter?: string;
}

/** The shared state of a SASL listener, from its options. */
function saslListener(options: KafkaServerOptions): SaslListener {
  const o = options.sasl ?? {};
  const lookup: ScramLookup = o.credentials ?? ((user, mechanism) => scramCredential(options.broker.image(), user, mechanism));
  const mechanisms = o.mechanisms ?? ['SCRAM-SHA-256', 'SCRAM-SHA-512'];
  if (mechanisms.length === 0 || mechanisms.some((m) => !(saslMechanismNames as readonly string[]).includes(m))) {
    throw new FlotillaError('INVALID_CONFIG', `listener ${options.listener?.name ?? '?'}: SASL mechanisms must be some of ${saslMechanismNames.join(', ')}, got [${mechanisms.join(', ')}]`);
  }
  return {
    settings: validateSettings(saslSettings, o.settings, 'sasl'),
    mechanisms: [...mechanisms],
    lookup,
    secret: o.secret ?? randomBytes(32),
    verifier: o.plainVerifier ?? new PlainVerifier(),
    now: o.now ?? Date.now,
    unauthenticated: 0,
  };
}

/** One client connection: framing, the ordered response queue, and the bounds. */
class Connection {
  private readonly socket: Socket;
  /** "/address", as Kafka shows a member's host. */
  private readonly clientHost: string;
  /** The listener, address and principal of this connection. */
  readonly session: Session;
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
  /** No frame read yet: the first bytes are checked for a TLS ClientHello on a plaintext listener. */
  private firstBytes = true;
  private readonly closedPromise: Promise<void>;
  /** The SASL login of a SASL listener's connection; null elsewhere. */
  private readonly sasl: SaslAuthenticator | null = null;
  /** Quota throttle (KIP-219): no frame is read until this time (ms, the quota manager's clock), 0: not muted. */
  private mutedUntil = 0;
  private muteTimer: ReturnType<typeof setTimeout> | null = null;
  private muteThrottle: Throttle | null = null;
  /**
   * Once throttled, this connection's requests are taken one at a time, as Kafka's SocketServer
   * takes every connection's: a pipelining client (librdkafka, kafka-python) would otherwise have
   * its next requests read and counted before the throttle of the first one applies, and run over
   * its quota by what it pipelines. Cleared when the quota is removed.
   */
  private quotaSerial = false;

  constructor(socket: Socket, session: Session, settings: KafkaServerSettings, env: DispatchEnv, options: KafkaServerOptions, sasl: SaslListener | null, onClosed: () => void) {
    this.socket = socket;
    this.clientHost = socket.remoteAddress === undefined ? '' : `/${socket.remoteAddress}`;
    this.session = session;
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
      this.saslClosed?.();
      if (this.muteTimer !== null) clearTimeout(this.muteTimer);
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
    if (sasl !== null) this.sasl = this.startSasl(sasl);
  }

  /** Runs when the socket closes: the SASL deadline and the unauthenticated count. */
  private saslClosed: (() => void) | null = null;

  /** The login of this connection: its deadline, its count among the unauthenticated. */
  private startSasl(shared: SaslListener): SaslAuthenticator {
    shared.unauthenticated++;
    let counted = true;
    const uncount = (): void => {
      if (counted) shared.unauthenticated--;
      counted = false;
    };
    const auth = new SaslAuthenticator({
      session: this.session, settings: shared.settings, mechanisms: shared.mechanisms, lookup: shared.lookup, secret: shared.secret,
      verifier: shared.verifier, audit: this.env.audit, now: shared.now,
      onAuthenticated: () => {
        uncount();
        clearTimeout(deadline);
      },
    });
    const deadline = setTimeout(() => {
      auth.auditFailure(`SASL login not completed in ${shared.settings.saslHandshakeTimeoutMs} ms`);
      this.options.logger?.(`kafka server: closing connection ${this.peer}: SASL login not completed in time`);
      this.socket.destroy();
    }, shared.settings.saslHandshakeTimeoutMs);
    deadline.unref?.();
    this.saslClosed = () => {
      uncount();
      clearTimeout(deadline);
    };
    return auth;
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
    if (this.firstBytes && this.buffered >= 2 && !this.stopping && !this.closed) {
      this.firstBytes = false;
      const head = this.chunks[0]!.length >= 2 ? this.chunks[0]! : Buffer.concat(this.chunks);
      if (head[0] === 0x16 && head[1] === 0x03 && !usesTls(this.session.securityProtocol)) {
        this.env.audit?.authenticationFailed({
          listener: this.session.listener, securityProtocol: this.session.securityProtocol, clientAddress: this.session.clientAddress,
          mechanism: null, reason: 'TLS handshake on a plaintext listener',
        }, this.session.auditBudget);
        this.protocolClose(`TLS handshake on a plaintext listener ${this.session.listener} (the client is configured for SSL)`);
        return;
      }
    }
    while (!this.stopping && !this.closed && this.mutedUntil === 0 && this.buffered >= 4) {
      const size = this.peekSize();
      if (size < 0 || size > this.settings.maxRequestBytes) {
        this.protocolClose(`frame size ${size} is outside 0..${this.settings.maxRequestBytes} (maxRequestBytes)`);
        return;
      }
      // Before login: a small cap (closed unread) and one frame at a time (the state machine's order).
      const saslCap = this.sasl?.frameCap() ?? null;
      if (saslCap !== null && size > saslCap) {
        this.sasl?.auditFailure(`a ${size}-byte frame before login exceeds saslMaxReceiveBytes ${saslCap}`);
        this.protocolClose(`frame size ${size} before SASL login exceeds saslMaxReceiveBytes ${saslCap}`);
        return;
      }
      if (this.sasl?.preAuthentication === true && this.slots.length > 0) break;
      if (this.quotaSerial && this.slots.length > 0) break;
      if (this.buffered < 4 + size) break;
      const held = this.inFlightBytes + this.socket.writableLength;
      if (this.slots.length >= this.settings.maxInFlightRequestsPerConnection
        || (this.slots.length > 0 && held + size > this.settings.maxInFlightBytesPerConnection)) break;
      const frame = this.take(4 + size).subarray(4);
      this.handleFrame(frame);
    }
    if (this.closed) return;
    if (this.stopping || this.mutedUntil !== 0 || this.blocked() || this.fullFrameWaiting()) this.socket.pause();
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
    const login = this.sasl?.onFrame(frame) ?? null;
    if (login !== null) {
      void login.then((r: SaslFrameResult) => {
        if (r.closeAfter !== undefined) slot.closeAfter = r.closeAfter;
        if (r.outcome.kind === 'close') this.stopping = true;
        this.settle(slot, r.outcome);
      });
      return;
    }
    // Parsing is event-loop time of the request (request_percentage): timed only with quotas set.
    const timed = this.env.quotas?.active() === true;
    const t0 = timed ? performance.now() : 0;
    const parsed = parseFrame(frame, this.env.metrics);
    const parseMs = timed ? performance.now() - t0 : 0;
    if (parsed.kind !== 'request') {
      if (parsed.kind === 'close') this.stopping = true;
      this.settle(slot, parsed);
      return;
    }
    void dispatch(parsed, this.env, this.clientHost, this.session, parseMs).then((outcome) => this.settle(slot, outcome));
  }

  private settle(slot: Slot, outcome: FrameOutcome): void {
    this.inFlightBytes -= slot.bytes;
    slot.bytes = outcome.kind === 'response' ? outcome.frame.length : 0;
    this.inFlightBytes += slot.bytes;
    slot.outcome = outcome;
    if (this.closed) return;
    if (outcome.kind !== 'close' && outcome.throttle !== undefined) this.mute(outcome.throttle);
    this.flush();
    if (!this.closed) this.pump();
  }

  /**
   * KIP-219: the answer goes out at once (flush), then nothing more is read from this connection
   * for the throttle time; acks=0 Produce too. A timer, never a wait: other connections and the
   * Raft transport are untouched. The timer checks at least once per quota window whether the
   * quota still exists, so removing it releases the client within a window.
   */
  private mute(throttle: Throttle): void {
    const until = throttle.manager.now() + throttle.ms;
    if (until <= this.mutedUntil) return;
    this.mutedUntil = until;
    this.muteThrottle = throttle;
    this.quotaSerial = true;
    this.socket.pause();
    if (this.muteTimer === null) this.armMuteTimer();
  }

  private armMuteTimer(): void {
    const m = (this.muteThrottle as Throttle).manager;
    const left = Math.max(0, this.mutedUntil - m.now());
    this.muteTimer = setTimeout(() => {
      this.muteTimer = null;
      if (this.closed || this.muteThrottle === null) return;
      // The latest throttle (a longer one may have come since the timer was armed).
      const t = this.muteThrottle;
      const gone = t.sensor !== null && !t.manager.stillLimited(t.sensor);
      if (gone || t.manager.now() >= this.mutedUntil) {
        this.mutedUntil = 0;
        this.muteThrottle = null;
        if (gone) this.quotaSerial = false;
        this.pump();
      } else {
        this.armMuteTimer();
      }
    }, Math.min(left, m.settings.windowSizeMs));
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
        if (head.closeAfter !== undefined) {
          this.protocolClose(head.closeAfter);
          return;
        }
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
