/**
 * The deterministic simulation of a Raft cluster: RaftCore nodes driven by a virtual clock and one
 * seeded PRNG. Each seed draws its own mix of faults (swarm testing): message drop, duplication,
 * delay and reordering, partitions (one node, the leader, majority/minority, one-way links), crashes
 * that lose everything not yet durable (whole or torn), pauses, tick-rate skew, membership changes
 * (add learner, promote, remove, replace a wiped node under a new id) and snapshots.
 *
 * The simulated host follows RaftCore's Ready contract exactly (types.ts): messages at once, writes
 * durable some virtual time later (a crash before that loses them), then persisted messages,
 * apply, advance. Durable state per node is a MemoryGroupStore, which survives crashes.
 *
 * Two phases, as TigerBeetle's simulator: a safety phase of `steps` events with faults, checking
 * every invariant after every event; then a liveness phase with every fault healed, in which a
 * leader must be elected and stay, every client request must resolve and every replica converge.
 *
 * Invariants (each violation is reported by name): election-safety, leader-append-only,
 * log-matching (entries with the same index and term agree wherever written; applied ones too), leader-completeness, committed-durable-quorum,
 * term-monotonic, vote-once, commit-monotonic, commit-current-term, applied-le-commit,
 * vote-before-durable, ack-before-durable, prevote-term-change, truncated-committed, snapshot-meta,
 * config-change-rule, read-linearizable, exactly-once, replicas-converge, liveness, assertion.
 */
import { AssertionFailure } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import { type Prng, Xoshiro128 } from '../base/prng.js';
import { decodeConfigEntry, membershipOf, quorumOf } from '../raft/core/membership.js';
import { type PlantedBug, RaftCore, type RaftCoreOptions } from '../raft/core/raft.js';
import {
  ConfigChangeType, type Entry, EntryType, type Membership, type Message, MessageType, type NodeId, type Ready, Role,
  type SnapshotMeta,
} from '../raft/core/types.js';
import { MemoryGroupStore } from '../raft/group-store.js';
import { EventQueue, type SimEvent } from './event-queue.js';
import { SimKv, encodeCommand } from './kv-machine.js';
import { canonical } from './linearizability.js';
import { PlantedBugCore } from './planted-bugs.js';

/** Virtual time units per tick (a tick is ~10 units; node clocks are skewed around it). */
const TICK = 10;

export interface SimOptions {
  readonly seed: number;
  /** Events in the safety phase. */
  readonly steps: number;
  readonly plant?: PlantedBug | null;
  /** Stop at the first violation (default true). */
  readonly stopAtFirst?: boolean;
  /** Receives the cluster's state when a violation ends the run. */
  readonly debug?: (text: string) => void;
  /** Builds each node's core instead of RaftCore (tests of the checker: a core that misbehaves). */
  readonly coreFactory?: (options: RaftCoreOptions) => RaftCore;
  /** Quiescence on (raft.quiesceTicks 1..6, idle clients, a failure detector); default: drawn per seed. */
  readonly quiesce?: boolean;
  /**
   * A user's state machine and clients in place of the built-in registers and clients (lib/sim/
   * machine-sim.ts builds it). The Raft invariants are checked as ever; the registers' own checks
   * (read-linearizable, exactly-once) give way to the app's history.
   */
  readonly app?: SimApp;
  /** The number of nodes to start with instead of the seed's draw (the rest of the draws stay). */
  readonly nodes?: number;
  /** Fault families to turn off (after the seed's draw, so the other draws stay). */
  readonly faults?: FaultMix;
  /** Receives one line per notable event (crash, restart, partition, heal, pause, leader, config change, snapshot install). */
  readonly trace?: (line: string) => void;
}

/** Which fault families a run has; each defaults to on (drawn per seed). */
export interface FaultMix {
  /** Message drop, duplication, long delays and reordering, partitions, clogged links. */
  readonly network?: boolean;
  /** Crashes (losing what is not yet durable, torn writes) and restarts. */
  readonly crashes?: boolean;
  /** Process pauses and skewed tick rates. */
  readonly clock?: boolean;
  /** Membership changes: learners added and promoted, voters removed or replaced. */
  readonly membership?: boolean;
}

/**
 * One node's copy of a user's state machine. Volatile: rebuilt from the latest snapshot when the
 * node restarts or installs one. Called synchronously by the simulation (a deterministic run has
 * no event loop); `nodeTimeMs` is the node's own virtual clock.
 */
export interface SimReplica {
  apply(command: Uint8Array, index: number, nodeTimeMs: number): unknown;
  snapshot(nodeTimeMs: number): Uint8Array;
  restore(data: Uint8Array, nodeTimeMs: number): void;
  /** A digest of the whole state, equal on replicas with equal state; null when the machine has none. */
  digest(): string | null;
}

/** What a client of a user's app does next. */
export type SimAppOp =
  | { readonly kind: 'write'; readonly command: Uint8Array }
  /** A read through ReadIndex (linearizable), or `local`: at once from whatever node was picked. */
  | { readonly kind: 'read'; readonly local: boolean };

/** A user's app in the simulation: replicas, and clients whose history the app records. */
export interface SimApp {
  /** Clients (each has one operation outstanding); 0: the seed's draw (1-3). */
  readonly clients: number;
  replica(): SimReplica;
  /** Client `client` invokes its next operation (drawn from `prng`); returns its id. */
  invoke(prng: Prng, client: number, time: number): { id: number; op: SimAppOp };
  /** A read's query against a replica (the app keeps the query of each read). */
  query(id: number, replica: SimReplica, nodeTimeMs: number): unknown;
  /** The operation answered: a write with its apply's result, a read with its query's. */
  answer(id: number, output: unknown, time: number, node: NodeId): void;
  /** The operation certainly had no effect: never appended, replaced by another leader's entry, a read that failed or timed out. */
  discard(id: number, why: string, time: number): void;
  /** The client gave up waiting: the outcome stays unknown. */
  timeout(id: number, time: number): void;
}

interface AppClient {
  readonly id: number;
  op: { id: number; kind: 'write' | 'read'; node: NodeId; life: number; index: number; term: number; sentAt: number; readId: number } | null;
}

export interface Violation {
  readonly kind: string;
  readonly step: number;
  readonly time: number;
  readonly detail: string;
}

export interface SimResult {
  readonly seed: number;
  readonly steps: number;
  readonly violations: Violation[];
  readonly profile: SwarmProfile;
  readonly stats: {
    readonly writesAcked: number;
    readonly readsServed: number;
    readonly leaderChanges: number;
    readonly crashes: number;
    readonly snapshotsInstalled: number;
    readonly configChanges: number;
    readonly finalCommit: number;
    /** 1 when the liveness phase began under partial connectivity. */
    readonly partialConnectivity: number;
    /** Times a leader went quiet (quiesced), and times the failure detector woke a follower. */
    readonly quiescences: number;
    readonly wakes: number;
  };
}

/** What one seed draws. */
export interface SwarmProfile {
  nodes: number;
  dropP: number;
  dupP: number;
  delayMin: number;
  delayMean: number;
  partitionP: number;
  crashP: number;
  tornP: number;
  pauseP: number;
  memberP: number;
  skew: boolean;
  snapshotEvery: number;
  chunkBytes: number;
  readMode: 'safe' | 'lease';
  preVote: boolean;
  clients: number;
  /** Chance per chaos event (every 5 units) to clog one directed link for 50-1500 units. */
  clogP: number;
  /** raft.quiesceTicks (0: off). With it on, clients pause at times and a failure detector runs. */
  quiesceTicks: number;
  /** raft.broadcastCommit (drawn from the quiescence PRNG). */
  broadcastCommit: boolean;
}

function drawProfile(p: Prng): SwarmProfile {
  const pick = (probZero: number, max: number): number => (p.chance(probZero) ? 0 : p.next() * max);
  const pauseP = pick(0.5, 0.004);
  return {
    nodes: p.int(1, 7),
    dropP: pick(0.3, 0.3),
    dupP: pick(0.5, 0.1),
    delayMin: p.int(0, 5),
    delayMean: p.int(1, 20),
    partitionP: pick(0.3, 0.02),
    crashP: pick(0.3, 0.004),
    tornP: p.next(),
    pauseP,
    memberP: pick(0.4, 0.01),
    skew: p.chance(0.5),
    snapshotEvery: p.int(10, 200),
    chunkBytes: p.chance(0.5) ? p.int(1, 64) : 4096,
    readMode: p.chance(0.3) ? 'lease' : 'safe',
    preVote: p.chance(0.85),
    clients: p.int(1, 3),
    clogP: 0,
    quiesceTicks: 0,
    broadcastCommit: true,
  };
}

interface NodeState {
  readonly id: NodeId;
  store: MemoryGroupStore;
  core: RaftCore;
  kv: SimKv;
  alive: boolean;
  /** A wiped node never comes back under this id. */
  wiped: boolean;
  paused: boolean;
  pausedAt: number;
  held: Message[];
  life: number;
  tickUnits: number;
  inFlight: Ready | null;
  inFlightRole: Role;
  inFlightTerm: number;
  /** The commit index last looked at (per process life). */
  seenCommit: number;
  /** Reads whose index is known, waiting for apply. */
  readsAwaiting: { id: number; index: number }[];
  /** The user's state machine (app runs only). */
  replica: SimReplica | null;
}

type Ev =
  | (SimEvent & { kind: 'tick'; node: NodeId; life: number })
  | (SimEvent & { kind: 'deliver'; msg: Message })
  | (SimEvent & { kind: 'persisted'; node: NodeId; life: number })
  | (SimEvent & { kind: 'client'; client: number })
  | (SimEvent & { kind: 'chaos' })
  | (SimEvent & { kind: 'restart'; node: NodeId })
  | (SimEvent & { kind: 'resume'; node: NodeId })
  | (SimEvent & { kind: 'heal'; epoch: number });

interface ClientOp {
  kind: 'write' | 'read';
  seq: number;
  key: number;
  value: number;
  node: NodeId;
  index: number;
  term: number;
  sentAt: number;
  readId: number;
  minVersion: number;
  minIndex: number;
}

interface ClientState {
  readonly id: number;
  seq: number;
  op: ClientOp | null;
}

export class Simulation {
  readonly seed: number;
  readonly profile: SwarmProfile;
  private readonly prng: Prng;
  private readonly plant: PlantedBug | null;
  private readonly stopAtFirst: boolean;
  private readonly debug: ((text: string) => void) | null;
  private readonly coreFactory: ((options: RaftCoreOptions) => RaftCore) | null;
  private readonly queue = new EventQueue<Ev>();
  private readonly nodes = new Map<NodeId, NodeState>();
  private readonly clients: ClientState[] = [];
  private readonly violations: Violation[] = [];
  private now = 0;
  private step = 0;
  private nextNodeId: number;
  private settings: Record<string, unknown>;

  // Network faults: directed links cut ("a>b"), with an epoch so stale heals are ignored.
  private cuts = new Set<string>();
  private cutEpoch = 0;
  private faultsOn = true;
  /**
   * Path clogs (TigerBeetle's swizzle-clog): a directed link holds every message for a while,
   * then lets them through together. Drawn from a PRNG of their own, so seeds without clogs run
   * exactly as before clogs existed. Key: from * 1024 + to; value: the time the clog ends.
   */
  private readonly aux: Prng;
  private readonly clogs = new Map<number, number>();
  /**
   * Quiescence (lib/raft/core): its draws come from a PRNG of its own too. The failure detector
   * models RaftHost's: a quiet follower whose leader is down, paused, cut off or clogged towards
   * it is woken (and, now and then, one is woken for no reason, as a slow host would).
   */
  private readonly quiesceRng: Prng;
  private readonly idleUntil = new Map<number, number>();
  /** Leader * 1024 + member -> the member's life the leader's host last saw. */
  private readonly livesSeen = new Map<number, number>();

  // Global knowledge for the checks.
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly committed = new Map<number, { term: number; hash: number }>();
  /** The committed configurations, by index (index 0: the bootstrap one). */
  private readonly configHistory: { index: number; membership: Membership }[] = [];
  /** Every entry written anywhere: index -> [term, hash, term, hash, ...] (one pair per term). */
  private readonly written = new Map<number, number[]>();
  private globalCommit = 0;
  /** The highest index the leader of each term committed. */
  private readonly commitOfTerm = new Map<number, number>();
  private readonly votes = new Map<string, NodeId>();
  private readonly ackedVersion = new Map<number, number>();
  private readonly pendingReads = new Map<number, { client: ClientState; node: NodeId }>();
  private nextReadId = 1;
  private issuedWrites = 0;
  private replace: { old: NodeId; fresh: NodeId } | null = null;
  // A user's app (SimOptions.app): its clients, pending ReadIndex reads, and what each index
  // applied gave on the first replica to apply it (result, digest), to compare the others with.
  private readonly app: SimApp | null;
  private readonly trace: ((line: string) => void) | null;
  private readonly appClients: AppClient[] = [];
  private readonly appReads = new Map<number, { client: AppClient; node: NodeId }>();
  private readonly appResults = new Map<number, { node: NodeId; result: string }>();
  private readonly appDigests = new Map<number, { node: NodeId; digest: string }>();

  private readonly stats = { writesAcked: 0, readsServed: 0, leaderChanges: 0, crashes: 0, snapshotsInstalled: 0, configChanges: 0, finalCommit: 0, partialConnectivity: 0, quiescences: 0, wakes: 0 };

  constructor(options: SimOptions) {
    this.seed = options.seed;
    this.prng = new Xoshiro128(options.seed);
    this.plant = options.plant ?? null;
    this.stopAtFirst = options.stopAtFirst ?? true;
    this.debug = options.debug ?? null;
    this.coreFactory = options.coreFactory ?? null;
    this.profile = drawProfile(this.prng);
    this.aux = new Xoshiro128((options.seed ^ 0x7f4a7c15) >>> 0);
    this.profile.clogP = this.aux.chance(0.35) ? this.aux.next() * 0.01 : 0;
    this.quiesceRng = new Xoshiro128((options.seed ^ 0x51ed270b) >>> 0);
    const quiesce = (options.quiesce ?? this.quiesceRng.chance(0.6)) && this.profile.preVote;
    this.profile.quiesceTicks = quiesce ? this.quiesceRng.int(1, 6) : 0;
    this.profile.broadcastCommit = this.quiesceRng.chance(0.5);
    const pr = this.profile;
    this.settings = {
      electionTicksMin: 10, electionTicksMax: 20, heartbeatTicks: 1,
      preVote: pr.preVote, checkQuorum: true, readMode: pr.readMode,
      snapshotChunkBytes: pr.chunkBytes, snapshotInflightChunks: this.prng.int(1, 4),
      maxInflightMessages: this.prng.int(1, 64), maxMessageBytes: this.prng.chance(0.5) ? 64 : 1024 * 1024,
      maxClockDriftTicks: 2, quiesceTicks: pr.quiesceTicks, broadcastCommit: pr.broadcastCommit,
    };
    this.app = options.app ?? null;
    this.trace = options.trace ?? null;
    if (options.nodes !== undefined) pr.nodes = options.nodes;
    applyFaultMix(pr, options.faults);
    const ids = Array.from({ length: pr.nodes }, (_, i) => i + 1);
    this.nextNodeId = pr.nodes + 1;
    this.configHistory.push({ index: 0, membership: membershipOf(ids) });
    for (const id of ids) this.addNode(id, membershipOf(ids));
    if (this.app && this.app.clients > 0) pr.clients = this.app.clients;
    // A user's machine is tested on its snapshots too: take them every 2-20 applied entries
    // (derived from the seed's draw, so nothing new is drawn).
    // Runs of a user's machine are short (hundreds of steps, not 10,000): crashes come 4 times
    // as often, so restarts (and restores) happen within them.
    if (this.app) {
      pr.snapshotEvery = 2 + (pr.snapshotEvery % 19);
      pr.crashP *= 4;
    }
    for (let c = 1; c <= pr.clients; c++) {
      const client: ClientState = { id: c, seq: 0, op: null };
      if (this.app) this.appClients.push({ id: c, op: null });
      else this.clients.push(client);
      this.schedule({ kind: 'client', client: c, time: this.now + this.prng.int(1, 50), seq: 0 });
    }
    this.schedule({ kind: 'chaos', time: 5, seq: 0 });
  }

  // ---- Running --------------------------------------------------------------------------------

  run(steps: number): SimResult {
    // Safety phase: faults on.
    while (this.step < steps && this.violations.length === 0) {
      if (!this.next()) break;
    }
    if (this.violations.length === 0 || !this.stopAtFirst) this.liveness();
    this.stats.finalCommit = this.globalCommit;
    if (this.violations.length > 0 && this.debug) this.debug(this.describe());
    return { seed: this.seed, steps: this.step, violations: this.violations, profile: this.profile, stats: { ...this.stats } };
  }

  private next(): boolean {
    const ev = this.queue.pop();
    if (!ev) return false;
    this.now = ev.time;
    this.step++;
    try {
      this.handle(ev);
    } catch (err) {
      if (err instanceof AssertionFailure) this.violate('assertion', err.message);
      else throw err;
    }
    return true;
  }

  /** Heals every fault and waits for a stable leader, resolved clients and converged replicas. */
  private liveness(): void {
    this.faultsOn = false;
    this.clogs.clear();
    this.cuts.clear();
    this.cutEpoch++;
    for (const n of this.nodes.values()) {
      if (n.paused) this.resume(n);
      if (!n.alive && !n.wiped) this.restart(n);
    }
    const electionUnits = 20 * TICK * 1.2;
    // Half the seeds with pre-vote first go through partial connectivity. Its draws come from a
    // PRNG of their own, so the rest of each seed's run is the same with or without this phase.
    if (this.profile.preVote && this.replace === null) {
      const aux = new Xoshiro128(this.seed ^ 0x2545f491);
      if (aux.chance(0.5) && !this.partlyConnected(aux, electionUnits)) return;
      this.cuts.clear();
      this.cutEpoch++;
    }
    const deadline = this.now + 60 * electionUnits;
    let leader: NodeId = 0;
    let leaderTerm = 0;
    let stableSince = 0;
    let nextCheck = this.now;
    const stepCap = this.step + 40 * Math.max(this.step, 10_000);
    while (this.violations.length === 0) {
      if (!this.next()) break;
      if (this.step > stepCap) {
        this.violate('liveness', `no quiescence after ${stepCap} steps (time ${this.now}): an event storm`);
        return;
      }
      if (this.now < nextCheck) continue;
      nextCheck = this.now + TICK * 5;
      // The operator finishes a pending replacement so the configuration has no dead voter.
      this.operate();
      const l = this.currentLeader();
      if (!l || l.core.term !== leaderTerm || l.id !== leader) {
        leader = l?.id ?? 0;
        leaderTerm = l?.core.term ?? 0;
        stableSince = this.now;
      }
      const stable = leader !== 0 && this.now - stableSince >= 5 * electionUnits;
      if (stable && this.clients.every((c) => c.op === null || c.op.kind === 'read') && this.appClients.every((c) => c.op === null) && this.converged(l!)) {
        if (this.app) return;
        const lkv = l!.kv;
        if (lkv.effects !== this.issuedWrites) {
          this.violate('exactly-once', `${this.issuedWrites} writes issued and acknowledged, ${lkv.effects} took effect on the leader`);
        }
        for (const c of this.clients) {
          const last = lkv.lastSeq.get(c.id) ?? 0;
          const acked = c.op?.kind === 'write' ? c.seq - 1 : c.seq;
          if (last < acked) this.violate('exactly-once', `client ${c.id}: seq ${acked} acknowledged but the state machine has ${last}`);
        }
        return;
      }
      if (this.now > deadline) {
        const st = [...this.nodes.values()].filter((n) => n.alive).map((n) => `${n.id}:${['F', 'P', 'C', 'L'][n.core.role]}t${n.core.term}c${n.core.commit}a${n.kv.applied}`).join(' ');
        this.violate('liveness', `no stable leader with converged replicas ${(deadline - stableSince).toFixed(0)} units after healing (leader ${leader}, nodes ${st}, voters ${l?.core.membership.voters.join(',') ?? '?'})`);
        return;
      }
    }
  }

  /**
   * Liveness under partial connectivity (the Cloudflare case; etcd prevote_checkquorum.txt): a
   * random quorum of the voters (of every configuration a live node holds) is fully connected, every other node keeps only some of its links
   * to it, each direction drawn apart. With pre-vote and check-quorum a leader must be elected
   * within 60 election timeouts and then keep its term for 5. Returns false on a violation.
   */
  private partlyConnected(aux: Prng, electionUnits: number): boolean {
    let ref: NodeState | undefined;
    for (const n of this.nodes.values()) if (n.alive && (!ref || n.core.commit > ref.core.commit)) ref = n;
    if (!ref || ref.core.membership.voters.length < 3) return true;
    const alive = (id: NodeId): boolean => this.nodes.get(id)?.alive === true;
    // Every configuration a live node holds must have a quorum of live voters, or no leader could
    // be expected even with every link up.
    for (const n of this.nodes.values()) {
      if (n.alive && n.core.membership.voters.filter(alive).length < quorumOf(n.core.membership)) return true;
    }
    const voters = ref.core.membership.voters.filter(alive);
    for (let i = voters.length - 1; i > 0; i--) {
      const j = aux.int(0, i);
      [voters[i], voters[j]] = [voters[j]!, voters[i]!];
    }
    const core = voters.slice(0, quorumOf(ref.core.membership));
    // Nodes may still disagree on the configuration (an uncommitted change, a removed node that
    // never heard of it): the core must be a quorum in every one, or no leader could be expected.
    for (const n of this.nodes.values()) {
      if (!n.alive) continue;
      const m = n.core.membership;
      const extra = m.voters.filter((id) => !core.includes(id) && alive(id));
      let have = m.voters.filter((id) => core.includes(id)).length;
      while (have < quorumOf(m) && extra.length > 0) {
        core.push(extra.splice(aux.int(0, extra.length - 1), 1)[0]!);
        have++;
      }
    }
    this.stats.partialConnectivity = 1;
    for (const x of this.nodes.keys()) {
      if (core.includes(x)) continue;
      for (const c of core) {
        if (aux.chance(0.5)) this.cuts.add(`${x}>${c}`);
        if (aux.chance(0.5)) this.cuts.add(`${c}>${x}`);
      }
    }
    const deadline = this.now + 60 * electionUnits;
    const stepCap = this.step + 20 * Math.max(this.step, 10_000);
    let leader: NodeId = 0;
    let leaderTerm = 0;
    let stableSince = this.now;
    let nextCheck = this.now;
    while (this.violations.length === 0) {
      if (!this.next()) return false;
      if (this.step > stepCap) {
        this.violate('liveness', `partial connectivity: no quiescence after ${stepCap} steps (time ${this.now}): an event storm`);
        return false;
      }
      if (this.now < nextCheck) continue;
      nextCheck = this.now + TICK * 5;
      const l = this.currentLeader();
      if (!l || l.core.term !== leaderTerm || l.id !== leader) {
        leader = l?.id ?? 0;
        leaderTerm = l?.core.term ?? 0;
        stableSince = this.now;
      }
      if (leader !== 0 && this.now - stableSince >= 5 * electionUnits) return true;
      if (this.now > deadline) {
        const st = [...this.nodes.values()].filter((n) => n.alive).map((n) => `${n.id}:${['F', 'P', 'C', 'L'][n.core.role]}t${n.core.term}`).join(' ');
        this.violate('liveness', `partial connectivity (core ${core.join(',')}, cut ${[...this.cuts].join(' ')}): no leader kept its term for 5 election timeouts (nodes ${st})`);
        return false;
      }
    }
    return false;
  }

  private converged(l: NodeState): boolean {
    const m = l.core.membership;
    const target = l.core.commit;
    if (l.kv.applied !== target) return false;
    for (const id of [...m.voters, ...m.learners]) {
      const n = this.nodes.get(id);
      if (!n || !n.alive) {
        if (n?.wiped) continue;
        return false;
      }
      if (n.kv.applied !== target) return false;
      if (n.kv.hash !== l.kv.hash) {
        this.violate('replicas-converge', `node ${id} and leader ${l.id} differ at applied index ${target}`);
        return false;
      }
      if (n.replica && l.replica && n.replica.digest() !== l.replica.digest()) {
        this.violate('replicas-converge', `node ${id} and leader ${l.id} have applied the same ${target} entries; their state machines' digests differ: ${n.replica.digest()} and ${l.replica.digest()}`);
        return false;
      }
    }
    return true;
  }

  private currentLeader(): NodeState | undefined {
    let best: NodeState | undefined;
    for (const n of this.nodes.values()) {
      if (n.alive && !n.paused && n.core.role === Role.Leader && (!best || n.core.term > best.core.term)) best = n;
    }
    return best;
  }

  // ---- Events ---------------------------------------------------------------------------------

  private schedule(ev: Ev): void {
    this.queue.push(ev);
  }

  private handle(ev: Ev): void {
    switch (ev.kind) {
      case 'tick': {
        const n = this.nodes.get(ev.node)!;
        if (!n.alive || n.life !== ev.life) return;
        this.schedule({ kind: 'tick', node: n.id, life: n.life, time: this.now + n.tickUnits, seq: 0 });
        if (n.paused) return;
        if (this.profile.quiesceTicks > 0) this.detectFailure(n);
        const quietBefore = n.core.quiesced;
        n.core.tick();
        if (!quietBefore && n.core.quiesced) this.stats.quiescences++;
        this.pump(n);
        return;
      }
      case 'deliver': {
        const m = ev.msg;
        if (this.cuts.has(`${m.from}>${m.to}`)) return;
        const n = this.nodes.get(m.to);
        if (!n || !n.alive) return;
        if (n.paused) {
          if (n.held.length < 10_000) n.held.push(m);
          return;
        }
        this.stepInto(n, m);
        this.pump(n);
        return;
      }
      case 'persisted': {
        const n = this.nodes.get(ev.node)!;
        if (!n.alive || n.life !== ev.life || !n.inFlight) return;
        if (n.paused) {
          this.schedule({ ...ev, time: this.now + TICK });
          return;
        }
        this.finishReady(n);
        this.pump(n);
        return;
      }
      case 'client':
        if (this.app) this.appClientStep(this.appClients[ev.client - 1]!);
        else this.clientStep(this.clients[ev.client - 1]!);
        this.schedule({ kind: 'client', client: ev.client, time: this.now + this.prng.int(10, 60), seq: 0 });
        return;
      case 'chaos':
        if (this.faultsOn) this.chaos();
        this.schedule({ kind: 'chaos', time: this.now + 5, seq: 0 });
        return;
      case 'restart': {
        const n = this.nodes.get(ev.node)!;
        if (!n.alive && !n.wiped) this.restart(n);
        return;
      }
      case 'resume': {
        const n = this.nodes.get(ev.node)!;
        if (n.paused) this.resume(n);
        return;
      }
      case 'heal':
        if (ev.epoch === this.cutEpoch) {
          this.cuts.clear();
          this.log('the network heals');
        }
        return;
    }
  }

  private stepInto(n: NodeState, m: Message): void {
    const termBefore = n.core.term;
    n.core.step(m);
    if (m.type === MessageType.PreVote && n.core.term !== termBefore) {
      this.violate('prevote-term-change', `node ${n.id} moved from term ${termBefore} to ${n.core.term} on a pre-vote from ${m.from}`);
    }
  }

  // ---- The simulated host ---------------------------------------------------------------------

  private pump(n: NodeState): void {
    if (!n.alive || n.paused) return;
    // The moment a leader's commit moves, what it commits must be durable on a quorum of the
    // configuration in force right now.
    const commit = n.core.commit;
    if (commit > n.seenCommit) {
      if (n.core.role === Role.Leader) {
        this.checkDurableQuorum(n, commit);
        this.commitOfTerm.set(n.core.term, Math.max(commit, this.commitOfTerm.get(n.core.term) ?? 0));
        // A leader moves its commit only by counting a quorum on an entry of its own term (the
        // hard state no longer carries every commit advance, so this is checked here as well).
        const t = n.core.logTerm(commit);
        if (t !== n.core.term) this.violate('commit-current-term', `leader ${n.id} of term ${n.core.term} committed index ${commit} of term ${t} by counting`);
      }
      n.seenCommit = commit;
    }
    if (n.inFlight || !n.core.hasReady()) return;
    const rd = n.core.ready();
    n.inFlight = rd;
    n.inFlightRole = n.core.role;
    n.inFlightTerm = n.core.term;
    if (rd.softState) this.onSoftState(n, rd);
    if (n.core.role === Role.Leader && rd.entries.length > 0 && rd.entries[0]!.index <= n.store.lastIndex()) {
      this.violate('leader-append-only', `leader ${n.id} (term ${n.core.term}) rewrites index ${rd.entries[0]!.index} (durable last ${n.store.lastIndex()})`);
    }
    if (n.core.role === Role.Leader && rd.entries.length > 0) this.checkConfigAppend(n, rd);
    for (const m of rd.messages) this.send(n, m);
    this.schedule({ kind: 'persisted', node: n.id, life: n.life, time: this.now + this.prng.int(1, 8), seq: 0 });
  }

  private onSoftState(n: NodeState, rd: Ready): void {
    const soft = rd.softState!;
    if (soft.role !== Role.Leader) return;
    this.stats.leaderChanges++;
    this.log(`node ${n.id} leads term ${soft.term}`);
    const prev = this.leaderOfTerm.get(soft.term);
    if (prev !== undefined && prev !== n.id) this.violate('election-safety', `nodes ${prev} and ${n.id} both lead term ${soft.term}`);
    this.leaderOfTerm.set(soft.term, n.id);
    // Leader completeness: the log of a leader of term T holds every entry committed in the terms
    // before T. (Not necessarily what later terms committed: votes of term T may arrive, delayed,
    // after another leader of a later term has committed more.)
    let bound = 0;
    for (const [term, index] of this.commitOfTerm) if (term < soft.term && index > bound) bound = index;
    const last = n.core.status().lastIndex;
    if (last < bound) {
      this.violate('leader-completeness', `leader ${n.id} of term ${soft.term} ends at ${last}, below the index ${bound} committed in an earlier term`);
    }
  }

  private finishReady(n: NodeState): void {
    const rd = n.inFlight!;
    this.checkWrite(n, rd);
    n.store.stage(rd);
    if (rd.snapshot) {
      this.checkSnapshotMeta(n, rd.snapshot, 'installs');
      this.restoreState(n);
      this.stats.snapshotsInstalled++;
      this.log(`node ${n.id} installs a snapshot at ${rd.snapshot.index}`);
    }
    for (const m of rd.persistedMessages) this.send(n, m);
    for (const e of rd.committedEntries) this.applyEntry(n, e);
    if (n.kv.applied > n.core.commit) this.violate('applied-le-commit', `node ${n.id} applied ${n.kv.applied} above its commit ${n.core.commit}`);
    for (const r of rd.readStates) n.readsAwaiting.push(r);
    for (const id of rd.droppedReads) this.readFailed(id);
    this.serveReads(n);
    n.core.advance(rd);
    n.inFlight = null;
    this.maybeSnapshot(n);
  }

  /**
   * At most one configuration change is uncommitted: a leader appends a Config entry only when
   * every Config entry in its log is committed. (The commit index seen here is at least the one
   * when the change was proposed, so this never blames a legal append.)
   */
  private checkConfigAppend(n: NodeState, rd: Ready): void {
    let i = 0;
    while (i < rd.entries.length && rd.entries[i]!.type !== EntryType.Config) i++;
    if (i === rd.entries.length) return;
    const commit = n.core.commit;
    const s = n.store;
    const first = rd.entries[0]!.index;
    let pending = 0;
    for (let at = Math.max(commit + 1, s.firstIndex()); at < first && at <= s.lastIndex(); at++) {
      if (s.entries(at, at + 1, 0)[0]!.type === EntryType.Config) pending = at;
    }
    for (; i < rd.entries.length; i++) {
      const e = rd.entries[i]!;
      if (e.type !== EntryType.Config) continue;
      if (pending > commit) this.violate('config-change-rule', `leader ${n.id} (term ${n.core.term}) appends a config change at ${e.index} while the one at ${pending} is uncommitted (commit ${commit})`);
      pending = e.index;
    }
  }

  /**
   * Log matching, for every entry written anywhere (not only the committed ones): two entries
   * with the same index and term are the same entry.
   */
  private checkLogMatching(n: NodeState, entries: readonly Entry[]): void {
    for (const e of entries) {
      const hash = hashEntry(e);
      let seen = this.written.get(e.index);
      if (seen === undefined) {
        seen = [];
        this.written.set(e.index, seen);
      }
      let found = false;
      for (let k = 0; k < seen.length; k += 2) {
        if (seen[k] !== e.term) continue;
        found = true;
        if (seen[k + 1] !== hash) this.violate('log-matching', `node ${n.id} writes index ${e.index} term ${e.term} unlike the entry another node holds there in that term`);
      }
      if (!found) seen.push(e.term, hash);
    }
  }

  /** Checks a Ready's writes against what is durable before they land. */
  private checkWrite(n: NodeState, rd: Ready): void {
    const store = n.store;
    this.checkLogMatching(n, rd.entries);
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      if (first <= store.lastIndex()) {
        const upTo = Math.min(store.lastIndex(), this.globalCommit);
        for (let i = Math.max(first, store.firstIndex()); i <= upTo; i++) {
          const replaced = rd.entries[i - first];
          const c = this.committed.get(i);
          // Dropping a divergent entry is right; dropping the committed one is the bug.
          if (c && store.term(i) === c.term && (!replaced || replaced.term !== c.term)) {
            this.violate('truncated-committed', `node ${n.id} drops committed entry ${i} (term ${c.term}) rewriting from ${first}`);
            break;
          }
        }
      }
    }
    const hs = rd.hardState;
    if (hs) {
      const prev = store.hardState;
      if (hs.term < prev.term) this.violate('term-monotonic', `node ${n.id} term ${prev.term} -> ${hs.term}`);
      if (hs.term === prev.term && prev.vote !== 0 && hs.vote !== prev.vote) this.violate('vote-once', `node ${n.id} changed its vote in term ${hs.term}: ${prev.vote} -> ${hs.vote}`);
      if (hs.commit < prev.commit) this.violate('commit-monotonic', `node ${n.id} commit ${prev.commit} -> ${hs.commit}`);
      if (hs.vote !== 0) {
        const key = `${n.id}:${hs.term}`;
        const v = this.votes.get(key);
        if (v !== undefined && v !== hs.vote) this.violate('vote-once', `node ${n.id} voted for ${v} and ${hs.vote} in term ${hs.term}`);
        this.votes.set(key, hs.vote);
      }
      if (n.inFlightRole === Role.Leader && hs.commit > prev.commit) {
        const t = this.termAt(n, rd, hs.commit);
        if (t !== n.inFlightTerm) this.violate('commit-current-term', `leader ${n.id} of term ${n.inFlightTerm} committed index ${hs.commit} of term ${t} by counting`);
      }
    }
  }

  private termAt(n: NodeState, rd: Ready, index: number): number {
    for (const e of rd.entries) if (e.index === index) return e.term;
    if (index >= n.store.firstIndex() - 1 && index <= n.store.lastIndex()) return n.store.term(index);
    return -1;
  }

  private applyEntry(n: NodeState, e: Entry): void {
    if (e.index !== n.kv.applied + 1) {
      this.violate('assertion', `node ${n.id} applies ${e.index} after ${n.kv.applied}`);
      return;
    }
    const hash = hashEntry(e);
    const known = this.committed.get(e.index);
    if (known) {
      if (known.term !== e.term || known.hash !== hash) this.violate('log-matching', `node ${n.id} applies index ${e.index} term ${e.term}, others applied term ${known.term}`);
    } else {
      this.committed.set(e.index, { term: e.term, hash });
      if (e.type === EntryType.Config && e.index > this.configHistory[this.configHistory.length - 1]!.index) {
        this.configHistory.push({ index: e.index, membership: decodeConfigEntry(e.data).membership });
      }
    }
    if (e.index > this.globalCommit) this.globalCommit = e.index;
    const { duplicate } = n.kv.applyEntry(e.index, e.term, e.data, e.type === EntryType.Normal);
    if (e.type === EntryType.Config && n.core.role === Role.Leader) this.stats.configChanges++;
    void duplicate;
    const appResult = n.replica && e.type === EntryType.Normal ? this.applyToReplica(n, e) : undefined;
    // A client's write is acknowledged when its proposer applies it.
    for (const c of this.clients) {
      const op = c.op;
      if (!op || op.kind !== 'write' || op.node !== n.id || op.index !== e.index) continue;
      if (op.term === e.term) {
        const reg = n.kv.registers.get(op.key);
        if (reg) this.ackedVersion.set(op.key, Math.max(this.ackedVersion.get(op.key) ?? 0, reg.version));
        this.stats.writesAcked++;
        c.op = null;
      } else {
        op.index = -1; // replaced: resend
        op.sentAt = -Infinity;
      }
    }
    for (const c of this.appClients) {
      const op = c.op;
      if (!op || op.kind !== 'write' || op.node !== n.id || op.life !== n.life || op.index !== e.index) continue;
      // Another leader's entry took the index: this proposal can never be committed.
      if (op.term !== e.term) this.app!.discard(op.id, `index ${e.index} went to another leader's entry`, this.now);
      else this.app!.answer(op.id, appResult, this.now, n.id);
      c.op = null;
    }
  }

  // ---- A user's app ---------------------------------------------------------------------------

  /** The node's own clock in ms for the user's code (its tick rate is skewed; each node has an offset). */
  private nodeTime(n: NodeState): number {
    return Math.floor((this.now * TICK) / n.tickUnits) + ((n.id * 7919) % 97);
  }

  private snapshotOf(n: NodeState): Uint8Array {
    const kv = n.kv.snapshot();
    if (!n.replica) return kv;
    const user = n.replica.snapshot(this.nodeTime(n));
    const out = new Uint8Array(4 + kv.byteLength + user.byteLength);
    new DataView(out.buffer).setUint32(0, kv.byteLength);
    out.set(kv, 4);
    out.set(user, 4 + kv.byteLength);
    return out;
  }

  /** Rebuilds the node's volatile state from its latest snapshot (restart, snapshot install). */
  private restoreState(n: NodeState): void {
    const data = n.store.readSnapshot(0, n.store.snapshotSize());
    if (!this.app) {
      n.kv = SimKv.restore(data);
      return;
    }
    n.replica = this.app.replica();
    if (data.byteLength === 0) {
      n.kv = new SimKv();
      return;
    }
    const kvBytes = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
    n.kv = SimKv.restore(data.subarray(4, 4 + kvBytes));
    n.replica.restore(data.subarray(4 + kvBytes), this.nodeTime(n));
    const index = n.store.snapshotMeta().index;
    const known = this.appDigests.get(index);
    const digest = n.replica.digest();
    if (known && digest !== null && digest !== known.digest) {
      this.violate('snapshot-restore', `node ${n.id} restored the snapshot at ${index}: digest ${digest}; node ${known.node} had ${known.digest} after applying ${index}`);
    }
  }

  /**
   * Applies a Normal entry to the user's machine and compares what it gave (result, digest) with
   * the first replica that applied this index: apply must be deterministic.
   */
  private applyToReplica(n: NodeState, e: Entry): unknown {
    const output = n.replica!.apply(e.data, e.index, this.nodeTime(n));
    const result = canonical(output);
    const first = this.appResults.get(e.index);
    if (!first) this.appResults.set(e.index, { node: n.id, result });
    else if (first.result !== result) {
      this.violate('replicas-diverge', `node ${n.id} applied index ${e.index} with result ${clip(result)}; node ${first.node} got ${clip(first.result)} from the same command`);
    }
    const digest = n.replica!.digest();
    if (digest === null) return output;
    const known = this.appDigests.get(e.index);
    if (!known) this.appDigests.set(e.index, { node: n.id, digest });
    else if (known.digest !== digest) {
      this.violate('replicas-diverge', `node ${n.id} after applying index ${e.index}: state digest ${clip(digest)}; node ${known.node} had ${clip(known.digest)}`);
    }
    return output;
  }

  private appClientStep(c: AppClient): void {
    const app = this.app!;
    if (this.profile.quiesceTicks > 0 && this.faultsOn) {
      if (this.now < (this.idleUntil.get(c.id) ?? 0)) return;
      if (this.quiesceRng.chance(0.03)) {
        this.idleUntil.set(c.id, this.now + this.quiesceRng.int(100, 1500));
        return;
      }
    }
    const op = c.op;
    if (op) {
      if (this.now - op.sentAt < 300) return;
      // The client gives up: a read had no effect; a write's outcome is unknown.
      if (op.kind === 'read') {
        this.appReads.delete(op.readId);
        app.discard(op.id, 'read timed out', this.now);
      } else app.timeout(op.id, this.now);
      c.op = null;
    }
    // In the liveness phase clients only finish what they started.
    if (!this.faultsOn) return;
    const { id, op: next } = app.invoke(this.prng, c.id, this.now);
    if (next.kind === 'write') {
      const l = this.currentLeader() ?? this.randomLiveNode();
      if (!l) {
        app.discard(id, 'no live node', this.now);
        return;
      }
      try {
        const { firstIndex, term } = l.core.propose([next.command]);
        c.op = { id, kind: 'write', node: l.id, life: l.life, index: firstIndex, term, sentAt: this.now, readId: 0 };
        this.pump(l);
      } catch (err) {
        if (!(err instanceof FlotillaError)) throw err;
        app.discard(id, `proposal refused: ${err.code}`, this.now);
      }
      return;
    }
    const n = this.randomLiveNode();
    if (!n) {
      app.discard(id, 'no live node', this.now);
      return;
    }
    if (next.local) {
      // Served from the node's state machine as it is, with no ReadIndex: may be stale.
      app.answer(id, app.query(id, n.replica!, this.nodeTime(n)), this.now, n.id);
      return;
    }
    const readId = this.nextReadId++;
    try {
      n.core.readIndex(readId);
      c.op = { id, kind: 'read', node: n.id, life: n.life, index: -1, term: 0, sentAt: this.now, readId };
      this.appReads.set(readId, { client: c, node: n.id });
      this.pump(n);
    } catch (err) {
      if (!(err instanceof FlotillaError)) throw err;
      app.discard(id, `read refused: ${err.code}`, this.now);
    }
  }

  private serveAppRead(n: NodeState, readId: number): void {
    const pending = this.appReads.get(readId);
    if (!pending || pending.node !== n.id) return;
    this.appReads.delete(readId);
    const op = pending.client.op;
    if (!op || op.readId !== readId) return;
    this.app!.answer(op.id, this.app!.query(op.id, n.replica!, this.nodeTime(n)), this.now, n.id);
    this.stats.readsServed++;
    pending.client.op = null;
  }

  private log(line: string): void {
    if (this.trace) this.trace(`t=${this.now} step=${this.step} ${line}`);
  }

  /**
   * An index a leader commits must be durable on a quorum of the configuration in force. (A wiped
   * node keeps its old store here, so what it held before the wipe still counts: the entry was
   * durable there when it was committed.)
   */
  private checkDurableQuorum(n: NodeState, index: number): void {
    const m = n.core.membership;
    const term = n.core.logTerm(index);
    let durable = 0;
    for (const id of m.voters) {
      const other = this.nodes.get(id);
      if (!other) continue;
      const s = other.store;
      if (index <= s.lastIndex() && index >= s.firstIndex() - 1 && s.term(index) === term) durable++;
      else if (index <= s.snapshotMeta().index) durable++;
    }
    if (durable < quorumOf(m)) this.violate('committed-durable-quorum', `index ${index} committed by leader ${n.id} but durable on ${durable} of voters ${m.voters.join(',')}`);
  }

  /** One line per node, for reports and debugging. */
  describe(): string {
    const lines: string[] = [];
    for (const n of this.nodes.values()) {
      const st = n.core.status();
      lines.push(`node ${n.id}${n.alive ? '' : n.wiped ? ' WIPED' : ' DOWN'}${n.paused ? ' PAUSED' : ''} ${['follower', 'pre-candidate', 'candidate', 'leader'][st.role]} term ${st.term} vote ${st.vote} leader ${st.leader} commit ${st.commit} applied ${n.kv.applied} stable ${st.stableIndex} first ${st.firstIndex} last ${st.lastIndex} snap ${n.store.snapshotMeta().index} voters ${st.membership.voters.join(',')} learners ${st.membership.learners.join(',')} inflight ${n.inFlight ? n.inFlight.number : '-'} progress ${[...st.progress].map(([id, p]) => `${id}:${p.state}/m${p.match}/n${p.next}`).join(' ')}`);
    }
    lines.push(`cuts ${[...this.cuts].join(' ')} replace ${JSON.stringify(this.replace)} now ${this.now}`);
    return lines.join('\n');
  }

  /**
   * A snapshot carries the term of its last entry and the configuration in force there (the
   * latest committed one at or below its index): otherwise a node restored from it counts
   * quorums with the wrong voters.
   */
  private checkSnapshotMeta(n: NodeState, meta: SnapshotMeta, verb: string): void {
    const known = this.committed.get(meta.index);
    if (meta.index > this.globalCommit) this.violate('snapshot-meta', `node ${n.id} ${verb} a snapshot at ${meta.index}, above the committed index ${this.globalCommit}`);
    if (known && known.term !== meta.term) this.violate('snapshot-meta', `node ${n.id} ${verb} a snapshot at ${meta.index} with term ${meta.term}; the entry there has term ${known.term}`);
    let expected = this.configHistory[0]!.membership;
    for (const c of this.configHistory) {
      if (c.index > meta.index) break;
      expected = c.membership;
    }
    if (!sameMembers(expected.voters, meta.membership.voters) || !sameMembers(expected.learners, meta.membership.learners)) {
      this.violate('snapshot-meta', `node ${n.id} ${verb} a snapshot at ${meta.index} with voters ${meta.membership.voters.join(',')} learners ${meta.membership.learners.join(',')}; in force there: voters ${expected.voters.join(',')} learners ${expected.learners.join(',')}`);
    }
  }

  private maybeSnapshot(n: NodeState): void {
    const snapIndex = n.store.snapshotMeta().index;
    if (n.kv.applied - snapIndex < this.profile.snapshotEvery) return;
    const meta = n.core.snapshotMetaAt(n.kv.applied);
    if (!meta) return;
    this.checkSnapshotMeta(n, meta, 'takes');
    void n.store.saveSnapshot(meta, this.snapshotOf(n), Math.max(1, n.kv.applied - this.prng.int(0, 20) + 1));
  }

  // ---- Network --------------------------------------------------------------------------------

  private send(from: NodeState, m: Message): void {
    this.checkOutgoing(from, m);
    if (this.cuts.has(`${m.from}>${m.to}`)) return;
    const pr = this.profile;
    if (this.faultsOn && this.prng.chance(pr.dropP)) return;
    this.schedule({ kind: 'deliver', msg: m, time: this.clogged(m, this.now + this.delay()), seq: 0 });
    if (this.faultsOn && this.prng.chance(pr.dupP)) this.schedule({ kind: 'deliver', msg: m, time: this.clogged(m, this.now + this.delay() * 3), seq: 0 });
  }

  /** The delivery time of a message on a clogged link: after the clog ends, in the same order. */
  private clogged(m: Message, time: number): number {
    if (this.clogs.size === 0 || !this.faultsOn) return time;
    const key = m.from * 1024 + m.to;
    const until = this.clogs.get(key);
    if (until === undefined) return time;
    if (until <= this.now) {
      this.clogs.delete(key);
      return time;
    }
    return until + (time - this.now);
  }

  private delay(): number {
    const pr = this.profile;
    const d = pr.delayMin + Math.floor(-Math.log(1 - this.prng.next()) * (this.faultsOn ? pr.delayMean : 2));
    return Math.min(d, 400);
  }

  /** What a message promises must already be durable when it leaves. */
  private checkOutgoing(n: NodeState, m: Message): void {
    const hs = n.store.hardState;
    if (m.type === MessageType.VoteResponse && !m.reject) {
      // Durable means: this vote, or a later term (which rules out voting again in this one).
      if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to)) this.violate('vote-before-durable', `node ${n.id} grants its vote to ${m.to} in term ${m.term}; durable term ${hs.term} vote ${hs.vote}`);
    } else if (m.type === MessageType.AppendResponse && !m.reject) {
      if (n.store.lastIndex() < m.index && n.store.snapshotMeta().index < m.index) this.violate('ack-before-durable', `node ${n.id} acknowledges index ${m.index}; durable last ${n.store.lastIndex()}`);
    }
    if (m.type !== MessageType.PreVote && m.type !== MessageType.PreVoteResponse && m.term > hs.term) {
      this.violate('term-before-durable', `node ${n.id} sends ${m.type} in term ${m.term}; durable term ${hs.term}`);
    }
  }

  // ---- Nodes, faults, operator ----------------------------------------------------------------

  private addNode(id: NodeId, bootstrap: Membership): NodeState {
    const store = new MemoryGroupStore(bootstrap);
    const n: NodeState = {
      id, store, core: this.makeCore(id, store), kv: new SimKv(), alive: true, wiped: false, paused: false, pausedAt: 0, held: [],
      life: 0, tickUnits: this.profile.skew ? this.prng.int(9, 11) : TICK, inFlight: null, inFlightRole: Role.Follower, inFlightTerm: 0, seenCommit: 0,
      readsAwaiting: [], replica: this.app ? this.app.replica() : null,
    };
    this.nodes.set(id, n);
    this.schedule({ kind: 'tick', node: id, life: 0, time: this.now + this.prng.int(1, TICK), seq: 0 });
    return n;
  }

  private makeCore(id: NodeId, store: MemoryGroupStore): RaftCore {
    const options = { id, log: store, initial: store.initialState(), prng: this.prng.fork(), settings: this.settings };
    if (this.coreFactory) return this.coreFactory(options);
    return this.plant ? new PlantedBugCore(options, this.plant) : new RaftCore(options);
  }

  private crash(n: NodeState, wipe: boolean): void {
    this.stats.crashes++;
    // A write in flight is lost, or torn: a prefix of its entries reached the disk.
    const rd = n.inFlight;
    if (rd && rd.entries.length > 1 && !rd.snapshot && this.prng.chance(this.profile.tornP)) {
      const keep = this.prng.int(0, rd.entries.length - 1);
      const partial: Ready = { ...rd, entries: rd.entries.slice(0, keep), hardState: null, snapshotChunks: [], snapshot: null, persistedMessages: [], committedEntries: [] };
      this.checkWrite(n, partial);
      n.store.stage(partial);
    }
    this.log(`node ${n.id} crashes${wipe ? ' and its disk is wiped' : ''} (durable last ${n.store.lastIndex()})`);
    n.alive = false;
    n.paused = false;
    n.held = [];
    n.inFlight = null;
    n.life++;
    n.readsAwaiting = [];
    if (wipe) {
      n.wiped = true;
      return;
    }
    this.schedule({ kind: 'restart', node: n.id, time: this.now + this.prng.int(50, 500), seq: 0 });
  }

  private restart(n: NodeState): void {
    n.alive = true;
    n.life++;
    n.core = this.makeCore(n.id, n.store);
    n.seenCommit = n.core.commit;
    this.restoreState(n);
    if (n.kv.applied !== n.store.snapshotMeta().index) n.kv.applied = n.store.snapshotMeta().index;
    this.log(`node ${n.id} restarts from its disk (snapshot ${n.store.snapshotMeta().index}, last ${n.store.lastIndex()})`);
    n.inFlight = null;
    this.schedule({ kind: 'tick', node: n.id, life: n.life, time: this.now + this.prng.int(1, TICK), seq: 0 });
  }

  private resume(n: NodeState): void {
    n.paused = false;
    this.log(`node ${n.id} resumes`);
    // The host's clock kept running: catch up the ticks missed (bounded), as RaftHost does.
    const missed = Math.min(Math.floor((this.now - n.pausedAt) / n.tickUnits), 100);
    for (let i = 0; i < missed; i++) n.core.tick();
    const held = n.held;
    n.held = [];
    for (const m of held) this.stepInto(n, m);
    this.pump(n);
  }

  private chaos(): void {
    const pr = this.profile;
    const p = this.prng;
    const alive = [...this.nodes.values()].filter((n) => n.alive && !n.wiped);
    if (p.chance(pr.partitionP)) this.partition();
    if (p.chance(pr.crashP) && alive.length > 0) this.crash(alive[p.int(0, alive.length - 1)]!, false);
    if (p.chance(pr.pauseP) && alive.length > 0) {
      const n = alive[p.int(0, alive.length - 1)]!;
      if (!n.paused) {
        n.paused = true;
        n.pausedAt = this.now;
        this.log(`node ${n.id} pauses`);
        this.schedule({ kind: 'resume', node: n.id, time: this.now + p.int(20, 400), seq: 0 });
      }
    }
    if (p.chance(pr.memberP)) this.membershipChange();
    this.operate();
    if (pr.clogP > 0 && this.aux.chance(pr.clogP)) {
      const ids = [...this.nodes.keys()];
      const from = ids[this.aux.int(0, ids.length - 1)]!;
      const to = ids[this.aux.int(0, ids.length - 1)]!;
      if (from !== to) this.clogs.set(from * 1024 + to, this.now + this.aux.int(50, 1500));
    }
  }

  private partition(): void {
    const p = this.prng;
    const ids = [...this.nodes.keys()];
    this.cuts.clear();
    const epoch = ++this.cutEpoch;
    const kind = p.int(0, 4);
    const cutBoth = (a: NodeId, b: NodeId): void => {
      this.cuts.add(`${a}>${b}`);
      this.cuts.add(`${b}>${a}`);
    };
    if (kind === 0 || kind === 1) {
      // Isolate one node (kind 1: the leader).
      const target = kind === 1 ? this.currentLeader()?.id ?? ids[p.int(0, ids.length - 1)]! : ids[p.int(0, ids.length - 1)]!;
      for (const o of ids) if (o !== target) cutBoth(target, o);
    } else if (kind === 2) {
      // Majority / minority split.
      const shuffled = ids.slice().sort(() => p.next() - 0.5);
      const minority = shuffled.slice(0, Math.floor(ids.length / 2));
      for (const a of minority) for (const b of ids) if (!minority.includes(b)) cutBoth(a, b);
    } else if (kind === 3) {
      // One-way links.
      const count = p.int(1, Math.max(1, ids.length));
      for (let i = 0; i < count; i++) {
        const a = ids[p.int(0, ids.length - 1)]!;
        const b = ids[p.int(0, ids.length - 1)]!;
        if (a !== b) this.cuts.add(`${a}>${b}`);
      }
    } // kind 4: heal now
    this.log(`partition: cut ${[...this.cuts].join(' ') || 'nothing'}`);
    this.schedule({ kind: 'heal', epoch, time: this.now + p.int(100, 2000), seq: 0 });
  }

  /** Starts a membership change through the leader. */
  private membershipChange(): void {
    const l = this.currentLeader();
    if (!l || this.replace) return;
    const p = this.prng;
    const m = l.core.membership;
    const live = [...this.nodes.values()].filter((n) => n.alive && !n.wiped).length;
    const r = p.int(0, 3);
    try {
      if (r === 0 && this.nodes.size < 10) {
        const id = this.nextNodeId++;
        this.addNode(id, membershipOf([]));
        this.propose(l, { type: ConfigChangeType.AddLearner, node: id });
      } else if (r === 1 && m.voters.length > 1) {
        const victim = m.voters[p.int(0, m.voters.length - 1)]!;
        this.propose(l, { type: ConfigChangeType.Remove, node: victim });
      } else if (r === 2 && m.voters.length >= 3 && live >= m.voters.length) {
        // Replace a voter whose disk is wiped: it never returns under its id.
        const old = m.voters[p.int(0, m.voters.length - 1)]!;
        if (old === l.id) return;
        // Only within the fault tolerance: every configuration a live node holds (an uncommitted
        // one too) keeps a live quorum without the wiped node. Beyond it, nothing can be expected.
        for (const n of this.nodes.values()) {
          if (!n.alive) continue;
          const cm = n.core.membership;
          if (cm.voters.filter((id) => id !== old && this.nodes.get(id)?.alive === true).length < quorumOf(cm)) return;
        }
        this.crash(this.nodes.get(old)!, true);
        const fresh = this.nextNodeId++;
        this.addNode(fresh, membershipOf([]));
        this.replace = { old, fresh };
      } else if (m.learners.length > 0) {
        this.propose(l, { type: ConfigChangeType.PromoteLearner, node: m.learners[0]! });
      }
    } catch (err) {
      if (!(err instanceof FlotillaError)) throw err;
    }
  }

  /** Drives a pending replacement: add the fresh node as learner, promote it, remove the old. */
  private operate(): void {
    const job = this.replace;
    const l = this.currentLeader();
    if (!job || !l) return;
    const m = l.core.membership;
    try {
      if (!m.voters.includes(job.fresh) && !m.learners.includes(job.fresh)) {
        this.propose(l, { type: ConfigChangeType.AddLearner, node: job.fresh });
      } else if (m.learners.includes(job.fresh)) {
        this.propose(l, { type: ConfigChangeType.PromoteLearner, node: job.fresh });
      } else if (m.voters.includes(job.old)) {
        this.propose(l, { type: ConfigChangeType.Remove, node: job.old });
      } else if (l.core.status().pendingConfigIndex === 0) {
        // Done only once the removal is committed: an uncommitted one may still be lost.
        this.replace = null;
      }
    } catch (err) {
      if (!(err instanceof FlotillaError)) throw err;
    }
  }

  private propose(l: NodeState, change: { type: ConfigChangeType; node: NodeId }): void {
    l.core.proposeConfigChange(change);
    this.log(`leader ${l.id} proposes config change ${Object.keys(ConfigChangeType).find((k) => ConfigChangeType[k as keyof typeof ConfigChangeType] === change.type)} of node ${change.node}`);
    // The rule: a leader appends a config entry only after committing an entry of its term, and
    // with no other config change uncommitted.
    const st = l.core.status();
    const commitTerm = st.commit === 0 ? 0 : l.core.logTerm(st.commit);
    if (commitTerm !== -1 && commitTerm !== st.term) {
      this.violate('config-change-rule', `leader ${l.id} of term ${st.term} appended a config change with its commit ${st.commit} in term ${commitTerm}`);
    }
    this.pump(l);
  }

  // ---- Clients --------------------------------------------------------------------------------

  /**
   * The host's failure detector (see `quiesceRng`): a quiet follower whose leader is down, paused,
   * cut off or clogged towards it wakes; a quiet leader wakes when a member restarted since it last
   * looked (its host hears the member's again after a silence).
   */
  private detectFailure(n: NodeState): void {
    if (n.core.role === Role.Leader) {
      const m = n.core.membership;
      for (const id of [...m.voters, ...m.learners]) {
        const o = this.nodes.get(id);
        if (!o || id === n.id) continue;
        // Only what the host can hear: a member that is up and whose link to us is.
        if (!o.alive || o.paused || this.cuts.has(`${id}>${n.id}`)) continue;
        const key = n.id * 1024 + id;
        const seen = this.livesSeen.get(key);
        this.livesSeen.set(key, o.life);
        if (n.core.quiesced && seen !== undefined && seen !== o.life) {
          n.core.wake();
          this.stats.wakes++;
        }
      }
      return;
    }
    if (!n.core.quiesced) return;
    const id = n.core.leader;
    const l = this.nodes.get(id);
    const silent = !l || !l.alive || l.paused || this.cuts.has(`${id}>${n.id}`) || (this.clogs.get(id * 1024 + n.id) ?? 0) > this.now;
    if (silent || this.quiesceRng.chance(0.005)) {
      n.core.wake();
      this.stats.wakes++;
    }
  }

  private clientStep(c: ClientState): void {
    if (this.profile.quiesceTicks > 0 && this.faultsOn) {
      // Clients pause at times, so groups go idle and quiesce.
      if (this.now < (this.idleUntil.get(c.id) ?? 0)) return;
      if (this.quiesceRng.chance(0.03)) {
        this.idleUntil.set(c.id, this.now + this.quiesceRng.int(100, 1500));
        return;
      }
    }
    const op = c.op;
    if (op && this.now - op.sentAt < 300) return;
    if (op && op.kind === 'read') {
      this.pendingReads.delete(op.readId);
      c.op = null;
    }
    if (!c.op) {
      // In the liveness phase clients only finish what they started.
      if (!this.faultsOn) return;
      if (this.prng.chance(0.7)) {
        c.seq++;
        this.issuedWrites++;
        c.op = { kind: 'write', seq: c.seq, key: this.prng.int(1, 5), value: this.prng.int(1, 1_000_000), node: 0, index: -1, term: 0, sentAt: -Infinity, readId: 0, minVersion: 0, minIndex: 0 };
      } else {
        this.startRead(c);
        return;
      }
    }
    this.sendWrite(c, c.op!);
  }

  private sendWrite(c: ClientState, op: ClientOp): void {
    const l = this.currentLeader() ?? this.randomLiveNode();
    op.sentAt = this.now;
    if (!l) return;
    try {
      const { firstIndex, term } = l.core.propose([encodeCommand(c.id, op.seq, op.key, op.value)]);
      op.node = l.id;
      op.index = firstIndex;
      op.term = term;
      this.pump(l);
    } catch (err) {
      if (!(err instanceof FlotillaError)) throw err;
    }
  }

  private startRead(c: ClientState): void {
    const n = this.randomLiveNode();
    if (!n) return;
    const key = this.prng.int(1, 5);
    const readId = this.nextReadId++;
    let maxCommit = 0;
    for (const o of this.nodes.values()) if (o.alive) maxCommit = Math.max(maxCommit, o.core.commit);
    const op: ClientOp = {
      kind: 'read', seq: 0, key, value: 0, node: n.id, index: -1, term: 0, sentAt: this.now, readId,
      minVersion: this.ackedVersion.get(key) ?? 0, minIndex: Math.max(maxCommit, this.globalCommit),
    };
    try {
      n.core.readIndex(readId);
      c.op = op;
      this.pendingReads.set(readId, { client: c, node: n.id });
      this.pump(n);
    } catch (err) {
      if (!(err instanceof FlotillaError)) throw err;
    }
  }

  private serveReads(n: NodeState): void {
    if (n.readsAwaiting.length === 0) return;
    const keep: { id: number; index: number }[] = [];
    for (const r of n.readsAwaiting) {
      if (r.index > n.kv.applied) {
        keep.push(r);
        continue;
      }
      if (this.app) {
        this.serveAppRead(n, r.id);
        continue;
      }
      const pending = this.pendingReads.get(r.id);
      if (!pending || pending.node !== n.id) continue;
      this.pendingReads.delete(r.id);
      const op = pending.client.op;
      if (!op || op.readId !== r.id) continue;
      if (r.index < op.minIndex) {
        this.violate('read-linearizable', `read ${r.id} on node ${n.id} got read index ${r.index}, below the commit index ${op.minIndex} known when it was issued`);
      }
      const version = n.kv.registers.get(op.key)?.version ?? 0;
      if (version < op.minVersion) {
        this.violate('read-linearizable', `read of key ${op.key} on node ${n.id} saw the write at index ${version}; a write at ${op.minVersion} was acknowledged before the read began`);
      }
      this.stats.readsServed++;
      pending.client.op = null;
    }
    n.readsAwaiting = keep;
  }

  private readFailed(id: number): void {
    const appRead = this.appReads.get(id);
    if (appRead) {
      this.appReads.delete(id);
      const op = appRead.client.op;
      if (op?.readId === id) {
        this.app!.discard(op.id, 'read dropped (leadership changed)', this.now);
        appRead.client.op = null;
      }
      return;
    }
    const pending = this.pendingReads.get(id);
    if (!pending) return;
    this.pendingReads.delete(id);
    if (pending.client.op?.readId === id) pending.client.op = null;
  }

  private randomLiveNode(): NodeState | undefined {
    const live = [...this.nodes.values()].filter((n) => n.alive && !n.paused);
    return live.length > 0 ? live[this.prng.int(0, live.length - 1)] : undefined;
  }

  private violate(kind: string, detail: string): void {
    this.violations.push({ kind, step: this.step, time: this.now, detail });
  }
}

function sameMembers(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false;
  for (const id of a) if (!b.includes(id)) return false;
  return true;
}

function hashEntry(e: Entry): number {
  let h = 0x811c9dc5 ^ e.type;
  const d = e.data;
  for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d[i]!, 0x01000193);
  return h >>> 0;
}

/** Turns off the fault families the mix names (the seed's other draws are kept). */
function applyFaultMix(pr: SwarmProfile, mix: FaultMix | undefined): void {
  if (!mix) return;
  if (mix.network === false) {
    pr.dropP = 0;
    pr.dupP = 0;
    pr.partitionP = 0;
    pr.clogP = 0;
    pr.delayMin = 0;
    pr.delayMean = 1;
  }
  if (mix.crashes === false) {
    pr.crashP = 0;
    pr.tornP = 0;
  }
  if (mix.clock === false) {
    pr.pauseP = 0;
    pr.skew = false;
  }
  if (mix.membership === false) pr.memberP = 0;
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

export function runSeed(options: SimOptions): SimResult {
  return new Simulation(options).run(options.steps);
}
