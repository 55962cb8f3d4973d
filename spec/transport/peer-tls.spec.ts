import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { type CertFiles, localSans, makeCa, makeCert, makeNodeCert, makeSelfSigned } from '../../lib/app/certs.js';
import { isFlotillaError } from '../../lib/base/errors.js';
import { Xoshiro128 } from '../../lib/base/prng.js';
import type { NodeId } from '../../lib/raft/core/types.js';
import { type PeerTls, certificateNodeId, loadPeerTls, nodeUriSan, peerSecurityProblem } from '../../lib/transport/peer-tls.js';
import { TcpTransport } from '../../lib/transport/tcp-transport.js';
import { FrameKind, encodeFrame } from '../../lib/transport/transport.js';
import { LOCAL, type RawPeer, clock, hello, tcpBench, tcpConformance } from './tcp-fixture.js';
import { isConnected, until } from './transport-conformance.js';

/** Certificates for the whole file: one CA, nodes 1-4, a certificate naming no node, a foreign one. */
let dir: string;
let ca: CertFiles;
const nodes = new Map<number, CertFiles>();
let anonymous: CertFiles;
let foreign: CertFiles;

const pem = (files: CertFiles): PeerTls => ({ cert: readFileSync(files.cert), key: readFileSync(files.key), ca: readFileSync(ca.cert) });

before(function () {
  this.timeout(30_000);
  dir = mkdtempSync(join(tmpdir(), 'flotilla-peer-tls-'));
  ca = makeCa(dir, 'flotilla-peer-test-ca');
  for (const id of [1, 2, 3, 4]) nodes.set(id, makeNodeCert(dir, ca, id));
  anonymous = makeCert(dir, ca, { name: 'anonymous', subject: '/CN=localhost', sans: localSans });
  foreign = makeSelfSigned(dir, 'foreign', '/CN=localhost', [...localSans, nodeUriSan(3)]);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function tlsTransport(id: NodeId, opts: { settings?: Record<string, unknown>; log?: string[]; tls?: PeerTls | null } = {}): TcpTransport {
  const tls = opts.tls === undefined ? pem(nodes.get(id)!) : opts.tls;
  return new TcpTransport({
    nodeId: id, clusterId: 'c', listen: { host: LOCAL, port: 0 }, prng: new Xoshiro128(id), clock,
    settings: { reconnectMinMs: 5, reconnectMaxMs: 50, ...opts.settings },
    logger: opts.log ? (line) => opts.log!.push(line) : undefined,
    ...(tls ? { tls } : {}),
  });
}

tcpConformance('TcpTransport over mutual TLS', (id, settings) => {
  if (!nodes.has(id)) throw new Error(`no certificate made for node ${id}`);
  return tlsTransport(id, { settings });
});

describe('TcpTransport mutual TLS: the node id is bound to the certificate', () => {
  const { sockets, make, link, watch } = tcpBench(tlsTransport);

  /** A raw TLS peer: presents `files` (or nothing), sends what the test writes, decodes what comes back. */
  const rawTls = (port: number, files: CertFiles | null): RawPeer<TLSSocket> & { secure: Promise<boolean> } => {
    const { socket, frames, closed } = watch(tlsConnect({
      host: LOCAL, port, ca: readFileSync(ca.cert), rejectUnauthorized: false,
      ...(files ? { cert: readFileSync(files.cert), key: readFileSync(files.key) } : {}),
    }));
    const secure = new Promise<boolean>((res) => {
      socket.once('secureConnect', () => res(true));
      socket.once('close', () => res(false));
    });
    return { socket, frames, closed, secure };
  };

  it('a holder of node 2\'s certificate saying HELLO as node 3 is refused with the reason, before any Raft frame', async () => {
    const log: string[] = [];
    const b = await make(1, { log });
    const received: unknown[] = [];
    b.onReceive((from, p) => received.push([from, p]));
    const raw = rawTls(b.port, nodes.get(2)!);
    expect(await raw.secure).to.equal(true);
    raw.socket.write(Buffer.concat([hello(3), encodeFrame(FrameKind.Data, { g: [] }, 4096)]));
    await raw.closed;
    expect(raw.frames).to.have.length(1);
    expect((raw.frames[0] as { body: { reject?: string } }).body.reject).to.equal('certificate names node 2, HELLO says 3');
    expect(log.some((l) => /inbound connection from 3 refused: certificate names node 2, HELLO says 3/.test(l))).to.equal(true);
    expect(received).to.deep.equal([]);
    expect(b.stats().peers.has(3)).to.equal(false);
    expect(b.stats().rejectedConnections).to.equal(1);
    // The same certificate with its own id is accepted: a joining node is learned as usual.
    const honest = rawTls(b.port, nodes.get(2)!);
    honest.socket.write(Buffer.concat([hello(2), encodeFrame(FrameKind.Data, { hi: 1 }, 4096)]));
    await until(() => received.length === 1);
    expect(received[0]).to.deep.equal([2, { hi: 1 }]);
    expect(isConnected(b, 2)).to.equal(true);
  });

  it('refuses a peer without a certificate, with a foreign-CA certificate, or with one naming no node: logged and counted', async () => {
    const log: string[] = [];
    const b = await make(1, { log });
    const received: unknown[] = [];
    b.onReceive((from, p) => received.push([from, p]));
    for (const [files, reason] of [
      [null, /peer connection from 127\.0\.0\.1:\d+ refused: it presented no certificate/],
      [foreign, /refused: its certificate is not valid for this cluster \((DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED)/],
      [anonymous, /refused: the certificate names no node \(no SAN URI:urn:flotilla:node:<id>\)/],
    ] as const) {
      const raw = rawTls(b.port, files);
      raw.socket.on('secureConnect', () => raw.socket.write(hello(3)));
      await raw.closed;
      expect(raw.frames, String(reason)).to.deep.equal([]);
      expect(log.some((l) => reason.test(l)), `${String(reason)} in ${log.join('\n')}`).to.equal(true);
    }
    expect(received).to.deep.equal([]);
    expect(b.stats().rejectedConnections).to.equal(3);
  });

  it('plaintext to a TLS peer port and TLS to a plaintext one: refused both ways, logged, nobody crashes', async () => {
    const logTls: string[] = [];
    const logPlain: string[] = [];
    const secure = await make(1, { log: logTls });
    // Plaintext HELLO to the TLS port: the handshake fails.
    const plain = connect({ host: LOCAL, port: secure.port });
    sockets.push(plain);
    plain.on('error', () => {});
    plain.on('connect', () => plain.write(hello(2)));
    await new Promise((res) => plain.once('close', res));
    await until(() => logTls.some((l) => /peer TLS handshake from .* failed/.test(l)));
    // A TLS node (2) dialing a plaintext node (1): the plaintext side names the cause.
    const open = await make(1, { log: logPlain, tls: null });
    const dialer = await make(2, { log: logTls });
    link(open, dialer);
    await until(() => logPlain.some((l) => /a TLS handshake on a plaintext peer listener/.test(l)));
    // And a plaintext node (3) dialing the TLS node (1).
    const plainDialer = await make(3, { tls: null });
    plainDialer.setPeers(new Map([[1, { host: LOCAL, port: secure.port }]]));
    await until(() => secure.stats().rejectedConnections >= 2);
    expect(isConnected(open, 2)).to.equal(false);
    expect(isConnected(plainDialer, 1)).to.equal(false);
    expect(open.stats().rejectedConnections).to.be.at.least(1);
  });

  it('a peer refused in a loop cannot flood the log: 20 lines per window, every refusal counted', async () => {
    const log: string[] = [];
    const b = await make(1, { log });
    for (let i = 0; i < 25; i++) {
      const raw = rawTls(b.port, null);
      await raw.closed;
    }
    expect(b.stats().rejectedConnections).to.equal(25);
    expect(log.filter((l) => /refused: it presented no certificate/.test(l))).to.have.length(20);
  });

  it('the dialer refuses an acceptor whose certificate names another node than the one it dialed', async () => {
    const log: string[] = [];
    const a = await make(3, { log });
    const c = await make(1);
    a.setPeers(new Map([[2, { host: LOCAL, port: c.port }]]));
    await until(() => log.some((l) => /connection to 2 at 127\.0\.0\.1:\d+ refused: its certificate names node 1, not 2/.test(l)));
    expect(isConnected(a, 2)).to.equal(false);
    expect(c.stats().peers.has(3)).to.equal(false);
  });
});

describe('peer TLS settings (lib/transport/peer-tls.ts)', () => {
  it('reads the node id from the SAN URI, and nothing else', () => {
    const x = (f: CertFiles): X509Certificate => new X509Certificate(readFileSync(f.cert));
    expect(certificateNodeId(x(nodes.get(2)!))).to.deep.equal({ nodeId: 2 });
    expect(certificateNodeId(x(anonymous))).to.have.property('why').that.matches(/names no node/);
    expect(certificateNodeId(undefined)).to.deep.equal({ why: 'no certificate' });
    const twice = makeCert(dir, ca, { name: 'twice', subject: '/CN=localhost', sans: [nodeUriSan(1), nodeUriSan(2)] });
    expect(certificateNodeId(x(twice))).to.have.property('why').that.matches(/names several nodes \(1, 2\)/);
    const bad = makeCert(dir, ca, { name: 'bad', subject: '/CN=localhost', sans: ['URI:urn:flotilla:node:2x'] });
    expect(certificateNodeId(x(bad))).to.have.property('why').that.matches(/is not urn:flotilla:node:<id>/);
  });

  it('checks the files before a node starts: readable, signed by the CA, naming this node', () => {
    const files = { certFile: nodes.get(2)!.cert, keyFile: nodes.get(2)!.key, caFile: ca.cert };
    expect(loadPeerTls(files, 2).cert.toString()).to.contain('BEGIN CERTIFICATE');
    const fails = (f: typeof files, id: number, re: RegExp): void => {
      try {
        loadPeerTls(f, id);
      } catch (err) {
        expect(isFlotillaError(err, 'INVALID_CONFIG')).to.equal(true);
        expect((err as Error).message).to.match(re);
        return;
      }
      expect.fail(`loadPeerTls accepted ${JSON.stringify(f)} for node ${id}`);
    };
    fails(files, 3, /--peer-tls-cert-file: the certificate names node 2, but this is node 3/);
    fails({ ...files, certFile: foreign.cert }, 3, /--peer-tls-cert-file: .* is not signed by the CA in --peer-tls-ca-file/);
    fails({ ...files, certFile: anonymous.cert }, 2, /names no node .* needs the SAN URI:urn:flotilla:node:2/);
    fails({ ...files, keyFile: join(dir, 'missing.key') }, 2, /--peer-tls-key-file: cannot read/);
    fails({ ...files, caFile: nodes.get(2)!.key }, 2, /--peer-tls-ca-file: .* is not a PEM certificate/);
  });

  it('secured client listeners with a plaintext peer transport is a configuration error', () => {
    expect(peerSecurityProblem([], false)).to.equal(null);
    expect(peerSecurityProblem(['PLAINTEXT'], false)).to.equal(null);
    expect(peerSecurityProblem(['PLAINTEXT', 'SASL_SSL'], true)).to.equal(null);
    expect(peerSecurityProblem(['PLAINTEXT'], true)).to.equal(null);
    expect(peerSecurityProblem(['PLAINTEXT', 'SASL_SSL', 'SSL', 'SSL'], false)).to.match(/^must be given .* when a client listener is secured \(SASL_SSL, SSL\)/);
  });
});
