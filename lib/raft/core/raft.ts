/**
 * RaftCore: the consensus state machine of one Raft group, after etcd's raft and the Raft
 * dissertation. Pure and deterministic: no I/O, no timers, no clock, no global randomness. Time is
 * `tick()`; randomness is the injected Prng; the durable log is read through LogReader and written
 * through Ready (see types.ts for the host's contract).
 *
 * What it does:
 * - Elections with randomized timeouts, pre-vote and check-quorum; a voter inside a live leader's
 *   lease ignores vote requests (unless a leadership transfer asked for them).
 * - Pipelined replication: per follower a probe / replicate / snapshot state, a window of appends
 *   in flight bounded in messages and bytes, fast back-off on rejection through a conflict hint.
 * - Commit only by counting a quorum on an entry of the leader's current term; a new leader
 *   appends a no-op at once. The leader counts itself only for entries it has made durable.
 * - Snapshots sent in chunks with a window; the log before a snapshot may be discarded by the host.
 * - Membership: one change at a time (add learner, promote, remove, add voter), each proposed only
 *   once the leader has committed an entry of its term and no other change is uncommitted; a node
 *   uses the latest configuration in its log, committed or not. Leadership transfer.
 * - Reads: ReadIndex confirmed by a heartbeat round (never across a leader change), or lease reads
 *   with check-quorum and a bounded clock drift.
 * - Quiescence (after CockroachDB): a leader whose group has been idle for `quiesceTicks` sends
 *   a last heartbeat marked `quiesce` and goes quiet; its followers stop their election clocks.
 *   Any proposal, read, transfer or message wakes the group again; so does `wake()`, which the
 *   host calls when the leader's node falls silent. An idle group then costs no messages and no
 *   work per tick. Quiet changes no durable state and no safety rule: a quiet leader sends
 *   nothing, so its lease ages out, and commits still need a quorum.
 * - Durability: any message that promises durable state (a granted vote, an append response, a
 *   message in a term not yet durable) is handed in Ready.persistedMessages, to be sent only after
 *   the Ready's writes are durable.
 */
import { assert } from '../../base/assert.js';
import { FlotillaError } from '../../base/errors.js';
import type { Prng } from '../../base/prng.js';
import { type RaftSettings, validateRaftSettings } from './config.js';
import { RaftLog } from './log.js';
import { applyConfigChange, decodeConfigEntry, encodeConfigEntry, quorumOf } from './membership.js';
import { Progress } from './progress.js';
import {
  type ConfigAt, type ConfigChange, ConfigChangeType, type Entry, EntryType, type HardState, type InitialState,
  type LogReader, type Membership, type Message, MessageType, type NodeId, type ReadState, type Ready, Role,
  type SnapshotChunk, type SnapshotMeta, type SoftState, entryBytes,
} from './types.js';

/** Planted bugs: reachable only through PlantedBugCore in lib/sim, never from a setting. */
export type PlantedBug =
  | 'commit-previous-term'
  | 'vote-before-persist'
  | 'truncate-on-stale-append'
  | 'prevote-changes-term'
  | 'reuse-read-index'
  | 'config-change-without-current-term-commit';

export interface RaftCoreOptions {
  readonly id: NodeId;
  readonly log: LogReader;
  readonly initial: InitialState;
  readonly prng: Prng;
  /** Raw settings, validated against raftSettings (config.ts). */
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
}

export interface FollowerStatus {
  readonly match: number;
  readonly next: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly recentActive: boolean;
}

export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Last index written through a Ready that has been advanced. */
  readonly stableIndex: number;
  readonly membership: Membership;
  /** Index of the latest config entry not known committed (0 when none). */
  readonly pendingConfigIndex: number;
  readonly leadTransferee: NodeId;
  readonly quiesced: boolean;
  /** Per follower, on the leader only. */
  readonly progress: ReadonlyMap<NodeId, FollowerStatus>;
}

interface PendingRead {
  readonly id: number;
  /** 0 for a local read; otherwise the follower that forwarded it. */
  readonly from: NodeId;
}

interface ReadRound {
  /** The heartbeat round whose acknowledgement by a quorum confirms these reads. */
  readonly round: number;
  readonly index: number;
  readonly reads: PendingRead[];
}

const EMPTY: readonly Entry[] = Object.freeze([]);

/** Message types that a leader sends to replicate; safe before persistence once its term is durable. */
function isLeaderReplication(type: MessageType): boolean {
  return type === MessageType.Append || type === MessageType.Heartbeat || type === MessageType.Snapshot || type === MessageType.TimeoutNow;
}

export class RaftCore {
  /** Set only by lib/sim's PlantedBugCore. */
  protected bug: PlantedBug | null = null;

  readonly settings: RaftSettings;
  private readonly selfId: NodeId;
  private readonly prng: Prng;
  private readonly logger: ((line: string) => void) | undefined;
  private readonly log: RaftLog;

  private currentTerm: number;
  private votedFor: NodeId;
  private currentRole: Role = Role.Follower;
  private lead: NodeId = 0;

  /** Configurations in the log after (and including) the snapshot's: the last one is in force. */
  private configs: ConfigAt[];
  private readonly progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  /** A candidate waits for its term and vote to be durable before counting its own vote. */
  private selfVotePending = false;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  /** Quiesced: no heartbeats (leader), no election clock (follower), until woken. */
  private quiet = false;
  /** Leader: consecutive ticks the group was idle (quiescable). */
  private idleTicks = 0;
  private randomizedElectionTimeout: number;
  /** Ticks since this node started, for leases. */
  private ticks = 0;

  private leadTransferee: NodeId = 0;
  /**
   * Set once this leader has sent TimeoutNow in its term: voters then grant votes inside the
   * lease, so the lease no longer proves anything and reads fall back to ReadIndex rounds.
   */
  private leaseRevoked = false;
  private pendingConfigIndex = 0;
  /** (index, bytes) of proposals not yet committed in this leader term. */
  private uncommitted: { index: number; bytes: number }[] = [];
  private uncommittedHead = 0;
  private uncommittedBytes = 0;

  // Read-index state.
  private heartbeatRound = 0;
  private readonly roundSentTick = new Map<number, number>();
  private readsAwaitingRound: PendingRead[] = [];
  private readRounds: ReadRound[] = [];
  /** Reads received before this leader committed an entry of its term. */
  private readsAwaitingCommit: PendingRead[] = [];
  /** Reads this follower forwarded to the leader, by id. */
  private forwardedReads = new Map<number, NodeId>();
  /** Planted bug `reuse-read-index` only: the last index a read was served at. */
  private cachedReadIndex = 0;

  // Incoming snapshot transfer (follower).
  private incoming: { meta: SnapshotMeta; nextOffset: number } | null = null;

  // What the next Ready carries.
  private msgs: Message[] = [];
  private persistedMsgs: Message[] = [];
  private chunks: SnapshotChunk[] = [];
  private readStates: ReadState[] = [];
  private droppedReads: number[] = [];
  private needBroadcast = false;
  private durable: HardState;
  private lastSoft: SoftState;
  private readyNumber = 0;
  private inFlight: Ready | null = null;

  constructor(options: RaftCoreOptions) {
    this.settings = validateRaftSettings(options.settings);
    assert(Number.isInteger(options.id) && options.id > 0, `raft: node id must be a positive integer, got ${options.id}`);
    this.selfId = options.id;
    this.prng = options.prng;
    this.logger = options.logger;
    const hs = options.initial.hardState;
    this.currentTerm = hs.term;
    this.votedFor = hs.vote;
    this.durable = hs;
    this.log = new RaftLog(options.log, hs.commit, options.initial.applied);
    const snap = options.log.snapshotMeta();
    this.configs = [{ index: snap.index, term: snap.term, membership: snap.membership }];
    for (const c of options.initial.configEntries) {
      if (c.index <= snap.index) continue;
      assert(c.index > this.configs[this.configs.length - 1]!.index, 'raft: config entries out of order');
      assert(c.index <= this.log.lastIndex(), () => `raft: config entry ${c.index} beyond the log's last index`);
      this.configs.push(c);
    }
    this.pendingConfigIndex = this.lastConfig().index > this.log.committed ? this.lastConfig().index : 0;
    this.randomizedElectionTimeout = this.drawElectionTimeout();
    this.lastSoft = this.softState();
  }

  // ---- Accessors ------------------------------------------------------------------------------

  get id(): NodeId { return this.selfId; }
  get role(): Role { return this.currentRole; }
  get term(): number { return this.currentTerm; }
  get leader(): NodeId { return this.lead; }
  get commit(): number { return this.log.committed; }
  get membership(): Membership { return this.lastConfig().membership; }

  /**
   * On the leader: voters other than itself that are out of sync — not heard from since the last
   * check-quorum round, or not replicating (probing, or behind a snapshot). Kafka's
   * under-replicated partition, in Raft's terms. 0 on a follower.
   */
  outOfSyncVoters(): number {
    if (this.currentRole !== Role.Leader) return 0;
    let n = 0;
    for (const id of this.membership.voters) {
      if (id === this.selfId) continue;
      const pr = this.progress.get(id);
      if (pr === undefined || !pr.recentActive || pr.state !== 'replicate') n++;
    }
    return n;
  }
  /** Quiesced: an idle leader, or a follower of one, that spends nothing per tick. */
  get quiesced(): boolean { return this.quiet; }

  status(): RaftStatus {
    const progress = new Map<NodeId, { match: number; next: number; state: 'probe' | 'replicate' | 'snapshot'; recentActive: boolean }>();
    if (this.currentRole === Role.Leader) {
      for (const [id, pr] of this.progress) progress.set(id, { match: pr.match, next: pr.next, state: pr.state, recentActive: pr.recentActive });
    }
    return {
      id: this.selfId, role: this.currentRole, term: this.currentTerm, vote: this.votedFor, leader: this.lead,
      commit: this.log.committed, applied: this.log.applied, firstIndex: this.log.firstIndex(), lastIndex: this.log.lastIndex(),
      stableIndex: this.log.stableIndex, membership: this.membership, pendingConfigIndex: this.pendingConfigIndex,
      leadTransferee: this.leadTransferee, quiesced: this.quiet, progress,
    };
  }

  /** The term of the entry at `index` in this node's log (durable or not), or -1 if unknown. */
  logTerm(index: number): number {
    return this.log.term(index);
  }

  /**
   * What a snapshot taken at `index` (<= applied) must carry: its term and the configuration in
   * force there. Null while a snapshot received from the leader waits to be installed (it will
   * replace the whole state, so taking one now is pointless), and where this node does not know
   * the configuration (a node that joined empty, below its first Config entry).
   */
  snapshotMetaAt(index: number): SnapshotMeta | null {
    assert(index <= this.log.applied, () => `raft: snapshot at ${index} above applied ${this.log.applied}`);
    if (this.log.pendingSnapshot !== null) return null;
    const term = this.log.term(index);
    assert(term >= 0, () => `raft: snapshot at ${index}: the term is no longer known`);
    assert(index >= this.configs[0]!.index, () => `raft: snapshot at ${index} below the oldest config ${this.configs[0]!.index}`);
    let membership = this.configs[0]!.membership;
    for (const c of this.configs) if (c.index <= index) membership = c.membership;
    // A node that joined with an empty configuration does not know the one in force below its
    // first Config entry: a snapshot must never claim "no voters". The host waits and snapshots
    // once it has applied past that entry.
    if (membership.voters.length === 0) return null;
    return { index, term, membership };
  }

  // ---- Inputs ---------------------------------------------------------------------------------

  tick(): void {
    this.ticks++;
    if (this.currentRole === Role.Leader) {
      this.tickLeader();
    } else {
      // A quiet follower's clock stands still: its leader said it is idle and alive; the host
      // wakes it when the leader's node falls silent.
      if (this.quiet) return;
      this.electionElapsed++;
      if (this.electionElapsed >= this.randomizedElectionTimeout && this.promotable()) {
        this.electionElapsed = 0;
        this.hup(false);
      }
    }
  }

  private tickLeader(): void {
    if (this.quiet) return;
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.settings.electionTicksMin) {
      this.electionElapsed = 0;
      if (this.settings.checkQuorum && !this.quorumActive()) {
        this.debug(`leader ${this.selfId} term ${this.currentTerm}: lost contact with a quorum, stepping down`);
        this.becomeFollower(this.currentTerm, 0);
        return;
      }
      if (this.leadTransferee !== 0) this.leadTransferee = 0; // the transfer timed out
    }
    const q = this.settings.quiesceTicks;
    if (q > 0) this.idleTicks = this.quiescable() ? this.idleTicks + 1 : 0;
    if (this.heartbeatElapsed >= this.settings.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      if (q > 0 && this.idleTicks >= q) {
        // The last heartbeat before going quiet carries the final commit index.
        this.broadcastHeartbeat(true);
        this.quiet = true;
        this.debug(`leader ${this.selfId} term ${this.currentTerm}: idle, quiesced at ${this.log.committed}`);
        return;
      }
      this.broadcastHeartbeat();
    }
  }

  /**
   * Whether this leader's group may go quiet: everything replicated to every member, committed in
   * this term, durable and applied here, and nothing pending (reads, transfer, config change).
   */
  private quiescable(): boolean {
    const last = this.log.lastIndex();
    if (this.log.committed !== last || this.log.applied !== last || this.log.stableIndex !== last) return false;
    if (this.log.term(last) !== this.currentTerm || this.inFlight !== null) return false;
    if (this.leadTransferee !== 0 || this.pendingConfigIndex !== 0) return false;
    if (this.readsAwaitingRound.length > 0 || this.readRounds.length > 0 || this.readsAwaitingCommit.length > 0) return false;
    for (const [id, pr] of this.progress) {
      if (id !== this.selfId && (pr.state !== 'replicate' || pr.match !== last)) return false;
    }
    return true;
  }

  /**
   * Ends quiescence: a follower runs its election clock again from zero (a full election timeout
   * before it may campaign); a leader heartbeats again at once and judges check-quorum afresh.
   * The host calls it when the leader's node falls silent; the core itself on any activity.
   */
  wake(): void {
    if (!this.quiet) return;
    this.quiet = false;
    this.idleTicks = 0;
    this.electionElapsed = 0;
    if (this.currentRole === Role.Leader) {
      this.heartbeatElapsed = this.settings.heartbeatTicks;
      for (const [id, pr] of this.progress) if (id !== this.selfId) pr.recentActive = false;
    }
  }

  /** Starts an election now (if this node may: a voter with no snapshot pending). */
  campaign(): void {
    if (this.currentRole === Role.Leader || !this.promotable()) return;
    this.hup(false);
  }

  propose(data: readonly Uint8Array[]): { firstIndex: number; term: number } {
    this.checkProposable();
    this.wake();
    assert(data.length > 0, 'raft: propose needs at least one entry');
    if (data.length > this.settings.maxProposalEntries) {
      throw new FlotillaError('BACKPRESSURE', `${data.length} entries in one proposal exceed raft.maxProposalEntries (${this.settings.maxProposalEntries})`);
    }
    const first = this.log.lastIndex() + 1;
    const entries: Entry[] = [];
    for (let i = 0; i < data.length; i++) {
      entries.push({ index: first + i, term: this.currentTerm, type: EntryType.Normal, data: data[i]! });
    }
    this.appendAsLeader(entries);
    return { firstIndex: first, term: this.currentTerm };
  }

  proposeConfigChange(change: ConfigChange): { index: number; term: number } {
    this.checkProposable();
    this.wake();
    if (this.pendingConfigIndex > this.log.committed) {
      throw new FlotillaError('CONFIG_CHANGE_PENDING', `the change at index ${this.pendingConfigIndex} is not committed yet`);
    }
    if (this.bug !== 'config-change-without-current-term-commit' && this.log.term(this.log.committed) !== this.currentTerm) {
      throw new FlotillaError('CONFIG_CHANGE_PENDING', 'the leader has not committed an entry of its term yet');
    }
    const membership = applyConfigChange(this.membership, change); // throws CONFIG_CHANGE_INVALID
    if (change.type === ConfigChangeType.PromoteLearner) {
      const pr = this.progress.get(change.node);
      const lag = this.log.lastIndex() - (pr ? pr.match : 0);
      if (!pr || lag > this.settings.learnerCatchUpEntries) {
        throw new FlotillaError('CONFIG_CHANGE_PENDING', `learner ${change.node} lags by ${lag} entries (raft.learnerCatchUpEntries is ${this.settings.learnerCatchUpEntries})`);
      }
    }
    const index = this.log.lastIndex() + 1;
    this.appendAsLeader([{ index, term: this.currentTerm, type: EntryType.Config, data: encodeConfigEntry(change, membership) }]);
    return { index, term: this.currentTerm };
  }

  private checkProposable(): void {
    if (this.currentRole !== Role.Leader) {
      throw new FlotillaError('NOT_LEADER', `node ${this.selfId} is not the leader`, { leaderId: this.lead });
    }
    if (this.leadTransferee !== 0) {
      throw new FlotillaError('PROPOSAL_DROPPED', `leadership is being transferred to ${this.leadTransferee}`, { leaderId: this.lead });
    }
  }

  /**
   * Requests a linearizable read. The answer comes in a later Ready: `readStates` ({id, index}:
   * serve the read once the state machine has applied `index`) or `droppedReads`.
   */
  readIndex(id: number): void {
    if (this.pendingReadCount() >= this.settings.maxPendingReads) {
      throw new FlotillaError('BACKPRESSURE', `more than raft.maxPendingReads (${this.settings.maxPendingReads}) reads are pending`);
    }
    if (this.currentRole === Role.Leader) {
      this.wake();
      this.leaderRead({ id, from: 0 });
      return;
    }
    if (this.lead === 0) {
      throw new FlotillaError('NOT_LEADER', `node ${this.selfId} knows no leader to confirm the read`, { leaderId: 0 });
    }
    this.forwardedReads.set(id, this.lead);
    this.send(this.message(MessageType.ReadIndex, this.lead, { context: id }));
  }

  transferLeadership(to: NodeId): void {
    if (this.currentRole !== Role.Leader) {
      throw new FlotillaError('NOT_LEADER', `node ${this.selfId} is not the leader`, { leaderId: this.lead });
    }
    if (to === this.selfId || !this.membership.voters.includes(to)) {
      throw new FlotillaError('TRANSFER_INVALID', `node ${to} is not another voter of the group`);
    }
    if (this.leadTransferee === to) return;
    this.wake();
    this.leadTransferee = to;
    this.electionElapsed = 0;
    const pr = this.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(to);
    } else {
      this.sendAppend(to, pr, true);
    }
  }

  step(m: Message): void {
    if (m.to !== this.selfId) return;
    if (this.quiet && !this.keepsQuiet(m)) this.wake();
    if (m.term > this.currentTerm) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const inLease = this.settings.checkQuorum && this.lead !== 0 && this.electionElapsed < this.settings.electionTicksMin;
        if (!m.transfer && inLease) {
          // A live leader is in its lease: ignore, so a removed or partitioned node cannot disrupt.
          return;
        }
      }
      if (m.type === MessageType.PreVote) {
        if (this.bug === 'prevote-changes-term') this.becomeFollower(m.term, 0);
        // Never change the term on a pre-vote.
      } else if (m.type === MessageType.PreVoteResponse && !m.reject) {
        // A granted pre-vote answered at the future term: the term changes when we campaign.
      } else if (m.type === MessageType.Append || m.type === MessageType.Heartbeat || m.type === MessageType.Snapshot) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, 0);
      }
    } else if (m.term < this.currentTerm) {
      if ((this.settings.checkQuorum || this.settings.preVote) && (m.type === MessageType.Append || m.type === MessageType.Heartbeat)) {
        // A leader of an older term: tell it our term so it steps down. Without this, a node that
        // advanced its term while partitioned could never rejoin (pre-vote keeps it from winning).
        this.send(this.message(MessageType.AppendResponse, m.from, {}));
      } else if (m.type === MessageType.PreVote) {
        this.send(this.message(MessageType.PreVoteResponse, m.from, { reject: true }));
      }
      return;
    }

    switch (m.type) {
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return;
      case MessageType.ReadIndex:
        if (this.currentRole === Role.Leader) {
          this.leaderRead({ id: m.context, from: m.from });
        } else {
          this.send(this.message(MessageType.ReadIndexResponse, m.from, { context: m.context, reject: true }));
        }
        return;
      default:
        break;
    }

    switch (this.currentRole) {
      case Role.Leader:
        this.stepLeader(m);
        break;
      case Role.PreCandidate:
      case Role.Candidate:
        this.stepCandidate(m);
        break;
      case Role.Follower:
        this.stepFollower(m);
        break;
    }
  }

  /**
   * Messages a quiet group takes without waking: its leader's quiesce heartbeat (a follower), and
   * a follower's answer to it from a follower that holds the whole log (the leader).
   */
  private keepsQuiet(m: Message): boolean {
    if (m.term !== this.currentTerm) return false;
    if (this.currentRole === Role.Leader) return m.type === MessageType.HeartbeatResponse && m.index >= this.log.lastIndex();
    return m.type === MessageType.Heartbeat && m.quiesce && m.from === this.lead;
  }

  // ---- Ready ----------------------------------------------------------------------------------

  hasReady(): boolean {
    if (this.inFlight) return false;
    if (this.currentRole === Role.Leader && (this.needBroadcast || (this.readsAwaitingRound.length > 0))) return true;
    return (
      this.msgs.length > 0 ||
      this.persistedMsgs.length > 0 ||
      this.chunks.length > 0 ||
      this.log.unstableEntries().length > 0 ||
      (this.log.pendingSnapshot !== null && !this.log.pendingSnapshotHanded) ||
      this.hardStateChanged() ||
      this.readStates.length > 0 ||
      this.droppedReads.length > 0 ||
      this.log.committed > this.appliedBase() ||
      this.softChanged()
    );
  }

  ready(): Ready {
    assert(this.inFlight === null, 'raft: ready() called before the previous Ready was advanced');
    if (this.currentRole === Role.Leader) {
      if (this.readsAwaitingRound.length > 0) this.startReadRound();
      if (this.needBroadcast) {
        this.needBroadcast = false;
        this.broadcastAppend();
      }
    }
    const entries = this.log.unstableEntries().slice();
    const snapshot = this.log.pendingSnapshot && !this.log.pendingSnapshotHanded ? this.log.pendingSnapshot : null;
    if (snapshot) this.log.pendingSnapshotHanded = true;
    const lastHanded = entries.length > 0 ? entries[entries.length - 1]!.index : this.log.stableIndex;
    this.log.handedUpTo = snapshot && entries.length === 0 ? -1 : lastHanded;
    const hardState = this.hardStateChanged() ? this.hardState() : null;
    const soft = this.softChanged() ? this.softState() : null;
    if (soft) this.lastSoft = soft;
    const rd: Ready = {
      number: ++this.readyNumber,
      messages: this.msgs,
      snapshotChunks: this.chunks,
      snapshot,
      entries,
      hardState,
      persistedMessages: this.persistedMsgs,
      committedEntries: this.committedToApply(entries),
      readStates: this.readStates,
      droppedReads: this.droppedReads,
      softState: soft,
    };
    this.msgs = [];
    this.persistedMsgs = [];
    this.chunks = [];
    this.readStates = [];
    this.droppedReads = [];
    this.inFlight = rd;
    return rd;
  }

  advance(rd: Ready): void {
    assert(this.inFlight === rd, 'raft: advance() with a Ready that is not the one in flight');
    this.inFlight = null;
    const lastHanded = rd.entries.length > 0 ? rd.entries[rd.entries.length - 1]!.index : -1;
    if (rd.snapshot || lastHanded >= 0) this.log.stableTo(lastHanded, rd.snapshot);
    else this.log.handedUpTo = this.log.stableIndex;
    if (rd.hardState) this.durable = rd.hardState;
    if (this.selfVotePending && this.currentRole === Role.Candidate && this.durable.term === this.currentTerm && this.durable.vote === this.selfId) {
      this.selfVotePending = false;
      this.votes.set(this.selfId, true);
      if (this.tallyWon()) this.becomeLeader();
    }
    if (rd.committedEntries.length > 0) {
      const last = rd.committedEntries[rd.committedEntries.length - 1]!.index;
      assert(last > this.log.applied || rd.snapshot !== null, () => `raft: applied would move back to ${last}`);
      if (last > this.log.applied) this.log.applied = last;
    }
    this.pruneConfigs();
    if (this.currentRole === Role.Leader) {
      const self = this.progress.get(this.selfId);
      if (self) {
        self.maybeUpdate(this.log.stableIndex);
      }
      // With broadcastCommit off, followers learn the new commit index from the next append or
      // heartbeat: no message of its own (it costs every follower an answer per entry).
      if (this.maybeCommit() && this.settings.broadcastCommit) this.needBroadcast = true;
    }
  }

  // ---- Roles ----------------------------------------------------------------------------------

  private becomeFollower(term: number, lead: NodeId): void {
    const wasLeader = this.currentRole === Role.Leader;
    this.reset(term);
    this.currentRole = Role.Follower;
    this.lead = lead;
    if (wasLeader) this.debug(`node ${this.selfId} became follower at term ${term}`);
  }

  private becomePreCandidate(): void {
    assert(this.currentRole !== Role.Leader, 'raft: leader cannot become pre-candidate');
    // The term and vote do not change: a pre-vote changes no durable state.
    this.votes = new Map();
    this.selfVotePending = false;
    this.dropReads();
    this.currentRole = Role.PreCandidate;
    this.lead = 0;
  }

  private becomeCandidate(): void {
    assert(this.currentRole !== Role.Leader, 'raft: leader cannot become candidate');
    this.reset(this.currentTerm + 1);
    this.votedFor = this.selfId;
    this.currentRole = Role.Candidate;
  }

  private becomeLeader(): void {
    assert(this.currentRole === Role.Candidate, 'raft: only a candidate becomes leader');
    this.reset(this.currentTerm);
    this.currentRole = Role.Leader;
    this.lead = this.selfId;
    const last = this.log.lastIndex();
    for (const id of this.members()) {
      const pr = new Progress(last + 1, this.settings.maxInflightMessages, this.settings.maxInflightBytes);
      if (id === this.selfId) {
        pr.match = this.log.stableIndex;
        pr.becomeReplicate();
        pr.recentActive = true;
      }
      this.progress.set(id, pr);
    }
    // Any config entry in the log not yet known committed counts as pending.
    const lastConfig = this.lastConfig();
    this.pendingConfigIndex = lastConfig.index > this.log.committed ? lastConfig.index : 0;
    this.debug(`node ${this.selfId} became leader at term ${this.currentTerm}`);
    // A no-op of this term: committing it commits everything before it (figure 8).
    this.appendAsLeader([{ index: last + 1, term: this.currentTerm, type: EntryType.Noop, data: new Uint8Array(0) }]);
  }

  private reset(term: number): void {
    if (this.currentTerm !== term) {
      assert(term > this.currentTerm, () => `raft: term would go back from ${this.currentTerm} to ${term}`);
      this.currentTerm = term;
      this.votedFor = 0;
    }
    this.lead = 0;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.quiet = false;
    this.idleTicks = 0;
    this.randomizedElectionTimeout = this.drawElectionTimeout();
    this.votes = new Map();
    this.selfVotePending = false;
    this.progress.clear();
    this.leadTransferee = 0;
    this.leaseRevoked = false;
    this.uncommitted = [];
    this.uncommittedHead = 0;
    this.uncommittedBytes = 0;
    this.needBroadcast = false;
    this.roundSentTick.clear();
    this.dropReads();
  }

  /** Fails every read in progress: a read index must never outlive the leadership it came from. */
  private dropReads(): void {
    if (this.bug === 'reuse-read-index') {
      // The planted bug keeps the last served index and reuses it (see leaderRead).
    } else {
      this.cachedReadIndex = 0;
    }
    const drop = (r: PendingRead): void => {
      if (r.from === 0) this.droppedReads.push(r.id);
      // Reads forwarded by followers are dropped by the followers on the leader change.
    };
    for (const r of this.readsAwaitingRound) drop(r);
    for (const r of this.readsAwaitingCommit) drop(r);
    for (const round of this.readRounds) for (const r of round.reads) drop(r);
    this.readsAwaitingRound = [];
    this.readsAwaitingCommit = [];
    this.readRounds = [];
    for (const id of this.forwardedReads.keys()) this.droppedReads.push(id);
    this.forwardedReads.clear();
  }

  private hup(transfer: boolean): void {
    if (this.settings.preVote && !transfer) {
      this.becomePreCandidate();
      this.requestVotes(MessageType.PreVote, this.currentTerm + 1, false);
    } else {
      this.becomeCandidate();
      this.requestVotes(MessageType.Vote, this.currentTerm, transfer);
    }
  }

  private requestVotes(type: MessageType, term: number, transfer: boolean): void {
    if (type === MessageType.PreVote) {
      this.votes.set(this.selfId, true);
      if (this.tallyWon()) {
        this.hup(true);
        return;
      }
    } else {
      // A candidate's own vote counts only once its new term and vote are durable (advance):
      // otherwise a group of one voter could lead, crash before the write, come back in the old
      // term and win the same term again, naming two entries with one (index, term).
      this.selfVotePending = true;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.membership.voters) {
      if (id === this.selfId) continue;
      this.send(this.message(type, id, { term, index: lastIndex, logTerm: lastTerm, transfer }));
    }
  }

  private handleVoteRequest(m: Message): void {
    const pre = m.type === MessageType.PreVote;
    const canVote =
      this.votedFor === m.from ||
      (this.votedFor === 0 && this.lead === 0) ||
      (pre && m.term > this.currentTerm);
    const respType = pre ? MessageType.PreVoteResponse : MessageType.VoteResponse;
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // A pre-vote answer carries the requested term so the candidate counts it for that term.
      this.send(this.message(respType, m.from, { term: m.term, reject: false }));
      if (!pre) {
        this.electionElapsed = 0;
        this.votedFor = m.from;
      }
    } else {
      this.send(this.message(respType, m.from, { reject: true }));
    }
  }

  private stepCandidate(m: Message): void {
    const myResp = this.currentRole === Role.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
    switch (m.type) {
      case MessageType.Append:
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snapshot:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case MessageType.VoteResponse:
      case MessageType.PreVoteResponse: {
        if (m.type !== myResp) return;
        if (!this.membership.voters.includes(m.from)) return;
        if (!this.votes.has(m.from)) this.votes.set(m.from, !m.reject);
        if (this.tallyWon()) {
          if (this.currentRole === Role.PreCandidate) this.hup(true);
          else this.becomeLeader();
        } else if (this.tallyLost()) {
          this.becomeFollower(this.currentTerm, 0);
        }
        return;
      }
      case MessageType.TimeoutNow:
        return;
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Append:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snapshot:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TimeoutNow:
        if (this.promotable()) {
          this.debug(`node ${this.selfId} campaigns at once for a leadership transfer from ${m.from}`);
          this.hup(true);
        }
        return;
      case MessageType.ReadIndexResponse: {
        if (!this.forwardedReads.delete(m.context)) return;
        if (m.reject) this.droppedReads.push(m.context);
        else this.readStates.push({ id: m.context, index: m.index });
        return;
      }
      default:
        return;
    }
  }

  // ---- Follower: appends, heartbeats, snapshots ------------------------------------------------

  private handleAppend(m: Message): void {
    if (m.index < this.log.committed) {
      // Stale: everything up to our commit is already settled.
      this.send(this.message(MessageType.AppendResponse, m.from, { index: this.log.committed }));
      return;
    }
    if (this.log.matchTerm(m.index, m.logTerm)) {
      const lastNew = m.index + m.entries.length;
      if (this.bug === 'truncate-on-stale-append') {
        // Planted: replace everything after prevIndex, even entries the message does not cover.
        if (m.entries.length > 0) {
          const conflict = this.log.findConflict(m.entries);
          if (conflict !== 0 || lastNew < this.log.lastIndex()) {
            const from = Math.max(m.index + 1, this.log.committed + 1);
            const keep = m.entries.filter((e) => e.index >= from);
            if (keep.length > 0) this.appendFollower(keep);
          }
        }
      } else {
        const conflict = this.log.findConflict(m.entries);
        if (conflict !== 0) {
          assert(conflict > this.log.committed, () => `raft: entry ${conflict} conflicts with the committed log (commit ${this.log.committed})`);
          this.appendFollower(m.entries.slice(conflict - m.index - 1));
        }
      }
      this.log.commitTo(Math.min(m.commit, lastNew));
      this.send(this.message(MessageType.AppendResponse, m.from, { index: lastNew }));
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send(this.message(MessageType.AppendResponse, m.from, { index: m.index, reject: true, hintIndex: hint.index, hintTerm: hint.term }));
  }

  private appendFollower(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (first <= this.log.lastIndex()) this.dropQueuedAcksFrom(first);
    // Configurations from a replaced suffix no longer hold.
    while (this.configs.length > 1 && this.configs[this.configs.length - 1]!.index >= first) this.configs.pop();
    this.log.append(entries);
    for (const e of entries) if (e.type === EntryType.Config) this.applyConfigEntry(e);
  }

  /**
   * Append answers not yet handed out promise that entries are durable once the next Ready is
   * written; when those entries are replaced before that write, the promise would be false (the
   * write holds the replacement). Drop them: the leader asks again.
   */
  private dropQueuedAcksFrom(index: number): void {
    this.persistedMsgs = this.persistedMsgs.filter((m) => m.type !== MessageType.AppendResponse || m.reject || m.index < index);
  }

  private handleHeartbeat(m: Message): void {
    if (m.commit > this.log.committed && m.commit <= this.log.lastIndex()) this.log.commitTo(m.commit);
    // The leader goes quiet: so does this follower, once it knows everything the leader committed.
    // (Otherwise it stays awake; its election clock then wakes the group.)
    if (m.quiesce && this.currentRole === Role.Follower && this.log.committed === m.commit) this.quiet = true;
    this.send(this.message(MessageType.HeartbeatResponse, m.from, { context: m.context, index: this.log.lastIndex() }));
  }

  private handleSnapshot(m: Message): void {
    const meta = m.snapshot;
    assert(meta !== null && m.chunk !== null, 'raft: snapshot message without metadata or chunk');
    if (meta.index <= this.log.committed) {
      // Already have it all: tell the leader where we are.
      this.incoming = null;
      this.send(this.message(MessageType.AppendResponse, m.from, { index: this.log.committed }));
      return;
    }
    if (this.log.pendingSnapshot !== null && !this.log.pendingSnapshotHanded) {
      // A snapshot waits to be installed through the next Ready, which writes its chunks before
      // installing: chunks of another snapshot would land in between. The leader resends.
      return;
    }
    const same = this.incoming !== null && this.incoming.meta.index === meta.index && this.incoming.meta.term === meta.term;
    if (m.chunkOffset === 0 && !same) {
      this.incoming = { meta, nextOffset: 0 };
    } else if (!same) {
      this.send(this.message(MessageType.SnapshotResponse, m.from, { index: meta.index, reject: true }));
      return;
    }
    const incoming = this.incoming!;
    if (m.chunkOffset !== incoming.nextOffset) {
      this.send(this.message(MessageType.SnapshotResponse, m.from, { index: meta.index, chunkOffset: incoming.nextOffset }));
      return;
    }
    incoming.nextOffset += m.chunk.byteLength;
    this.chunks.push({ meta, offset: m.chunkOffset, data: m.chunk, last: m.chunkLast });
    if (!m.chunkLast) {
      this.send(this.message(MessageType.SnapshotResponse, m.from, { index: meta.index, chunkOffset: incoming.nextOffset }));
      return;
    }
    this.incoming = null;
    // After an install the log ends at the snapshot; when the log already held it, only the
    // prefix up to the commit is known to match the leader.
    const installed = this.restore(meta);
    this.send(this.message(MessageType.AppendResponse, m.from, { index: installed ? this.log.lastIndex() : this.log.committed }));
  }

  private restore(meta: SnapshotMeta): boolean {
    if (this.log.matchTerm(meta.index, meta.term)) {
      // Our log already holds the snapshot's last entry: just move the commit.
      this.log.commitTo(meta.index);
      return false;
    }
    this.debug(`node ${this.selfId} restores a snapshot at index ${meta.index} term ${meta.term}`);
    this.dropQueuedAcksFrom(meta.index + 1);
    this.log.restore(meta);
    this.configs = [{ index: meta.index, term: meta.term, membership: meta.membership }];
    this.pendingConfigIndex = 0;
    return true;
  }

  // ---- Leader ---------------------------------------------------------------------------------

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case MessageType.AppendResponse:
        pr.recentActive = true;
        this.handleAppendResponse(m, pr);
        return;
      case MessageType.HeartbeatResponse:
        pr.recentActive = true;
        this.handleHeartbeatResponse(m, pr);
        return;
      case MessageType.SnapshotResponse:
        pr.recentActive = true;
        if (pr.state !== 'snapshot' || m.index !== pr.snapshotIndex) return;
        if (m.reject) {
          // The follower holds no transfer of this snapshot (it restarted): start over.
          pr.snapshotSendOffset = 0;
          pr.snapshotAckedOffset = 0;
        } else {
          if (m.chunkOffset === pr.snapshotAckedOffset) return; // a duplicate: nothing new
          if (m.chunkOffset < pr.snapshotAckedOffset) {
            // Behind what it acknowledged: the follower restarted its transfer (or this answer is
            // stale). Resend from its offset; if stale, its next answers move us forward again.
            // One window per such answer, never more: no storm.
            pr.snapshotAckedOffset = m.chunkOffset;
            pr.snapshotSendOffset = m.chunkOffset;
          } else {
            // Progress. Lost chunks are resent from the acknowledged offset once per heartbeat.
            pr.snapshotAckedOffset = m.chunkOffset;
            pr.snapshotSendOffset = Math.max(pr.snapshotSendOffset, m.chunkOffset);
          }
        }
        this.sendSnapshotChunks(m.from, pr);
        return;
      default:
        return;
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    if (m.reject) {
      let nextProbe = m.hintIndex;
      if (m.hintTerm > 0) nextProbe = this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, pr, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (pr.maybeUpdate(m.index)) {
      if (pr.state === 'probe') pr.becomeReplicate();
      else if (pr.state === 'snapshot' && pr.match >= pr.snapshotIndex) {
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === 'replicate') pr.inflights.freeTo(m.index);
      if (this.maybeCommit() && this.settings.broadcastCommit) {
        this.needBroadcast = true;
      } else if (this.currentRole === Role.Leader && (wasPaused || pr.next <= this.log.lastIndex())) {
        // (With broadcastCommit off a commit advance sends nothing by itself.)
        this.sendAppend(m.from, pr, false);
      }
      if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
        this.sendTimeoutNow(m.from);
      }
    } else if (pr.state === 'snapshot' && m.index >= pr.snapshotIndex) {
      pr.becomeProbe();
      this.sendAppend(m.from, pr, true);
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.probeSent = false;
    if (m.context > pr.ackedRound) pr.ackedRound = m.context;
    if (pr.state === 'replicate' && m.context === pr.heartbeatRound && m.index < pr.nextAtHeartbeat - 1 && m.index >= pr.match) {
      // The follower answered a heartbeat sent after appends it does not hold: they were lost.
      // Probe again from the match (if they were merely reordered, this only costs a resend).
      // Compared with `next` as it was when that heartbeat left: appends sent since then may
      // simply not have arrived yet (under load, comparing with the current `next` sent every
      // follower back to probing on every heartbeat and re-read the log from disk).
      pr.becomeProbe();
    } else if (pr.state === 'replicate' && pr.inflights.full()) {
      // The window is full and the follower is alive: an answer was lost. Free one slot so the
      // next append goes out and draws an answer (as etcd does).
      pr.inflights.freeFirst();
    }
    if (pr.state === 'snapshot') {
      // Chunks may have been lost: resend from the last acknowledged offset.
      pr.snapshotSendOffset = pr.snapshotAckedOffset;
      this.sendSnapshotChunks(m.from, pr);
    } else if (pr.match < this.log.lastIndex()) {
      if (pr.state === 'replicate' && pr.next > this.log.lastIndex()) {
        // Everything was sent but not all acknowledged: an answer may be lost. An empty append
        // at the end of the window draws a fresh answer (accept: the match moves; reject: back off).
        const prevIndex = pr.next - 1;
        const prevTerm = this.log.term(prevIndex);
        if (prevTerm >= 0) this.send(this.message(MessageType.Append, m.from, { index: prevIndex, logTerm: prevTerm, commit: this.log.committed }));
      } else {
        this.sendAppend(m.from, pr, false);
      }
    }
    this.releaseReadRounds();
  }

  /** Sends what `to` needs: entries while the window allows, or the snapshot. */
  private sendAppend(to: NodeId, pr: Progress, sendIfEmpty: boolean): void {
    let sent = false;
    while (!pr.isPaused()) {
      const prevIndex = pr.next - 1;
      const prevTerm = this.log.term(prevIndex);
      const last = this.log.lastIndex();
      if (prevTerm < 0) {
        this.startSnapshot(to, pr);
        return;
      }
      let entries: readonly Entry[] = EMPTY;
      if (pr.next <= last) {
        const got = this.log.slice(pr.next, last + 1, this.settings.maxMessageBytes);
        if (got === null) {
          this.startSnapshot(to, pr);
          return;
        }
        entries = got;
      }
      // A probe goes out even empty: its answer tells where the follower's log stands.
      if (entries.length === 0 && (sent || (!sendIfEmpty && pr.state !== 'probe'))) return;
      this.send(this.message(MessageType.Append, to, { index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed }));
      sent = true;
      if (entries.length > 0) {
        const lastSent = entries[entries.length - 1]!.index;
        if (pr.state === 'replicate') {
          let bytes = 0;
          for (const e of entries) bytes += entryBytes(e);
          pr.next = lastSent + 1;
          pr.inflights.add(lastSent, bytes);
        } else {
          pr.probeSent = true;
        }
      } else if (pr.state === 'probe') {
        pr.probeSent = true;
      }
      if (pr.state !== 'replicate' || pr.next > last) return;
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.leaseRevoked = true;
    this.send(this.message(MessageType.TimeoutNow, to, {}));
  }

  private startSnapshot(to: NodeId, pr: Progress): void {
    const meta = this.log.reader.snapshotMeta();
    assert(meta.index > 0, () => `raft: follower ${to} needs a snapshot but none exists`);
    this.debug(`leader ${this.selfId} sends snapshot ${meta.index} to ${to}`);
    pr.becomeSnapshot(meta.index);
    this.sendSnapshotChunks(to, pr);
  }

  private sendSnapshotChunks(to: NodeId, pr: Progress): void {
    const reader = this.log.reader;
    const meta = reader.snapshotMeta();
    if (meta.index !== pr.snapshotIndex) {
      // A newer snapshot replaced the one being sent: start over with it.
      if (meta.index <= pr.match) {
        pr.becomeProbe();
        return;
      }
      pr.becomeSnapshot(meta.index);
    }
    const size = reader.snapshotSize();
    const chunkBytes = this.settings.snapshotChunkBytes;
    const window = this.settings.snapshotInflightChunks * chunkBytes;
    let sentAny = false;
    while (pr.snapshotSendOffset - pr.snapshotAckedOffset < window && (pr.snapshotSendOffset < size || (size === 0 && !sentAny && pr.snapshotSendOffset === 0))) {
      const offset = pr.snapshotSendOffset;
      const chunk = size === 0 ? new Uint8Array(0) : reader.readSnapshot(offset, Math.min(chunkBytes, size - offset));
      assert(size === 0 || chunk.byteLength > 0, 'raft: empty snapshot chunk read');
      const last = offset + chunk.byteLength >= size;
      this.send(this.message(MessageType.Snapshot, to, { snapshot: meta, chunkOffset: offset, chunk, chunkLast: last }));
      pr.snapshotSendOffset = offset + chunk.byteLength;
      sentAny = true;
      if (last) break;
    }
  }

  private broadcastAppend(): void {
    for (const [id, pr] of this.progress) {
      if (id === this.selfId) continue;
      this.sendAppend(id, pr, true);
    }
  }

  private broadcastHeartbeat(quiesce = false): number {
    const round = ++this.heartbeatRound;
    this.roundSentTick.set(round, this.ticks);
    if (this.roundSentTick.size > 4 * this.settings.electionTicksMax + 16) {
      for (const k of this.roundSentTick.keys()) {
        if (this.roundSentTick.size <= 2 * this.settings.electionTicksMax + 8) break;
        this.roundSentTick.delete(k);
      }
    }
    for (const [id, pr] of this.progress) {
      if (id === this.selfId) continue;
      pr.heartbeatRound = round;
      pr.nextAtHeartbeat = pr.next;
      this.send(this.message(MessageType.Heartbeat, id, { commit: Math.min(pr.match, this.log.committed), context: round, quiesce }));
    }
    return round;
  }

  private appendAsLeader(entries: Entry[]): void {
    let bytes = 0;
    for (const e of entries) bytes += entryBytes(e);
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.settings.maxUncommittedBytes) {
      throw new FlotillaError('UNCOMMITTED_LIMIT', `${this.uncommittedBytes} uncommitted bytes; raft.maxUncommittedBytes is ${this.settings.maxUncommittedBytes}`);
    }
    this.log.append(entries);
    for (const e of entries) {
      if (e.type === EntryType.Config) this.applyConfigEntry(e);
      const b = entryBytes(e);
      this.uncommitted.push({ index: e.index, bytes: b });
      this.uncommittedBytes += b;
    }
    this.needBroadcast = true;
    // A group of one commits on its own durable write (in advance); nothing to send.
  }

  /** Moves the commit index to the highest index a quorum holds, if of the current term. */
  private maybeCommit(): boolean {
    const voters = this.membership.voters;
    if (voters.length === 0) return false;
    const matches: number[] = [];
    for (const id of voters) {
      const pr = this.progress.get(id);
      matches.push(pr ? pr.match : 0);
    }
    matches.sort((a, b) => b - a);
    const index = matches[quorumOf(this.membership) - 1]!;
    if (index <= this.log.committed) return false;
    if (this.bug !== 'commit-previous-term' && this.log.term(index) !== this.currentTerm) return false;
    this.log.commitTo(index);
    this.onCommitAdvanced();
    return true;
  }

  private onCommitAdvanced(): void {
    const committed = this.log.committed;
    while (this.uncommittedHead < this.uncommitted.length && this.uncommitted[this.uncommittedHead]!.index <= committed) {
      this.uncommittedBytes -= this.uncommitted[this.uncommittedHead]!.bytes;
      this.uncommittedHead++;
    }
    if (this.uncommittedHead > 1024 && this.uncommittedHead * 2 > this.uncommitted.length) {
      this.uncommitted.splice(0, this.uncommittedHead);
      this.uncommittedHead = 0;
    }
    if (this.pendingConfigIndex !== 0 && this.pendingConfigIndex <= committed) {
      this.pendingConfigIndex = 0;
      if (!this.membership.voters.includes(this.selfId) && this.currentRole === Role.Leader) {
        // The configuration that removed this leader is committed: hand over by stepping down.
        this.debug(`leader ${this.selfId} is no longer a voter; stepping down`);
        this.becomeFollower(this.currentTerm, 0);
        return;
      }
    }
    if (this.readsAwaitingCommit.length > 0 && this.log.term(committed) === this.currentTerm) {
      const reads = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const r of reads) this.leaderRead(r);
    }
  }

  private applyConfigEntry(e: Entry): void {
    const { membership } = decodeConfigEntry(e.data);
    this.configs.push({ index: e.index, term: e.term, membership });
    this.pendingConfigIndex = e.index;
    if (this.currentRole === Role.Leader) {
      const last = this.log.lastIndex();
      for (const id of [...membership.voters, ...membership.learners]) {
        if (!this.progress.has(id)) {
          this.progress.set(id, new Progress(last + 1, this.settings.maxInflightMessages, this.settings.maxInflightBytes));
        }
      }
      for (const id of [...this.progress.keys()]) {
        if (id !== this.selfId && !membership.voters.includes(id) && !membership.learners.includes(id)) this.progress.delete(id);
      }
      if (this.leadTransferee !== 0 && !membership.voters.includes(this.leadTransferee)) this.leadTransferee = 0;
      this.maybeCommit();
    }
  }

  private pruneConfigs(): void {
    const floor = this.log.firstIndex() - 1;
    let drop = 0;
    while (drop + 1 < this.configs.length && this.configs[drop + 1]!.index <= floor) drop++;
    if (drop > 0) this.configs.splice(0, drop);
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.membership.voters) {
      const pr = this.progress.get(id);
      if (id === this.selfId || (pr && pr.recentActive)) active++;
    }
    for (const [id, pr] of this.progress) if (id !== this.selfId) pr.recentActive = false;
    return active >= quorumOf(this.membership);
  }

  // ---- Reads ----------------------------------------------------------------------------------

  private pendingReadCount(): number {
    let n = this.readsAwaitingRound.length + this.readsAwaitingCommit.length + this.forwardedReads.size;
    for (const r of this.readRounds) n += r.reads.length;
    return n;
  }

  private leaderRead(r: PendingRead): void {
    if (this.bug === 'reuse-read-index' && this.cachedReadIndex > 0 && this.log.term(this.log.committed) !== this.currentTerm) {
      this.answerRead(r, this.cachedReadIndex);
      return;
    }
    if (this.log.term(this.log.committed) !== this.currentTerm) {
      // The commit index of a new leader may lag: wait until an entry of this term commits.
      this.readsAwaitingCommit.push(r);
      return;
    }
    const voters = this.membership.voters;
    if (voters.length === 1 && voters[0] === this.selfId) {
      this.answerRead(r, this.log.committed);
      return;
    }
    if (this.settings.readMode === 'lease' && !this.leaseRevoked && this.leadTransferee === 0 && this.leaseValid()) {
      this.answerRead(r, this.log.committed);
      return;
    }
    this.readsAwaitingRound.push(r);
  }

  /** Gathers the reads of this turn into one heartbeat round. */
  private startReadRound(): void {
    const round = this.broadcastHeartbeat();
    this.readRounds.push({ round, index: this.log.committed, reads: this.readsAwaitingRound });
    this.readsAwaitingRound = [];
    this.releaseReadRounds();
  }

  /** Releases every read round acknowledged by a quorum (an ack of a later round counts). */
  private releaseReadRounds(): void {
    if (this.readRounds.length === 0) return;
    const acked: number[] = [];
    for (const id of this.membership.voters) {
      if (id === this.selfId) acked.push(Number.MAX_SAFE_INTEGER);
      else acked.push(this.progress.get(id)?.ackedRound ?? 0);
    }
    acked.sort((a, b) => b - a);
    const confirmed = acked[quorumOf(this.membership) - 1] ?? 0;
    let n = 0;
    while (n < this.readRounds.length && this.readRounds[n]!.round <= confirmed) {
      const round = this.readRounds[n]!;
      for (const r of round.reads) this.answerRead(r, round.index);
      n++;
    }
    if (n > 0) this.readRounds.splice(0, n);
  }

  /**
   * The lease: a quorum acknowledged heartbeats sent within the last electionTicksMin minus the
   * drift bound, so no other leader can have been elected since (voters in a lease ignore votes).
   */
  private leaseValid(): boolean {
    const sent: number[] = [];
    for (const id of this.membership.voters) {
      if (id === this.selfId) {
        sent.push(this.ticks);
        continue;
      }
      const round = this.progress.get(id)?.ackedRound ?? 0;
      sent.push(round > 0 ? this.roundSentTick.get(round) ?? -Infinity : -Infinity);
    }
    sent.sort((a, b) => b - a);
    const quorumSent = sent[quorumOf(this.membership) - 1] ?? -Infinity;
    return this.ticks - quorumSent < this.settings.electionTicksMin - this.settings.maxClockDriftTicks;
  }

  private answerRead(r: PendingRead, index: number): void {
    this.cachedReadIndex = index;
    if (r.from === 0) this.readStates.push({ id: r.id, index });
    else this.send(this.message(MessageType.ReadIndexResponse, r.from, { context: r.id, index }));
  }

  // ---- Helpers --------------------------------------------------------------------------------

  private members(): NodeId[] {
    const m = this.membership;
    const ids = [...m.voters, ...m.learners];
    if (!ids.includes(this.selfId)) ids.push(this.selfId);
    return ids;
  }

  private lastConfig(): ConfigAt {
    return this.configs[this.configs.length - 1]!;
  }

  /**
   * Whether this node may campaign: it is a voter in its latest configuration, or in the latest
   * committed one. The second case matters when a leader removing itself loses leadership before
   * the removal commits: its own log says it is no voter, while the others (without that entry)
   * still need its vote; it must be able to win (counting votes by its latest configuration), finish
   * the change and step down. Otherwise the group is stuck.
   */
  private promotable(): boolean {
    if (this.log.pendingSnapshot !== null) return false;
    if (this.membership.voters.includes(this.selfId)) return true;
    return this.committedMembership().voters.includes(this.selfId);
  }

  private committedMembership(): Membership {
    let m = this.configs[0]!.membership;
    for (const c of this.configs) if (c.index <= this.log.committed) m = c.membership;
    return m;
  }

  private tallyWon(): boolean {
    let granted = 0;
    for (const id of this.membership.voters) if (this.votes.get(id) === true) granted++;
    return granted >= quorumOf(this.membership);
  }

  private tallyLost(): boolean {
    let rejected = 0;
    for (const id of this.membership.voters) if (this.votes.get(id) === false) rejected++;
    return rejected > this.membership.voters.length - quorumOf(this.membership);
  }

  private drawElectionTimeout(): number {
    return this.prng.int(this.settings.electionTicksMin, this.settings.electionTicksMax);
  }

  private hardState(): HardState {
    return { term: this.currentTerm, vote: this.votedFor, commit: this.log.committed };
  }

  /**
   * Only a change of term or vote makes a hard state to write. The commit index rides along when
   * one is written, but a commit-only change is not persisted: commit is volatile in Raft (a
   * restarted node learns it again from the leader), and writing it would cost every node one
   * KV write per entry.
   */
  private hardStateChanged(): boolean {
    const d = this.durable;
    return d.term !== this.currentTerm || d.vote !== this.votedFor;
  }

  private softState(): SoftState {
    return { role: this.currentRole, leader: this.lead, term: this.currentTerm, membership: this.membership };
  }

  private softChanged(): boolean {
    const s = this.lastSoft;
    return s.role !== this.currentRole || s.leader !== this.lead || s.term !== this.currentTerm || s.membership !== this.membership;
  }

  /** The first index not yet handed to apply (a pending snapshot covers what lies below it). */
  private appliedBase(): number {
    const snap = this.log.pendingSnapshot;
    return snap && snap.index > this.log.applied ? snap.index : this.log.applied;
  }

  private committedToApply(handed: readonly Entry[]): readonly Entry[] {
    const from = this.appliedBase() + 1;
    // Only entries durable by the end of this Ready may be applied.
    const durableLast = handed.length > 0 ? handed[handed.length - 1]!.index : this.log.stableIndex;
    const to = Math.min(this.log.committed, Math.max(durableLast, this.log.stableIndex));
    if (from > to) return EMPTY;
    const got = this.log.slice(from, to + 1, this.settings.maxCommittedBytesPerReady);
    assert(got !== null, () => `raft: committed entries from ${from} are compacted before being applied`);
    return got;
  }

  private message(type: MessageType, to: NodeId, f: Partial<Message>): Message {
    return {
      type, from: this.selfId, to, term: f.term ?? this.currentTerm,
      logTerm: f.logTerm ?? 0, index: f.index ?? 0, commit: f.commit ?? 0, entries: f.entries ?? EMPTY,
      reject: f.reject ?? false, hintIndex: f.hintIndex ?? 0, hintTerm: f.hintTerm ?? 0, context: f.context ?? 0,
      transfer: f.transfer ?? false, snapshot: f.snapshot ?? null, chunkOffset: f.chunkOffset ?? 0,
      chunk: f.chunk ?? null, chunkLast: f.chunkLast ?? false, quiesce: f.quiesce ?? false,
    };
  }

  /**
   * Routes a message: those that promise durable state wait for the Ready's write
   * (persistedMessages); leader replication in a durable term and pre-votes go at once.
   */
  private send(m: Message): void {
    let now: boolean;
    if (m.type === MessageType.PreVote || m.type === MessageType.PreVoteResponse) {
      now = true;
    } else if (m.type === MessageType.VoteResponse && !m.reject && this.bug === 'vote-before-persist') {
      now = true;
    } else if (isLeaderReplication(m.type)) {
      now = this.durable.term === this.currentTerm;
    } else {
      now = false;
    }
    (now ? this.msgs : this.persistedMsgs).push(m);
  }

  private debug(line: string): void {
    this.logger?.(line);
  }
}
