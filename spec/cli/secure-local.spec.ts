import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNodeConfig, nodeSettings } from '../../lib/app/config.js';
import { resolveClientSecurity } from '../../lib/cli/client-security.js';
import { planLocalCluster } from '../../lib/cli/local.js';
import { nodeCertFiles, prepareSecureLocal, secureBanner, secureLocalFiles } from '../../lib/cli/secure-local.js';
import { certificateNodeId, loadPeerTls } from '../../lib/transport/peer-tls.js';

describe('flotilla local --secure (lib/cli/secure-local.ts)', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'flotilla-secure-local-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives each node peer mTLS, a SASL_SSL listener, the admin credential and the authorizer, in place of --listen', () => {
    const files = secureLocalFiles('/data');
    const plan = planLocalCluster({ nodes: 3, dataDir: '/data', port: 9092, host: '127.0.0.1', secure: files });
    const args = plan[1]!.args;
    expect(args).to.not.include('--listen');
    const after = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    expect(after('--listeners')).to.equal('SASL_SSL://127.0.0.1:9093');
    expect([after('--tls-cert-file'), after('--tls-key-file'), after('--tls-ca-file')]).to.deep.equal(['/data/tls/node-2.pem', '/data/tls/node-2.key', '/data/tls/ca.pem']);
    expect([after('--peer-tls-cert-file'), after('--peer-tls-key-file'), after('--peer-tls-ca-file')]).to.deep.equal(['/data/tls/node-2.pem', '/data/tls/node-2.key', '/data/tls/ca.pem']);
    expect(after('--sasl-mechanisms')).to.equal('SCRAM-SHA-512,PLAIN');
    expect(after('--add-scram')).to.equal('SCRAM-SHA-512=[name=admin,password-file=/data/tls/admin.password]');
    expect(after('--authorizer')).to.equal('true');
    expect(after('--super-users')).to.equal('User:admin');
    expect(after('--peer-listen')).to.equal('127.0.0.1:19093');
    expect(files.clientProperties).to.equal('/data/client.properties');
    // Every setting is one loadNodeConfig knows and accepts.
    const flags: Record<string, unknown> = {};
    const rest = args.slice(1).filter((a) => a !== '--stop-with-stdin');
    const foreign: string[] = [];
    for (let i = 0; i < rest.length; i += 2) {
      const name = rest[i]!.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      // --add-scram reads its password file at load: the planned paths do not exist here (the e2e run makes them).
      if (Object.hasOwn(nodeSettings, name) && name !== 'addScram') flags[name] = rest[i + 1];
      else foreign.push(name);
    }
    const c = loadNodeConfig({ flags, env: {} });
    expect(c.peerTls).to.deep.equal({ certFile: '/data/tls/node-2.pem', keyFile: '/data/tls/node-2.key', caFile: '/data/tls/ca.pem' });
    expect(foreign.filter((n) => !['listeners', 'tlsCertFile', 'tlsKeyFile', 'tlsCaFile', 'saslMechanisms', 'addScram', 'authorizer', 'superUsers'].includes(n))).to.deep.equal([]);
  });

  it('makes a CA, node certificates bound to their ids, a client certificate, a 0600 password and client.properties; a second run keeps them', () => {
    const data = join(dir, 'data');
    const files = prepareSecureLocal(data, 3, '127.0.0.1');
    const ca = new X509Certificate(readFileSync(files.caFile));
    for (const id of [1, 2, 3]) {
      const node = nodeCertFiles(files, id);
      const x = new X509Certificate(readFileSync(node.cert));
      expect(x.verify(ca.publicKey)).to.equal(true);
      expect(certificateNodeId(x)).to.deep.equal({ nodeId: id });
      expect(x.checkIP('127.0.0.1')).to.equal('127.0.0.1');
      expect(x.checkHost('localhost')).to.equal('localhost');
      expect(loadPeerTls({ certFile: node.cert, keyFile: node.key, caFile: files.caFile }, id).key.length).to.be.above(0);
    }
    expect(new X509Certificate(readFileSync(files.clientCert.cert)).subject).to.contain('CN=admin');
    expect(statSync(files.passwordFile).mode & 0o777).to.equal(0o600);
    expect(statSync(files.clientProperties).mode & 0o777).to.equal(0o600);
    const password = readFileSync(files.passwordFile, 'utf8').trim();
    expect(password).to.match(/^[A-Za-z0-9_-]{24}$/);
    // The properties file is what `--command-config` (and librdkafka) read.
    const security = resolveClientSecurity({ commandConfig: files.clientProperties });
    expect(security.protocol).to.equal('SASL_SSL');
    expect(security.sasl).to.deep.equal({ mechanism: 'SCRAM-SHA-512', username: 'admin', password });
    expect(security.tls?.ca?.equals(readFileSync(files.caFile))).to.equal(true);
    // Again, with one more node: the same CA and password (the credential is in the metadata log), one new certificate.
    const caBytes = readFileSync(files.caFile);
    const node1 = readFileSync(nodeCertFiles(files, 1).cert);
    prepareSecureLocal(data, 4, '127.0.0.1');
    expect(readFileSync(files.caFile).equals(caBytes)).to.equal(true);
    expect(readFileSync(nodeCertFiles(files, 1).cert).equals(node1)).to.equal(true);
    expect(readFileSync(files.passwordFile, 'utf8').trim()).to.equal(password);
    expect(certificateNodeId(new X509Certificate(readFileSync(nodeCertFiles(files, 4).cert)))).to.deep.equal({ nodeId: 4 });
  });

  it('adds --host to the SANs and prints the settings for flotilla, kcat, KafkaJS and kafka-python without the password', () => {
    const files = prepareSecureLocal(join(dir, 'other'), 1, '10.1.2.3');
    expect(new X509Certificate(readFileSync(nodeCertFiles(files, 1).cert)).checkIP('10.1.2.3')).to.equal('10.1.2.3');
    const banner = secureBanner(files, ['10.1.2.3:9092']).join('\n');
    expect(banner).to.contain(`--command-config ${files.clientProperties}`);
    expect(banner).to.contain(`kcat -b 10.1.2.3:9092 -F ${files.clientProperties}`);
    expect(banner).to.contain("mechanism: 'scram-sha-512'");
    expect(banner).to.contain("security_protocol='SASL_SSL'");
    expect(banner).to.not.contain(readFileSync(files.passwordFile, 'utf8').trim());
  });
});
