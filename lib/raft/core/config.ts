/**
 * The core's settings. Time is counted in ticks (the host decides how long a tick is); sizes in
 * bytes. Every limit is here, validated once when the core is built.
 */
import { type SettingsOf, validateSettings } from '../../base/settings.js';

export const raftSettings = {
  heartbeatTicks: { type: 'int', default: 1, min: 1, max: 1_000, unit: 'ticks', doc: 'ticks between heartbeats from the leader' },
  electionTicksMin: { type: 'int', default: 10, min: 2, max: 100_000, unit: 'ticks', doc: 'lower bound of the randomized election timeout; also the check-quorum period' },
  electionTicksMax: { type: 'int', default: 20, min: 3, max: 200_000, unit: 'ticks', doc: 'upper bound (inclusive) of the randomized election timeout' },
  preVote: { type: 'bool', default: true, doc: 'ask for pre-votes before campaigning, so a partitioned node cannot disrupt the group' },
  checkQuorum: { type: 'bool', default: true, doc: 'a leader that has not heard from a quorum within an election timeout steps down' },
  maxInflightMessages: { type: 'int', default: 256, min: 1, max: 65_536, unit: 'messages', doc: 'append messages in flight to one follower' },
  maxInflightBytes: { type: 'int', default: 32 * 1024 * 1024, min: 1024, max: 2 ** 40, unit: 'bytes', doc: 'entry bytes in flight to one follower' },
  maxMessageBytes: { type: 'int', default: 1024 * 1024, min: 64, max: 256 * 1024 * 1024, unit: 'bytes', doc: 'entry bytes in one append message (at least one entry is always sent)' },
  maxUncommittedBytes: { type: 'int', default: 64 * 1024 * 1024, min: 1024, max: 2 ** 40, unit: 'bytes', doc: 'uncommitted entry bytes a leader holds before refusing proposals' },
  maxCommittedBytesPerReady: { type: 'int', default: 16 * 1024 * 1024, min: 1024, max: 2 ** 40, unit: 'bytes', doc: 'committed entry bytes handed to apply in one Ready' },
  maxProposalEntries: { type: 'int', default: 4096, min: 1, max: 1_000_000, unit: 'entries', doc: 'entries in one propose() call' },
  snapshotChunkBytes: { type: 'int', default: 1024 * 1024, min: 1, max: 256 * 1024 * 1024, unit: 'bytes', doc: 'bytes of snapshot data in one message' },
  snapshotInflightChunks: { type: 'int', default: 4, min: 1, max: 1024, unit: 'chunks', doc: 'snapshot chunks in flight to one follower' },
  maxPendingReads: { type: 'int', default: 4096, min: 1, max: 1_000_000, unit: 'reads', doc: 'read-index requests waiting on one node' },
  readMode: { type: 'enum', default: 'safe', values: ['safe', 'lease'] as const, doc: 'safe: ReadIndex confirmed by a heartbeat round; lease: served on the leader lease (needs checkQuorum)' },
  maxClockDriftTicks: { type: 'int', default: 2, min: 0, max: 100_000, unit: 'ticks', doc: 'bound on clock drift between nodes over one election timeout; the lease is shortened by it' },
  broadcastCommit: { type: 'bool', default: true, doc: 'tell the followers of a commit advance at once (an empty append when no entries go out); off: they learn it from the next append or heartbeat, saving a message and an answer per entry where only the leader serves reads (partitions)' },
  quiesceTicks: { type: 'int', default: 0, min: 0, max: 1_000_000, unit: 'ticks', doc: 'a leader whose group has been idle (everything replicated, committed and applied, nothing pending) this long tells its followers and goes quiet: no heartbeats, no election clocks, until something happens; 0: never (the core\'s default; a RaftNode on a RaftHost, which wakes the followers of a silent node, runs with 20). Needs preVote' },
  learnerCatchUpEntries: { type: 'int', default: 0, min: 0, max: 2 ** 40, unit: 'entries', doc: 'a learner is promoted only when it lags the leader by at most this many entries' },
} as const;

export type RaftSettings = SettingsOf<typeof raftSettings>;

export function validateRaftSettings(input?: Readonly<Record<string, unknown>>): RaftSettings {
  return validateSettings(raftSettings, input, 'raft', (s, fail) => {
    if (s.electionTicksMax <= s.electionTicksMin) fail('electionTicksMax', `must be greater than electionTicksMin (${s.electionTicksMin})`);
    if (s.electionTicksMin <= s.heartbeatTicks) fail('electionTicksMin', `must be greater than heartbeatTicks (${s.heartbeatTicks})`);
    if (s.readMode === 'lease' && !s.checkQuorum) fail('readMode', 'lease reads need checkQuorum: true');
    if (s.readMode === 'lease' && s.maxClockDriftTicks >= s.electionTicksMin) fail('maxClockDriftTicks', `must be less than electionTicksMin (${s.electionTicksMin}) for lease reads`);
    if (s.maxMessageBytes > s.maxInflightBytes) fail('maxMessageBytes', `must not exceed maxInflightBytes (${s.maxInflightBytes})`);
    // A follower woken while its leader stays quiet runs out its election clock: with pre-vote
    // that only wakes the leader (voters in its lease refuse); without, it would depose it.
    if (s.quiesceTicks > 0 && !s.preVote) fail('quiesceTicks', 'quiescence needs preVote: true');
  });
}
