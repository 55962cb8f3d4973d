// `flotilla local` with real nodes: its banner comes once the cluster can serve a client in full —
// a CreateTopics of replication factor 3 sent the moment the banner appears succeeds (before, the
// banner came at spawn time and such a request could be refused with INVALID_REPLICATION_FACTOR).
import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const bin = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A --port whose client, metrics (+2000) and peer (+10000) ports for `n` nodes are free now. */
async function freeLocalPort(n: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 8_000);
    let ok = true;
    for (let i = 0; ok && i < n; i++) for (const off of [0, 2000, 10_000]) if (ok && !(await free(base + off + i))) ok = false;
    if (ok) return base;
  }
  throw new Error('no free ports for flotilla local');
}

describe('cli: flotilla local with real nodes', function () {
  this.timeout(120_000);
  let dir: string;
  let child: ChildProcessWithoutNullStreams | null = null;
  const lines: string[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-local-'));
    lines.length = 0;
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(lines.join('\n'));
    if (child !== null && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('close', r));
      child.kill('SIGTERM');
      await exited;
    }
    child = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints its banner once every node is registered and unfenced: a CreateTopics of replication factor 3 right then succeeds', async () => {
    const port = await freeLocalPort(3);
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOTILLA_')));
    const proc = spawn(process.execPath, [bin, 'local', '--nodes', '3', '--data-dir', dir, '--port', String(port), '--no-fsync', '--log-files'], { env: base });
    child = proc;
    const exit = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
    const banner = new Promise<string>((resolve) => {
      for (const stream of [proc.stdout, proc.stderr]) {
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
          lines.push(line);
          if (line.includes('bootstrap servers:')) resolve(line.split('bootstrap servers:')[1]!.trim());
        });
      }
    });
    const bootstrap = await Promise.race([banner, exit.then((code) => { throw new Error(`flotilla local exited (${code}) before its banner`); })]);
    expect(bootstrap).to.equal(`127.0.0.1:${port},127.0.0.1:${port + 1},127.0.0.1:${port + 2}`);
    // At once, through node 1 only, without retries: any refusal fails the test.
    const kafka = new Kafka({ clientId: 'local-spec', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const admin = kafka.admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic: 'rf3', numPartitions: 3, replicationFactor: 3 }] })).to.equal(true);
      const cluster = await admin.describeCluster();
      expect(cluster.brokers.map((b) => b.nodeId).sort()).to.deep.equal([1, 2, 3]);
    } finally {
      await admin.disconnect();
    }
    proc.kill('SIGTERM');
    expect(await exit).to.equal(0);
  });
});
