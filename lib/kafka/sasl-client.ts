/**
 * The client side of SASL for Flotilla's own tools (the CLI's own-codec path, lib/cli/one-request.ts):
 * the PLAIN and SCRAM-SHA-256/512 (RFC 5802, RFC 7677) mechanisms as pure state machines, and the
 * two Kafka requests that carry them, SaslHandshake v1 (api 17) and SaslAuthenticate v1 (api 36),
 * in the shape `encodeRequestFrame` / `parseResponse` take.
 *
 * SCRAM as Kafka's own client does it (ScramSaslClient): no channel binding (`n,,`, `c=biws`), the
 * user name escaped (`=` -> `=3D`, `,` -> `=2C`), no SASLprep (Kafka applies none), the server's
 * nonce must extend ours, at least 4096 iterations, and the server's signature is checked in
 * constant time before the exchange counts as done.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { FlotillaError } from '../base/errors.js';
import type { Reader, Writer } from './primitives.js';

export const saslClientMechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslClientMechanism = (typeof saslClientMechanisms)[number];

/** Kafka's ScramMechanism minimum (and what its server enforces). */
export const SCRAM_MIN_ITERATIONS = 4096;

/**
 * One authentication exchange, client side: `first()` is the initial response; each server
 * message goes to `next()`, which returns the client's reply, or null when the exchange is
 * complete (and, for SCRAM, the server proved it knows the credential). Throws INVALID_REQUEST saying why.
 */
export interface SaslClient {
  readonly mechanism: SaslClientMechanism;
  first(): Buffer;
  next(challenge: Buffer): Buffer | null;
  readonly done: boolean;
}

function fail(message: string): never {
  throw new FlotillaError('INVALID_REQUEST', `SASL: ${message}`);
}

export function saslClient(mechanism: SaslClientMechanism, username: string, password: string, clientNonce?: string): SaslClient {
  return mechanism === 'PLAIN' ? new PlainClient(username, password) : new ScramClient(mechanism, username, password, clientNonce);
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
  next(): Buffer | null {
    this.done = true;
    return null;
  }
}

/** `=` -> `=3D`, `,` -> `=2C` (RFC 5802 saslname). */
export function scramEscape(name: string): string {
  return name.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (m === null) fail(`malformed server message (attribute ${JSON.stringify(part.slice(0, 20))})`);
    if (!out.has(m[1]!)) out.set(m[1]!, m[2]!);
  }
  return out;
}

class ScramClient implements SaslClient {
  done = false;
  private readonly hash: 'sha256' | 'sha512';
  private readonly nonce: string;
  private clientFirstBare = '';
  private expectedServerSignature: Buffer | null = null;
  private step: 'first' | 'server-first' | 'server-final' | 'done' = 'first';

  readonly mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  private readonly username: string;
  private readonly password: string;

  constructor(mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username: string, password: string, clientNonce?: string) {
    this.mechanism = mechanism;
    this.username = username;
    this.password = password;
    this.hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
    this.nonce = clientNonce ?? randomBytes(24).toString('base64url');
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(this.nonce)) fail('the client nonce must be printable ASCII without commas');
  }

  first(): Buffer {
    if (this.step !== 'first') fail('first() called twice');
    this.clientFirstBare = `n=${scramEscape(this.username)},r=${this.nonce}`;
    this.step = 'server-first';
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  next(challenge: Buffer): Buffer | null {
    const message = challenge.toString('utf8');
    if (this.step === 'server-first') return this.clientFinal(message);
    if (this.step === 'server-final') {
      this.serverFinal(message);
      return null;
    }
    return fail(`unexpected server message after the exchange ${this.step === 'done' ? 'completed' : 'started'}`);
  }

  private clientFinal(serverFirst: string): Buffer {
    const a = attributes(serverFirst);
    if (a.has('e')) fail(`the server refused: ${a.get('e')!}`);
    if (a.has('m')) fail('the server asks for an extension this client does not know (m=)');
    const nonce = a.get('r');
    const salt = a.get('s');
    const iterationsText = a.get('i');
    if (nonce === undefined || salt === undefined || iterationsText === undefined) fail('server-first lacks r=, s= or i=');
    if (!nonce.startsWith(this.nonce) || nonce.length === this.nonce.length) fail('the server nonce does not extend the client nonce');
    if (!/^\d{1,9}$/.test(iterationsText)) fail(`iteration count ${JSON.stringify(iterationsText)} is not a number`);
    const iterations = Number(iterationsText);
    if (iterations < SCRAM_MIN_ITERATIONS) fail(`iteration count ${iterations} is below the minimum ${SCRAM_MIN_ITERATIONS}`);
    const saltBytes = Buffer.from(salt, 'base64');
    if (saltBytes.length === 0) fail('empty salt');
    const keyLength = this.hash === 'sha256' ? 32 : 64;
    const salted = pbkdf2Sync(Buffer.from(this.password, 'utf8'), saltBytes, iterations, keyLength, this.hash);
    const clientKey = hmac(this.hash, salted, 'Client Key');
    const storedKey = createHash(this.hash).update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.hash, storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
    const serverKey = hmac(this.hash, salted, 'Server Key');
    this.expectedServerSignature = hmac(this.hash, serverKey, authMessage);
    this.step = 'server-final';
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }

  private serverFinal(serverFinal: string): void {
    const a = attributes(serverFinal);
    if (a.has('e')) fail(`the server refused: ${a.get('e')!}`);
    const v = a.get('v');
    if (v === undefined) fail('server-final lacks v=');
    const got = Buffer.from(v, 'base64');
    const want = this.expectedServerSignature!;
    if (got.length !== want.length || !timingSafeEqual(got, want)) fail('the server signature is wrong (the server does not know this credential)');
    this.step = 'done';
    this.done = true;
  }
}

function hmac(hash: string, key: Buffer, text: string): Buffer {
  return createHmac(hash, key).update(text, 'utf8').digest();
}

// ---- The two requests (client side only; the server's codecs live with the SASL server) ----------

export interface SaslHandshakeRequest { readonly mechanism: string }
export interface SaslHandshakeResponse { readonly errorCode: number; readonly mechanisms: readonly string[] }

/** SaslHandshake v1 (v0 would switch the connection to raw tokens, which this client never uses). */
export const saslHandshakeClientApi = {
  apiKey: 17,
  name: 'SaslHandshake',
  isFlexible: (): boolean => false,
  encodeRequest(w: Writer, _version: number, body: SaslHandshakeRequest): void {
    w.nullableString(body.mechanism);
  },
  decodeResponse(r: Reader): SaslHandshakeResponse {
    const errorCode = r.int16();
    const n = r.arrayLength(false, 2);
    const mechanisms: string[] = [];
    for (let i = 0; i < n; i++) mechanisms.push(r.string());
    return { errorCode, mechanisms };
  },
};

export interface SaslAuthenticateRequest { readonly authBytes: Buffer }
export interface SaslAuthenticateResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly authBytes: Buffer;
  readonly sessionLifetimeMs: number;
}

/** SaslAuthenticate v1 (v0 plus the session lifetime; not flexible). */
export const saslAuthenticateClientApi = {
  apiKey: 36,
  name: 'SaslAuthenticate',
  isFlexible: (): boolean => false,
  encodeRequest(w: Writer, _version: number, body: SaslAuthenticateRequest): void {
    w.nullableBytes(body.authBytes);
  },
  decodeResponse(r: Reader, version: number): SaslAuthenticateResponse {
    const errorCode = r.int16();
    const errorMessage = r.nullableString();
    const authBytes = r.bytes();
    const sessionLifetimeMs = version >= 1 ? r.int64() : 0;
    return { errorCode, errorMessage, authBytes, sessionLifetimeMs };
  },
};
