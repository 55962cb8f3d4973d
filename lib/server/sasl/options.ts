/**
 * The SASL settings of a listener (Kafka's names in brackets) and the options a KafkaServer takes
 * for a SASL_PLAINTEXT or SASL_SSL listener.
 */
import type { SettingsOf } from '../../base/settings.js';
import type { ScramLookup } from './scram.js';
import type { PlainVerifier } from './plain.js';

/** The SASL mechanisms Flotilla serves. */
export const saslMechanismNames = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanismName = (typeof saslMechanismNames)[number];

export const saslSettings = {
  saslMaxReceiveBytes: {
    type: 'int', default: 524_288, min: 64, max: 2 ** 31 - 1, unit: 'bytes',
    doc: 'largest frame accepted before a SASL login completes (sasl.server.max.receive.size); a larger one closes the connection unread',
  },
  saslHandshakeTimeoutMs: {
    type: 'int', default: 10_000, min: 1, max: 3_600_000, unit: 'ms',
    doc: 'a connection that has not logged in this long after it opened is closed',
  },
  failedAuthenticationDelayMs: {
    type: 'int', default: 100, min: 0, max: 60_000, unit: 'ms',
    doc: 'delay before a failed login is answered and closed (connection.failed.authentication.delay.ms)',
  },
  connectionsMaxReauthMs: {
    type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, unit: 'ms',
    doc: 'SASL session lifetime; clients re-authenticate within it or are disconnected (connections.max.reauth.ms, KIP-368); 0: no limit',
  },
  maxUnauthenticatedConnections: {
    type: 'int', default: 1000, min: 1, max: 1_000_000,
    doc: 'connections of a SASL listener that have not logged in yet; more are refused at accept',
  },
} as const;

export type SaslSettings = SettingsOf<typeof saslSettings>;

export interface SaslServerOptions {
  /** The mechanisms enabled on this listener (default SCRAM-SHA-256 and SCRAM-SHA-512). */
  readonly mechanisms?: readonly SaslMechanismName[];
  /** Overrides of `saslSettings`. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** The node's secret for the salts answered to unknown users (default: random per server). */
  readonly secret?: Uint8Array;
  /** Where credentials are read (default: the broker's metadata image). */
  readonly credentials?: ScramLookup;
  /** Shared bound on PLAIN's PBKDF2 checks (default: one per server). */
  readonly plainVerifier?: PlainVerifier;
  /** The clock of session lifetimes (default Date.now). */
  readonly now?: () => number;
}
