// Consumer groups end to end: KafkaJS 2.2.4 (3 members over a 6-partition topic) and kcat -G
// (librdkafka 2.0.2's balanced consumer) against KafkaServer + the in-memory broker + a real
// GroupCoordinator whose GroupLog is an in-memory array. Checks: every partition assigned to
// exactly one member per generation, a leaving member triggers a rebalance with nothing skipped,
// committed offsets survive a coordinator restart (replayed from the log).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { systemClock } from '../../lib/app/system-clock.js';
import { GroupCoordinator } from '../../lib/group/coordinator.js';
import { type GroupLog, type GroupRecord, replay } from '../../lib/group/records.js';
import { systemTimers } from '../../lib/group/timers.js';
import { KafkaServer } from '../../lib/server/listener.js';
import { checkRoundTrip } from './golden.js';
import { MemoryBroker } from './memory-broker.js';

const { Kafka, logLevel, AssignerProtocol } = kafkajs;
const KCAT = process.env['KCAT'] ?? '/usr/bin/kcat';

class ArrayLog implements GroupLog {
  readonly records: GroupRecord[] = [];
  async append(records: readonly GroupRecord[]): Promise<void> {
    this.records.push(...records);
  }
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

class Node {
  readonly log: ArrayLog;
  coordinator!: GroupCoordinator;
  server!: KafkaServer;
  readonly frames: Buffer[] = [];
  readonly broker: MemoryBroker;
  constructor(broker: MemoryBroker, log = new ArrayLog()) {
    this.broker = broker;
    this.log = log;
  }
  async start(port = 0): Promise<number> {
    this.coordinator = new GroupCoordinator({
      clock: systemClock, timers: systemTimers,
      settings: { offsetsTopicPartitions: 4, groupInitialRebalanceDelayMs: 200 },
      locate: () => ({ nodeId: this.broker.nodeId, host: '127.0.0.1', port: this.server.address().port }),
    });
    for (let p = 0; p < 4; p++) this.coordinator.loadPartition(p, this.log, replay(this.log.records));
    this.server = new KafkaServer({
      broker: this.broker, groups: this.coordinator, host: '127.0.0.1', port,
      onFrame: (d, f) => { if (d === 'request') this.frames.push(Buffer.from(f)); },
    });
    await this.server.start();
    this.broker.port = this.server.address().port;
    return this.broker.port;
  }
  async stop(): Promise<void> {
    this.coordinator.close();
    await this.server.close();
  }
}

/** Member → partitions of `topic`, decoded from the Stable group's assignments (consumer protocol). */
async function assignments(c: GroupCoordinator, groupId: string, topic: string): Promise<{ state: string; byMember: number[][] }> {
  const [d] = await c.describeGroups([groupId]);
  return {
    state: d!.state,
    byMember: d!.members.map((m) => {
      if (m.assignment.length === 0) return [];
      const a = AssignerProtocol.MemberAssignment.decode(m.assignment);
      return [...(a?.assignment[topic] ?? [])].sort((x, y) => x - y);
    }),
  };
}

function coversExactlyOnce(byMember: number[][], partitions: number): boolean {
  const all = byMember.flat().sort((a, b) => a - b);
  return all.length === partitions && all.every((p, i) => p === i);
}

describe('consumer groups against KafkaServer + GroupCoordinator', function () {
  this.timeout(90_000);

  it('KafkaJS: 3 members over 6 partitions, a member leaves, commits survive a coordinator restart', async () => {
    const broker = new MemoryBroker();
    broker.addTopic('grp', 6);
    let node = new Node(broker);
    const port = await node.start();
    const kafka = new Kafka({ clientId: 'kjs', brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
    const producer = kafka.producer();
    await producer.connect();
    const produce = async (n: number, tag: string) => {
      for (let p = 0; p < 6; p++) {
        await producer.send({ topic: 'grp', messages: Array.from({ length: n }, (_, i) => ({ partition: p, value: `${tag}-${p}-${i}` })) });
      }
    };
    await produce(50, 'a');

    const seen = new Map<string, number>();
    const consumers = Array.from({ length: 3 }, () => kafka.consumer({
      groupId: 'kjs-g', sessionTimeout: 10_000, rebalanceTimeout: 10_000, heartbeatInterval: 300, maxWaitTimeInMs: 200,
    }));
    for (const c of consumers) {
      await c.connect();
      await c.subscribe({ topic: 'grp', fromBeginning: true });
      await c.run({ autoCommitInterval: 100, eachMessage: async ({ message }) => { const v = message.value!.toString(); seen.set(v, (seen.get(v) ?? 0) + 1); } });
    }
    await until('3 members Stable with every partition assigned once', async () => {
      const a = await assignments(node.coordinator, 'kjs-g', 'grp');
      return a.state === 'Stable' && a.byMember.length === 3 && coversExactlyOnce(a.byMember, 6) && a.byMember.every((m) => m.length === 2);
    });
    await until('300 records consumed', () => seen.size === 300);

    // A member leaves: the other two take over its partitions; nothing is skipped.
    await consumers[2]!.disconnect();
    await until('2 members Stable covering 6 partitions', async () => {
      const a = await assignments(node.coordinator, 'kjs-g', 'grp');
      return a.state === 'Stable' && a.byMember.length === 2 && coversExactlyOnce(a.byMember, 6);
    });
    await produce(25, 'b');
    await until('450 records consumed', () => seen.size === 450);
    await consumers[0]!.disconnect();
    await consumers[1]!.disconnect();
    const committed = await node.coordinator.fetchOffsets({ groupId: 'kjs-g', topics: [{ topic: 'grp', partitions: [0, 1, 2, 3, 4, 5] }], requireStable: false });
    expect(committed.partitions.map((p) => p.offset)).to.deep.equal([75, 75, 75, 75, 75, 75]);

    // The coordinator restarts from its log; a new member resumes at the committed offsets.
    const frames = node.frames;
    await node.stop();
    node = new Node(broker, node.log);
    await node.start(port);
    await produce(2, 'c');
    const after: string[] = [];
    const again = kafka.consumer({ groupId: 'kjs-g', sessionTimeout: 10_000, heartbeatInterval: 300, maxWaitTimeInMs: 200 });
    await again.connect();
    await again.subscribe({ topic: 'grp', fromBeginning: true });
    await again.run({ eachMessage: async ({ message }) => { after.push(message.value!.toString()); } });
    await until('the 12 new records', () => after.length >= 12);
    await new Promise((r) => setTimeout(r, 300));
    expect(after.every((v) => v.startsWith('c-'))).to.equal(true);
    expect(after).to.have.length(12);
    await again.disconnect();
    await producer.disconnect();
    expect([...seen.values()].every((n) => n <= 2)).to.equal(true);

    const apis = new Set([...frames, ...node.frames].map((f) => checkRoundTrip(f)));
    for (const api of ['FindCoordinator v2', 'JoinGroup v5', 'SyncGroup v3', 'Heartbeat v3', 'LeaveGroup v3', 'OffsetCommit v5', 'OffsetFetch v4']) {
      expect([...apis]).to.include(api);
    }
    await node.stop();
  });

  it('kcat -G (balanced consumer): consumes every partition once, commits, and a second run starts after the commits', async function () {
    if (!existsSync(KCAT)) {
      if (process.env['CI']) throw new Error(`${KCAT} is missing`);
      this.skip();
    }
    const broker = new MemoryBroker();
    broker.addTopic('kc-grp', 3);
    const node = new Node(broker);
    const port = await node.start();
    const bootstrap = `127.0.0.1:${port}`;
    const kcat = (args: string[], input?: string) => new Promise<string>((resolve, reject) => {
      const child = execFile(KCAT, ['-b', bootstrap, ...args], { timeout: 40_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`kcat ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
      child.stdin?.end(input ?? '');
    });
    for (let p = 0; p < 3; p++) {
      await kcat(['-P', '-t', 'kc-grp', '-p', String(p)], Array.from({ length: 10 }, (_, i) => `m-${p}-${i}`).join('\n') + '\n');
    }
    const group = ['-G', 'kc-g', '-X', 'auto.offset.reset=earliest', '-X', 'session.timeout.ms=6000', '-e', '-f', '%p %o %s\n'];
    const out = (await kcat([...group, 'kc-grp'])).trim().split('\n').filter((l) => l !== '');
    expect(out).to.have.length(30);
    expect(new Set(out.map((l) => l.split(' ')[2])).size).to.equal(30);
    const committed = await node.coordinator.fetchOffsets({ groupId: 'kc-g', topics: null, requireStable: false });
    expect(committed.partitions.map((p) => p.offset).sort()).to.deep.equal([10, 10, 10]);
    await kcat(['-P', '-t', 'kc-grp', '-p', '1'], 'late\n');
    const second = (await kcat([...group, 'kc-grp'])).trim().split('\n');
    expect(second).to.deep.equal(['1 10 late']);
    const apis = new Set(node.frames.map((f) => checkRoundTrip(f)));
    for (const api of ['FindCoordinator v2', 'JoinGroup v5', 'SyncGroup v3', 'OffsetFetch v7', 'OffsetCommit v7']) expect([...apis]).to.include(api);
    await node.stop();
  });
});
