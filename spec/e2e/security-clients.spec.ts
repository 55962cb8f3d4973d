/**
 * End-to-end, issue 18: the client families of issue 17 (client-generations.spec.ts) against a
 * secured 3-node cluster, set up as security.spec.ts sets up its own: peer mutual TLS; client
 * listeners SASL_SSL (the harness's client port) and SASL_PLAINTEXT (+50); PLAIN, SCRAM-SHA-256 and
 * SCRAM-SHA-512; the admin's SCRAM credential from --add-scram; the authorizer on with User:admin
 * as super user. The admin adds one user per client and its ACLs with `flotilla user` / `flotilla
 * acl` and a client properties file (--command-config). Then:
 * - librdkafka 2.12 (node-rdkafka, a child process) produces, reads back in a group and commits over
 *   SASL_SSL with SCRAM-SHA-512, and gets "Topic authorization failed" for a topic without ACLs;
 * - @platformatic/kafka does the same over SASL_SSL with SCRAM-SHA-256, then with PLAIN;
 * - Sarama 1.22.1 (spec/e2e/go/sarama_check.go) with PLAIN over SASL_PLAINTEXT, once at Version
 *   2.0.0 (SaslHandshake v1 + SaslAuthenticate) and once at 0.11.0.0 (SaslHandshake v0 and the raw
 *   token), its first connection going through a FrameTap that shows which; with PLAIN over SASL_SSL
 *   (Net.TLS); with SCRAM-SHA-512 over SASL_SSL (sarama_scram.go, Debian's
 *   golang-github-xdg-go-scram-dev);
 * - no node's output (nor a client process's) holds a password.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Consumer, Producer, type SASLOptions, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { type CertFiles, makeCa, makeNodeCert } from '../../lib/app/certs.js';
import { type FlotillaProcess, TestCluster, runChild } from './cluster-harness.js';
import { FrameTap, TAP_HOST, apiName } from './frame-tap.js';
import { INSTALL, RDKAFKA_CHECK, buildSarama, missingClient, nodeRdkafka, saramaInstalled, saramaScramInstalled } from './test-clients.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;

const saslPlainPort = (n: FlotillaProcess): number => n.clientPort + 50;

/** Runs the flotilla CLI; resolves with its stdout, rejects with its stderr. */
function flotillaCli(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`flotilla ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('a secured cluster (issue 18) with librdkafka 2.12, @platformatic/kafka and Sarama 1.22.1: SASL_SSL, SASL_PLAINTEXT, PLAIN and SCRAM, ACLs', function () {
  this.timeout(300_000);
  let cluster: TestCluster;
  let ca: CertFiles;
  let tap: FrameTap;
  /** sarama_check built in before() (with SCRAM when the package is there), or null when Sarama is missing. */
  let sarama: string | null = null;
  const passwords = new Map<string, string>();
  /** What the client processes printed (checked for passwords at the end). */
  const clientOutputs: string[] = [];
  const passwordFile = (user: string): string => join(cluster.root, `${user}.pw`);

  before(async function () {
    cluster = new TestCluster(3);
    const certDir = join(cluster.root, 'certs');
    ca = makeCa(certDir, 'security-clients-ca');
    for (const user of ['admin', 'rdk', 'pk', 'sarama']) {
      const password = `${user}-${Math.random().toString(36).slice(2)}-pw`;
      passwords.set(user, password);
      writeFileSync(passwordFile(user), `${password}\n`, { mode: 0o600 });
    }
    for (const n of cluster.nodes) {
      const cert = makeNodeCert(certDir, ca, n.id);
      n.nodeArgs = [
        '--listeners', `SASL_SSL://127.0.0.1:${n.clientPort},SASL_PLAINTEXT://127.0.0.1:${saslPlainPort(n)}`,
        '--tls-cert-file', cert.cert, '--tls-key-file', cert.key,
        '--peer-tls-cert-file', cert.cert, '--peer-tls-key-file', cert.key, '--peer-tls-ca-file', ca.cert,
      ];
    }
    cluster.start([
      '--tls-ca-file', ca.cert,
      '--sasl-mechanisms', 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      '--add-scram', `SCRAM-SHA-512=[name=admin,password-file=${passwordFile('admin')}]`,
      '--authorizer', 'true', '--super-users', 'User:admin',
    ]);
    // The Go build (a few seconds with a warm cache) while the nodes start.
    if (saramaInstalled()) sarama = buildSarama(this as Mocha.Context, { scram: saramaScramInstalled() });
    tap = await FrameTap.before(cluster.nodes.map(saslPlainPort));
    await cluster.ready(90_000).catch((e: unknown) => {
      console.log(cluster.output());
      throw e;
    });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    await tap?.close();
    await cluster?.destroy();
    if (sarama !== null) rmSync(join(sarama, '..'), { recursive: true, force: true });
  });

  const saslSslBrokers = (): string[] => cluster.nodes.map((n) => `127.0.0.1:${n.clientPort}`);
  /** The SASL_PLAINTEXT listeners through the tap (the first connection only: metadata names the nodes). */
  const tappedSaslPlainBrokers = (): string[] => cluster.nodes.map((n) => `${TAP_HOST}:${saslPlainPort(n)}`);
  /** A client properties file (Kafka's keys, which the CLI and librdkafka both read); mode 0600. */
  const properties = (user: string, mechanism: string): string => {
    const file = join(cluster.root, `${user}.properties`);
    writeFileSync(file, [
      'security.protocol=SASL_SSL', `sasl.mechanism=${mechanism}`, `sasl.username=${user}`,
      `sasl.password=${passwords.get(user)!}`, `ssl.ca.location=${ca.cert}`, '',
    ].join('\n'), { mode: 0o600 });
    return file;
  };
  const admin = (args: readonly string[]): Promise<string> =>
    flotillaCli([...args, '-b', saslSslBrokers().join(','), '--command-config', join(cluster.root, 'admin.properties')]);

  it('the admin adds a user per client and their ACLs with flotilla user / flotilla acl and --command-config', async () => {
    properties('admin', 'SCRAM-SHA-512');
    // PLAIN logins are checked against the user's SCRAM credential: pk and sarama need one only.
    await Promise.all([['rdk', 'SCRAM-SHA-512'], ['pk', 'SCRAM-SHA-256'], ['sarama', 'SCRAM-SHA-512']].map(([user, mechanism]) =>
      admin(['user', 'add', user!, '--mechanism', mechanism!, '--password-file', passwordFile(user!)])));
    const rw = ['--operation', 'Write', '--operation', 'Read'];
    const prefixed = ['--resource-pattern-type', 'prefixed'];
    await Promise.all([
      admin(['acl', 'add', '--allow-principal', 'User:rdk', ...rw, '--topic', 'rdk-orders']),
      admin(['acl', 'add', '--allow-principal', 'User:rdk', '--operation', 'Read', '--group', 'rdk-g']),
      admin(['acl', 'add', '--allow-principal', 'User:pk', ...rw, '--topic', 'pk-', ...prefixed]),
      admin(['acl', 'add', '--allow-principal', 'User:pk', '--operation', 'Read', '--group', 'pk-', ...prefixed]),
      admin(['acl', 'add', '--allow-principal', 'User:sarama', ...rw, '--topic', 'sarama-', ...prefixed]),
      admin(['acl', 'add', '--allow-principal', 'User:sarama', '--operation', 'Read', '--group', 'sarama-', ...prefixed]),
    ]);
    const acls = await admin(['acl', 'list']);
    for (const p of ['User:rdk', 'User:pk', 'User:sarama']) expect(acls).to.contain(p);
    // The topics, one per Sarama run (each reads its topic from the start), and `secret` (no ACLs).
    const kafka = new Kafka({
      clientId: 'security-clients-admin', brokers: saslSslBrokers(), logLevel: logLevel.NOTHING, ssl: { ca: [readFileSync(ca.cert, 'utf8')] },
      sasl: { mechanism: 'scram-sha-512', username: 'admin', password: passwords.get('admin')! },
    });
    const kadmin = kafka.admin();
    await kadmin.connect();
    const topics = ['rdk-orders', 'pk-orders', 'secret', 'sarama-v1', 'sarama-v0', 'sarama-tls', 'sarama-scram'];
    await kadmin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: 3, replicationFactor: 3 })), waitForLeaders: true });
    await kadmin.disconnect();
  });

  it('librdkafka 2.12 (SASL_SSL, SCRAM-SHA-512): produce, group consume, commit; "Topic authorization failed" for a topic without ACLs', async function () {
    const module = nodeRdkafka();
    if (module === null) missingClient(this, `node-rdkafka (librdkafka 2.12) is not installed on this machine: run \`${INSTALL}\` once`);
    const stdout = await runChild(process.execPath, [RDKAFKA_CHECK, module, saslSslBrokers().join(','), '--secure', properties('rdk', 'SCRAM-SHA-512'), 'rdk-orders', 'rdk-g', 'secret'], 180_000);
    clientOutputs.push(stdout);
    const r = JSON.parse(stdout) as Record<string, any>;
    expect(r.error, `librdkafka ${r.librdkafka}: ${r.error}`).to.equal(undefined);
    expect(r.librdkafka).to.match(/^2\.12\./);
    expect(r.acked).to.have.length(50);
    expect(r.consumed.map(([p, o]: number[]) => [p, o])).to.deep.equal(r.acked);
    const next = new Map<number, number>();
    for (const [p, o] of r.acked as [number, number][]) next.set(p, Math.max(next.get(p) ?? 0, o + 1));
    for (const [p, o] of r.committed as [number, number][]) expect(o, `partition ${p} committed`).to.be.at.least(next.get(p)!);
    expect(r.forbidden).to.match(/Topic authorization failed/i);
    expect(cluster.output()).to.match(/denied User:rdk/);
  });

  for (const mechanism of ['SCRAM-SHA-256', 'PLAIN'] as const) {
    it(`@platformatic/kafka (SASL_SSL, ${mechanism}): produce, group consume, commit`, async () => {
      const tag = mechanism.toLowerCase();
      const base = {
        clientId: `pk-${tag}`, bootstrapBrokers: saslSslBrokers(), timeout: 20_000, retries: 5,
        tls: { ca: readFileSync(ca.cert, 'utf8') },
        sasl: { mechanism, username: 'pk', password: passwords.get('pk')! } satisfies SASLOptions,
      };
      const producer = new Producer({ ...base, serializers: stringSerializers, acks: -1 });
      const consumer = new Consumer({ ...base, groupId: `pk-${tag}`, deserializers: stringDeserializers, sessionTimeout: 10_000, heartbeatInterval: 500 });
      try {
        const res = await producer.send({ messages: Array.from({ length: 30 }, (_, i) => ({ topic: 'pk-orders', partition: i % 3, key: `k${i}`, value: `${tag}-${i}` })) });
        expect(res.offsets ?? []).to.have.length.greaterThan(0);
        // Each run reads the topic from the start: SCRAM's 30 records, then PLAIN's 30 too.
        const want = mechanism === 'PLAIN' ? 60 : 30;
        const stream = await consumer.consume({ topics: ['pk-orders'], mode: 'earliest', autocommit: false, maxWaitTime: 500 });
        const values: string[] = [];
        const last = new Map<number, { offset: bigint; commit(): void | Promise<void> }>();
        // A record that never comes ends the stream (and the check below fails) instead of the test's timeout.
        const giveUp = setTimeout(() => void stream.close().catch(() => {}), 60_000);
        for await (const m of stream) {
          values.push(m.value);
          last.set(m.partition, m);
          if (values.length === want) break;
        }
        clearTimeout(giveUp);
        expect(values, `records read in group pk-${tag}`).to.have.length(want);
        for (const m of last.values()) await m.commit();
        await stream.close();
        expect(values.filter((v) => v.startsWith(tag)).sort()).to.deep.equal(Array.from({ length: 30 }, (_, i) => `${tag}-${i}`).sort());
        const committed = await consumer.listCommittedOffsets({ topics: [{ topic: 'pk-orders', partitions: [0, 1, 2] }] });
        expect(committed.get('pk-orders')!.map(Number)).to.deep.equal([0, 1, 2].map((p) => Number(last.get(p)!.offset) + 1));
        await consumer.leaveGroup();
      } finally {
        await Promise.resolve().then(() => consumer.close(true)).catch(() => {});
        await Promise.resolve().then(() => producer.close(true)).catch(() => {});
      }
    });
  }

  /** Runs sarama_check's produce/consume steps; returns its result after checking every record came back. */
  const runSarama = async (ctx: Mocha.Context, version: string, topic: string, args: readonly string[], brokers: readonly string[]): Promise<Record<string, any>> => {
    if (sarama === null) missingClient(ctx, 'Sarama is not installed: apt-get install golang-go golang-github-shopify-sarama-dev (.ci/run installs them)');
    const stdout = await runChild(sarama, [
      '-steps', 'acked,consumed,committed,endOffsets', '-count', '30', '-group', `${topic}-g`, '-user', 'sarama', '-password-file', passwordFile('sarama'), ...args,
      brokers.join(','), version, topic,
    ], 120_000);
    clientOutputs.push(stdout);
    const r = JSON.parse(stdout) as Record<string, any>;
    expect(r.errors, `Sarama ${version} on ${topic}`).to.deep.equal({});
    expect(r.acked).to.have.length(30);
    expect(r.consumed).to.deep.equal(r.acked);
    const next = new Map<number, number>();
    for (const [p, o] of r.acked as [number, number][]) next.set(p, Math.max(next.get(p) ?? 0, o + 1));
    for (const [p, o] of next) {
      expect(r.committed[String(p)], `partition ${p} committed`).to.equal(o);
      expect(r.endOffsets[String(p)], `partition ${p} end offset`).to.be.at.least(o);
    }
    return r;
  };

  /** The first login the tap saw since frame `from`: the SaslHandshake's version and what followed it. */
  const firstLogin = (from: number): { handshake: number; next: string } => {
    const frames = tap.frames.slice(from);
    const i = frames.findIndex((f) => f.apiKey === SASL_HANDSHAKE);
    expect(i, `a SaslHandshake among ${tap.seen(from).join(', ')}`).to.be.at.least(0);
    const after = frames.slice(i + 1).find((f) => f.conn === frames[i]!.conn);
    // A raw PLAIN token (SaslHandshake v0) is `NUL user NUL password` with no request header; only
    // its start is compared, so that no password reaches a message.
    const raw = Buffer.from('\0sarama\0');
    const next = after === undefined ? 'nothing' : after.bytes.subarray(0, raw.length).equals(raw) ? 'a raw PLAIN token' : `${apiName(after.apiKey)} v${after.apiVersion}`;
    return { handshake: frames[i]!.apiVersion, next };
  };

  it('Sarama 1.22.1 at Version 2.0.0 (SASL_PLAINTEXT, PLAIN): SaslHandshake v1 then SaslAuthenticate v0; produce, group consume, commit', async function () {
    const from = tap.frames.length;
    await runSarama(this, '2.0.0', 'sarama-v1', ['-sasl', 'PLAIN'], tappedSaslPlainBrokers());
    expect(firstLogin(from)).to.deep.equal({ handshake: 1, next: `${apiName(SASL_AUTHENTICATE)} v0` });
  });

  it('Sarama 1.22.1 at Version 0.11.0.0 (SASL_PLAINTEXT, PLAIN): SaslHandshake v0 then the raw token; produce, group consume, commit', async function () {
    const from = tap.frames.length;
    await runSarama(this, '0.11.0.0', 'sarama-v0', ['-sasl', 'PLAIN'], tappedSaslPlainBrokers());
    expect(firstLogin(from)).to.deep.equal({ handshake: 0, next: 'a raw PLAIN token' });
  });

  it('Sarama 1.22.1 (SASL_SSL with Net.TLS, PLAIN): produce, group consume, commit', async function () {
    await runSarama(this, '2.0.0', 'sarama-tls', ['-sasl', 'PLAIN', '-tls-ca', ca.cert], saslSslBrokers());
  });

  it('Sarama 1.22.1 (SASL_SSL, SCRAM-SHA-512 with xdg-go/scram): produce, group consume, commit', async function () {
    if (sarama !== null && !saramaScramInstalled()) missingClient(this, 'Sarama SCRAM needs golang-github-xdg-go-scram-dev: apt-get install golang-github-xdg-go-scram-dev (.ci/run installs it)');
    await runSarama(this, '2.0.0', 'sarama-scram', ['-sasl', 'SCRAM-SHA-512', '-tls-ca', ca.cert], saslSslBrokers());
  });

  it('no node output, nor any client output, holds a password', () => {
    const nodes = cluster.nodes.map((n) => n.output).join('\n');
    const clients = clientOutputs.join('\n');
    for (const [user, password] of passwords) {
      expect(nodes.includes(password), `${user}'s password in a node's output`).to.equal(false);
      expect(clients.includes(password), `${user}'s password in a client's output`).to.equal(false);
    }
  });
});
