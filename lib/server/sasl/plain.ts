/**
 * The server side of SASL/PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, checked against
 * the user's SCRAM credential (Redpanda's approach: one credential store; Kafka's default store is
 * a JAAS file). The password is salted with the credential's salt and iterations (PBKDF2 on libuv's
 * thread pool, so logins do not stall the event loop that runs Raft) and the derived StoredKey is
 * compared in constant time. An unknown user costs the same PBKDF2 (a derived salt) and fails the
 * same way. Concurrent checks are bounded (`PlainVerifier`): beyond the bound a login fails at once.
 *
 * Kafka's rules: exactly two NULs, UTF-8, non-empty user and password, an authzid empty or equal
 * to the user name.
 */
import { timingSafeEqual } from 'node:crypto';
import { type ScramMechanism, SCRAM_ITERATIONS_DEFAULT, saltPassword, scramKeys } from '../../metadata/scram.js';
import { type MechanismExchange, type MechanismStep, type ScramLookup, decodeUtf8, fakeSalt } from './scram.js';

/** Bounds the PBKDF2 work of PLAIN logins on a node: `concurrency` at once, `queueMax` waiting. */
export class PlainVerifier {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly queueMax: number;

  constructor(concurrency = 2, queueMax = 256) {
    this.concurrency = concurrency;
    this.queueMax = queueMax;
  }

  /** Runs `fn` within the bound; null when too many checks are already waiting. */
  async run<T>(fn: () => Promise<T>): Promise<T | null> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueMax) return null;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined) next(); // the slot passes to the next waiter
      else this.running--;
    }
  }
}

/** The mechanisms a PLAIN password is checked against, cheapest first. */
const PLAIN_CHECK_ORDER: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];

export class PlainServerExchange implements MechanismExchange {
  private done = false;
  private readonly lookup: ScramLookup;
  private readonly secret: Uint8Array;
  private readonly verifier: PlainVerifier;
  private readonly requiredUser: string | null;

  constructor(lookup: ScramLookup, secret: Uint8Array, verifier: PlainVerifier, requiredUser: string | null = null) {
    this.lookup = lookup;
    this.secret = secret;
    this.verifier = verifier;
    this.requiredUser = requiredUser;
  }

  async step(token: Buffer): Promise<MechanismStep> {
    if (this.done) return { kind: 'failure', reason: 'a PLAIN message after the exchange ended', user: null };
    this.done = true;
    const parts: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < token.length; i++) {
      if (token[i] === 0) { parts.push(token.subarray(start, i)); start = i + 1; }
    }
    parts.push(token.subarray(start));
    if (parts.length !== 3) return { kind: 'failure', reason: 'PLAIN message must hold exactly two NUL separators', user: null };
    const [authzid, user, password] = parts.map(decodeUtf8) as [string | null, string | null, string | null];
    if (authzid === null || user === null || password === null) return { kind: 'failure', reason: 'PLAIN message is not UTF-8', user: null };
    if (user.length === 0) return { kind: 'failure', reason: 'PLAIN user name is empty', user: null };
    if (password.length === 0) return { kind: 'failure', reason: 'PLAIN password is empty', user };
    if (authzid !== '' && authzid !== user) return { kind: 'failure', reason: 'PLAIN authorization id differs from the user name', user };
    if (this.requiredUser !== null && user !== this.requiredUser) return { kind: 'failure', reason: 're-authentication as another user', user };
    let mechanism: ScramMechanism = 'SCRAM-SHA-256';
    let credential: ReturnType<ScramLookup> = undefined;
    for (const m of PLAIN_CHECK_ORDER) {
      credential = this.lookup(user, m);
      if (credential !== undefined) { mechanism = m; break; }
    }
    const salt = credential?.salt ?? fakeSalt(this.secret, mechanism, user);
    const iterations = credential?.iterations ?? SCRAM_ITERATIONS_DEFAULT;
    const ok = await this.verifier.run(async () => {
      const { storedKey } = scramKeys(mechanism, await saltPassword(mechanism, password, salt, iterations));
      const expected = credential?.storedKey;
      return expected !== undefined && expected.length === storedKey.length && timingSafeEqual(storedKey, expected);
    });
    if (ok === null) return { kind: 'failure', reason: 'too many PLAIN logins being checked', user };
    if (!ok) return { kind: 'failure', reason: 'bad credentials', user };
    return { kind: 'success', token: Buffer.alloc(0), user };
  }
}
