/**
 * RaftNode: one Raft group on one node — the library's public surface, as hashicorp/raft's Raft
 * or etcd's raft.Node. It wraps the pure RaftCore with a GroupStore (durable state), a
 * StateMachine (the user's code) and a RaftHost (ticks, transport, group commit).
 *
 *   const node = await RaftNode.create({ host, groupId: 'kv', nodeId: 1, store, stateMachine });
 *   const result = await node.propose(command);       // settles with apply()'s result
 *   const value = await node.read(() => sm.get(key)); // linearizable read
 *   await node.addLearner(4); await node.promoteLearner(4); await node.removeMember(2);
 *   await node.transferLeadership(3);
 *   node.on('leader-change', ({ leaderId, term }) => ...);
 *   node.on('applied', (appliedIndex) => ...);         // after each cycle that applied entries
 *   node.on('snapshot-installed', (index) => ...);     // a snapshot from the leader replaced the state
 *   await node.close();
 *
 * Errors are FlotillaErrors: NOT_LEADER (details.leaderId, when known), PROPOSAL_DROPPED (the
 * entry was replaced, or a transfer was under way), TIMEOUT (outcome unknown: it may still apply),
 * READ_DROPPED, CLOSED, and the core's own (UNCOMMITTED_LIMIT, CONFIG_CHANGE_*).
 *
 * Lifecycle: create() restores the latest snapshot into the state machine, builds the core from
 * the store's durable state and registers with the host; committed entries after the snapshot are
 * re-applied through the first Readies. Snapshots are taken automatically every
 * `snapshotEntries` applied entries or when the log holds more than `snapshotLogBytes`, keeping
 * `snapshotTrailingEntries` entries behind so slightly lagging followers need no snapshot.
 */
import { EventEmitter } from 'node:events';
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import { type Prng, Xoshiro128 } from '../base/prng.js';
import { type SettingsOf, validateSettings } from '../base/settings.js';
import { RaftCore, type RaftStatus } from './core/raft.js';
import { type ConfigChange, ConfigChangeType, type Entry, EntryType, type Membership, type Message, type NodeId, type Ready, Role } from './core/types.js';
import type { GroupStore } from './group-store.js';
import type { HostedGroup, RaftHost } from './host.js';
import type { StateMachine } from './state-machine.js';

export const nodeSettings = {
  proposeTimeoutMs: { type: 'int', default: 10_000, min: 1, max: 3_600_000, unit: 'ms', doc: 'a proposal not applied by then fails with TIMEOUT (its outcome is unknown)' },
  readTimeoutMs: { type: 'int', default: 10_000, min: 1, max: 3_600_000, unit: 'ms', doc: 'a linearizable read not served by then fails with TIMEOUT' },
  maxPendingProposals: { type: 'int', default: 65_536, min: 1, max: 10_000_000, unit: 'proposals', doc: 'proposals waiting to be applied on this node' },
  snapshotEntries: { type: 'int', default: 10_000, min: 0, max: 2 ** 40, unit: 'entries', doc: 'take a snapshot after this many applied entries (0: never by count)' },
  snapshotLogBytes: { type: 'int', default: 256 * 1024 * 1024, min: 0, max: 2 ** 50, unit: 'bytes', doc: 'take a snapshot when the log holds more than this (0: never by size)' },
  snapshotTrailingEntries: { type: 'int', default: 1_000, min: 0, max: 2 ** 40, unit: 'entries', doc: 'entries kept behind a snapshot for followers that lag a little' },
} as const;

export type NodeSettings = SettingsOf<typeof nodeSettings>;

/** raft.quiesceTicks for groups on a RaftHost unless set: idle for 20 ticks (2 s at 100 ms). */
export const DEFAULT_QUIESCE_TICKS = 20;

export interface RaftNodeOptions<R> {
  readonly host: RaftHost;
  readonly groupId: string;
  readonly store: GroupStore;
  readonly stateMachine: StateMachine<R>;
  /**
   * The state machine already reflects every entry up to this index: it keeps a durable copy of
   * its own (etcd's Config.Applied). Entries after it are applied again; ignored when below the
   * snapshot. It must not exceed the group's commit index.
   */
  readonly appliedIndex?: number;
  /** Settings of the core (lib/raft/core/config.ts). */
  readonly raft?: Readonly<Record<string, unknown>>;
  /** Settings of this wrapper (nodeSettings). */
  readonly node?: Readonly<Record<string, unknown>>;
  readonly prng?: Prng;
  readonly logger?: (line: string) => void;
  /**
   * Keep, on the leader, when each follower last held every entry (followerActivity(); the
   * metadata group's DescribeQuorum). Off by default: it reads the core's progress every tick.
   */
  readonly trackFollowers?: boolean;
}

/** A follower or learner as the leader sees it (followerActivity). */
export interface FollowerActivity {
  /** The Raft index of the last entry it is known to hold. */
  readonly match: number;
  /** Ms since this node last heard from it (any group: a quiesced group's followers are silent); -1 if never. */
  readonly heardAgoMs: number;
  /** Ms since it last held every entry the leader had (sampled each tick); -1 if not since this node leads. */
  readonly caughtUpAgoMs: number;
}

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (err: unknown) => void;
  readonly deadlineMs: number;
}

interface PendingProposal<R> extends Waiter<R> {
  readonly term: number;
  /** Called once the entry is durable in this node's log (before it commits). */
  onAppended?: ((index: number) => void) | undefined;
}

interface PendingRead extends Waiter<void> {
  index: number;
}

export interface LeaderChange {
  readonly leaderId: NodeId;
  readonly term: number;
}

export class RaftNode<R = unknown> extends EventEmitter implements HostedGroup {
  readonly groupId: string;
  readonly nodeId: NodeId;
  readonly settings: NodeSettings;
  private readonly host: RaftHost;
  private readonly store: GroupStore;
  private readonly sm: StateMachine<R>;
  private readonly core: RaftCore;
  private readonly logger: ((line: string) => void) | undefined;
  private readonly proposals = new Map<number, PendingProposal<R>>();
  private readonly configWaiters = new Map<number, PendingProposal<unknown>>();
  private readonly reads = new Map<number, PendingRead>();
  /** Reads whose index is known, waiting for apply to reach it. */
  private readonly readsAwaitingApply: { id: number; index: number }[] = [];
  private transferWaiters: (Waiter<void> & { to: NodeId })[] = [];
  private readSeq = 0;
  private applied: number;
  private snapshotIndex: number;
  private nowMs = 0;
  /** trackFollowers: per follower, the tick time at which it last held every entry (leader only). */
  private readonly caughtUpMs: Map<NodeId, number> | null;
  private closed = false;
  private snapshotting = false;

  private constructor(options: RaftNodeOptions<R>, core: RaftCore, applied: number) {
    super();
    this.groupId = options.groupId;
    this.nodeId = options.host.nodeId;
    this.settings = validateSettings(nodeSettings, options.node, 'node');
    this.host = options.host;
    this.store = options.store;
    this.sm = options.stateMachine;
    this.core = core;
    this.logger = options.logger;
    this.applied = applied;
    this.snapshotIndex = options.store.snapshotMeta().index;
    this.caughtUpMs = options.trackFollowers === true ? new Map() : null;
  }

  static async create<R>(options: RaftNodeOptions<R>): Promise<RaftNode<R>> {
    const store = options.store;
    const snap = store.snapshotMeta();
    if (snap.index > 0) await options.stateMachine.restore(await store.snapshotData());
    const saved = store.initialState();
    const applied = Math.max(snap.index, options.appliedIndex ?? 0);
    // An entry the state machine applied (its own checkpoint says so) was committed, and the
    // commit index is volatile (a change of it alone is not written): start from there.
    assert(applied <= store.lastIndex(), () => `group ${options.groupId}: the state machine applied index ${applied}, beyond the log's last index ${store.lastIndex()}`);
    const initial = applied > saved.hardState.commit ? { ...saved, hardState: { ...saved.hardState, commit: applied } } : saved;
    const core = new RaftCore({
      id: options.host.nodeId,
      log: store,
      initial: { ...initial, applied },
      prng: options.prng ?? new Xoshiro128(hashSeed(`${options.host.nodeId}/${options.groupId}`)),
      // The host wakes quiesced groups whose leader's node falls silent, so groups on a host may
      // quiesce: idle ones then cost nothing per tick.
      settings: { quiesceTicks: options.raft?.preVote === false ? 0 : DEFAULT_QUIESCE_TICKS, ...options.raft },
      logger: options.logger,
    });
    const node = new RaftNode(options, core, applied);
    options.host.register(node);
    return node;
  }

  // ---- Public API -----------------------------------------------------------------------------

  get isLeader(): boolean {
    return this.core.role === Role.Leader;
  }

  get leaderId(): NodeId {
    return this.core.leader;
  }

  get term(): number {
    return this.core.term;
  }

  /** Entries in this node's log above its commit index (what a leader has in flight). */
  get uncommittedEntries(): number {
    return Math.max(0, this.store.lastIndex() - this.core.commit);
  }

  /** On the leader: voters that are out of sync (RaftCore.outOfSyncVoters); 0 elsewhere. */
  get outOfSyncVoters(): number {
    return this.core.outOfSyncVoters();
  }

  get membership(): Membership {
    return this.core.membership;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  status(): RaftStatus {
    return this.core.status();
  }

  /** On the leader: every follower and learner with what it holds and when it was last heard and caught up; empty elsewhere. */
  followerActivity(): Map<NodeId, FollowerActivity> {
    const out = new Map<NodeId, FollowerActivity>();
    const st = this.core.status();
    if (st.role !== Role.Leader) return out;
    const now = this.nowMs || performance.now();
    for (const [id, pr] of st.progress) {
      if (id === this.nodeId) continue;
      const caught = this.caughtUpMs?.get(id);
      out.set(id, { match: pr.match, heardAgoMs: this.host.peerHeardAgoMs(id), caughtUpAgoMs: caught === undefined ? -1 : Math.max(0, now - caught) });
    }
    return out;
  }

  /**
   * Proposes a command; settles with the state machine's result once applied on this node.
   * `onAppended`, when given, is called once the entry is durable in this node's own log (on the
   * leader: before a majority holds it — Kafka's acks=1), unless the proposal fails first.
   */
  propose(command: Uint8Array, onAppended?: (index: number) => void): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.closed) return reject(new FlotillaError('CLOSED', `group ${this.groupId} is closed`));
      if (this.proposals.size >= this.settings.maxPendingProposals) {
        return reject(new FlotillaError('BACKPRESSURE', `more than node.maxPendingProposals (${this.settings.maxPendingProposals}) proposals pending`));
      }
      try {
        const { firstIndex, term } = this.core.propose([command]);
        this.proposals.set(firstIndex, { resolve, reject, term, deadlineMs: this.deadline(this.settings.proposeTimeoutMs), onAppended });
        this.host.touch(this);
      } catch (err) {
        reject(err);
      }
    });
  }

  /**
   * A linearizable read: waits until this node has applied everything committed before the call
   * (confirmed by the leader), then runs `query` against the state machine.
   */
  async read<T>(query: () => T): Promise<T> {
    await this.readBarrier();
    return query();
  }

  readBarrier(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new FlotillaError('CLOSED', `group ${this.groupId} is closed`));
      const id = ++this.readSeq;
      try {
        this.core.readIndex(id);
      } catch (err) {
        return reject(err);
      }
      this.reads.set(id, { resolve, reject, index: -1, deadlineMs: this.deadline(this.settings.readTimeoutMs) });
      this.host.touch(this);
    });
  }

  addLearner(node: NodeId): Promise<void> {
    return this.changeConfig({ type: ConfigChangeType.AddLearner, node });
  }

  promoteLearner(node: NodeId): Promise<void> {
    return this.changeConfig({ type: ConfigChangeType.PromoteLearner, node });
  }

  addVoter(node: NodeId): Promise<void> {
    return this.changeConfig({ type: ConfigChangeType.AddVoter, node });
  }

  removeMember(node: NodeId): Promise<void> {
    return this.changeConfig({ type: ConfigChangeType.Remove, node });
  }

  /** Settles once the change is committed and applied here. */
  changeConfig(change: ConfigChange): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new FlotillaError('CLOSED', `group ${this.groupId} is closed`));
      try {
        const { index, term } = this.core.proposeConfigChange(change);
        this.configWaiters.set(index, { resolve: () => resolve(), reject, term, deadlineMs: this.deadline(this.settings.proposeTimeoutMs) });
        this.host.touch(this);
      } catch (err) {
        reject(err);
      }
    });
  }

  /** Settles once `to` is the leader (as this node sees it). */
  transferLeadership(to: NodeId): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new FlotillaError('CLOSED', `group ${this.groupId} is closed`));
      try {
        this.core.transferLeadership(to);
      } catch (err) {
        return reject(err);
      }
      this.transferWaiters.push({ resolve, reject, to, deadlineMs: this.deadline(this.settings.proposeTimeoutMs) });
      this.host.touch(this);
    });
  }

  /** Starts an election now (to bootstrap a single node quickly, or in tests). */
  campaign(): void {
    this.core.campaign();
    this.host.touch(this);
  }

  /** Takes a snapshot now (normally automatic). */
  async snapshot(): Promise<void> {
    await this.takeSnapshot();
  }

  /**
   * Takes a snapshot at `index` (at most the applied index) with data the caller supplies, and lets
   * the store discard the log up to it — for a state machine whose log is its state (partitions:
   * the snapshot sits at the log start, after retention, and carries the little that must travel
   * with it). Resolves false when nothing was taken: `index` is not above the latest snapshot, a
   * snapshot is being taken or installed, or the configuration at `index` is not known here.
   */
  async snapshotAt(index: number, data: Uint8Array): Promise<boolean> {
    assert(index <= this.applied, () => `group ${this.groupId}: snapshotAt(${index}) above applied ${this.applied}`);
    if (this.snapshotting || this.closed || index <= this.snapshotIndex) return false;
    this.snapshotting = true;
    try {
      const meta = this.core.snapshotMetaAt(index);
      if (meta === null) return false;
      await this.store.saveSnapshot(meta, data, index + 1);
      this.snapshotIndex = Math.max(this.snapshotIndex, index);
      this.logger?.(`group ${this.groupId} node ${this.nodeId}: snapshot at ${index} (${data.byteLength} bytes, given)`);
      return true;
    } finally {
      this.snapshotting = false;
    }
  }

  /** The index of the latest snapshot (taken here or installed from the leader). */
  get latestSnapshotIndex(): number {
    return this.snapshotIndex;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.host.unregister(this);
    await this.host.idle();
    this.failAll(new FlotillaError('CLOSED', `group ${this.groupId} is closed`));
    await this.store.close();
  }

  // ---- HostedGroup ----------------------------------------------------------------------------

  onTick(nowMs: number): void {
    this.nowMs = nowMs;
    this.core.tick();
    this.expire(nowMs);
    if (this.caughtUpMs !== null) this.sampleCaughtUp(nowMs);
  }

  private sampleCaughtUp(nowMs: number): void {
    const map = this.caughtUpMs!;
    if (this.core.role !== Role.Leader) {
      map.clear();
      return;
    }
    const st = this.core.status();
    for (const [id, pr] of st.progress) if (pr.match >= st.lastIndex) map.set(id, nowMs);
    for (const id of map.keys()) if (!st.progress.has(id)) map.delete(id);
  }

  onMessage(m: Message): void {
    this.core.step(m);
  }

  wakeIfLedBy(peer: NodeId): boolean {
    if (this.closed || !this.core.quiesced || this.core.leader !== peer) return false;
    this.core.wake();
    return true;
  }

  wakeIfFollowedBy(peer: NodeId): boolean {
    if (this.closed || !this.core.quiesced || this.core.role !== Role.Leader) return false;
    const m = this.core.membership;
    if (!m.voters.includes(peer) && !m.learners.includes(peer)) return false;
    this.core.wake();
    return true;
  }

  hasReady(): boolean {
    return !this.closed && this.core.hasReady();
  }

  ready(): Ready {
    return this.core.ready();
  }

  stage(rd: Ready): void {
    this.store.stage(rd);
  }

  flush(): Promise<void> {
    return this.store.flush();
  }

  async finish(rd: Ready): Promise<void> {
    if (rd.snapshot) {
      await this.sm.restore(await this.store.snapshotData());
      this.applied = rd.snapshot.index;
      this.snapshotIndex = rd.snapshot.index;
      this.logger?.(`group ${this.groupId} node ${this.nodeId}: installed snapshot ${rd.snapshot.index}`);
      this.emit('snapshot-installed', rd.snapshot.index);
      // Proposals at or below the snapshot were applied elsewhere; their results are not known.
      for (const [index, p] of this.proposals) {
        if (index > rd.snapshot.index) continue;
        this.proposals.delete(index);
        p.reject(new FlotillaError('TIMEOUT', `entry ${index} was covered by a snapshot; its result is unknown`));
      }
    }
    for (const e of rd.entries) {
      const p = this.proposals.get(e.index);
      if (p?.onAppended && p.term === e.term) {
        const cb = p.onAppended;
        p.onAppended = undefined;
        cb(e.index);
      }
    }
    for (const e of rd.committedEntries) await this.applyEntry(e);
    for (const r of rd.readStates) {
      const read = this.reads.get(r.id);
      if (read) read.index = r.index;
      this.readsAwaitingApply.push(r);
    }
    for (const id of rd.droppedReads) {
      const read = this.reads.get(id);
      if (!read) continue;
      this.reads.delete(id);
      read.reject(new FlotillaError('READ_DROPPED', `the leader changed before read ${id} was confirmed`, { leaderId: this.core.leader }));
    }
    this.serveReads();
    if (rd.softState) this.onSoftState(rd);
    this.core.advance(rd);
    if (rd.committedEntries.length > 0 || rd.snapshot) this.emit('applied', this.applied);
    this.maybeSnapshot();
  }

  // ---- Internals ------------------------------------------------------------------------------

  private async applyEntry(e: Entry): Promise<void> {
    assert(e.index === this.applied + 1, () => `group ${this.groupId}: apply ${e.index} after ${this.applied}`);
    this.applied = e.index;
    if (e.type === EntryType.Normal) {
      const pending = this.proposals.get(e.index);
      let result: R | undefined;
      let failure: unknown = null;
      try {
        result = await this.sm.apply(e.data, e.index);
      } catch (err) {
        failure = err;
      }
      if (pending) {
        this.proposals.delete(e.index);
        if (pending.term !== e.term) pending.reject(new FlotillaError('PROPOSAL_DROPPED', `entry ${e.index} was replaced by a later leader`));
        else if (failure !== null) pending.reject(failure);
        else pending.resolve(result as R);
      }
      return;
    }
    if (e.type === EntryType.Config) {
      const waiter = this.configWaiters.get(e.index);
      if (waiter) {
        this.configWaiters.delete(e.index);
        if (waiter.term === e.term) waiter.resolve(undefined);
        else waiter.reject(new FlotillaError('PROPOSAL_DROPPED', `config entry ${e.index} was replaced by a later leader`));
      }
      this.emit('membership-change', this.core.membership);
    }
    // A no-op, or a config entry whose proposer is elsewhere: also fail local proposals it replaced.
    const replaced = this.proposals.get(e.index);
    if (replaced) {
      this.proposals.delete(e.index);
      replaced.reject(new FlotillaError('PROPOSAL_DROPPED', `entry ${e.index} was replaced by a later leader`));
    }
  }

  private serveReads(): void {
    if (this.readsAwaitingApply.length === 0) return;
    let kept = 0;
    for (const r of this.readsAwaitingApply) {
      if (r.index <= this.applied) {
        const read = this.reads.get(r.id);
        if (read) {
          this.reads.delete(r.id);
          read.resolve();
        }
      } else {
        this.readsAwaitingApply[kept++] = r;
      }
    }
    this.readsAwaitingApply.length = kept;
  }

  private onSoftState(rd: Ready): void {
    const soft = rd.softState!;
    this.emit('leader-change', { leaderId: soft.leader, term: soft.term } satisfies LeaderChange);
    if (this.transferWaiters.length > 0 && soft.leader !== 0) {
      const waiters = this.transferWaiters;
      this.transferWaiters = [];
      for (const w of waiters) {
        if (soft.leader === w.to) w.resolve();
        else if (soft.leader !== this.nodeId) w.reject(new FlotillaError('TRANSFER_INVALID', `node ${soft.leader} became leader instead of ${w.to}`));
        else this.transferWaiters.push(w);
      }
    }
  }

  private maybeSnapshot(): void {
    if (this.snapshotting || this.closed) return;
    const { snapshotEntries, snapshotLogBytes } = this.settings;
    const byCount = snapshotEntries > 0 && this.applied - this.snapshotIndex >= snapshotEntries;
    const bySize = snapshotLogBytes > 0 && this.store.logBytes() > snapshotLogBytes && this.applied > this.snapshotIndex;
    if (byCount || bySize) {
      void this.takeSnapshot().catch((err: unknown) => {
        this.logger?.(`group ${this.groupId}: snapshot failed: ${String(err)}`);
        this.emit('error', err);
      });
    }
  }

  private async takeSnapshot(): Promise<void> {
    if (this.snapshotting || this.applied <= this.snapshotIndex) return;
    this.snapshotting = true;
    try {
      // Between two cycles no apply runs, so the state is exactly as of `applied`.
      const index = this.applied;
      const meta = this.core.snapshotMetaAt(index);
      if (meta === null) return; // a snapshot from the leader is about to replace the state
      const data = await this.sm.snapshot();
      const keepFrom = Math.max(1, index - this.settings.snapshotTrailingEntries + 1);
      await this.store.saveSnapshot(meta, data, keepFrom);
      this.snapshotIndex = index;
      this.logger?.(`group ${this.groupId} node ${this.nodeId}: snapshot at ${index} (${data.byteLength} bytes)`);
    } finally {
      this.snapshotting = false;
    }
  }

  private deadline(timeoutMs: number): number {
    return (this.nowMs || performance.now()) + timeoutMs;
  }

  private expire(nowMs: number): void {
    // The common case on a node with thousands of idle groups: nothing waits.
    if (this.proposals.size === 0 && this.configWaiters.size === 0 && this.reads.size === 0 && this.transferWaiters.length === 0) return;
    const timeout = (what: string) => new FlotillaError('TIMEOUT', `${what} timed out; its outcome is unknown`, { leaderId: this.core.leader });
    for (const [index, p] of this.proposals) {
      if (p.deadlineMs <= nowMs) {
        this.proposals.delete(index);
        p.reject(timeout(`proposal at index ${index}`));
      }
    }
    for (const [index, p] of this.configWaiters) {
      if (p.deadlineMs <= nowMs) {
        this.configWaiters.delete(index);
        p.reject(timeout(`config change at index ${index}`));
      }
    }
    for (const [id, r] of this.reads) {
      if (r.deadlineMs <= nowMs) {
        this.reads.delete(id);
        r.reject(new FlotillaError('TIMEOUT', `read ${id} timed out`, { leaderId: this.core.leader }));
      }
    }
    if (this.transferWaiters.length > 0) {
      const keep = this.transferWaiters.filter((w) => w.deadlineMs > nowMs);
      for (const w of this.transferWaiters) if (w.deadlineMs <= nowMs) w.reject(timeout('leadership transfer'));
      this.transferWaiters = keep;
    }
  }

  private failAll(err: FlotillaError): void {
    for (const p of this.proposals.values()) p.reject(err);
    for (const p of this.configWaiters.values()) p.reject(err);
    for (const r of this.reads.values()) r.reject(err);
    for (const w of this.transferWaiters) w.reject(err);
    this.proposals.clear();
    this.configWaiters.clear();
    this.reads.clear();
    this.transferWaiters = [];
  }
}

function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
