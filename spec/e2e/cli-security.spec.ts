/**
 * End-to-end, issue 18: `--command-config` on the CLI's two client paths, as real processes,
 * against a real node reached over TLS. The node itself still listens in plaintext (client TLS
 * is another part of issue 18), on 127.0.0.2, advertising 127.0.0.1 where a TLS terminator
 * (node:tls, a certificate for 127.0.0.1 from a test CA) forwards to it: every client connection,
 * the bootstrap one and the ones to the advertised address, goes through TLS. KafkaJS commands
 * (topic create, produce, consume) and an own-codec command (cluster quorum) work with the
 * properties file, and so does kcat (-F, librdkafka); without it, or trusting another CA, they
 * fail with a clear message.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { type Server as NetServer, type Socket, connect } from 'node:net';
import { join } from 'node:path';
import { type Server, createServer } from 'node:tls';
import { localSans, makeCa, makeCert, makeSelfSigned } from '../../lib/app/certs.js';
import { TestCluster, kcat, kcatPath } from './cluster-harness.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('flotilla --command-config through TLS (KafkaJS and own-codec paths)', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let terminator: Server;
  const sockets = new Set<Socket>();
  let props: string;
  let foreignProps: string;
  let bootstrap: string;

  before(async () => {
    cluster = new TestCluster(1);
    const node = cluster.node(1);
    node.nodeArgs = ['--listen', `127.0.0.2:${node.clientPort}`, '--advertised-host', '127.0.0.1'];
    const dir = join(cluster.root, 'tls');
    const ca = makeCa(dir, 'flotilla-cli-test-ca', 30);
    const cert = makeCert(dir, ca, { name: 'terminator', subject: '/CN=localhost', sans: localSans });
    const foreign = makeSelfSigned(dir, 'foreign', '/CN=other');
    props = join(cluster.root, 'client.properties');
    writeFileSync(props, `# test\nsecurity.protocol=SSL\nssl.ca.location=${ca.cert}\n`);
    foreignProps = join(cluster.root, 'foreign.properties');
    writeFileSync(foreignProps, `security.protocol=SSL\nssl.ca.location=${foreign.cert}\n`);
    terminator = createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (tlsSocket) => {
      const upstream = connect({ host: '127.0.0.2', port: node.clientPort });
      for (const s of [tlsSocket, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          sockets.delete(s);
          tlsSocket.destroy();
          upstream.destroy();
        });
      }
      tlsSocket.pipe(upstream).pipe(tlsSocket);
    });
    terminator.on('tlsClientError', () => {});
    await new Promise<void>((res) => terminator.listen(node.clientPort, '127.0.0.1', () => res()));
    bootstrap = `127.0.0.1:${node.clientPort}`;
    cluster.start();
    await cluster.ready(60_000);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((res) => (terminator ? (terminator as unknown as NetServer).close(() => res()) : res()));
    await cluster?.destroy();
  });

  const flotilla = (args: readonly string[], input = ''): Promise<Run> => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
  const ok = async (args: readonly string[], input = ''): Promise<string> => {
    const r = await flotilla(args, input);
    expect(r.code, `flotilla ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  it('KafkaJS commands: topic create, produce and consume over TLS with the properties file', async () => {
    await ok(['topic', 'create', 'sec', '-p', '2', '-r', '1', '-b', bootstrap, '--command-config', props]);
    expect(await ok(['topic', 'list', '-b', bootstrap, '--command-config', props])).to.match(/\bsec\b/);
    const produced = await ok(['produce', '--topic', 'sec', '--partition', '0', '-b', bootstrap, '--command-config', props], 'one\ntwo\nthree\n');
    expect(produced.trim().split('\n')).to.have.length(3);
    const consumed = await ok(['consume', '--topic', 'sec', '--partition', '0', '--offset', '0', '--max-messages', '3', '-b', bootstrap, '--command-config', props]);
    expect(consumed.trim().split('\n')).to.deep.equal(['one', 'two', 'three']);
  });

  it('librdkafka (kcat -F) reads the same properties file and consumes over TLS', async function () {
    if (kcatPath() === null) this.skip();
    const out = await kcat(['-F', props, '-b', bootstrap, '-C', '-t', 'sec', '-p', '0', '-o', '0', '-c', '3', '-e', '-q']);
    expect(out.trim().split('\n')).to.deep.equal(['one', 'two', 'three']);
  });

  it('the own-codec path (cluster quorum) over TLS with the same file; flags work as well', async () => {
    const quorum = await ok(['cluster', 'quorum', '-b', bootstrap, '--command-config', props, '--json']);
    expect(JSON.parse(quorum)).to.have.nested.property('leaderId', 1);
    const ca = readFileSync(props, 'utf8').match(/ssl\.ca\.location=(.*)/)![1]!;
    expect(JSON.parse(await ok(['cluster', 'quorum', '-b', bootstrap, '--security-protocol', 'SSL', '--ssl-ca-location', ca, '--json']))).to.have.nested.property('leaderId', 1);
  });

  it('without the file, or trusting another CA, the commands fail with a clear message (exit 1)', async () => {
    const plain = await flotilla(['topic', 'list', '-b', bootstrap, '--timeout-ms', '3000']);
    expect(plain.code).to.equal(1);
    expect(plain.stderr).to.match(/^flotilla topic list: /);
    const stranger = await flotilla(['cluster', 'quorum', '-b', bootstrap, '--command-config', foreignProps, '--timeout-ms', '3000']);
    expect(stranger.code).to.equal(1);
    expect(stranger.stderr).to.match(/DescribeQuorum failed on every bootstrap server \(127\.0\.0\.1:\d+: TLS: .*(certificate|issuer)/);
    const strangerKafkaJs = await flotilla(['topic', 'list', '-b', bootstrap, '--command-config', foreignProps, '--timeout-ms', '3000']);
    expect(strangerKafkaJs.code).to.equal(1);
    expect(strangerKafkaJs.stderr).to.match(/certificate|issuer/);
  });
});
