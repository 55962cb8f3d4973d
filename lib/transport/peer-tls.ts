/**
 * Peer TLS: what the Raft peer transport needs to run over mutual TLS, and how a certificate names
 * the node it belongs to.
 *
 * Node-id binding: a node's certificate carries the SAN `URI:urn:flotilla:node:<id>` (exactly one
 * such URI). Host names stay where TLS expects them (CN, DNS/IP SANs) and mean nothing to the
 * peer check. Both ends of a peer connection verify the other's certificate against the cluster CA
 * and read its node id; the acceptor refuses a HELLO whose node id differs from the certificate's,
 * the dialer refuses an acceptor whose certificate names another node than the one it dialed. So a
 * holder of node 2's certificate cannot speak as node 3 (NATS advisory 2026-16 is the failure this
 * prevents: an inter-server listener that trusted what the peer said about itself).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FlotillaError } from '../base/errors.js';

/** The URI SAN prefix naming a node: `urn:flotilla:node:7`. */
export const NODE_URI_PREFIX = 'urn:flotilla:node:';

/** The SAN entry (openssl's form) that binds a certificate to `nodeId`. */
export function nodeUriSan(nodeId: number): string {
  return `URI:${NODE_URI_PREFIX}${nodeId}`;
}

/** PEM bytes for `tls.createServer` / `tls.connect`. */
export interface PeerTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer;
}

export interface PeerTlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/**
 * The node id a certificate names, or why it names none. Reads the subjectAltName as Node prints
 * it (`DNS:localhost, IP Address:127.0.0.1, URI:urn:flotilla:node:2`); Node quotes an entry that
 * holds a separator, and a quoted entry never matches, so a crafted SAN cannot smuggle an id in.
 */
export function certificateNodeId(cert: X509Certificate | undefined): { readonly nodeId: number } | { readonly why: string } {
  if (cert === undefined) return { why: 'no certificate' };
  const ids = new Set<number>();
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (!entry.startsWith(`URI:${NODE_URI_PREFIX}`)) continue;
    const text = entry.slice(`URI:${NODE_URI_PREFIX}`.length);
    if (!/^\d{1,10}$/.test(text) || Number(text) > 2 ** 31 - 1) return { why: `the certificate's node URI "${entry.slice(4)}" is not ${NODE_URI_PREFIX}<id>` };
    ids.add(Number(text));
  }
  if (ids.size === 0) return { why: `the certificate names no node (no SAN URI:${NODE_URI_PREFIX}<id>)` };
  if (ids.size > 1) return { why: `the certificate names several nodes (${[...ids].join(', ')})` };
  return { nodeId: [...ids][0]! };
}

/**
 * Reads the peer TLS files of node `nodeId` and checks them before the node starts: each file
 * readable, the certificate signed by the CA, and naming this node. Throws INVALID_CONFIG naming
 * the flag at fault.
 */
export function loadPeerTls(files: PeerTlsFiles, nodeId: number): PeerTls {
  const read = (flag: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new FlotillaError('INVALID_CONFIG', `invalid setting ${flag}: cannot read ${JSON.stringify(path)}: ${(err as Error).message}`, { flag });
    }
  };
  const cert = read('--peer-tls-cert-file', files.certFile);
  const key = read('--peer-tls-key-file', files.keyFile);
  const ca = read('--peer-tls-ca-file', files.caFile);
  let x509: X509Certificate;
  let caX509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new FlotillaError('INVALID_CONFIG', `invalid setting --peer-tls-cert-file: ${JSON.stringify(files.certFile)} is not a PEM certificate: ${(err as Error).message}`, { flag: '--peer-tls-cert-file' });
  }
  try {
    caX509 = new X509Certificate(ca);
  } catch (err) {
    throw new FlotillaError('INVALID_CONFIG', `invalid setting --peer-tls-ca-file: ${JSON.stringify(files.caFile)} is not a PEM certificate: ${(err as Error).message}`, { flag: '--peer-tls-ca-file' });
  }
  if (!x509.checkIssued(caX509) || !x509.verify(caX509.publicKey)) {
    throw new FlotillaError('INVALID_CONFIG', `invalid setting --peer-tls-cert-file: ${JSON.stringify(files.certFile)} is not signed by the CA in --peer-tls-ca-file`, { flag: '--peer-tls-cert-file' });
  }
  const named = certificateNodeId(x509);
  if ('why' in named) {
    throw new FlotillaError('INVALID_CONFIG', `invalid setting --peer-tls-cert-file: ${named.why}; a node certificate needs the SAN ${nodeUriSan(nodeId)}`, { flag: '--peer-tls-cert-file' });
  }
  if (named.nodeId !== nodeId) {
    throw new FlotillaError('INVALID_CONFIG', `invalid setting --peer-tls-cert-file: the certificate names node ${named.nodeId}, but this is node ${nodeId}`, { flag: '--peer-tls-cert-file' });
  }
  return { cert, key, ca };
}

/**
 * Why this combination must not start, or null: secured client listeners (any protocol but
 * PLAINTEXT) with a plaintext peer transport would leave the Raft mesh, which carries every
 * record, credential and ACL, open to anyone who reaches the peer port.
 */
export function peerSecurityProblem(clientProtocols: readonly string[], peerTls: boolean): string | null {
  if (peerTls) return null;
  const secured = [...new Set(clientProtocols.filter((p) => p !== 'PLAINTEXT'))];
  if (secured.length === 0) return null;
  return `must be given (with --peer-tls-key-file and --peer-tls-ca-file) when a client listener is secured (${secured.join(', ')}): `
    + 'a plaintext peer transport would let anyone who reaches the peer port join the Raft mesh';
}
