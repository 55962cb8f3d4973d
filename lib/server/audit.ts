/**
 * The audit trail of the client listeners: one structured log line per failed authentication
 * (bad password, bad certificate, a protocol violation before login, an oversized pre-auth frame)
 * and per explicit authorization denial, with the principal, host, listener, client id, API,
 * operation, resource and the rule or reason. Filtering checks (Metadata leaving out topics the
 * caller may not describe) are not denials and write nothing.
 *
 * Lines are rate-limited per connection (`linesPerSecondPerConnection`, then one "suppressed N"
 * line when the next second allows a line again) so a looping client cannot flood the log; the
 * counters count every event. Never pass a password, token, proof, salt or key in a field.
 */
import type { KafkaPrincipal, SecurityProtocol } from './session.js';
import { principalString } from './session.js';

/** A failed authentication. */
export interface AuthenticationFailure {
  readonly listener: string;
  readonly securityProtocol: SecurityProtocol;
  readonly clientAddress: string;
  /** The SASL mechanism, 'TLS' for a certificate, or null (a violation before any mechanism). */
  readonly mechanism: string | null;
  /** The user name the client claimed (never its password), when one was read. */
  readonly claimedUser?: string | null;
  readonly clientId?: string | null;
  /** Why, in words fit for an operator: "bad credentials", "CERT_HAS_EXPIRED", "Metadata before SASL handshake". */
  readonly reason: string;
}

/** An explicit authorization denial. */
export interface AuthorizationDenial {
  readonly principal: KafkaPrincipal;
  readonly clientAddress: string;
  readonly listener: string;
  readonly clientId: string | null;
  /** The API name ("Produce"). */
  readonly api: string;
  readonly correlationId: number;
  /** Kafka's operation name ("WRITE"). */
  readonly operation: string;
  /** "Topic:LITERAL:orders", as Kafka's authorizer logs name resources. */
  readonly resource: string;
  /** What decided: an ACL ("acl <id>"), "default-deny" (no ACL matched), "no-acl-found-deny". */
  readonly rule: string;
}

/** Where audit lines go: the node wires it to its structured logger (component "audit"). */
export type AuditSink = (fields: Readonly<Record<string, unknown>>, message: string) => void;

/** The per-connection rate limiter: one per connection, passed with each event. */
export class AuditBudget {
  windowStartMs = -Infinity;
  linesInWindow = 0;
  suppressed = 0;
}

export class AuditLog {
  /** Failed authentications, by `listener|mechanism|reason`. */
  readonly authenticationFailures = new Map<string, number>();
  /** Denials, by `api|resourceType`. */
  readonly denials = new Map<string, number>();
  private readonly sink: AuditSink | undefined;
  private readonly linesPerSecond: number;
  private readonly now: () => number;

  constructor(sink: AuditSink | undefined, linesPerSecondPerConnection = 5, now: () => number = Date.now) {
    this.sink = sink;
    this.linesPerSecond = linesPerSecondPerConnection;
    this.now = now;
  }

  authenticationFailed(f: AuthenticationFailure, budget: AuditBudget): void {
    // The reason is free text; keep the label set bounded by its first words.
    const key = `${f.listener}|${f.mechanism ?? 'none'}|${f.reason.split(':')[0]!.slice(0, 48)}`;
    if (this.authenticationFailures.has(key) || this.authenticationFailures.size < 1024) {
      this.authenticationFailures.set(key, (this.authenticationFailures.get(key) ?? 0) + 1);
    }
    this.emit(budget, {
      event: 'authentication-failed', listener: f.listener, securityProtocol: f.securityProtocol, host: f.clientAddress,
      mechanism: f.mechanism, claimedUser: f.claimedUser ?? null, clientId: f.clientId ?? null, reason: f.reason,
    }, `authentication failed on listener ${f.listener} from ${f.clientAddress || '?'}: ${f.reason}`);
  }

  denied(d: AuthorizationDenial, budget: AuditBudget): void {
    const resourceType = d.resource.split(':')[0] ?? 'unknown';
    const key = `${d.api}|${resourceType}`;
    this.denials.set(key, (this.denials.get(key) ?? 0) + 1);
    const principal = principalString(d.principal);
    this.emit(budget, {
      event: 'authorization-denied', principal, host: d.clientAddress, listener: d.listener, clientId: d.clientId, api: d.api,
      correlationId: d.correlationId, operation: d.operation, resource: d.resource, rule: d.rule,
    }, `denied ${principal} from ${d.clientAddress || '?'}: ${d.operation} on ${d.resource} (${d.api}, ${d.rule})`);
  }

  private emit(budget: AuditBudget, fields: Record<string, unknown>, message: string): void {
    if (this.sink === undefined) return;
    const now = this.now();
    if (now - budget.windowStartMs >= 1000) {
      if (budget.suppressed > 0) {
        this.sink({ event: 'audit-suppressed', suppressed: budget.suppressed }, `${budget.suppressed} audit lines of this connection suppressed in the last second`);
      }
      budget.windowStartMs = now;
      budget.linesInWindow = 0;
      budget.suppressed = 0;
    }
    if (budget.linesInWindow >= this.linesPerSecond) {
      budget.suppressed++;
      return;
    }
    budget.linesInWindow++;
    this.sink(fields, message);
  }
}
