/**
 * Test and local-cluster certificates, made with the `openssl` command (OpenSSL 1.1.1 or 3.x, on
 * every Linux and macOS machine): a CA, and certificates it signs for nodes and clients. ECDSA
 * P-256 keys: cheap to make and to handshake on a small machine.
 *
 * Used by `flotilla local --secure` (a fresh CA per data directory) and by the specs (fixtures
 * made at test time into a temporary directory; no key is ever committed). Not a CA for
 * production: its keys are written unencrypted, readable by the owner only.
 *
 * librdkafka checks the broker's host name by default, so server certificates carry SANs for
 * every name and address a client dials (`DNS:localhost`, `IP:127.0.0.1` by default).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlotillaError } from '../base/errors.js';
import { nodeUriSan } from '../transport/peer-tls.js';

/** A PEM certificate and its unencrypted PEM key, as file paths. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

export interface CertRequest {
  /** File name stem in the directory: `<name>.pem`, `<name>.key`. */
  readonly name: string;
  /** The subject in openssl's form, most general RDN first: "/O=Flotilla/CN=alice". */
  readonly subject: string;
  /** subjectAltName entries ("DNS:localhost", "IP:127.0.0.1", "URI:..."); none by default. */
  readonly sans?: readonly string[];
  /** extendedKeyUsage; default both (a node is a TLS server and, to its peers, a client). */
  readonly extendedKeyUsage?: readonly ('serverAuth' | 'clientAuth')[];
  /** Validity in days from now (default 365). */
  readonly days?: number;
  /** Valid from 2020-01-01 to 2020-01-02 instead: an expired certificate (for tests). */
  readonly expired?: boolean;
  /** openssl's -multivalue-rdn (subjects with "+" joining attributes of one RDN; tests). */
  readonly multivalueRdn?: boolean;
}

/** The SANs a certificate for a node on this machine needs. */
export const localSans: readonly string[] = ['DNS:localhost', 'IP:127.0.0.1'];

function openssl(args: readonly string[], cwd: string): string {
  try {
    return execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new FlotillaError('INVALID_CONFIG', 'the openssl command is needed to make certificates and was not found on PATH (Debian: apt-get install openssl)');
    }
    throw new FlotillaError('INVALID_CONFIG', `openssl ${args[0] ?? ''} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

function keyArgs(): string[] {
  return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
}

/** Makes a CA (`ca.pem`, `ca.key`) in `dir`. */
export function makeCa(dir: string, commonName = 'flotilla-local-ca', days = 365): CertFiles {
  mkdirSync(dir, { recursive: true });
  const files = { cert: join(dir, 'ca.pem'), key: join(dir, 'ca.key') };
  openssl(['req', '-x509', ...keyArgs(), '-keyout', files.key, '-out', files.cert, '-days', String(days), '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  chmodSync(files.key, 0o600);
  return files;
}

/** Makes a certificate signed by `ca` in `dir` (`<name>.pem`, `<name>.key`). */
export function makeCert(dir: string, ca: CertFiles, req: CertRequest): CertFiles {
  mkdirSync(dir, { recursive: true });
  const files = { cert: join(dir, `${req.name}.pem`), key: join(dir, `${req.name}.key`) };
  const csr = join(dir, `${req.name}.csr`);
  const ext = join(dir, `${req.name}.ext`);
  openssl(['req', ...keyArgs(), '-keyout', files.key, '-out', csr, '-subj', req.subject, ...(req.multivalueRdn ? ['-multivalue-rdn'] : [])], dir);
  chmodSync(files.key, 0o600);
  const eku = req.extendedKeyUsage ?? ['serverAuth', 'clientAuth'];
  const lines = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    ...(eku.length > 0 ? [`extendedKeyUsage=${eku.join(',')}`] : []),
    ...(req.sans && req.sans.length > 0 ? [`subjectAltName=${req.sans.join(',')}`] : []),
  ];
  if (req.expired) {
    // `openssl x509` (3.0) takes no start date: sign with `openssl ca`, which does.
    const caDir = join(dir, `.ca-${req.name}`);
    mkdirSync(caDir, { recursive: true });
    writeFileSync(join(caDir, 'index.txt'), '');
    writeFileSync(join(caDir, 'serial'), '1000\n');
    writeFileSync(join(caDir, 'ca.cnf'), [
      '[ca]', 'default_ca = test', '[test]', `dir = ${caDir}`, 'database = $dir/index.txt', 'serial = $dir/serial',
      'new_certs_dir = $dir', 'default_md = sha256', 'policy = any', 'copy_extensions = none', 'unique_subject = no', 'preserve = yes',
      '[any]', 'commonName = supplied', 'countryName = optional', 'organizationName = optional', 'organizationalUnitName = optional', '',
    ].join('\n'));
    writeFileSync(ext, `${lines.join('\n')}\n`);
    openssl(['ca', '-batch', '-config', join(caDir, 'ca.cnf'), '-cert', ca.cert, '-keyfile', ca.key, '-in', csr, '-out', files.cert,
      '-startdate', '20200101000000Z', '-enddate', '20200102000000Z', '-extfile', ext, '-notext'], dir);
  } else {
    writeFileSync(ext, `${lines.join('\n')}\n`);
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', files.cert,
      '-days', String(req.days ?? 365), '-extfile', ext], dir);
  }
  return files;
}

/**
 * A node's certificate: names the node with the SAN `URI:urn:flotilla:node:<id>` (the peer
 * transport binds the node id to it: lib/transport/peer-tls.ts) beside the host SANs; both EKUs
 * (a node is a TLS server to clients and peers, and a client to the peers it dials). Files
 * `node-<id>.pem` / `node-<id>.key`.
 */
export function makeNodeCert(dir: string, ca: CertFiles, nodeId: number, sans: readonly string[] = localSans): CertFiles {
  const host = sans.find((s) => s.startsWith('DNS:'))?.slice(4) ?? 'localhost';
  return makeCert(dir, ca, { name: `node-${nodeId}`, subject: `/O=Flotilla/CN=${host}`, sans: [...sans, nodeUriSan(nodeId)] });
}

/** A self-signed certificate (not signed by any CA of ours): "a foreign CA" in tests. */
export function makeSelfSigned(dir: string, name: string, subject: string, sans: readonly string[] = localSans): CertFiles {
  mkdirSync(dir, { recursive: true });
  const files = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  openssl(['req', '-x509', ...keyArgs(), '-keyout', files.key, '-out', files.cert, '-days', '30', '-subj', subject,
    ...(sans.length > 0 ? ['-addext', `subjectAltName=${sans.join(',')}`] : [])], dir);
  chmodSync(files.key, 0o600);
  return files;
}

/** The subject of a certificate file in RFC 2253 form, as openssl prints it (test vectors). */
export function subjectRfc2253(certFile: string): string {
  return openssl(['x509', '-in', certFile, '-noout', '-subject', '-nameopt', 'RFC2253'], '.').replace(/^subject=\s*/, '').trim();
}
