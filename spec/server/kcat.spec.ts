// kcat 1.7.1 (librdkafka 2.0.2), unmodified, against KafkaServer over the in-memory broker:
// -L, -P then -C (simple consumer, no group) with every compression codec, -Q. Skipped with a
// message when /usr/bin/kcat is missing, except under CI (env CI), where it must run.
// The request frames kcat sends are captured and must re-encode byte for byte (golden bytes).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { KafkaServer } from '../../lib/server/listener.js';
import { startServer } from './helpers.js';
import type { MemoryBroker } from './memory-broker.js';
import { checkRoundTrip, writeFixtures } from './golden.js';

const KCAT = process.env['KCAT'] ?? '/usr/bin/kcat';

function kcat(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(KCAT, args, { timeout: 15000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kcat ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

describe('kcat (librdkafka 2.0.2) against KafkaServer', function () {
  this.timeout(30000);
  let server: KafkaServer;
  let broker: MemoryBroker;
  let bootstrap: string;
  const frames: Buffer[] = [];

  before(async function () {
    if (!existsSync(KCAT)) {
      if (process.env['CI']) throw new Error(`${KCAT} is missing, and CI requires the kcat tests`);
      console.log(`      (skipped: ${KCAT} is not installed; apt-get install -y kcat)`);
      this.skip();
    }
    ({ server, broker } = await startServer({
      onFrame: (direction, frame) => { if (direction === 'request') frames.push(Buffer.from(frame)); },
    }));
    bootstrap = `127.0.0.1:${server.address().port}`;
  });

  after(async () => {
    await server?.close();
  });

  it('-L lists the broker, the controller and the topics', async () => {
    broker.addTopic('kc-meta', 2);
    const { stdout } = await kcat(['-b', bootstrap, '-L', '-J']);
    const md = JSON.parse(stdout) as { brokers: { id: number; name: string }[]; controllerid: number; topics: { topic: string; partitions: { partition: number; leader: number }[] }[] };
    expect(md.brokers).to.deep.equal([{ id: 1, name: bootstrap }]);
    expect(md.controllerid).to.equal(1);
    const t = md.topics.find((x) => x.topic === 'kc-meta')!;
    expect(t.partitions.map((p) => [p.partition, p.leader])).to.deep.equal([[0, 1], [1, 1]]);
  });

  it('-P then -C -p 0 -o beginning -e reads back every message at consecutive offsets (topic auto-created)', async () => {
    const lines = Array.from({ length: 50 }, (_, i) => `message-${i}`);
    await kcat(['-b', bootstrap, '-P', '-t', 'kc-plain', '-p', '0'], `${lines.join('\n')}\n`);
    const { stdout } = await kcat(['-b', bootstrap, '-C', '-t', 'kc-plain', '-p', '0', '-o', 'beginning', '-e', '-f', '%o %s\n']);
    expect(stdout.trim().split('\n')).to.deep.equal(lines.map((l, i) => `${i} ${l}`));
  });

  for (const [codec, id] of [['gzip', 1], ['snappy', 2], ['lz4', 3], ['zstd', 4]] as const) {
    it(`-z ${codec}: stored as sent (codec ${id}) and read back`, async () => {
      const topic = `kc-${codec}`;
      broker.addTopic(topic, 1);
      const lines = Array.from({ length: 200 }, (_, i) => `${codec} record ${i} ${'x'.repeat(i % 17)}`);
      await kcat(['-b', bootstrap, '-P', '-t', topic, '-p', '0', '-z', codec, '-X', 'linger.ms=50'], `${lines.join('\n')}\n`);
      expect(broker.hasCodec(topic, 0, id)).to.equal(true);
      const { stdout } = await kcat(['-b', bootstrap, '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-f', '%o %s\n']);
      expect(stdout.trim().split('\n')).to.deep.equal(lines.map((l, i) => `${i} ${l}`));
    });
  }

  it('-C -o <offset> starts in the middle of a batch and at the end', async () => {
    const { stdout } = await kcat(['-b', bootstrap, '-C', '-t', 'kc-plain', '-p', '0', '-o', '47', '-e', '-f', '%o\n']);
    expect(stdout.trim().split('\n')).to.deep.equal(['47', '48', '49']);
  });

  it('-Q finds offsets by timestamp', async () => {
    const past = await kcat(['-b', bootstrap, '-Q', '-t', 'kc-plain:0:0']);
    expect(past.stdout).to.match(/kc-plain \[0\] offset 0/);
    const future = await kcat(['-b', bootstrap, '-Q', '-t', `kc-plain:0:${Date.now() + 3_600_000}`]);
    expect(future.stdout).to.match(/kc-plain \[0\] offset -1/);
  });

  it('every request frame kcat sent decodes and re-encodes byte for byte', () => {
    const seen = new Set<string>();
    for (const f of frames) seen.add(checkRoundTrip(f));
    for (const api of ['ApiVersions v3', 'Metadata v4', 'Produce v7', 'Fetch v11', 'ListOffsets v2']) expect([...seen]).to.include(api);
    if (process.env['FLOTILLA_WRITE_FIXTURES']) writeFixtures('kcat', frames);
  });
});
