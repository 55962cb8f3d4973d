/**
 * SCRAM credentials in the metadata log (KIP-554, Kafka's ScramControlManager): the pure half of
 * AlterUserScramCredentials and DescribeUserScramCredentials, and the SCRAM key derivation (RFC
 * 5802) that turns a salted password into the stored record. The controller runs `alterScram`
 * against its image; the records it returns are what the metadata log stores (salt, StoredKey,
 * ServerKey, iterations: never the password nor the salted password).
 *
 * Errors are Kafka's, per user: a user named twice in one request DUPLICATE_RESOURCE; an empty
 * name, iterations outside 4096..16384 UNACCEPTABLE_CREDENTIAL; a mechanism other than
 * SCRAM-SHA-256 (1) / SCRAM-SHA-512 (2) UNSUPPORTED_SASL_MECHANISM; deleting a credential that
 * does not exist RESOURCE_NOT_FOUND (and describing an unknown user, likewise).
 */
import { createHash, createHmac, pbkdf2 } from 'node:crypto';
import type { MetadataImage, ScramCredentialImage } from './image.js';
import { scramKey } from './image.js';
import type { MetadataRecord } from './records.js';
import { ScramMechanisms } from './records.js';

export type ScramMechanism = (typeof ScramMechanisms)[number];

/** Kafka's ScramMechanism type codes (the int8 on the wire). */
export const scramMechanismCodes: Readonly<Record<ScramMechanism, number>> = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 };

/** RFC 5802 requires at least 4096 (Kafka's ScramMechanism.minIterations); Kafka's controller refuses more than 16384. */
export const SCRAM_ITERATIONS_MIN = 4096;
export const SCRAM_ITERATIONS_MAX = 16384;
/** The iterations `flotilla user add` and `--add-scram` use by default (and what an unknown user is answered). */
export const SCRAM_ITERATIONS_DEFAULT = 8192;

export function scramMechanismOfCode(code: number): ScramMechanism | null {
  return code === 1 ? 'SCRAM-SHA-256' : code === 2 ? 'SCRAM-SHA-512' : null;
}

export function isScramMechanism(name: string): name is ScramMechanism {
  return (ScramMechanisms as readonly string[]).includes(name);
}

/** The hash of a mechanism, as node:crypto names it. */
export function scramHash(mechanism: ScramMechanism): 'sha256' | 'sha512' {
  return mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
}

/** The length of the mechanism's hash (and of its keys, proofs and signatures), in bytes. */
export function scramHashLength(mechanism: ScramMechanism): 32 | 64 {
  return mechanism === 'SCRAM-SHA-256' ? 32 : 64;
}

export function hmac(mechanism: ScramMechanism, key: Uint8Array, data: Uint8Array | string): Buffer {
  return createHmac(scramHash(mechanism), key).update(data).digest();
}

export function hash(mechanism: ScramMechanism, data: Uint8Array): Buffer {
  return createHash(scramHash(mechanism)).update(data).digest();
}

/** Hi(password, salt, i) of RFC 5802: PBKDF2-HMAC, on libuv's thread pool (it costs ms). Passwords are plain UTF-8 (Kafka applies no SASLprep). */
export function saltPassword(mechanism: ScramMechanism, password: string | Uint8Array, salt: Uint8Array, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, iterations, scramHashLength(mechanism), scramHash(mechanism), (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key"). */
export function scramKeys(mechanism: ScramMechanism, saltedPassword: Uint8Array): { storedKey: Buffer; serverKey: Buffer } {
  const clientKey = hmac(mechanism, saltedPassword, 'Client Key');
  return { storedKey: hash(mechanism, clientKey), serverKey: hmac(mechanism, saltedPassword, 'Server Key') };
}

// ---- The text of SCRAM messages (RFC 5802), shared by the server (lib/server/sasl) and the client (lib/kafka/sasl-client.ts)

/** RFC 5802 saslname: `=2C` is ',', `=3D` is '='; any other '=' (or a ',') is invalid (null). */
export function unescapeSaslName(s: string): string | null {
  if (s.includes(',')) return null;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch !== '=') { out += ch; continue; }
    const esc = s.slice(i + 1, i + 3);
    if (esc === '2C') out += ',';
    else if (esc === '3D') out += '=';
    else return null;
    i += 2;
  }
  return out;
}

/** The inverse of unescapeSaslName (what a client sends as n=). */
export function escapeSaslName(s: string): string {
  return s.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** Strict base64 (RFC 4648 alphabet, padded): null otherwise. */
export function decodeBase64Strict(s: string): Buffer | null {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) return null;
  return Buffer.from(s, 'base64');
}

/** A nonce: printable ASCII except ',' (RFC 5802), at least one character. */
export function isScramNonce(s: string): boolean {
  return s.length > 0 && /^[\x21-\x2b\x2d-\x7e]+$/.test(s);
}

/** a XOR b, of equal lengths: ClientProof = ClientKey XOR ClientSignature, and the server's way back. */
export function xorBytes(a: Uint8Array, b: Uint8Array): Buffer {
  if (a.length !== b.length) throw new RangeError(`xor of ${a.length} and ${b.length} bytes`);
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** The credential record of a password (the bootstrap credential, tests). */
export async function scramCredentialRecord(
  name: string, mechanism: ScramMechanism, password: string, salt: Uint8Array, iterations: number,
): Promise<MetadataRecord> {
  const salted = await saltPassword(mechanism, password, salt, iterations);
  return { type: 'ScramCredential', name, mechanism, salt: Buffer.from(salt), ...scramKeys(mechanism, salted), iterations };
}

/** The credential of (name, mechanism) in an image, or undefined. */
export function scramCredential(image: MetadataImage, name: string, mechanism: ScramMechanism): ScramCredentialImage | undefined {
  return image.scramCredentials.get(scramKey(name, mechanism));
}

export type ScramErrorName = 'DUPLICATE_RESOURCE' | 'UNACCEPTABLE_CREDENTIAL' | 'UNSUPPORTED_SASL_MECHANISM' | 'RESOURCE_NOT_FOUND';

export interface ScramUserResult {
  readonly user: string;
  /** null: done. */
  readonly error: { readonly code: ScramErrorName; readonly message: string } | null;
}

export interface AlterScramRequest {
  readonly deletions: readonly { readonly name: string; readonly mechanism: number }[];
  readonly upsertions: readonly {
    readonly name: string; readonly mechanism: number; readonly iterations: number;
    readonly salt: Uint8Array; readonly saltedPassword: Uint8Array;
  }[];
}

/** Longest salt and salted password taken (the record's byte fields are bounded at 1 KiB). */
const SCRAM_BYTES_MAX = 1024;

function validateName(name: unknown, mechanism: number): ScramUserResult['error'] {
  if (typeof name !== 'string' || name.length === 0) return { code: 'UNACCEPTABLE_CREDENTIAL', message: 'Username must not be empty' };
  if (scramMechanismOfCode(mechanism) === null) return { code: 'UNSUPPORTED_SASL_MECHANISM', message: 'Unknown SCRAM mechanism' };
  return null;
}

/**
 * AlterUserScramCredentials against `image`, as Kafka's controller does it: every user named at
 * most once across deletions and upsertions (a second mention fails that user with
 * DUPLICATE_RESOURCE and drops its earlier change), each change validated alone; the records of
 * the valid changes, and one result per user.
 */
export function alterScram(image: MetadataImage, req: AlterScramRequest): { records: MetadataRecord[]; results: ScramUserResult[] } {
  const failed = new Map<string, NonNullable<ScramUserResult['error']>>();
  const deletions = new Map<string, { name: string; mechanism: ScramMechanism }>();
  const upserts = new Map<string, AlterScramRequest['upsertions'][number] & { mechanismName: ScramMechanism }>();
  const duplicate = { code: 'DUPLICATE_RESOURCE', message: 'A user credential cannot be altered twice in the same request' } as const;
  for (const d of req.deletions) {
    const name = String(d.name);
    if (failed.has(name)) continue;
    if (deletions.delete(name)) { failed.set(name, duplicate); continue; }
    const error = validateName(d.name, d.mechanism)
      ?? (scramCredential(image, name, scramMechanismOfCode(d.mechanism)!) === undefined
        ? { code: 'RESOURCE_NOT_FOUND', message: 'Attempt to delete a user credential that does not exist' } as const
        : null);
    if (error !== null) failed.set(name, error);
    else deletions.set(name, { name, mechanism: scramMechanismOfCode(d.mechanism)! });
  }
  for (const u of req.upsertions) {
    const name = String(u.name);
    if (failed.has(name)) continue;
    if (deletions.delete(name) || upserts.delete(name)) { failed.set(name, duplicate); continue; }
    let error = validateName(u.name, u.mechanism);
    if (error === null && !(Number.isInteger(u.iterations) && u.iterations >= SCRAM_ITERATIONS_MIN)) error = { code: 'UNACCEPTABLE_CREDENTIAL', message: 'Too few iterations' };
    if (error === null && u.iterations > SCRAM_ITERATIONS_MAX) error = { code: 'UNACCEPTABLE_CREDENTIAL', message: 'Too many iterations' };
    if (error === null && (!(u.salt instanceof Uint8Array) || u.salt.length === 0 || u.salt.length > SCRAM_BYTES_MAX)) error = { code: 'UNACCEPTABLE_CREDENTIAL', message: 'The salt must hold 1 to 1024 bytes' };
    if (error === null && (!(u.saltedPassword instanceof Uint8Array) || u.saltedPassword.length === 0 || u.saltedPassword.length > SCRAM_BYTES_MAX)) error = { code: 'UNACCEPTABLE_CREDENTIAL', message: 'The salted password must hold 1 to 1024 bytes' };
    if (error !== null) failed.set(name, error);
    else upserts.set(name, { ...u, name, mechanismName: scramMechanismOfCode(u.mechanism)! });
  }
  const records: MetadataRecord[] = [];
  const results: ScramUserResult[] = [];
  for (const d of deletions.values()) {
    records.push({ type: 'RemoveScramCredential', name: d.name, mechanism: d.mechanism });
    results.push({ user: d.name, error: null });
  }
  for (const u of upserts.values()) {
    records.push({
      type: 'ScramCredential', name: u.name, mechanism: u.mechanismName, salt: Buffer.from(u.salt),
      ...scramKeys(u.mechanismName, u.saltedPassword), iterations: u.iterations,
    });
    results.push({ user: u.name, error: null });
  }
  for (const [user, error] of failed) results.push({ user, error });
  return { records, results };
}

export interface ScramDescription {
  readonly user: string;
  readonly error: ScramUserResult['error'];
  readonly credentials: readonly { readonly mechanism: ScramMechanism; readonly iterations: number }[];
}

/** DescribeUserScramCredentials: `users` null or empty describes every user with a credential. */
export function describeScram(image: MetadataImage, users: readonly string[] | null): ScramDescription[] {
  const byUser = new Map<string, { mechanism: ScramMechanism; iterations: number }[]>();
  for (const c of image.scramCredentials.values()) {
    const list = byUser.get(c.name) ?? [];
    list.push({ mechanism: c.mechanism, iterations: c.iterations });
    byUser.set(c.name, list);
  }
  for (const list of byUser.values()) list.sort((a, b) => a.mechanism.localeCompare(b.mechanism));
  if (users === null || users.length === 0) {
    return [...byUser.keys()].sort().map((user) => ({ user, error: null, credentials: byUser.get(user)! }));
  }
  const counts = new Map<string, number>();
  for (const u of users) counts.set(u, (counts.get(u) ?? 0) + 1);
  return [...counts.keys()].map((user) => {
    if (counts.get(user)! > 1) return { user, error: { code: 'DUPLICATE_RESOURCE', message: 'Cannot describe SCRAM credentials for the same user twice in a single request' }, credentials: [] };
    const credentials = byUser.get(user);
    if (credentials === undefined) return { user, error: { code: 'RESOURCE_NOT_FOUND', message: 'Attempt to describe a user credential that does not exist' }, credentials: [] };
    return { user, error: null, credentials };
  });
}
