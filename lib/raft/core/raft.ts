/**
 * RaftCore: the consensus state machine of one Raft group. Pure and deterministic: no I/O, no
 * timers, no clock, no global randomness. Time is tick(); randomness is the injected Prng; the
 * durable log is read through LogReader and written through Ready. (Implementation in progress.)
 */
import type { Prng } from '../../base/prng.js';
import type {
  ConfigChange, InitialState, LogReader, Membership, Message, NodeId, Ready, Role, SnapshotMeta,
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
  /** Per follower, on the leader only. */
  readonly progress: ReadonlyMap<NodeId, FollowerStatus>;
}

export class RaftCore {
  /** Set only by lib/sim's PlantedBugCore. */
  protected bug: PlantedBug | null = null;

  constructor(_options: RaftCoreOptions) {
    throw new Error('not yet');
  }

  get id(): NodeId { throw new Error('not yet'); }
  get role(): Role { throw new Error('not yet'); }
  get term(): number { throw new Error('not yet'); }
  get leader(): NodeId { throw new Error('not yet'); }
  get commit(): number { throw new Error('not yet'); }
  get membership(): Membership { throw new Error('not yet'); }

  tick(): void { throw new Error('not yet'); }
  step(_message: Message): void { throw new Error('not yet'); }
  propose(_data: readonly Uint8Array[]): { firstIndex: number; term: number } { throw new Error('not yet'); }
  proposeConfigChange(_change: ConfigChange): { index: number; term: number } { throw new Error('not yet'); }
  readIndex(_id: number): void { throw new Error('not yet'); }
  transferLeadership(_to: NodeId): void { throw new Error('not yet'); }
  campaign(): void { throw new Error('not yet'); }
  hasReady(): boolean { throw new Error('not yet'); }
  ready(): Ready { throw new Error('not yet'); }
  advance(_ready: Ready): void { throw new Error('not yet'); }
  snapshotMetaAt(_index: number): SnapshotMeta { throw new Error('not yet'); }
  status(): RaftStatus { throw new Error('not yet'); }
}
