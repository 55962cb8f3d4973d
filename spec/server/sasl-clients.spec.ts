// Real clients, unmodified, against an in-process SASL_PLAINTEXT KafkaServer over the in-memory
// broker (research security.md 4.5 C1, C2, C7, D1): KafkaJS 2.2.4 (SaslHandshake v1 +
// SaslAuthenticate v1, re-authentication), kcat 1.7.1 / librdkafka 2.0.2 (SaslAuthenticate v0,
// its SCRAM nonce quirk), kafka-python 2.0.2 (SaslHandshake v0 and raw tokens), each with PLAIN,
// SCRAM-SHA-256 and SCRAM-SHA-512; a wrong password and an unknown user fail alike. No log or
// audit line holds a password. kcat and kafka-python are skipped when missing (not under CI).
import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { saltPassword } from '../../lib/metadata/scram.js';
import { AuditLog } from '../../lib/server/audit.js';
import type { KafkaServer } from '../../lib/server/listener.js';
import { startServer } from './helpers.js';
import { MemoryBroker } from './memory-broker.js';

const { Kafka, logLevel } = kafkajs;
const KCAT = process.env['KCAT'] ?? '/usr/bin/kcat';
const PYTHON = '/usr/bin/python3';
const PASSWORD = 'pw-Zq8-secret';
const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;

function hasKafkaPython(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import kafka'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function run(file: string, args: string[], timeoutMs = 20_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    }).stdin?.end();
  });
}

const PY = String.raw`
import json, logging, socket, sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
from kafka.conn import BrokerConnection
port, mech, user, pw, op = sys.argv[1:6]
common = dict(security_protocol='SASL_PLAINTEXT', sasl_mechanism=mech, sasl_plain_username=user, sasl_plain_password=pw, api_version=(1, 0, 0))
if op == 'login':
    messages = []
    class H(logging.Handler):
        def emit(self, record): messages.append(record.getMessage())
    logging.getLogger('kafka').addHandler(H())
    conn = BrokerConnection('127.0.0.1', int(port), socket.AF_INET, **common)
    ok = conn.connect_blocking(timeout=5)
    failed = [m for m in messages if 'uthentication' in m]
    print(json.dumps({'ok': ok, 'errors': [m.replace(user, 'USER') for m in failed]}))
else:
    bootstrap = '127.0.0.1:' + port
    p = KafkaProducer(bootstrap_servers=bootstrap, **common)
    p.send('t', b'py-' + mech.encode()).get(timeout=10)
    p.close()
    c = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=3000, **common)
    tp = TopicPartition('t', 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    print(json.dumps([m.value.decode() for m in c]))
    c.close()
`;

describe('real clients over SASL_PLAINTEXT (KafkaJS, kcat, kafka-python)', function () {
  this.timeout(60_000);
  let server: KafkaServer;
  let broker: MemoryBroker;
  let bootstrap: string;
  let port: number;
  const lines: string[] = [];
  const handshakes: number[] = [];

  before(async () => {
    broker = new MemoryBroker();
    broker.addTopic('t', 1);
    for (const mechanism of [1, 2] as const) {
      const salt = randomBytes(16);
      const saltedPassword = await saltPassword(mechanism === 1 ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512', PASSWORD, salt, 4096);
      await broker.alterScramCredentials({ deletions: [], upsertions: [{ name: 'alice', mechanism, iterations: 4096, salt, saltedPassword }] });
    }
    ({ server, port } = await startServer({
      listener: { name: 'SASL_PLAINTEXT', securityProtocol: 'SASL_PLAINTEXT' },
      sasl: { mechanisms: [...MECHANISMS], settings: { failedAuthenticationDelayMs: 20, connectionsMaxReauthMs: 1500 } },
      audit: new AuditLog((fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`), 1000),
      logger: (line) => lines.push(line),
      onFrame: (direction, frame) => { if (direction === 'request' && frame.length >= 2 && frame.readInt16BE(0) === 17) handshakes.push(frame.readInt16BE(2)); },
    }, broker));
    bootstrap = `127.0.0.1:${port}`;
  });

  after(async () => {
    await server?.close();
    for (const line of lines) expect(line).to.not.contain(PASSWORD);
  });

  describe('KafkaJS 2.2.4', () => {
    const kafka = (mechanism: string, username: string, password: string, extra: Record<string, unknown> = {}) => new Kafka({
      clientId: 'sasl-test', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 },
      sasl: { mechanism: mechanism.toLowerCase(), username, password } as never, ...extra,
    });

    for (const mechanism of MECHANISMS) {
      it(`${mechanism}: produces and reads metadata`, async () => {
        const producer = kafka(mechanism, 'alice', PASSWORD).producer();
        await producer.connect();
        await producer.send({ topic: 't', messages: [{ value: `kjs-${mechanism}` }] });
        await producer.disconnect();
      });
    }

    it('a wrong password and an unknown user give the same error', async () => {
      const messages: string[] = [];
      for (const [user, password] of [['alice', 'wrong'], ['mallory', PASSWORD]] as const) {
        const admin = kafka('SCRAM-SHA-256', user, password).admin();
        await admin.connect().then(() => expect.fail('logged in'), (err: Error) => messages.push(`${err.name}: ${err.message}`));
        await admin.disconnect();
      }
      expect(messages[0]).to.match(/KafkaJSSASLAuthenticationError/);
      expect(messages[0]).to.equal(messages[1]);
    });

    it('re-authenticates on one connection across several session lifetimes (KIP-368)', async () => {
      const before = handshakes.length;
      const producer = kafka('SCRAM-SHA-512', 'alice', PASSWORD, { reauthenticationThreshold: 1000 }).producer();
      await producer.connect();
      const connections = server.connectionCount();
      for (let i = 0; i < 8; i++) {
        await producer.send({ topic: 't', messages: [{ value: `reauth-${i}` }] });
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(server.connectionCount()).to.equal(connections);
      expect(handshakes.length - before).to.be.at.least(4);
      await producer.disconnect();
    });
  });

  describe('kcat 1.7.1 (librdkafka 2.0.2)', () => {
    before(function () {
      if (!existsSync(KCAT)) {
        if (process.env['CI']) throw new Error(`${KCAT} is missing, and CI requires the kcat tests`);
        this.skip();
      }
    });
    const sasl = (mechanism: string, user: string, password: string): string[] =>
      ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${mechanism}`, '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`];

    for (const mechanism of MECHANISMS) {
      it(`${mechanism}: -P then -C`, async () => {
        const produced = await new Promise<{ code: number; stderr: string }>((resolve) => {
          const child = execFile(KCAT, ['-b', bootstrap, ...sasl(mechanism, 'alice', PASSWORD), '-P', '-t', 't', '-p', '0'], { timeout: 20_000 }, (err, _o, stderr) => {
            resolve({ code: err === null ? 0 : 1, stderr });
          });
          child.stdin?.end(`kcat-${mechanism}\n`);
        });
        expect(produced.code, produced.stderr).to.equal(0);
        const consumed = await run(KCAT, ['-b', bootstrap, ...sasl(mechanism, 'alice', PASSWORD), '-C', '-t', 't', '-p', '0', '-o', 'beginning', '-e', '-q']);
        expect(consumed.code, consumed.stderr).to.equal(0);
        expect(consumed.stdout.split('\n')).to.include(`kcat-${mechanism}`);
      });
    }

    it('a wrong password and an unknown user fail with the same message', async () => {
      const outs: string[] = [];
      for (const [user, password] of [['alice', 'wrong'], ['mallory', PASSWORD]] as const) {
        const r = await run(KCAT, ['-b', bootstrap, ...sasl('SCRAM-SHA-256', user, password), '-L', '-m', '3']);
        expect(r.code).to.not.equal(0);
        const m = /SASL authentication error: [^(\n]*/.exec(r.stderr);
        expect(m, r.stderr).to.not.equal(null);
        outs.push(m![0]);
      }
      expect(outs[0]).to.equal(outs[1]);
      expect(outs[0]).to.contain('Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256');
    });
  });

  describe('kafka-python 2.0.2 (SaslHandshake v0, raw tokens)', () => {
    before(function () {
      if (!hasKafkaPython()) {
        if (process.env['CI']) throw new Error('python3-kafka is required in CI');
        this.skip();
      }
    });

    for (const mechanism of MECHANISMS) {
      it(`${mechanism}: produces and consumes`, async () => {
        const v0Before = handshakes.filter((v) => v === 0).length;
        const r = await run(PYTHON, ['-c', PY, String(port), mechanism, 'alice', PASSWORD, 'data'], 40_000);
        expect(r.code, r.stderr).to.equal(0);
        expect(JSON.parse(r.stdout) as string[]).to.include(`py-${mechanism}`);
        expect(handshakes.filter((v) => v === 0).length).to.be.above(v0Before);
      });
    }

    for (const mechanism of MECHANISMS) {
      it(`${mechanism}: a wrong password and an unknown user fail alike`, async () => {
        const results = [];
        for (const [user, password] of [['alice', 'wrong'], ['mallory', PASSWORD]] as const) {
          const r = await run(PYTHON, ['-c', PY, String(port), mechanism, user, password, 'login']);
          expect(r.code, r.stderr).to.equal(0);
          results.push(JSON.parse(r.stdout) as { ok: boolean; errors: string[] });
        }
        expect(results[0]!.ok).to.equal(false);
        expect(results[0]).to.deep.equal(results[1]);
      });
    }
  });
});
