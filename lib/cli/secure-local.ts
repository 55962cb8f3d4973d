/**
 * `flotilla local --secure`: the files and the node arguments of a secured local cluster.
 *
 * DATA/tls/ holds a fresh CA (`ca.pem`), one certificate per node (`node-<i>.pem`: SANs for
 * localhost, 127.0.0.1 and --host, plus `URI:urn:flotilla:node:<i>` binding it to its node id),
 * a client certificate (`client.pem`, CN=admin, for clients that want to present one) and the
 * admin password (`admin.password`, random, 0600). They are made once and kept: the admin's
 * SCRAM credential lives in the cluster's metadata log, so a second run must reuse its password.
 * Each node gets peer mutual TLS with its certificate, one SASL_SSL client listener
 * (SCRAM-SHA-512 and PLAIN) with the same certificate, the admin's credential at bootstrap
 * (`--add-scram`, a no-op once it exists) and the authorizer with admin as the only super user.
 * DATA/client.properties (0600: it holds the password) has the settings librdkafka, the Java
 * client and `flotilla --command-config` share; the banner prints them for KafkaJS and Python.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { type CertFiles, localSans, makeCa, makeCert, makeNodeCert } from '../app/certs.js';

export const SECURE_LOCAL_USER = 'admin';
export const SECURE_LOCAL_MECHANISM = 'SCRAM-SHA-512';

export interface SecureLocalFiles {
  /** DATA/tls */
  readonly tlsDir: string;
  readonly caFile: string;
  readonly clientCert: CertFiles;
  readonly passwordFile: string;
  /** DATA/client.properties */
  readonly clientProperties: string;
}

/** Where the files of a secure local cluster in `dataDir` live (pure). */
export function secureLocalFiles(dataDir: string): SecureLocalFiles {
  const tlsDir = join(dataDir, 'tls');
  return {
    tlsDir,
    caFile: join(tlsDir, 'ca.pem'),
    clientCert: { cert: join(tlsDir, 'client.pem'), key: join(tlsDir, 'client.key') },
    passwordFile: join(tlsDir, `${SECURE_LOCAL_USER}.password`),
    clientProperties: join(dataDir, 'client.properties'),
  };
}

/** Node `nodeId`'s certificate files. */
export function nodeCertFiles(files: SecureLocalFiles, nodeId: number): CertFiles {
  return { cert: join(files.tlsDir, `node-${nodeId}.pem`), key: join(files.tlsDir, `node-${nodeId}.key`) };
}

/** The `flotilla start` arguments that secure node `nodeId` (in place of `--listen`; pure). */
export function secureNodeArgs(files: SecureLocalFiles, nodeId: number, host: string, clientPort: number): string[] {
  const cert = nodeCertFiles(files, nodeId);
  const hostPort = host.includes(':') ? `[${host}]:${clientPort}` : `${host}:${clientPort}`;
  return [
    '--listeners', `SASL_SSL://${hostPort}`,
    '--tls-cert-file', cert.cert, '--tls-key-file', cert.key, '--tls-ca-file', files.caFile,
    '--peer-tls-cert-file', cert.cert, '--peer-tls-key-file', cert.key, '--peer-tls-ca-file', files.caFile,
    '--sasl-mechanisms', `${SECURE_LOCAL_MECHANISM},PLAIN`,
    '--add-scram', `${SECURE_LOCAL_MECHANISM}=[name=${SECURE_LOCAL_USER},password-file=${files.passwordFile}]`,
    '--authorizer', 'true',
    '--super-users', `User:${SECURE_LOCAL_USER}`,
  ];
}

/** The host SANs of the node certificates: localhost, 127.0.0.1, and --host when it is another. */
export function secureLocalSans(host: string): string[] {
  const sans = [...localSans];
  const entry = isIP(host) !== 0 ? `IP:${host}` : `DNS:${host}`;
  if (!sans.includes(entry)) sans.push(entry);
  return sans;
}

/**
 * Makes what is missing in DATA/tls (CA, node certificates 1..nodes, client certificate, admin
 * password) and (re)writes DATA/client.properties. Existing files are kept.
 */
export function prepareSecureLocal(dataDir: string, nodes: number, host: string): SecureLocalFiles {
  const files = secureLocalFiles(dataDir);
  const ca: CertFiles = existsSync(files.caFile) ? { cert: files.caFile, key: join(files.tlsDir, 'ca.key') } : makeCa(files.tlsDir, 'flotilla-local-ca');
  for (let id = 1; id <= nodes; id++) {
    if (!existsSync(nodeCertFiles(files, id).cert)) makeNodeCert(files.tlsDir, ca, id, secureLocalSans(host));
  }
  if (!existsSync(files.clientCert.cert)) makeCert(files.tlsDir, ca, { name: 'client', subject: `/O=Flotilla/CN=${SECURE_LOCAL_USER}`, extendedKeyUsage: ['clientAuth'] });
  if (!existsSync(files.passwordFile)) writeFileSync(files.passwordFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  chmodSync(files.passwordFile, 0o600);
  const password = readFileSync(files.passwordFile, 'utf8').trim();
  writeFileSync(files.clientProperties, clientPropertiesText(files, password), { mode: 0o600 });
  chmodSync(files.clientProperties, 0o600);
  return files;
}

/** DATA/client.properties (pure). */
export function clientPropertiesText(files: SecureLocalFiles, password: string): string {
  return [
    '# Written by `flotilla local --secure`: the client settings of this local cluster.',
    '# librdkafka (kcat -F, confluent-kafka) and `flotilla ... --command-config` read it as is.',
    'security.protocol=SASL_SSL',
    `sasl.mechanism=${SECURE_LOCAL_MECHANISM}`,
    `sasl.username=${SECURE_LOCAL_USER}`,
    `sasl.password=${escapeProperty(password)}`,
    `ssl.ca.location=${escapeProperty(files.caFile)}`,
    '# The Java client (kafka-*.sh --command-config) takes instead of the three lines above:',
    `#   sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${SECURE_LOCAL_USER}" password="<the password>";`,
    `#   ssl.truststore.type=PEM and ssl.truststore.location=${files.caFile}`,
    '',
  ].join('\n');
}

/** A properties value: backslashes doubled, leading blanks kept (a path or a password). */
function escapeProperty(value: string): string {
  return value.replaceAll('\\', '\\\\').replace(/^[ \t]/, (c) => `\\${c}`);
}

/** The lines `local --secure` prints once the cluster is ready (pure). */
export function secureBanner(files: SecureLocalFiles, bootstrap: readonly string[]): string[] {
  const brokers = bootstrap.join(',');
  return [
    `  security:          SASL_SSL (${SECURE_LOCAL_MECHANISM}, PLAIN), user ${SECURE_LOCAL_USER} (super user), authorizer on, peers over mutual TLS`,
    `  client settings:   ${files.clientProperties}`,
    `  admin password:    ${files.passwordFile}`,
    `  CA certificate:    ${files.caFile}`,
    `  flotilla / kcat:   flotilla topic list -b ${brokers} --command-config ${files.clientProperties}`,
    `                     kcat -b ${brokers} -F ${files.clientProperties} -L`,
    '  KafkaJS:',
    `    new Kafka({ brokers: ${JSON.stringify(bootstrap)}, ssl: { ca: [fs.readFileSync(${JSON.stringify(files.caFile)}, 'utf8')] },`,
    `      sasl: { mechanism: '${SECURE_LOCAL_MECHANISM.toLowerCase()}', username: '${SECURE_LOCAL_USER}', password: fs.readFileSync(${JSON.stringify(files.passwordFile)}, 'utf8').trim() } })`,
    '  kafka-python:',
    `    KafkaProducer(bootstrap_servers=${JSON.stringify(brokers)}, security_protocol='SASL_SSL', sasl_mechanism='${SECURE_LOCAL_MECHANISM}',`,
    `      sasl_plain_username='${SECURE_LOCAL_USER}', sasl_plain_password=open(${JSON.stringify(files.passwordFile)}).read().strip(), ssl_cafile=${JSON.stringify(files.caFile)})`,
  ];
}
