/**
 * GroupCoordinator: the classic consumer-group protocol for the groups of every offsets partition
 * this node leads. One per node. The integrator calls `loadPartition(p, log, state)` when this node
 * becomes leader of offsets partition p (state: the replicated records applied, see records.ts)
 * and `unloadPartition(p)` when it stops; requests for groups of partitions not loaded here get
 * NOT_COORDINATOR, which sends clients back to FindCoordinator.
 *
 * Lifecycle of a rebalance (Kafka's classic protocol, research 4.1/4.2):
 *   JoinGroup (new member) → PreparingRebalance; every JoinGroup is parked until all known members
 *   have rejoined (or the largest rebalance timeout passes: members that did not rejoin are
 *   removed; static ones stay) → generation + 1, protocol selected, CompletingRebalance, every
 *   parked JoinGroup answered (the leader gets the member list) → the leader's SyncGroup carries
 *   the assignment, which is appended to the log; once replicated every parked SyncGroup gets its
 *   part → Stable. A member that leaves, misses its session timeout, or (leader / changed
 *   metadata) rejoins starts the next rebalance. The first rebalance of an Empty group waits
 *   groupInitialRebalanceDelayMs, extended while members keep arriving, up to the rebalance
 *   timeout (group.initial.rebalance.delay.ms).
 *
 * Offsets: a commit is fenced by generation and member (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
 * REBALANCE_IN_PROGRESS while CompletingRebalance, FENCED_INSTANCE_ID); generation -1 with an
 * Empty (or absent) group is a "simple" commit. A commit is answered once its records are
 * replicated; OffsetFetch once the log's read barrier confirmed this node still leads. Offsets of Empty groups expire offsetsRetentionMs after the group became Empty
 * (per commit timestamp for groups that never had members).
 *
 * Time: `clock.wallMs()` for persisted timestamps and retention, `timers` for every timeout; so a
 * test drives the whole state machine on virtual time.
 */
import { randomUUID } from 'node:crypto';
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import type { Clock } from '../base/clock.js';
import { validateSettings } from '../base/settings.js';
import type {
  CoordinatorLookup, DeleteGroupResult, DescribedGroup, FetchedOffset, GroupCoordinatorApi, GroupStateName, HeartbeatInput,
  JoinGroupInput, JoinGroupResult, LeaveGroupResult, LeavingMember, ListGroupsResult, OffsetCommitInput, OffsetCommitResult,
  OffsetDeleteResult, OffsetFetchInput, OffsetFetchResult, PartitionError, ProtocolOffer, SyncGroupInput, SyncGroupResult,
  TxnOffsetCommitInput,
} from './api.js';
import { type GroupErrorName, appendErrorName } from './errors.js';
import { ClassicGroup, type Member, subscribedTopics } from './group.js';
import {
  type GroupLog, type GroupMetadataRecord, type GroupMetadataValue, type GroupRecord, type OffsetsPartitionState, applyRecord,
  emptyPartitionState, hasPendingOffset, offsetKey, parseOffsetKey, partitionFor,
} from './records.js';
import { type GroupCoordinatorSettings, groupCoordinatorSettings } from './settings.js';
import type { TimerHandle, Timers } from './timers.js';

const EMPTY = Buffer.alloc(0);

export interface CoordinatorEndpoint {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

export interface GroupCoordinatorOptions {
  readonly clock: Clock;
  readonly timers: Timers;
  /** Overrides of `groupCoordinatorSettings`, validated once. */
  readonly settings?: Readonly<Record<string, unknown>>;
  /** The current leader of an offsets partition, as clients of `listener` reach it; null when none is known (or it has no such listener). */
  readonly locate: (partition: number, listener?: string) => CoordinatorEndpoint | null;
  /** Optional check of committed partitions: false → UNKNOWN_TOPIC_OR_PARTITION. */
  readonly partitionExists?: (topic: string, partition: number) => boolean;
  /** Member ids (default: `${clientId}-${randomUUID()}`, as Kafka). */
  readonly newMemberId?: (clientId: string) => string;
  readonly logger?: (line: string) => void;
}

interface Shard {
  readonly partition: number;
  readonly log: GroupLog;
  readonly state: OffsetsPartitionState;
  readonly groups: Map<string, ClassicGroup>;
}

function sameProtocols(a: readonly ProtocolOffer[], b: readonly ProtocolOffer[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata));
}

function joinFailure(error: GroupErrorName, memberId: string): JoinGroupResult {
  return { error, generationId: -1, protocolName: '', leaderId: '', memberId, members: [], protocolType: null, skipAssignment: false };
}

function syncFailure(error: GroupErrorName): SyncGroupResult {
  return { error, assignment: EMPTY, protocolType: null, protocolName: null };
}

/** The client's reason (JoinGroup v8+, LeaveGroup v5+, KIP-800) appended to a log line. */
function because(reason: string | null | undefined): string {
  return reason === null || reason === undefined || reason === '' ? '' : ` (reason: ${reason})`;
}

function syncSuccess(group: ClassicGroup, assignment: Buffer): SyncGroupResult {
  return { error: null, assignment, protocolType: group.protocolType, protocolName: group.protocolName };
}

export class GroupCoordinator implements GroupCoordinatorApi {
  readonly settings: GroupCoordinatorSettings;
  private readonly options: GroupCoordinatorOptions;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly shards = new Map<number, Shard>();
  private retentionTimer: TimerHandle | null = null;
  private readonly newMemberId: (clientId: string) => string;
  /** Counters for the metrics exporter. */
  readonly stats = { rebalances: 0, offsetCommits: 0, expiredOffsets: 0 };

  constructor(options: GroupCoordinatorOptions) {
    this.options = options;
    this.clock = options.clock;
    this.timers = options.timers;
    this.settings = validateSettings(groupCoordinatorSettings, options.settings, 'groups', (s, fail) => {
      if (s.groupMinSessionTimeoutMs > s.groupMaxSessionTimeoutMs) fail('groupMinSessionTimeoutMs', 'must not exceed groupMaxSessionTimeoutMs');
    });
    this.newMemberId = options.newMemberId ?? ((clientId) => `${clientId}-${randomUUID()}`);
  }

  // -------------------------------------------------------------------------------------------
  // Partitions (the integrator's side)

  /** The offsets partition of a group. */
  partitionFor(groupId: string): number {
    return partitionFor(groupId, this.settings.offsetsTopicPartitions);
  }

  /**
   * This node now leads offsets partition `partition`: rebuild its groups from `state` (the
   * replicated records applied; see `replay`) and append future records through `log`. Groups
   * with members come back Stable, and their members must heartbeat within their session timeout.
   */
  loadPartition(partition: number, log: GroupLog, state: OffsetsPartitionState = emptyPartitionState()): void {
    assert(partition >= 0 && partition < this.settings.offsetsTopicPartitions, () => `offsets partition ${partition} out of range`);
    assert(!this.shards.has(partition), () => `offsets partition ${partition} is already loaded`);
    const shard: Shard = { partition, log, state, groups: new Map() };
    this.shards.set(partition, shard);
    for (const [groupId, value] of state.groups) this.restoreGroup(shard, groupId, value);
    for (const groupId of state.offsets.keys()) {
      if (!shard.groups.has(groupId)) shard.groups.set(groupId, new ClassicGroup(groupId, this.clock.wallMs()));
    }
    this.scheduleRetention();
    this.log(`groups: loaded offsets partition ${partition} (${shard.groups.size} groups)`);
  }

  /** This node no longer leads `partition`: parked requests get NOT_COORDINATOR; timers stop. */
  unloadPartition(partition: number): void {
    const shard = this.shards.get(partition);
    if (shard === undefined) return;
    this.shards.delete(partition);
    for (const group of shard.groups.values()) this.killGroup(group, 'NOT_COORDINATOR');
    shard.groups.clear();
    if (this.shards.size === 0) {
      this.retentionTimer?.cancel();
      this.retentionTimer = null;
    }
    this.log(`groups: unloaded offsets partition ${partition}`);
  }

  loadedPartitions(): number[] {
    return [...this.shards.keys()].sort((a, b) => a - b);
  }

  /** Unloads every partition. */
  close(): void {
    for (const p of [...this.shards.keys()]) this.unloadPartition(p);
  }

  /** Groups by state over the loaded partitions (metrics). */
  groupsByState(): Record<GroupStateName, number> {
    const out: Record<GroupStateName, number> = { Empty: 0, PreparingRebalance: 0, CompletingRebalance: 0, Stable: 0, Dead: 0 };
    for (const shard of this.shards.values()) for (const g of shard.groups.values()) out[g.state]++;
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // GroupCoordinatorApi

  coordinatorFor(groupId: string, listener?: string): CoordinatorLookup {
    const partition = this.partitionFor(groupId);
    const at = this.options.locate(partition, listener);
    if (at === null) return { error: 'COORDINATOR_NOT_AVAILABLE', message: `offsets partition ${partition} has no leader right now` };
    return { error: null, nodeId: at.nodeId, host: at.host, port: at.port };
  }

  async joinGroup(input: JoinGroupInput): Promise<JoinGroupResult> {
    if (input.groupId === '') return joinFailure('INVALID_GROUP_ID', input.memberId);
    const shard = this.shardOf(input.groupId);
    if (shard === null) return joinFailure('NOT_COORDINATOR', input.memberId);
    const s = this.settings;
    if (input.sessionTimeoutMs < s.groupMinSessionTimeoutMs || input.sessionTimeoutMs > s.groupMaxSessionTimeoutMs) {
      return joinFailure('INVALID_SESSION_TIMEOUT', input.memberId);
    }
    let group = shard.groups.get(input.groupId);
    if (group === undefined) {
      if (input.memberId !== '') return joinFailure('UNKNOWN_MEMBER_ID', input.memberId);
      group = new ClassicGroup(input.groupId, this.clock.wallMs());
      shard.groups.set(input.groupId, group);
    }
    if (group.is('Dead')) return joinFailure('COORDINATOR_NOT_AVAILABLE', input.memberId);
    const except = group.members.has(input.memberId) ? input.memberId : null;
    if (!group.supportsProtocols(input.protocolType, input.protocols, except)) {
      this.maybeDropGroup(shard, group);
      return joinFailure('INCONSISTENT_GROUP_PROTOCOL', input.memberId);
    }
    return input.memberId === '' ? this.joinUnknownMember(shard, group, input) : this.joinKnownMember(shard, group, input);
  }

  async syncGroup(input: SyncGroupInput): Promise<SyncGroupResult> {
    const shard = this.shardOf(input.groupId);
    if (shard === null) return syncFailure('NOT_COORDINATOR');
    const group = shard.groups.get(input.groupId);
    if (group === undefined) return syncFailure('UNKNOWN_MEMBER_ID');
    if (group.is('Dead')) return syncFailure('COORDINATOR_NOT_AVAILABLE');
    if (this.isFenced(group, input.memberId, input.groupInstanceId)) return syncFailure('FENCED_INSTANCE_ID');
    const member = group.members.get(input.memberId);
    if (member === undefined) return syncFailure('UNKNOWN_MEMBER_ID');
    if (input.generationId !== group.generationId) return syncFailure('ILLEGAL_GENERATION');
    if ((input.protocolType != null && input.protocolType !== group.protocolType)
      || (input.protocolName != null && input.protocolName !== group.protocolName)) return syncFailure('INCONSISTENT_GROUP_PROTOCOL');
    switch (group.state) {
      case 'PreparingRebalance':
        return syncFailure('REBALANCE_IN_PROGRESS');
      case 'CompletingRebalance':
        return new Promise<SyncGroupResult>((resolve) => {
          member.awaitingSync?.(syncFailure('REBALANCE_IN_PROGRESS'));
          member.awaitingSync = resolve;
          this.touchSession(shard, group, member);
          if (input.memberId === group.leaderId) void this.completeAssignment(shard, group, input.assignments);
        });
      case 'Stable':
        this.touchSession(shard, group, member);
        return syncSuccess(group, member.assignment);
      default:
        return syncFailure('UNKNOWN_MEMBER_ID');
    }
  }

  async heartbeat(input: HeartbeatInput): Promise<GroupErrorName | null> {
    const shard = this.shardOf(input.groupId);
    if (shard === null) return 'NOT_COORDINATOR';
    const group = shard.groups.get(input.groupId);
    if (group === undefined) return 'UNKNOWN_MEMBER_ID';
    if (group.is('Dead')) return 'COORDINATOR_NOT_AVAILABLE';
    if (this.isFenced(group, input.memberId, input.groupInstanceId)) return 'FENCED_INSTANCE_ID';
    const member = group.members.get(input.memberId);
    if (member === undefined) return 'UNKNOWN_MEMBER_ID';
    if (group.is('CompletingRebalance')) {
      this.touchSession(shard, group, member);
      return 'REBALANCE_IN_PROGRESS';
    }
    if (input.generationId !== group.generationId) return 'ILLEGAL_GENERATION';
    this.touchSession(shard, group, member);
    return group.is('PreparingRebalance') ? 'REBALANCE_IN_PROGRESS' : null;
  }

  async leaveGroup(groupId: string, members: readonly LeavingMember[]): Promise<LeaveGroupResult> {
    const shard = this.shardOf(groupId);
    if (shard === null) return { error: 'NOT_COORDINATOR', members: members.map((m) => ({ ...m, error: 'NOT_COORDINATOR' })) };
    const group = shard.groups.get(groupId);
    if (group === undefined || group.is('Dead')) {
      return { error: null, members: members.map((m) => ({ ...m, error: 'UNKNOWN_MEMBER_ID' })) };
    }
    const results = members.map((m) => ({ ...m, error: this.removeLeaving(shard, group, m) }));
    return { error: null, members: results };
  }

  async commitOffsets(input: OffsetCommitInput): Promise<OffsetCommitResult> {
    const all = (error: GroupErrorName): OffsetCommitResult => ({
      partitions: input.offsets.map((o) => ({ topic: o.topic, partition: o.partition, error })),
    });
    if (input.groupId === '') return all('INVALID_GROUP_ID');
    const shard = this.shardOf(input.groupId);
    if (shard === null) return all('NOT_COORDINATOR');
    let group = shard.groups.get(input.groupId);
    if (group === undefined) {
      if (input.generationId >= 0) return all(input.groupIdNotFound === true ? 'GROUP_ID_NOT_FOUND' : 'ILLEGAL_GENERATION');
      group = new ClassicGroup(input.groupId, this.clock.wallMs());
      shard.groups.set(input.groupId, group);
    }
    if (group.is('Dead')) return all('COORDINATOR_NOT_AVAILABLE');
    if (this.isFenced(group, input.memberId, input.groupInstanceId)) return all('FENCED_INSTANCE_ID');
    if (!(input.generationId < 0 && group.is('Empty'))) {
      if (group.is('CompletingRebalance')) return all('REBALANCE_IN_PROGRESS');
      const member = group.members.get(input.memberId);
      if (member === undefined) return all('UNKNOWN_MEMBER_ID');
      if (input.generationId !== group.generationId) return all('ILLEGAL_GENERATION');
      this.touchSession(shard, group, member);
    }
    const now = this.clock.wallMs();
    const retention = input.retentionTimeMs ?? -1;
    const records: GroupRecord[] = [];
    const results: { topic: string; partition: number; error: GroupErrorName | null }[] = [];
    for (const o of input.offsets) {
      let error: GroupErrorName | null = null;
      if (o.metadata !== null && Buffer.byteLength(o.metadata) > this.settings.offsetMetadataMaxBytes) error = 'OFFSET_METADATA_TOO_LARGE';
      else if (this.options.partitionExists && !this.options.partitionExists(o.topic, o.partition)) error = 'UNKNOWN_TOPIC_OR_PARTITION';
      else if (!Number.isInteger(o.partition) || o.partition < 0) error = 'UNKNOWN_TOPIC_OR_PARTITION';
      else {
        records.push({
          type: 'offset-commit', groupId: input.groupId, topic: o.topic, partition: o.partition, offset: o.offset,
          leaderEpoch: o.leaderEpoch, metadata: o.metadata ?? '',
          commitTimestampMs: o.commitTimestampMs !== undefined && o.commitTimestampMs !== -1 ? o.commitTimestampMs : now,
          ...(retention >= 0 ? { expireTimestampMs: now + retention } : {}),
        });
      }
      results.push({ topic: o.topic, partition: o.partition, error });
    }
    if (records.length === 0) {
      this.maybeDropGroup(shard, group);
      return { partitions: results };
    }
    try {
      await shard.log.append(records);
    } catch (err) {
      const e = appendErrorName(err);
      this.maybeDropGroup(shard, group);
      return { partitions: results.map((r) => (r.error === null ? { ...r, error: e } : r)) };
    }
    for (const r of records) applyRecord(shard.state, r);
    this.stats.offsetCommits += records.length;
    return { partitions: results };
  }

  /**
   * TxnOffsetCommit: the offsets are written as pending records of the producer; its transaction's
   * COMMIT marker (writeTxnMarker) makes them the committed ones, ABORT drops them. A member that
   * sends its generation (v3+) is fenced like a plain commit's; older versions carry none.
   */
  async txnCommitOffsets(input: TxnOffsetCommitInput): Promise<OffsetCommitResult> {
    const all = (error: GroupErrorName): OffsetCommitResult => ({
      partitions: input.offsets.map((o) => ({ topic: o.topic, partition: o.partition, error })),
    });
    if (input.groupId === '') return all('INVALID_GROUP_ID');
    const shard = this.shardOf(input.groupId);
    if (shard === null) return all('NOT_COORDINATOR');
    const group = shard.groups.get(input.groupId);
    if (group?.is('Dead')) return all('COORDINATOR_NOT_AVAILABLE');
    if (input.generationId >= 0 && group !== undefined && !group.is('Empty')) {
      if (this.isFenced(group, input.memberId, input.groupInstanceId)) return all('FENCED_INSTANCE_ID');
      if (!group.members.has(input.memberId)) return all('UNKNOWN_MEMBER_ID');
      if (input.generationId !== group.generationId) return all('ILLEGAL_GENERATION');
    }
    const now = this.clock.wallMs();
    const records: GroupRecord[] = [];
    const results: PartitionError[] = input.offsets.map((o) => {
      let error: GroupErrorName | null = null;
      if (o.metadata !== null && Buffer.byteLength(o.metadata) > this.settings.offsetMetadataMaxBytes) error = 'OFFSET_METADATA_TOO_LARGE';
      else if (!Number.isInteger(o.partition) || o.partition < 0) error = 'UNKNOWN_TOPIC_OR_PARTITION';
      else if (this.options.partitionExists && !this.options.partitionExists(o.topic, o.partition)) error = 'UNKNOWN_TOPIC_OR_PARTITION';
      else {
        records.push({
          type: 'txn-offset-commit', producerId: input.producerId, producerEpoch: input.producerEpoch, groupId: input.groupId,
          topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata ?? '', commitTimestampMs: now,
        });
      }
      return { topic: o.topic, partition: o.partition, error };
    });
    if (records.length === 0) return { partitions: results };
    try {
      await shard.log.append(records);
    } catch (err) {
      const e = appendErrorName(err);
      return { partitions: results.map((r) => (r.error === null ? { ...r, error: e } : r)) };
    }
    for (const r of records) applyRecord(shard.state, r);
    if (group === undefined && !shard.groups.has(input.groupId)) shard.groups.set(input.groupId, new ClassicGroup(input.groupId, now));
    return { partitions: results };
  }

  /**
   * A transaction's marker for offsets partition `partition` (from the transaction coordinator):
   * COMMIT makes the producer's pending offsets committed, ABORT drops them. Settles once the
   * marker is replicated; throws NOT_COORDINATOR when this node does not lead the partition.
   */
  async writeTxnMarker(partition: number, marker: { producerId: number; producerEpoch: number; commit: boolean; txn: number }): Promise<void> {
    const shard = this.shards.get(partition);
    if (shard === undefined) throw new FlotillaError('NOT_COORDINATOR', `node does not lead offsets partition ${partition}`);
    const record: GroupRecord = { type: 'txn-marker', ...marker };
    await shard.log.append([record]);
    applyRecord(shard.state, record);
  }

  async fetchOffsets(input: OffsetFetchInput): Promise<OffsetFetchResult> {
    let shard = this.shardOf(input.groupId);
    if (shard === null) return { error: 'NOT_COORDINATOR', partitions: [] };
    // Linearizable: a coordinator cut off from its quorum (not yet stepped down) must not answer
    // with offsets older than ones its successor has acknowledged.
    if (shard.log.readBarrier) {
      try {
        await shard.log.readBarrier();
      } catch (err) {
        return { error: appendErrorName(err), partitions: [] };
      }
      shard = this.shardOf(input.groupId);
      if (shard === null) return { error: 'NOT_COORDINATOR', partitions: [] };
    }
    const committed = shard.state.offsets.get(input.groupId);
    const one = (topic: string, partition: number): FetchedOffset => {
      if (input.requireStable && hasPendingOffset(shard.state, input.groupId, topic, partition)) {
        return { topic, partition, offset: -1, leaderEpoch: -1, metadata: '', error: 'UNSTABLE_OFFSET_COMMIT' };
      }
      const c = committed?.get(offsetKey(topic, partition));
      return c === undefined
        ? { topic, partition, offset: -1, leaderEpoch: -1, metadata: '', error: null }
        : { topic, partition, offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata ?? '', error: null };
    };
    if (input.topics === null) {
      const partitions = [...(committed?.keys() ?? [])].map(parseOffsetKey).map(({ topic, partition }) => one(topic, partition));
      return { error: null, partitions };
    }
    return { error: null, partitions: input.topics.flatMap((t) => t.partitions.map((p) => one(t.topic, p))) };
  }

  async describeGroups(groupIds: readonly string[]): Promise<DescribedGroup[]> {
    return groupIds.map((groupId) => {
      const none = (error: GroupErrorName | null): DescribedGroup => ({ groupId, error, state: 'Dead', protocolType: '', protocolName: '', members: [] });
      const shard = this.shardOf(groupId);
      if (shard === null) return none('NOT_COORDINATOR');
      const group = shard.groups.get(groupId);
      // GROUP_ID_NOT_FOUND is what DescribeGroups v6+ answers (KIP-1043); older versions see no error.
      if (group === undefined) return none('GROUP_ID_NOT_FOUND');
      const stable = group.is('Stable');
      return {
        groupId,
        error: null,
        state: group.state,
        protocolType: group.protocolType,
        protocolName: stable ? group.protocolName ?? '' : '',
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          metadata: stable ? group.metadataOf(m) : EMPTY,
          assignment: stable ? m.assignment : EMPTY,
        })),
      };
    });
  }

  async listGroups(states: readonly string[]): Promise<ListGroupsResult> {
    const wanted = new Set(states.map((s) => s.toLowerCase()));
    const groups = [];
    for (const shard of this.shards.values()) {
      for (const g of shard.groups.values()) {
        if (wanted.size > 0 && !wanted.has(g.state.toLowerCase())) continue;
        groups.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.state });
      }
    }
    return { error: null, groups };
  }

  async deleteGroups(groupIds: readonly string[]): Promise<DeleteGroupResult[]> {
    const out: DeleteGroupResult[] = [];
    for (const groupId of groupIds) out.push({ groupId, error: await this.deleteGroup(groupId) });
    return out;
  }

  async deleteOffsets(groupId: string, partitions: readonly { topic: string; partition: number }[]): Promise<OffsetDeleteResult> {
    const shard = this.shardOf(groupId);
    if (shard === null) return { error: 'NOT_COORDINATOR', partitions: [] };
    const group = shard.groups.get(groupId);
    if (group === undefined || group.is('Dead')) return { error: 'GROUP_ID_NOT_FOUND', partitions: [] };
    let subscribed: Set<string> | 'all' = new Set();
    if (!group.is('Empty')) {
      if (group.protocolType !== 'consumer') return { error: 'NON_EMPTY_GROUP', partitions: [] };
      for (const m of group.members.values()) {
        const topics = subscribedTopics(group.metadataOf(m));
        if (topics === null) {
          subscribed = 'all';
          break;
        }
        for (const t of topics) subscribed.add(t);
      }
    }
    const records: GroupRecord[] = [];
    const results: PartitionError[] = partitions.map(({ topic, partition }) => {
      if (subscribed === 'all' || subscribed.has(topic)) return { topic, partition, error: 'GROUP_SUBSCRIBED_TO_TOPIC' as const };
      records.push({ type: 'offset-tombstone', groupId, topic, partition });
      return { topic, partition, error: null };
    });
    if (records.length > 0) {
      try {
        await shard.log.append(records);
      } catch (err) {
        const e = appendErrorName(err);
        return { error: null, partitions: results.map((r) => (r.error === null ? { ...r, error: e } : r)) };
      }
      for (const r of records) applyRecord(shard.state, r);
    }
    return { error: null, partitions: results };
  }

  // -------------------------------------------------------------------------------------------
  // Join

  private joinUnknownMember(shard: Shard, group: ClassicGroup, input: JoinGroupInput): Promise<JoinGroupResult> | JoinGroupResult {
    if (input.groupInstanceId !== null) {
      const oldId = group.staticMembers.get(input.groupInstanceId);
      const memberId = this.newMemberId(input.clientId);
      if (oldId !== undefined) return this.replaceStaticMember(shard, group, oldId, memberId, input);
      if (group.size >= this.settings.groupMaxSize) return joinFailure('GROUP_MAX_SIZE_REACHED', '');
      return this.addMemberAndRebalance(shard, group, memberId, input);
    }
    if (group.size >= this.settings.groupMaxSize) {
      this.maybeDropGroup(shard, group);
      return joinFailure('GROUP_MAX_SIZE_REACHED', '');
    }
    const memberId = this.newMemberId(input.clientId);
    if (input.requireKnownMemberId) {
      group.pendingMembers.set(memberId, this.timers.schedule(input.sessionTimeoutMs, () => this.expirePending(shard, group, memberId)));
      return joinFailure('MEMBER_ID_REQUIRED', memberId);
    }
    return this.addMemberAndRebalance(shard, group, memberId, input);
  }

  private joinKnownMember(shard: Shard, group: ClassicGroup, input: JoinGroupInput): Promise<JoinGroupResult> | JoinGroupResult {
    const memberId = input.memberId;
    if (this.isFenced(group, memberId, input.groupInstanceId)) return joinFailure('FENCED_INSTANCE_ID', memberId);
    const pending = group.pendingMembers.get(memberId);
    if (pending !== undefined) {
      pending.cancel();
      group.pendingMembers.delete(memberId);
      return this.addMemberAndRebalance(shard, group, memberId, input);
    }
    const member = group.members.get(memberId);
    if (member === undefined) return joinFailure('UNKNOWN_MEMBER_ID', memberId);
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(shard, group, member, input);
      case 'CompletingRebalance':
        if (sameProtocols(member.protocols, input.protocols)) return this.joinResult(group, member);
        return this.updateMemberAndRebalance(shard, group, member, input);
      case 'Stable':
        if (memberId === group.leaderId || !sameProtocols(member.protocols, input.protocols)) {
          return this.updateMemberAndRebalance(shard, group, member, input);
        }
        this.touchSession(shard, group, member);
        return this.joinResult(group, member);
      default:
        return joinFailure('UNKNOWN_MEMBER_ID', memberId);
    }
  }

  private addMemberAndRebalance(shard: Shard, group: ClassicGroup, memberId: string, input: JoinGroupInput): Promise<JoinGroupResult> {
    return new Promise((resolve) => {
      if (group.members.size === 0) group.protocolType = input.protocolType;
      const member: Member = {
        memberId,
        groupInstanceId: input.groupInstanceId,
        clientId: input.clientId,
        clientHost: input.clientHost,
        sessionTimeoutMs: input.sessionTimeoutMs,
        rebalanceTimeoutMs: input.rebalanceTimeoutMs,
        protocolType: input.protocolType,
        protocols: input.protocols,
        assignment: EMPTY,
        awaitingJoin: resolve,
        awaitingSync: null,
        sessionTimer: null,
      };
      group.members.set(memberId, member);
      if (input.groupInstanceId !== null) group.staticMembers.set(input.groupInstanceId, memberId);
      if (group.leaderId === null) group.leaderId = memberId;
      group.newMemberAdded = true;
      this.touchSession(shard, group, member);
      this.rebalanceOrTryComplete(shard, group, `${memberId} joined${because(input.reason)}`);
    });
  }

  private updateMemberAndRebalance(shard: Shard, group: ClassicGroup, member: Member, input: JoinGroupInput): Promise<JoinGroupResult> {
    return new Promise((resolve) => {
      member.protocols = input.protocols;
      member.protocolType = input.protocolType;
      member.sessionTimeoutMs = input.sessionTimeoutMs;
      member.rebalanceTimeoutMs = input.rebalanceTimeoutMs;
      member.clientId = input.clientId;
      member.clientHost = input.clientHost;
      // A second JoinGroup while one is parked: the client gave up on the first.
      member.awaitingJoin?.(joinFailure('REBALANCE_IN_PROGRESS', member.memberId));
      member.awaitingJoin = resolve;
      this.touchSession(shard, group, member);
      this.rebalanceOrTryComplete(shard, group, `${member.memberId} rejoined${because(input.reason)}`);
    });
  }

  /** A static member rejoined without its member id: the old incarnation is fenced, the new one takes its place. */
  private async replaceStaticMember(shard: Shard, group: ClassicGroup, oldId: string, newId: string, input: JoinGroupInput): Promise<JoinGroupResult> {
    const member = group.members.get(oldId);
    assert(member !== undefined && member.groupInstanceId === input.groupInstanceId, 'static member map out of sync');
    member.awaitingJoin?.(joinFailure('FENCED_INSTANCE_ID', oldId));
    member.awaitingJoin = null;
    member.awaitingSync?.(syncFailure('FENCED_INSTANCE_ID'));
    member.awaitingSync = null;
    group.members.delete(oldId);
    member.memberId = newId;
    group.members.set(newId, member);
    group.staticMembers.set(input.groupInstanceId as string, newId);
    if (group.leaderId === oldId) group.leaderId = newId;
    if (group.is('Stable') && sameProtocols(member.protocols, input.protocols)) {
      this.touchSession(shard, group, member);
      const generation = group.generationId;
      const record = this.metadataRecord(group);
      try {
        await shard.log.append([record]);
      } catch (err) {
        return joinFailure(appendErrorName(err), newId);
      }
      applyRecord(shard.state, record);
      if (!this.live(shard, group) || group.generationId !== generation || group.members.get(newId) !== member) {
        return joinFailure('REBALANCE_IN_PROGRESS', newId);
      }
      return this.joinResult(group, member, { supportSkippingAssignment: input.supportSkippingAssignment === true });
    }
    return this.updateMemberAndRebalance(shard, group, member, input);
  }

  /**
   * `staticRejoin`: a static member rejoined a Stable group unchanged and keeps its assignment.
   * Kafka's rule (KIP-814): if it leads, it gets the members with skipAssignment when its client
   * supports that (JoinGroup v9+), else no members, so that it does not reassign.
   */
  private joinResult(group: ClassicGroup, member: Member, staticRejoin?: { supportSkippingAssignment: boolean }): JoinGroupResult {
    const isLeader = member.memberId === group.leaderId;
    const skipAssignment = staticRejoin !== undefined && isLeader && staticRejoin.supportSkippingAssignment;
    const listMembers = isLeader && (staticRejoin === undefined || skipAssignment);
    return {
      error: null,
      generationId: group.generationId,
      protocolName: group.protocolName ?? '',
      leaderId: group.leaderId ?? '',
      memberId: member.memberId,
      members: listMembers
        ? [...group.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: group.metadataOf(m) }))
        : [],
      protocolType: group.protocolType,
      skipAssignment,
    };
  }

  private rebalanceOrTryComplete(shard: Shard, group: ClassicGroup, reason: string): void {
    if (group.is('PreparingRebalance')) this.maybeCompleteJoin(shard, group);
    else this.prepareRebalance(shard, group, reason);
  }

  private prepareRebalance(shard: Shard, group: ClassicGroup, reason: string): void {
    if (group.is('CompletingRebalance')) this.resetAssignments(group, 'REBALANCE_IN_PROGRESS');
    group.joinTimer?.cancel();
    group.joinTimer = null;
    const wasEmpty = group.is('Empty');
    group.transition('PreparingRebalance', this.clock.wallMs());
    this.stats.rebalances++;
    this.log(`groups: ${group.groupId} preparing rebalance after generation ${group.generationId}: ${reason}`);
    const delay = this.settings.groupInitialRebalanceDelayMs;
    if (wasEmpty && delay > 0) {
      group.inInitialDelay = true;
      group.newMemberAdded = false;
      group.initialDelayRemainingMs = Math.max(group.rebalanceTimeoutMs() - delay, 0);
      group.joinTimer = this.timers.schedule(delay, () => this.onInitialDelayExpired(shard, group));
      return;
    }
    group.inInitialDelay = false;
    group.joinTimer = this.timers.schedule(group.rebalanceTimeoutMs(), () => this.completeJoin(shard, group));
    this.maybeCompleteJoin(shard, group);
  }

  private onInitialDelayExpired(shard: Shard, group: ClassicGroup): void {
    group.joinTimer = null;
    if (!this.live(shard, group) || !group.is('PreparingRebalance')) return;
    const delay = this.settings.groupInitialRebalanceDelayMs;
    if (group.newMemberAdded && group.initialDelayRemainingMs > 0) {
      group.newMemberAdded = false;
      const next = Math.min(delay, group.initialDelayRemainingMs);
      group.initialDelayRemainingMs = Math.max(group.initialDelayRemainingMs - delay, 0);
      group.joinTimer = this.timers.schedule(next, () => this.onInitialDelayExpired(shard, group));
      return;
    }
    this.completeJoin(shard, group);
  }

  private maybeCompleteJoin(shard: Shard, group: ClassicGroup): void {
    if (group.is('PreparingRebalance') && !group.inInitialDelay && group.hasAllMembersJoined()) this.completeJoin(shard, group);
  }

  /** The join phase ends: stragglers (dynamic) are removed, the next generation starts. */
  private completeJoin(shard: Shard, group: ClassicGroup): void {
    if (!this.live(shard, group) || !group.is('PreparingRebalance')) return;
    group.joinTimer?.cancel();
    group.joinTimer = null;
    group.inInitialDelay = false;
    for (const m of [...group.members.values()]) {
      if (m.awaitingJoin === null && m.groupInstanceId === null) this.dropMember(group, m, 'UNKNOWN_MEMBER_ID');
    }
    const now = this.clock.wallMs();
    group.generationId++;
    if (group.members.size === 0) {
      group.protocolName = null;
      group.leaderId = null;
      group.transition('Empty', now);
      this.log(`groups: ${group.groupId} is empty at generation ${group.generationId}`);
      void this.persistQuietly(shard, this.metadataRecord(group));
      return;
    }
    if (group.leaderId === null || !group.members.has(group.leaderId) || group.members.get(group.leaderId)!.awaitingJoin === null) {
      const joined = [...group.members.values()].find((m) => m.awaitingJoin !== null) ?? group.members.values().next().value!;
      group.leaderId = joined.memberId;
    }
    group.protocolName = group.selectProtocol();
    group.transition('CompletingRebalance', now);
    this.log(`groups: ${group.groupId} generation ${group.generationId}: ${group.members.size} members, protocol ${group.protocolName}, leader ${group.leaderId}`);
    for (const m of group.members.values()) {
      m.assignment = EMPTY;
      const answer = m.awaitingJoin;
      m.awaitingJoin = null;
      answer?.(this.joinResult(group, m));
      this.touchSession(shard, group, m);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Sync

  private async completeAssignment(shard: Shard, group: ClassicGroup, assignments: SyncGroupInput['assignments']): Promise<void> {
    const generation = group.generationId;
    const byId = new Map(assignments.map((a) => [a.memberId, a.assignment]));
    const record = this.metadataRecord(group, byId);
    const current = (): boolean => this.live(shard, group) && group.is('CompletingRebalance') && group.generationId === generation;
    try {
      await shard.log.append([record]);
    } catch (err) {
      if (current()) {
        this.resetAssignments(group, appendErrorName(err));
        this.prepareRebalance(shard, group, 'the assignment could not be stored');
      }
      return;
    }
    applyRecord(shard.state, record);
    if (!current()) return;
    for (const m of group.members.values()) {
      m.assignment = byId.get(m.memberId) ?? EMPTY;
      const answer = m.awaitingSync;
      m.awaitingSync = null;
      answer?.(syncSuccess(group, m.assignment));
    }
    group.transition('Stable', this.clock.wallMs());
  }

  private resetAssignments(group: ClassicGroup, error: GroupErrorName): void {
    for (const m of group.members.values()) {
      m.assignment = EMPTY;
      const answer = m.awaitingSync;
      m.awaitingSync = null;
      answer?.(syncFailure(error));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Members leaving

  private removeLeaving(shard: Shard, group: ClassicGroup, m: LeavingMember): GroupErrorName | null {
    if (m.groupInstanceId !== null) {
      const mapped = group.staticMembers.get(m.groupInstanceId);
      if (mapped === undefined) return 'UNKNOWN_MEMBER_ID';
      if (m.memberId !== '' && m.memberId !== mapped) return 'FENCED_INSTANCE_ID';
      this.removeMemberAndUpdate(shard, group, group.members.get(mapped)!, `static member ${m.groupInstanceId} left${because(m.reason)}`);
      return null;
    }
    const pending = group.pendingMembers.get(m.memberId);
    if (pending !== undefined) {
      pending.cancel();
      group.pendingMembers.delete(m.memberId);
      this.maybeCompleteJoin(shard, group);
      this.maybeDropGroup(shard, group);
      return null;
    }
    const member = group.members.get(m.memberId);
    if (member === undefined) return 'UNKNOWN_MEMBER_ID';
    this.removeMemberAndUpdate(shard, group, member, `${m.memberId} left${because(m.reason)}`);
    return null;
  }

  private removeMemberAndUpdate(shard: Shard, group: ClassicGroup, member: Member, reason: string): void {
    this.dropMember(group, member, 'UNKNOWN_MEMBER_ID');
    switch (group.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.prepareRebalance(shard, group, reason);
        break;
      case 'PreparingRebalance':
        this.maybeCompleteJoin(shard, group);
        break;
      default:
        break;
    }
  }

  /** Takes a member out without touching the group's state; its parked requests get `answer`. */
  private dropMember(group: ClassicGroup, member: Member, answer: GroupErrorName): void {
    member.sessionTimer?.cancel();
    member.sessionTimer = null;
    const join = member.awaitingJoin;
    const sync = member.awaitingSync;
    member.awaitingJoin = null;
    member.awaitingSync = null;
    join?.(joinFailure(answer, member.memberId));
    sync?.(syncFailure(answer));
    group.members.delete(member.memberId);
    if (member.groupInstanceId !== null && group.staticMembers.get(member.groupInstanceId) === member.memberId) {
      group.staticMembers.delete(member.groupInstanceId);
    }
    if (group.leaderId === member.memberId) group.leaderId = group.members.keys().next().value ?? null;
  }

  private touchSession(shard: Shard, group: ClassicGroup, member: Member): void {
    member.sessionTimer?.cancel();
    member.sessionTimer = this.timers.schedule(member.sessionTimeoutMs, () => {
      member.sessionTimer = null;
      if (!this.live(shard, group) || group.members.get(member.memberId) !== member) return;
      // A member parked in JoinGroup or SyncGroup is alive: its request is the heartbeat.
      if (member.awaitingJoin !== null || member.awaitingSync !== null) {
        this.touchSession(shard, group, member);
        return;
      }
      this.removeMemberAndUpdate(shard, group, member, `${member.memberId} missed its session timeout (${member.sessionTimeoutMs} ms)`);
    });
  }

  private expirePending(shard: Shard, group: ClassicGroup, memberId: string): void {
    if (!this.live(shard, group) || !group.pendingMembers.delete(memberId)) return;
    this.maybeCompleteJoin(shard, group);
    this.maybeDropGroup(shard, group);
  }

  // -------------------------------------------------------------------------------------------
  // Deletion and retention

  private async deleteGroup(groupId: string): Promise<GroupErrorName | null> {
    if (groupId === '') return 'INVALID_GROUP_ID';
    const shard = this.shardOf(groupId);
    if (shard === null) return 'NOT_COORDINATOR';
    const group = shard.groups.get(groupId);
    if (group === undefined || group.is('Dead')) return 'GROUP_ID_NOT_FOUND';
    if (!group.is('Empty') || group.pendingMembers.size > 0) return 'NON_EMPTY_GROUP';
    const records = this.tombstones(shard, groupId, [...(shard.state.offsets.get(groupId)?.keys() ?? [])], true);
    // Dead first, so that no JoinGroup revives it while the tombstones replicate.
    this.killGroup(group, 'COORDINATOR_NOT_AVAILABLE');
    shard.groups.delete(groupId);
    try {
      await shard.log.append(records);
    } catch (err) {
      if (this.shards.get(shard.partition) === shard && !shard.groups.has(groupId)) this.restoreFromState(shard, groupId);
      return appendErrorName(err);
    }
    for (const r of records) applyRecord(shard.state, r);
    this.log(`groups: deleted ${groupId}`);
    return null;
  }

  private tombstones(shard: Shard, groupId: string, keys: readonly string[], withGroup: boolean): GroupRecord[] {
    const records: GroupRecord[] = keys.map((k) => ({ type: 'offset-tombstone', groupId, ...parseOffsetKey(k) }));
    if (withGroup && shard.state.groups.has(groupId)) records.push({ type: 'group-tombstone', groupId });
    return records;
  }

  private scheduleRetention(): void {
    if (this.retentionTimer !== null) return;
    this.retentionTimer = this.timers.schedule(this.settings.offsetsRetentionCheckIntervalMs, () => {
      this.retentionTimer = null;
      void this.expireOffsets().finally(() => {
        if (this.shards.size > 0) this.scheduleRetention();
      });
    });
  }

  /**
   * Deletes the offsets of Empty groups older than the retention (from when the group became
   * Empty; per commit for groups that never had members), and Empty groups left without offsets.
   * Runs every offsetsRetentionCheckIntervalMs; public so that tests and tools can run it now.
   */
  async expireOffsets(): Promise<void> {
    const now = this.clock.wallMs();
    const retention = this.settings.offsetsRetentionMs;
    for (const shard of [...this.shards.values()]) {
      for (const group of [...shard.groups.values()]) {
        if (!group.is('Empty') || group.pendingMembers.size > 0) continue;
        const committed = shard.state.offsets.get(group.groupId);
        const standalone = group.protocolType === '' && !shard.state.groups.has(group.groupId);
        const expired = [...(committed?.entries() ?? [])]
          // An offset committed with its own retention (OffsetCommit v2-v4) expires at its own time.
          .filter(([, c]) => (c.expireTimestampMs !== undefined
            ? now >= c.expireTimestampMs
            : now - (standalone ? c.commitTimestampMs : group.stateTimestampMs) >= retention))
          .map(([k]) => k);
        const emptied = (committed?.size ?? 0) === expired.length;
        const records = this.tombstones(shard, group.groupId, expired, emptied);
        if (emptied) {
          this.killGroup(group, 'COORDINATOR_NOT_AVAILABLE');
          shard.groups.delete(group.groupId);
        }
        if (records.length === 0) continue;
        try {
          await shard.log.append(records);
        } catch (err) {
          this.log(`groups: could not expire offsets of ${group.groupId}: ${err instanceof Error ? err.message : String(err)}`);
          if (emptied && this.shards.get(shard.partition) === shard && !shard.groups.has(group.groupId)) this.restoreFromState(shard, group.groupId);
          continue;
        }
        for (const r of records) applyRecord(shard.state, r);
        this.stats.expiredOffsets += expired.length;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  private shardOf(groupId: string): Shard | null {
    return this.shards.get(this.partitionFor(groupId)) ?? null;
  }

  private live(shard: Shard, group: ClassicGroup): boolean {
    return this.shards.get(shard.partition) === shard && shard.groups.get(group.groupId) === group && !group.is('Dead');
  }

  /** A static member id that is not the one registered for its instance id is a zombie. */
  private isFenced(group: ClassicGroup, memberId: string, groupInstanceId: string | null): boolean {
    if (groupInstanceId === null) return false;
    const mapped = group.staticMembers.get(groupInstanceId);
    return mapped !== undefined && mapped !== memberId;
  }

  /** Forgets an Empty group that holds nothing (no members, pending ids, offsets or stored metadata). */
  private maybeDropGroup(shard: Shard, group: ClassicGroup): void {
    if (!group.is('Empty') || group.size > 0 || shard.state.offsets.has(group.groupId) || shard.state.groups.has(group.groupId)) return;
    this.killGroup(group, 'UNKNOWN_MEMBER_ID');
    shard.groups.delete(group.groupId);
  }

  /** Dead: timers stop, parked requests get `answer`. */
  private killGroup(group: ClassicGroup, answer: GroupErrorName): void {
    group.joinTimer?.cancel();
    group.joinTimer = null;
    for (const t of group.pendingMembers.values()) t.cancel();
    group.pendingMembers.clear();
    for (const m of [...group.members.values()]) this.dropMember(group, m, answer);
    if (!group.is('Dead')) group.transition('Dead', this.clock.wallMs());
  }

  private restoreFromState(shard: Shard, groupId: string): void {
    const value = shard.state.groups.get(groupId);
    if (value !== undefined) this.restoreGroup(shard, groupId, value);
    else if (shard.state.offsets.has(groupId)) shard.groups.set(groupId, new ClassicGroup(groupId, this.clock.wallMs()));
  }

  private restoreGroup(shard: Shard, groupId: string, value: GroupMetadataValue): void {
    const g = new ClassicGroup(groupId, value.currentStateTimestampMs);
    g.generationId = value.generationId;
    g.protocolType = value.protocolType;
    g.protocolName = value.protocolName;
    g.leaderId = value.leaderId;
    shard.groups.set(groupId, g);
    if (value.members.length === 0) return;
    g.state = 'Stable';
    for (const pm of value.members) {
      const member: Member = {
        memberId: pm.memberId,
        groupInstanceId: pm.groupInstanceId,
        clientId: pm.clientId,
        clientHost: pm.clientHost,
        sessionTimeoutMs: pm.sessionTimeoutMs,
        rebalanceTimeoutMs: pm.rebalanceTimeoutMs,
        protocolType: value.protocolType,
        protocols: [{ name: value.protocolName ?? '', metadata: pm.subscription }],
        assignment: pm.assignment,
        awaitingJoin: null,
        awaitingSync: null,
        sessionTimer: null,
      };
      g.members.set(pm.memberId, member);
      if (pm.groupInstanceId !== null) g.staticMembers.set(pm.groupInstanceId, pm.memberId);
      this.touchSession(shard, g, member);
    }
    if (g.leaderId === null || !g.members.has(g.leaderId)) g.leaderId = g.members.keys().next().value ?? null;
  }

  private metadataRecord(group: ClassicGroup, assignments?: ReadonlyMap<string, Buffer>): GroupMetadataRecord {
    return {
      type: 'group-metadata',
      groupId: group.groupId,
      value: {
        protocolType: group.protocolType,
        generationId: group.generationId,
        protocolName: group.protocolName,
        leaderId: group.leaderId,
        currentStateTimestampMs: group.stateTimestampMs,
        members: [...group.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          sessionTimeoutMs: m.sessionTimeoutMs,
          rebalanceTimeoutMs: m.rebalanceTimeoutMs,
          subscription: group.metadataOf(m),
          assignment: assignments ? assignments.get(m.memberId) ?? EMPTY : m.assignment,
        })),
      },
    };
  }

  private async persistQuietly(shard: Shard, record: GroupRecord): Promise<void> {
    try {
      await shard.log.append([record]);
      applyRecord(shard.state, record);
    } catch (err) {
      this.log(`groups: could not store ${record.type} of ${'groupId' in record ? record.groupId : record.producerId}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private log(line: string): void {
    this.options.logger?.(line);
  }
}
