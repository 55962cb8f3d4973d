/**
 * The client side of SASL, Flotilla's one implementation (the CLI's own-codec path in
 * lib/cli/one-request.ts, `flotilla user`, the specs): the PLAIN and SCRAM-SHA-256/512 (RFC 5802,
 * RFC 7677) mechanisms as step-wise state machines, and `saslLogin`, which runs one of them over
 * SaslHandshake v1 (lib/kafka/sasl-handshake.ts) and SaslAuthenticate v1 (sasl-authenticate.ts) on
 * any request/response channel (lib/cli/kafka-connection.ts is the one over a TCP or TLS socket).
 *
 * SCRAM as Kafka's own client does it (ScramSaslClient): no channel binding (`n,,`, `c=biws`), the
 * user name escaped (`=` -> `=3D`, `,` -> `=2C`), no SASLprep (Kafka applies none), the server's
 * nonce must extend ours, at least 4096 iterations, and the server's signature is checked in
 * constant time before the exchange counts as done: a server that does not hold the credential
 * cannot pass for one. The key derivation and the message text rules are the server's
 * (lib/metadata/scram.ts), so both sides compute the same bytes from one piece of code.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type ScramMechanism, SCRAM_ITERATIONS_MIN, decodeBase64Strict, escapeSaslName, hmac, isScramNonce, saltPassword, scramKeys, xorBytes,
} from '../metadata/scram.js';
import { encodeRequestFrame, parseResponse } from './apis.js';
import { errorName } from './errors.js';
import { saslAuthenticateApi } from './sasl-authenticate.js';
import { saslHandshakeApi } from './sasl-handshake.js';

export const saslClientMechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslClientMechanism = (typeof saslClientMechanisms)[number];

/**
 * The most iterations a server may ask of this client: PBKDF2 at a million rounds already costs
 * about a second, so a hostile server cannot make a login hang the caller.
 */
export const SCRAM_CLIENT_ITERATIONS_MAX = 1_000_000;

/** Who logs in, and how. */
export interface SaslLogin {
  readonly mechanism: SaslClientMechanism;
  readonly username: string;
  readonly password: string;
}

/** A login that failed: refused by the server, or a server this client does not trust; the message says which. */
export class SaslLoginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslLoginError';
  }
}

function fail(message: string): never {
  throw new SaslLoginError(message);
}

/**
 * One authentication exchange, client side: `first()` is the initial response; each server
 * message goes to `next()`, which resolves with the client's reply, or null once the exchange is
 * complete (and, for SCRAM, the server proved that it holds the credential). Rejects with
 * SaslLoginError saying why.
 */
export interface SaslClient {
  readonly mechanism: SaslClientMechanism;
  first(): Buffer;
  next(challenge: Buffer): Promise<Buffer | null>;
  readonly done: boolean;
}

/** The client of `mechanism`; `clientNonce` fixes SCRAM's nonce (the RFC 7677 vector), random otherwise. */
export function saslClient(mechanism: SaslClientMechanism, username: string, password: string, clientNonce?: string): SaslClient {
  if (mechanism === 'PLAIN') return new PlainClient(username, password);
  if (mechanism === 'SCRAM-SHA-256' || mechanism === 'SCRAM-SHA-512') return new ScramClient(mechanism, username, password, clientNonce);
  return fail(`unknown SASL mechanism ${JSON.stringify(mechanism)} (known: ${saslClientMechanisms.join(', ')})`);
}

class PlainClient implements SaslClient {
  readonly mechanism = 'PLAIN' as const;
  done = false;
  private readonly username: string;
  private readonly password: string;

  constructor(username: string, password: string) {
    this.username = username;
    this.password = password;
  }

  first(): Buffer {
    // authzid empty: the server takes the user name (Kafka accepts an authzid only equal to it).
    return Buffer.from(`\0${this.username}\0${this.password}`, 'utf8');
  }

  async next(): Promise<Buffer | null> {
    // PLAIN has one message; the server's (empty) answer ends it.
    if (this.done) fail('unexpected server message after the PLAIN exchange completed');
    this.done = true;
    return null;
  }
}

/** The attributes of a server message (`a=value,...`); the first of a repeated one counts. */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (m === null) fail(`malformed server message (attribute ${JSON.stringify(part.slice(0, 20))})`);
    if (!out.has(m[1]!)) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** The SCRAM client of one exchange (RFC 5802). */
export class ScramClient implements SaslClient {
  readonly mechanism: ScramMechanism;
  done = false;
  private readonly username: string;
  private readonly password: string;
  private readonly nonce: string;
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | null = null;
  private step: 'first' | 'server-first' | 'server-final' | 'done' = 'first';

  constructor(mechanism: ScramMechanism, username: string, password: string, clientNonce = randomBytes(24).toString('base64url')) {
    this.mechanism = mechanism;
    this.username = username;
    this.password = password;
    this.nonce = clientNonce;
    if (!isScramNonce(this.nonce)) fail('the client nonce must be printable ASCII without commas');
  }

  first(): Buffer {
    if (this.step !== 'first') fail('first() called twice');
    this.clientFirstBare = `n=${escapeSaslName(this.username)},r=${this.nonce}`;
    this.step = 'server-first';
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  async next(challenge: Buffer): Promise<Buffer | null> {
    const message = challenge.toString('utf8');
    if (this.step === 'server-first') return this.clientFinal(message);
    if (this.step === 'server-final') {
      this.serverFinal(message);
      return null;
    }
    return fail(`unexpected server message ${this.step === 'done' ? 'after the exchange completed' : 'before first()'}`);
  }

  private async clientFinal(serverFirst: string): Promise<Buffer> {
    this.step = 'done'; // until this message proves good
    const a = attributes(serverFirst);
    if (a.has('e')) fail(`the server refused: ${a.get('e')!}`);
    if (a.has('m')) fail('the server asks for an extension this client does not know (m=)');
    const nonce = a.get('r');
    const saltText = a.get('s');
    const iterationsText = a.get('i');
    if (nonce === undefined || saltText === undefined || iterationsText === undefined) fail('server-first lacks r=, s= or i=');
    if (!isScramNonce(nonce) || !nonce.startsWith(this.nonce) || nonce.length === this.nonce.length) fail('the server nonce does not extend the client nonce');
    if (!/^\d{1,9}$/.test(iterationsText)) fail(`iteration count ${JSON.stringify(iterationsText.slice(0, 20))} is not a number`);
    const iterations = Number(iterationsText);
    if (iterations < SCRAM_ITERATIONS_MIN) fail(`iteration count ${iterations} is below the minimum ${SCRAM_ITERATIONS_MIN}`);
    if (iterations > SCRAM_CLIENT_ITERATIONS_MAX) fail(`iteration count ${iterations} is above this client's maximum ${SCRAM_CLIENT_ITERATIONS_MAX}`);
    const salt = decodeBase64Strict(saltText);
    if (salt === null || salt.length === 0) fail('the salt is empty or not base64');
    const salted = await saltPassword(this.mechanism, this.password, salt, iterations);
    const clientKey = hmac(this.mechanism, salted, 'Client Key');
    const { storedKey, serverKey } = scramKeys(this.mechanism, salted);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = xorBytes(clientKey, hmac(this.mechanism, storedKey, authMessage));
    this.expectedServerSignature = hmac(this.mechanism, serverKey, authMessage);
    this.step = 'server-final';
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  private serverFinal(serverFinal: string): void {
    this.step = 'done';
    const a = attributes(serverFinal);
    if (a.has('e')) fail(`the server refused: ${a.get('e')!}`);
    const v = a.get('v');
    if (v === undefined) fail('server-final lacks v=');
    const got = decodeBase64Strict(v);
    const want = this.expectedServerSignature!;
    if (got === null || got.length !== want.length || !timingSafeEqual(got, want)) {
      fail('the server signature is wrong (the server does not hold this credential)');
    }
    this.done = true;
  }
}

/** Sends a request frame (size prefix included) and resolves with its response frame (without it). */
export interface FrameChannel {
  request(frame: Buffer): Promise<Buffer>;
}

/**
 * Logs in on `channel` (a fresh connection): SaslHandshake v1, then SaslAuthenticate v1 until the
 * mechanism is done. The login's requests take correlation ids from `firstCorrelationId` on.
 * Resolves with the session lifetime the server gave (0: none, KIP-368) and the next free
 * correlation id; rejects with SaslLoginError (a refusal, or a server that failed SCRAM's check),
 * or with the channel's own error.
 */
export async function saslLogin(
  channel: FrameChannel, login: SaslLogin, { clientId = 'flotilla-cli', firstCorrelationId = 1 }: { clientId?: string; firstCorrelationId?: number } = {},
): Promise<{ sessionLifetimeMs: number; nextCorrelationId: number }> {
  let correlationId = firstCorrelationId;
  const { mechanism, username } = login;
  const client = saslClient(mechanism, username, login.password);
  const handshake = parseResponse(saslHandshakeApi, 1,
    await channel.request(encodeRequestFrame(saslHandshakeApi, 1, correlationId++, clientId, { mechanism }))).body;
  const offers = handshake.mechanisms.join(', ') || 'none';
  if (errorName(handshake.errorCode) === 'UNSUPPORTED_SASL_MECHANISM') {
    fail(`the broker does not enable SASL mechanism ${mechanism} on this listener (it offers: ${offers})`);
  }
  if (handshake.errorCode !== 0) {
    fail(`SaslHandshake ${mechanism} refused: ${errorName(handshake.errorCode) ?? `error code ${handshake.errorCode}`} (is this listener SASL_PLAINTEXT or SASL_SSL? it offers: ${offers})`);
  }
  let sessionLifetimeMs = 0;
  let token: Buffer | null = client.first();
  while (token !== null) {
    const res = parseResponse(saslAuthenticateApi, 1,
      await channel.request(encodeRequestFrame(saslAuthenticateApi, 1, correlationId++, clientId, { authBytes: token }))).body;
    if (res.errorCode !== 0) {
      const name = errorName(res.errorCode) ?? `error code ${res.errorCode}`;
      fail(`SASL authentication as ${JSON.stringify(username)} failed: ${res.errorMessage ? `${res.errorMessage} (${name})` : name}`);
    }
    sessionLifetimeMs = res.sessionLifetimeMs;
    token = await client.next(res.authBytes);
  }
  return { sessionLifetimeMs, nextCorrelationId: correlationId };
}
