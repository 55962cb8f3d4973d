/**
 * Who is on the other end of a client connection: the listener it came in on, its security
 * protocol, its address, and the principal it authenticated as (Kafka's KafkaPrincipal,
 * `User:ANONYMOUS` until a SASL exchange or a client certificate says otherwise).
 *
 * One Session per connection, created by the listener at accept; the SASL authenticator sets the
 * principal when a login succeeds, and every request's context carries the session so that the
 * authorizer and the audit lines see the principal, host and listener of the request.
 */

import { AuditBudget } from './audit.js';

/** Kafka's listener security protocols (`security.protocol`). */
export const securityProtocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof securityProtocols)[number];

/** Kafka's KafkaPrincipal: a type ("User") and a name. */
export interface KafkaPrincipal {
  readonly type: string;
  readonly name: string;
}

/** The principal of a connection that has not authenticated (Kafka's KafkaPrincipal.ANONYMOUS). */
export const ANONYMOUS: KafkaPrincipal = Object.freeze({ type: 'User', name: 'ANONYMOUS' });

/** "User:alice": the form ACLs and super-user lists name principals in. */
export function principalString(p: KafkaPrincipal): string {
  return `${p.type}:${p.name}`;
}

/** True when the listener runs TLS. */
export function usesTls(protocol: SecurityProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL';
}

/** True when the listener requires a SASL login before any other request. */
export function usesSasl(protocol: SecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
}

/**
 * The client's address as ACL hosts name it: an IPv4 client of a dual-stack listener is reported
 * by Node as "::ffff:127.0.0.1"; Kafka compares ACL hosts as exact strings with the client's
 * InetAddress, which is "127.0.0.1" there.
 */
export function normaliseAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice('::ffff:'.length) : address;
}

export interface Session {
  /** The listener's name ("PLAINTEXT", "SASL_SSL", or the name given in --listeners). */
  readonly listener: string;
  readonly securityProtocol: SecurityProtocol;
  /** The client's address, normalised (normaliseAddress); '' when unknown (in-process tests). */
  readonly clientAddress: string;
  /** Who the connection speaks for; ANONYMOUS until authenticated. */
  principal: KafkaPrincipal;
  /** The SASL mechanism the principal logged in with, or null (none, or a certificate). */
  saslMechanism: string | null;
  /** When the SASL session ends (KIP-368, ms since the epoch), or null: never. */
  sessionExpiresAtMs: number | null;
  /** This connection's share of the audit log's rate limit (audit.ts). */
  readonly auditBudget: AuditBudget;
}

/** A session on a plaintext listener with no authentication: what in-process callers and tests use. */
export function plaintextSession(clientAddress = '', listener = 'PLAINTEXT'): Session {
  return { listener, securityProtocol: 'PLAINTEXT', clientAddress, principal: ANONYMOUS, saslMechanism: null, sessionExpiresAtMs: null, auditBudget: new AuditBudget() };
}
