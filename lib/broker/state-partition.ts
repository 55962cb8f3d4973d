/**
 * StatePartition: one replica of an internal topic whose entries are not Kafka record batches but
 * msgpack batches of records (one batch per Raft entry) applied to an in-memory state, as
 * `__consumer_offsets` (lib/group) and `__transaction_state` (lib/txn) are. What differs between
 * them is a `StateSpec`: how one record changes the state and which LevelDB writes mirror it, how
 * the state is snapshotted, and how the LevelDB view is loaded back.
 *
 * Every replica applies every committed batch to its state and to LevelDB beside it (one unsynced
 * write per entry: the Raft log is the durable copy, LevelDB the materialised view), under
 * `<domain>/<group>/`, with `<domain>/<group>/applied` the Raft index the view reflects.
 * Snapshots are the whole state, so the log is compacted behind them like any RaftNode's; a
 * restart loads the view from LevelDB, then the RaftNode restores its snapshot and re-applies the
 * entries after it (a spec's apply must be idempotent: last writer wins per key, in log order).
 *
 * The replica that leads the group, once it has applied an entry of its own term (its state then
 * holds everything committed before), coordinates what hashes to this partition: it emits
 * 'coordinator' (true), and (false) when it loses the lead or closes.
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
import { type KvOp, type KvStore, clearRange, keySegment } from '../storage/kv.js';

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

/** What makes a state partition of one kind. `prefix` is this replica's LevelDB key prefix. */
export interface StateSpec<Rec, S> {
  /** The LevelDB domain (a KvPrefix). */
  readonly domain: string;
  /** Checks and normalises one decoded record (msgpack gives binary back as Uint8Array). */
  decode(value: unknown): Rec;
  /** Applies one record to `state` in place; returns the LevelDB writes that mirror it. */
  apply(state: S, record: Rec, prefix: string): KvOp[];
  /** The state as a msgpack-encodable value. */
  snapshot(state: S): unknown;
  /** Replaces `state`'s contents (in place) with a snapshot's; returns the LevelDB writes of the new view. */
  restore(state: S, shape: unknown, prefix: string): KvOp[];
  /** The state as the LevelDB view holds it. */
  load(kv: KvStore, prefix: string): Promise<S>;
  /** Extra fields for `status()`. */
  describe?(state: S): Record<string, unknown>;
}

export interface StatePartitionOptions {
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

export function encodeStateRecords(records: readonly unknown[]): Buffer {
  return packr.pack(records);
}

function decodeStateRecords<Rec>(bytes: Uint8Array, spec: StateSpec<Rec, unknown>): Rec[] {
  const value = packr.unpack(bytes) as unknown;
  if (!Array.isArray(value)) throw new FlotillaError('CORRUPT', `a ${spec.domain} entry is not an array of records`);
  return value.map((v) => spec.decode(v));
}

/** Applies record batches to the state and mirrors them into LevelDB. */
class SpecStateMachine<Rec, S> implements StateMachine<void> {
  readonly state: S;
  private readonly spec: StateSpec<Rec, S>;
  private readonly kv: KvStore;
  private readonly prefix: string;

  constructor(spec: StateSpec<Rec, S>, kv: KvStore, prefix: string, state: S) {
    this.spec = spec;
    this.kv = kv;
    this.prefix = prefix;
    this.state = state;
  }

  async apply(command: Uint8Array, index: number): Promise<void> {
    const ops: KvOp[] = [];
    for (const r of decodeStateRecords(command, this.spec)) ops.push(...this.spec.apply(this.state, r, this.prefix));
    ops.push({ type: 'put', key: `${this.prefix}applied`, value: index });
    await this.kv.batch(ops, { sync: false });
  }

  snapshot(): Uint8Array {
    return packr.pack(this.spec.snapshot(this.state));
  }

  async restore(data: Uint8Array): Promise<void> {
    const ops = this.spec.restore(this.state, packr.unpack(data) as unknown, this.prefix);
    await clearRange(this.kv, { prefix: this.prefix }, { sync: false });
    for (let i = 0; i < ops.length; i += 1000) await this.kv.batch(ops.slice(i, i + 1000), { sync: false });
  }
}

export class StatePartition<Rec, S> extends EventEmitter {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly groupId: string;
  readonly dir: string;
  readonly node: RaftNode<void>;
  readonly state: S;
  /**
   * Where the coordinator appends (resolves once the records are committed and applied here), and
   * its read barrier (resolves once this replica is confirmed to lead and has applied everything
   * committed before: a read of the state after it is not stale).
   */
  readonly log: { append(records: readonly Rec[]): Promise<void>; readBarrier(): Promise<void> };
  private readonly spec: StateSpec<Rec, S>;
  private readonly store: DiskGroupStore;
  private readonly kv: KvStore;
  private readonly prefix: string;
  private servingFrom = Number.POSITIVE_INFINITY;
  private coordinating = false;
  private closed = false;

  protected constructor(spec: StateSpec<Rec, S>, options: StatePartitionOptions, node: RaftNode<void>, store: DiskGroupStore, state: S, prefix: string) {
    super();
    this.spec = spec;
    this.topic = options.topic;
    this.topicId = options.topicId;
    this.partition = options.partition;
    this.groupId = options.groupId;
    this.dir = options.dir;
    this.node = node;
    this.store = store;
    this.kv = options.kv;
    this.prefix = prefix;
    this.state = state;
    this.log = { append: async (records) => node.propose(encodeStateRecords(records)), readBarrier: () => node.readBarrier() };
    node.on('leader-change', (change: LeaderChange) => {
      this.servingFrom = change.leaderId === node.nodeId ? node.status().lastIndex : Number.POSITIVE_INFINITY;
      this.emit('leader-change', change);
      this.check();
    });
    node.on('applied', () => this.check());
  }

  /** Opens the store and the Raft group of a state partition; `make` builds the concrete class. */
  protected static async openWith<Rec, S, P>(
    spec: StateSpec<Rec, S>,
    options: StatePartitionOptions,
    make: (node: RaftNode<void>, store: DiskGroupStore, state: S, prefix: string) => P,
  ): Promise<P> {
    const prefix = `${spec.domain}${keySegment(options.groupId)}/`;
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
    const sm = new SpecStateMachine(spec, options.kv, prefix, await spec.load(options.kv, prefix));
    const node = await RaftNode.create<void>({
      host: options.host,
      groupId: options.groupId,
      store,
      stateMachine: sm,
      raft: options.raft,
      node: { snapshotEntries: 10_000, snapshotTrailingEntries: 1_000 },
      logger: options.logger,
    });
    return make(node, store, sm.state, prefix);
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

  /** True while this replica coordinates what hashes to this partition. */
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
      ...this.spec.describe?.(this.state),
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
