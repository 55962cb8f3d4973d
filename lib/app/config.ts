/**
 * A node's configuration: one settings table (lib/base/settings.ts) feeds validation, the
 * `flotilla start` flags, the environment variable names and the README's table.
 *
 * Sources, highest precedence first:
 *   1. command-line flags       `--node-id 1`            (kebab-case of the setting name)
 *   2. environment variables    `FLOTILLA_NODE_ID=1`     (FLOTILLA_ + UPPER_SNAKE of the name)
 *   3. a JSON config file       `{"nodeId": 1}` or `{"node-id": 1}` (`--config FILE` / FLOTILLA_CONFIG)
 *   4. the table's defaults
 *
 * Flags and environment variables are strings and are parsed by the setting's type; the file may
 * hold JSON numbers and booleans or strings. Any bad value raises INVALID_CONFIG whose message names
 * the setting by its flag and says where the value came from, e.g.
 *   `invalid setting --listen: "abc" is not HOST:PORT`
 *   `invalid setting --node-id (env FLOTILLA_NODE_ID): must be an integer, got "x"`
 * The result is validated once and frozen.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FlotillaError, isFlotillaError } from '../base/errors.js';
import { type SettingsOf, type SettingsTable, validateSettings } from '../base/settings.js';
import { type PeerTlsFiles, peerSecurityProblem } from '../transport/peer-tls.js';
import { type SecurityProtocol, securityProtocols, usesTls } from '../server/session.js';
import { parseMappingRules } from '../server/ssl-principal.js';

/** The log levels a node accepts (pino's). */
export const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof logLevels)[number];

/**
 * The settings table. Settings that must be given (`required` below) carry a placeholder default
 * that is never used; settings parsed from a string (HOST:PORT, the controller list) have type
 * 'string' here and are parsed and checked in `check`.
 */
export const nodeSettings = {
  nodeId: { type: 'int', default: -1, min: 0, max: 2 ** 31 - 1, doc: "this node's id, unique in the cluster" },
  dataDir: { type: 'string', default: '', doc: 'directory for the logs, snapshots and metadata of this node' },
  listen: { type: 'string', default: '127.0.0.1:9092', doc: 'HOST:PORT of the Kafka client listener' },
  advertisedHost: { type: 'string', default: '', doc: 'host name given to clients in metadata (default: the listen host)' },
  peerListen: { type: 'string', default: '127.0.0.1:19092', doc: 'HOST:PORT of the listener for other nodes (Raft, controller RPCs)' },
  controllers: { type: 'string', default: '', doc: 'the controller quorum voters: ID@HOST:PORT,... (their peer addresses)' },
  peerAddresses: { type: 'string', default: '', doc: "where to reach other nodes, overriding what they registered: ID@HOST:PORT,... (proxies, NAT; chaos runs route each link through a proxy)" },
  rack: { type: 'string', default: '', doc: 'rack (or zone) of this node, used to spread replicas (optional)' },
  clusterId: { type: 'string', default: 'flotilla-local', doc: 'cluster id; nodes of another cluster are refused' },
  metricsListen: { type: 'string', default: '', doc: 'HOST:PORT of the HTTP server for /metrics, /status, /healthz, or "off" (default: loopback, client port + 2000)' },
  logLevel: { type: 'enum', default: 'info', values: logLevels, doc: 'log level' },
  fsync: { type: 'bool', default: true, doc: 'fsync writes before acknowledging them (turn off only for tests)' },
  autoCreateTopics: { type: 'bool', default: true, doc: 'create a topic when a client asks for metadata of an unknown one (auto.create.topics.enable)' },
  numPartitions: { type: 'int', default: 1, min: 1, max: 100_000, doc: 'partition count of auto-created topics and of CreateTopics without one' },
  defaultReplicationFactor: { type: 'int', default: 3, min: 1, max: 15, doc: 'replication factor of auto-created topics and of CreateTopics without one (capped at the node count)' },
  tickMs: { type: 'int', default: 100, min: 1, max: 60_000, unit: 'ms', doc: 'Raft tick interval (election and heartbeat timeouts count ticks)' },
  maxRequestBytes: { type: 'int', default: 104_857_600, min: 1024, max: 2 ** 31 - 1, unit: 'bytes', doc: 'largest client request frame accepted' },
  logCheckIntervalMs: { type: 'int', default: 1_000, min: 10, max: 3_600_000, unit: 'ms', doc: 'how often retention, segment trimming, cleaning orders and flush.ms are checked (per partition)' },
  logCleanerBackoffMs: { type: 'int', default: 15_000, min: 0, max: 3_600_000, unit: 'ms', doc: 'least time between two cleaning passes of one compacted partition (log.cleaner.backoff.ms)' },
  logCleanerDedupeBytes: { type: 'int', default: 128 * 1024 * 1024, min: 1024, max: 2 ** 40, unit: 'bytes', doc: "memory for the cleaner's key -> offset map (log.cleaner.dedupe.buffer.size)" },
  logCleanerIoBytesPerSecond: { type: 'int', default: 64 * 1024 * 1024, min: 1024, max: 2 ** 40, unit: 'bytes/s', doc: 'bytes the cleaner reads and writes per second (log.cleaner.io.max.bytes.per.second)' },
  // ---- peer transport security (issue 18, peers) ----
  peerTlsCertFile: { type: 'string', default: '', doc: "PEM certificate of this node for the peer transport (mutual TLS); must name this node with the SAN URI:urn:flotilla:node:<id>" },
  peerTlsKeyFile: { type: 'string', default: '', doc: 'PEM private key of --peer-tls-cert-file' },
  peerTlsCaFile: { type: 'string', default: '', doc: "PEM CA certificate(s) that sign every node's peer certificate; peers presenting anything else are refused" },
  // ---- listeners and TLS for clients (issue 18) ----
  listeners: { type: 'string', default: '', doc: 'named client listeners NAME://HOST:PORT,... (Kafka listeners; default: one PLAINTEXT listener on --listen)' },
  advertisedListeners: { type: 'string', default: '', doc: 'what clients are told per listener: NAME://HOST:PORT,... (default: the listener address, or --advertised-host when it binds every address)' },
  listenerSecurityProtocolMap: { type: 'string', default: '', doc: 'NAME:PROTOCOL,... with PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; a listener named like a protocol uses it' },
  tlsCertFile: { type: 'string', default: '', doc: 'PEM certificate (chain) of the TLS listeners; reloaded when the file changes and on SIGHUP' },
  tlsKeyFile: { type: 'string', default: '', doc: 'PEM private key of --tls-cert-file (unencrypted)' },
  tlsCaFile: { type: 'string', default: '', doc: 'PEM CA certificates that client certificates must chain to (needed when client auth is on)' },
  tlsClientAuth: { type: 'string', default: 'none', doc: 'client certificates on TLS listeners (ssl.client.auth): none, requested, required, or NAME:MODE,... per listener' },
  tlsMinVersion: { type: 'enum', default: 'TLSv1.2', values: ['TLSv1.2', 'TLSv1.3'], doc: 'lowest TLS version the TLS listeners accept' },
  sslPrincipalMappingRules: { type: 'string', default: 'DEFAULT', doc: 'client certificate DN to principal name (ssl.principal.mapping.rules): RULE:pattern/replacement/[LU],...,DEFAULT' },
  metricsToken: { type: 'string', default: '', doc: 'when set, the HTTP endpoints require "Authorization: Bearer TOKEN" (/healthz excepted)' },
  metricsTls: { type: 'bool', default: false, doc: 'serve the HTTP endpoints over TLS with --tls-cert-file and --tls-key-file' },
  // SASL logins and SCRAM credentials (lib/server/sasl)
  saslMechanisms: { type: 'string', default: 'SCRAM-SHA-256,SCRAM-SHA-512', doc: 'SASL mechanisms of the SASL listeners (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512): MECH,... for all, or NAME:MECH+MECH,... per listener (sasl.enabled.mechanisms)' },
  saslMaxReceiveBytes: { type: 'int', default: 524_288, min: 64, max: 2 ** 31 - 1, unit: 'bytes', doc: 'largest frame accepted before a SASL login completes; a larger one closes the connection (sasl.server.max.receive.size)' },
  saslHandshakeTimeoutMs: { type: 'int', default: 10_000, min: 1, max: 3_600_000, unit: 'ms', doc: 'a SASL connection not logged in this long after it opened is closed' },
  failedAuthenticationDelayMs: { type: 'int', default: 100, min: 0, max: 60_000, unit: 'ms', doc: 'delay before a failed login is answered and closed (connection.failed.authentication.delay.ms)' },
  connectionsMaxReauthMs: { type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, unit: 'ms', doc: 'SASL session lifetime: clients re-authenticate within it or are disconnected; 0: no limit (connections.max.reauth.ms, KIP-368)' },
  maxUnauthenticatedConnections: { type: 'int', default: 1000, min: 1, max: 1_000_000, doc: 'connections of a SASL listener not logged in yet; more are refused at accept' },
  maxConnectionsPerIp: { type: 'int', default: 10_000, min: 1, max: 1_000_000, doc: 'client connections from one address, on every listener; more are refused at accept (max.connections.per.ip)' },
  addScram: { type: 'string', default: '', doc: "SCRAM credentials written once when the cluster's metadata log is created: MECH=[name=N,password=P] or MECH=[name=N,password-file=F][,iterations=I]; several separated by ';' (kafka-storage format --add-scram)" },
  // ---- authorization (lib/auth) ----
  authorizer: { type: 'bool', default: false, doc: "enforce ACLs on every client request (Kafka's StandardAuthorizer); off: every request is allowed" },
  superUsers: { type: 'string', default: '', doc: 'principals allowed everything, whatever the ACLs: User:admin;User:ops (super.users)' },
  allowEveryoneIfNoAclFound: { type: 'bool', default: false, doc: 'allow a request on a resource that has no ACL at all (allow.everyone.if.no.acl.found)' },
} as const satisfies SettingsTable;

export type NodeSettingName = keyof typeof nodeSettings;
export type NodeSettings = SettingsOf<typeof nodeSettings>;

/** Settings with no usable default. */
export const requiredSettings: readonly NodeSettingName[] = ['nodeId', 'dataDir', 'controllers'];

/** Upper bound on the controller quorum size (a Raft voter set; 3 or 5 is usual). */
export const controllersMax = 15;
/** The metrics port defaults to the client port plus this. */
export const metricsPortOffset = 2000;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ControllerAddress extends HostPort {
  readonly id: number;
}

/** Whether a TLS listener asks for client certificates (Kafka's ssl.client.auth). */
export const tlsClientAuthModes = ['none', 'requested', 'required'] as const;
export type TlsClientAuth = (typeof tlsClientAuthModes)[number];

/** One client listener: where it binds, what clients are told, its protocol. */
export interface ListenerConfig {
  /** Upper case, as Kafka normalises listener names. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly advertisedHost: string;
  readonly advertisedPort: number;
  readonly securityProtocol: SecurityProtocol;
  /** 'none' on listeners without TLS. */
  readonly clientAuth: TlsClientAuth;
}

/** The certificate files of the TLS listeners (and of the metrics server with --metrics-tls). */
export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string | null;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
}

/** A validated, frozen node configuration. */
export interface NodeConfig {
  readonly nodeId: number;
  /** Absolute path. */
  readonly dataDir: string;
  readonly listen: HostPort;
  readonly advertisedHost: string;
  readonly peerListen: HostPort;
  /** Controller voters in the order given, ids unique. */
  readonly controllers: readonly ControllerAddress[];
  /** Overrides of other nodes' peer addresses (empty: use what they registered). */
  readonly peerAddresses: readonly ControllerAddress[];
  /** True when this node is one of the controllers. */
  readonly isController: boolean;
  readonly rack: string | null;
  readonly clusterId: string;
  /** null when metrics are off. */
  readonly metricsListen: HostPort | null;
  readonly logLevel: LogLevel;
  readonly fsync: boolean;
  readonly autoCreateTopics: boolean;
  readonly numPartitions: number;
  readonly defaultReplicationFactor: number;
  readonly tickMs: number;
  readonly maxRequestBytes: number;
  readonly logCheckIntervalMs: number;
  readonly logCleanerBackoffMs: number;
  readonly logCleanerDedupeBytes: number;
  readonly logCleanerIoBytesPerSecond: number;
  /** Authorization: ACLs enforced (lib/auth), the super users ("User:admin"), allow-everyone. */
  readonly authorizer: boolean;
  readonly superUsers: readonly string[];
  readonly allowEveryoneIfNoAclFound: boolean;
  /** Peer transport mutual TLS (absolute paths), or null: plaintext peers. */
  readonly peerTls: PeerTlsFiles | null;
  /** The client listeners, at least one; the first is the one `listen` names. */
  readonly listeners: readonly ListenerConfig[];
  /** null when no TLS files are given. */
  readonly tls: TlsConfig | null;
  /** Validated `ssl.principal.mapping.rules` text (parse with parseMappingRules). */
  readonly sslPrincipalMappingRules: string;
  /** null: the HTTP endpoints need no token. */
  readonly metricsToken: string | null;
  readonly metricsTls: boolean;
  /** SASL logins and SCRAM credentials (issue 18). */
  readonly sasl: SaslNodeConfig;
}

/** A SCRAM credential to write when the cluster is created (--add-scram). Never logged. */
export interface BootstrapScram {
  readonly mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  readonly name: string;
  readonly password: string;
  readonly iterations: number;
}

export type SaslMechanismSetting = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export interface SaslNodeConfig {
  /** The mechanisms of every SASL listener not named in `byListener`. */
  readonly mechanisms: readonly SaslMechanismSetting[];
  /** Mechanisms per listener name (NAME:MECH+MECH,...). */
  readonly byListener: ReadonlyMap<string, readonly SaslMechanismSetting[]>;
  readonly maxReceiveBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly failedAuthenticationDelayMs: number;
  readonly connectionsMaxReauthMs: number;
  readonly maxUnauthenticatedConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly addScram: readonly BootstrapScram[];
}

const SASL_MECHANISMS: readonly SaslMechanismSetting[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

function parseMechanismList(text: string, sep: string): SaslMechanismSetting[] {
  const out: SaslMechanismSetting[] = [];
  for (const m of text.split(sep).map((x) => x.trim()).filter((x) => x !== '')) {
    if (!(SASL_MECHANISMS as readonly string[]).includes(m)) throw new Error(`${JSON.stringify(m)} is not a SASL mechanism (${SASL_MECHANISMS.join(', ')})`);
    if (!out.includes(m as SaslMechanismSetting)) out.push(m as SaslMechanismSetting);
  }
  if (out.length === 0) throw new Error('names no mechanism');
  return out;
}

/** `MECH,...` (every SASL listener) or `NAME:MECH+MECH,...` (per listener). */
export function parseSaslMechanisms(text: string): { mechanisms: SaslMechanismSetting[]; byListener: Map<string, SaslMechanismSetting[]> } {
  if (!text.includes(':')) return { mechanisms: parseMechanismList(text, ','), byListener: new Map() };
  const byListener = new Map<string, SaslMechanismSetting[]>();
  for (const part of text.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    const colon = part.indexOf(':');
    const name = part.slice(0, colon).trim();
    if (colon <= 0 || !/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`${JSON.stringify(part)} is not NAME:MECH+MECH`);
    if (byListener.has(name)) throw new Error(`listener ${name} is named twice`);
    byListener.set(name, parseMechanismList(part.slice(colon + 1), '+'));
  }
  return { mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'], byListener };
}

/**
 * `SCRAM-SHA-512=[name=admin,password=secret]` or `...password-file=PATH` (the file's first line),
 * optional `iterations=N` (4096..16384, default 8192); several separated by ';'. Errors never
 * quote a password.
 */
export function parseAddScram(text: string, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): BootstrapScram[] {
  const out: BootstrapScram[] = [];
  for (const entry of text.split(';').map((x) => x.trim()).filter((x) => x !== '')) {
    const m = /^(SCRAM-SHA-256|SCRAM-SHA-512)=\[(.*)\]$/.exec(entry);
    if (m === null) throw new Error('each entry must be SCRAM-SHA-256=[...] or SCRAM-SHA-512=[...]');
    const fields = new Map<string, string>();
    for (const kv of m[2]!.split(',')) {
      const eq = kv.indexOf('=');
      const key = eq < 0 ? kv.trim() : kv.slice(0, eq).trim();
      if (eq < 0 || !['name', 'password', 'password-file', 'iterations'].includes(key)) throw new Error(`unknown or malformed field ${JSON.stringify(key.slice(0, 20))} (name, password, password-file, iterations)`);
      if (fields.has(key)) throw new Error(`field ${key} is given twice`);
      fields.set(key, kv.slice(eq + 1));
    }
    const name = fields.get('name') ?? '';
    if (name === '') throw new Error('name= is required and must not be empty');
    let password = fields.get('password');
    const file = fields.get('password-file');
    if ((password === undefined) === (file === undefined)) throw new Error(`give exactly one of password= and password-file= for ${name}`);
    if (file !== undefined) {
      try {
        password = readFile(file).split(/\r?\n/)[0] ?? '';
      } catch (err) {
        throw new Error(`cannot read password-file ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    }
    if (password === undefined || password === '') throw new Error(`the password of ${name} is empty`);
    const iterations = fields.has('iterations') ? Number(fields.get('iterations')) : 8192;
    if (!Number.isInteger(iterations) || iterations < 4096 || iterations > 16384) throw new Error(`iterations of ${name} must be 4096..16384`);
    if (out.some((o) => o.name === name && o.mechanism === m[1])) throw new Error(`${m[1]} of ${name} is given twice`);
    out.push({ mechanism: m[1] as BootstrapScram['mechanism'], name, password, iterations });
  }
  return out;
}

/** `nodeId` -> `--node-id`. */
export function flagOf(name: string): string {
  return `--${kebabOf(name)}`;
}

/** `nodeId` -> `FLOTILLA_NODE_ID`. */
export function envOf(name: string): string {
  return `FLOTILLA_${kebabOf(name).replaceAll('-', '_').toUpperCase()}`;
}

function kebabOf(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function camelOf(kebab: string): string {
  return kebab.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Where a setting's value came from (for the error message). */
type Source = { readonly kind: 'flag' } | { readonly kind: 'env'; readonly name: string } | { readonly kind: 'file'; readonly path: string; readonly key: string } | { readonly kind: 'default' };

function describeSource(source: Source | undefined): string {
  switch (source?.kind) {
    case 'env':
      return ` (env ${source.name})`;
    case 'file':
      return ` (config file ${source.path}, key "${source.key}")`;
    default:
      return '';
  }
}

export interface LoadNodeConfigInput {
  /** Commander's option values (camelCase keys); undefined values are ignored. `config` names a file. */
  readonly flags?: Readonly<Record<string, unknown>>;
  /** Usually process.env; only FLOTILLA_* names are read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Path of a JSON config file (overrides flags.config and FLOTILLA_CONFIG when given). */
  readonly file?: string;
  /** Base directory for a relative dataDir (default: process.cwd()). */
  readonly cwd?: string;
}

function invalid(name: string, source: Source | undefined, why: string): never {
  throw new FlotillaError('INVALID_CONFIG', `invalid setting ${flagOf(name)}${describeSource(source)}: ${why}`, {
    setting: name,
    flag: flagOf(name),
    env: envOf(name),
  });
}

/** Parses a string value (flag or env) by the setting's type; other values pass through. */
function fromString(name: NodeSettingName, raw: string, source: Source): unknown {
  const spec = nodeSettings[name];
  switch (spec.type) {
    case 'int': {
      const text = raw.trim();
      if (!/^[+-]?\d+$/.test(text)) invalid(name, source, `must be an integer, got ${JSON.stringify(raw)}`);
      return Number(text);
    }
    case 'bool': {
      const text = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(text)) return true;
      if (['false', '0', 'no', 'off'].includes(text)) return false;
      return invalid(name, source, `must be true or false, got ${JSON.stringify(raw)}`);
    }
    default:
      return raw;
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new FlotillaError('INVALID_CONFIG', `invalid setting --config: cannot read ${JSON.stringify(path)}: ${(err as Error).message}`, { setting: 'config', flag: '--config' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new FlotillaError('INVALID_CONFIG', `invalid setting --config: ${JSON.stringify(path)} is not valid JSON: ${(err as Error).message}`, { setting: 'config', flag: '--config' });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new FlotillaError('INVALID_CONFIG', `invalid setting --config: ${JSON.stringify(path)} must hold a JSON object`, { setting: 'config', flag: '--config' });
  }
  return parsed as Record<string, unknown>;
}

/**
 * Gathers the settings from flags, environment and config file, validates them and returns the
 * frozen NodeConfig. Throws FlotillaError INVALID_CONFIG naming the first bad setting.
 */
export function loadNodeConfig(input: LoadNodeConfigInput = {}): NodeConfig {
  const names = Object.keys(nodeSettings) as NodeSettingName[];
  const values: Partial<Record<NodeSettingName, unknown>> = {};
  const sources: Partial<Record<NodeSettingName, Source>> = {};
  const env = input.env ?? {};
  const flags = input.flags ?? {};

  // 3. config file
  const filePath = input.file ?? (typeof flags.config === 'string' ? flags.config : undefined) ?? nonEmpty(env.FLOTILLA_CONFIG);
  if (filePath !== undefined) {
    const file = readConfigFile(filePath);
    for (const [key, value] of Object.entries(file)) {
      const name = camelOf(key);
      if (!Object.hasOwn(nodeSettings, name)) {
        throw new FlotillaError('INVALID_CONFIG', `invalid setting in config file ${filePath}: ${JSON.stringify(key)} is not a known setting`, { setting: key, flag: '--config' });
      }
      const n = name as NodeSettingName;
      if (value === null || value === undefined) continue;
      const source: Source = { kind: 'file', path: filePath, key };
      const spec = nodeSettings[n];
      values[n] = typeof value === 'string' && spec.type !== 'string' && spec.type !== 'enum' ? fromString(n, value, source) : value;
      sources[n] = source;
    }
  }
  // 2. environment
  for (const name of names) {
    const raw = nonEmpty(env[envOf(name)]);
    if (raw === undefined) continue;
    const source: Source = { kind: 'env', name: envOf(name) };
    values[name] = fromString(name, raw, source);
    sources[name] = source;
  }
  // 1. flags
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined || key === 'config') continue;
    if (!Object.hasOwn(nodeSettings, key)) continue; // other options of the command
    const name = key as NodeSettingName;
    const source: Source = { kind: 'flag' };
    values[name] = typeof value === 'string' ? fromString(name, value, source) : value;
    sources[name] = source;
  }

  for (const name of requiredSettings) {
    if (values[name] === undefined) {
      invalid(name, undefined, `is required (give ${flagOf(name)}, ${envOf(name)}, or "${name}" in the config file)`);
    }
  }

  let settings: NodeSettings;
  let parsed: ReturnType<typeof checkNode> | undefined;
  try {
    settings = validateSettings(nodeSettings, values, 'node', (s, fail) => {
      parsed = checkNode(s, fail, input.cwd ?? process.cwd(), new Set(Object.keys(sources) as NodeSettingName[]));
    });
  } catch (err) {
    if (isFlotillaError(err, 'INVALID_CONFIG') && typeof err.details.setting === 'string' && err.details.setting.startsWith('node.')) {
      // Re-word the table's message ("node.listen must be ...") to name the flag and the source.
      const name = err.details.setting.slice('node.'.length);
      const prefix = `INVALID_CONFIG: node.${name} `;
      const why = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
      invalid(name, sources[name as NodeSettingName], why);
    }
    throw err;
  }
  if (parsed === undefined) throw new Error('unreachable: check did not run');
  const config: NodeConfig = Object.freeze({
    nodeId: settings.nodeId,
    dataDir: parsed.dataDir,
    listen: parsed.listen,
    advertisedHost: parsed.advertisedHost,
    peerListen: parsed.peerListen,
    controllers: parsed.controllers,
    peerAddresses: parsed.peerAddresses,
    isController: parsed.isController,
    rack: parsed.rack,
    clusterId: settings.clusterId,
    metricsListen: parsed.metricsListen,
    logLevel: settings.logLevel,
    fsync: settings.fsync,
    autoCreateTopics: settings.autoCreateTopics,
    numPartitions: settings.numPartitions,
    defaultReplicationFactor: settings.defaultReplicationFactor,
    tickMs: settings.tickMs,
    maxRequestBytes: settings.maxRequestBytes,
    logCheckIntervalMs: settings.logCheckIntervalMs,
    logCleanerBackoffMs: settings.logCleanerBackoffMs,
    logCleanerDedupeBytes: settings.logCleanerDedupeBytes,
    logCleanerIoBytesPerSecond: settings.logCleanerIoBytesPerSecond,
    peerTls: parsed.peerTls,
    listeners: parsed.listeners,
    tls: parsed.tls,
    sslPrincipalMappingRules: settings.sslPrincipalMappingRules,
    metricsToken: settings.metricsToken === '' ? null : settings.metricsToken,
    metricsTls: settings.metricsTls,
    sasl: Object.freeze({
      ...parsed.sasl,
      maxReceiveBytes: settings.saslMaxReceiveBytes,
      handshakeTimeoutMs: settings.saslHandshakeTimeoutMs,
      failedAuthenticationDelayMs: settings.failedAuthenticationDelayMs,
      connectionsMaxReauthMs: settings.connectionsMaxReauthMs,
      maxUnauthenticatedConnections: settings.maxUnauthenticatedConnections,
      maxConnectionsPerIp: settings.maxConnectionsPerIp,
    }),
    authorizer: settings.authorizer,
    superUsers: parsed.superUsers,
    allowEveryoneIfNoAclFound: settings.allowEveryoneIfNoAclFound,
  });
  checkPeerSecurity(config, sources.peerTlsCertFile);
  return config;
}

/** A node with secured client listeners must not run a plaintext peer transport. */
function checkPeerSecurity(config: NodeConfig, source: Source | undefined): void {
  const why = peerSecurityProblem(config.listeners.map((l) => l.securityProtocol), config.peerTls !== null);
  if (why !== null) invalid('peerTlsCertFile', source, why);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

type Fail = (name: NodeSettingName, why: string) => never;

/** Parses the string-typed settings and checks relations between settings. */
function checkNode(s: NodeSettings, fail: Fail, cwd: string, given: ReadonlySet<NodeSettingName>) {
  if (s.dataDir.trim() === '') fail('dataDir', 'must not be empty');
  const listeners = checkListeners(s, fail, given);
  const tls = checkTls(s, fail, listeners);
  const listen = s.listeners === ''
    ? parseHostPort(s.listen, { allowZeroPort: true }) ?? fail('listen', `${JSON.stringify(s.listen)} is not HOST:PORT`)
    : Object.freeze({ host: listeners[0]!.host, port: listeners[0]!.port });
  const peerListen = parseHostPort(s.peerListen, { allowZeroPort: true }) ?? fail('peerListen', `${JSON.stringify(s.peerListen)} is not HOST:PORT`);
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(s.clusterId)) fail('clusterId', `${JSON.stringify(s.clusterId)} must be 1-255 characters of A-Z a-z 0-9 . _ -`);
  if (s.rack !== '' && !/^[\x21-\x7e]{1,255}$/.test(s.rack)) fail('rack', `${JSON.stringify(s.rack)} must be 1-255 printable characters without spaces`);

  let advertisedHost = s.advertisedHost;
  if (s.listeners !== '') {
    advertisedHost = listeners[0]!.advertisedHost;
  } else if (advertisedHost === '') {
    if (isWildcard(listen.host)) fail('advertisedHost', `must be given when --listen binds every address (${listen.host}); clients need a host they can reach`);
    advertisedHost = listen.host;
  } else if (!isHost(advertisedHost) || isWildcard(advertisedHost)) {
    fail('advertisedHost', `${JSON.stringify(advertisedHost)} is not a host name or address clients can reach`);
  }

  let controllers: readonly ControllerAddress[];
  try {
    controllers = parseControllers(s.controllers);
  } catch (err) {
    return fail('controllers', (err as Error).message);
  }
  let peerAddresses: readonly ControllerAddress[] = [];
  if (s.peerAddresses !== '') {
    try {
      peerAddresses = parseControllers(s.peerAddresses);
    } catch (err) {
      return fail('peerAddresses', (err as Error).message);
    }
  }
  const self = controllers.find((c) => c.id === s.nodeId);
  if (self !== undefined && peerListen.port !== 0 && self.port !== peerListen.port) {
    fail('controllers', `lists this node (${s.nodeId}) at port ${self.port}, but --peer-listen is ${formatHostPort(peerListen)}`);
  }
  if (self !== undefined && peerListen.port === 0) {
    fail('peerListen', `port 0 is not allowed on a controller (the controllers list names port ${self.port})`);
  }

  let metricsListen: HostPort | null;
  if (s.metricsListen === 'off') {
    metricsListen = null;
  } else if (s.metricsListen === '') {
    const port = listen.port === 0 ? 0 : listen.port + metricsPortOffset;
    if (port > 65535) fail('metricsListen', `the default (client port ${listen.port} + ${metricsPortOffset}) is above 65535; give --metrics-listen HOST:PORT or "off"`);
    // Loopback unless asked otherwise: /status and /metrics are for the operator on the machine.
    metricsListen = Object.freeze({ host: isLoopback(listen.host) ? listen.host : '127.0.0.1', port });
  } else {
    metricsListen = parseHostPort(s.metricsListen, { allowZeroPort: true }) ?? fail('metricsListen', `${JSON.stringify(s.metricsListen)} is not HOST:PORT or "off"`);
  }
  for (const l of listeners) {
    if (l.port !== 0 && peerListen.port === l.port && sameBind(l.host, peerListen.host)) {
      fail('peerListen', `${formatHostPort(peerListen)} is the same address as ${s.listeners === '' ? '--listen' : `listener ${l.name}`}`);
    }
  }
  if (s.metricsTls && tls === null) fail('metricsTls', 'needs --tls-cert-file and --tls-key-file');
  if (s.metricsToken !== '' && !/^[\x21-\x7e]{16,4096}$/.test(s.metricsToken)) fail('metricsToken', 'must be 16-4096 printable characters without spaces');
  if (metricsListen !== null && metricsListen.port !== 0) {
    for (const l of listeners) {
      if (metricsListen.port === l.port && sameBind(l.host, metricsListen.host)) fail('metricsListen', `${formatHostPort(metricsListen)} is the same address as ${s.listeners === '' ? '--listen' : `listener ${l.name}`}`);
    }
    if (metricsListen.port === peerListen.port && sameBind(peerListen.host, metricsListen.host)) fail('metricsListen', `${formatHostPort(metricsListen)} is the same address as --peer-listen`);
  }

  const peerTlsGiven = [s.peerTlsCertFile, s.peerTlsKeyFile, s.peerTlsCaFile].filter((f) => f !== '').length;
  if (peerTlsGiven !== 0 && peerTlsGiven !== 3) {
    const missing = (['peerTlsCertFile', 'peerTlsKeyFile', 'peerTlsCaFile'] as const).find((n) => s[n] === '')!;
    fail(missing, 'must be given too: peer TLS needs --peer-tls-cert-file, --peer-tls-key-file and --peer-tls-ca-file together');
  }
  const peerTls: PeerTlsFiles | null = peerTlsGiven === 0 ? null : Object.freeze({
    certFile: resolve(cwd, s.peerTlsCertFile), keyFile: resolve(cwd, s.peerTlsKeyFile), caFile: resolve(cwd, s.peerTlsCaFile),
  });
  let saslMechanisms: ReturnType<typeof parseSaslMechanisms>;
  try {
    saslMechanisms = parseSaslMechanisms(s.saslMechanisms);
  } catch (err) {
    return fail('saslMechanisms', (err as Error).message);
  }
  let addScram: BootstrapScram[];
  try {
    addScram = parseAddScram(s.addScram);
  } catch (err) {
    return fail('addScram', (err as Error).message);
  }

  return {
    sasl: { mechanisms: Object.freeze(saslMechanisms.mechanisms), byListener: saslMechanisms.byListener, addScram: Object.freeze(addScram) },
    dataDir: resolve(cwd, s.dataDir),
    listen,
    advertisedHost,
    peerListen,
    controllers,
    peerAddresses,
    isController: self !== undefined,
    rack: s.rack === '' ? null : s.rack,
    metricsListen,
    superUsers: parseSuperUsers(s.superUsers, fail),
    peerTls,
    listeners,
    tls,
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `NAME://HOST:PORT` (HOST may be empty: every address, as in Kafka's `PLAINTEXT://:9092`). */
function parseListener(text: string): { name: string; host: string; port: number } | null {
  const m = /^([A-Za-z0-9_-]{1,64}):\/\/(.*)$/.exec(text.trim());
  if (m === null) return null;
  const rest = m[2]!;
  const hp = rest.startsWith(':') ? parseHostPort(`0.0.0.0${rest}`, { allowZeroPort: true }) : parseHostPort(rest, { allowZeroPort: true });
  return hp === null ? null : { name: m[1]!.toUpperCase(), host: hp.host, port: hp.port };
}

/** The client listeners: --listeners with their protocols and advertised addresses, or --listen alone. */
function checkListeners(s: NodeSettings, fail: Fail, given: ReadonlySet<NodeSettingName>): readonly ListenerConfig[] {
  const protocols = new Map<string, SecurityProtocol>();
  if (s.listenerSecurityProtocolMap.trim() !== '') {
    for (const entry of s.listenerSecurityProtocolMap.split(',').map((e) => e.trim())) {
      const m = /^([A-Za-z0-9_-]{1,64}):([A-Za-z_]+)$/.exec(entry);
      if (m === null) fail('listenerSecurityProtocolMap', `entry ${JSON.stringify(entry)} is not NAME:PROTOCOL`);
      const protocol = m[2]!.toUpperCase();
      if (!(securityProtocols as readonly string[]).includes(protocol)) {
        fail('listenerSecurityProtocolMap', `unknown security protocol ${JSON.stringify(m[2])} for listener ${m[1]}: use one of ${securityProtocols.join(', ')}`);
      }
      const name = m[1]!.toUpperCase();
      if (protocols.has(name)) fail('listenerSecurityProtocolMap', `listener ${name} appears twice`);
      protocols.set(name, protocol as SecurityProtocol);
    }
  }
  const clientAuth = parseClientAuth(s.tlsClientAuth, fail);

  if (s.listeners.trim() === '') {
    if (s.advertisedListeners !== '') fail('advertisedListeners', 'needs --listeners (it names listeners)');
    for (const [name, protocol] of protocols) {
      if (name !== 'PLAINTEXT' || protocol !== 'PLAINTEXT') fail('listenerSecurityProtocolMap', `maps ${name} to ${protocol}, but without --listeners the only listener is the PLAINTEXT one of --listen`);
    }
    for (const name of clientAuth.perListener.keys()) fail('tlsClientAuth', `names listener ${name}, but without --listeners the only listener is the PLAINTEXT one of --listen`);
    // The one PLAINTEXT listener of --listen; its advertised host is checked with --listen.
    const listen = parseHostPort(s.listen, { allowZeroPort: true }) ?? fail('listen', `${JSON.stringify(s.listen)} is not HOST:PORT`);
    return Object.freeze([Object.freeze({
      name: 'PLAINTEXT', host: listen.host, port: listen.port, advertisedHost: s.advertisedHost === '' ? listen.host : s.advertisedHost,
      advertisedPort: listen.port, securityProtocol: 'PLAINTEXT', clientAuth: 'none',
    } satisfies ListenerConfig)]);
  }
  if (given.has('listen')) fail('listeners', 'give either --listen (one PLAINTEXT listener) or --listeners, not both');

  const parsed: { name: string; host: string; port: number }[] = [];
  for (const entry of s.listeners.split(',')) {
    const l = parseListener(entry) ?? fail('listeners', `entry ${JSON.stringify(entry.trim())} is not NAME://HOST:PORT`);
    if (parsed.some((p) => p.name === l.name)) fail('listeners', `listener name ${l.name} appears twice`);
    const clash = parsed.find((p) => l.port !== 0 && p.port === l.port && sameBind(p.host, l.host));
    if (clash !== undefined) fail('listeners', `listeners ${clash.name} and ${l.name} both bind port ${l.port}`);
    parsed.push(l);
  }
  for (const name of protocols.keys()) {
    // Kafka's default map names the four protocols; other unused names are a typo.
    if (!parsed.some((p) => p.name === name) && !(securityProtocols as readonly string[]).includes(name)) {
      fail('listenerSecurityProtocolMap', `names listener ${name}, which --listeners does not define`);
    }
  }
  const advertised = new Map<string, HostPort>();
  if (s.advertisedListeners.trim() !== '') {
    for (const entry of s.advertisedListeners.split(',')) {
      const a = parseListener(entry) ?? fail('advertisedListeners', `entry ${JSON.stringify(entry.trim())} is not NAME://HOST:PORT`);
      if (!parsed.some((p) => p.name === a.name)) fail('advertisedListeners', `names listener ${a.name}, which --listeners does not define`);
      if (advertised.has(a.name)) fail('advertisedListeners', `listener ${a.name} appears twice`);
      if (isWildcard(a.host)) fail('advertisedListeners', `listener ${a.name}: ${a.host} is not an address clients can reach`);
      advertised.set(a.name, { host: a.host, port: a.port });
    }
  }
  for (const name of clientAuth.perListener.keys()) {
    if (!parsed.some((p) => p.name === name)) fail('tlsClientAuth', `names listener ${name}, which --listeners does not define`);
  }
  return Object.freeze(parsed.map((p) => {
    const protocol = protocols.get(p.name) ?? ((securityProtocols as readonly string[]).includes(p.name) ? p.name as SecurityProtocol : undefined);
    if (protocol === undefined) fail('listenerSecurityProtocolMap', `listener ${p.name} has no security protocol: add ${p.name}:PROTOCOL (one of ${securityProtocols.join(', ')})`);
    const mode = clientAuth.perListener.get(p.name) ?? (usesTls(protocol) ? clientAuth.all : 'none');
    if (mode !== 'none' && !usesTls(protocol)) fail('tlsClientAuth', `listener ${p.name} is ${protocol}: client certificates need SSL or SASL_SSL`);
    let adv = advertised.get(p.name);
    if (adv === undefined) {
      if (!isWildcard(p.host)) adv = { host: p.host, port: p.port };
      else if (s.advertisedHost !== '') adv = { host: s.advertisedHost, port: p.port };
      else fail('advertisedListeners', `listener ${p.name} binds every address (${p.host}): give its advertised address (--advertised-listeners ${p.name}://HOST:PORT or --advertised-host)`);
    }
    return Object.freeze({
      name: p.name, host: p.host, port: p.port, advertisedHost: adv.host, advertisedPort: adv.port, securityProtocol: protocol, clientAuth: mode,
    } satisfies ListenerConfig);
  }));
}

function parseClientAuth(text: string, fail: Fail): { all: TlsClientAuth; perListener: Map<string, TlsClientAuth> } {
  const isMode = (m: string): m is TlsClientAuth => (tlsClientAuthModes as readonly string[]).includes(m);
  const t = text.trim().toLowerCase();
  if (isMode(t)) return { all: t, perListener: new Map() };
  const perListener = new Map<string, TlsClientAuth>();
  for (const entry of text.split(',').map((e) => e.trim())) {
    const m = /^([A-Za-z0-9_-]{1,64}):([A-Za-z]+)$/.exec(entry);
    const mode = m?.[2]?.toLowerCase() ?? '';
    if (m === null || !isMode(mode)) fail('tlsClientAuth', `${JSON.stringify(entry)} is not none, requested, required or NAME:MODE`);
    perListener.set(m[1]!.toUpperCase(), mode);
  }
  return { all: 'none', perListener };
}

function checkTls(s: NodeSettings, fail: Fail, listeners: readonly ListenerConfig[]): TlsConfig | null {
  try {
    parseMappingRules(s.sslPrincipalMappingRules);
  } catch (err) {
    fail('sslPrincipalMappingRules', (err as Error).message);
  }
  const tlsListeners = listeners.filter((l) => usesTls(l.securityProtocol));
  if (s.tlsCertFile === '' && s.tlsKeyFile === '') {
    if (tlsListeners.length > 0) fail('tlsCertFile', `listener ${tlsListeners[0]!.name} is ${tlsListeners[0]!.securityProtocol}: give --tls-cert-file and --tls-key-file`);
    if (s.tlsCaFile !== '') fail('tlsCaFile', 'needs --tls-cert-file and --tls-key-file');
    return null;
  }
  if (s.tlsCertFile === '') fail('tlsCertFile', 'is needed with --tls-key-file');
  if (s.tlsKeyFile === '') fail('tlsKeyFile', 'is needed with --tls-cert-file');
  const withClientAuth = tlsListeners.find((l) => l.clientAuth !== 'none');
  if (withClientAuth !== undefined && s.tlsCaFile === '') fail('tlsCaFile', `listener ${withClientAuth.name} asks for client certificates (${withClientAuth.clientAuth}): give the CA they must chain to`);
  return Object.freeze({ certFile: s.tlsCertFile, keyFile: s.tlsKeyFile, caFile: s.tlsCaFile === '' ? null : s.tlsCaFile, minVersion: s.tlsMinVersion });

}

/** `User:admin;User:ops` (Kafka's super.users; commas accepted too): each a Type:name principal. */
function parseSuperUsers(value: string, fail: Fail): string[] {
  const out = value.split(/[;,]/).map((p) => p.trim()).filter((p) => p !== '');
  for (const p of out) {
    const at = p.indexOf(':');
    if (at <= 0 || at === p.length - 1) fail('superUsers', `"${p}" is not a principal of the form Type:name (User:admin)`);
  }
  return out;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

function sameBind(a: string, b: string): boolean {
  return a === b || isWildcard(a) || isWildcard(b);
}

function isHost(host: string): boolean {
  // A DNS name, an IPv4 address or an IPv6 address (without brackets here).
  return /^[A-Za-z0-9_.-]{1,253}$/.test(host) || (/^[0-9A-Fa-f:.%a-z]+$/.test(host) && host.includes(':'));
}

/**
 * Parses `HOST:PORT` (or `[IPV6]:PORT`). Returns null when it is not one. Port 0 (any free port)
 * only with `allowZeroPort`.
 */
export function parseHostPort(text: string, options: { allowZeroPort?: boolean } = {}): HostPort | null {
  const m = /^\[([0-9A-Fa-f:.%a-z]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]\s]+):(\d{1,5})$/.exec(text);
  if (m === null) return null;
  const host = m[1] ?? '';
  const port = Number(m[2]);
  if (!isHost(host)) return null;
  if (port > 65535 || (port === 0 && options.allowZeroPort !== true)) return null;
  return Object.freeze({ host, port });
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/**
 * Parses `ID@HOST:PORT,ID@HOST:PORT,...`: ids are integers >= 0 and unique, ports 1-65535,
 * addresses unique, at most `controllersMax` entries. Throws an Error whose message says what is
 * wrong (the caller names the setting).
 */
export function parseControllers(text: string): readonly ControllerAddress[] {
  const parts = text.split(',').map((p) => p.trim());
  if (text.trim() === '' || parts.some((p) => p === '')) {
    throw new Error(`${JSON.stringify(text)} must be a list ID@HOST:PORT,ID@HOST:PORT,...`);
  }
  if (parts.length > controllersMax) throw new Error(`has ${parts.length} entries; at most ${controllersMax} controllers`);
  const out: ControllerAddress[] = [];
  const ids = new Set<number>();
  const addresses = new Set<string>();
  for (const part of parts) {
    const at = part.indexOf('@');
    const idText = at < 0 ? '' : part.slice(0, at);
    if (!/^\d+$/.test(idText)) throw new Error(`entry ${JSON.stringify(part)} is not ID@HOST:PORT`);
    const id = Number(idText);
    if (!Number.isSafeInteger(id) || id > 2 ** 31 - 1) throw new Error(`entry ${JSON.stringify(part)}: id ${idText} is out of range`);
    const portText = /:(\d+)$/.exec(part)?.[1];
    if (portText !== undefined && (Number(portText) < 1 || Number(portText) > 65535)) {
      throw new Error(`entry ${JSON.stringify(part)}: port ${portText} is not in 1-65535`);
    }
    const hp = parseHostPort(part.slice(at + 1));
    if (hp === null) throw new Error(`entry ${JSON.stringify(part)} is not ID@HOST:PORT`);
    if (ids.has(id)) throw new Error(`controller id ${id} appears twice`);
    const address = formatHostPort(hp);
    if (addresses.has(address)) throw new Error(`address ${address} appears twice`);
    ids.add(id);
    addresses.add(address);
    out.push(Object.freeze({ id, host: hp.host, port: hp.port }));
  }
  return Object.freeze(out);
}

export function formatControllers(controllers: readonly ControllerAddress[]): string {
  return controllers.map((c) => `${c.id}@${formatHostPort(c)}`).join(',');
}

/** What a string setting holds, for the README's range column. */
const formats: Partial<Record<NodeSettingName, string>> = {
  dataDir: 'path',
  listen: 'HOST:PORT',
  advertisedHost: 'host',
  peerListen: 'HOST:PORT',
  controllers: 'ID@HOST:PORT,...',
  metricsListen: 'HOST:PORT \\| off',
  peerTlsCertFile: 'path',
  peerTlsKeyFile: 'path',
  peerTlsCaFile: 'path',
  listeners: 'NAME://HOST:PORT,...',
  advertisedListeners: 'NAME://HOST:PORT,...',
  listenerSecurityProtocolMap: 'NAME:PROTOCOL,...',
  tlsCertFile: 'path',
  tlsKeyFile: 'path',
  tlsCaFile: 'path',
  tlsClientAuth: 'none \\| requested \\| required \\| NAME:MODE,...',
  sslPrincipalMappingRules: 'rules',
  metricsToken: 'secret',
};

/** The README's configuration table: flag, environment variable, default, range, doc. */
export function nodeSettingsMarkdown(): string {
  const rows = ['| flag | environment | default | range | description |', '| --- | --- | --- | --- | --- |'];
  for (const [name, spec] of Object.entries(nodeSettings)) {
    const required = (requiredSettings as readonly string[]).includes(name);
    const def = required ? '(required)' : spec.default === '' ? '' : `\`${String(spec.default)}\``;
    const range = spec.type === 'int'
      ? `${spec.min}..${spec.max}${'unit' in spec ? ` ${spec.unit}` : ''}`
      : spec.type === 'enum' ? spec.values.join(' \\| ') : formats[name as NodeSettingName] ?? spec.type;
    rows.push(`| \`${flagOf(name)}\` | \`${envOf(name)}\` | ${def} | ${range} | ${spec.doc} |`);
  }
  return rows.join('\n');
}
