/**
 * The TLS side of a client listener: the node's certificate files, loaded and checked at start,
 * reloaded without a restart, and what a listener does with a client's certificate.
 *
 * `TlsCertificates` holds the PEM material of --tls-cert-file, --tls-key-file and --tls-ca-file.
 * `reload()` (on SIGHUP, and when a file's modification time changes, after a debounce so that a
 * cert and key written one after the other are read together) reads the files again and builds a
 * secure context from them first: a missing file, a bad PEM or a key that does not match the
 * certificate keeps the old material and logs why. Every listener subscribed with `onChange`
 * then calls `server.setSecureContext()`: new connections get the new certificate, open ones keep
 * theirs.
 *
 * `clientCertificateVerdict` decides a TLS connection's principal from its certificate as Kafka
 * does: the server asks for a certificate per the listener's client-auth mode and lets every
 * handshake finish (`rejectUnauthorized: false`: otherwise Node refuses a bad certificate with
 * no reason the server can log), then refuses a certificate that did not verify (expired, foreign
 * CA, wrong extended key usage) or a missing one where required, with OpenSSL's reason for the
 * audit line. A verified certificate's subject, as an RFC 2253 DN, goes through the mapping rules;
 * no certificate (mode none or requested) is User:ANONYMOUS.
 */
import { type X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { type SecureContextOptions, type TLSSocket, createSecureContext } from 'node:tls';
import { FlotillaError } from '../base/errors.js';
import { ANONYMOUS, type KafkaPrincipal } from './session.js';
import { type MappingRule, mapDn, rfc2253FromSubject } from './ssl-principal.js';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string | null;
}

/** The PEM bytes a secure context is made of. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
}

export type TlsClientAuthMode = 'none' | 'requested' | 'required';

/** What a TLS listener needs (KafkaServerOptions.listener.tls). */
export interface ListenerTlsOptions {
  readonly certificates: TlsCertificates;
  readonly clientAuth: TlsClientAuthMode;
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** Parsed ssl.principal.mapping.rules (ssl-principal.ts). */
  readonly principalRules: readonly MappingRule[];
  /** A client that has not finished its handshake in this time is dropped (default 10 s). */
  readonly handshakeTimeoutMs?: number;
}

/** Reads and checks the files; throws INVALID_CONFIG naming the flag of the bad file. */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  const read = (path: string, flag: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new FlotillaError('INVALID_CONFIG', `invalid setting ${flag}: cannot read ${JSON.stringify(path)}: ${(err as Error).message}`);
    }
  };
  const material: TlsMaterial = {
    cert: read(files.certFile, '--tls-cert-file'),
    key: read(files.keyFile, '--tls-key-file'),
    ca: files.caFile === null ? undefined : read(files.caFile, '--tls-ca-file'),
  };
  try {
    // Parses every PEM and checks that the key belongs to the certificate.
    createSecureContext(secureContextOptions(material));
  } catch (err) {
    throw new FlotillaError('INVALID_CONFIG', `invalid setting --tls-cert-file/--tls-key-file/--tls-ca-file (${files.certFile}, ${files.keyFile}${files.caFile === null ? '' : `, ${files.caFile}`}): ${(err as Error).message}`);
  }
  return material;
}

export function secureContextOptions(m: TlsMaterial): SecureContextOptions {
  return { cert: m.cert, key: m.key, ...(m.ca === undefined ? {} : { ca: m.ca }) };
}

/** The node's TLS material, reloadable. */
export class TlsCertificates {
  readonly files: TlsFiles;
  private material: TlsMaterial;
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private readonly logger: ((line: string) => void) | undefined;
  private watching = false;
  private debounce: ReturnType<typeof setTimeout> | null = null;
  readonly stats = { reloads: 0, reloadFailures: 0 };

  /** Reads the files now: throws INVALID_CONFIG when they are not usable. */
  constructor(files: TlsFiles, logger?: (line: string) => void) {
    this.files = files;
    this.logger = logger;
    this.material = readTlsMaterial(files);
  }

  current(): TlsMaterial {
    return this.material;
  }

  /** Calls `fn` with the new material after each successful reload; returns the unsubscribe. */
  onChange(fn: (m: TlsMaterial) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Reads the files again; on any problem keeps the current material. True when it changed. */
  reload(why: string): boolean {
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(this.files);
    } catch (err) {
      this.stats.reloadFailures++;
      this.logger?.(`tls: reload (${why}) failed, keeping the current certificate: ${(err as Error).message}`);
      return false;
    }
    const same = next.cert.equals(this.material.cert) && next.key.equals(this.material.key)
      && (next.ca === undefined ? this.material.ca === undefined : this.material.ca !== undefined && next.ca.equals(this.material.ca));
    if (same) return false;
    this.material = next;
    this.stats.reloads++;
    this.logger?.(`tls: reloaded the certificate files (${why}); new connections use them`);
    for (const fn of this.listeners) fn(next);
    return true;
  }

  /** Polls the files' modification times (every `intervalMs`) and reloads `debounceMs` after a change. */
  watch(intervalMs = 1000, debounceMs = 500): void {
    if (this.watching) return;
    this.watching = true;
    for (const f of this.paths()) {
      watchFile(f, { interval: intervalMs, persistent: false }, (cur, prev) => {
        if (cur.mtimeMs === prev.mtimeMs && cur.size === prev.size) return;
        if (this.debounce !== null) clearTimeout(this.debounce);
        this.debounce = setTimeout(() => {
          this.debounce = null;
          this.reload(`${f} changed`);
        }, debounceMs);
        this.debounce.unref?.();
      });
    }
  }

  close(): void {
    if (this.debounce !== null) clearTimeout(this.debounce);
    this.debounce = null;
    if (this.watching) for (const f of this.paths()) unwatchFile(f);
    this.watching = false;
    this.listeners.clear();
  }

  private paths(): string[] {
    return [this.files.certFile, this.files.keyFile, ...(this.files.caFile === null ? [] : [this.files.caFile])];
  }
}

export type CertificateVerdict = { readonly ok: true; readonly principal: KafkaPrincipal } | { readonly ok: false; readonly reason: string };

/**
 * The principal of a TLS connection once its handshake is done, or why it is refused. Reasons
 * are OpenSSL's verification codes (CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT,
 * INVALID_PURPOSE for a certificate without clientAuth usage, ...), "no client certificate", or the mapping's.
 */
export function clientCertificateVerdict(socket: TLSSocket, mode: TlsClientAuthMode, rules: readonly MappingRule[]): CertificateVerdict {
  if (mode === 'none') return { ok: true, principal: ANONYMOUS };
  const cert: X509Certificate | undefined = socket.getPeerX509Certificate();
  if (cert === undefined) {
    return mode === 'required' ? { ok: false, reason: 'no client certificate' } : { ok: true, principal: ANONYMOUS };
  }
  // A certificate that was sent must verify, in requested mode too (Kafka fails the handshake).
  if (!socket.authorized) {
    const e = socket.authorizationError as unknown;
    const code = typeof e === 'string' ? e : e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : 'certificate not verified';
    return { ok: false, reason: String(code) };
  }
  const mapped = mapDn(rules, rfc2253FromSubject(cert.subject));
  return mapped.ok ? { ok: true, principal: { type: 'User', name: mapped.name } } : { ok: false, reason: mapped.reason };
}
