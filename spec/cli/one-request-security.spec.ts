// The own-codec path of the CLI (lib/cli/one-request.ts) over TLS and SASL, against a small test
// broker on a real TLS socket: SaslHandshake v1, SaslAuthenticate v1 carrying SCRAM-SHA-512
// (verified here with node:crypto, independently of lib/kafka/sasl-client.ts), then the request.
import { expect } from 'chai';
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Server, type TLSSocket, createServer } from 'node:tls';
import { type CertFiles, localSans, makeCa, makeCert, makeSelfSigned } from '../../lib/app/certs.js';
import { oneRequest } from '../../lib/cli/one-request.js';
import { CliError } from '../../lib/cli/output.js';
import { apiVersionsApi } from '../../lib/kafka/api-versions.js';
import { encodeResponseFrame } from '../../lib/kafka/apis.js';
import { Reader, Writer } from '../../lib/kafka/primitives.js';

const PASSWORD = 'correct horse';
const SALT = randomBytes(16);
const ITERATIONS = 4096;
const salted = pbkdf2Sync(PASSWORD, SALT, ITERATIONS, 64, 'sha512');
const storedKey = createHash('sha512').update(createHmac('sha512', salted).update('Client Key').digest()).digest();
const serverKey = createHmac('sha512', salted).update('Server Key').digest();

/** A TLS "broker" that speaks just enough: SASL (SCRAM-SHA-512 for user admin) and ApiVersions. */
function testBroker(cert: CertFiles, mechanisms: readonly string[], seen: string[]): Server {
  return createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (socket: TLSSocket) => {
    let buffered = Buffer.alloc(0);
    let clientFirstBare = '';
    let serverFirst = '';
    let authenticated = false;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readInt32BE(0)) {
        const frame = buffered.subarray(4, 4 + buffered.readInt32BE(0));
        buffered = buffered.subarray(4 + frame.length);
        const r = new Reader(frame);
        const apiKey = r.int16();
        const version = r.int16();
        const correlationId = r.int32();
        r.nullableString();
        seen.push(`${apiKey}v${version}`);
        const w = new Writer();
        w.int32(0).int32(correlationId);
        if (apiKey === 17) {
          const mechanism = r.nullableString();
          w.int16(mechanisms.includes(mechanism ?? '') ? 0 : 33).int32(mechanisms.length);
          for (const m of mechanisms) w.nullableString(m);
        } else if (apiKey === 36) {
          const token = r.nullableBytes()!.toString();
          let reply = '';
          let error = 0;
          if (clientFirstBare === '') {
            clientFirstBare = token.slice(3);
            serverFirst = `${clientFirstBare.split(',')[1]!}srv${randomBytes(8).toString('hex')},s=${SALT.toString('base64')},i=${ITERATIONS}`;
            reply = serverFirst;
          } else {
            const withoutProof = token.slice(0, token.indexOf(',p='));
            const auth = `${clientFirstBare},${serverFirst},${withoutProof}`;
            const proof = Buffer.from(token.slice(token.indexOf(',p=') + 3), 'base64');
            const signature = createHmac('sha512', storedKey).update(auth).digest();
            const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] ?? 0)));
            const ok = clientFirstBare.startsWith('n=admin,') && proof.length === 64 && timingSafeEqual(createHash('sha512').update(clientKey).digest(), storedKey);
            if (ok) {
              authenticated = true;
              reply = `v=${createHmac('sha512', serverKey).update(auth).digest('base64')}`;
            } else {
              error = 58;
            }
          }
          w.int16(error).nullableString(error === 0 ? null : 'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512')
            .nullableBytes(Buffer.from(reply)).int64(0);
        } else {
          if (mechanisms.length > 0 && !authenticated) {
            socket.destroy();
            return;
          }
          socket.write(encodeResponseFrame(apiVersionsApi, 0, correlationId, { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }], throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false }));
          continue;
        }
        socket.write(w.int32At(0, w.offset - 4).finish());
      }
    });
  });
}

describe('cli/one-request over TLS and SASL (own codecs)', function () {
  this.timeout(30_000);
  let dir: string;
  let ca: CertFiles;
  let goodCert: CertFiles;
  let noSanCert: CertFiles;
  const servers: Server[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-one-request-'));
    ca = makeCa(dir);
    goodCert = makeCert(dir, ca, { name: 'broker', subject: '/CN=localhost', sans: localSans });
    noSanCert = makeCert(dir, ca, { name: 'nosan', subject: '/CN=elsewhere' });
    writeFileSync(join(dir, 'pw'), `${PASSWORD}\n`);
    writeFileSync(join(dir, 'wrong'), 'battery staple\n');
  });
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const start = async (cert: CertFiles, mechanisms: readonly string[], seen: string[] = []): Promise<string> => {
    const server = testBroker(cert, mechanisms, seen);
    servers.push(server);
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const scram = (bootstrap: string, passwordFile: string) => ({
    bootstrap, securityProtocol: 'SASL_SSL', saslMechanism: 'SCRAM-SHA-512', saslUsername: 'admin', saslPasswordFile: join(dir, passwordFile), sslCaLocation: ca.cert,
  });
  const failsWith = async (p: Promise<unknown>, re: RegExp): Promise<void> => {
    try {
      await p;
    } catch (err) {
      expect((err as Error).message).to.match(re);
      return;
    }
    expect.fail(`succeeded; expected ${String(re)}`);
  };

  it('SASL_SSL with SCRAM-SHA-512: handshake, two SaslAuthenticate rounds, the server signature checked, then the request', async () => {
    const seen: string[] = [];
    const bootstrap = await start(goodCert, ['SCRAM-SHA-512', 'PLAIN'], seen);
    const res = await oneRequest(scram(bootstrap, 'pw'), apiVersionsApi, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }, 5000);
    expect(res.apiKeys).to.deep.equal([{ apiKey: 18, minVersion: 0, maxVersion: 4 }]);
    expect(seen).to.deep.equal(['17v1', '36v1', '36v1', '18v0']);
  });

  it('a wrong password, a mechanism the listener lacks: one clear CliError, no other server tried', async () => {
    const bootstrap = await start(goodCert, ['SCRAM-SHA-512']);
    await failsWith(oneRequest({ ...scram(bootstrap, 'wrong'), bootstrap: `${bootstrap},${bootstrap}` }, apiVersionsApi, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }, 5000),
      /^SASL authentication as "admin" failed: Authentication failed during authentication due to invalid credentials/);
    await failsWith(oneRequest({ ...scram(bootstrap, 'pw'), saslMechanism: 'PLAIN' }, apiVersionsApi, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }, 5000),
      /does not enable SASL mechanism PLAIN on this listener \(it offers: SCRAM-SHA-512\)/);
  });

  it('TLS checks the broker: an unknown CA and a certificate without the host\'s SAN fail, unless the check is turned off', async () => {
    const plainTls = await start(goodCert, []);
    const ok = await oneRequest({ bootstrap: plainTls, securityProtocol: 'SSL', sslCaLocation: ca.cert }, apiVersionsApi, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }, 5000);
    expect(ok.errorCode).to.equal(0);
    const other = makeSelfSigned(dir, 'other-ca', '/CN=other');
    await failsWith(oneRequest({ bootstrap: plainTls, securityProtocol: 'SSL', sslCaLocation: other.cert }, apiVersionsApi, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }, 5000),
      /ApiVersions failed on every bootstrap server \(127\.0\.0\.1:\d+: TLS: .*(certificate|issuer)/);
    const noSan = await start(noSanCert, []);
    await failsWith(oneRequest({ bootstrap: noSan, securityProtocol: 'SSL', sslCaLocation: ca.cert }, apiVersionsApi, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }, 5000),
      /TLS: .*IP: 127\.0\.0\.1 is not in the cert's list/);
    const props = join(dir, 'nocheck.properties');
    writeFileSync(props, `security.protocol=SSL\nssl.ca.location=${ca.cert}\nssl.endpoint.identification.algorithm=none\n`);
    expect((await oneRequest({ bootstrap: noSan, commandConfig: props }, apiVersionsApi, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }, 5000)).errorCode).to.equal(0);
  });

  it('a plaintext command against the TLS port fails within the time limit, as a connection failure (not a hang)', async () => {
    const bootstrap = await start(goodCert, []);
    const started = Date.now();
    const err = await oneRequest(bootstrap, apiVersionsApi, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }, 1500).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(CliError);
    expect((err as Error).message).to.match(/ApiVersions failed on every bootstrap server/);
    expect(Date.now() - started).to.be.below(5000);
  });

  it('a TLS command against a plaintext port (which closes on the ClientHello) says which setting to check', async () => {
    const plain = createNetServer((socket) => socket.once('data', () => socket.destroy()));
    await new Promise<void>((res) => plain.listen(0, '127.0.0.1', () => res()));
    try {
      const bootstrap = `127.0.0.1:${(plain.address() as AddressInfo).port}`;
      await failsWith(oneRequest({ bootstrap, securityProtocol: 'SSL', sslCaLocation: ca.cert }, apiVersionsApi, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }, 5000),
        /TLS: .*\(is the listener at 127\.0\.0\.1:\d+ SSL or SASL_SSL\?\)/);
    } finally {
      plain.close();
    }
  });
});
