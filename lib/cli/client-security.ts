/**
 * Client security settings of every `flotilla` command that talks to a cluster: a Kafka client
 * properties file (`--command-config FILE`, as Kafka's own tools take) and flags of the same
 * names, resolved into one `ClientSecurity` that both client paths apply: KafkaJS
 * (`kafkaJsSecurity`: its `ssl` and `sasl` options) and the own-codec path (lib/cli/one-request.ts:
 * a TLS socket, then SaslHandshake + SaslAuthenticate before the request).
 *
 * The keys are those librdkafka and the Java client share (`security.protocol`, `sasl.mechanism`,
 * `sasl.username`, `sasl.password`, `ssl.ca.location`, ...), so the `client.properties` that
 * `flotilla local --secure` writes works here, with kcat (`-F`), and with the Java tools. A key
 * this parser does not know is an error naming the key and the file (a misspelt
 * `ssl.ca.locaton` silently ignored would be a plaintext connection nobody asked for). Flags
 * override the file; a password is never taken on the command line (`--sasl-password-file`).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { type SaslClientMechanism, type SaslLogin, saslClientMechanisms } from '../kafka/sasl-client.js';
import { CliError, ExitCode } from './output.js';

export const securityProtocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type ClientSecurityProtocol = (typeof securityProtocols)[number];

export interface ClientTls {
  /** PEM CA bundle; absent: the system's trusted CAs. */
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly passphrase?: string;
  /** Check the broker's host name against its certificate (librdkafka's default, `https`). */
  readonly checkHostname: boolean;
}

/** The login of a SASL_* protocol: what lib/kafka/sasl-client.ts's `saslLogin` takes. */
export type ClientSasl = SaslLogin;

export interface ClientSecurity {
  readonly protocol: ClientSecurityProtocol;
  readonly tls: ClientTls | null;
  readonly sasl: ClientSasl | null;
}

export const PLAINTEXT_CLIENT: ClientSecurity = Object.freeze({ protocol: 'PLAINTEXT', tls: null, sasl: null });

/** The security flags as commander hands them over (camelCase). */
export interface ClientSecurityFlags {
  readonly commandConfig?: string;
  readonly securityProtocol?: string;
  readonly saslMechanism?: string;
  readonly saslUsername?: string;
  readonly saslPasswordFile?: string;
  readonly sslCaLocation?: string;
  readonly sslCertificateLocation?: string;
  readonly sslKeyLocation?: string;
}

/** The properties keys understood, and what each means (for errors and the README). */
export const clientPropertyKeys = {
  'security.protocol': 'PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL',
  'sasl.mechanism': 'PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512',
  'sasl.mechanisms': "librdkafka's spelling of sasl.mechanism",
  'sasl.username': 'the SASL user',
  'sasl.password': 'its password',
  'sasl.jaas.config': "the Java client's form: ...LoginModule required username=\"u\" password=\"p\";",
  'ssl.ca.location': 'PEM file of the CA(s) to trust (default: the system CAs)',
  'ssl.certificate.location': 'PEM client certificate (for brokers that ask for one)',
  'ssl.key.location': 'PEM key of the client certificate',
  'ssl.key.password': 'passphrase of ssl.key.location',
  'ssl.endpoint.identification.algorithm': 'https (default: check the host name) | none',
} as const;

/** Java client keys that name a JKS/PKCS12 store: refused with a hint rather than "unknown". */
const storeKeys = ['ssl.truststore.location', 'ssl.truststore.password', 'ssl.truststore.type', 'ssl.keystore.location', 'ssl.keystore.password', 'ssl.keystore.type'];

/**
 * Parses a Java properties file (the subset client files use): `key=value`, `key: value` or
 * `key value`; `#` and `!` comments; a trailing backslash continues the line; `\\`, `\t`, `\n`,
 * `\=`, `\:` and `\uXXXX` escapes. Returns the pairs in file order (a later key wins).
 */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // An odd number of trailing backslashes continues the logical line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    }
    let k = 0;
    while (k < line.length && !'=: \t\f'.includes(line[k]!)) k += line[k] === '\\' ? 2 : 1;
    const key = unescape(line.slice(0, k));
    let rest = line.slice(k).replace(/^[ \t\f]*/, '');
    if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).replace(/^[ \t\f]*/, '');
    out.set(key, unescape(rest));
  }
  return out;
}

function unescape(text: string): string {
  return text.replace(/\\(u[0-9A-Fa-f]{4}|.)/g, (_m, c: string) => {
    if (c.length === 5) return String.fromCharCode(parseInt(c.slice(1), 16));
    return c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c === 'f' ? '\f' : c;
  });
}

/** username="..." and password="..." of a JAAS line (PlainLoginModule or ScramLoginModule). */
function parseJaas(text: string, origin: string): { username?: string; password?: string } {
  if (!/(PlainLoginModule|ScramLoginModule)\s+required/.test(text)) {
    throw usage(`${origin}: sasl.jaas.config must use PlainLoginModule or ScramLoginModule ("... required username=\\"u\\" password=\\"p\\";")`);
  }
  const out: { username?: string; password?: string } = {};
  for (const m of text.matchAll(/\b(username|password)\s*=\s*"((?:[^"\\]|\\.)*)"/g)) out[m[1] as 'username' | 'password'] = m[2]!.replace(/\\(.)/g, '$1');
  return out;
}

function usage(message: string): CliError {
  return new CliError(message, ExitCode.usage);
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw usage(`${what}: cannot read ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/**
 * The security of a command from its flags (and the file `--command-config` names). Throws a
 * usage CliError (exit 2) naming the key or flag at fault.
 */
export function resolveClientSecurity(flags: ClientSecurityFlags): ClientSecurity {
  const values = new Map<string, { value: string; origin: string }>();
  if (flags.commandConfig !== undefined) {
    const file = flags.commandConfig;
    const props = parseProperties(readFile(file, '--command-config').toString('utf8'));
    for (const [key, value] of props) {
      const origin = `--command-config ${file}`;
      if (storeKeys.includes(key)) throw usage(`${origin}: ${key} is not supported (JKS/PKCS12 stores are Java's); give PEM files with ssl.ca.location, ssl.certificate.location, ssl.key.location`);
      if (!Object.hasOwn(clientPropertyKeys, key)) {
        throw usage(`${origin}: unknown key ${JSON.stringify(key)} (known: ${Object.keys(clientPropertyKeys).join(', ')})`);
      }
      if (key === 'sasl.jaas.config') {
        const jaas = parseJaas(value, origin);
        if (jaas.username !== undefined) values.set('sasl.username', { value: jaas.username, origin: `${origin} (sasl.jaas.config)` });
        if (jaas.password !== undefined) values.set('sasl.password', { value: jaas.password, origin: `${origin} (sasl.jaas.config)` });
        continue;
      }
      values.set(key === 'sasl.mechanisms' ? 'sasl.mechanism' : key, { value, origin: `${origin} (${key})` });
    }
  }
  const flag = (key: string, value: string | undefined, name: string): void => {
    if (value !== undefined) values.set(key, { value, origin: name });
  };
  flag('security.protocol', flags.securityProtocol, '--security-protocol');
  flag('sasl.mechanism', flags.saslMechanism, '--sasl-mechanism');
  flag('sasl.username', flags.saslUsername, '--sasl-username');
  if (flags.saslPasswordFile !== undefined) {
    const text = readFile(flags.saslPasswordFile, '--sasl-password-file').toString('utf8').replace(/\r?\n$/, '');
    values.set('sasl.password', { value: text, origin: '--sasl-password-file' });
  }
  flag('ssl.ca.location', flags.sslCaLocation, '--ssl-ca-location');
  flag('ssl.certificate.location', flags.sslCertificateLocation, '--ssl-certificate-location');
  flag('ssl.key.location', flags.sslKeyLocation, '--ssl-key-location');

  const get = (key: string): string | undefined => values.get(key)?.value;
  const where = (key: string): string => values.get(key)?.origin ?? key;

  const protocolText = (get('security.protocol') ?? 'PLAINTEXT').toUpperCase();
  if (!(securityProtocols as readonly string[]).includes(protocolText)) {
    throw usage(`${where('security.protocol')}: security.protocol ${JSON.stringify(get('security.protocol'))} is not one of ${securityProtocols.join(', ')}`);
  }
  const protocol = protocolText as ClientSecurityProtocol;
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const usesSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';

  for (const key of ['sasl.mechanism', 'sasl.username', 'sasl.password']) {
    if (!usesSasl && values.has(key)) throw usage(`${where(key)}: ${key} is set but security.protocol is ${protocol} (use SASL_SSL or SASL_PLAINTEXT)`);
  }
  for (const key of ['ssl.ca.location', 'ssl.certificate.location', 'ssl.key.location', 'ssl.key.password']) {
    if (!usesTls && values.has(key)) throw usage(`${where(key)}: ${key} is set but security.protocol is ${protocol} (use SSL or SASL_SSL)`);
  }

  let sasl: ClientSasl | null = null;
  if (usesSasl) {
    const mechanismText = get('sasl.mechanism')?.toUpperCase();
    if (mechanismText === undefined) throw usage(`security.protocol ${protocol} needs sasl.mechanism (${saslClientMechanisms.join(', ')}): --sasl-mechanism or --command-config`);
    if (!(saslClientMechanisms as readonly string[]).includes(mechanismText)) {
      throw usage(`${where('sasl.mechanism')}: sasl.mechanism ${JSON.stringify(get('sasl.mechanism'))} is not one of ${saslClientMechanisms.join(', ')}`);
    }
    const username = get('sasl.username');
    const password = get('sasl.password');
    if (username === undefined || username === '') throw usage(`security.protocol ${protocol} needs sasl.username: --sasl-username or --command-config`);
    if (password === undefined) throw usage(`security.protocol ${protocol} needs sasl.password: --sasl-password-file or --command-config`);
    sasl = { mechanism: mechanismText as SaslClientMechanism, username, password };
  }

  let tls: ClientTls | null = null;
  if (usesTls) {
    const certPath = get('ssl.certificate.location');
    const keyPath = get('ssl.key.location');
    if ((certPath === undefined) !== (keyPath === undefined)) {
      throw usage(`${where(certPath === undefined ? 'ssl.key.location' : 'ssl.certificate.location')}: ssl.certificate.location and ssl.key.location go together`);
    }
    const algorithm = (get('ssl.endpoint.identification.algorithm') ?? 'https').toLowerCase();
    if (!['https', 'none', ''].includes(algorithm)) {
      throw usage(`${where('ssl.endpoint.identification.algorithm')}: ssl.endpoint.identification.algorithm must be https or none`);
    }
    const caPath = get('ssl.ca.location');
    const passphrase = get('ssl.key.password');
    tls = {
      ...(caPath !== undefined ? { ca: readFile(caPath, where('ssl.ca.location')) } : {}),
      ...(certPath !== undefined ? { cert: readFile(certPath, where('ssl.certificate.location')) } : {}),
      ...(keyPath !== undefined ? { key: readFile(keyPath, where('ssl.key.location')) } : {}),
      ...(passphrase !== undefined ? { passphrase } : {}),
      checkHostname: algorithm === 'https',
    };
  }
  return { protocol, tls, sasl };
}

/** Adds --command-config and the security flags to a command that talks to a cluster. */
export function addSecurityOptions(cmd: Command): Command {
  return cmd
    .option('--command-config <file>', 'Kafka client properties file (security.protocol, sasl.*, ssl.*), as Kafka\'s tools take')
    .option('--security-protocol <protocol>', 'PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (overrides the file)')
    .option('--sasl-mechanism <mechanism>', 'PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512')
    .option('--sasl-username <name>', 'SASL user')
    .option('--sasl-password-file <file>', 'file holding the SASL password (never on the command line)')
    .option('--ssl-ca-location <file>', 'PEM CA certificate(s) to trust')
    .option('--ssl-certificate-location <file>', 'PEM client certificate')
    .option('--ssl-key-location <file>', 'PEM key of the client certificate');
}

/** The `ssl` and `sasl` options of a KafkaJS client for `security`. */
export function kafkaJsSecurity(security: ClientSecurity): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const out: { ssl?: KafkaConfig['ssl']; sasl?: SASLOptions } = {};
  if (security.tls) out.ssl = tlsOptions(security.tls);
  const sasl = security.sasl;
  if (sasl) {
    const { username, password } = sasl;
    out.sasl = sasl.mechanism === 'PLAIN' ? { mechanism: 'plain', username, password }
      : sasl.mechanism === 'SCRAM-SHA-256' ? { mechanism: 'scram-sha-256', username, password }
        : { mechanism: 'scram-sha-512', username, password };
  }
  return out;
}

/**
 * `tls.connect` options for `tls` (KafkaJS adds `servername` for host names itself; so does
 * one-request.ts). The host name is checked against the certificate unless turned off.
 */
export function tlsOptions(tls: ClientTls): Record<string, unknown> {
  return {
    rejectUnauthorized: true,
    ...(tls.ca ? { ca: [tls.ca] } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
    ...(tls.checkHostname ? {} : { checkServerIdentity: () => undefined }),
  };
}
