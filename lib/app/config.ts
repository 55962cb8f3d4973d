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
  metricsListen: { type: 'string', default: '', doc: 'HOST:PORT of the HTTP server for /metrics, /status, /healthz, or "off" (default: listen host, client port + 2000)' },
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
      parsed = checkNode(s, fail, input.cwd ?? process.cwd());
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
  return Object.freeze({
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
    authorizer: settings.authorizer,
    superUsers: parsed.superUsers,
    allowEveryoneIfNoAclFound: settings.allowEveryoneIfNoAclFound,
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

type Fail = (name: NodeSettingName, why: string) => never;

/** Parses the string-typed settings and checks relations between settings. */
function checkNode(s: NodeSettings, fail: Fail, cwd: string) {
  if (s.dataDir.trim() === '') fail('dataDir', 'must not be empty');
  const listen = parseHostPort(s.listen, { allowZeroPort: true }) ?? fail('listen', `${JSON.stringify(s.listen)} is not HOST:PORT`);
  const peerListen = parseHostPort(s.peerListen, { allowZeroPort: true }) ?? fail('peerListen', `${JSON.stringify(s.peerListen)} is not HOST:PORT`);
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(s.clusterId)) fail('clusterId', `${JSON.stringify(s.clusterId)} must be 1-255 characters of A-Z a-z 0-9 . _ -`);
  if (s.rack !== '' && !/^[\x21-\x7e]{1,255}$/.test(s.rack)) fail('rack', `${JSON.stringify(s.rack)} must be 1-255 printable characters without spaces`);

  let advertisedHost = s.advertisedHost;
  if (advertisedHost === '') {
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
    metricsListen = Object.freeze({ host: listen.host, port });
  } else {
    metricsListen = parseHostPort(s.metricsListen, { allowZeroPort: true }) ?? fail('metricsListen', `${JSON.stringify(s.metricsListen)} is not HOST:PORT or "off"`);
  }
  if (listen.port !== 0 && peerListen.port === listen.port && sameBind(listen.host, peerListen.host)) {
    fail('peerListen', `${formatHostPort(peerListen)} is the same address as --listen`);
  }
  if (metricsListen !== null && metricsListen.port !== 0) {
    if (metricsListen.port === listen.port && sameBind(listen.host, metricsListen.host)) fail('metricsListen', `${formatHostPort(metricsListen)} is the same address as --listen`);
    if (metricsListen.port === peerListen.port && sameBind(peerListen.host, metricsListen.host)) fail('metricsListen', `${formatHostPort(metricsListen)} is the same address as --peer-listen`);
  }

  return {
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
  };
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
