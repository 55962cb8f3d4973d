/**
 * The SASL state machine of one connection on a SASL_PLAINTEXT or SASL_SSL listener (Kafka's
 * SaslServerAuthenticator). The connection (listener.ts) hands it every frame first; it answers
 * the frames of the login itself and lets the others through once the session is authenticated.
 *
 * Before login (frames capped at `saslMaxReceiveBytes`, one frame at a time, the whole login
 * within `saslHandshakeTimeoutMs`):
 *   initial        ApiVersions (at most once, and only before SaslHandshake; an ApiVersions of a
 *                  version not served is answered and does not count), or SaslHandshake.
 *                  Sarama and platformatic send SaslHandshake first: served.
 *   SaslHandshake  an enabled mechanism: answered, then v1 → SaslAuthenticate requests, v0 → raw
 *                  `int32 size | token` frames both ways (kafka-python 2.0.2; PLAIN success is an
 *                  empty frame). A mechanism not enabled: UNSUPPORTED_SASL_MECHANISM with the
 *                  listener's list, then close.
 *   anything else  (before the handshake, or other than SaslAuthenticate after a v1 handshake, or
 *                  a second ApiVersions): closed without an answer, as Kafka does, before its body
 *                  is parsed.
 *   failure        after `failedAuthenticationDelayMs`: SaslAuthenticate SASL_AUTHENTICATION_FAILED
 *                  with one generic message for every cause (v1), or a plain close (v0); then close.
 * Every failure writes one audit line (the claimed user, never a password, proof or salt).
 *
 * After login the principal is `User:<name>` and the mechanism is on the session. KIP-368: with
 * `connectionsMaxReauthMs` > 0, SaslAuthenticate v1+ answers SessionLifetimeMs, the client may
 * re-authenticate on the live connection (SaslHandshake v1 + SaslAuthenticate, same mechanism and
 * user), and a request other than SaslHandshake after the session expired closes the connection
 * (v0 sessions too, which never saw the lifetime: KAFKA-9241). Without re-authentication,
 * SaslHandshake and SaslAuthenticate after login go to dispatch, which answers ILLEGAL_SASL_STATE.
 */
import type { FrameOutcome } from '../dispatch.js';
import type { AuditLog } from '../audit.js';
import type { Session } from '../session.js';
import { apiVersionsApi } from '../../kafka/api-versions.js';
import { apis, encodeResponseFrame, parseRequest } from '../../kafka/apis.js';
import { errorCode } from '../../kafka/errors.js';
import { apiKeys } from '../../kafka/header.js';
import { type SaslAuthenticateResponse, saslAuthenticateApi } from '../../kafka/sasl-authenticate.js';
import { saslHandshakeApi } from '../../kafka/sasl-handshake.js';
import { isScramMechanism } from '../../metadata/scram.js';
import { type PlainVerifier, PlainServerExchange } from './plain.js';
import { type MechanismExchange, type ScramLookup, ScramServerExchange } from './scram.js';
import type { SaslSettings } from './options.js';

/** What the authenticator makes of a frame: an outcome (and whether to close once it is written). */
export interface SaslFrameResult {
  readonly outcome: FrameOutcome;
  /** Close the connection after this outcome is written (a failed login), with this reason. */
  readonly closeAfter?: string;
}

export interface SaslConnectionContext {
  readonly session: Session;
  readonly settings: SaslSettings;
  /** Mechanisms enabled on the listener, in the order answered. */
  readonly mechanisms: readonly string[];
  readonly lookup: ScramLookup;
  readonly secret: Uint8Array;
  readonly verifier: PlainVerifier;
  readonly audit: AuditLog | undefined;
  readonly now: () => number;
  /** Called once, when the first login succeeds (the server's unauthenticated count). */
  readonly onAuthenticated: () => void;
}

type State =
  | { readonly kind: 'initial'; readonly sawApiVersions: boolean }
  | { readonly kind: 'authenticate'; readonly mechanism: string; readonly exchange: MechanismExchange; readonly reauth: boolean }
  | { readonly kind: 'raw'; readonly mechanism: string; readonly exchange: MechanismExchange }
  | { readonly kind: 'complete' }
  | { readonly kind: 'failed' };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The parsed request, or null when the frame is malformed. */
function tryParse(frame: Buffer): ReturnType<typeof parseRequest> | null {
  try {
    return parseRequest(frame);
  } catch {
    return null;
  }
}

function apiName(apiKey: number): string {
  return apis.get(apiKey)?.name ?? `api key ${apiKey}`;
}

export class SaslAuthenticator {
  private state: State = { kind: 'initial', sawApiVersions: false };
  private readonly ctx: SaslConnectionContext;
  private authenticatedOnce = false;
  private clientId: string | null = null;

  constructor(ctx: SaslConnectionContext) {
    this.ctx = ctx;
  }

  /** True until the first login succeeded: frames are capped and taken one at a time. */
  get preAuthentication(): boolean {
    return !this.authenticatedOnce;
  }

  /** The largest frame accepted now, or null: the listener's own bound. */
  frameCap(): number | null {
    return this.authenticatedOnce ? null : this.ctx.settings.saslMaxReceiveBytes;
  }

  /** Writes the audit line of a failure that is not a frame (the deadline, an oversized frame). */
  auditFailure(reason: string, mechanism: string | null = null, user: string | null = null): void {
    const s = this.ctx.session;
    this.ctx.audit?.authenticationFailed({
      listener: s.listener, securityProtocol: s.securityProtocol, clientAddress: s.clientAddress, mechanism, claimedUser: user, clientId: this.clientId, reason,
    }, s.auditBudget);
  }

  /**
   * Takes a frame (without its size prefix) first. Null: the frame goes the ordinary way
   * (dispatch). Otherwise the answer, which never rejects.
   */
  onFrame(frame: Buffer): Promise<SaslFrameResult> | null {
    const state = this.state;
    switch (state.kind) {
      case 'failed': return Promise.resolve({ outcome: { kind: 'none' } });
      case 'raw': return this.guard(this.rawToken(state, frame));
      case 'initial': return this.initial(state, frame);
      case 'authenticate': {
        const key = frame.length >= 2 ? frame.readInt16BE(0) : -1;
        if (state.reauth && key !== apiKeys.SaslAuthenticate) return this.complete(frame);
        if (key !== apiKeys.SaslAuthenticate) {
          return this.violation(`unexpected ${apiName(key)} during SASL authentication`, state.mechanism);
        }
        return this.guard(this.authenticate(state, frame));
      }
      case 'complete': return this.complete(frame);
    }
  }

  private complete(frame: Buffer): Promise<SaslFrameResult> | null {
    const key = frame.length >= 2 ? frame.readInt16BE(0) : -1;
    const s = this.ctx.session;
    const reauthOn = this.ctx.settings.connectionsMaxReauthMs > 0;
    if (reauthOn && key === apiKeys.SaslHandshake) return this.guard(this.handshake(frame, true));
    if (s.sessionExpiresAtMs !== null && this.ctx.now() >= s.sessionExpiresAtMs) {
      return Promise.resolve({ outcome: { kind: 'close', reason: `SASL session of User:${s.principal.name} expired (connectionsMaxReauthMs); ${apiName(key)} refused` } });
    }
    return null;
  }

  private initial(state: Extract<State, { kind: 'initial' }>, frame: Buffer): Promise<SaslFrameResult> | null {
    if (frame.length < 4) return this.violation(`a ${frame.length}-byte frame before SASL handshake`, null);
    const key = frame.readInt16BE(0);
    const version = frame.readInt16BE(2);
    if (key === apiKeys.ApiVersions) {
      if (state.sawApiVersions) return this.violation('a second ApiVersions before SASL handshake', null);
      // An ApiVersions of a version not served is answered (KIP-511) and the client retries.
      if (version >= apiVersionsApi.minVersion && version <= apiVersionsApi.maxVersion) this.state = { kind: 'initial', sawApiVersions: true };
      return null;
    }
    if (key === apiKeys.SaslHandshake) return this.guard(this.handshake(frame, false));
    return this.violation(`unexpected ${apiName(key)} before SASL handshake`, null);
  }

  private async handshake(frame: Buffer, reauth: boolean): Promise<SaslFrameResult> {
    const parsed = tryParse(frame);
    if (parsed === null) return this.violationNow('malformed SaslHandshake', null);
    if (parsed.kind !== 'request') return this.violationNow(`SaslHandshake v${parsed.apiVersion} is not served`, null);
    this.clientId = parsed.header.clientId;
    const version = parsed.header.apiVersion;
    const { mechanism } = parsed.body as { mechanism: string };
    const answer = (code: number, mechanisms: readonly string[]): FrameOutcome => ({
      kind: 'response', frame: encodeResponseFrame(saslHandshakeApi, version, parsed.header.correlationId, { errorCode: code, mechanisms: [...mechanisms] }),
    });
    const s = this.ctx.session;
    if (reauth) {
      if (version < 1 || mechanism !== s.saslMechanism) {
        const why = version < 1 ? 'SaslHandshake v0 cannot re-authenticate' : `re-authentication changes the mechanism from ${s.saslMechanism} to ${mechanism.slice(0, 32)}`;
        this.auditFailure(why, mechanism.slice(0, 32), s.principal.name);
        this.state = { kind: 'failed' };
        return { outcome: answer(errorCode('ILLEGAL_SASL_STATE'), []), closeAfter: why };
      }
    } else if (!this.ctx.mechanisms.includes(mechanism)) {
      const why = `unsupported SASL mechanism ${JSON.stringify(mechanism.slice(0, 32))}`;
      this.auditFailure(why, null);
      this.state = { kind: 'failed' };
      return { outcome: answer(errorCode('UNSUPPORTED_SASL_MECHANISM'), this.ctx.mechanisms), closeAfter: why };
    }
    const exchange = this.exchangeFor(mechanism, reauth ? s.principal.name : null);
    this.state = version === 0 ? { kind: 'raw', mechanism, exchange } : { kind: 'authenticate', mechanism, exchange, reauth };
    return { outcome: answer(0, this.ctx.mechanisms) };
  }

  private exchangeFor(mechanism: string, requiredUser: string | null): MechanismExchange {
    if (isScramMechanism(mechanism)) return new ScramServerExchange(mechanism, this.ctx.lookup, this.ctx.secret, requiredUser);
    return new PlainServerExchange(this.ctx.lookup, this.ctx.secret, this.ctx.verifier, requiredUser);
  }

  private async authenticate(state: Extract<State, { kind: 'authenticate' }>, frame: Buffer): Promise<SaslFrameResult> {
    const parsed = tryParse(frame);
    if (parsed === null) return this.violationNow('malformed SaslAuthenticate', state.mechanism);
    if (parsed.kind !== 'request') return this.violationNow(`SaslAuthenticate v${parsed.apiVersion} is not served`, state.mechanism);
    const version = parsed.header.apiVersion;
    const respond = (body: SaslAuthenticateResponse): FrameOutcome => ({
      kind: 'response', frame: encodeResponseFrame(saslAuthenticateApi, version, parsed.header.correlationId, body),
    });
    const step = await state.exchange.step((parsed.body as { authBytes: Buffer }).authBytes);
    if (step.kind === 'challenge') return { outcome: respond({ errorCode: 0, errorMessage: null, authBytes: step.token, sessionLifetimeMs: 0 }) };
    if (step.kind === 'failure') {
      await this.failed(state.mechanism, step.reason, step.user);
      const message = `Authentication failed during authentication due to invalid credentials with SASL mechanism ${state.mechanism}`;
      return {
        outcome: respond({ errorCode: errorCode('SASL_AUTHENTICATION_FAILED'), errorMessage: message, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 }),
        closeAfter: `SASL authentication failed (${state.mechanism})`,
      };
    }
    const lifetime = this.succeeded(state.mechanism, step.user);
    return { outcome: respond({ errorCode: 0, errorMessage: null, authBytes: step.token, sessionLifetimeMs: version >= 1 ? lifetime : 0 }) };
  }

  private async rawToken(state: Extract<State, { kind: 'raw' }>, frame: Buffer): Promise<SaslFrameResult> {
    const step = await state.exchange.step(frame);
    const raw = (token: Buffer): FrameOutcome => {
      const out = Buffer.allocUnsafe(4 + token.length);
      out.writeInt32BE(token.length, 0);
      token.copy(out, 4);
      return { kind: 'response', frame: out };
    };
    if (step.kind === 'challenge') return { outcome: raw(step.token) };
    if (step.kind === 'failure') {
      await this.failed(state.mechanism, step.reason, step.user);
      return { outcome: { kind: 'close', reason: `SASL authentication failed (${state.mechanism}, SaslHandshake v0)` } };
    }
    this.succeeded(state.mechanism, step.user);
    return { outcome: raw(step.token) };
  }

  /** Records a login; returns the session lifetime (0: none). */
  private succeeded(mechanism: string, user: string): number {
    const s = this.ctx.session;
    const reauthMs = this.ctx.settings.connectionsMaxReauthMs;
    s.principal = Object.freeze({ type: 'User', name: user });
    s.saslMechanism = mechanism;
    s.sessionExpiresAtMs = reauthMs > 0 ? this.ctx.now() + reauthMs : null;
    this.state = { kind: 'complete' };
    if (!this.authenticatedOnce) {
      this.authenticatedOnce = true;
      this.ctx.onAuthenticated();
    }
    return reauthMs;
  }

  private async failed(mechanism: string, reason: string, user: string | null): Promise<void> {
    this.state = { kind: 'failed' };
    this.auditFailure(reason, mechanism, user);
    if (this.ctx.settings.failedAuthenticationDelayMs > 0) await sleep(this.ctx.settings.failedAuthenticationDelayMs);
  }

  private violation(reason: string, mechanism: string | null): Promise<SaslFrameResult> {
    return Promise.resolve(this.violationNow(reason, mechanism));
  }

  /** A request the login does not allow: audit line, no answer, close. */
  private violationNow(reason: string, mechanism: string | null): SaslFrameResult {
    this.state = { kind: 'failed' };
    this.auditFailure(reason, mechanism);
    return { outcome: { kind: 'close', reason } };
  }

  /** A bug in a step must end this login, not escape into the server. */
  private guard(p: Promise<SaslFrameResult>): Promise<SaslFrameResult> {
    return p.catch((err: unknown) => {
      this.state = { kind: 'failed' };
      this.auditFailure(`internal error: ${err instanceof Error ? err.message : String(err)}`);
      return { outcome: { kind: 'close', reason: 'SASL authentication failed (internal error)' } };
    });
  }
}
