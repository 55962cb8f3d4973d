// `flotilla groups`: the pure parts (assignment bytes, reset targets and plans, lag, text output)
// and the command as a real process where no cluster is needed (help, usage errors, unreachable).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import kafkajs, { type GroupDescription } from 'kafkajs';
import {
  assignmentText, coordinatorMoved, decodeConsumerAssignment, describeGroupsError, describeText, lagOf, memberRows, parseDatetime, parseResetTarget,
  planReset, resetPlanText, type GroupReport, type PartitionOffsets,
} from '../../lib/cli/groups.js';
import { CliError, ExitCode } from '../../lib/cli/output.js';

const bin = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOTILLA_')));
    const child = spawn(process.execPath, [bin, ...args], { env: base, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Hand-built ConsumerProtocolAssignment bytes. */
function assignmentBytes(version: number, topics: Array<[string, number[]]>, userData: Buffer | null | 'absent'): Buffer {
  const parts: Buffer[] = [];
  const i16 = (v: number) => { const b = Buffer.alloc(2); b.writeInt16BE(v); return b; };
  const i32 = (v: number) => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
  parts.push(i16(version), i32(topics.length));
  for (const [topic, partitions] of topics) {
    parts.push(i16(Buffer.byteLength(topic)), Buffer.from(topic, 'utf8'), i32(partitions.length), ...partitions.map(i32));
  }
  if (userData === null) parts.push(i32(-1));
  else if (userData !== 'absent') parts.push(i32(userData.length), userData);
  return Buffer.concat(parts);
}

function usage(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(CliError);
    expect((err as CliError).exitCode).to.equal(ExitCode.usage);
    return err as CliError;
  }
  throw new Error('expected a usage error');
}

describe('cli groups: consumer protocol assignment bytes', () => {
  it('reads v0..v3 alike: topics, partitions, user data length', () => {
    for (const version of [0, 1, 2, 3]) {
      const bytes = assignmentBytes(version, [['orders', [0, 2, 4]], ['ü-topic', [1]]], Buffer.from('abc'));
      expect(decodeConsumerAssignment(bytes)).to.deep.equal({
        version,
        topics: [{ topic: 'orders', partitions: [0, 2, 4] }, { topic: 'ü-topic', partitions: [1] }],
        userDataBytes: 3,
      });
    }
  });

  it('golden bytes: v0, one topic "t" with partitions 0 and 1, empty user data', () => {
    const bytes = Buffer.from('0000' + '00000001' + '0001' + '74' + '00000002' + '00000000' + '00000001' + '00000000', 'hex');
    expect(decodeConsumerAssignment(bytes)).to.deep.equal({ version: 0, topics: [{ topic: 't', partitions: [0, 1] }], userDataBytes: 0 });
  });

  it('null or absent user data, a null array, no topics, empty bytes', () => {
    expect(decodeConsumerAssignment(assignmentBytes(1, [['a', [3]]], null))?.userDataBytes).to.equal(null);
    expect(decodeConsumerAssignment(assignmentBytes(1, [['a', [3]]], 'absent'))).to.deep.equal({ version: 1, topics: [{ topic: 'a', partitions: [3] }], userDataBytes: null });
    expect(decodeConsumerAssignment(Buffer.from('0000ffffffff', 'hex'))).to.deep.equal({ version: 0, topics: [], userDataBytes: null });
    expect(decodeConsumerAssignment(assignmentBytes(0, [], Buffer.alloc(0)))?.topics).to.deep.equal([]);
    expect(decodeConsumerAssignment(Buffer.alloc(0))).to.equal(null);
  });

  it('agrees with what KafkaJS encodes (AssignerProtocol.MemberAssignment)', () => {
    const bytes = kafkajs.AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: { x: [5, 1], y: [0] }, userData: Buffer.from([1, 2]) });
    expect(decodeConsumerAssignment(bytes)).to.deep.equal({ version: 0, topics: [{ topic: 'x', partitions: [5, 1] }, { topic: 'y', partitions: [0] }], userDataBytes: 2 });
  });

  it('malformed bytes throw, saying where', () => {
    const good = assignmentBytes(0, [['topic', [0, 1]]], Buffer.from('zz'));
    expect(() => decodeConsumerAssignment(good.subarray(0, 1))).to.throw(/truncated at byte 0 reading version/);
    expect(() => decodeConsumerAssignment(good.subarray(0, 12))).to.throw(/truncated .* topic name/);
    expect(() => decodeConsumerAssignment(good.subarray(0, good.length - 1))).to.throw(/truncated .* user data/);
    expect(() => decodeConsumerAssignment(Buffer.from('00007fffffff', 'hex'))).to.throw(/topic count 2147483647 exceeds/);
    expect(() => decodeConsumerAssignment(Buffer.from('000000000001ffff00000000', 'hex'))).to.throw(/null topic name/);
    expect(() => decodeConsumerAssignment(Buffer.from('ffff00000000', 'hex'))).to.throw(/version -1/);
  });

  it('members: decoded and sorted for consumer groups; other protocol types are not decoded', () => {
    const member = (clientId: string, memberAssignment: Buffer) => ({ memberId: `${clientId}-id`, clientId, clientHost: '/127.0.0.1', memberMetadata: Buffer.alloc(0), memberAssignment });
    const group: GroupDescription = {
      groupId: 'g', state: 'Stable', protocolType: 'consumer', protocol: 'range',
      members: [member('b', assignmentBytes(0, [['t', [2, 0]]], 'absent')), member('a', Buffer.from([0, 0, 0])), member('c', Buffer.alloc(0))],
    };
    const rows = memberRows(group);
    expect(rows.map((r) => r.clientId)).to.deep.equal(['a', 'b', 'c']);
    expect(rows[0]!.assignmentError).to.match(/truncated/);
    expect(rows[1]!.assignment).to.deep.equal([{ topic: 't', partitions: [0, 2] }]);
    expect(rows[2]!.assignment).to.deep.equal([]);
    const connect = memberRows({ ...group, protocolType: 'connect' });
    expect(connect[1]!.assignment).to.deep.equal([]);
    expect(connect[1]!.assignmentError).to.match(/not a consumer assignment/);
    expect(assignmentText([{ topic: 't', partitions: [0, 2] }, { topic: 'u', partitions: [1] }])).to.equal('t:0,2 u:1');
    expect(assignmentText([])).to.equal('-');
  });
});

describe('cli groups: reset targets and plans', () => {
  it('exactly one target', () => {
    expect(parseResetTarget({ toEarliest: true })).to.deep.equal({ kind: 'earliest' });
    expect(parseResetTarget({ toLatest: true })).to.deep.equal({ kind: 'latest' });
    expect(parseResetTarget({ toOffset: '42' })).to.deep.equal({ kind: 'offset', offset: 42n });
    expect(parseResetTarget({ toOffset: '9223372036854775807' })).to.deep.equal({ kind: 'offset', offset: 2n ** 63n - 1n });
    expect(parseResetTarget({ toDatetime: '2024-05-01T12:00:00Z' })).to.deep.equal({ kind: 'datetime', timestampMs: Date.UTC(2024, 4, 1, 12) });
    expect(usage(() => parseResetTarget({})).message).to.match(/exactly one of --to-earliest/);
    usage(() => parseResetTarget({ toEarliest: true, toLatest: true }));
    usage(() => parseResetTarget({ toOffset: '1', toDatetime: '2024-01-01' }));
    for (const bad of ['-1', 'x', '1.5', '', '9223372036854775808']) expect(usage(() => parseResetTarget({ toOffset: bad })).message).to.contain('--to-offset');
  });

  it('datetimes: ISO 8601, UTC without a zone', () => {
    expect(parseDatetime('2024-05-01')).to.equal(Date.UTC(2024, 4, 1));
    expect(parseDatetime('2024-05-01T10:20')).to.equal(Date.UTC(2024, 4, 1, 10, 20));
    expect(parseDatetime('2024-05-01T10:20:30.5')).to.equal(Date.UTC(2024, 4, 1, 10, 20, 30, 500));
    expect(parseDatetime('2024-05-01T10:20:30+02:00')).to.equal(Date.UTC(2024, 4, 1, 8, 20, 30));
    expect(parseDatetime('2024-05-01T10:20:30-0130')).to.equal(Date.UTC(2024, 4, 1, 11, 50, 30));
    for (const bad of ['yesterday', '2024-13-01', '2024-05-01 10:00', '1714557600000', '2024-02-30T00:00:00Z']) {
      expect(usage(() => parseDatetime(bad)).message, bad).to.contain('--to-datetime');
    }
  });

  const parts: PartitionOffsets[] = [
    { partition: 1, low: '10', high: '50', byTime: '20' },
    { partition: 0, low: '0', high: '5' },
  ];
  const committed = new Map<number, string | null>([[0, '3']]);

  it('earliest, latest, datetime: per partition, sorted, with the current offset', () => {
    expect(planReset({ kind: 'earliest' }, parts, committed)).to.deep.equal([
      { partition: 0, current: '3', target: '0', note: null },
      { partition: 1, current: null, target: '10', note: null },
    ]);
    expect(planReset({ kind: 'latest' }, parts, committed).map((r) => r.target)).to.deep.equal(['5', '50']);
    // No record at or after the time: the log end.
    expect(planReset({ kind: 'datetime', timestampMs: 1 }, parts, committed).map((r) => r.target)).to.deep.equal(['5', '20']);
  });

  it('an offset is clamped into [log start, log end], with a note', () => {
    expect(planReset({ kind: 'offset', offset: 7n }, parts, committed)).to.deep.equal([
      { partition: 0, current: '3', target: '5', note: '7 is past the log end: 5' },
      { partition: 1, current: null, target: '10', note: '7 is before the log start: 10' },
    ]);
    expect(planReset({ kind: 'offset', offset: 5n }, parts, committed).map((r) => [r.target, r.note])).to.deep.equal([['5', null], ['10', '5 is before the log start: 10']]);
  });

  it('lag: log end minus committed, never negative, none without a commit', () => {
    expect(lagOf('3', '10')).to.equal(7);
    expect(lagOf('10', '10')).to.equal(0);
    expect(lagOf('12', '10')).to.equal(0);
    expect(lagOf(null, '10')).to.equal(null);
    expect(lagOf('3', null)).to.equal(null);
    expect(lagOf('9007199254740990', '9007199254740999')).to.equal(9);
  });
});

describe('cli groups: text output', () => {
  const report: GroupReport = {
    groupId: 'g', state: 'Stable', protocolType: 'consumer', protocol: 'range', totalLag: 7,
    members: [{ memberId: 'm-1', clientId: 'c', clientHost: '/10.0.0.1', assignment: [{ topic: 't', partitions: [0, 1] }], assignmentError: null }],
    offsets: [
      { topic: 't', partition: 0, committed: '3', logEnd: '10', lag: 7, memberId: 'm-1', clientId: 'c' },
      { topic: 't', partition: 1, committed: null, logEnd: '0', lag: null, memberId: 'm-1', clientId: 'c' },
    ],
  };

  it('describe: a summary line, members, then partitions', () => {
    expect(describeText(report)).to.equal([
      'Group g: state Stable, protocol type consumer, protocol range, 1 member, total lag 7',
      '',
      'MEMBER ID  CLIENT ID  HOST       ASSIGNMENT',
      'm-1        c          /10.0.0.1  t:0,1',
      '',
      'TOPIC  PARTITION  COMMITTED  LOG END  LAG  CLIENT ID  MEMBER ID',
      't      0          3          10       7    c          m-1',
      't      1          -          0        -    c          m-1',
    ].join('\n'));
    expect(describeText({ ...report, state: 'Empty', protocol: '', members: [], offsets: [], totalLag: 0 })).to.equal(
      'Group g: state Empty, protocol type consumer, protocol -, 0 members, total lag 0\n\nno committed offsets and no assigned partitions');
  });

  it('reset plan', () => {
    const rows = [{ partition: 0, current: null, target: '4', note: null }, { partition: 1, current: '9', target: '5', note: '7 is past the log end: 5' }];
    expect(resetPlanText('g', 't', rows, true)).to.equal([
      'Plan (dry run, nothing changed) for group g, topic t:',
      'PARTITION  CURRENT  NEW  NOTE',
      '0          -        4',
      '1          9        5    7 is past the log end: 5',
    ].join('\n'));
    expect(resetPlanText('g', 't', rows, false).split('\n')[0]).to.equal('Reset offsets of group g, topic t:');
  });

  it('a DeleteGroups failure names each group and its Kafka error', () => {
    const err = Object.assign(new Error('Error in DeleteGroups'), {
      name: 'KafkaJSDeleteGroupsError',
      groups: [{ groupId: 'g', errorCode: 68, error: { type: 'NON_EMPTY_GROUP', message: 'The group is not empty' } }],
    });
    expect(describeGroupsError(err, 'h:1')).to.equal('Error in DeleteGroups: g: NON_EMPTY_GROUP');
  });

  it('a moved or loading coordinator means ask again (also behind KafkaJS retry wrappers); other errors do not', () => {
    const moved = new kafkajs.KafkaJSProtocolError('This is not the correct coordinator for this group');
    Object.assign(moved, { type: 'NOT_COORDINATOR_FOR_GROUP' });
    expect(coordinatorMoved(moved)).to.equal(true);
    expect(coordinatorMoved(new kafkajs.KafkaJSNumberOfRetriesExceeded(moved, { retryCount: 3, retryTime: 2000 }))).to.equal(true);
    expect(coordinatorMoved(Object.assign(new Error('loading'), { type: 'COORDINATOR_LOAD_IN_PROGRESS' }))).to.equal(true);
    expect(coordinatorMoved(Object.assign(new Error('not empty'), { type: 'NON_EMPTY_GROUP' }))).to.equal(false);
    expect(coordinatorMoved(new Error('connection refused'))).to.equal(false);
  });
});

describe('cli groups: as a process, without a cluster', function () {
  this.timeout(20_000);

  it('help lists list, describe, reset-offsets and delete', async () => {
    const r = await run(['groups', '--help']);
    expect(r.code).to.equal(0);
    for (const cmd of ['list', 'describe', 'reset-offsets', 'delete']) expect(r.stdout).to.match(new RegExp(`^  ${cmd}\\b`, 'm'));
    const reset = await run(['groups', 'reset-offsets', '--help']);
    expect(reset.code).to.equal(0);
    for (const flag of ['--topic', '--to-earliest', '--to-latest', '--to-offset', '--to-datetime', '--dry-run', '--bootstrap', '--json']) expect(reset.stdout).to.contain(flag);
  });

  it('usage errors exit 2 with one line, before connecting', async () => {
    const none = await run(['groups', 'reset-offsets', 'g', '--topic', 't', '--bootstrap', '127.0.0.1:1']);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.equal('flotilla groups reset-offsets: give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO\n');
    const bad = await run(['groups', 'reset-offsets', 'g', '--topic', 't', '--to-datetime', 'soon', '--bootstrap', '127.0.0.1:1']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/^flotilla groups reset-offsets: invalid --to-datetime "soon": expected ISO 8601[^\n]*\n$/);
    const noTopic = await run(['groups', 'reset-offsets', 'g', '--to-earliest']);
    expect(noTopic.code).to.equal(2);
    expect(noTopic.stderr).to.contain("required option '-t, --topic <topic>' not specified");
    const noGroup = await run(['groups', 'describe']);
    expect(noGroup.code).to.equal(2);
    const badBootstrap = await run(['groups', 'list', '--bootstrap', 'nowhere']);
    expect(badBootstrap.code).to.equal(2);
    expect(badBootstrap.stderr).to.equal('flotilla groups list: invalid --bootstrap: "nowhere" is not HOST:PORT\n');
  });

  it('an unreachable cluster: exit 1, one line', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    for (const args of [['list'], ['describe', 'g'], ['delete', 'g'], ['reset-offsets', 'g', '--topic', 't', '--to-latest']]) {
      const r = await run(['groups', ...args, '--bootstrap', `127.0.0.1:${port}`, '--timeout-ms', '1000']);
      expect(r.code, args[0]).to.equal(1);
      expect(r.stderr, args[0]).to.match(new RegExp(`^flotilla groups ${args[0]}: cannot reach the cluster at 127\\.0\\.0\\.1:${port}: [^\\n]*\\n$`));
      expect(r.stdout).to.equal('');
    }
  });
});
