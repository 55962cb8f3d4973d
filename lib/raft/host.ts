/**
 * RaftHost: runs every Raft group of one node. One ticker drives all groups; the work of every
 * group touched in an event-loop turn is gathered into one cycle:
 *
 *   1. take each touched group's Ready; stage its writes in its store; send its `messages`
 *      (one frame per peer carrying every group's messages, so the heartbeats of all groups bound
 *      for one peer travel together);
 *   2. flush every staged store at once (group commit: one durable write per store per cycle);
 *   3. send every `persistedMessages` (again one frame per peer);
 *   4. apply committed entries, serve reads, advance.
 *
 * One cycle runs at a time: work that arrives during a flush waits for the next cycle, which is
 * what batches proposals under load. A tick touches only the groups it gave work to, so idle
 * (quiesced) groups cost one cheap call per tick and nothing else.
 *
 * Node liveness for quiesced groups: the host sends every peer it talks to a payload at least
 * once per tick (an empty one when there is nothing else), and notes when it last heard from each
 * peer. A peer silent for `peerSilenceTicks` ticks (killed, stopped, cut off) wakes every quiesced
 * group it leads here, whose election clocks then run again: quiescence costs idle groups nothing
 * without costing a dead leader's groups their failover. A peer heard again after such a silence
 * (restarted, reconnected) wakes every quiesced group led here that counts it as a member, so it
 * learns its leader and the commit index (a learner would never ask). A failure to write durably, or a violated invariant, is fatal:
 * the host stops and reports it (a node must not go on with state it cannot trust).
 *
 * Groups at run time: with a GroupStorage (`storage` option), `createGroup` opens a group's store
 * (a new group gets its own membership), builds its RaftNode and registers it; `removeGroup`
 * closes it and deletes its state; `group(id)` and `groupIds()` find them; `close()` closes every
 * group still open. (RaftNode.create with a store of your own registers a group too.) Messages for
 * a group this host does not run are dropped and counted (`stats.unknownGroup`): a replica joins a
 * group by being created here (empty membership) before its leader adds it.
 *
 * Wire payload between hosts: `{ g: [[groupId, messages], ...] }` with the entries' bytes as the
 * frame's blobs (lib/raft/wire.ts), sent through a Transport (lib/transport).
 */
import { assert } from '../base/assert.js';
import { FlotillaError, isFlotillaError } from '../base/errors.js';
import { type SettingsOf, validateSettings } from '../base/settings.js';
import type { Membership, Message, NodeId, Ready } from './core/types.js';
import type { GroupStorage, GroupStore } from './group-store.js';
import { RaftNode, type RaftNodeOptions } from './node.js';
import { WireBatch, decodeWire } from './wire.js';

/** The part of a Transport the host needs (lib/transport's TCP and memory transports fit). */
export interface HostTransport {
  send(to: NodeId, payload: unknown, blobs?: readonly Uint8Array[]): boolean;
  onReceive(handler: (from: NodeId, payload: unknown, blobs: readonly Buffer[]) => void): void;
}

export const hostSettings = {
  tickMs: { type: 'int', default: 100, min: 1, max: 60_000, unit: 'ms', doc: 'length of one Raft tick: the heartbeat is heartbeatTicks ticks, the election timeout electionTicksMin..Max ticks' },
  maxGroups: { type: 'int', default: 100_000, min: 1, max: 10_000_000, unit: 'groups', doc: 'Raft groups one node may host' },
  peerSilenceTicks: { type: 'int', default: 10, min: 2, max: 100_000, unit: 'ticks', doc: 'a peer not heard from for this long wakes the quiesced groups it leads here (hosts send each other a payload every tick)' },
} as const;

export type HostSettings = SettingsOf<typeof hostSettings>;

/** Ticks caught up at most after a pause (more than any election timeout needs). */
const MAX_CATCH_UP_TICKS = 1000;

/** What the host needs of a group (RaftNode implements it). */
export interface HostedGroup {
  readonly groupId: string;
  /** Ticks the core and expires timed-out requests. */
  onTick(nowMs: number): void;
  onMessage(m: Message): void;
  hasReady(): boolean;
  ready(): Ready;
  stage(rd: Ready): void;
  flush(): Promise<void>;
  /** Applies, serves reads, advances. */
  finish(rd: Ready): Promise<void>;
  /** Wakes the group if it is quiesced under a leader on node `peer`; true if it did. */
  wakeIfLedBy(peer: NodeId): boolean;
  /** Wakes the group if it is quiesced, led here, and `peer` is a member; true if it did. */
  wakeIfFollowedBy(peer: NodeId): boolean;
}

export interface RaftHostOptions {
  readonly nodeId: NodeId;
  readonly transport: HostTransport;
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
  /** Called once with the error that stopped the host. Default: rethrow, ending the process. */
  readonly onFatal?: (err: unknown) => void;
  /** Monotonic milliseconds (default: performance.now). */
  readonly nowMs?: () => number;
  /** Where createGroup opens and removeGroup deletes groups' stores (MemoryGroupStorage, DiskGroupStorage). */
  readonly storage?: GroupStorage;
}

/** createGroup's options: a RaftNode's, with the store opened from the host's storage. */
export interface CreateGroupOptions<R> extends Omit<RaftNodeOptions<R>, 'host' | 'store'> {
  /**
   * The voters of a new group (every replica of it is created with the same list); omitted or
   * empty: this replica joins an existing group and learns its membership from the leader, which
   * adds it with addLearner / promoteLearner. Ignored when the group already has state here.
   */
  readonly members?: readonly NodeId[];
  /** Learners of a new group (with `members`). */
  readonly learners?: readonly NodeId[];
  /** A store of your own instead of one from the host's storage. */
  readonly store?: GroupStore;
}

export class RaftHost {
  readonly nodeId: NodeId;
  readonly settings: HostSettings;
  private readonly transport: HostTransport;
  private readonly groups = new Map<string, HostedGroup>();
  /** Group ids being created or removed (createGroup / removeGroup are async). */
  private readonly changing = new Set<string>();
  /** Groups whose store createGroup opened from `storage` (removeGroup deletes only those). */
  private readonly fromStorage = new Set<string>();
  private readonly storage: GroupStorage | undefined;
  private readonly touched = new Set<HostedGroup>();
  private readonly logger: ((line: string) => void) | undefined;
  private readonly onFatal: (err: unknown) => void;
  private readonly nowMs: () => number;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private lastTickMs: number | null = null;
  private scheduled = false;
  private cycling = false;
  private closed = false;
  private fatal: unknown = null;
  private idleWaiters: (() => void)[] = [];
  /** Counters for metrics. */
  /** Peers this host exchanges payloads with: when each was last heard from, and whether sent to this tick. */
  private readonly peers = new Map<NodeId, { heardMs: number; sent: boolean; silent: boolean }>();
  readonly stats = { cycles: 0, readies: 0, framesSent: 0, framesDropped: 0, messagesReceived: 0, unknownGroup: 0, malformedPayloads: 0, wakes: 0 };

  constructor(options: RaftHostOptions) {
    this.nodeId = options.nodeId;
    this.settings = validateSettings(hostSettings, options.settings, 'host');
    this.transport = options.transport;
    this.storage = options.storage;
    this.logger = options.logger;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.onFatal = options.onFatal ?? ((err) => {
      setImmediate(() => {
        throw err;
      });
    });
    this.transport.onReceive((from, payload, blobs) => this.receive(from, payload, blobs));
  }

  start(): void {
    if (this.ticker || this.closed) return;
    this.ticker = setInterval(() => this.tick(), this.settings.tickMs);
    this.ticker.unref?.();
  }

  /** Adds a group (RaftNode.create calls this). */
  register(group: HostedGroup): void {
    if (this.closed) throw new FlotillaError('CLOSED', `host ${this.nodeId} is closed`);
    assert(!this.groups.has(group.groupId), () => `host: group ${group.groupId} is already registered`);
    assert(this.groups.size < this.settings.maxGroups, () => `host: more than host.maxGroups (${this.settings.maxGroups}) groups`);
    this.groups.set(group.groupId, group);
    this.touch(group);
  }

  unregister(group: HostedGroup): void {
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
    this.touched.delete(group);
  }

  get groupCount(): number {
    return this.groups.size;
  }

  // ---- Groups at run time -----------------------------------------------------------------------

  /**
   * Creates (or reopens, after a restart) the replica of group `groupId` on this node and starts
   * it. A new group takes `members` as its voters; without members the replica joins a running
   * group (its leader adds it). Fails with INVALID_REQUEST if the group runs here already or is
   * being created or removed, BACKPRESSURE past `host.maxGroups`, CLOSED after close(),
   * INVALID_CONFIG without a store or the host's storage.
   */
  async createGroup<R>(options: CreateGroupOptions<R>): Promise<RaftNode<R>> {
    const { groupId } = options;
    if (this.closed) throw new FlotillaError('CLOSED', `host ${this.nodeId} is closed`);
    if (typeof groupId !== 'string' || groupId.length === 0) throw new FlotillaError('INVALID_REQUEST', 'a group id must be a non-empty string');
    if (this.groups.has(groupId) || this.changing.has(groupId)) {
      throw new FlotillaError('INVALID_REQUEST', `group ${groupId} ${this.changing.has(groupId) ? 'is being created or removed' : 'runs'} on node ${this.nodeId} already`);
    }
    if (this.groups.size + this.changing.size >= this.settings.maxGroups) {
      throw new FlotillaError('BACKPRESSURE', `node ${this.nodeId} hosts host.maxGroups (${this.settings.maxGroups}) groups`);
    }
    if (!options.store && !this.storage) throw new FlotillaError('INVALID_CONFIG', 'createGroup needs a store, or a host with a storage option');
    const bootstrap: Membership = { voters: [...new Set(options.members ?? [])], learners: [...new Set(options.learners ?? [])] };
    if (bootstrap.voters.length === 0 && bootstrap.learners.length > 0) throw new FlotillaError('INVALID_REQUEST', `group ${groupId}: learners without voters`);
    this.changing.add(groupId);
    let store: GroupStore | undefined;
    try {
      store = options.store ?? (await this.storage!.open(groupId, bootstrap));
      const { members: _m, learners: _l, store: _s, ...rest } = options;
      const node = await RaftNode.create<R>({ ...rest, host: this, store });
      if (!options.store) this.fromStorage.add(groupId);
      else this.fromStorage.delete(groupId);
      return node;
    } catch (err) {
      if (store && !options.store) await store.close().catch(() => {});
      throw err;
    } finally {
      this.changing.delete(groupId);
    }
  }

  /** The group `groupId` running here (created by createGroup or RaftNode.create), if any. */
  group<R = unknown>(groupId: string): RaftNode<R> | undefined {
    const g = this.groups.get(groupId);
    return g instanceof RaftNode ? (g as RaftNode<R>) : undefined;
  }

  /** The ids of the groups running here. */
  groupIds(): string[] {
    return [...this.groups.keys()];
  }

  /**
   * Stops this node's replica of `groupId` and deletes its state from the host's storage (only
   * closes it when its store did not come from there). It is local: take this node out of the group's membership
   * through its leader first (removeMember) — a voter that vanishes still counts toward the quorum
   * of the others. Settles once the state is gone; false if the group does not run here.
   */
  async removeGroup(groupId: string): Promise<boolean> {
    if (this.changing.has(groupId)) throw new FlotillaError('INVALID_REQUEST', `group ${groupId} is being created or removed`);
    const g = this.groups.get(groupId);
    if (!g || !(g instanceof RaftNode)) return false;
    this.changing.add(groupId);
    try {
      await g.close();
      if (this.fromStorage.delete(groupId)) await this.storage!.destroy(groupId);
      this.logger?.(`host ${this.nodeId}: removed group ${groupId}`);
      return true;
    } finally {
      this.changing.delete(groupId);
    }
  }

  /** Marks a group as having work; a cycle runs on a later turn of the event loop. */
  touch(group: HostedGroup): void {
    if (this.closed) return;
    this.touched.add(group);
    if (!this.scheduled && !this.cycling) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.cycle();
      });
    }
  }

  /**
   * Resolves once no cycle is running and no group has work (tests, clean shutdown). After a
   * fatal error no cycle runs again: at once (work touched meanwhile will never be done).
   */
  async idle(): Promise<void> {
    if (this.fatal !== null) return;
    if (!this.cycling && !this.scheduled && this.touched.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the ticker and closes every group still running here (their data stays). */
  async close(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    if (!this.closed) await this.idle();
    this.closed = true;
    // After a fatal error too: their pending requests fail with CLOSED, their stores close.
    for (const g of [...this.groups.values()]) if (g instanceof RaftNode) await g.close();
  }

  /** Milliseconds since this node last heard anything from `peer` (any group, or the per-tick keep-alive); -1 if never. */
  peerHeardAgoMs(peer: NodeId): number {
    const p = this.peers.get(peer);
    return p === undefined ? -1 : Math.max(0, this.nowMs() - p.heardMs);
  }

  get failed(): unknown {
    return this.fatal;
  }

  /**
   * One interval of the ticker. Ticks follow the monotonic clock, not the timer: after the process
   * was paused (SIGSTOP, a long GC) the missed ticks are caught up at once (bounded), so a leader
   * that was frozen notices its lease ran out instead of serving reads on a stale one.
   */
  private tick(): void {
    const now = this.nowMs();
    const due = this.lastTickMs === null ? 1 : Math.floor((now - this.lastTickMs) / this.settings.tickMs);
    if (due <= 0) return;
    const ticks = Math.min(due, MAX_CATCH_UP_TICKS);
    this.lastTickMs = due > MAX_CATCH_UP_TICKS ? now : (this.lastTickMs ?? now) + ticks * this.settings.tickMs;
    try {
      for (const g of this.groups.values()) {
        for (let i = 0; i < ticks; i++) g.onTick(now);
        if (g.hasReady()) this.touch(g);
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    this.livenessTick(now);
  }

  /** Keeps every peer hearing from us each tick; wakes the groups of peers we stopped hearing. */
  private livenessTick(now: number): void {
    const silenceMs = this.settings.peerSilenceTicks * this.settings.tickMs;
    for (const [id, p] of this.peers) {
      if (!p.sent && this.transport.send(id, EMPTY_PAYLOAD)) this.stats.framesSent++;
      p.sent = false;
      const silent = now - p.heardMs > silenceMs;
      if (silent && !p.silent) this.wakeAll((g) => g.wakeIfLedBy(id), `node ${id} is silent for ${Math.round(now - p.heardMs)} ms`);
      p.silent = silent;
    }
  }

  private wakeAll(wake: (g: HostedGroup) => boolean, why: string): void {
    let woken = 0;
    for (const g of this.groups.values()) {
      if (wake(g)) {
        woken++;
        this.touch(g);
      }
    }
    this.stats.wakes += woken;
    if (woken > 0) this.logger?.(`host ${this.nodeId}: ${why}: woke ${woken} quiesced groups`);
  }

  private peer(id: NodeId): { heardMs: number; sent: boolean; silent: boolean } {
    let p = this.peers.get(id);
    if (!p) {
      p = { heardMs: this.nowMs(), sent: false, silent: false };
      this.peers.set(id, p);
    }
    return p;
  }

  private receive(from: NodeId, payload: unknown, blobs: readonly Buffer[]): void {
    if (this.closed) return;
    const p = this.peer(from);
    p.heardMs = this.nowMs();
    if (p.silent) {
      p.silent = false;
      this.wakeAll((g) => g.wakeIfFollowedBy(from), `node ${from} is heard again`);
    }
    let groups: [string, Message[]][];
    try {
      groups = decodeWire(from, this.nodeId, payload, blobs);
    } catch (err) {
      if (!isFlotillaError(err, 'CORRUPT')) throw err;
      this.stats.malformedPayloads++;
      this.logger?.(`host ${this.nodeId}: malformed payload from node ${from}: ${err.message}`);
      return;
    }
    for (const [groupId, messages] of groups) {
      const group = this.groups.get(groupId);
      if (!group) {
        this.stats.unknownGroup++;
        continue;
      }
      for (const m of messages) {
        this.stats.messagesReceived++;
        try {
          group.onMessage(m);
        } catch (err) {
          this.fail(err);
          return;
        }
      }
      this.touch(group);
    }
  }

  private async cycle(): Promise<void> {
    if (this.cycling || this.closed || this.fatal) return;
    this.cycling = true;
    try {
      for (;;) {
        const batch: [HostedGroup, Ready][] = [];
        for (const g of this.touched) {
          if (g.hasReady()) batch.push([g, g.ready()]);
        }
        this.touched.clear();
        if (batch.length === 0) break;
        this.stats.cycles++;
        this.stats.readies += batch.length;
        const outbox = new Outbox();
        for (const [g, rd] of batch) {
          g.stage(rd);
          outbox.add(g.groupId, rd.messages);
        }
        this.sendAll(outbox);
        await Promise.all(batch.map(([g]) => g.flush()));
        const persisted = new Outbox();
        for (const [g, rd] of batch) persisted.add(g.groupId, rd.persistedMessages);
        this.sendAll(persisted);
        for (const [g, rd] of batch) {
          await g.finish(rd);
          this.touched.add(g);
        }
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.cycling = false;
    }
    if (this.touched.size > 0 && !this.fatal && !this.closed) {
      this.touch(this.touched.values().next().value!);
    } else {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private sendAll(outbox: Outbox): void {
    for (const [to, batch] of outbox.byPeer) {
      this.peer(to).sent = true;
      if (this.transport.send(to, batch.payload, batch.blobs)) this.stats.framesSent++;
      else this.stats.framesDropped++;
    }
  }

  private fail(err: unknown): void {
    if (this.fatal) return;
    this.fatal = err;
    this.logger?.(`host ${this.nodeId}: FATAL ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    this.closed = true;
    this.touched.clear();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
    this.onFatal(err);
  }
}

/** What a host sends a peer it has nothing else for in a tick: "alive". */
const EMPTY_PAYLOAD = Object.freeze({ g: Object.freeze([]) });

/** Messages gathered per peer (one frame each), then per group, encoded as they come. */
class Outbox {
  readonly byPeer = new Map<NodeId, WireBatch>();

  add(groupId: string, messages: readonly Message[]): void {
    for (const m of messages) {
      let batch = this.byPeer.get(m.to);
      if (!batch) {
        batch = new WireBatch();
        this.byPeer.set(m.to, batch);
      }
      batch.add(groupId, m);
    }
  }
}
