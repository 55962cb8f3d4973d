/**
 * ReplicaManager: the partition replicas this node hosts, kept in line with the metadata image.
 *
 * Desired state, not events: after every metadata change (debounced, one pass at a time) it
 * compares the replicas the image assigns to this node with the groups running here:
 * - a replica assigned and not running is opened, with its topic's effective config (topic values
 *   over the cluster-wide defaults) in force before its first entry. A partition that is new in the image (created,
 *   not reassigned) bootstraps with its replica set as voters; a replica added by reassignment
 *   starts empty and is added to the group by its leader (learner, then voter).
 * - a running replica whose topic is gone is closed and its data deleted.
 * - a running replica no longer assigned here (reassignment, decommission) keeps serving the group
 *   until the group's leader has removed it from the membership (the leader tells it, or it sees
 *   itself removed); only then is its data deleted — a replica must not vanish while the group
 *   still counts it.
 * On the leader of each partition a reconcile loop moves the Raft membership one step at a time
 * toward the image's replica set (add learner, promote once caught up, remove; leadership handed
 * over first when the leader itself is to go), and reports leadership to the controller.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../base/clock.js';
import { isFlotillaError } from '../base/errors.js';
import type { PeerRpc } from '../cluster/rpc.js';
import type { MetadataImage, PartitionImage, TopicImage } from '../metadata/image.js';
import type { PartitionLeaderReport } from '../metadata/controller-api.js';
import { type TopicConfig, effectiveTopicConfig } from '../metadata/topic-config.js';
import type { NodeId } from '../raft/core/types.js';
import type { RaftHost } from '../raft/host.js';
import type { LeaderChange } from '../raft/node.js';
import type { EventEmitter } from 'node:events';
import type { Membership } from '../raft/core/types.js';
import type { RaftNode } from '../raft/node.js';
import type { KvStore } from '../storage/kv.js';
import { Partition, type PartitionOptions, type ProducerStats, partitionGroupId } from './partition.js';

/** The part of a replica's RaftNode the manager and the node use (any state machine type). */
export type ReplicaNode = Pick<
  RaftNode<unknown>,
  'nodeId' | 'status' | 'transferLeadership' | 'addLearner' | 'promoteLearner' | 'removeMember' | 'campaign' | 'appliedIndex' | 'leaderId' | 'term' | 'isLeader' | 'membership' | 'uncommittedEntries' | 'outOfSyncVoters'
>;

/** What the manager needs of any replica: a data partition, or an internal topic's. */
export interface Replica extends EventEmitter {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly groupId: string;
  readonly dir: string;
  readonly node: ReplicaNode;
  readonly isLeader: boolean;
  readonly leaderEpoch: number;
  readonly membership: Membership;
  status(): Record<string, unknown>;
  /** Data partitions: producers known and transactions open here (metrics). */
  producerCounts?(): { producers: number; openTransactions: number };
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/** Opens a replica of an internal topic (by name), instead of a data partition. */
export type ReplicaOpener = (options: PartitionOptions & { readonly groupId: string }) => Promise<Replica>;

export const ReplicaMethods = {
  /** The leader of a group tells a replica it removed from the membership: delete your copy. */
  replicaRemoved: 'broker.replicaRemoved',
} as const;

export interface ReplicaManagerOptions {
  readonly nodeId: NodeId;
  readonly host: RaftHost;
  readonly kv: KvStore;
  /** Partition directories go below it. */
  readonly dir: string;
  readonly fsync: boolean;
  readonly clock: Clock;
  readonly rpc: PeerRpc;
  /** Sends leadership reports to the controller (batched by the caller or here). */
  readonly reportLeaders: (reports: PartitionLeaderReport[]) => Promise<void>;
  readonly raft?: Readonly<Record<string, unknown>>;
  readonly logSettings?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
  /** How often leaders move memberships toward the image and re-check their reports. */
  readonly reconcileIntervalMs?: number;
  /** A line logger for one replica: the group id, `topic-partition`, and its current term. */
  readonly replicaLogger?: (group: string, name: string, term: () => number) => (line: string) => void;
  /** Internal topics whose replicas are not data partitions, by topic name. */
  readonly internal?: ReadonlyMap<string, ReplicaOpener>;
  /** Called when a replica opens here, and when it closes or is deleted. */
  readonly onOpened?: (replica: Replica) => void;
  readonly onClosed?: (replica: Replica) => void;
}

function key(topicId: string, partition: number): string {
  return partitionGroupId(topicId, partition);
}

export class ReplicaManager {
  private readonly options: ReplicaManagerOptions;
  private readonly byGroup = new Map<string, Replica>();
  private readonly byName = new Map<string, Replica>();
  /** Replicas moved away from this node, waiting for the group to drop them. */
  private readonly leaving = new Set<string>();
  private image: MetadataImage | null = null;
  private previous: MetadataImage | null = null;
  private pass: Promise<void> = Promise.resolve();
  private passQueued = false;
  private readonly pendingReports = new Map<string, PartitionLeaderReport>();
  private reporting = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private readonly busy = new Set<string>();
  /** Idempotent-producer counters of every data partition hosted here (metrics). */
  readonly producerStats: ProducerStats = { duplicates: 0, rejected: 0 };

  constructor(options: ReplicaManagerOptions) {
    this.options = options;
    mkdirSync(options.dir, { recursive: true });
    options.rpc.handle(ReplicaMethods.replicaRemoved, (_from, body) => {
      const b = body as { topicId?: unknown; partition?: unknown };
      if (typeof b.topicId !== 'string' || typeof b.partition !== 'number') return false;
      const p = this.byGroup.get(key(b.topicId, b.partition));
      if (p && this.leaving.has(p.groupId)) void this.dropReplica(p, 'the leader removed it from the group');
      return true;
    });
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.options.reconcileIntervalMs ?? 500);
    this.timer.unref?.();
  }

  /** The data partition replica hosted here (not an internal topic's). */
  get(topic: string, partition: number): Partition | undefined {
    const r = this.byName.get(`${topic}/${partition}`);
    return r instanceof Partition ? r : undefined;
  }

  /** Every replica hosted here, data and internal. */
  partitions(): Replica[] {
    return [...this.byGroup.values()];
  }

  /** The metadata image changed: reconcile (debounced; passes run one at a time). */
  onImage(image: MetadataImage): void {
    this.image = image;
    if (this.passQueued || this.closed) return;
    this.passQueued = true;
    this.pass = this.pass.then(async () => {
      this.passQueued = false;
      await this.reconcileReplicas();
    }).catch((err: unknown) => this.log(`replica reconcile failed: ${errText(err)}`));
  }

  /** Removes partition directories of topics the (caught-up) image no longer has here. */
  removeOrphans(image: MetadataImage): void {
    const wanted = new Set(image.replicasOn(this.options.nodeId).map((p) => dirName(image.topicsById.get(p.topicId), p)));
    for (const name of readdirSync(this.options.dir)) {
      if (wanted.has(name)) continue;
      const running = [...this.byGroup.values()].some((p) => p.dir === join(this.options.dir, name));
      if (running) continue;
      this.log(`removing orphaned partition directory ${name}`);
      rmSync(join(this.options.dir, name), { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.pass;
    await Promise.all([...this.byGroup.values()].map(async (p) => {
      await p.close();
      this.options.onClosed?.(p);
    }));
    this.byGroup.clear();
    this.byName.clear();
  }

  // ---- replicas ---------------------------------------------------------------------------------

  private async reconcileReplicas(): Promise<void> {
    const image = this.image;
    if (!image || this.closed) return;
    const previous = this.previous;
    this.previous = image;
    const me = this.options.nodeId;
    const wanted = new Map<string, { topic: TopicImage; p: PartitionImage }>();
    for (const topic of image.topicsById.values()) {
      for (const p of topic.partitions) if (p.replicas.includes(me)) wanted.set(key(topic.topicId, p.partition), { topic, p });
    }
    const opens: Promise<void>[] = [];
    for (const [group, { topic, p }] of wanted) {
      this.leaving.delete(group);
      if (this.byGroup.has(group)) continue;
      // New in the image (not in the one before): every replica bootstraps with the same voters.
      const isNew = previous === null || previous.topicsById.get(topic.topicId)?.partitions[p.partition] === undefined;
      opens.push(this.openReplica(topic, p, isNew, effectiveTopicConfig(image, topic.name)));
    }
    await Promise.all(opens);
    for (const [group, partition] of this.byGroup) {
      if (wanted.has(group)) continue;
      if (!image.topicsById.has(partition.topicId)) {
        await this.dropReplica(partition, 'its topic was deleted');
      } else if (!this.leaving.has(group)) {
        this.leaving.add(group);
        this.log(`replica ${partition.topic}-${partition.partition} moves off this node; kept until the group removes it`);
      }
    }
  }

  private async openReplica(topic: TopicImage, p: PartitionImage, isNew: boolean, config: TopicConfig): Promise<void> {
    const group = key(topic.topicId, p.partition);
    if (this.busy.has(group)) return;
    this.busy.add(group);
    try {
      const open: ReplicaOpener = this.options.internal?.get(topic.name) ?? ((o) => Partition.open(o));
      // The replica's log lines carry its group and current term (known once it is open).
      let term = 0;
      const partition = await open({
        groupId: group,
        host: this.options.host,
        kv: this.options.kv,
        dir: join(this.options.dir, dirName(topic, p)),
        topic: topic.name,
        topicId: topic.topicId,
        partition: p.partition,
        bootstrap: isNew ? { voters: [...p.replicas], learners: [] } : { voters: [], learners: [] },
        fsync: this.options.fsync,
        clock: this.options.clock,
        producerStats: this.producerStats,
        // The topic's segment and flush configs hold from the first entry, not from the log
        // manager's next round (up to a second of produce on the defaults otherwise).
        config,
        offsetLayout: topic.offsetLayout,
        raft: this.options.raft,
        logSettings: this.options.logSettings,
        logger: this.options.replicaLogger
          ? this.options.replicaLogger(group, `${topic.name}-${p.partition}`, () => term)
          : this.options.logger ? (line) => this.options.logger?.(`${topic.name}-${p.partition}: ${line}`) : undefined,
      });
      partition.on('leader-change', (change: LeaderChange) => {
        if (change.leaderId === this.options.nodeId) this.queueReport(partition, change.term);
      });
      this.byGroup.set(group, partition);
      this.byName.set(`${topic.name}/${p.partition}`, partition);
      const node = partition.node;
      term = node.term;
      partition.on('leader-change', (change: LeaderChange) => {
        term = change.term;
      });
      this.options.onOpened?.(partition);
      // The preferred leader (replicas[0]) of a new partition campaigns at once: leaders start
      // where placement spread them, without waiting out an election timeout.
      if (isNew && p.replicas[0] === this.options.nodeId && partition.node.status().term === 0) partition.node.campaign();
    } catch (err) {
      this.log(`cannot open replica ${topic.name}-${p.partition}: ${errText(err)}`);
    } finally {
      this.busy.delete(group);
    }
  }

  private async dropReplica(partition: Replica, why: string): Promise<void> {
    if (this.byGroup.get(partition.groupId) !== partition || this.busy.has(partition.groupId)) return;
    this.busy.add(partition.groupId);
    this.byGroup.delete(partition.groupId);
    if (this.byName.get(`${partition.topic}/${partition.partition}`) === partition) this.byName.delete(`${partition.topic}/${partition.partition}`);
    this.leaving.delete(partition.groupId);
    this.log(`deleting replica ${partition.topic}-${partition.partition}: ${why}`);
    try {
      await partition.destroy();
      this.options.onClosed?.(partition);
    } catch (err) {
      this.log(`deleting replica ${partition.topic}-${partition.partition} failed: ${errText(err)}`);
    } finally {
      this.busy.delete(partition.groupId);
    }
  }

  // ---- leaders: membership toward the image, and leadership reports -----------------------------

  private tick(): void {
    if (this.closed) return;
    const image = this.image;
    for (const partition of this.byGroup.values()) {
      if (this.leaving.has(partition.groupId)) {
        const m = partition.membership;
        const me = this.options.nodeId;
        if (!m.voters.includes(me) && !m.learners.includes(me) && m.voters.length > 0) {
          void this.dropReplica(partition, 'the group no longer counts it');
          continue;
        }
        // A leaving replica that leads moves the group to its new replicas, then hands over.
      }
      if (!partition.isLeader || !image) continue;
      const p = image.topicsById.get(partition.topicId)?.partitions[partition.partition];
      if (!p) continue;
      if (p.leaderId !== this.options.nodeId || p.leaderEpoch < partition.leaderEpoch) this.queueReport(partition, partition.leaderEpoch);
      void this.stepMembership(partition, p.replicas);
    }
  }

  /** One membership change of `partition` toward `target` (the leader only; one at a time). */
  private async stepMembership(partition: Replica, target: readonly number[]): Promise<void> {
    if (this.busy.has(partition.groupId)) return;
    const { voters, learners } = partition.membership;
    const me = this.options.nodeId;
    const change = ((): { what: string; run: () => Promise<void> } | null => {
      const missing = target.find((n) => !voters.includes(n) && !learners.includes(n));
      if (missing !== undefined) return { what: `add learner ${missing}`, run: () => partition.node.addLearner(missing) };
      const ready = learners.find((n) => target.includes(n));
      if (ready !== undefined) return { what: `promote ${ready}`, run: () => partition.node.promoteLearner(ready) };
      const extraLearner = learners.find((n) => !target.includes(n));
      if (extraLearner !== undefined) return { what: `remove learner ${extraLearner}`, run: () => this.removeAndTell(partition, extraLearner) };
      const extra = voters.find((n) => !target.includes(n) && n !== me);
      if (extra !== undefined) return { what: `remove voter ${extra}`, run: () => this.removeAndTell(partition, extra) };
      if (!target.includes(me) && voters.includes(me)) {
        const to = target.find((n) => voters.includes(n));
        if (to !== undefined) return { what: `hand leadership to ${to} before leaving`, run: () => partition.node.transferLeadership(to) };
      }
      return null;
    })();
    if (change === null) return;
    this.busy.add(partition.groupId);
    try {
      await change.run();
      this.log(`${partition.topic}-${partition.partition}: ${change.what}`);
    } catch (err) {
      // A learner not caught up, a change already pending: the next tick tries again.
      if (!isFlotillaError(err) || !err.retriable) this.log(`${partition.topic}-${partition.partition}: ${change.what} failed: ${errText(err)}`);
    } finally {
      this.busy.delete(partition.groupId);
    }
  }

  private async removeAndTell(partition: Replica, node: NodeId): Promise<void> {
    await partition.node.removeMember(node);
    this.options.rpc.call(node, ReplicaMethods.replicaRemoved, { topicId: partition.topicId, partition: partition.partition }, 2_000).catch(() => {
      // The node is down or slow: it sees itself removed, or drops the replica as an orphan at start.
    });
  }

  private queueReport(partition: Replica, term: number): void {
    const prev = this.pendingReports.get(partition.groupId);
    if (prev && prev.leaderEpoch >= term) return;
    this.pendingReports.set(partition.groupId, { topicId: partition.topicId, partition: partition.partition, leaderId: this.options.nodeId, leaderEpoch: term });
    if (!this.reporting) void this.flushReports();
  }

  private async flushReports(): Promise<void> {
    this.reporting = true;
    try {
      while (this.pendingReports.size > 0 && !this.closed) {
        await new Promise((r) => setTimeout(r, 20)); // gather the reports of one burst of elections
        const reports = [...this.pendingReports.values()];
        this.pendingReports.clear();
        try {
          await this.options.reportLeaders(reports);
        } catch (err) {
          if (this.closed) return;
          for (const r of reports) {
            const g = key(r.topicId, r.partition);
            const p = this.byGroup.get(g);
            if (p?.isLeader && p.leaderEpoch === r.leaderEpoch && !this.pendingReports.has(g)) this.pendingReports.set(g, r);
          }
          this.log(`leadership report failed (${errText(err)}); retrying`);
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    } finally {
      this.reporting = false;
    }
  }

  private log(line: string): void {
    this.options.logger?.(line);
  }
}

function dirName(topic: TopicImage | undefined, p: PartitionImage): string {
  return `${topic?.name ?? 'unknown'}-${p.partition}.${p.topicId}`;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
