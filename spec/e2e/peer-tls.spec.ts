/**
 * End-to-end, issue 18 (research security.md §4.5 B1-B3): three real `flotilla start` processes
 * whose Raft peer transport runs over mutual TLS, each with a certificate bound to its node id
 * (SAN URI:urn:flotilla:node:<id>, made with lib/app/certs.ts). The cluster elects, replicates
 * (KafkaJS produce and consume), survives kill -9 of a node; a process holding node 2's
 * certificate but saying HELLO as node 3 is refused, as are a peer without a certificate, one
 * with a foreign CA's certificate and a plaintext one; a node given another node's certificate
 * does not start.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { type CertFiles, localSans, makeCa, makeNodeCert, makeSelfSigned } from '../../lib/app/certs.js';
import { nodeUriSan } from '../../lib/transport/peer-tls.js';
import { FrameKind, FrameReader, PROTOCOL_VERSION, decodeFrame, encodeFrame } from '../../lib/transport/transport.js';
import { type NodeStatus, TestCluster, sendByPartition, until } from './cluster-harness.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;
const CLUSTER_ID = 'flotilla-local';

type Status = NodeStatus & { transport: Record<string, { connected: boolean }>; peerConnectionsRefused: number };

describe('peer transport over mutual TLS: real processes (B1-B3)', function () {
  this.timeout(240_000);
  let cluster: TestCluster;
  let ca: CertFiles;
  const certs = new Map<number, CertFiles>();
  let foreign: CertFiles;
  const sockets: Socket[] = [];

  before(async () => {
    cluster = new TestCluster(3);
    const dir = join(cluster.root, 'tls');
    ca = makeCa(dir, 'flotilla-e2e-ca', 30);
    for (const n of cluster.nodes) {
      const cert = makeNodeCert(dir, ca, n.id);
      certs.set(n.id, cert);
      n.nodeArgs = ['--peer-tls-cert-file', cert.cert, '--peer-tls-key-file', cert.key, '--peer-tls-ca-file', ca.cert];
    }
    foreign = makeSelfSigned(dir, 'foreign', '/CN=localhost', [...localSans, nodeUriSan(3)]);
    cluster.start();
    await cluster.ready(90_000);
  });

  afterEach(function () {
    for (const s of sockets.splice(0)) s.destroy();
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    await cluster?.destroy();
  });

  const status = async (id: number): Promise<Status> => (await cluster.node(id).status()) as Status;

  /** Raw peer connection to node `id`'s peer port: TLS with `files` (or none), or plaintext; frames decoded. */
  const rawPeer = (id: number, mode: { tls: CertFiles | null } | 'plaintext') => {
    const port = cluster.node(id).peerPort;
    const socket = mode === 'plaintext'
      ? connect({ host: '127.0.0.1', port })
      : tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(ca.cert), rejectUnauthorized: false, ...(mode.tls ? { cert: readFileSync(mode.tls.cert), key: readFileSync(mode.tls.key) } : {}) });
    sockets.push(socket);
    socket.on('error', () => {});
    const frames: ReturnType<typeof decodeFrame>[] = [];
    const reader = new FrameReader(1 << 20);
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      try {
        for (const c of reader.drain()) frames.push(decodeFrame(c));
      } catch {
        // not a frame (TLS bytes to a plaintext reader): nothing to decode
      }
    });
    const closed = new Promise<void>((res) => socket.once('close', () => res()));
    const ready = new Promise<void>((res) => socket.once(mode === 'plaintext' ? 'connect' : 'secureConnect', () => res()));
    return { socket, frames, closed, ready };
  };
  const hello = (nodeId: number): Buffer => encodeFrame(FrameKind.Hello, { protocolVersion: PROTOCOL_VERSION, clusterId: CLUSTER_ID, nodeId }, 4096);

  it('B1: elects and connects every pair over TLS, replicates what KafkaJS produces, and survives kill -9 of a node', async () => {
    for (const id of [1, 2, 3]) {
      const st = await status(id);
      expect(Object.entries(st.transport).filter(([, p]) => p.connected).map(([peer]) => Number(peer)).sort()).to.deep.equal([1, 2, 3].filter((p) => p !== id));
    }
    expect(cluster.node(1).output).to.match(/listening for peers on 127\.0\.0\.1:\d+ \(mutual TLS, node ids bound to certificates\)/);
    expect(cluster.node(1).output).to.not.match(/refused|not valid for this cluster/);
    const kafka = cluster.kafka('peer-tls');
    const admin = kafka.admin();
    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true });
    await admin.connect();
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'secure-peers', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
      const first = Array.from({ length: 60 }, (_, i) => ({ partition: i % 3, value: `a-${i}` }));
      await sendByPartition(producer, 'secure-peers', first);
      // kill -9 the metadata leader: a new one is elected over TLS, the topic keeps taking writes.
      const victim = await cluster.metadataLeader();
      await cluster.node(victim).stop('SIGKILL');
      await until(async () => {
        const leader = await cluster.metadataLeader().catch(() => 0);
        return leader > 0 && leader !== victim;
      }, 30_000, 'a new metadata leader');
      const second = Array.from({ length: 60 }, (_, i) => ({ partition: i % 3, value: `b-${i}` }));
      await sendByPartition(producer, 'secure-peers', second);
      cluster.node(victim).start(cluster.controllers);
      await cluster.ready(60_000);
      await until(async () => {
        const st = await status(victim);
        return Object.values(st.transport).filter((p) => p.connected).length === 2;
      }, 30_000, `node ${victim} connected to both peers again`);
      // Every record is there, read back by a consumer group (from any replica's leader).
      const consumer = kafka.consumer({ groupId: 'peer-tls-check', sessionTimeout: 10_000, heartbeatInterval: 500 });
      const seen = new Set<string>();
      await consumer.connect();
      await consumer.subscribe({ topic: 'secure-peers', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => { seen.add(message.value!.toString()); } });
      await until(() => seen.size === 120, 60_000, 'all 120 records consumed');
      await consumer.disconnect();
      expect([...seen].sort()).to.deep.equal([...first, ...second].map((m) => m.value).sort());
      // And the restarted node's replicas caught up: every replica at the same high watermark.
      await until(async () => {
        const all = await cluster.statuses();
        const hw = all.flatMap((s) => (s?.partitions ?? []).filter((p) => p.topic === 'secure-peers').map((p) => `${p.partition}:${p.highWatermark}`));
        return hw.length === 9 && new Set(hw).size === 3;
      }, 30_000, 'every replica of secure-peers at the same high watermark');
    } finally {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    }
  });

  it('B3: node 2\'s certificate saying HELLO as node 3 is refused before any Raft frame; the real node 3 keeps its connection', async () => {
    const before = (await status(1)).peerConnectionsRefused;
    const raw = rawPeer(1, { tls: certs.get(2)! });
    await raw.ready;
    raw.socket.write(Buffer.concat([hello(3), encodeFrame(FrameKind.Data, { g: [] }, 4096)]));
    await raw.closed;
    expect(raw.frames).to.have.length(1);
    expect((raw.frames[0] as { body: { reject?: string } }).body.reject).to.equal('certificate names node 2, HELLO says 3');
    expect(cluster.node(1).output).to.match(/inbound connection from 3 refused: certificate names node 2, HELLO says 3/);
    const after = await status(1);
    expect(after.peerConnectionsRefused).to.equal(before + 1);
    expect(after.transport['3']?.connected).to.equal(true);
    expect(after.transport['2']?.connected).to.equal(true);
  });

  it('B2: a peer without a certificate, with a foreign CA\'s, or in plaintext is refused and counted; the cluster is unaffected', async () => {
    const before = (await status(1)).peerConnectionsRefused;
    const none = rawPeer(1, { tls: null });
    none.socket.on('secureConnect', () => none.socket.write(hello(3)));
    await none.closed;
    const stranger = rawPeer(1, { tls: foreign });
    stranger.socket.on('secureConnect', () => stranger.socket.write(hello(3)));
    await stranger.closed;
    const plain = rawPeer(1, 'plaintext');
    await plain.ready;
    plain.socket.write(hello(3));
    await plain.closed;
    for (const r of [none, stranger, plain]) expect(r.frames).to.deep.equal([]);
    const out = cluster.node(1).output;
    expect(out).to.match(/peer connection from 127\.0\.0\.1:\d+ refused: it presented no certificate/);
    expect(out).to.match(/peer connection from 127\.0\.0\.1:\d+ refused: its certificate is not valid for this cluster/);
    expect(out).to.match(/peer TLS handshake from 127\.0\.0\.1 failed/);
    await until(async () => (await status(1)).peerConnectionsRefused >= before + 3, 5000, 'three refusals counted');
    const st = await status(1);
    expect([st.transport['2']?.connected, st.transport['3']?.connected]).to.deep.equal([true, true]);
    for (const n of cluster.nodes) expect(n.running, `node ${n.id}`).to.equal(true);
  });

  it('a node given another node\'s certificate does not start: exit 2, naming the setting', () => {
    const n = cluster.node(3);
    const r = spawnSync(process.execPath, [BIN, 'start', '--node-id', '4', '--data-dir', join(cluster.root, 'wrong-cert'),
      '--listen', '127.0.0.1:0', '--peer-listen', '127.0.0.1:0', '--metrics-listen', 'off', '--controllers', cluster.controllers,
      '--peer-tls-cert-file', certs.get(2)!.cert, '--peer-tls-key-file', certs.get(2)!.key, '--peer-tls-ca-file', ca.cert], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stderr).to.match(/^flotilla start: invalid setting --peer-tls-cert-file: the certificate names node 2, but this is node 4$/m);
    expect(n.running).to.equal(true);
  });
});
