/**
 * The transcript harness: a small deterministic cluster of RaftCore nodes driven one message at a
 * time, for scenario tests that read like transcripts (spec/sim/scenarios). Nothing moves unless
 * the test says so: `tick` a node, `deliver` / `drop` messages in flight (matched by a filter),
 * `partition` / `heal`, `crash` / `restart` / `wipe` a node, `hold` a node's writes and `persist`
 * them later. The random simulation (simulation.ts) explores; this harness pins situations down.
 *
 * Each node is a RaftCore over a MemoryGroupStore (its disk: survives `crash`, gone on `wipe`)
 * and a text state machine (the list of Normal entries applied, as strings, trailing padding
 * trimmed), which is volatile and rebuilt from the latest snapshot on restart. The host side
 * follows the Ready contract of types.ts exactly: messages go on the network at once; the writes
 * (chunks, snapshot, entries, hard state) land on the store when the Ready is persisted (at once,
 * unless the node is held); then persistedMessages go out, committed entries are applied, reads
 * are served once applied reaches their index, `advance`.
 *
 * Safety is checked after every operation, so a transcript cannot pass by looking away: at most
 * one leader per term, every index applied anywhere holds the same entry everywhere and no node
 * overwrites an entry it applied (state machine safety), applied <= commit, and a durable term
 * never goes backwards. A breach throws an AssertionFailure that names it.
 *
 * Lifecycle: `new Harness({voters})`, then drive; it holds no timers or I/O, so there is nothing
 * to close. Messages in flight are bounded (`maxInFlight`, default 100,000): a test that floods
 * the network fails loudly instead of eating memory.
 */
import { assert } from '../base/assert.js';
import { Xoshiro128 } from '../base/prng.js';
import { membershipOf } from '../raft/core/membership.js';
import { type PlantedBug, RaftCore } from '../raft/core/raft.js';
import {
  type ConfigChangeType, type Entry, EntryType, type HardState, type Message, MessageType,
  type NodeId, type Ready, Role, emptyMembership,
} from '../raft/core/types.js';
import { MemoryGroupStore } from '../raft/group-store.js';
import { PlantedBugCore } from './planted-bugs.js';

/** Which messages in flight an operation touches; every given field must match. */
export interface MessageFilter {
  readonly type?: MessageType | readonly MessageType[];
  readonly from?: NodeId;
  readonly to?: NodeId;
  readonly where?: (m: Message) => boolean;
}

export interface HarnessOptions {
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  /** Raft settings for every node (validated by the core); defaults below. */
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly seed?: number;
  /**
   * Pre-existing durable logs, per node: the term of each entry from index 1 (the entries are
   * Normal, with text `${index}@${term}`), and the durable term (default: the last entry's term).
   * Lets a transcript start from a figure of the Raft paper.
   */
  readonly logs?: Readonly<Record<NodeId, { readonly terms: readonly number[]; readonly term?: number }>>;
  /** Spaces appended to each seeded entry's text (so a small maxMessageBytes fits one per append). */
  readonly pad?: number;
  /** Runs every node with this planted bug (to show a transcript catches it). */
  readonly plant?: PlantedBug;
  readonly maxInFlight?: number;
}

export const defaultHarnessSettings: Readonly<Record<string, unknown>> = Object.freeze({
  electionTicksMin: 10, electionTicksMax: 20, heartbeatTicks: 1, preVote: true, checkQuorum: true,
});

export interface HarnessNode {
  readonly id: NodeId;
  store: MemoryGroupStore;
  core: RaftCore;
  alive: boolean;
  /** While held, Readies are taken (messages sent) but their writes wait for `persist`. */
  held: boolean;
  inFlight: Ready | null;
  /** Normal entries applied, as text, from index 1 (snapshot contents first). */
  applied: string[];
  appliedIndex: number;
  /**
   * Reads served: read id -> { index: the read index, texts: the state machine as the read saw
   * it }. A read is served once applied >= its index; until then it waits in `readsWaiting`.
   */
  readonly reads: Map<number, { index: number; texts: string[] }>;
  readsWaiting: { id: number; index: number }[];
  readonly droppedReads: number[];
  settings: Readonly<Record<string, unknown>>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

export class Harness {
  readonly nodes = new Map<NodeId, HarnessNode>();
  /** Messages in flight, in the order they were sent. */
  net: Message[] = [];
  /** Directed links that lose everything: "from>to". */
  readonly cuts = new Set<string>();
  private readonly settings: Readonly<Record<string, unknown>>;
  private readonly prng: Xoshiro128;
  private readonly maxInFlight: number;
  private readonly plant: PlantedBug | null;
  // Global knowledge for the safety checks.
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly appliedAt = new Map<number, string>();

  constructor(options: HarnessOptions) {
    this.settings = { ...defaultHarnessSettings, ...options.settings };
    this.prng = new Xoshiro128(options.seed ?? 1);
    this.maxInFlight = options.maxInFlight ?? 100_000;
    this.plant = options.plant ?? null;
    const bootstrap = membershipOf(options.voters, options.learners ?? []);
    for (const id of [...options.voters, ...(options.learners ?? [])]) {
      const store = new MemoryGroupStore(bootstrap);
      const log = options.logs?.[id];
      if (log) seedLog(store, log.terms, log.term, options.pad ?? 0);
      this.nodes.set(id, this.makeNode(id, store, this.settings));
    }
    this.check();
  }

  // ---- Looking -------------------------------------------------------------------------------

  node(id: NodeId): HarnessNode {
    const n = this.nodes.get(id);
    assert(n !== undefined, () => `harness: no node ${id}`);
    return n;
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core;
  }

  /** The live leaders (several only while an old one has not heard of the new term). */
  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.alive && n.core.role === Role.Leader).map((n) => n.id);
  }

  /** The terms of the durable log from firstIndex (what survives a crash). */
  terms(id: NodeId): number[] {
    const s = this.node(id).store;
    const out: number[] = [];
    for (let i = s.firstIndex(); i <= s.lastIndex(); i++) out.push(s.term(i));
    return out;
  }

  /** Messages in flight that match. */
  inFlight(filter: MessageFilter = {}): Message[] {
    return this.net.filter((m) => matches(m, filter));
  }

  // ---- Driving -------------------------------------------------------------------------------

  /** Ticks the given nodes `times` times (their Readies are handled; nothing is delivered). */
  tick(ids: NodeId | readonly NodeId[], times = 1): void {
    const list = typeof ids === 'number' ? [ids] : ids;
    for (let t = 0; t < times; t++) {
      for (const id of list) {
        const n = this.node(id);
        if (!n.alive) continue;
        n.core.tick();
        this.pump(n);
      }
    }
    this.check();
  }

  campaign(id: NodeId): void {
    const n = this.node(id);
    n.core.campaign();
    this.pump(n);
    this.check();
  }

  /**
   * Delivers, once each and in send order, the messages now in flight that match (messages they
   * cause wait for a later call). A message on a cut link or to a node that is down is lost.
   * Returns how many were handed to a node.
   */
  deliver(filter: MessageFilter = {}): number {
    const batch: Message[] = [];
    const rest: Message[] = [];
    for (const m of this.net) (matches(m, filter) ? batch : rest).push(m);
    this.net = rest;
    let delivered = 0;
    for (const m of batch) {
      if (this.cuts.has(`${m.from}>${m.to}`)) continue;
      const n = this.nodes.get(m.to);
      if (!n || !n.alive) continue;
      n.core.step(m);
      this.pump(n);
      delivered++;
    }
    this.check();
    return delivered;
  }

  /** Delivers matching messages, and those they cause, until none is in flight (bounded). */
  settle(filter: MessageFilter = {}, maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      if (!this.net.some((m) => matches(m, filter))) return;
      this.deliver(filter);
    }
    assert(false, () => `harness: the network did not settle in ${maxRounds} rounds`);
  }

  /** Drops the matching messages in flight; returns how many. */
  drop(filter: MessageFilter = {}): number {
    const before = this.net.length;
    this.net = this.net.filter((m) => !matches(m, filter));
    return before - this.net.length;
  }

  /**
   * Ticks every live node once per round and settles the network after each, until `until()`
   * holds (bounded): the way to let time pass in a healthy cluster.
   */
  run(until: () => boolean, maxRounds = 500): void {
    for (let round = 0; round < maxRounds; round++) {
      if (until()) return;
      this.tick([...this.nodes.values()].filter((n) => n.alive).map((n) => n.id));
      this.settle();
    }
    assert(until(), () => `harness: condition not reached in ${maxRounds} rounds\n${this.describe()}`);
  }

  /**
   * Campaigns `id` and delivers the (pre-)votes and their answers only: the new leader's first
   * appends are left in flight for the test to deliver, drop or settle.
   */
  elect(id: NodeId): void {
    this.campaign(id);
    this.settle({ type: electionTypes });
    assert(this.core(id).role === Role.Leader, () => `harness: node ${id} did not win\n${this.describe()}`);
  }

  /** Proposes text entries on `id` (its leader role is the test's business); returns the first index. */
  propose(id: NodeId, ...texts: string[]): number {
    const n = this.node(id);
    const { firstIndex } = n.core.propose(texts.map((t) => encoder.encode(t)));
    this.pump(n);
    this.check();
    return firstIndex;
  }

  changeConfig(id: NodeId, type: ConfigChangeType, node: NodeId): number {
    const n = this.node(id);
    const { index } = n.core.proposeConfigChange({ type, node });
    this.pump(n);
    this.check();
    return index;
  }

  readIndex(id: NodeId, readId: number): void {
    const n = this.node(id);
    n.core.readIndex(readId);
    this.pump(n);
    this.check();
  }

  transferLeadership(from: NodeId, to: NodeId): void {
    const n = this.node(from);
    n.core.transferLeadership(to);
    this.pump(n);
    this.check();
  }

  // ---- Network faults ------------------------------------------------------------------------

  /** Cuts every link between different groups (both ways); links inside a group stay. */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    for (const a of this.nodes.keys()) {
      for (const b of this.nodes.keys()) {
        if (a !== b && groupOf.get(a) !== groupOf.get(b)) this.cuts.add(`${a}>${b}`);
      }
    }
  }

  isolate(id: NodeId): void {
    for (const o of this.nodes.keys()) {
      if (o === id) continue;
      this.cuts.add(`${id}>${o}`);
      this.cuts.add(`${o}>${id}`);
    }
  }

  /** One-way: `from` can no longer reach `to`. */
  cut(from: NodeId, to: NodeId): void {
    this.cuts.add(`${from}>${to}`);
  }

  heal(): void {
    this.cuts.clear();
  }

  // ---- Disks and processes -------------------------------------------------------------------

  /** From now on the node's writes wait for `persist` (its messages still go out at once). */
  hold(id: NodeId): void {
    this.node(id).held = true;
  }

  /** Makes the node's pending write durable and lets it go on; `release` also ends the hold. */
  persist(id: NodeId, release = false): void {
    const n = this.node(id);
    if (release) n.held = false;
    if (n.inFlight) this.finish(n);
    this.pump(n);
    this.check();
  }

  /**
   * Kills the node: its volatile state and any write not yet durable are lost; `keepEntries`
   * tears the pending write instead (that many of its entries reached the disk, nothing else).
   */
  crash(id: NodeId, keepEntries = 0): void {
    const n = this.node(id);
    const rd = n.inFlight;
    if (rd && keepEntries > 0) {
      n.store.stage(writeOf(rd.entries.slice(0, keepEntries), null));
    }
    n.inFlight = null;
    n.alive = false;
  }

  /** Starts the node again from its disk (optionally with other settings). */
  restart(id: NodeId, settings?: Readonly<Record<string, unknown>>): void {
    const old = this.node(id);
    assert(!old.alive, () => `harness: node ${id} is running`);
    const n = this.makeNode(id, old.store, settings ? { ...this.settings, ...settings } : old.settings);
    n.held = old.held;
    this.nodes.set(id, n);
    this.check();
  }

  /** The node's disk is gone: it never comes back under this id (identity is tied to the disk). */
  wipe(id: NodeId): void {
    this.crash(id);
    this.node(id).store = new MemoryGroupStore(emptyMembership);
  }

  /** Starts a node that joins an existing group: empty bootstrap config, learns it from the leader. */
  join(id: NodeId): HarnessNode {
    assert(!this.nodes.has(id), () => `harness: node ${id} exists (a wiped node comes back under a new id)`);
    const n = this.makeNode(id, new MemoryGroupStore(emptyMembership), this.settings);
    this.nodes.set(id, n);
    return n;
  }

  /**
   * The application takes a snapshot at its applied index and compacts the log below
   * `applied - keepTail`, as a real host does every K entries.
   */
  snapshot(id: NodeId, keepTail = 0): number {
    const n = this.node(id);
    const meta = n.core.snapshotMetaAt(n.appliedIndex);
    assert(meta !== null, () => `harness: node ${id} cannot snapshot at ${n.appliedIndex} now`);
    void n.store.saveSnapshot(meta, encodeState(n.appliedIndex, n.applied), Math.max(1, n.appliedIndex - keepTail + 1));
    return meta.index;
  }

  // ---- The host ------------------------------------------------------------------------------

  private makeNode(id: NodeId, store: MemoryGroupStore, settings: Readonly<Record<string, unknown>>): HarnessNode {
    const coreOptions = { id, log: store, initial: store.initialState(), prng: this.prng.fork(), settings };
    const core = this.plant ? new PlantedBugCore(coreOptions, this.plant) : new RaftCore(coreOptions);
    const state = decodeState(store.readSnapshot(0, store.snapshotSize()));
    return {
      id, store, core, alive: true, held: false, inFlight: null, applied: state.applied,
      appliedIndex: store.snapshotMeta().index, reads: new Map(), readsWaiting: [], droppedReads: [], settings,
    };
  }

  private pump(n: HarnessNode): void {
    for (let i = 0; i < 10_000 && n.alive && !n.inFlight && n.core.hasReady(); i++) {
      const rd = n.core.ready();
      n.inFlight = rd;
      this.send(rd.messages);
      if (n.held) return;
      this.finish(n);
    }
  }

  private finish(n: HarnessNode): void {
    const rd = n.inFlight!;
    const before = n.store.hardState;
    for (const e of rd.entries) {
      if (e.index > n.appliedIndex) break;
      if (e.index >= n.store.firstIndex() && e.index <= n.store.lastIndex()) {
        assert(n.store.term(e.index) === e.term, () => `state machine safety: node ${n.id} overwrites its applied entry ${e.index} (term ${n.store.term(e.index)}) with term ${e.term}`);
      }
    }
    n.store.stage(rd);
    assert(n.store.hardState.term >= before.term, () => `harness: node ${n.id} durable term ${before.term} -> ${n.store.hardState.term}`);
    if (rd.snapshot) {
      const state = decodeState(n.store.readSnapshot(0, n.store.snapshotSize()));
      n.applied = state.applied;
      n.appliedIndex = rd.snapshot.index;
    }
    this.send(rd.persistedMessages);
    for (const e of rd.committedEntries) this.apply(n, e);
    n.readsWaiting.push(...rd.readStates);
    if (n.readsWaiting.length > 0) {
      const still: { id: number; index: number }[] = [];
      for (const r of n.readsWaiting) {
        if (r.index <= n.appliedIndex) n.reads.set(r.id, { index: r.index, texts: n.applied.slice() });
        else still.push(r);
      }
      n.readsWaiting = still;
    }
    n.droppedReads.push(...rd.droppedReads);
    n.core.advance(rd);
    n.inFlight = null;
  }

  private apply(n: HarnessNode, e: Entry): void {
    assert(e.index === n.appliedIndex + 1, () => `harness: node ${n.id} applies ${e.index} after ${n.appliedIndex}`);
    const what = `${e.term}:${e.type}:${text(e.data)}`;
    const known = this.appliedAt.get(e.index);
    assert(known === undefined || known === what, () => `state machine safety: node ${n.id} applies ${what} at ${e.index}, another node applied ${known}`);
    this.appliedAt.set(e.index, what);
    n.appliedIndex = e.index;
    if (e.type === EntryType.Normal) n.applied.push(text(e.data).trimEnd());
  }

  private send(messages: readonly Message[]): void {
    for (const m of messages) this.net.push(m);
    assert(this.net.length <= this.maxInFlight, () => `harness: more than ${this.maxInFlight} messages in flight`);
  }

  private check(): void {
    for (const n of this.nodes.values()) {
      if (!n.alive) continue;
      if (n.core.role === Role.Leader) {
        const prev = this.leaderOfTerm.get(n.core.term);
        assert(prev === undefined || prev === n.id, () => `election safety: nodes ${prev} and ${n.id} both lead term ${n.core.term}`);
        this.leaderOfTerm.set(n.core.term, n.id);
      }
      assert(n.appliedIndex <= n.core.commit, () => `node ${n.id} applied ${n.appliedIndex} above its commit ${n.core.commit}`);
    }
  }

  /** One line per node and the network, for failure messages. */
  describe(): string {
    const lines = [...this.nodes.values()].map((n) => {
      const st = n.core.status();
      return `node ${n.id}${n.alive ? '' : ' DOWN'} ${['follower', 'pre-candidate', 'candidate', 'leader'][st.role]} term ${st.term} vote ${st.vote} leader ${st.leader} commit ${st.commit} applied ${n.appliedIndex} log ${st.firstIndex}..${st.lastIndex} voters ${st.membership.voters.join(',')} learners ${st.membership.learners.join(',')}`;
    });
    lines.push(`in flight: ${this.net.length}; cut: ${[...this.cuts].join(' ')}`);
    return lines.join('\n');
  }
}

const electionTypes: readonly MessageType[] = [MessageType.PreVote, MessageType.PreVoteResponse, MessageType.Vote, MessageType.VoteResponse];

function matches(m: Message, f: MessageFilter): boolean {
  if (f.type !== undefined && (typeof f.type === 'number' ? m.type !== f.type : !f.type.includes(m.type))) return false;
  if (f.from !== undefined && m.from !== f.from) return false;
  if (f.to !== undefined && m.to !== f.to) return false;
  return f.where ? f.where(m) : true;
}

/** A Ready that only writes (what a torn write or a seeded disk leaves behind). */
function writeOf(entries: readonly Entry[], hardState: HardState | null): Ready {
  return {
    number: 0, messages: [], snapshotChunks: [], snapshot: null, entries, hardState, persistedMessages: [],
    committedEntries: [], readStates: [], droppedReads: [], softState: null,
  };
}

function seedLog(store: MemoryGroupStore, terms: readonly number[], term: number | undefined, pad: number): void {
  const entries: Entry[] = terms.map((t, i) => ({ index: i + 1, term: t, type: EntryType.Normal, data: encoder.encode(`${i + 1}@${t}${' '.repeat(pad)}`) }));
  store.stage(writeOf(entries, { term: term ?? terms[terms.length - 1] ?? 0, vote: 0, commit: 0 }));
}

/** Snapshot data: the applied index and the applied texts, as JSON (tests only; small). */
function encodeState(index: number, applied: readonly string[]): Uint8Array {
  return encoder.encode(JSON.stringify({ index, applied }));
}

function decodeState(data: Uint8Array): { index: number; applied: string[] } {
  if (data.byteLength === 0) return { index: 0, applied: [] };
  const parsed = JSON.parse(text(data)) as { index: number; applied: string[] };
  return { index: parsed.index, applied: [...parsed.applied] };
}
