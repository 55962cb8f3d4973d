/**
 * OffsetsPartition: one replica of the internal `__consumer_offsets` topic — a Raft group whose
 * entries are batches of group records (records.ts), msgpack-encoded, one batch per entry.
 *
 * Every replica applies every committed batch to its in-memory state (`applyRecord`) and to
 * LevelDB beside it (one unsynced write per entry: the Raft log is the durable copy, LevelDB the
 * materialised view), under `offsets/<group>/`:
 *
 *   .../o/<consumer group>/<topic>/<partition>   a committed offset
 *   .../g/<consumer group>                       a group's last persisted metadata
 *   .../applied                                  the Raft index the view reflects
 *
 * Snapshots are the whole state, so the log is compacted behind them like any RaftNode's; a
 * restart loads the view from LevelDB, then the RaftNode restores its snapshot and re-applies the
 * entries after it (idempotent: last writer wins per key, in log order).
 *
 * The replica that leads the group, once it has applied an entry of its own term (its state then
 * holds everything committed before), is the coordinator of the consumer groups that hash to this
 * partition: it emits 'coordinator' (true), and (false) when it loses the lead.
 */
import { EventEmitter } from 'node:events';
import { Packr } from 'msgpackr';
import type { Clock } from '../base/clock.js';
import { FlotillaError } from '../base/errors.js';
import { type Membership, type NodeId, roleName } from '../raft/core/types.js';
import type { RaftHost } from '../raft/host.js';
import { type LeaderChange, RaftNode } from '../raft/node.js';
import type { StateMachine } from '../raft/state-machine.js';
import { type DiskGroupStore, openDiskGroupStore } from '../storage/disk-group-store.js';
import { type KvOp, type KvStore, KvPrefix, clearRange, keySegment, scan } from '../storage/kv.js';
import {
  type CommittedOffset, type GroupLog, type GroupMetadataValue, type GroupRecord, type OffsetsPartitionState, applyRecord,
  emptyPartitionState,
} from './records.js';

/** The internal topic's name (Kafka's). */
export const OFFSETS_TOPIC = '__consumer_offsets';

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export interface OffsetsPartitionOptions {
  readonly host: RaftHost;
  readonly kv: KvStore;
  readonly dir: string;
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly groupId: string;
  readonly bootstrap: Membership;
  readonly fsync: boolean;
  readonly clock: Clock;
  readonly raft?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
}

export function encodeGroupRecords(records: readonly GroupRecord[]): Buffer {
  return packr.pack(records);
}

export function decodeGroupRecords(bytes: Uint8Array): GroupRecord[] {
  const value = packr.unpack(bytes) as unknown;
  if (!Array.isArray(value)) throw new FlotillaError('CORRUPT', 'an offsets entry is not an array of group records');
  return (value as GroupRecord[]).map(fixBuffers);
}

/** msgpack gives binary back as Uint8Array (or Buffer): make the member blobs Buffers. */
function withBuffers(v: GroupMetadataValue): GroupMetadataValue {
  return { ...v, members: v.members.map((m) => ({ ...m, subscription: Buffer.from(m.subscription), assignment: Buffer.from(m.assignment) })) };
}

function fixBuffers(r: GroupRecord): GroupRecord {
  return r.type === 'group-metadata' ? { ...r, value: withBuffers(r.value) } : r;
}

interface SnapshotShape {
  readonly offsets: [string, [string, CommittedOffset][]][];
  readonly groups: [string, GroupMetadataValue][];
}

/** Applies group records to the state and mirrors them into LevelDB. */
class OffsetsStateMachine implements StateMachine<void> {
  readonly state: OffsetsPartitionState;
  private readonly kv: KvStore;
  private readonly prefix: string;

  constructor(kv: KvStore, prefix: string, state: OffsetsPartitionState) {
    this.kv = kv;
    this.prefix = prefix;
    this.state = state;
  }

  async apply(command: Uint8Array, index: number): Promise<void> {
    const ops: KvOp[] = [];
    for (const r of decodeGroupRecords(command)) {
      applyRecord(this.state, r);
      ops.push(...this.opsFor(r));
    }
    ops.push({ type: 'put', key: `${this.prefix}applied`, value: index });
    await this.kv.batch(ops, { sync: false });
  }

  snapshot(): Uint8Array {
    const shape: SnapshotShape = {
      offsets: [...this.state.offsets].map(([g, m]) => [g, [...m]]),
      groups: [...this.state.groups],
    };
    return packr.pack(shape);
  }

  async restore(data: Uint8Array): Promise<void> {
    const shape = packr.unpack(data) as SnapshotShape;
    this.state.offsets.clear();
    this.state.groups.clear();
    for (const [g, entries] of shape.offsets) this.state.offsets.set(g, new Map(entries));
    for (const [g, v] of shape.groups) this.state.groups.set(g, withBuffers(v));
    await clearRange(this.kv, { prefix: this.prefix }, { sync: false });
    const ops: KvOp[] = [];
    for (const [g, m] of this.state.offsets) for (const [k, o] of m) ops.push({ type: 'put', key: this.offsetKey(g, k), value: o });
    for (const [g, v] of this.state.groups) ops.push({ type: 'put', key: `${this.prefix}g/${keySegment(g)}`, value: v });
    for (let i = 0; i < ops.length; i += 1000) await this.kv.batch(ops.slice(i, i + 1000), { sync: false });
  }

  private offsetKey(group: string, key: string): string {
    return `${this.prefix}o/${keySegment(group)}/${keySegment(key)}`;
  }

  private opsFor(r: GroupRecord): KvOp[] {
    switch (r.type) {
      case 'offset-commit': {
        const key = this.offsetKey(r.groupId, `${r.topic}\u0000${r.partition}`);
        return [{ type: 'put', key, value: { offset: r.offset, leaderEpoch: r.leaderEpoch, metadata: r.metadata, commitTimestampMs: r.commitTimestampMs } }];
      }
      case 'offset-tombstone':
        return [{ type: 'del', key: this.offsetKey(r.groupId, `${r.topic}\u0000${r.partition}`) }];
      case 'group-metadata':
        return [{ type: 'put', key: `${this.prefix}g/${keySegment(r.groupId)}`, value: r.value }];
      case 'group-tombstone':
        return [{ type: 'del', key: `${this.prefix}g/${keySegment(r.groupId)}` }];
    }
  }
}

/** Loads the LevelDB view of one offsets partition. */
async function loadView(kv: KvStore, prefix: string): Promise<OffsetsPartitionState> {
  const state = emptyPartitionState();
  for await (const [key, value] of scan(kv, { prefix: `${prefix}o/` }, 1000)) {
    const [group, k] = key.slice(prefix.length + 2).split('/').map((s) => decodeURIComponent(s)) as [string, string];
    let m = state.offsets.get(group);
    if (!m) {
      m = new Map();
      state.offsets.set(group, m);
    }
    m.set(k, value as CommittedOffset);
  }
  for await (const [key, value] of scan(kv, { prefix: `${prefix}g/` }, 1000)) {
    const group = decodeURIComponent(key.slice(prefix.length + 2));
    state.groups.set(group, withBuffers(value as GroupMetadataValue));
  }
  return state;
}

export class OffsetsPartition extends EventEmitter {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly groupId: string;
  readonly dir: string;
  readonly node: RaftNode<void>;
  readonly state: OffsetsPartitionState;
  /** Where the coordinator appends: resolves once the records are committed and applied here. */
  readonly log: GroupLog;
  private readonly store: DiskGroupStore;
  private readonly kv: KvStore;
  private readonly prefix: string;
  private servingFrom = Number.POSITIVE_INFINITY;
  private coordinating = false;
  private closed = false;

  private constructor(options: OffsetsPartitionOptions, node: RaftNode<void>, store: DiskGroupStore, sm: OffsetsStateMachine, prefix: string) {
    super();
    this.topic = options.topic;
    this.topicId = options.topicId;
    this.partition = options.partition;
    this.groupId = options.groupId;
    this.dir = options.dir;
    this.node = node;
    this.store = store;
    this.kv = options.kv;
    this.prefix = prefix;
    this.state = sm.state;
    this.log = { append: async (records) => node.propose(encodeGroupRecords(records)), readBarrier: () => node.readBarrier() };
    node.on('leader-change', (change: LeaderChange) => {
      this.servingFrom = change.leaderId === node.nodeId ? node.status().lastIndex : Number.POSITIVE_INFINITY;
      this.emit('leader-change', change);
      this.check();
    });
    node.on('applied', () => this.check());
  }

  static async open(options: OffsetsPartitionOptions): Promise<OffsetsPartition> {
    const prefix = `${KvPrefix.offsets}${keySegment(options.groupId)}/`;
    const store = await openDiskGroupStore({
      dir: options.dir,
      bootstrap: options.bootstrap,
      fsync: options.fsync,
      kv: options.kv,
      group: options.groupId,
      format: 'opaque',
      clock: options.clock,
      logger: options.logger,
    });
    const sm = new OffsetsStateMachine(options.kv, prefix, await loadView(options.kv, prefix));
    const node = await RaftNode.create<void>({
      host: options.host,
      groupId: options.groupId,
      store,
      stateMachine: sm,
      raft: options.raft,
      node: { snapshotEntries: 10_000, snapshotTrailingEntries: 1_000 },
      logger: options.logger,
    });
    return new OffsetsPartition(options, node, store, sm, prefix);
  }

  get isLeader(): boolean {
    return this.node.isLeader;
  }

  get leaderId(): NodeId {
    return this.node.leaderId;
  }

  get leaderEpoch(): number {
    return this.node.term;
  }

  get membership(): Membership {
    return this.node.membership;
  }

  /** True while this replica coordinates the partition's consumer groups. */
  get coordinator(): boolean {
    return this.coordinating;
  }

  private check(): void {
    const should = !this.closed && this.node.isLeader && this.node.appliedIndex >= this.servingFrom;
    if (should === this.coordinating) return;
    this.coordinating = should;
    this.emit('coordinator', should);
  }

  status(): Record<string, unknown> {
    const s = this.node.status();
    return {
      topic: this.topic,
      partition: this.partition,
      role: roleName(s.role),
      leader: s.leader,
      term: s.term,
      commitIndex: s.commit,
      lastIndex: s.lastIndex,
      highWatermark: s.commit,
      voters: s.membership.voters,
      learners: s.membership.learners,
      followers: [...s.progress].map(([id, p]) => ({ id, match: p.match, lag: Math.max(0, s.lastIndex - p.match) })),
      groups: this.state.groups.size,
      coordinator: this.coordinating,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.check();
    await this.node.close();
  }

  async destroy(): Promise<void> {
    await this.close();
    await clearRange(this.kv, { prefix: this.prefix }, { sync: true });
    await this.store.destroy(this.dir);
  }
}
