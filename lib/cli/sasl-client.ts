/**
 * The client side of a SASL login over Flotilla's own codec (lib/kafka): SaslHandshake v1, then
 * SaslAuthenticate v1 tokens, for PLAIN and SCRAM-SHA-256/512 (RFC 5802: the server signature is
 * checked, so a server that does not hold the credential cannot pass for one). `saslLogin` takes
 * any request/response channel; `KafkaConnection` is one over a TCP (or TLS) socket, for the CLI's
 * own-codec commands (one-request.ts) and the specs.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Socket } from 'node:net';
import { encodeRequestFrame, parseResponse } from '../kafka/apis.js';
import { errorName } from '../kafka/errors.js';
import { saslAuthenticateApi } from '../kafka/sasl-authenticate.js';
import { saslHandshakeApi } from '../kafka/sasl-handshake.js';
import { type ScramMechanism, decodeBase64Strict, escapeSaslName, hmac, isScramMechanism, saltPassword, scramKeys } from '../metadata/scram.js';

export interface SaslLogin {
  readonly mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  readonly username: string;
  readonly password: string;
}

/** Sends a request frame (size prefix included) and resolves with its response frame (without it). */
export interface FrameChannel {
  request(frame: Buffer): Promise<Buffer>;
}

export class SaslLoginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslLoginError';
  }
}

/** The SCRAM client of one exchange (RFC 5802; the nonce as the RFC says, once). */
export class ScramClient {
  private readonly mechanism: ScramMechanism;
  private readonly username: string;
  private readonly password: string;
  private readonly nonce: string;
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | null = null;

  constructor(mechanism: ScramMechanism, username: string, password: string, nonce = randomBytes(18).toString('base64')) {
    this.mechanism = mechanism;
    this.username = username;
    this.password = password;
    this.nonce = nonce;
  }

  first(): Buffer {
    this.clientFirstBare = `n=${escapeSaslName(this.username)},r=${this.nonce}`;
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  async final(serverFirstBytes: Buffer): Promise<Buffer> {
    const serverFirst = serverFirstBytes.toString('utf8');
    const attrs = new Map(serverFirst.split(',').map((a) => [a.slice(0, 1), a.slice(2)]));
    const nonce = attrs.get('r') ?? '';
    const salt = decodeBase64Strict(attrs.get('s') ?? '');
    const iterations = Number(attrs.get('i'));
    if (!nonce.startsWith(this.nonce) || nonce.length <= this.nonce.length) throw new SaslLoginError('the server-first nonce does not extend ours');
    if (salt === null || salt.length === 0) throw new SaslLoginError('the server-first salt is not base64');
    if (!Number.isInteger(iterations) || iterations < 4096 || iterations > 1_000_000) throw new SaslLoginError(`the server asks for ${attrs.get('i')} iterations`);
    const salted = await saltPassword(this.mechanism, this.password, salt, iterations);
    const clientKey = hmac(this.mechanism, salted, 'Client Key');
    const { storedKey, serverKey } = scramKeys(this.mechanism, salted);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(this.mechanism, storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    this.expectedServerSignature = hmac(this.mechanism, serverKey, authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  verify(serverFinalBytes: Buffer): void {
    const text = serverFinalBytes.toString('utf8');
    if (text.startsWith('e=')) throw new SaslLoginError(`the server refused the login: ${text.slice(2)}`);
    const v = text.startsWith('v=') ? decodeBase64Strict(text.slice(2)) : null;
    const expected = this.expectedServerSignature;
    if (v === null || expected === null || v.length !== expected.length || !timingSafeEqual(v, expected)) {
      throw new SaslLoginError('the server signature does not match: the server does not hold this credential');
    }
  }
}

/**
 * Logs in on `channel` (a fresh connection): SaslHandshake v1, then SaslAuthenticate v1. Resolves
 * with the session lifetime the server gave (0: none); rejects with SaslLoginError.
 */
export async function saslLogin(channel: FrameChannel, login: SaslLogin, clientId = 'flotilla-cli'): Promise<{ sessionLifetimeMs: number }> {
  let correlationId = 1000;
  const handshake = parseResponse(saslHandshakeApi, 1,
    await channel.request(encodeRequestFrame(saslHandshakeApi, 1, correlationId++, clientId, { mechanism: login.mechanism }))).body;
  if (handshake.errorCode !== 0) {
    throw new SaslLoginError(`SaslHandshake ${login.mechanism}: ${errorName(handshake.errorCode) ?? handshake.errorCode} (the listener enables ${handshake.mechanisms.join(', ') || 'none'})`);
  }
  const authenticate = async (token: Buffer): Promise<{ token: Buffer; sessionLifetimeMs: number }> => {
    const frame = await channel.request(encodeRequestFrame(saslAuthenticateApi, 1, correlationId++, clientId, { authBytes: token }));
    const res = parseResponse(saslAuthenticateApi, 1, frame).body;
    if (res.errorCode !== 0) throw new SaslLoginError(`${login.mechanism} login as ${login.username}: ${errorName(res.errorCode) ?? res.errorCode}${res.errorMessage ? `: ${res.errorMessage}` : ''}`);
    return { token: res.authBytes, sessionLifetimeMs: res.sessionLifetimeMs };
  };
  if (login.mechanism === 'PLAIN') {
    const res = await authenticate(Buffer.from(`\0${login.username}\0${login.password}`, 'utf8'));
    return { sessionLifetimeMs: res.sessionLifetimeMs };
  }
  if (!isScramMechanism(login.mechanism)) throw new SaslLoginError(`unknown SASL mechanism ${String(login.mechanism)}`);
  const scram = new ScramClient(login.mechanism, login.username, login.password);
  const serverFirst = await authenticate(scram.first());
  const serverFinal = await authenticate(await scram.final(serverFirst.token));
  scram.verify(serverFinal.token);
  return { sessionLifetimeMs: serverFinal.sessionLifetimeMs };
}

/** One Kafka connection: requests answered in order, each answer bounded in size and time. */
export class KafkaConnection implements FrameChannel {
  private readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private readonly waiting: { resolve: (f: Buffer) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | null = null;
  private readonly responseBytesMax: number;

  private constructor(socket: Socket, responseBytesMax: number) {
    this.socket = socket;
    this.responseBytesMax = responseBytesMax;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the connection closed')));
  }

  /** Connects over TCP; `socket` may be given instead (a TLS socket already connected). */
  static connect(host: string, port: number, timeoutMs: number, responseBytesMax = 16 * 1024 * 1024): Promise<KafkaConnection> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no connection to ${host}:${port} in ${timeoutMs} ms`)); }, timeoutMs);
      socket.once('error', (err) => { clearTimeout(timer); reject(err); });
      socket.connect(port, host, () => {
        clearTimeout(timer);
        socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer in ${timeoutMs} ms`)));
        resolve(new KafkaConnection(socket, responseBytesMax));
      });
    });
  }

  static over(socket: Socket, responseBytesMax = 16 * 1024 * 1024): KafkaConnection {
    return new KafkaConnection(socket, responseBytesMax);
  }

  request(frame: Buffer): Promise<Buffer> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(frame);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (size < 0 || size > this.responseBytesMax) {
        this.socket.destroy(new Error(`an answer of ${size} bytes`));
        return;
      }
      if (this.buffered.length < 4 + size) break;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      this.waiting.shift()?.resolve(frame);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}
