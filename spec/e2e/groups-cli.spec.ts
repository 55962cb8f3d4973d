/**
 * End-to-end, issue 6: `flotilla groups` as a real process against a 3-node cluster of real
 * processes. Records are produced with KafkaJS and consumed by kcat balanced consumers (`-G`),
 * which commit their offsets; then the CLI lists the group, describes it (members, assignment,
 * committed offset, log end, lag), refuses to reset or delete it while it has a member, resets its
 * offsets (dry run first) so that a new consumer starts there, and deletes it.
 */
import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import type { Admin, Kafka } from 'kafkajs';
import type { GroupReport, ResetPlanRow } from '../../lib/cli/groups.js';
import { TestCluster, kcat, kcatPath, until } from './cluster-harness.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;
const TOPIC = 'gcli';
const GROUP = 'gcli-group';
const PARTITIONS = 3;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('flotilla groups against a 3-node cluster', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let kafka: Kafka;
  let admin: Admin;
  /** Offsets of the records produced, per partition. */
  const recordOffsets = new Map<number, number[]>();
  let beforeProduceMs = 0;
  let member: ChildProcess | null = null;

  const flotilla = (args: readonly string[]): Promise<Run> => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'groups', ...args, '--bootstrap', cluster.bootstrap[0]!, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const json = async <T>(args: readonly string[]): Promise<T> => {
    const r = await flotilla(args);
    expect(r.code, `flotilla groups ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return JSON.parse(r.stdout) as T;
  };
  const logEnds = async (): Promise<Map<number, number>> => new Map((await admin.fetchTopicOffsets(TOPIC)).map((o) => [o.partition, Number(o.high)]));
  const produce = async (perPartition: number, tag: string): Promise<void> => {
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (let p = 0; p < PARTITIONS; p++) {
        const [res] = await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: perPartition }, (_, i) => ({ partition: p, value: `${tag}-${p}-${i}` })) });
        const base = Number(res!.baseOffset);
        recordOffsets.set(p, [...(recordOffsets.get(p) ?? []), ...Array.from({ length: perPartition }, (_, i) => base + i)]);
      }
    } finally {
      await producer.disconnect();
    }
  };
  /** kcat in the group until the end of every partition; returns partition -> offsets read. */
  const consumeToEnd = async (): Promise<Map<number, number[]>> => {
    const out = await kcat(['-b', cluster.bootstrap.join(','), '-G', GROUP, '-X', 'auto.offset.reset=earliest', '-e', '-q', '-f', '%p:%o\\n', TOPIC]);
    const read = new Map<number, number[]>();
    for (const line of out.split('\n').filter((l) => l !== '')) {
      const [p, o] = line.split(':').map(Number) as [number, number];
      read.set(p, [...(read.get(p) ?? []), o]);
    }
    return read;
  };

  before(async function () {
    if (kcatPath() === null) {
      if (process.env.CI) throw new Error('kcat is required in CI (.ci/run installs it)');
      console.log('      (kcat is not installed: skipped; apt-get install kcat)');
      this.skip();
    }
    cluster = new TestCluster(3);
    cluster.start(['--no-fsync']);
    await cluster.ready(60_000);
    kafka = cluster.kafka('groups-cli-e2e');
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }], waitForLeaders: true });
    beforeProduceMs = Date.now();
    await produce(10, 'first');
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(cluster.output());
  });

  after(async () => {
    member?.kill('SIGKILL');
    await admin?.disconnect().catch(() => {});
    await cluster?.destroy();
  });

  it('kcat -G commits; list and describe show the group Empty with its committed offsets and lag', async () => {
    const read = await consumeToEnd();
    for (let p = 0; p < PARTITIONS; p++) expect(read.get(p), `partition ${p}`).to.deep.equal(recordOffsets.get(p));
    const committedAt = await logEnds();
    await produce(2, 'second');
    const ends = await logEnds();

    const list = await json<Array<{ groupId: string; state: string; protocolType: string; members: number }>>(['list']);
    expect(list.find((g) => g.groupId === GROUP)).to.deep.include({ state: 'Empty', protocolType: 'consumer', members: 0 });

    const report = await json<GroupReport>(['describe', GROUP]);
    expect(report).to.deep.include({ groupId: GROUP, state: 'Empty', protocolType: 'consumer', members: [] });
    expect(report.offsets.map((o) => [o.topic, o.partition, o.committed, o.memberId, o.clientId])).to.deep.equal(
      Array.from({ length: PARTITIONS }, (_, p) => [TOPIC, p, String(committedAt.get(p)), null, null]));
    for (const o of report.offsets) {
      // Only records move the log end (a new leader's no-op takes no offset): lag = the 2 new records.
      expect(Number(o.logEnd), `partition ${o.partition}`).to.equal(ends.get(o.partition)!);
      expect(o.lag, `partition ${o.partition}`).to.equal(Number(o.logEnd) - committedAt.get(o.partition)!).and.to.equal(2);
    }
    expect(report.totalLag).to.equal(report.offsets.reduce((s, o) => s + o.lag!, 0));
  });

  it('a live member: describe shows its assignment; reset-offsets and delete are refused naming the state', async () => {
    member = spawn(kcatPath()!, ['-b', cluster.bootstrap.join(','), '-G', GROUP, '-q', '-f', '%p:%o\\n', TOPIC], { stdio: ['ignore', 'pipe', 'pipe'] });
    let report: GroupReport | null = null;
    await until(async () => {
      report = await json<GroupReport>(['describe', GROUP]);
      return report.state === 'Stable' && report.members.length === 1 && report.members[0]!.assignment.length > 0 && (report.totalLag === 0);
    }, 30_000, 'the kcat member to be Stable with its assignment and to catch up');
    const r = report! as GroupReport;
    expect(r.protocol).to.equal('range');
    expect(r.members[0]!.clientId).to.equal('rdkafka');
    expect(r.members[0]!.assignmentError).to.equal(null);
    expect(r.members[0]!.assignment).to.deep.equal([{ topic: TOPIC, partitions: [0, 1, 2] }]);
    for (const o of r.offsets) expect(o.memberId).to.equal(r.members[0]!.memberId);

    const reset = await flotilla(['reset-offsets', GROUP, '--topic', TOPIC, '--to-earliest']);
    expect(reset.code).to.equal(1);
    expect(reset.stderr).to.equal(`flotilla groups reset-offsets: group "${GROUP}" is Stable with 1 member: offsets can be reset only for an Empty group (stop its consumers first)\n`);
    const del = await flotilla(['delete', GROUP]);
    expect(del.code).to.equal(1);
    expect(del.stderr).to.match(/^flotilla groups delete: group "gcli-group" is Stable with 1 member: only an Empty group can be deleted/);

    // A clean stop: kcat commits and leaves the group.
    const m = member;
    await new Promise<void>((resolve) => {
      m.on('exit', () => resolve());
      m.kill('SIGTERM');
    });
    member = null;
    await until(async () => (await json<GroupReport>(['describe', GROUP])).state === 'Empty', 20_000, 'the group to be Empty');
  });

  it('reset-offsets: --dry-run changes nothing; --to-offset moves every partition and a new consumer starts there', async () => {
    const before = await json<GroupReport>(['describe', GROUP]);
    const ends = await logEnds();
    // An offset that is a record in every partition.
    const bases = [...recordOffsets.values()].map((o) => o[0]!);
    const target = Math.max(...bases) + 2;
    for (const offsets of recordOffsets.values()) expect(offsets).to.include(target);

    const dry = await json<{ dryRun: boolean; partitions: ResetPlanRow[] }>(['reset-offsets', GROUP, '--topic', TOPIC, '--to-offset', String(target), '--dry-run']);
    expect(dry.dryRun).to.equal(true);
    expect(dry.partitions).to.deep.equal(Array.from({ length: PARTITIONS }, (_, p) => ({
      partition: p, current: before.offsets[p]!.committed, target: String(target), note: null,
    })));
    // A time before the first record: each partition's first record (or its log start).
    const byTime = await json<{ partitions: ResetPlanRow[] }>(['reset-offsets', GROUP, '--topic', TOPIC, '--to-datetime', new Date(beforeProduceMs - 1000).toISOString(), '--dry-run']);
    for (const row of byTime.partitions) expect(Number(row.target), `partition ${row.partition}`).to.be.at.most(recordOffsets.get(row.partition)![0]!);
    const late = await json<{ partitions: ResetPlanRow[] }>(['reset-offsets', GROUP, '--topic', TOPIC, '--to-offset', '999999', '--dry-run']);
    for (const row of late.partitions) expect(row).to.deep.include({ target: String(ends.get(row.partition)), note: `999999 is past the log end: ${ends.get(row.partition)}` });
    expect((await json<GroupReport>(['describe', GROUP])).offsets.map((o) => o.committed)).to.deep.equal(before.offsets.map((o) => o.committed));

    const done = await json<{ dryRun: boolean; partitions: ResetPlanRow[] }>(['reset-offsets', GROUP, '--topic', TOPIC, '--to-offset', String(target)]);
    expect(done.dryRun).to.equal(false);
    expect(done.partitions.map((r) => r.target)).to.deep.equal([String(target), String(target), String(target)]);
    const after = await json<GroupReport>(['describe', GROUP]);
    for (const o of after.offsets) {
      expect(o.committed).to.equal(String(target));
      expect(o.lag).to.equal(Number(o.logEnd) - target).and.to.be.at.least(ends.get(o.partition)! - target);
    }

    const read = await consumeToEnd();
    for (let p = 0; p < PARTITIONS; p++) expect(read.get(p), `partition ${p}`).to.deep.equal(recordOffsets.get(p)!.filter((o) => o >= target));
    await until(async () => (await json<GroupReport>(['describe', GROUP])).totalLag === 0, 10_000, 'the new consumer\'s commits');
  });

  it('delete: the group and its offsets go; describing or deleting it again fails in one line', async () => {
    expect(await json<{ groupId: string; deleted: boolean }>(['delete', GROUP])).to.deep.equal({ groupId: GROUP, deleted: true });
    const list = await json<Array<{ groupId: string }>>(['list']);
    expect(list.map((g) => g.groupId)).to.not.include(GROUP);
    for (const args of [['describe', GROUP], ['delete', GROUP]]) {
      const r = await flotilla(args);
      expect(r.code, args[0]).to.equal(1);
      expect(r.stderr).to.equal(`flotilla groups ${args[0]}: group "${GROUP}" does not exist\n`);
    }
  });
});
