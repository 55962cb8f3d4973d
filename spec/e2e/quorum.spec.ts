/**
 * End-to-end, issue 17: the metadata quorum of real `flotilla start` processes (3 controllers + 1
 * observer) through `flotilla cluster quorum` (DescribeQuorum, AddRaftVoter, RemoveRaftVoter over
 * the Kafka protocol): the observer becomes a voter, a configured voter leaves, metadata stays
 * writable, and after a restart of every process the voters are still the changed set, not the
 * static --controllers list.
 */
import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { TestCluster, until } from './cluster-harness.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;

interface Quorum {
  leaderId: number;
  term: number;
  highWatermark: number;
  replicas: { nodeId: number; role: string; logEndIndex: number; lag: number | null; lastFetchMs: number }[];
}

describe('the metadata quorum of real flotilla processes', function () {
  this.timeout(240_000);
  let cluster: TestCluster;

  function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args, '--bootstrap', cluster.bootstrap.join(',')], { encoding: 'utf8' }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
      });
    });
  }

  async function quorum(): Promise<Quorum> {
    const r = await cli(['cluster', 'quorum', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    return JSON.parse(r.stdout) as Quorum;
  }

  const voters = (q: Quorum): number[] => q.replicas.filter((r) => r.role !== 'observer').map((r) => r.nodeId).sort((a, b) => a - b);
  const observers = (q: Quorum): number[] => q.replicas.filter((r) => r.role === 'observer').map((r) => r.nodeId).sort((a, b) => a - b);

  before(async () => {
    cluster = new TestCluster(4);
    cluster.start();
    await cluster.ready(60_000);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    await cluster.destroy();
  });

  it('describes, adds and removes voters; the change outlives a restart of every node', async () => {
    let q = await quorum();
    expect(voters(q)).to.deep.equal([1, 2, 3]);
    expect(observers(q)).to.deep.equal([4]);
    expect(q.replicas.find((r) => r.nodeId === q.leaderId)?.role).to.equal('leader');
    for (const r of q.replicas) expect(r.lastFetchMs, `node ${r.nodeId}`).to.be.greaterThan(Date.now() - 60_000);

    const added = await cli(['cluster', 'quorum', 'add-voter', '4']);
    expect(added.code, added.stderr).to.equal(0);
    const again = await cli(['cluster', 'quorum', 'add-voter', '4']);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/DUPLICATE_VOTER/);
    const removed = await cli(['cluster', 'quorum', 'remove-voter', '3']);
    expect(removed.code, removed.stderr).to.equal(0);
    const missing = await cli(['cluster', 'quorum', 'remove-voter', '3']);
    expect(missing.stderr).to.match(/VOTER_NOT_FOUND/);
    q = await quorum();
    expect(voters(q)).to.deep.equal([1, 2, 4]);
    const created = await cli(['topic', 'create', 'after-voters', '-p', '3', '-r', '3']);
    expect(created.code, created.stderr).to.equal(0);

    await cluster.stop('SIGTERM');
    cluster.start();
    await cluster.ready(60_000);
    await until(async () => {
      const r = await cli(['cluster', 'quorum', '--json']);
      return r.code === 0 && voters(JSON.parse(r.stdout) as Quorum).join() === '1,2,4';
    }, 30_000, 'the changed voters after the restart');
    q = await quorum();
    expect(observers(q)).to.deep.equal([3]);
    expect((await cli(['topic', 'list'])).stdout).to.match(/after-voters/);
  });
});
