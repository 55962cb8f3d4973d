/**
 * End-to-end, issue 19 (quotas stored, set and read): a 3-node cluster of real `flotilla start`
 * processes. Quotas set with `flotilla quotas set` through one node are read back at once through
 * that node (read-your-writes) and through every other node once its metadata applied; a bad value
 * is refused with INVALID_REQUEST and changes nothing; `quotas remove` takes a key away; and after
 * every node restarts the quotas are still there, on every node. KafkaJS 2.2.4 and kafka-python
 * 2.0.2 have neither DescribeClientQuotas nor AlterClientQuotas: the CLI's own codec is the client,
 * and one v0 DescribeClientQuotas from this process checks the non-flexible version too.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { oneRequest } from '../../lib/cli/one-request.js';
import { describeClientQuotasApi } from '../../lib/kafka/describe-client-quotas.js';
import { TestCluster } from './cluster-harness.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Listed {
  entity: { type: string; name: string | null }[];
  values: Record<string, number>;
}

describe('client quotas against a 3-node cluster', function () {
  this.timeout(180_000);
  let cluster: TestCluster;

  const flotilla = (args: readonly string[], bootstrap: string): Promise<Run> => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'quotas', ...args, '--bootstrap', bootstrap], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const ok = async (args: readonly string[], bootstrap: string): Promise<string> => {
    const r = await flotilla(args, bootstrap);
    expect(r.code, `flotilla quotas ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return r.stdout;
  };
  /** Every quota as one sorted line per (entity, key), through `bootstrap`. */
  const listed = async (bootstrap: string): Promise<string[]> =>
    (JSON.parse(await ok(['list', '--json', '--metrics-port-offset', '200'], bootstrap)) as Listed[])
      .flatMap((e) => Object.entries(e.values).map(([k, v]) => `${e.entity.map((p) => `${p.type}=${p.name ?? '<default>'}`).join(',')} ${k}=${v}`)).sort();
  const everyNodeLists = async (expected: string[]): Promise<void> => {
    for (const node of cluster.bootstrap) {
      const end = Date.now() + 10_000;
      let seen: string[] = [];
      while (Date.now() < end && JSON.stringify(seen = await listed(node)) !== JSON.stringify(expected)) await new Promise((r) => setTimeout(r, 100));
      expect(seen, node).to.deep.equal(expected);
    }
  };

  before(async () => {
    cluster = new TestCluster(3);
    cluster.start(['--no-fsync']);
    await cluster.ready();
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || process.env.E2E_VERBOSE) console.log(cluster.output());
    await cluster.destroy();
  });

  const expected = [
    'client-id=<default> request_percentage=25',
    'client-id=app consumer_byte_rate=2097152',
    'client-id=app producer_byte_rate=1048576',
    'ip=<default> connection_creation_rate=50',
    'user=alice,client-id=<default> controller_mutation_rate=5',
  ];

  it('set through one node: read at once there, then through every node; a bad value is refused; remove', async () => {
    const [n1, n2, n3] = cluster.bootstrap as [string, string, string];
    await ok(['set', '--client-id', 'app', '--set', 'producer_byte_rate=1048576,consumer_byte_rate=2097152'], n1);
    await ok(['set', '--default', 'client-id', '--set', 'request_percentage=25'], n2);
    await ok(['set', '--user', 'alice', '--default', 'client-id', '--set', 'controller_mutation_rate=5'], n3);
    await ok(['set', '--default', 'ip', '--set', 'connection_creation_rate=50'], n3);
    // Read-your-writes: the node that forwarded the last change shows it at once.
    expect(await listed(n3)).to.deep.equal(expected);
    await everyNodeLists(expected);

    const bad = await flotilla(['set', '--client-id', 'app', '--set', 'producer_byte_rate=-1'], n2);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/INVALID_REQUEST: producer_byte_rate must be greater than 0/);
    const nan = await flotilla(['set', '--client-id', 'app', '--set', 'producer_byte_rate=NaN'], n2);
    expect(nan.code).to.equal(1);
    expect(nan.stderr).to.match(/INVALID_REQUEST: producer_byte_rate must be a number/);

    await ok(['set', '--user', 'bob', '--set', 'producer_byte_rate=1000'], n1);
    await ok(['remove', '--user', 'bob', '--delete', 'producer_byte_rate'], n2);
    expect(await listed(n2)).to.deep.equal(expected);

    // A non-flexible v0 DescribeClientQuotas from this process: Kafka's "any specified" client-id, strict.
    const v0 = await oneRequest(n1, describeClientQuotasApi, 0, { components: [{ entityType: 'client-id', matchType: 2, match: null }], strict: true }, 10_000);
    expect(v0.errorCode).to.equal(0);
    expect(v0.entries!.map((e) => e.entity[0]!.entityName).sort()).to.deep.equal(['app', null].sort());
    // The table form, limits only (no node of this branch reports live quota figures in /status).
    const table = await ok(['list', '--client-id', 'app', '--metrics-port-offset', '200'], n1);
    expect(table.split('\n')[0]!.trim().split(/\s{2,}/).slice(0, 3)).to.deep.equal(['ENTITY', 'KEY', 'LIMIT']);
  });

  it('the quotas survive a restart of every node', async () => {
    await cluster.stop('SIGTERM');
    cluster.start(['--no-fsync']);
    await cluster.ready(60_000);
    await everyNodeLists(expected);
  });
});
