/**
 * One classic-protocol group in a coordinator's memory: its state, generation, members (joined,
 * pending and static) and the requests parked on it (JoinGroup and SyncGroup long-polls). The
 * transitions live in coordinator.ts; this file holds the data and the rules that only read it
 * (protocol selection, "has everyone rejoined", consumer subscriptions).
 *
 * Valid transitions (Kafka's ClassicGroupState):
 *   Empty → PreparingRebalance;  PreparingRebalance → CompletingRebalance | Empty;
 *   CompletingRebalance → Stable | PreparingRebalance;  Stable → PreparingRebalance;
 *   any → Dead.
 */
import { assert } from '../base/assert.js';
import type { GroupStateName, JoinGroupResult, ProtocolOffer, SyncGroupResult } from './api.js';
import type { TimerHandle } from './timers.js';

const validPrevious: Readonly<Record<GroupStateName, readonly GroupStateName[]>> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'],
};

export interface Member {
  memberId: string;
  readonly groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: readonly ProtocolOffer[];
  assignment: Buffer;
  /** A parked JoinGroup, answered when the join phase completes. */
  awaitingJoin: ((r: JoinGroupResult) => void) | null;
  /** A parked SyncGroup, answered with the leader's assignment. */
  awaitingSync: ((r: SyncGroupResult) => void) | null;
  /** Session timer: no heartbeat (or join/sync) within sessionTimeoutMs removes the member. */
  sessionTimer: TimerHandle | null;
}

export class ClassicGroup {
  readonly groupId: string;
  state: GroupStateName = 'Empty';
  /** Wall time of the last state change. */
  stateTimestampMs: number;
  generationId = 0;
  protocolType = '';
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** Ids handed out with MEMBER_ID_REQUIRED, waiting for the member's second JoinGroup. */
  readonly pendingMembers = new Map<string, TimerHandle>();
  /** groupInstanceId → memberId. */
  readonly staticMembers = new Map<string, string>();
  /** The join phase timer (rebalance timeout, or the initial delay of an empty group). */
  joinTimer: TimerHandle | null = null;
  /** Initial-delay bookkeeping: a member joined since the timer was set; the delay budget left. */
  newMemberAdded = false;
  initialDelayRemainingMs = 0;
  /** The join phase is in its initial delay: it completes on the timer only. */
  inInitialDelay = false;

  constructor(groupId: string, nowWallMs: number) {
    this.groupId = groupId;
    this.stateTimestampMs = nowWallMs;
  }

  transition(to: GroupStateName, nowWallMs: number): void {
    assert(validPrevious[to].includes(this.state), () => `group ${this.groupId}: ${this.state} → ${to} is not a valid transition`);
    this.state = to;
    this.stateTimestampMs = nowWallMs;
  }

  is(state: GroupStateName): boolean {
    return this.state === state;
  }

  get size(): number {
    return this.members.size + this.pendingMembers.size;
  }

  /** The largest rebalance timeout of the members: how long the join phase may wait. */
  rebalanceTimeoutMs(): number {
    let t = 0;
    for (const m of this.members.values()) t = Math.max(t, m.rebalanceTimeoutMs);
    return t;
  }

  hasAllMembersJoined(): boolean {
    for (const m of this.members.values()) if (m.awaitingJoin === null) return false;
    return this.pendingMembers.size === 0;
  }

  /** Kafka's check: an empty group takes any non-empty offer; otherwise some protocol every member (and the newcomer) supports. */
  supportsProtocols(protocolType: string, protocols: readonly ProtocolOffer[], exceptMemberId: string | null = null): boolean {
    const others = [...this.members.values()].filter((m) => m.memberId !== exceptMemberId);
    if (protocolType === '' || protocols.length === 0) return false;
    if (others.length === 0) return true;
    if (protocolType !== this.protocolType) return false;
    return protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  /**
   * The protocol every member supports that most members prefer (each votes for its first choice
   * among the candidates); ties go to the leader's (or first member's) preference order.
   */
  selectProtocol(): string {
    const members = [...this.members.values()];
    assert(members.length > 0, 'selectProtocol on an empty group');
    const first = (this.leaderId !== null ? this.members.get(this.leaderId) : undefined) ?? members[0]!;
    const common = first.protocols.map((p) => p.name).filter((name) => members.every((m) => m.protocols.some((q) => q.name === name)));
    // JoinGroup admits only members with a protocol in common; fall back to the first's choice regardless.
    const candidates = common.length > 0 ? common : first.protocols.slice(0, 1).map((p) => p.name);
    const votes = new Map<string, number>();
    for (const m of members) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))?.name;
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0]!;
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }

  metadataOf(member: Member): Buffer {
    const name = this.protocolName;
    return member.protocols.find((p) => p.name === name)?.metadata ?? Buffer.alloc(0);
  }
}

/**
 * The topics of a consumer-protocol subscription (ConsumerProtocolSubscription: int16 version,
 * array of int16-length strings, then fields this does not need). null when the bytes do not
 * parse (the caller then assumes every topic is subscribed).
 */
export function subscribedTopics(metadata: Buffer): string[] | null {
  try {
    if (metadata.length < 6) return null;
    let at = 2;
    const n = metadata.readInt32BE(at);
    at += 4;
    if (n < 0 || n > metadata.length) return null;
    const topics: string[] = [];
    for (let i = 0; i < n; i++) {
      const len = metadata.readInt16BE(at);
      at += 2;
      if (len < 0 || at + len > metadata.length) return null;
      topics.push(metadata.toString('utf8', at, at + len));
      at += len;
    }
    return topics;
  } catch {
    return null;
  }
}
