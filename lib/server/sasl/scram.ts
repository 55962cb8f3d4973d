/**
 * The server side of SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka's
 * ScramSaslServer speaks it, with node:crypto only.
 *
 *   client-first  n,[a=authzid],n=saslname,r=cnonce[,ext=value...]
 *   server-first  r=cnonce+snonce,s=base64(salt),i=iterations
 *   client-final  c=base64(gs2 header),r=nonce,p=base64(proof)
 *   server-final  v=base64(ServerSignature)
 *
 * Rules (Kafka's, with one step more against user enumeration):
 * - Only the GS2 flag `n` (no channel binding); an authzid must equal the user name; `m=` and the
 *   delegation-token extension `tokenauth=true` are refused; names unescape `=2C` and `=3D` and no
 *   other `=`; no SASLprep (passwords are plain UTF-8, as Kafka).
 * - The client-final nonce must END WITH the server-first nonce (Kafka's rule: librdkafka sends the
 *   client nonce twice), which still defeats replay: the server's random part must be there.
 * - The channel binding must be the base64 of the client-first's GS2 header; no other attribute
 *   than c, r, p; the proof must be base64 of exactly the hash length; compared in constant time.
 * - An unknown user gets a server-first like any other (a salt derived from the node's secret and
 *   the name, the iteration count of Flotilla's tools) and fails at the client-final, exactly as a wrong
 *   password does: the two cannot be told apart by the answer or the step.
 *
 * `step` never throws; a failure carries a reason for the audit line (never the proof or salt).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ScramCredentialImage } from '../../metadata/image.js';
import {
  type ScramMechanism, SCRAM_ITERATIONS_DEFAULT, decodeBase64Strict, hash, hmac, isScramNonce, scramHashLength, unescapeSaslName, xorBytes,
} from '../../metadata/scram.js';

export type MechanismStep =
  | { readonly kind: 'challenge'; readonly token: Buffer }
  | { readonly kind: 'success'; readonly token: Buffer; readonly user: string }
  | { readonly kind: 'failure'; readonly reason: string; readonly user: string | null };

/** One SASL exchange of one mechanism on one connection. */
export interface MechanismExchange {
  step(token: Buffer): Promise<MechanismStep>;
}

export type ScramLookup = (user: string, mechanism: ScramMechanism) => ScramCredentialImage | undefined;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 text, or null when the bytes are not UTF-8. */
export function decodeUtf8(b: Uint8Array): string | null {
  try {
    return utf8.decode(b);
  } catch {
    return null;
  }
}

/** The salt answered for a user without a credential: stable per node, name and mechanism. */
export function fakeSalt(secret: Uint8Array, mechanism: ScramMechanism, user: string): Buffer {
  return createHmac('sha256', secret).update(`${mechanism}\0${user}`).digest().subarray(0, 16);
}

export class ScramServerExchange implements MechanismExchange {
  private state: 'first' | 'final' | 'done' = 'first';
  private user: string | null = null;
  private credential: ScramCredentialImage | null = null;
  private clientFirstBare = '';
  private serverFirst = '';
  private serverNonce = '';
  private gs2Header = '';
  private readonly mechanism: ScramMechanism;
  private readonly lookup: ScramLookup;
  private readonly secret: Uint8Array;
  /** Re-authentication: the user must stay the same (null: any). */
  private readonly requiredUser: string | null;
  /** The server's part of the nonce (random; fixed only by the RFC 7677 vector spec). */
  private readonly nonceSuffix: () => string;

  constructor(
    mechanism: ScramMechanism, lookup: ScramLookup, secret: Uint8Array, requiredUser: string | null = null,
    nonceSuffix: () => string = () => randomBytes(24).toString('base64'),
  ) {
    this.mechanism = mechanism;
    this.lookup = lookup;
    this.secret = secret;
    this.requiredUser = requiredUser;
    this.nonceSuffix = nonceSuffix;
  }

  async step(token: Buffer): Promise<MechanismStep> {
    try {
      if (this.state === 'first') return this.first(token);
      if (this.state === 'final') return this.final(token);
      return this.fail('a SCRAM message after the exchange ended');
    } catch (err) {
      // Nothing above should throw; a bug must still end in a failed login, not out of the server.
      return this.fail(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private fail(reason: string): MechanismStep {
    this.state = 'done';
    return { kind: 'failure', reason, user: this.user };
  }

  private first(token: Buffer): MechanismStep {
    const text = decodeUtf8(token);
    if (text === null) return this.fail('client-first is not UTF-8');
    // gs2-header = gs2-cbind-flag "," [authzid] ","
    const c1 = text.indexOf(',');
    const c2 = c1 < 0 ? -1 : text.indexOf(',', c1 + 1);
    if (c1 < 0 || c2 < 0) return this.fail('client-first has no GS2 header');
    const flag = text.slice(0, c1);
    if (flag !== 'n') return this.fail(`client-first GS2 flag "${flag.slice(0, 16)}" (channel binding is not supported)`);
    const authzidPart = text.slice(c1 + 1, c2);
    this.gs2Header = text.slice(0, c2 + 1);
    this.clientFirstBare = text.slice(c2 + 1);
    const attrs = this.clientFirstBare.split(',');
    if (attrs[0]?.startsWith('m=')) return this.fail('client-first has a reserved m= attribute');
    if (!attrs[0]?.startsWith('n=')) return this.fail('client-first has no n= user name');
    const user = unescapeSaslName(attrs[0].slice(2));
    if (user === null || user.length === 0) return this.fail('client-first has an invalid user name');
    this.user = user;
    if (authzidPart !== '') {
      const authzid = authzidPart.startsWith('a=') ? unescapeSaslName(authzidPart.slice(2)) : null;
      if (authzid !== user) return this.fail('client-first authorization id differs from the user name');
    }
    if (!attrs[1]?.startsWith('r=')) return this.fail('client-first has no r= nonce');
    const clientNonce = attrs[1].slice(2);
    if (!isScramNonce(clientNonce)) return this.fail('client-first nonce is empty or not printable');
    for (const ext of attrs.slice(2)) {
      if (!/^[A-Za-z]+=/.test(ext)) return this.fail('client-first has a malformed extension');
      if (ext === 'tokenauth=true') return this.fail('delegation tokens are not supported');
    }
    if (this.requiredUser !== null && user !== this.requiredUser) return this.fail('re-authentication as another user');
    const credential = this.lookup(user, this.mechanism);
    this.credential = credential ?? null;
    const salt = credential?.salt ?? fakeSalt(this.secret, this.mechanism, user);
    const iterations = credential?.iterations ?? SCRAM_ITERATIONS_DEFAULT;
    this.serverNonce = clientNonce + this.nonceSuffix();
    this.serverFirst = `r=${this.serverNonce},s=${Buffer.from(salt).toString('base64')},i=${iterations}`;
    this.state = 'final';
    return { kind: 'challenge', token: Buffer.from(this.serverFirst, 'utf8') };
  }

  private final(token: Buffer): MechanismStep {
    this.state = 'done';
    const text = decodeUtf8(token);
    if (text === null) return this.fail('client-final is not UTF-8');
    const attrs = text.split(',');
    if (attrs.length !== 3) return this.fail('client-final must hold exactly c=, r= and p=');
    const [c, r, p] = attrs as [string, string, string];
    if (!c.startsWith('c=') || !r.startsWith('r=') || !p.startsWith('p=')) return this.fail('client-final must hold exactly c=, r= and p=');
    if (c.slice(2) !== Buffer.from(this.gs2Header, 'utf8').toString('base64')) return this.fail('client-final channel binding does not match the GS2 header');
    const nonce = r.slice(2);
    if (!isScramNonce(nonce) || !nonce.endsWith(this.serverNonce)) return this.fail('client-final nonce does not end with the server nonce');
    const proof = decodeBase64Strict(p.slice(2));
    const size = scramHashLength(this.mechanism);
    if (proof === null || proof.length !== size) return this.fail('client-final proof is not base64 of the hash length');
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${text.slice(0, text.length - p.length - 1)}`;
    // Computed for an unknown user too (against zero keys), so both take the same time.
    const storedKey = this.credential?.storedKey ?? Buffer.alloc(size);
    const signature = hmac(this.mechanism, storedKey, authMessage);
    const clientKey = xorBytes(proof, signature);
    const ok = timingSafeEqual(hash(this.mechanism, clientKey), storedKey.length === size ? storedKey : Buffer.alloc(size, 0xff));
    if (!ok || this.credential === null) return this.fail('bad credentials');
    const serverSignature = hmac(this.mechanism, this.credential.serverKey, authMessage);
    return { kind: 'success', token: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'), user: this.user! };
  }
}
