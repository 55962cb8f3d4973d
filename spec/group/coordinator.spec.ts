// The classic group protocol on virtual time: every state transition, MEMBER_ID_REQUIRED, the
// initial delay, session and rebalance timeouts, static members, commit fencing, persistence and
// restart from the replicated records, retention, deletion.
import { expect } from 'chai';
import { FlotillaError } from '../../lib/base/errors.js';
import type { JoinGroupInput, JoinGroupResult } from '../../lib/group/api.js';
import { GroupCoordinator } from '../../lib/group/coordinator.js';
import { type GroupLog, type GroupRecord, javaStringHashCode, partitionFor, replay } from '../../lib/group/records.js';
import { FakeTime, flush } from './fake-time.js';

class MemoryLog implements GroupLog {
  readonly records: GroupRecord[] = [];
  failWith: FlotillaError | null = null;
  async append(records: readonly GroupRecord[]): Promise<void> {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    this.records.push(...records);
  }
}

const G = 'g';
const P = 'range';

function setup(settings: Record<string, unknown> = {}) {
  const time = new FakeTime();
  let n = 0;
  const log = new MemoryLog();
  const c = new GroupCoordinator({
    clock: time, timers: time,
    settings: { offsetsTopicPartitions: 1, groupInitialRebalanceDelayMs: 0, ...settings },
    locate: () => ({ nodeId: 1, host: 'h', port: 9 }),
    newMemberId: (clientId) => `${clientId}-${++n}`,
  });
  c.loadPartition(0, log);
  return { time, log, c };
}

function join(memberId: string, extra: Partial<JoinGroupInput> = {}): JoinGroupInput {
  return {
    groupId: G, memberId, groupInstanceId: null, clientId: 'c', clientHost: '', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer', protocols: [{ name: P, metadata: Buffer.from(memberId || 'x') }], requireKnownMemberId: true, ...extra,
  };
}

async function state(c: GroupCoordinator): Promise<string> {
  return (await c.describeGroups([G]))[0]!.state;
}

/** Joins a brand-new dynamic member (two JoinGroups: MEMBER_ID_REQUIRED, then with the id); returns the parked promise. */
async function newMember(c: GroupCoordinator, extra: Partial<JoinGroupInput> = {}): Promise<{ id: string; joined: Promise<JoinGroupResult> }> {
  const first = await c.joinGroup(join('', extra));
  expect(first.error).to.equal('MEMBER_ID_REQUIRED');
  return { id: first.memberId, joined: c.joinGroup(join(first.memberId, extra)) };
}

async function stableGroupOfTwo(c: GroupCoordinator) {
  const a = await newMember(c);
  const ja = await a.joined;
  await c.syncGroup({ groupId: G, generationId: ja.generationId, memberId: a.id, groupInstanceId: null, assignments: [{ memberId: a.id, assignment: Buffer.from('A') }] });
  const b = await newMember(c);
  await flush();
  expect(await c.heartbeat({ groupId: G, generationId: 1, memberId: a.id, groupInstanceId: null })).to.equal('REBALANCE_IN_PROGRESS');
  const ja2 = c.joinGroup(join(a.id));
  const [ra, rb] = await Promise.all([ja2, b.joined]);
  const syncB = c.syncGroup({ groupId: G, generationId: rb.generationId, memberId: b.id, groupInstanceId: null, assignments: [] });
  const syncA = c.syncGroup({
    groupId: G, generationId: ra.generationId, memberId: a.id, groupInstanceId: null,
    assignments: [{ memberId: a.id, assignment: Buffer.from('A2') }, { memberId: b.id, assignment: Buffer.from('B2') }],
  });
  const [sa, sb] = await Promise.all([syncA, syncB]);
  return { a: a.id, b: b.id, ra, rb, sa, sb };
}

describe('group coordinator', () => {
  it('partitionFor is Kafka\'s: abs-masked Java String.hashCode mod the partition count', () => {
    expect(javaStringHashCode('hello')).to.equal(99162322);
    expect(partitionFor('hello', 50)).to.equal(22);
    expect(javaStringHashCode('polygenelubricants')).to.equal(-2147483648);
    expect(partitionFor('polygenelubricants', 50)).to.equal(0);
    expect(partitionFor('', 50)).to.equal(0);
  });

  it('Empty → PreparingRebalance → CompletingRebalance → Stable: MEMBER_ID_REQUIRED, generation 1, leader gets the members, sync hands out the assignment', async () => {
    const { c, log } = setup();
    const first = await c.joinGroup(join(''));
    expect(first).to.include({ error: 'MEMBER_ID_REQUIRED', memberId: 'c-1' });
    expect(await state(c)).to.equal('Empty');
    const joined = await c.joinGroup(join('c-1'));
    expect(joined).to.deep.include({ error: null, generationId: 1, protocolName: P, leaderId: 'c-1', memberId: 'c-1' });
    expect(joined.members.map((m) => m.memberId)).to.deep.equal(['c-1']);
    expect(await state(c)).to.equal('CompletingRebalance');
    expect(await c.heartbeat({ groupId: G, generationId: 1, memberId: 'c-1', groupInstanceId: null })).to.equal('REBALANCE_IN_PROGRESS');
    const synced = await c.syncGroup({ groupId: G, generationId: 1, memberId: 'c-1', groupInstanceId: null, assignments: [{ memberId: 'c-1', assignment: Buffer.from('x') }] });
    expect(synced).to.deep.equal({ error: null, assignment: Buffer.from('x'), protocolType: 'consumer', protocolName: P });
    expect(await state(c)).to.equal('Stable');
    expect(await c.heartbeat({ groupId: G, generationId: 1, memberId: 'c-1', groupInstanceId: null })).to.equal(null);
    expect(log.records.map((r) => r.type)).to.deep.equal(['group-metadata']);
    const d = (await c.describeGroups([G]))[0]!;
    expect(d).to.deep.include({ state: 'Stable', protocolType: 'consumer', protocolName: P });
    expect(d.members[0]!.assignment).to.deep.equal(Buffer.from('x'));
  });

  it('v0-v3 joins get a member id at once; an unknown member id is UNKNOWN_MEMBER_ID', async () => {
    const { c } = setup();
    const r = await c.joinGroup(join('', { requireKnownMemberId: false }));
    expect(r).to.include({ error: null, memberId: 'c-1', generationId: 1 });
    expect((await c.joinGroup(join('nobody'))).error).to.equal('UNKNOWN_MEMBER_ID');
  });

  it('a second member rebalances a Stable group; followers get no member list; heartbeats see REBALANCE_IN_PROGRESS', async () => {
    const { c } = setup();
    const { a, b, ra, rb, sa, sb } = await stableGroupOfTwo(c);
    expect(ra.generationId).to.equal(2);
    expect(ra.leaderId).to.equal(a);
    expect(ra.members.map((m) => m.memberId).sort()).to.deep.equal([a, b].sort());
    expect(rb.members).to.deep.equal([]);
    expect(sa.assignment.toString()).to.equal('A2');
    expect(sb.assignment.toString()).to.equal('B2');
    expect(await state(c)).to.equal('Stable');
    expect(await c.heartbeat({ groupId: G, generationId: 1, memberId: a, groupInstanceId: null })).to.equal('ILLEGAL_GENERATION');
  });

  it('SyncGroup: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS while preparing', async () => {
    const { c } = setup();
    const { a, b } = await stableGroupOfTwo(c);
    expect((await c.syncGroup({ groupId: G, generationId: 1, memberId: a, groupInstanceId: null, assignments: [] })).error).to.equal('ILLEGAL_GENERATION');
    expect((await c.syncGroup({ groupId: G, generationId: 2, memberId: 'x', groupInstanceId: null, assignments: [] })).error).to.equal('UNKNOWN_MEMBER_ID');
    void c.joinGroup(join(a, { protocols: [{ name: P, metadata: Buffer.from('changed') }] }));
    await flush();
    expect(await state(c)).to.equal('PreparingRebalance');
    expect((await c.syncGroup({ groupId: G, generationId: 2, memberId: b, groupInstanceId: null, assignments: [] })).error).to.equal('REBALANCE_IN_PROGRESS');
  });

  it('a member that leaves triggers a rebalance; the last one leaving makes the group Empty (generation bumped, stored)', async () => {
    const { c, log } = setup();
    const { a, b } = await stableGroupOfTwo(c);
    const left = await c.leaveGroup(G, [{ memberId: b, groupInstanceId: null }, { memberId: 'zz', groupInstanceId: null }]);
    expect(left.members.map((m) => m.error)).to.deep.equal([null, 'UNKNOWN_MEMBER_ID']);
    expect(await state(c)).to.equal('PreparingRebalance');
    const r = await c.joinGroup(join(a));
    expect(r.generationId).to.equal(3);
    expect(r.members.map((m) => m.memberId)).to.deep.equal([a]);
    await c.leaveGroup(G, [{ memberId: a, groupInstanceId: null }]);
    await flush();
    expect(await state(c)).to.equal('Empty');
    const last = log.records.at(-1)!;
    expect(last.type === 'group-metadata' && last.value.generationId).to.equal(4);
  });

  it('session timeout: a silent member is removed and the others rebalance without it', async () => {
    const { c, time } = setup();
    const { a, b } = await stableGroupOfTwo(c);
    for (let i = 0; i < 3; i++) {
      await time.advance(3_000);
      expect(await c.heartbeat({ groupId: G, generationId: 2, memberId: a, groupInstanceId: null })).to.equal(null);
    }
    await time.advance(3_000);
    expect(await c.heartbeat({ groupId: G, generationId: 2, memberId: a, groupInstanceId: null })).to.equal('REBALANCE_IN_PROGRESS');
    // b never heartbeated: 10 s after its last sync it is gone.
    expect(await state(c)).to.equal('PreparingRebalance');
    expect(await c.heartbeat({ groupId: G, generationId: 2, memberId: b, groupInstanceId: null })).to.equal('UNKNOWN_MEMBER_ID');
    const r = await c.joinGroup(join(a));
    expect(r).to.deep.include({ generationId: 3, leaderId: a });
    expect(r.members).to.have.length(1);
  });

  it('rebalance timeout: a member that does not rejoin in time is removed and the join completes without it', async () => {
    const { c, time } = setup();
    const { a, b } = await stableGroupOfTwo(c);
    const pending = c.joinGroup(join(a, { protocols: [{ name: P, metadata: Buffer.from('new') }] }));
    let done = false;
    void pending.then(() => { done = true; });
    // b keeps heartbeating but never rejoins.
    for (let t = 0; t < 27_000; t += 3_000) {
      await time.advance(3_000);
      expect(await c.heartbeat({ groupId: G, generationId: 2, memberId: b, groupInstanceId: null })).to.equal('REBALANCE_IN_PROGRESS');
    }
    expect(done).to.equal(false);
    await time.advance(3_000);
    const r = await pending;
    expect(r.generationId).to.equal(3);
    expect(r.members.map((m) => m.memberId)).to.deep.equal([a]);
    expect(await c.heartbeat({ groupId: G, generationId: 3, memberId: b, groupInstanceId: null })).to.equal('UNKNOWN_MEMBER_ID');
  });

  it('a pending member id (MEMBER_ID_REQUIRED) that never comes back expires after the session timeout', async () => {
    const { c, time } = setup();
    const { a, b } = await stableGroupOfTwo(c);
    const first = await c.joinGroup(join(''));
    await time.advance(5_000);
    for (const m of [a, b]) await c.heartbeat({ groupId: G, generationId: 2, memberId: m, groupInstanceId: null });
    await time.advance(5_000);
    expect((await c.joinGroup(join(first.memberId))).error).to.equal('UNKNOWN_MEMBER_ID');
    expect(await c.heartbeat({ groupId: G, generationId: 2, memberId: a, groupInstanceId: null })).to.equal(null);
  });

  it('initial rebalance delay: members arriving within it share the first generation; the delay extends up to the rebalance timeout', async () => {
    const { c, time } = setup({ groupInitialRebalanceDelayMs: 3_000 });
    const a = await newMember(c);
    let aDone = false;
    void a.joined.then(() => { aDone = true; });
    await time.advance(2_000);
    const b = await newMember(c);
    await time.advance(1_000);
    expect(aDone).to.equal(false);
    await time.advance(3_000);
    const [ra, rb] = await Promise.all([a.joined, b.joined]);
    expect(ra.generationId).to.equal(1);
    expect(rb.generationId).to.equal(1);
    expect(ra.members).to.have.length(2);
  });

  it('INVALID_SESSION_TIMEOUT, INCONSISTENT_GROUP_PROTOCOL, INVALID_GROUP_ID, GROUP_MAX_SIZE_REACHED', async () => {
    const { c } = setup({ groupMaxSize: 2 });
    expect((await c.joinGroup(join('', { sessionTimeoutMs: 1_000 }))).error).to.equal('INVALID_SESSION_TIMEOUT');
    expect((await c.joinGroup(join('', { groupId: '' }))).error).to.equal('INVALID_GROUP_ID');
    await stableGroupOfTwo(c);
    expect((await c.joinGroup(join('', { protocols: [{ name: 'other', metadata: Buffer.alloc(0) }] }))).error).to.equal('INCONSISTENT_GROUP_PROTOCOL');
    expect((await c.joinGroup(join('', { protocolType: 'connect' }))).error).to.equal('INCONSISTENT_GROUP_PROTOCOL');
    expect((await c.joinGroup(join(''))).error).to.equal('GROUP_MAX_SIZE_REACHED');
  });

  it('protocol selection: the one every member supports that most prefer', async () => {
    const { c, time } = setup({ groupInitialRebalanceDelayMs: 100 });
    const p = (...names: string[]) => names.map((name) => ({ name, metadata: Buffer.from(name) }));
    const a = await newMember(c, { protocols: p('roundrobin', 'range') });
    const b = await newMember(c, { protocols: p('range', 'roundrobin', 'sticky') });
    const x = await newMember(c, { protocols: p('range', 'roundrobin') });
    // b and x arrived during the first 100 ms: the delay runs once more, then the join completes.
    await time.advance(200);
    const [ra, rb, rx] = await Promise.all([a.joined, b.joined, x.joined]);
    expect([ra.protocolName, rb.protocolName, rx.protocolName]).to.deep.equal(['range', 'range', 'range']);
    expect(ra.leaderId).to.equal(a.id);
    expect(ra.members.map((m) => m.metadata.toString())).to.deep.equal(['range', 'range', 'range']);
  });

  it('static membership: rejoining without a member id replaces the old id without a rebalance; the old id is fenced', async () => {
    const { c } = setup();
    const a = await c.joinGroup(join('', { groupInstanceId: 'i-1', requireKnownMemberId: true }));
    expect(a).to.include({ error: null, generationId: 1, memberId: 'c-1' });
    await c.syncGroup({ groupId: G, generationId: 1, memberId: 'c-1', groupInstanceId: 'i-1', assignments: [{ memberId: 'c-1', assignment: Buffer.from('S') }] });
    const again = await c.joinGroup(join('', { groupInstanceId: 'i-1', protocols: [{ name: P, metadata: Buffer.from('x') }] }));
    expect(again).to.deep.include({ error: null, generationId: 1, memberId: 'c-2', leaderId: 'c-2' });
    expect(await state(c)).to.equal('Stable');
    expect(await c.heartbeat({ groupId: G, generationId: 1, memberId: 'c-1', groupInstanceId: 'i-1' })).to.equal('FENCED_INSTANCE_ID');
    expect((await c.syncGroup({ groupId: G, generationId: 1, memberId: 'c-2', groupInstanceId: 'i-1', assignments: [] })).assignment.toString()).to.equal('S');
    const commit = await c.commitOffsets({ groupId: G, generationId: 1, memberId: 'c-1', groupInstanceId: 'i-1', offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] });
    expect(commit.partitions[0]!.error).to.equal('FENCED_INSTANCE_ID');
    const left = await c.leaveGroup(G, [{ memberId: '', groupInstanceId: 'i-1' }]);
    expect(left.members[0]!.error).to.equal(null);
    await flush();
    expect(await state(c)).to.equal('Empty');
  });

  it('a static leader rejoining a Stable group unchanged: members with skipAssignment for JoinGroup v9+ (KIP-814), no members before; it keeps its assignment', async () => {
    const { c } = setup();
    const a = await c.joinGroup(join('', { groupInstanceId: 'i-1' }));
    expect(a).to.deep.include({ error: null, generationId: 1, memberId: 'c-1', leaderId: 'c-1', skipAssignment: false, protocolType: 'consumer' });
    expect(a.members).to.have.length(1);
    await c.syncGroup({ groupId: G, generationId: 1, memberId: 'c-1', groupInstanceId: 'i-1', assignments: [{ memberId: 'c-1', assignment: Buffer.from('S') }] });
    const same = { groupInstanceId: 'i-1', protocols: [{ name: P, metadata: Buffer.from('x') }] };
    const old = await c.joinGroup(join('', same));
    expect(old).to.deep.include({ error: null, generationId: 1, memberId: 'c-2', leaderId: 'c-2', skipAssignment: false, members: [] });
    const v9 = await c.joinGroup(join('', { ...same, supportSkippingAssignment: true, reason: 'restarted' }));
    expect(v9).to.deep.include({ error: null, generationId: 1, memberId: 'c-3', leaderId: 'c-3', skipAssignment: true });
    expect(v9.members.map((m) => [m.memberId, m.groupInstanceId])).to.deep.equal([['c-3', 'i-1']]);
    expect(await state(c)).to.equal('Stable');
    // The leader syncs without computing an assignment: the group keeps the one it has.
    const synced = await c.syncGroup({ groupId: G, generationId: 1, memberId: 'c-3', groupInstanceId: 'i-1', assignments: [] });
    expect(synced).to.deep.equal({ error: null, assignment: Buffer.from('S'), protocolType: 'consumer', protocolName: P });
  });

  it('SyncGroup v5 (KIP-559): a protocol type or name other than the group\'s is INCONSISTENT_GROUP_PROTOCOL; null is not checked', async () => {
    const { c } = setup();
    const first = await c.joinGroup(join(''));
    const joined = await c.joinGroup(join(first.memberId));
    const sync = (protocolType: string | null, protocolName: string | null) => c.syncGroup({
      groupId: G, generationId: joined.generationId, memberId: first.memberId, groupInstanceId: null, protocolType, protocolName,
      assignments: [{ memberId: first.memberId, assignment: Buffer.from('x') }],
    });
    expect(await sync('connect', null)).to.deep.equal({ error: 'INCONSISTENT_GROUP_PROTOCOL', assignment: Buffer.alloc(0), protocolType: null, protocolName: null });
    expect((await sync('consumer', 'roundrobin')).error).to.equal('INCONSISTENT_GROUP_PROTOCOL');
    expect(await state(c)).to.equal('CompletingRebalance');
    expect(await sync('consumer', P)).to.deep.equal({ error: null, assignment: Buffer.from('x'), protocolType: 'consumer', protocolName: P });
    expect(await sync(null, null)).to.deep.equal({ error: null, assignment: Buffer.from('x'), protocolType: 'consumer', protocolName: P });
  });

  it('OffsetCommit v9: a member commit to a missing group is GROUP_ID_NOT_FOUND (older: ILLEGAL_GENERATION); v1 commit times and v2-v4 retention are kept', async () => {
    const { c, time, log } = setup({ offsetsRetentionMs: 600_000, offsetsRetentionCheckIntervalMs: 10_000 });
    const off = [{ topic: 't', partition: 0, offset: 7, leaderEpoch: -1, metadata: null }];
    const commit = (input: Partial<Parameters<typeof c.commitOffsets>[0]>) =>
      c.commitOffsets({ groupId: 'nogroup', generationId: 3, memberId: 'm', groupInstanceId: null, offsets: off, ...input }).then((r) => r.partitions[0]!.error);
    expect(await commit({})).to.equal('ILLEGAL_GENERATION');
    expect(await commit({ groupIdNotFound: true })).to.equal('GROUP_ID_NOT_FOUND');
    // A simple commit (v0 sends no generation) still creates the group, whatever the version.
    expect(await commit({ groupId: 'v0', generationId: -1, memberId: '', groupIdNotFound: true })).to.equal(null);
    // v2-v4: retention 30 s overrides the broker's 600 s; v1: the client's commit time.
    expect(await commit({ groupId: 'kept', generationId: -1, memberId: '', retentionTimeMs: 30_000 })).to.equal(null);
    expect(await commit({ groupId: 'v1', generationId: -1, memberId: '', offsets: [{ ...off[0]!, commitTimestampMs: 12_345 }] })).to.equal(null);
    expect([...replay(log.records).offsets.get('v1')!.values()].map((o) => o.commitTimestampMs)).to.deep.equal([12_345]);
    expect(log.records.filter((r) => r.type === 'offset-commit' && r.groupId === 'kept').map((r) => 'expireTimestampMs' in r && r.expireTimestampMs))
      .to.deep.equal([30_000 + (log.records.find((r) => r.type === 'offset-commit' && r.groupId === 'kept') as { commitTimestampMs: number }).commitTimestampMs]);
    await time.advance(40_000);
    expect((await c.fetchOffsets({ groupId: 'kept', topics: null, requireStable: false })).partitions).to.have.length(0);
    expect((await c.fetchOffsets({ groupId: 'v0', topics: null, requireStable: false })).partitions.map((p) => p.offset)).to.deep.equal([7]);
  });

  it('static member that misses a rebalance stays a member until its session times out', async () => {
    const { c, time } = setup();
    const s = await c.joinGroup(join('', { groupInstanceId: 'i-1' }));
    await c.syncGroup({ groupId: G, generationId: 1, memberId: s.memberId, groupInstanceId: 'i-1', assignments: [] });
    const d = await newMember(c);
    await time.advance(30_000);
    const rd = await d.joined;
    expect(rd.generationId).to.equal(2);
    // The static member was kept through the rebalance timeout, then its session expired.
    expect((await c.describeGroups([G]))[0]!.members.map((m) => m.memberId)).to.not.include(s.memberId);
  });

  it('commits are fenced by generation and member; simple commits (generation -1) only on Empty groups; fetch returns -1 when none', async () => {
    const { c } = setup();
    const off = (offset: number) => [{ topic: 't', partition: 0, offset, leaderEpoch: 5, metadata: 'm' }];
    expect((await c.commitOffsets({ groupId: 'simple', generationId: -1, memberId: '', groupInstanceId: null, offsets: off(7) })).partitions[0]!.error).to.equal(null);
    expect((await c.commitOffsets({ groupId: 'nogroup', generationId: 3, memberId: 'm', groupInstanceId: null, offsets: off(7) })).partitions[0]!.error).to.equal('ILLEGAL_GENERATION');
    const { a, b } = await stableGroupOfTwo(c);
    const commit = (memberId: string, generationId: number, o = 10) => c.commitOffsets({ groupId: G, generationId, memberId, groupInstanceId: null, offsets: off(o) }).then((r) => r.partitions[0]!.error);
    expect(await commit(a, 2)).to.equal(null);
    expect(await commit(a, 1)).to.equal('ILLEGAL_GENERATION');
    expect(await commit('x', 2)).to.equal('UNKNOWN_MEMBER_ID');
    expect(await commit('', -1)).to.equal('UNKNOWN_MEMBER_ID');
    void c.joinGroup(join(a, { protocols: [{ name: P, metadata: Buffer.from('z') }] }));
    await flush();
    expect(await commit(b, 2, 11)).to.equal(null); // PreparingRebalance: the current generation may still commit
    const rejoined = await c.joinGroup(join(b));
    expect(await state(c)).to.equal('CompletingRebalance');
    expect(await commit(b, rejoined.generationId)).to.equal('REBALANCE_IN_PROGRESS');
    const fetched = await c.fetchOffsets({ groupId: G, topics: [{ topic: 't', partitions: [0, 1] }], requireStable: false });
    expect(fetched.partitions).to.deep.equal([
      { topic: 't', partition: 0, offset: 11, leaderEpoch: 5, metadata: 'm', error: null },
      { topic: 't', partition: 1, offset: -1, leaderEpoch: -1, metadata: '', error: null },
    ]);
    expect((await c.fetchOffsets({ groupId: 'simple', topics: null, requireStable: true })).partitions.map((p) => p.offset)).to.deep.equal([7]);
    const big = await c.commitOffsets({ groupId: 'simple', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: 'x'.repeat(5000) }] });
    expect(big.partitions[0]!.error).to.equal('OFFSET_METADATA_TOO_LARGE');
  });

  it('OffsetFetch passes the read barrier first: a coordinator that lost its quorum answers NOT_COORDINATOR, not old offsets', async () => {
    const { c, log } = setup();
    await c.commitOffsets({ groupId: 's', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }] });
    let barrier: () => Promise<void> = async () => {};
    let barriers = 0;
    (log as GroupLog).readBarrier = () => {
      barriers++;
      return barrier();
    };
    expect((await c.fetchOffsets({ groupId: 's', topics: null, requireStable: false })).partitions.map((p) => p.offset)).to.deep.equal([5]);
    expect(barriers).to.equal(1);
    // Cut off from its quorum, not yet stepped down: its successor may have acknowledged more.
    barrier = async () => {
      throw new FlotillaError('READ_DROPPED', 'the leader changed before the read was confirmed');
    };
    expect(await c.fetchOffsets({ groupId: 's', topics: null, requireStable: false })).to.deep.equal({ error: 'NOT_COORDINATOR', partitions: [] });
    barrier = async () => {
      throw new FlotillaError('TIMEOUT', 'no quorum');
    };
    expect((await c.fetchOffsets({ groupId: 's', topics: null, requireStable: false })).error).to.equal('COORDINATOR_NOT_AVAILABLE');
    // Unloaded while the barrier was under way: NOT_COORDINATOR.
    barrier = async () => {
      c.unloadPartition(0);
    };
    expect((await c.fetchOffsets({ groupId: 's', topics: null, requireStable: false })).error).to.equal('NOT_COORDINATOR');
  });

  it('a failed append maps to NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE, and nothing is applied', async () => {
    const { c, log } = setup();
    log.failWith = new FlotillaError('NOT_LEADER', 'moved');
    const r = await c.commitOffsets({ groupId: 's', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] });
    expect(r.partitions[0]!.error).to.equal('NOT_COORDINATOR');
    log.failWith = new FlotillaError('TIMEOUT', 'slow');
    const r2 = await c.commitOffsets({ groupId: 's', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] });
    expect(r2.partitions[0]!.error).to.equal('COORDINATOR_NOT_AVAILABLE');
    expect((await c.fetchOffsets({ groupId: 's', topics: null, requireStable: false })).partitions).to.deep.equal([]);
    expect((await c.listGroups([])).groups).to.deep.equal([]);
  });

  it('a new coordinator rebuilt from the replicated records keeps offsets and the Stable group; an unloaded partition answers NOT_COORDINATOR', async () => {
    const { c, log, time } = setup();
    const { a, b } = await stableGroupOfTwo(c);
    await c.commitOffsets({ groupId: G, generationId: 2, memberId: a, groupInstanceId: null, offsets: [{ topic: 't', partition: 3, offset: 99, leaderEpoch: 1, metadata: null }] });
    const parked = c.joinGroup(join(a, { protocols: [{ name: P, metadata: Buffer.from('q') }] }));
    c.unloadPartition(0);
    expect((await parked).error).to.equal('NOT_COORDINATOR');
    expect(await c.heartbeat({ groupId: G, generationId: 2, memberId: a, groupInstanceId: null })).to.equal('NOT_COORDINATOR');

    const c2 = new GroupCoordinator({ clock: time, timers: time, settings: { offsetsTopicPartitions: 1 }, locate: () => null });
    c2.loadPartition(0, log, replay(log.records));
    expect((await c2.fetchOffsets({ groupId: G, topics: [{ topic: 't', partitions: [3] }], requireStable: false })).partitions[0]!.offset).to.equal(99);
    expect(await state(c2)).to.equal('Stable');
    expect(await c2.heartbeat({ groupId: G, generationId: 2, memberId: b, groupInstanceId: null })).to.equal(null);
    expect((await c2.syncGroup({ groupId: G, generationId: 2, memberId: b, groupInstanceId: null, assignments: [] })).assignment.toString()).to.equal('B2');
    expect(c2.coordinatorFor(G)).to.include({ error: 'COORDINATOR_NOT_AVAILABLE' });
    expect(c.coordinatorFor(G)).to.deep.equal({ error: null, nodeId: 1, host: 'h', port: 9 });
  });

  it('retention: offsets of an Empty group expire offsetsRetentionMs after it became Empty, and the group goes', async () => {
    const { c, time, log } = setup({ offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 });
    const { a, b } = await stableGroupOfTwo(c);
    await c.commitOffsets({ groupId: G, generationId: 2, memberId: a, groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 5, leaderEpoch: -1, metadata: null }] });
    await c.leaveGroup(G, [{ memberId: a, groupInstanceId: null }, { memberId: b, groupInstanceId: null }]);
    await flush();
    expect(await state(c)).to.equal('Empty');
    await time.advance(50_000);
    expect((await c.fetchOffsets({ groupId: G, topics: null, requireStable: false })).partitions).to.have.length(1);
    await time.advance(20_000);
    expect((await c.fetchOffsets({ groupId: G, topics: null, requireStable: false })).partitions).to.have.length(0);
    expect(await state(c)).to.equal('Dead');
    expect(log.records.slice(-2).map((r) => r.type)).to.deep.equal(['offset-tombstone', 'group-tombstone']);
    expect(replay(log.records).offsets.size).to.equal(0);
  });

  it('DeleteGroups: NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, then deletion with tombstones; OffsetDelete refuses subscribed topics', async () => {
    const { c, log } = setup();
    const sub = (topics: string[]) => {
      const parts = [Buffer.from([0, 0]), Buffer.alloc(4)];
      parts[1]!.writeInt32BE(topics.length);
      for (const t of topics) { const l = Buffer.alloc(2); l.writeInt16BE(t.length); parts.push(l, Buffer.from(t)); }
      parts.push(Buffer.alloc(4));
      return Buffer.concat(parts);
    };
    const a = await c.joinGroup(join('', { requireKnownMemberId: false, protocols: [{ name: P, metadata: sub(['t']) }] }));
    await c.syncGroup({ groupId: G, generationId: 1, memberId: a.memberId, groupInstanceId: null, assignments: [] });
    await c.commitOffsets({ groupId: G, generationId: 1, memberId: a.memberId, groupInstanceId: null, offsets: [
      { topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }, { topic: 'u', partition: 0, offset: 2, leaderEpoch: -1, metadata: null },
    ] });
    const od = await c.deleteOffsets(G, [{ topic: 't', partition: 0 }, { topic: 'u', partition: 0 }]);
    expect(od.partitions.map((p) => p.error)).to.deep.equal(['GROUP_SUBSCRIBED_TO_TOPIC', null]);
    expect((await c.deleteOffsets('nope', [])).error).to.equal('GROUP_ID_NOT_FOUND');
    expect(await c.deleteGroups([G, 'nope'])).to.deep.equal([{ groupId: G, error: 'NON_EMPTY_GROUP' }, { groupId: 'nope', error: 'GROUP_ID_NOT_FOUND' }]);
    await c.leaveGroup(G, [{ memberId: a.memberId, groupInstanceId: null }]);
    await flush();
    expect(await c.deleteGroups([G])).to.deep.equal([{ groupId: G, error: null }]);
    expect(await state(c)).to.equal('Dead');
    const after = replay(log.records);
    expect(after.offsets.has(G)).to.equal(false);
    expect(after.groups.has(G)).to.equal(false);
  });

  it('ListGroups filters by state (case-insensitive)', async () => {
    const { c } = setup();
    await stableGroupOfTwo(c);
    await c.commitOffsets({ groupId: 'other', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }] });
    expect((await c.listGroups([])).groups.map((g) => g.groupId).sort()).to.deep.equal([G, 'other']);
    expect((await c.listGroups(['stable'])).groups).to.deep.equal([{ groupId: G, protocolType: 'consumer', state: 'Stable' }]);
    expect(c.groupsByState()).to.include({ Stable: 1, Empty: 1 });
  });
});
