/**
 * End-to-end, issue 18 (listeners and client TLS): a 3-node cluster of real processes, each node
 * with three listeners — PLAINTEXT, SSL, and MTLS (SSL with required client certificates) — and
 * KafkaJS, kcat (librdkafka) and kafka-python producing and consuming over SSL. Metadata answers
 * each client with the endpoints of the listener it came in on. Certificates are made at test
 * time (lib/app/certs.ts) with SANs for localhost and 127.0.0.1, which librdkafka checks.
 */
import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { type CertFiles, localSans, makeCa, makeCert, makeNodeCert, makeSelfSigned } from '../../lib/app/certs.js';
import { type FlotillaProcess, TestCluster, kafkaPython, kcat, kcatPath, runChild, until } from './cluster-harness.js';

const PY_TLS = new URL('../../../spec/e2e/python/kafka_python_tls.py', import.meta.url).pathname;

const sslPort = (n: FlotillaProcess): number => n.clientPort + 50;
const mtlsPort = (n: FlotillaProcess): number => n.clientPort + 150;

describe('TLS listeners: KafkaJS, kcat and kafka-python over SSL against a 3-node cluster', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let ca: CertFiles;
  let alice: CertFiles;
  let certDir: string;

  before(async () => {
    cluster = new TestCluster(3);
    certDir = join(cluster.root, 'certs');
    ca = makeCa(certDir, 'e2e-ca');
    const node = makeCert(certDir, ca, { name: 'node', subject: '/CN=localhost', sans: localSans });
    alice = makeCert(certDir, ca, { name: 'alice', subject: '/C=US/O=Flotilla/OU=ServiceUsers/CN=Alice', extendedKeyUsage: ['clientAuth'] });
    for (const n of cluster.nodes) {
      // Secured client listeners need the peer transport secured too (mutual TLS, node ids bound to certificates).
      const peer = makeNodeCert(certDir, ca, n.id);
      n.nodeArgs = [
        '--listeners', `PLAINTEXT://127.0.0.1:${n.clientPort},SSL://127.0.0.1:${sslPort(n)},MTLS://127.0.0.1:${mtlsPort(n)}`,
        '--peer-tls-cert-file', peer.cert, '--peer-tls-key-file', peer.key, '--peer-tls-ca-file', ca.cert,
      ];
    }
    cluster.start([
      '--listener-security-protocol-map', 'MTLS:SSL',
      '--tls-cert-file', node.cert, '--tls-key-file', node.key, '--tls-ca-file', ca.cert, '--tls-client-auth', 'MTLS:required',
      '--ssl-principal-mapping-rules', 'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L,DEFAULT',
    ]);
    await cluster.ready(60_000);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    await cluster.destroy();
  });

  const sslBootstrap = (): string[] => cluster.nodes.map((n) => `127.0.0.1:${sslPort(n)}`);
  const kafkaOver = (brokers: string[], ssl: false | { ca: Buffer[]; cert?: Buffer; key?: Buffer }, clientId: string): Kafka => new Kafka({
    clientId, brokers, ssl, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
  });

  it('Metadata and DescribeCluster answer with the endpoints of the listener the request came in on', async () => {
    const caPem = readFileSync(ca.cert);
    const cases: [string[], false | { ca: Buffer[] }, (n: FlotillaProcess) => number][] = [
      [cluster.bootstrap, false, (n) => n.clientPort],
      [sslBootstrap(), { ca: [caPem] }, sslPort],
    ];
    for (const [brokers, ssl, portOf] of cases) {
      const admin = kafkaOver(brokers, ssl, 'e2e-tls-meta').admin();
      await admin.connect();
      try {
        const described = await admin.describeCluster();
        expect(described.brokers.map((b) => `${b.host}:${b.port}`).sort()).to.deep.equal(cluster.nodes.map((n) => `127.0.0.1:${portOf(n)}`).sort());
      } finally {
        await admin.disconnect();
      }
    }
  });

  it('KafkaJS: creates a topic, produces with acks=all and consumes in a group over SSL', async () => {
    const kafka = kafkaOver(sslBootstrap(), { ca: [readFileSync(ca.cert)] }, 'e2e-tls-kafkajs');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'tls-t', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
    const { topics } = await admin.fetchTopicMetadata({ topics: ['tls-t'] });
    expect(topics[0]!.partitions.every((p) => p.leader > 0)).to.equal(true);
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const messages = Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `js${i}` }));
    await producer.send({ topic: 'tls-t', acks: -1, messages });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'e2e-tls-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'tls-t', fromBeginning: true });
    const seen = new Set<string>();
    await consumer.run({ eachMessage: async ({ message }) => { seen.add(message.value!.toString()); } });
    try {
      await until(() => seen.size === messages.length, 60_000, 'every record consumed over SSL');
    } finally {
      await consumer.disconnect();
    }
  });

  it('kcat (librdkafka, host name checked against the SANs): -L lists the SSL endpoints; produce and consume', async function () {
    if (kcatPath() === null) {
      if (process.env.CI) throw new Error('kcat is required in CI (.ci/run installs it)');
      this.skip();
    }
    const tls = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${ca.cert}`];
    const brokers = sslBootstrap().join(',');
    const meta = JSON.parse(await kcat(['-b', brokers, ...tls, '-L', '-J'])) as { brokers: { id: number; name: string }[] };
    expect(meta.brokers.map((b) => b.name).sort()).to.deep.equal(cluster.nodes.map((n) => `127.0.0.1:${sslPort(n)}`).sort());
    const lines = Array.from({ length: 200 }, (_, i) => `kc${i}`);
    await kcat(['-b', brokers, ...tls, '-P', '-t', 'tls-kcat', '-p', '0', '-X', 'topic.request.required.acks=-1'], `${lines.join('\n')}\n`);
    const out = await kcat(['-b', brokers, ...tls, '-C', '-t', 'tls-kcat', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%s\\n']);
    expect(out.trim().split('\n')).to.deep.equal(lines);
    // The same over the MTLS listener with alice's certificate.
    const mtls = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${ca.cert}`, '-X', `ssl.certificate.location=${alice.cert}`, '-X', `ssl.key.location=${alice.key}`];
    const mtlsBrokers = cluster.nodes.map((n) => `127.0.0.1:${mtlsPort(n)}`).join(',');
    const viaMtls = await kcat(['-b', mtlsBrokers, ...mtls, '-C', '-t', 'tls-kcat', '-p', '0', '-o', 'beginning', '-c', '5', '-q', '-f', '%s\\n']);
    expect(viaMtls.trim().split('\n')).to.deep.equal(lines.slice(0, 5));
  });

  it('kafka-python: produces and consumes in a group over SSL', async function () {
    const python = kafkaPython();
    if (python === null) {
      if (process.env.CI) throw new Error('python3-kafka is required in CI (.ci/run installs it)');
      this.skip();
    }
    const admin = kafkaOver(cluster.bootstrap, false, 'e2e-tls-py-admin').admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'tls-py', numPartitions: 2, replicationFactor: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const r = JSON.parse(await runChild(python!, [PY_TLS, sslBootstrap().join(','), ca.cert, 'tls-py', '200'], 180_000)) as { acked: number; values: string[] };
    expect(r.acked).to.equal(200);
    expect(r.values).to.have.length(200);
    expect(new Set(r.values).size).to.equal(200);
  });

  it('MTLS (client auth required): a client certificate is served; none, or a foreign one, is refused with an audit line', async () => {
    const kafka = kafkaOver(cluster.nodes.map((n) => `127.0.0.1:${mtlsPort(n)}`), { ca: [readFileSync(ca.cert)], cert: readFileSync(alice.cert), key: readFileSync(alice.key) }, 'e2e-mtls');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'tls-t', acks: -1, messages: [{ value: 'from-alice' }] });
    await producer.disconnect();
    const foreign = makeSelfSigned(certDir, 'mallory', '/CN=mallory', []);
    const node1 = cluster.node(1);
    for (const [cert, reason] of [[null, 'no client certificate'], [foreign, 'DEPTH_ZERO_SELF_SIGNED_CERT']] as const) {
      const closed = await new Promise<boolean>((resolve) => {
        const socket = tlsConnect({
          host: '127.0.0.1', port: mtlsPort(node1), ca: readFileSync(ca.cert), servername: 'localhost',
          ...(cert === null ? {} : { cert: readFileSync(cert.cert), key: readFileSync(cert.key) }),
        });
        socket.on('error', () => undefined);
        socket.on('close', () => resolve(true));
        setTimeout(() => { socket.destroy(); resolve(false); }, 10_000);
      });
      expect(closed, reason).to.equal(true);
      await until(() => node1.output.includes(`"reason":"${reason}"`), 10_000, `the audit line for ${reason}`);
    }
  });

  it('rotates the node certificate without a restart (file change, SIGHUP): new connections get the new one', async () => {
    const serialAt = (port: number): Promise<string> => new Promise((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(ca.cert), servername: 'localhost' }, () => {
        resolve(socket.getPeerX509Certificate()!.serialNumber);
        socket.destroy();
      });
      socket.on('error', reject);
    });
    const before = await serialAt(sslPort(cluster.node(1)));
    const next = makeCert(certDir, ca, { name: 'node-next', subject: '/CN=localhost', sans: localSans });
    writeFileSync(join(certDir, 'node.key'), readFileSync(next.key));
    writeFileSync(join(certDir, 'node.pem'), readFileSync(next.cert));
    for (const n of cluster.nodes) n.child!.kill('SIGHUP');
    const wanted = new X509Certificate(readFileSync(next.cert)).serialNumber;
    expect(wanted).to.not.equal(before);
    for (const n of cluster.nodes) {
      await until(async () => (await serialAt(sslPort(n))) === wanted, 15_000, `node ${n.id} serving the new certificate`);
      expect(n.running, `node ${n.id} survives SIGHUP`).to.equal(true);
      expect(n.output).to.match(/reloaded the certificate files/);
    }
    // Clients go on over the new certificate (same CA).
    const kafka = kafkaOver(sslBootstrap(), { ca: [readFileSync(ca.cert)] }, 'e2e-tls-rotated');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'tls-t', acks: -1, messages: [{ value: 'after-rotation' }] });
    await producer.disconnect();
  });

  it('a TLS client on the PLAINTEXT listener is closed with "TLS handshake on a plaintext listener"', async () => {
    const node2 = cluster.node(2);
    await new Promise<void>((resolve) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: node2.clientPort, ca: readFileSync(ca.cert), servername: 'localhost' });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
    });
    await until(() => node2.output.includes('TLS handshake on a plaintext listener'), 10_000, 'the log line');
  });
});
