/**
 * One Kafka request to one broker, with Flotilla's own codecs (lib/kafka, checked against
 * KafkaJS's encoders in the suite where KafkaJS has them), for what the CLI's client library
 * cannot send: KafkaJS 2.2.4 routes a broker-config resource to the broker whose node id is its
 * name, so it can neither describe nor alter Kafka's entity default (the broker resource ""),
 * which holds the cluster-wide topic defaults (`flotilla cluster config`); and it has no
 * DescribeQuorum, DescribeProducers, ListTransactions, DescribeTransactions or WriteTxnMarkers
 * (`cluster quorum`, `producers`, `transactions`). Everything else goes through KafkaJS.
 *
 * The request is sent to the bootstrap servers in turn until one answers (a single HOST:PORT
 * reaches one chosen broker); the answer is bounded in size and time.
 */
import { isIP, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { parseHostPort } from '../app/config.js';
import { encodeRequestFrame, parseResponse } from '../kafka/apis.js';
import type { Reader, Writer } from '../kafka/primitives.js';
import { saslAuthenticateClientApi, saslClient, saslHandshakeClientApi } from '../kafka/sasl-client.js';
import { parseBootstrap } from './client.js';
import { type ClientSecurity, type ClientSecurityFlags, resolveClientSecurity, tlsOptions } from './client-security.js';
import { CliError } from './output.js';

/** The largest answer accepted (a DescribeConfigs answer is a few KiB). */
const RESPONSE_BYTES_MAX = 16 * 1024 * 1024;

/** Where to send, and the command's security flags (--command-config, ...). */
export interface RequestTarget extends ClientSecurityFlags {
  readonly bootstrap: string;
}

interface RequestApi<Req, Res> {
  readonly apiKey: number;
  readonly name: string;
  isFlexible(version: number): boolean;
  encodeRequest(w: Writer, version: number, body: Req): void;
  decodeResponse(r: Reader, version: number): Res;
}

/**
 * Sends `body` as `api` v`version` to the first bootstrap server of `target` that answers, over
 * TLS and after a SASL login when the target's security settings say so; returns the decoded answer.
 * A bare `HOST:PORT[,...]` string is a plaintext target (tests); commands pass their options.
 */
export async function oneRequest<Req, Res>(target: RequestTarget | string, api: RequestApi<Req, Res>, version: number, body: Req, timeoutMs: number): Promise<Res> {
  if (typeof target === 'string') target = { bootstrap: target };
  const security = resolveClientSecurity(target);
  const failures: string[] = [];
  for (const server of parseBootstrap(target.bootstrap)) {
    const address = parseHostPort(server);
    if (address === null) continue;
    let conn: Connection | null = null;
    try {
      conn = await Connection.open(address.host, address.port, security, timeoutMs);
      if (security.sasl) await login(conn, security);
      const frame = await conn.exchange(encodeRequestFrame(api, version, conn.nextCorrelationId(), 'flotilla-cli', body));
      return parseResponse(api, version, frame).body;
    } catch (err) {
      if (err instanceof CliError) throw err; // a refused login: the next server would refuse it too
      failures.push(`${server}: ${(err as Error).message}`);
    } finally {
      conn?.close();
    }
  }
  throw new CliError(`${api.name} failed on every bootstrap server (${failures.join('; ')})`);
}

/** SaslHandshake v1, then SaslAuthenticate v1 until the mechanism is done. */
async function login(conn: Connection, security: ClientSecurity): Promise<void> {
  const sasl = security.sasl!;
  const handshake = parseResponse(saslHandshakeClientApi, 1,
    await conn.exchange(encodeRequestFrame(saslHandshakeClientApi, 1, conn.nextCorrelationId(), 'flotilla-cli', { mechanism: sasl.mechanism }))).body;
  if (handshake.errorCode === 33) {
    throw new CliError(`the broker does not enable SASL mechanism ${sasl.mechanism} on this listener (it offers: ${handshake.mechanisms.join(', ') || 'none'})`);
  }
  if (handshake.errorCode !== 0) throw new CliError(`SaslHandshake refused (error code ${handshake.errorCode}): is this listener SASL_PLAINTEXT or SASL_SSL?`);
  const client = saslClient(sasl.mechanism, sasl.username, sasl.password);
  let token: Buffer | null = client.first();
  while (token !== null) {
    const res = parseResponse(saslAuthenticateClientApi, 1,
      await conn.exchange(encodeRequestFrame(saslAuthenticateClientApi, 1, conn.nextCorrelationId(), 'flotilla-cli', { authBytes: token }))).body;
    if (res.errorCode !== 0) throw new CliError(`SASL authentication as ${JSON.stringify(sasl.username)} failed: ${res.errorMessage ?? `error code ${res.errorCode}`}`);
    try {
      token = client.next(res.authBytes);
    } catch (err) {
      throw new CliError((err as Error).message.replace(/^INVALID_REQUEST: /, ''));
    }
  }
}

/** One socket (plain or TLS), request after request, each answer bounded in size and time. */
class Connection {
  private readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: { resolve: (frame: Buffer) => void; reject: (err: Error) => void } | null = null;
  private failure: Error | null = null;
  private correlationId = 0;

  private constructor(socket: Socket, timeoutMs: number) {
    this.socket = socket;
    socket.setTimeout(timeoutMs, () => this.fail(new Error(`no answer in ${timeoutMs} ms`)));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the connection closed before the answer')));
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.deliver();
    });
  }

  static open(host: string, port: number, security: ClientSecurity, timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = security.tls
        ? tlsConnect({ host, port, ...tlsOptions(security.tls), ...(isIP(host) === 0 ? { servername: host } : {}) })
        : new Socket().connect(port, host);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection in ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (!security.tls || ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EADDRNOTAVAIL'].includes(err.code ?? '')) reject(err);
        else if (err.code === 'ECONNRESET') reject(new Error(`TLS: ${err.message} (is the listener at ${host}:${port} SSL or SASL_SSL?)`));
        else reject(new Error(`TLS: ${err.message}`));
      });
      socket.once(security.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve(new Connection(socket, timeoutMs));
      });
    });
  }

  nextCorrelationId(): number {
    return ++this.correlationId;
  }

  /** Writes one request frame and reads one response frame (without its size prefix). */
  exchange(request: Buffer): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.socket.write(request);
      this.deliver();
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private deliver(): void {
    if (this.waiter === null || this.buffered.length < 4) return;
    const size = this.buffered.readInt32BE(0);
    if (size < 0 || size > RESPONSE_BYTES_MAX) {
      this.fail(new Error(`an answer of ${size} bytes`));
      return;
    }
    if (this.buffered.length < 4 + size) return;
    const frame = this.buffered.subarray(4, 4 + size);
    this.buffered = this.buffered.subarray(4 + size);
    const waiter = this.waiter;
    this.waiter = null;
    waiter.resolve(frame);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.socket.destroy();
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(err);
  }
}
