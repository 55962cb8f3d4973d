/**
 * Controller: the cluster's controller, on every controller voter of the metadata Raft group. It
 * is ACTIVE only while its metadata RaftNode leads and has applied everything committed before
 * (a read barrier after each election); a voter that is not active answers every call with
 * NOT_CONTROLLER (details.leaderId) or, while it is catching up as a new leader, NOT_READY.
 *
 * What it does (the RPCs of controller-api.ts, served over PeerRpc):
 * - register / heartbeat / unregister: node registration (RegisterBroker, fenced), unfencing once
 *   a node has caught up with the metadata log (its applied index within `unfenceLagEntriesMax`
 *   of the leader's and past its own registration), fencing when no heartbeat came for
 *   `brokerSessionTimeoutMs`, or at once when it shuts down. Liveness lives in the active
 *   controller's memory; a new leader gives every node a full session before fencing it.
 *   Nodes that are not controller voters are added to the metadata group as learners (observers),
 *   retried until it succeeds; learners that unregistered are removed.
 * - createTopics / deleteTopics / createPartitions / alterConfigs: validated against the image
 *   (topics.ts, topic-config.ts), replicas placed over unfenced, not decommissioned nodes.
 * - partitionLeader: leadership reports, coalesced, recorded only when newer than the image's.
 * - reassign: a Partition record with the new replicas (the partition's leader moves the Raft
 *   membership, see docs/design.md).
 * - decommission: the broker config `flotilla.decommissioned=true` (which keeps the node out of
 *   placement and leader balancing; delete the key to put it back in use) plus Partition records
 *   moving each of its replicas to another node. The node stays unfenced and serves clients while
 *   its replicas move away.
 * - allocateProducerIds: blocks of `producerIdBlockSize` ids (ProducerIds record).
 * - leader balancing every `leaderBalanceIntervalMs`: placement.ts `balanceLeaders` over the
 *   image's leader hints, at most `leaderBalanceMovesMax` transfers per round, each asked of the
 *   partition's current leader (BrokerMethods.transferLeader).
 *
 * Changes are serialised: one proposal at a time, each validated against the image that the
 * previous one left (a bounded queue, `maxQueuedChanges`), so two creates of one name cannot both
 * pass. A proposal that fails because leadership moved answers NOT_CONTROLLER; a TIMEOUT is
 * indeterminate (the change may still apply), as everywhere.
 */
import type { Clock } from '../base/clock.js';
import { FlotillaError, isFlotillaError } from '../base/errors.js';
import type { Prng } from '../base/prng.js';
import { type SettingsOf, type SettingsTable, validateSettings } from '../base/settings.js';
import type { PeerRpc } from '../cluster/rpc.js';
import type { LeaderChange, RaftNode } from '../raft/node.js';
import type {
  AllocateProducerIdsResponse, AlterConfigsRequest, ConfigOp, AlterConfigsResponse, CreatePartitionsRequest, CreatePartitionsResponse,
  CreateTopicResult, CreateTopicSpec, CreateTopicsRequest, CreateTopicsResponse, DecommissionResponse, DeleteTopicsResponse,
  HeartbeatRequest, HeartbeatResponse, ItemError, MetadataChangeResult, NamedResult, PartitionLeaderReport, QuorumDescription, QuorumReplica,
  RegisterRequest, RegisterResponse, TransferLeaderRequest, VoterChangeRequest, VoterChangeResponse,
} from './controller-api.js';
import { BrokerMethods, ControllerMethods, type CreateAclsResponse, type DeleteAclsResponse } from './controller-api.js';
import { type AclFilter, planAclCreations, planAclDeletions } from '../auth/acl.js';

import { replayRecords } from './delta.js';
import type { MetadataImage } from './image.js';
import { configResourceKey } from './image.js';
import { DECOMMISSIONED_KEY, balanceLeaders, isDecommissioned, partitionsOf, placementNodes, planDecommission } from './placement.js';
import type { MetadataRecord } from './records.js';
import { RecordLimits, encodeRecord, isUuid, listenersProblem } from './records.js';
import type { MetadataApplyResult, MetadataStateMachine } from './state-machine.js';
import { encodeRecordBatch } from './state-machine.js';
import {
  CLUSTER_DEFAULT_RESOURCE, type TopicConfigKey, clusterDefaultKeys, isClusterDefaultKey, isTopicConfigKey, topicConfigSpecs, validateClusterDefault, validateTopicConfig,
} from './topic-config.js';
import { type AlterScramRequest, alterScram } from './scram.js';
import type { AlterClientQuotasResponse, AlterScramResponse } from './controller-api.js';
import { type AlterClientQuotasRequest, alterClientQuotas } from './client-quotas.js';
import { createPartitionsRecords, createTopicRecords, deleteTopicRecords, validateTopicName } from './topics.js';

export const controllerSettings = {
  brokerSessionTimeoutMs: { type: 'int', default: 9000, min: 10, max: 3_600_000, unit: 'ms', doc: 'a node with no heartbeat for this long is fenced (clients stop being sent to it)' },
  brokerHeartbeatIntervalMs: { type: 'int', default: 1500, min: 5, max: 600_000, unit: 'ms', doc: 'how often a node heartbeats to the controller' },
  unfenceLagEntriesMax: { type: 'int', default: 50, min: 0, max: 1_000_000, unit: 'entries', doc: 'a fenced node is unfenced once its metadata log trails the leader by at most this many entries' },
  livenessCheckIntervalMs: { type: 'int', default: 500, min: 1, max: 60_000, unit: 'ms', doc: 'how often the controller checks sessions and the metadata group learners' },
  leaderBalanceIntervalMs: { type: 'int', default: 30_000, min: 0, max: 86_400_000, unit: 'ms', doc: 'how often partition leadership is spread again (0: never)' },
  leaderBalanceMovesMax: { type: 'int', default: 3, min: 1, max: 10_000, unit: 'moves', doc: 'leadership transfers asked per balancing round' },
  numPartitions: { type: 'int', default: 1, min: 1, max: RecordLimits.partitionsMax, unit: 'partitions', doc: 'partitions of a topic created without a count (num.partitions)' },
  defaultReplicationFactor: { type: 'int', default: 3, min: 1, max: RecordLimits.replicasMax, unit: 'replicas', doc: 'replication factor of a topic created without one, capped at the unfenced node count (default.replication.factor)' },
  autoCreateTopics: { type: 'bool', default: true, doc: 'create a topic when a client asks for metadata of an unknown one (auto.create.topics.enable; the broker reads it)' },
  producerIdBlockSize: { type: 'int', default: 1000, min: 1, max: 1_000_000, unit: 'ids', doc: 'producer ids handed to a node at a time' },
  maxQueuedChanges: { type: 'int', default: 10_000, min: 1, max: 1_000_000, unit: 'requests', doc: 'metadata changes waiting for their turn (BACKPRESSURE beyond)' },
  proposalBytesMax: { type: 'int', default: 1024 * 1024, min: 1024, max: 16 * 1024 * 1024, unit: 'bytes', doc: 'largest metadata entry; a larger change is split into several entries' },
} as const satisfies SettingsTable;

export type ControllerSettings = SettingsOf<typeof controllerSettings>;

export function validateControllerSettings(input?: Readonly<Record<string, unknown>>): ControllerSettings {
  return validateSettings(controllerSettings, input, 'controller', (s, fail) => {
    if (s.brokerSessionTimeoutMs <= s.brokerHeartbeatIntervalMs) {
      fail('brokerSessionTimeoutMs', `must be greater than brokerHeartbeatIntervalMs (${s.brokerHeartbeatIntervalMs})`);
    }
  });
}

export interface ControllerOptions {
  readonly nodeId: number;
  /** The metadata group's RaftNode on this node (a voter). */
  readonly raft: RaftNode<MetadataApplyResult>;
  readonly stateMachine: MetadataStateMachine;
  readonly rpc: PeerRpc;
  readonly clock: Clock;
  /** Topic ids are UUIDs made from it. */
  readonly prng: Prng;
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
  /** SCRAM credential records to write when the cluster's metadata log is created (--add-scram). */
  readonly bootstrapCredentials?: readonly MetadataRecord[];
}

/** Kafka's "no directory id". */
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** How long AddRaftVoter waits for the new voter to catch up before it gives up (TIMEOUT). */
const VOTER_CATCH_UP_MS = 3_000;

/** A UUID (version 4 layout) from a Prng: topic, incarnation and ACL ids. */
export function uuidFromPrng(prng: Prng): string {
  const b: number[] = [];
  for (let i = 0; i < 16; i++) b.push(prng.int(0, 255));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

interface Liveness {
  lastHeartbeatMs: number;
  /** The metadata index of the node's registration (0 when it registered with an older leader). */
  registeredIndex: number;
}

export class Controller {
  readonly nodeId: number;
  readonly settings: ControllerSettings;
  private readonly raft: RaftNode<MetadataApplyResult>;
  private readonly sm: MetadataStateMachine;
  private readonly rpc: PeerRpc;
  private readonly clock: Clock;
  private readonly prng: Prng;
  private readonly logger: ((line: string) => void) | undefined;
  private active = false;
  private activating = false;
  private activeSinceMs = 0;
  private readonly liveness = new Map<number, Liveness>();
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private fencing = false;
  /** A change of the metadata group's membership is under way (learners, voters): one at a time. */
  private membershipChange = false;
  private readonly leaderReports = new Map<string, PartitionLeaderReport>();
  private leaderFlush: Promise<MetadataChangeResult> | null = null;
  private checkTimer: ReturnType<typeof setInterval> | null = null;
  private balanceTimer: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private readonly bootstrapRecords: readonly MetadataRecord[];
  readonly stats = { proposals: 0, fenced: 0, unfenced: 0, learnersAdded: 0, leaderMovesAsked: 0, activations: 0 };

  constructor(options: ControllerOptions) {
    this.nodeId = options.nodeId;
    this.settings = validateControllerSettings(options.settings);
    this.raft = options.raft;
    this.sm = options.stateMachine;
    this.rpc = options.rpc;
    this.clock = options.clock;
    this.prng = options.prng;
    this.logger = options.logger;
    this.bootstrapRecords = options.bootstrapCredentials ?? [];
  }

  /** True while this node is the active controller. */
  get isActive(): boolean {
    return this.active && this.raft.isLeader;
  }

  /** Registers the RPC handlers and starts the timers. */
  start(): void {
    const M = ControllerMethods;
    this.rpc.handle(M.register, (_from, body) => this.register(body as RegisterRequest));
    this.rpc.handle(M.heartbeat, (_from, body) => this.heartbeat(body as HeartbeatRequest));
    this.rpc.handle(M.unregister, (_from, body) => this.unregister(field(body, 'brokerId', 'number')));
    this.rpc.handle(M.createTopics, (_from, body) => this.createTopics(body as CreateTopicsRequest));
    this.rpc.handle(M.deleteTopics, (_from, body) => this.deleteTopics(field(body, 'names', 'array') as string[]));
    this.rpc.handle(M.createPartitions, (_from, body) => this.createPartitions(body as CreatePartitionsRequest));
    this.rpc.handle(M.alterConfigs, (_from, body) => this.alterConfigs(body as AlterConfigsRequest));
    this.rpc.handle(M.partitionLeader, (_from, body) => this.partitionLeader(field(body, 'reports', 'array') as PartitionLeaderReport[]));
    this.rpc.handle(M.reassign, (_from, body) => this.reassign(field(body, 'topic', 'string'), field(body, 'partition', 'number'), field(body, 'replicas', 'array') as number[]));
    this.rpc.handle(M.decommission, (_from, body) => this.decommission(field(body, 'brokerId', 'number')));
    this.rpc.handle(M.allocateProducerIds, (_from, body) => this.allocateProducerIds(field(body, 'brokerId', 'number')));
    this.rpc.handle(M.describeQuorum, () => this.describeQuorum());
    this.rpc.handle(M.addVoter, (_from, body) => this.addVoter(body as VoterChangeRequest));
    this.rpc.handle(M.removeVoter, (_from, body) => this.removeVoter(body as VoterChangeRequest));
    this.rpc.handle(M.alterScramCredentials, (_from, body) => this.alterScramCredentials(body as AlterScramRequest));
    this.rpc.handle(M.createAcls, (_from, body) => this.createAcls(field(body, 'acls', 'array') as unknown[]));
    this.rpc.handle(M.deleteAcls, (_from, body) => this.deleteAcls(field(body, 'filters', 'array') as AclFilter[]));
    this.rpc.handle(M.alterClientQuotas, (_from, body) => this.alterClientQuotas(body as AlterClientQuotasRequest));
    this.raft.on('leader-change', this.onLeaderChange);
    this.checkTimer = setInterval(() => this.tick(), this.settings.livenessCheckIntervalMs);
    this.checkTimer.unref?.();
    if (this.settings.leaderBalanceIntervalMs > 0) {
      this.balanceTimer = setInterval(() => void this.balanceLeadersNow(), this.settings.leaderBalanceIntervalMs);
      this.balanceTimer.unref?.();
    }
    if (this.raft.isLeader) void this.activate();
  }

  close(): void {
    this.closed = true;
    this.active = false;
    this.raft.off('leader-change', this.onLeaderChange);
    if (this.checkTimer) clearInterval(this.checkTimer);
    if (this.balanceTimer) clearInterval(this.balanceTimer);
    this.checkTimer = null;
    this.balanceTimer = null;
  }

  // ---- Leadership -------------------------------------------------------------------------------

  private readonly onLeaderChange = (change: LeaderChange): void => {
    if (change.leaderId === this.nodeId) void this.activate();
    else this.deactivate();
  };

  private async activate(): Promise<void> {
    if (this.active || this.activating || this.closed) return;
    this.activating = true;
    const term = this.raft.term;
    try {
      // Everything committed before this term must be applied here before the image is trusted.
      while (this.raft.isLeader && this.raft.term === term && !this.closed) {
        try {
          await this.raft.readBarrier();
          break;
        } catch {
          await sleep(10);
        }
      }
      if (!this.raft.isLeader || this.raft.term !== term || this.closed) return;
      this.active = true;
      this.activeSinceMs = this.clock.nowMs();
      this.liveness.clear();
      this.stats.activations++;
      this.log(`active controller in term ${term} at metadata index ${this.raft.appliedIndex}`);
      void this.bootstrapCredentials().catch((err: unknown) => this.log(`bootstrap credentials not written yet: ${err instanceof Error ? err.message : String(err)}`));
    } finally {
      this.activating = false;
    }
  }

  private deactivate(): void {
    if (this.active) this.log(`no longer the active controller (leader: ${this.raft.leaderId})`);
    this.active = false;
    this.liveness.clear();
  }

  private checkActive(): void {
    if (this.closed) throw new FlotillaError('NOT_CONTROLLER', `node ${this.nodeId} is closing`, { leaderId: 0 });
    if (!this.raft.isLeader) {
      if (this.active) this.deactivate();
      throw new FlotillaError('NOT_CONTROLLER', `node ${this.nodeId} is not the controller`, { leaderId: this.raft.leaderId });
    }
    if (!this.active) {
      void this.activate();
      throw new FlotillaError('NOT_READY', `node ${this.nodeId} was just elected controller and is catching up`, { leaderId: this.nodeId });
    }
  }

  /** Runs `fn` after every earlier change (one at a time), as the active controller. */
  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    try {
      this.checkActive();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.queued >= this.settings.maxQueuedChanges) {
      return Promise.reject(new FlotillaError('BACKPRESSURE', `more than ${this.settings.maxQueuedChanges} metadata changes queued`));
    }
    this.queued++;
    const run = this.chain.then(async () => {
      this.checkActive();
      return await fn();
    });
    this.chain = run.then(
      () => { this.queued--; },
      () => { this.queued--; },
    );
    return run;
  }

  /** Appends `records` (split into entries of at most proposalBytesMax); the last entry's index. */
  private async propose(records: readonly MetadataRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    let index = 0;
    let chunk: MetadataRecord[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const batch = encodeRecordBatch(chunk);
      chunk = [];
      bytes = 0;
      try {
        this.stats.proposals++;
        index = (await this.raft.propose(batch)).index;
      } catch (err) {
        if (isFlotillaError(err, 'NOT_LEADER') || isFlotillaError(err, 'PROPOSAL_DROPPED') || isFlotillaError(err, 'CLOSED')) {
          throw new FlotillaError('NOT_CONTROLLER', `the controller lost leadership: ${err.message}`, { leaderId: this.raft.leaderId });
        }
        throw err;
      }
    };
    for (const r of records) {
      const size = encodeRecord(r).length + 8;
      if (bytes + size > this.settings.proposalBytesMax) await flush();
      chunk.push(r);
      bytes += size;
    }
    await flush();
    return index;
  }

  private image(): MetadataImage {
    return this.sm.image();
  }

  // ---- Timers -----------------------------------------------------------------------------------

  private tick(): void {
    if (this.closed) return;
    if (!this.raft.isLeader) {
      if (this.active) this.deactivate();
      return;
    }
    if (!this.active) {
      void this.activate();
      return;
    }
    this.checkSessions();
    this.reconcileLearners();
  }

  /** Fences every unfenced node whose session expired (one proposal). */
  private checkSessions(): void {
    if (this.fencing) return;
    const expired = this.expiredBrokers();
    if (expired.length === 0) return;
    this.fencing = true;
    this.exclusive(async () => {
      const still = this.expiredBrokers();
      if (still.length === 0) return;
      this.log(`fencing node${still.length > 1 ? 's' : ''} ${still.join(', ')}: no heartbeat for ${this.settings.brokerSessionTimeoutMs} ms`);
      await this.propose(still.map((brokerId) => ({ type: 'BrokerFencing', brokerId, fenced: true })));
      this.stats.fenced += still.length;
    }).catch((err: unknown) => this.log(`fencing failed: ${errText(err)}`)).finally(() => {
      this.fencing = false;
    });
  }

  private expiredBrokers(): number[] {
    const now = this.clock.nowMs();
    const out: number[] = [];
    for (const b of this.image().brokers.values()) {
      if (b.fenced) continue;
      const last = this.liveness.get(b.brokerId)?.lastHeartbeatMs ?? this.activeSinceMs;
      if (now - last > this.settings.brokerSessionTimeoutMs) out.push(b.brokerId);
    }
    return out.sort((x, y) => x - y);
  }

  /** Adds registered non-voters to the metadata group as learners; removes unregistered ones. */
  private reconcileLearners(): void {
    if (this.membershipChange) return;
    const image = this.image();
    const m = this.raft.membership;
    const members = new Set([...m.voters, ...m.learners]);
    let change: (() => Promise<void>) | undefined;
    let what = '';
    for (const id of [...image.brokers.keys()].sort((x, y) => x - y)) {
      // Voters are members (the configured ones from the group's bootstrap, others by AddRaftVoter);
      // a voter removed while it stays registered becomes an observer here.
      if (members.has(id)) continue;
      change = () => this.raft.addLearner(id);
      what = `add node ${id} to the metadata group as a learner`;
      break;
    }
    if (change === undefined) {
      const gone = m.learners.find((id) => !image.brokers.has(id));
      if (gone !== undefined) {
        change = () => this.raft.removeMember(gone);
        what = `remove node ${gone} (unregistered) from the metadata group`;
      }
    }
    if (change === undefined) return;
    this.membershipChange = true;
    change().then(
      () => {
        this.stats.learnersAdded++;
        this.log(what);
      },
      (err: unknown) => {
        // Retried on the next tick (CONFIG_CHANGE_PENDING while another change commits, ...).
        if (!isFlotillaError(err, 'CONFIG_CHANGE_PENDING')) this.log(`could not ${what}: ${errText(err)}`);
      },
    ).finally(() => {
      this.membershipChange = false;
    });
  }

  /**
   * One leader-balancing round: asks the current leaders of at most leaderBalanceMovesMax
   * partitions to hand leadership over. Returns the moves asked for.
   */
  async balanceLeadersNow(): Promise<{ topicId: string; partition: number; fromNode: number; toNode: number }[]> {
    if (!this.isActive) return [];
    const image = this.image();
    const live = image.unfencedBrokers().map((b) => b.brokerId).filter((id) => !isDecommissioned(image, id));
    const moves = balanceLeaders({ partitions: partitionsOf(image), liveNodes: live, maxMoves: this.settings.leaderBalanceMovesMax });
    await Promise.all(moves.map(async (m) => {
      this.stats.leaderMovesAsked++;
      try {
        await this.rpc.call(m.fromNode, BrokerMethods.transferLeader, { topicId: m.topicId, partition: m.partition, to: m.toNode } satisfies TransferLeaderRequest);
      } catch (err) {
        this.log(`leader balancing: moving ${m.topicId}/${m.partition} from ${m.fromNode} to ${m.toNode} failed: ${errText(err)}`);
      }
    }));
    return moves;
  }

  // ---- The quorum -------------------------------------------------------------------------------

  /**
   * The metadata Raft group as this node, its leader, sees it (DescribeQuorum). Any leader answers,
   * active or still catching up (as Kafka's Raft client does); elsewhere NOT_CONTROLLER names the
   * leader. Indexes are Raft indexes of the metadata log; a node's directory id is its incarnation
   * id (new after its data directory was wiped), the zero UUID until it registers.
   */
  describeQuorum(): QuorumDescription {
    if (this.closed || !this.raft.isLeader) {
      throw new FlotillaError('NOT_CONTROLLER', `node ${this.nodeId} does not lead the metadata group`, { leaderId: this.closed ? 0 : this.raft.leaderId });
    }
    const st = this.raft.status();
    const activity = this.raft.followerActivity();
    const image = this.image();
    const wall = this.clock.wallMs();
    const replica = (id: number): QuorumReplica => {
      const directoryId = image.brokers.get(id)?.incarnationId ?? ZERO_UUID;
      if (id === this.nodeId) return { nodeId: id, directoryId, logEndIndex: st.lastIndex, lastFetchMs: wall, lastCaughtUpMs: wall };
      const a = activity.get(id);
      return {
        nodeId: id, directoryId, logEndIndex: a?.match ?? -1,
        lastFetchMs: a === undefined || a.heardAgoMs < 0 ? -1 : Math.round(wall - a.heardAgoMs),
        lastCaughtUpMs: a === undefined || a.caughtUpAgoMs < 0 ? -1 : Math.round(wall - a.caughtUpAgoMs),
      };
    };
    const byId = (x: number, y: number): number => x - y;
    const voters = [...st.membership.voters].sort(byId);
    return {
      leaderId: this.nodeId,
      term: st.term,
      highWatermark: st.commit,
      voters: voters.map(replica),
      observers: [...st.membership.learners].sort(byId).map(replica),
      nodes: voters.flatMap((id) => {
        const b = image.brokers.get(id);
        return b === undefined ? [] : [{ nodeId: id, host: b.host, port: b.peerPort }];
      }),
    };
  }

  /**
   * AddRaftVoter (KIP-853): a registered node joins the metadata voters — as a learner first (if
   * it is not one yet), promoted once it holds the log (the Raft core refuses to promote a learner
   * that lags: retried until `voterCatchUpMs`). One membership change at a time: while another is
   * under way, TIMEOUT (retriable, Kafka's REQUEST_TIMED_OUT). The membership lives in the metadata
   * log's Config entries and snapshots, so it survives restarts; the static `controllers` setting
   * only bootstraps an empty group. A node whose data directory was wiped comes back under a new id
   * (docs/design.md, "identity is the node id"): add the new id, remove the old.
   */
  async addVoter(req: VoterChangeRequest): Promise<VoterChangeResponse> {
    checkNodeId(req?.nodeId, 'nodeId');
    this.checkActive();
    const id = req.nodeId;
    if (this.raft.membership.voters.includes(id)) throw new FlotillaError('DUPLICATE_VOTER', `node ${id} is a metadata voter already`);
    const b = this.image().brokers.get(id);
    if (b === undefined) throw new FlotillaError('INVALID_REQUEST', `node ${id} is not registered: start it (it joins as an observer) before it can become a voter`);
    if (typeof req.directoryId === 'string' && req.directoryId !== ZERO_UUID && req.directoryId !== b.incarnationId) {
      throw new FlotillaError('INVALID_REQUEST', `node ${id} runs incarnation ${b.incarnationId}, not directory id ${req.directoryId}`);
    }
    return this.changeMembership(`add node ${id} to the metadata voters`, async () => {
      if (!this.raft.membership.learners.includes(id)) await this.raft.addLearner(id);
      const deadline = this.clock.nowMs() + VOTER_CATCH_UP_MS;
      for (;;) {
        try {
          await this.raft.promoteLearner(id);
          return;
        } catch (err) {
          if (!isFlotillaError(err, 'CONFIG_CHANGE_PENDING') || this.clock.nowMs() > deadline) {
            if (isFlotillaError(err, 'CONFIG_CHANGE_PENDING')) throw new FlotillaError('TIMEOUT', `node ${id} did not catch up with the metadata log in ${VOTER_CATCH_UP_MS} ms (it stays an observer): ${err.message}`);
            throw err;
          }
          await sleep(20);
        }
      }
    });
  }

  /**
   * RemoveRaftVoter (KIP-853): a voter leaves the metadata voters (it stays an observer while it
   * is registered). The last voter cannot leave. The leader removing itself hands leadership to
   * another voter first and answers NOT_CONTROLLER: the client retries on the new leader.
   */
  async removeVoter(req: VoterChangeRequest): Promise<VoterChangeResponse> {
    checkNodeId(req?.nodeId, 'nodeId');
    this.checkActive();
    const id = req.nodeId;
    const voters = this.raft.membership.voters;
    if (!voters.includes(id)) throw new FlotillaError('VOTER_NOT_FOUND', `node ${id} is not a metadata voter (voters: ${voters.join(', ')})`);
    const b = this.image().brokers.get(id);
    if (typeof req.directoryId === 'string' && req.directoryId !== ZERO_UUID && b !== undefined && req.directoryId !== b.incarnationId) {
      throw new FlotillaError('VOTER_NOT_FOUND', `voter ${id} runs incarnation ${b.incarnationId}, not directory id ${req.directoryId}`);
    }
    if (voters.length === 1) throw new FlotillaError('INVALID_REQUEST', `node ${id} is the only metadata voter`);
    if (id === this.nodeId) {
      const activity = this.raft.followerActivity();
      const to = voters.filter((v) => v !== id).sort((x, y) => (activity.get(y)?.match ?? 0) - (activity.get(x)?.match ?? 0))[0]!;
      await this.raft.transferLeadership(to).catch(() => undefined);
      throw new FlotillaError('NOT_CONTROLLER', `node ${id} handed the metadata leadership to ${to} before leaving the voters`, { leaderId: to });
    }
    return this.changeMembership(`remove node ${id} from the metadata voters`, () => this.raft.removeMember(id));
  }

  /** Runs one membership change (none other at the same time); the voters after it. */
  private async changeMembership(what: string, change: () => Promise<void>): Promise<VoterChangeResponse> {
    if (this.membershipChange) throw new FlotillaError('TIMEOUT', `another change of the metadata group is under way; retry (${what})`);
    this.membershipChange = true;
    try {
      await change();
    } catch (err) {
      if (isFlotillaError(err, 'CONFIG_CHANGE_PENDING')) throw new FlotillaError('TIMEOUT', `${what}: ${err.message}`);
      if (isFlotillaError(err, 'NOT_LEADER') || isFlotillaError(err, 'PROPOSAL_DROPPED')) {
        throw new FlotillaError('NOT_CONTROLLER', `${what}: the controller lost leadership: ${err.message}`, { leaderId: this.raft.leaderId });
      }
      throw err;
    } finally {
      this.membershipChange = false;
    }
    this.log(what);
    return { voters: [...this.raft.membership.voters].sort((x, y) => x - y) };
  }

  // ---- Nodes ------------------------------------------------------------------------------------

  async register(req: RegisterRequest): Promise<RegisterResponse> {
    checkNodeId(req?.brokerId, 'brokerId');
    if (typeof req.incarnationId !== 'string' || !isUuid(req.incarnationId)) invalid('incarnationId is not a UUID');
    if (typeof req.host !== 'string' || req.host.length === 0 || req.host.length > RecordLimits.stringLengthMax) invalid('host is not a host name');
    checkPort(req.clientPort, 'clientPort');
    checkPort(req.peerPort, 'peerPort');
    if (req.rack !== null && (typeof req.rack !== 'string' || req.rack.length > RecordLimits.stringLengthMax)) invalid('rack is not a string or null');
    const listenersWrong = req.listeners === undefined ? null : listenersProblem(req.listeners);
    if (listenersWrong !== null) invalid(`listeners ${listenersWrong}`);
    return this.exclusive(async () => {
      const old = this.image().brokers.get(req.brokerId);
      if (old !== undefined && old.incarnationId !== req.incarnationId) {
        this.log(`node ${req.brokerId} registers with a new incarnation ${req.incarnationId} (was ${old.incarnationId}): its disk was wiped`);
      }
      const index = await this.propose([{
        type: 'RegisterBroker', brokerId: req.brokerId, incarnationId: req.incarnationId, host: req.host,
        clientPort: req.clientPort, peerPort: req.peerPort, rack: req.rack ?? null, fenced: true,
        ...(req.listeners === undefined ? {} : { listeners: req.listeners.map((l) => ({ name: l.name, host: l.host, port: l.port, securityProtocol: l.securityProtocol })) }),
      }]);
      this.liveness.set(req.brokerId, { lastHeartbeatMs: this.clock.nowMs(), registeredIndex: index });
      this.reconcileLearners();
      return { metadataIndex: index, fenced: true };
    });
  }

  async heartbeat(req: HeartbeatRequest): Promise<HeartbeatResponse> {
    checkNodeId(req?.brokerId, 'brokerId');
    if (typeof req.metadataApplied !== 'number') invalid('metadataApplied is not a number');
    this.checkActive();
    const b = this.image().brokers.get(req.brokerId);
    if (b === undefined || b.incarnationId !== req.incarnationId) {
      throw new FlotillaError('INVALID_REQUEST', `node ${req.brokerId} is not registered with incarnation ${String(req.incarnationId)}: register again`, { reregister: true });
    }
    const live = this.liveness.get(req.brokerId) ?? { lastHeartbeatMs: 0, registeredIndex: 0 };
    live.lastHeartbeatMs = this.clock.nowMs();
    this.liveness.set(req.brokerId, live);
    if (req.shuttingDown === true) {
      if (b.fenced) return { fenced: true };
      const index = await this.setFenced(req.brokerId, req.incarnationId, true);
      this.log(`node ${req.brokerId} is shutting down: fenced`);
      return { fenced: true, metadataIndex: index };
    }
    if (!b.fenced) return { fenced: false };
    const caughtUp = req.metadataApplied >= live.registeredIndex && req.metadataApplied >= this.raft.appliedIndex - this.settings.unfenceLagEntriesMax;
    if (!caughtUp) return { fenced: true };
    const index = await this.setFenced(req.brokerId, req.incarnationId, false);
    this.log(`node ${req.brokerId} caught up (metadata index ${req.metadataApplied}): unfenced`);
    return { fenced: this.image().brokers.get(req.brokerId)?.fenced ?? true, metadataIndex: index };
  }

  private setFenced(brokerId: number, incarnationId: string, fenced: boolean): Promise<number> {
    return this.exclusive(async () => {
      const b = this.image().brokers.get(brokerId);
      if (b === undefined || b.incarnationId !== incarnationId || b.fenced === fenced) return 0;
      const index = await this.propose([{ type: 'BrokerFencing', brokerId, fenced }]);
      if (fenced) this.stats.fenced++;
      else this.stats.unfenced++;
      return index;
    });
  }

  /** The node leaves for good: it must hold no replicas (decommission it first). */
  async unregister(brokerId: number): Promise<MetadataChangeResult> {
    checkNodeId(brokerId, 'brokerId');
    return this.exclusive(async () => {
      const image = this.image();
      if (!image.brokers.has(brokerId)) return { metadataIndex: 0 };
      const held = image.replicasOn(brokerId).length;
      if (held > 0) throw new FlotillaError('POLICY_VIOLATION', `node ${brokerId} still holds ${held} replicas: decommission it first`);
      const records: MetadataRecord[] = [{ type: 'UnregisterBroker', brokerId }];
      for (const key of image.configs.get(configResourceKey('broker', String(brokerId)))?.keys() ?? []) {
        records.push({ type: 'Config', resourceType: 'broker', resourceName: String(brokerId), key, value: null });
      }
      const index = await this.propose(records);
      this.liveness.delete(brokerId);
      this.reconcileLearners();
      return { metadataIndex: index };
    });
  }

  // ---- Topics -----------------------------------------------------------------------------------

  async createTopics(req: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    if (!Array.isArray(req?.topics)) invalid('topics is not a list');
    return this.exclusive(async () => {
      let working = this.image();
      const records: MetadataRecord[] = [];
      const results: CreateTopicResult[] = [];
      const seen = new Set<string>();
      for (const spec of req.topics) {
        const name = typeof spec?.name === 'string' ? spec.name : '';
        try {
          if (seen.has(name)) throw new FlotillaError('INVALID_REQUEST', `topic "${name}" appears twice in the request`);
          seen.add(name);
          const recs = this.topicRecords(working, spec);
          working = replayRecords(recs, working);
          records.push(...recs);
          const t = working.topicsByName.get(name);
          results.push({ name, error: null, topicId: t?.topicId ?? null, partitions: t?.partitions.length ?? 0, replicationFactor: t?.replicationFactor ?? 0 });
        } catch (err) {
          results.push({ name, error: itemError(err), topicId: null, partitions: 0, replicationFactor: 0 });
        }
      }
      const metadataIndex = req.validateOnly ? 0 : await this.propose(records);
      if (metadataIndex > 0) this.log(`created topics ${results.filter((r) => r.error === null).map((r) => r.name).join(', ')}`);
      return { metadataIndex, results };
    });
  }

  private topicRecords(image: MetadataImage, spec: CreateTopicSpec): MetadataRecord[] {
    validateTopicName(spec.name);
    const configs = new Map<string, string>();
    for (const [k, v] of Object.entries(spec.configs ?? {})) configs.set(k, validateTopicConfig(k, String(v)));
    let topicId = uuidFromPrng(this.prng);
    while (image.topicsById.has(topicId)) topicId = uuidFromPrng(this.prng);
    const manual = spec.assignments !== null && spec.assignments !== undefined && spec.assignments.length > 0;
    if (manual) {
      const given = spec.assignments ?? [];
      // Either -1 (Kafka's wire form) or the counts the assignments imply.
      if ((spec.partitions !== -1 && spec.partitions !== given.length) || (spec.replicationFactor !== -1 && spec.replicationFactor !== given[0]?.length)) {
        throw new FlotillaError('INVALID_REQUEST', `topic "${spec.name}": the partition count and replication factor must be -1 (or match the assignments) when assignments are given`);
      }
      if (image.topicsByName.has(spec.name)) throw new FlotillaError('TOPIC_EXISTS', `topic "${spec.name}" already exists`, { name: spec.name });
      const lists = checkAssignments(image, spec.assignments ?? [], null);
      const records: MetadataRecord[] = [{ type: 'Topic', topicId, name: spec.name, replicationFactor: lists[0]?.length ?? 1, offsetLayout: 2 }];
      lists.forEach((replicas, partition) => records.push({ type: 'Partition', topicId, partition, replicas }));
      for (const [key, value] of [...configs].sort(([a], [b]) => (a < b ? -1 : 1))) records.push({ type: 'Config', resourceType: 'topic', resourceName: spec.name, key, value });
      return records;
    }
    const partitionCount = spec.partitions === -1 ? this.settings.numPartitions : spec.partitions;
    const eligible = placementNodes(image).length;
    const replicationFactor = spec.replicationFactor === -1 ? Math.max(1, Math.min(this.settings.defaultReplicationFactor, eligible)) : spec.replicationFactor;
    return createTopicRecords(image, { name: spec.name, topicId, partitionCount, replicationFactor, configs });
  }

  async deleteTopics(names: readonly string[]): Promise<DeleteTopicsResponse> {
    return this.exclusive(async () => {
      let working = this.image();
      const records: MetadataRecord[] = [];
      const results: NamedResult[] = [];
      for (const name of names) {
        try {
          if (typeof name !== 'string') invalid('a topic name is not a string');
          const recs = deleteTopicRecords(working, name);
          working = replayRecords(recs, working);
          records.push(...recs);
          results.push({ name, error: null });
        } catch (err) {
          results.push({ name: String(name), error: itemError(err) });
        }
      }
      const metadataIndex = await this.propose(records);
      if (metadataIndex > 0) this.log(`deleted topics ${results.filter((r) => r.error === null).map((r) => r.name).join(', ')}`);
      return { metadataIndex, results };
    });
  }

  async createPartitions(req: CreatePartitionsRequest): Promise<CreatePartitionsResponse> {
    if (!Array.isArray(req?.topics)) invalid('topics is not a list');
    return this.exclusive(async () => {
      let working = this.image();
      const records: MetadataRecord[] = [];
      const results: NamedResult[] = [];
      for (const t of req.topics) {
        const name = typeof t?.name === 'string' ? t.name : '';
        try {
          let recs: MetadataRecord[];
          if (t.assignments !== null && t.assignments !== undefined && t.assignments.length > 0) {
            const topic = working.topicsByName.get(name);
            if (topic === undefined) throw new FlotillaError('UNKNOWN_TOPIC', `topic "${name}" does not exist`, { name });
            const current = topic.partitions.length;
            if (!Number.isInteger(t.count) || t.count <= current) {
              throw new FlotillaError('INVALID_TOPIC', `topic "${name}" has ${current} partitions; the new count ${t.count} must be larger`);
            }
            if (t.assignments.length !== t.count - current) {
              throw new FlotillaError('INVALID_REQUEST', `topic "${name}": ${t.assignments.length} assignments for ${t.count - current} new partitions`);
            }
            const lists = checkAssignments(working, t.assignments, topic.replicationFactor);
            recs = lists.map((replicas, i) => ({ type: 'Partition', topicId: topic.topicId, partition: current + i, replicas }));
          } else {
            recs = createPartitionsRecords(working, name, t.count);
          }
          working = replayRecords(recs, working);
          records.push(...recs);
          results.push({ name, error: null });
        } catch (err) {
          results.push({ name, error: itemError(err) });
        }
      }
      const metadataIndex = req.validateOnly ? 0 : await this.propose(records);
      return { metadataIndex, results };
    });
  }

  // ---- ACLs -------------------------------------------------------------------------------------

  /** Acl records for the new bindings (validated again here: the body came over the wire). */
  async createAcls(acls: readonly unknown[]): Promise<CreateAclsResponse> {
    return this.exclusive(async () => {
      const image = this.image();
      const newId = (): string => {
        let id = uuidFromPrng(this.prng);
        while (image.acls.has(id)) id = uuidFromPrng(this.prng);
        return id;
      };
      const plan = planAclCreations(image.acls.values(), acls, newId);
      const metadataIndex = await this.propose(plan.added.map((a): MetadataRecord => ({ type: 'Acl', ...a })));
      if (metadataIndex > 0) this.log(`created ${plan.added.length} ACL(s)`);
      return { metadataIndex, results: plan.problems.map((p) => (p === null ? null : { code: 'INVALID_REQUEST', message: p })) };
    });
  }

  /** RemoveAcl records for every ACL a filter matches. */
  async deleteAcls(filters: readonly AclFilter[]): Promise<DeleteAclsResponse> {
    if (filters.some((f) => typeof f !== 'object' || f === null)) invalid('a filter is not an object');
    return this.exclusive(async () => {
      const plan = planAclDeletions(this.image().acls.values(), filters);
      const metadataIndex = await this.propose(plan.removed.map((a): MetadataRecord => ({ type: 'RemoveAcl', aclId: a.aclId })));
      if (metadataIndex > 0) this.log(`removed ${plan.removed.length} ACL(s)`);
      return { metadataIndex, results: plan.matches.map((deleted) => ({ deleted })) };
    });
  }

  async alterConfigs(req: AlterConfigsRequest): Promise<AlterConfigsResponse> {
    if (!Array.isArray(req?.resources)) invalid('resources is not a list');
    return this.exclusive(async () => {
      let working = this.image();
      const records: MetadataRecord[] = [];
      const results: AlterConfigsResponse['results'][number][] = [];
      for (const r of req.resources) {
        try {
          const recs = configRecords(working, r);
          working = replayRecords(recs, working);
          records.push(...recs);
          results.push({ type: r.type, name: r.name, error: null });
        } catch (err) {
          results.push({ type: r?.type, name: String(r?.name), error: itemError(err) });
        }
      }
      const metadataIndex = req.validateOnly ? 0 : await this.propose(records);
      return { metadataIndex, results };
    });
  }

  /** KIP-554: SCRAM credential changes, validated against the image as Kafka's ScramControlManager does. */
  async alterScramCredentials(req: AlterScramRequest): Promise<AlterScramResponse> {
    if (!Array.isArray(req?.deletions) || !Array.isArray(req.upsertions)) invalid('deletions and upsertions must be lists');
    return this.exclusive(async () => {
      const { records, results } = alterScram(this.image(), req);
      return { metadataIndex: await this.propose(records), results };
    });
  }

  /**
   * AlterClientQuotas: ClientQuota records for what the valid entries change, validated against the
   * image here (the body came over the wire) as Kafka's ClientQuotaControlManager does; with
   * validateOnly nothing is written and the answer is the same.
   */
  async alterClientQuotas(req: AlterClientQuotasRequest): Promise<AlterClientQuotasResponse> {
    if (!Array.isArray(req?.entries)) invalid('entries is not a list');
    return this.exclusive(async () => {
      const { records, results } = alterClientQuotas(this.image(), req.entries);
      const metadataIndex = req.validateOnly === true ? 0 : await this.propose(records);
      if (metadataIndex > 0) this.log(`changed ${records.length} client quota value(s)`);
      return { metadataIndex, results };
    });
  }

  /**
   * The bootstrap credentials (`--add-scram`): written by the first active controller of a cluster
   * whose metadata log is still empty (no node has registered), so once per cluster, never on a
   * restart. Their absence is not repaired later: they are a starting point, as Kafka's format tool.
   */
  private async bootstrapCredentials(): Promise<void> {
    const records = this.bootstrapRecords;
    if (records.length === 0) return;
    await this.exclusive(async () => {
      const image = this.image();
      if (image.brokers.size > 0 || image.scramCredentials.size > 0 || image.topicsById.size > 0) return;
      await this.propose(records);
      this.log(`wrote ${records.length} bootstrap SCRAM credential(s)`);
    });
  }

  /** Leadership reports; coalesced with every report waiting for the same proposal. */
  async partitionLeader(reports: readonly PartitionLeaderReport[]): Promise<MetadataChangeResult> {
    this.checkActive();
    for (const r of reports) {
      if (typeof r?.topicId !== 'string' || typeof r.partition !== 'number' || typeof r.leaderId !== 'number' || typeof r.leaderEpoch !== 'number') {
        invalid('a leadership report is not { topicId, partition, leaderId, leaderEpoch }');
      }
      const key = `${r.topicId}/${r.partition}`;
      const known = this.leaderReports.get(key);
      if (known === undefined || known.leaderEpoch < r.leaderEpoch) this.leaderReports.set(key, { topicId: r.topicId, partition: r.partition, leaderId: r.leaderId, leaderEpoch: r.leaderEpoch });
    }
    if (this.leaderFlush === null) {
      this.leaderFlush = this.exclusive(async () => {
        this.leaderFlush = null;
        const batch = [...this.leaderReports.values()];
        this.leaderReports.clear();
        const image = this.image();
        const records: MetadataRecord[] = [];
        for (const r of batch) {
          const p = image.topicsById.get(r.topicId)?.partitions[r.partition];
          if (p === undefined) continue; // the topic was deleted meanwhile
          // Not newer than what the image holds. The same term is news only where the image lost
          // its leader: a reassignment that dropped the leader keeps the term with no leader, and
          // one that puts it back (a cancelled move) must take its report again — Raft has one
          // leader per term, so a report of that term names it.
          if (r.leaderEpoch < p.leaderEpoch || (r.leaderEpoch === p.leaderEpoch && p.leaderId !== -1)) continue;
          if (r.leaderId !== -1 && !p.replicas.includes(r.leaderId)) continue; // a replica that was moved away
          records.push({ type: 'PartitionLeader', topicId: r.topicId, partition: r.partition, leaderId: r.leaderId, leaderEpoch: r.leaderEpoch });
        }
        return { metadataIndex: await this.propose(records) };
      });
      const flush = this.leaderFlush;
      // A flush that failed before it ran must not block the next reports.
      flush.catch(() => {
        if (this.leaderFlush === flush) this.leaderFlush = null;
      });
    }
    return this.leaderFlush;
  }

  async reassign(topic: string, partition: number, replicas: readonly number[]): Promise<MetadataChangeResult> {
    return this.exclusive(async () => {
      const image = this.image();
      const t = image.topicsByName.get(topic);
      if (t === undefined) throw new FlotillaError('UNKNOWN_TOPIC', `topic "${topic}" does not exist`, { name: topic });
      const p = t.partitions[partition];
      if (p === undefined) throw new FlotillaError('UNKNOWN_TOPIC', `topic "${topic}" has no partition ${partition}`, { name: topic, partition });
      const [list] = checkAssignments(image, [replicas], null);
      if (list === undefined) invalid('no replicas');
      if (sameList(list, p.replicas)) return { metadataIndex: 0 };
      this.log(`reassigning ${topic}-${partition}: [${p.replicas.join(',')}] -> [${list.join(',')}]`);
      return { metadataIndex: await this.propose([{ type: 'Partition', topicId: t.topicId, partition, replicas: list }]) };
    });
  }

  async decommission(brokerId: number): Promise<DecommissionResponse> {
    checkNodeId(brokerId, 'brokerId');
    return this.exclusive(async () => {
      const image = this.image();
      if (!image.brokers.has(brokerId)) throw new FlotillaError('INVALID_REQUEST', `node ${brokerId} is not registered`);
      const plan = planDecommission({ nodeId: brokerId, partitions: partitionsOf(image), nodes: placementNodes(image).filter((n) => n.id !== brokerId) });
      const records: MetadataRecord[] = [];
      if (!isDecommissioned(image, brokerId)) records.push({ type: 'Config', resourceType: 'broker', resourceName: String(brokerId), key: DECOMMISSIONED_KEY, value: 'true' });
      for (const p of plan) records.push({ type: 'Partition', topicId: p.topicId, partition: p.partition, replicas: p.replicas });
      const metadataIndex = await this.propose(records);
      this.log(`decommissioning node ${brokerId}: moving ${plan.length} replicas away`);
      return { metadataIndex, moved: plan.length };
    });
  }

  async allocateProducerIds(brokerId: number): Promise<AllocateProducerIdsResponse> {
    checkNodeId(brokerId, 'brokerId');
    return this.exclusive(async () => {
      const image = this.image();
      if (!image.brokers.has(brokerId)) throw new FlotillaError('INVALID_REQUEST', `node ${brokerId} is not registered`);
      const first = image.producerIds.nextProducerId;
      const count = this.settings.producerIdBlockSize;
      const metadataIndex = await this.propose([{ type: 'ProducerIds', brokerId, nextProducerId: first + count }]);
      return { metadataIndex, firstProducerId: first, count };
    });
  }

  private log(line: string): void {
    this.logger?.(`controller ${this.nodeId}: ${line}`);
  }
}

/** Broker config keys the controller accepts (AlterConfigs on a broker resource). */
export const brokerConfigKeys: Readonly<Record<string, readonly string[]>> = {
  [DECOMMISSIONED_KEY]: ['true', 'false'],
};

function configRecords(image: MetadataImage, r: AlterConfigsRequest['resources'][number]): MetadataRecord[] {
  if (r === null || typeof r !== 'object' || !Array.isArray(r.configs)) invalid('a resource is not { type, name, configs, incremental }');
  const given = new Map<string, { value: string | null; op: ConfigOp }>();
  for (const c of r.configs) {
    if (typeof c?.key !== 'string' || (c.value !== null && typeof c.value !== 'string')) invalid('a config entry is not { key, value }');
    if (given.has(c.key)) throw new FlotillaError('INVALID_REQUEST', `config ${c.key} appears twice`);
    const op = c.op ?? (c.value === null ? 'delete' : 'set');
    if (!['set', 'delete', 'append', 'subtract'].includes(op) || (op !== 'set' && op !== 'delete' && !r.incremental)) invalid(`config ${c.key}: operation ${String(op)} is not allowed here`);
    if (op !== 'delete' && c.value === null) invalid(`config ${c.key}: operation ${op} needs a value`);
    given.set(c.key, { value: op === 'delete' ? null : c.value, op });
  }
  let current: ReadonlyMap<string, string>;
  const clusterWide = r.type === 'broker' && r.name === CLUSTER_DEFAULT_RESOURCE;
  /** The topic key a config stands for (on a topic, or a cluster-wide default), else null. */
  const topicKeyOf = (key: string): TopicConfigKey | null => {
    if (r.type === 'topic') return isTopicConfigKey(key) ? key : null;
    return clusterWide && isClusterDefaultKey(key) ? clusterDefaultKeys[key] : null;
  };
  const check = (key: string, value: string): string => {
    if (r.type === 'topic') return validateTopicConfig(key, value);
    if (clusterWide && isClusterDefaultKey(key)) return validateClusterDefault(key, value);
    const allowed = brokerConfigKeys[key];
    if (allowed === undefined) {
      const known = [...Object.keys(brokerConfigKeys), ...(clusterWide ? Object.keys(clusterDefaultKeys) : [])];
      throw new FlotillaError('INVALID_TOPIC_CONFIG', `broker config ${key.slice(0, 200)} is not one the controller stores${clusterWide ? ' cluster-wide' : ` for node ${r.name} (cluster-wide topic defaults go on the broker resource "")`} (known: ${known.join(', ')})`, { key });
    }
    if (!allowed.includes(value)) throw new FlotillaError('INVALID_TOPIC_CONFIG', `broker config ${key} must be one of ${allowed.join(', ')}`, { key });
    return value;
  };
  if (r.type === 'topic') {
    if (!image.topicsByName.has(r.name)) throw new FlotillaError('UNKNOWN_TOPIC', `topic "${r.name}" does not exist`, { name: r.name });
    current = image.topicConfig(r.name);
  } else if (r.type === 'broker') {
    if (r.name !== '' && !/^\d{1,10}$/.test(r.name)) throw new FlotillaError('INVALID_REQUEST', `broker resource name "${r.name}" is not a node id`);
    current = image.configs.get(configResourceKey('broker', r.name)) ?? new Map<string, string>();
  } else {
    invalid(`unknown resource type ${String(r.type)}`);
  }
  const next = new Map<string, string>(r.incremental ? current : []);
  for (const [key, { value: given1, op }] of given) {
    let value = given1;
    if (op === 'append' || op === 'subtract') {
      // List values (cleanup.policy): elements added or removed, from the current value or the default.
      const topicKey = topicKeyOf(key);
      if (topicKey === null || topicConfigSpecs[topicKey].type !== 'list') {
        throw new FlotillaError('INVALID_TOPIC_CONFIG', `config ${key.slice(0, 200)} is not a list: ${op.toUpperCase()} does not apply`, { key });
      }
      const items = (next.get(key) ?? topicConfigSpecs[topicKey].default).split(',').map((x) => x.trim()).filter((x) => x !== '');
      const change = (value as string).split(',').map((x) => x.trim()).filter((x) => x !== '');
      const result = op === 'append' ? [...items, ...change.filter((x) => !items.includes(x))] : items.filter((x) => !change.includes(x));
      value = result.join(',');
    }
    if (value === null) {
      if (r.type === 'topic' && !isTopicConfigKey(key)) throw new FlotillaError('INVALID_TOPIC_CONFIG', `topic config ${key.slice(0, 200)} is not a known topic config`, { key });
      next.delete(key);
    } else {
      next.set(key, check(key, value));
    }
  }
  const records: MetadataRecord[] = [];
  const keys = [...new Set([...current.keys(), ...next.keys()])].sort();
  for (const key of keys) {
    const before = current.get(key);
    const after = next.get(key);
    if (before === after) continue;
    records.push({ type: 'Config', resourceType: r.type, resourceName: r.name, key, value: after ?? null });
  }
  return records;
}

/** Manual replica lists: same length (`rf` when given), distinct, registered nodes. */
function checkAssignments(image: MetadataImage, lists: readonly (readonly number[])[], rf: number | null): number[][] {
  if (!Array.isArray(lists) || lists.length > RecordLimits.partitionsMax) invalid('assignments is not a list of replica lists');
  const want = rf ?? lists[0]?.length ?? 0;
  return lists.map((list, i) => {
    if (!Array.isArray(list) || list.length === 0 || list.length > RecordLimits.replicasMax) invalid(`assignment ${i} is not a list of 1..${RecordLimits.replicasMax} node ids`);
    if (list.length !== want) throw new FlotillaError('INVALID_REQUEST', `assignment ${i} has ${list.length} replicas, not ${want}`);
    if (new Set(list).size !== list.length) throw new FlotillaError('INVALID_REQUEST', `assignment ${i} names a node twice`);
    for (const id of list) {
      if (!image.brokers.has(id)) throw new FlotillaError('INVALID_REQUEST', `assignment ${i} names node ${String(id)}, which is not registered`);
    }
    return [...list];
  });
}

function itemError(err: unknown): ItemError {
  if (isFlotillaError(err)) return { code: err.code, message: err.message.replace(`${err.code}: `, '') };
  throw err; // a programmer error: let it surface
}

function invalid(why: string): never {
  throw new FlotillaError('INVALID_REQUEST', why);
}

function checkNodeId(v: unknown, name: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fff_ffff) invalid(`${name} is not a node id`);
}

function checkPort(v: unknown, name: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65_535) invalid(`${name} is not a port`);
}

interface FieldTypes {
  number: number;
  string: string;
  array: unknown[];
}

function field<K extends keyof FieldTypes>(body: unknown, name: string, type: K): FieldTypes[K] {
  if (body === null || typeof body !== 'object') invalid('the request body is not a map');
  const v = (body as Record<string, unknown>)[name];
  const ok = type === 'array' ? Array.isArray(v) : typeof v === type;
  if (!ok) invalid(`${name} is not a ${type}`);
  return v as FieldTypes[K];
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms).unref?.();
  });
}
