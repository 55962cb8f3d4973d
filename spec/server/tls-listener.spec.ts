// A TLS client listener over real TCP: client certificates (principal mapping, refusals with one
// audit line each), minimum version, certificate rotation, and the plaintext/TLS mix-ups.
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { type CertFiles, localSans, makeCa, makeCert, makeSelfSigned } from '../../lib/app/certs.js';
import { apiVersionsApi } from '../../lib/kafka/api-versions.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { AuditLog } from '../../lib/server/audit.js';
import type { KafkaServer } from '../../lib/server/listener.js';
import { parseMappingRules } from '../../lib/server/ssl-principal.js';
import { type TlsClientAuthMode, TlsCertificates } from '../../lib/server/tls.js';
import { startServer } from './helpers.js';

const apiVersions = (corr: number): Buffer => encodeRequestFrame(apiVersionsApi, 3, corr, 'tls-test', { clientSoftwareName: 'test', clientSoftwareVersion: '1' });

/** A TLS client: connects, sends ApiVersions, resolves with the answer or with how it ended. */
async function tlsRound(port: number, options: ConnectionOptions): Promise<{ answered: boolean; socket: TLSSocket; error?: string }> {
  const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...options });
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (answered: boolean, error?: string) => {
      if (done) return;
      done = true;
      resolve({ answered, socket, ...(error === undefined ? {} : { error }) });
    };
    socket.on('secureConnect', () => socket.write(apiVersions(7)));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const { correlationId, body } = parseResponse(apiVersionsApi, 3, buf.subarray(4, 4 + buf.readInt32BE(0)));
        finish(correlationId === 7 && body.errorCode === 0);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(false, err.code ?? err.message));
    socket.on('close', () => finish(false, 'closed'));
  });
}

function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() > end) reject(new Error('timed out'));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

describe('TLS client listener (lib/server/listener.ts + tls.ts, real TCP)', function () {
  this.timeout(30_000);
  let dir: string;
  let ca: CertFiles;
  let node: CertFiles;
  let alice: CertFiles;
  const servers: KafkaServer[] = [];
  const certStores: TlsCertificates[] = [];
  let audit: { fields: Record<string, unknown>; message: string }[];
  let logs: string[];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-tls-'));
    ca = makeCa(dir, 'test-ca');
    node = makeCert(dir, ca, { name: 'node', subject: '/CN=localhost', sans: localSans });
    alice = makeCert(dir, ca, { name: 'alice', subject: '/C=US/O=Flotilla/OU=ServiceUsers/CN=Alice', extendedKeyUsage: ['clientAuth'] });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    audit = [];
    logs = [];
  });
  afterEach(async () => {
    for (const c of certStores.splice(0)) c.close();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function tlsServer(clientAuth: TlsClientAuthMode, extra: { minVersion?: 'TLSv1.2' | 'TLSv1.3'; files?: CertFiles; rules?: string } = {}) {
    const files = extra.files ?? node;
    const certificates = new TlsCertificates({ certFile: files.cert, keyFile: files.key, caFile: ca.cert }, (l) => logs.push(l));
    certStores.push(certificates);
    const { server, port } = await startServer({
      listener: {
        name: 'SECURE', securityProtocol: 'SSL',
        tls: { certificates, clientAuth, minVersion: extra.minVersion ?? 'TLSv1.2', principalRules: parseMappingRules(extra.rules ?? 'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L,DEFAULT') },
      },
      audit: new AuditLog((fields, message) => audit.push({ fields: { ...fields }, message })),
      logger: (l) => logs.push(l),
    });
    servers.push(server);
    return { server, port, certificates };
  }

  const trust = (): ConnectionOptions => ({ ca: readFileSync(ca.cert) });
  const withCert = (c: CertFiles): ConnectionOptions => ({ ...trust(), cert: readFileSync(c.cert), key: readFileSync(c.key) });

  it('serves a client with a certificate; its principal comes from the DN through the mapping rules', async () => {
    const { server, port } = await tlsServer('required');
    const r = await tlsRound(port, withCert(alice));
    expect(r.answered, r.error).to.equal(true);
    const [session] = server.sessions();
    expect(session).to.include({ listener: 'SECURE', securityProtocol: 'SSL', clientAddress: '127.0.0.1' });
    expect(session!.principal).to.deep.equal({ type: 'User', name: 'alice' });
    r.socket.destroy();
    expect(audit).to.deep.equal([]);
  });

  it('DEFAULT names the principal by the whole RFC 2253 DN; no applicable rule refuses the client', async () => {
    const { server, port } = await tlsServer('required', { rules: 'DEFAULT' });
    const r = await tlsRound(port, withCert(alice));
    expect(r.answered).to.equal(true);
    expect(server.sessions()[0]!.principal.name).to.equal('CN=Alice,OU=ServiceUsers,O=Flotilla,C=US');
    r.socket.destroy();
    const strict = await tlsServer('required', { rules: 'RULE:^CN=(.*?),OU=Admins.*$/$1/' });
    const refused = await tlsRound(strict.port, withCert(alice));
    expect(refused.answered).to.equal(false);
    await until(() => audit.length === 1);
    expect(audit[0]!.fields).to.include({ event: 'authentication-failed', listener: 'SECURE', mechanism: 'TLS' });
    expect(String(audit[0]!.fields.reason)).to.match(/no principal mapping rule applies to the certificate subject "CN=Alice,OU=ServiceUsers,O=Flotilla,C=US"/);
  });

  it('refuses a missing, expired, foreign or server-only certificate where one is required: one audit line each', async () => {
    const { server, port } = await tlsServer('required');
    const expired = makeCert(dir, ca, { name: 'expired', subject: '/CN=old', extendedKeyUsage: ['clientAuth'], expired: true });
    const foreign = makeSelfSigned(dir, 'mallory', '/CN=mallory', []);
    const serverOnly = makeCert(dir, ca, { name: 'server-only', subject: '/CN=svc', extendedKeyUsage: ['serverAuth'] });
    const cases: [string, ConnectionOptions, string][] = [
      ['none', trust(), 'no client certificate'],
      ['expired', withCert(expired), 'CERT_HAS_EXPIRED'],
      ['foreign CA', withCert(foreign), 'DEPTH_ZERO_SELF_SIGNED_CERT'],
      ['wrong EKU', withCert(serverOnly), 'INVALID_PURPOSE'],
    ];
    for (const [what, options, reason] of cases) {
      const before = audit.length;
      const r = await tlsRound(port, options);
      expect(r.answered, what).to.equal(false);
      await until(() => audit.length === before + 1);
      expect(audit[before]!.fields, what).to.include({ event: 'authentication-failed', listener: 'SECURE', securityProtocol: 'SSL', host: '127.0.0.1', mechanism: 'TLS', reason });
      expect(logs.some((l) => l.includes(`refusing`) && l.includes(reason)), what).to.equal(true);
    }
    expect(audit).to.have.length(4);
    expect(server.connectionCount()).to.equal(0);
  });

  it('a flood of refused handshakes is counted in full but its audit lines are rate-limited per listener', async () => {
    const auditLog = new AuditLog((fields, message) => audit.push({ fields: { ...fields }, message }), 5);
    const certificates = new TlsCertificates({ certFile: node.cert, keyFile: node.key, caFile: ca.cert });
    certStores.push(certificates);
    const { server, port } = await startServer({
      listener: { name: 'SECURE', securityProtocol: 'SSL', tls: { certificates, clientAuth: 'required', minVersion: 'TLSv1.2', principalRules: parseMappingRules('DEFAULT') } },
      audit: auditLog,
    });
    servers.push(server);
    await Promise.all(Array.from({ length: 12 }, () => tlsRound(port, trust())));
    await until(() => [...auditLog.authenticationFailures.values()].reduce((a, b) => a + b, 0) === 12);
    expect(audit.length).to.be.at.most(5);
  });

  it('requested: no certificate is User:ANONYMOUS, a bad one is refused; none: ANONYMOUS', async () => {
    const requested = await tlsServer('requested');
    const anon = await tlsRound(requested.port, trust());
    expect(anon.answered).to.equal(true);
    expect(requested.server.sessions()[0]!.principal).to.deep.equal({ type: 'User', name: 'ANONYMOUS' });
    anon.socket.destroy();
    const foreign = makeSelfSigned(dir, 'eve', '/CN=eve', []);
    expect((await tlsRound(requested.port, withCert(foreign))).answered).to.equal(false);
    await until(() => audit.length === 1);
    const none = await tlsServer('none');
    const r = await tlsRound(none.port, withCert(alice));
    expect(r.answered).to.equal(true);
    expect(none.server.sessions()[0]!.principal).to.deep.equal({ type: 'User', name: 'ANONYMOUS' });
    r.socket.destroy();
  });

  it('refuses TLS below the minimum version', async () => {
    const { port } = await tlsServer('none', { minVersion: 'TLSv1.3' });
    const old = await tlsRound(port, { ...trust(), maxVersion: 'TLSv1.2' });
    expect(old.answered).to.equal(false);
    await until(() => audit.length === 1);
    expect(String(audit[0]!.fields.reason)).to.match(/^TLS handshake failed: ERR_SSL_/);
    const current = await tlsRound(port, trust());
    expect(current.answered).to.equal(true);
    expect(current.socket.getProtocol()).to.equal('TLSv1.3');
    current.socket.destroy();
  });

  it('rotates the certificate without a restart: new connections get the new one; a bad file keeps the old', async () => {
    const live = { cert: join(dir, 'live.pem'), key: join(dir, 'live.key') };
    copyFileSync(node.cert, live.cert);
    copyFileSync(node.key, live.key);
    const { port, certificates } = await tlsServer('none', { files: live });
    certificates.watch(50, 50);
    const first = await tlsRound(port, trust());
    expect(first.answered).to.equal(true);
    const serialOf = (s: TLSSocket) => s.getPeerX509Certificate()!.serialNumber;
    const oldSerial = serialOf(first.socket);
    const next = makeCert(dir, ca, { name: 'node-next', subject: '/CN=localhost', sans: localSans });
    writeFileSync(live.key, readFileSync(next.key));
    writeFileSync(live.cert, readFileSync(next.cert));
    await until(() => certificates.stats.reloads === 1);
    const second = await tlsRound(port, trust());
    expect(second.answered).to.equal(true);
    const newSerial = serialOf(second.socket);
    expect(newSerial).to.equal(new X509Certificate(readFileSync(next.cert)).serialNumber).and.not.equal(oldSerial);
    // The connection made before the rotation goes on.
    first.socket.write(apiVersions(8));
    await new Promise((resolve) => first.socket.once('data', resolve));
    first.socket.destroy();
    second.socket.destroy();
    // A bad new file: logged, the current certificate stays.
    writeFileSync(live.cert, 'not a certificate\n');
    expect(certificates.reload('test')).to.equal(false);
    expect(logs.some((l) => /reload \(test\) failed, keeping the current certificate/.test(l))).to.equal(true);
    const third = await tlsRound(port, trust());
    expect(third.answered).to.equal(true);
    expect(serialOf(third.socket)).to.equal(newSerial);
    third.socket.destroy();
  });

  it('a plaintext client on a TLS listener is closed with the handshake error logged', async () => {
    const { port } = await tlsServer('none');
    const socket = netConnect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(apiVersions(1));
    await new Promise((resolve) => { socket.on('error', () => undefined); socket.once('close', resolve); });
    await until(() => audit.length === 1);
    expect(String(audit[0]!.fields.reason)).to.match(/^TLS handshake failed: ERR_SSL_WRONG_VERSION_NUMBER|^TLS handshake failed: ERR_SSL_HTTP_REQUEST/);
    expect(logs.some((l) => l.includes('listener SECURE: refusing') && l.includes('TLS handshake failed'))).to.equal(true);
  });

  it('a TLS client on a plaintext listener is closed at its first bytes: "TLS handshake on a plaintext listener"', async () => {
    const { server, port } = await startServer({ logger: (l) => logs.push(l), audit: new AuditLog((fields, message) => audit.push({ fields: { ...fields }, message })) });
    servers.push(server);
    const r = await tlsRound(port, trust());
    expect(r.answered).to.equal(false);
    await until(() => logs.some((l) => l.includes('TLS handshake on a plaintext listener')));
    // Closed before the ClientHello's first bytes were read as a frame size (0x1603.. = 369 MB).
    expect(logs.some((l) => l.includes('frame size'))).to.equal(false);
    expect(server.metrics.connectionsClosedForProtocol).to.equal(1);
    expect(audit.map((a) => a.fields.reason)).to.deep.equal(['TLS handshake on a plaintext listener']);
  });
});
