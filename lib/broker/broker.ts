/**
 * Broker: this node's implementation of BrokerApi (lib/broker/api.ts), the facade the Kafka
 * listener calls. It reads the metadata image for topics and brokers, routes produce and fetch
 * to the local partition leaders (ReplicaManager), long-polls fetches, and forwards admin
 * requests to the controller (the metadata leader), waiting until this node's own replica of the
 * metadata log shows the change so that the client's next Metadata request sees it.
 */
import type { AlterClientQuotasResponse, AlterScramResponse } from '../metadata/controller-api.js';
import type { AlterClientQuotasRequest } from '../metadata/client-quotas.js';
import type { AlterScramRequest } from '../metadata/scram.js';
import { readdirSync, statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { Clock } from '../base/clock.js';
import { FlotillaError, isFlotillaError } from '../base/errors.js';
import type {
  AlterConfigsRequest, AlterConfigsResponse, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
  CreateTopicsResponse, CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse, DecommissionRequest, DecommissionResponse, DeleteTopicsResponse, MetadataChangeResult,
} from '../metadata/controller-api.js';
import {
  type AllocateProducerIdsResponse, BrokerMethods, ControllerMethods, type PartitionMembershipRequest, type PartitionMembershipResponse,
  type ReassignRequest, type TransferLeaderRequest, type VoterChangeRequest,
} from '../metadata/controller-api.js';
import { type BrokerImage, type MetadataImage, type PartitionImage, brokerEndpoint } from '../metadata/image.js';
import { CLUSTER_DEFAULT_RESOURCE } from '../metadata/topic-config.js';
import { BatchHeader } from '../records/batch.js';
import type {
  BrokerApi, BrokerEndpoint, ClusterView, ConfigEntryView, DeleteRecordsResult, DescribeConfigsResult, ElectionResult, EpochEndOffset, FetchPartitionResult,
  FetchRequestSpec, ListOffsetRequest, ListOffsetResult, LogDirPartition, LogDirView, PartitionView, ProduceRequestItem, ProduceResult,
  ProducerIdAndEpoch, ProducerView, QuorumDescription, ReassignmentView, TopicView, TxnMarkerRequest,
} from './api.js';
import { Partition } from './partition.js';
import { ProducerIds } from './producer-ids.js';
import type { ReplicaManager } from './replica-manager.js';

/** This node's view of the metadata log. */
export interface MetadataSource {
  image(): MetadataImage;
  /** Settles once this node has applied metadata index `index` (rejects with TIMEOUT). */
  waitForIndex(index: number, timeoutMs: number): Promise<void>;
}

/** Calls the controller (the metadata leader), retrying until it answers. */
export interface ControllerCaller {
  call<T>(method: string, body: unknown): Promise<T>;
}

/** Calls another node (or this one) over the peer RPC (lib/cluster/rpc.ts). */
export interface PeerCaller {
  call<T>(to: number, method: string, body: unknown, timeoutMs: number): Promise<T>;
}

/** What the broker needs to know of topic configs (lib/metadata/topic-config.ts provides it). */
export interface TopicConfigSource {
  maxMessageBytes(image: MetadataImage, topic: string): number;
  logAppendTime(image: MetadataImage, topic: string): boolean;
  describe(image: MetadataImage, topic: string): ConfigEntryView[];
  /** The cluster-wide topic defaults by their broker-level names; `onlySet`: only those set. */
  describeClusterDefaults(image: MetadataImage, onlySet: boolean): ConfigEntryView[];
}

export interface BrokerSettings {
  readonly clusterId: string;
  readonly autoCreateTopics: boolean;
  /** Entries DescribeConfigs shows for this node (type 'broker'). */
  readonly nodeConfig: readonly ConfigEntryView[];
  /** How long an admin call waits for this node's metadata to show its change. */
  readonly metadataWaitMs?: number;
  /** The directory partition replicas live in (DescribeLogDirs); none: DescribeLogDirs lists nothing. */
  readonly logDir?: string;
}

export interface BrokerOptions {
  readonly nodeId: number;
  readonly metadata: MetadataSource;
  readonly controller: ControllerCaller;
  /** Other nodes (ElectLeaders and reassignment progress ask partition leaders); none: those answer unavailable. */
  readonly peers?: PeerCaller;
  readonly replicas: ReplicaManager;
  readonly topicConfig: TopicConfigSource;
  readonly clock: Clock;
  readonly settings: BrokerSettings;
  /** A linearizable read barrier on the metadata log (the metadata RaftNode's readBarrier); none: syncMetadata() returns at once. */
  readonly metadataBarrier?: () => Promise<void>;
  readonly logger?: (line: string) => void;
  /** Time from proposal to commit of each acks=all batch, in ms (for metrics). */
  readonly onCommitLatency?: (ms: number) => void;
}

/** The broker-level config key that asks the controller to decommission the node. */
export const DECOMMISSION_KEY = 'flotilla.decommissioned';

/** Internal topics (offsets, transactions) start with "__" and are reported as internal. */
function isInternal(name: string): boolean {
  return name.startsWith('__');
}

export class Broker implements BrokerApi {
  readonly nodeId: number;
  private readonly options: BrokerOptions;
  private readonly metadata: MetadataSource;
  private readonly replicas: ReplicaManager;
  /** When a failed metadata read barrier was last logged (one line per 10 s, not one per request). */
  private lastBarrierFailureLogMs = -Infinity;
  /** Producer ids from blocks the controller hands this node. */
  readonly producerIds: ProducerIds;
  /** Fetches waiting for data (bounded by the listener's in-flight limits). */
  readonly stats = { produced: 0, producedRecords: 0, producedBytes: 0, fetched: 0, fetchedBytes: 0, longPolls: 0 };

  constructor(options: BrokerOptions) {
    this.nodeId = options.nodeId;
    this.options = options;
    this.metadata = options.metadata;
    this.replicas = options.replicas;
    this.producerIds = new ProducerIds({
      allocate: () => options.controller.call<AllocateProducerIdsResponse>(ControllerMethods.allocateProducerIds, { brokerId: options.nodeId }),
      logger: options.logger,
    });
  }

  image(): MetadataImage {
    return this.metadata.image();
  }

  cluster(listener = 'PLAINTEXT'): ClusterView {
    const image = this.image();
    const endpoint = (b: BrokerImage): BrokerEndpoint[] => {
      const at = brokerEndpoint(b, listener);
      return at === null ? [] : [{ nodeId: b.brokerId, host: at.host, port: at.port, rack: b.rack }];
    };
    const brokers = image.unfencedBrokers().flatMap(endpoint);
    const fencedBrokers = [...image.brokers.values()].filter((b) => b.fenced).sort((a, b) => a.brokerId - b.brokerId).flatMap(endpoint);
    // Any live broker takes admin requests and forwards them (KRaft does the same): name this one.
    return { clusterId: this.options.settings.clusterId, controllerId: this.nodeId, brokers, fencedBrokers };
  }

  topics(names: readonly string[] | null): TopicView[] {
    const image = this.image();
    const topics = names === null ? [...image.topicsByName.values()] : names.flatMap((n) => image.topicsByName.get(n) ?? []);
    return topics.map((t) => ({
      name: t.name,
      topicId: t.topicId,
      internal: isInternal(t.name),
      partitions: t.partitions.map((p): PartitionView => {
        const live = (id: number): boolean => image.brokers.get(id)?.fenced === false;
        const leaderLive = p.leaderId >= 0 && live(p.leaderId);
        return {
          partition: p.partition,
          leaderId: leaderLive ? p.leaderId : -1,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicas,
          isr: p.replicas.filter(live),
          offlineReplicas: p.replicas.filter((id) => !live(id)),
        };
      }),
    }));
  }

  async autoCreateTopics(names: readonly string[]): Promise<void> {
    if (!this.options.settings.autoCreateTopics) return;
    const image = this.image();
    const missing = [...new Set(names)].filter((n) => !image.topicsByName.has(n));
    if (missing.length === 0) return;
    try {
      await this.createTopics({
        topics: missing.map((name) => ({ name, partitions: -1, replicationFactor: -1, assignments: null, configs: {} })),
        validateOnly: false,
      });
    } catch (err) {
      this.log(`auto-create of ${missing.join(', ')} failed: ${errText(err)}`);
    }
  }

  // ---- data -------------------------------------------------------------------------------------

  /** The local partition for a client request, or the error that tells the client where to go. */
  private local(topic: string, partition: number): Partition {
    if (isInternal(topic)) throw new FlotillaError('INVALID_TOPIC', `topic ${topic} is internal: clients neither produce to it nor fetch from it`);
    const p = this.replicas.get(topic, partition);
    if (p) return p;
    const t = this.image().topicsByName.get(topic);
    const hint = t?.partitions[partition];
    if (!t || !hint) throw new FlotillaError('UNKNOWN_TOPIC', `unknown topic-partition ${topic}-${partition}`);
    throw new FlotillaError('NOT_LEADER', `node ${this.nodeId} holds no replica of ${topic}-${partition}`, { leaderId: hint.leaderId });
  }

  async produce(item: ProduceRequestItem): Promise<ProduceResult> {
    const partition = this.local(item.topic, item.partition);
    const image = this.image();
    const logAppendTime = this.options.topicConfig.logAppendTime(image, item.topic);
    const started = this.options.clock.nowMs();
    const baseOffset = await partition.produce({
      batch: item.records,
      maxBatchBytes: this.options.topicConfig.maxMessageBytes(image, item.topic),
      logAppendTime,
      timeoutMs: item.timeoutMs > 0 ? item.timeoutMs : 30_000,
      ack: item.acks === 1 ? 'appended' : 'committed',
    });
    if (item.acks === -1) this.options.onCommitLatency?.(this.options.clock.nowMs() - started);
    this.stats.produced++;
    this.stats.producedRecords += new BatchHeader(item.records).recordCount;
    this.stats.producedBytes += item.records.byteLength;
    return { baseOffset, logAppendTimeMs: logAppendTime ? this.options.clock.wallMs() : -1, logStartOffset: partition.logStartOffset() };
  }

  async fetch(spec: FetchRequestSpec): Promise<FetchPartitionResult[]> {
    const deadline = this.options.clock.nowMs() + Math.max(0, spec.maxWaitMs);
    let results = this.fetchOnce(spec);
    for (;;) {
      const bytes = results.reduce((n, r) => n + (r.records?.byteLength ?? 0), 0);
      const remaining = deadline - this.options.clock.nowMs();
      if (bytes >= Math.max(1, spec.minBytes) || remaining <= 0 || results.some((r) => r.error !== null)) break;
      this.stats.longPolls++;
      await this.waitForData(spec, remaining);
      results = this.fetchOnce(spec);
    }
    this.stats.fetched++;
    this.stats.fetchedBytes += results.reduce((n, r) => n + (r.records?.byteLength ?? 0), 0);
    return results;
  }

  private fetchOnce(spec: FetchRequestSpec): FetchPartitionResult[] {
    let budget = spec.maxBytes > 0 ? spec.maxBytes : Number.MAX_SAFE_INTEGER;
    let any = false;
    return spec.partitions.map((req): FetchPartitionResult => {
      const base = { topic: req.topic, partition: req.partition, abortedTransactions: [], preferredLeaderId: -1 };
      try {
        const p = this.local(req.topic, req.partition);
        p.checkServing(req.currentLeaderEpoch);
        if (budget <= 0 && any) {
          return { ...base, error: null, highWatermark: p.highWatermark(), lastStableOffset: p.lastStableOffset(), logStartOffset: p.logStartOffset(), records: null };
        }
        const read = p.read(req.fetchOffset, Math.max(1, Math.min(req.maxBytes, budget)), spec.isolationLevel === 1);
        const n = read.records?.byteLength ?? 0;
        budget -= n;
        if (n > 0) any = true;
        return {
          ...base, error: null, highWatermark: read.highWatermark, lastStableOffset: read.lastStableOffset, logStartOffset: read.logStartOffset,
          records: read.records, abortedTransactions: read.abortedTransactions.map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset })),
        };
      } catch (err) {
        const error = asFlotillaError(err);
        const leader = typeof error.details.leaderId === 'number' ? error.details.leaderId : -1;
        return { ...base, error, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1, records: null, preferredLeaderId: leader };
      }
    });
  }

  /** Settles when any partition of the fetch applies new entries, or after `ms`. */
  private waitForData(spec: FetchRequestSpec, ms: number): Promise<void> {
    const parts = new Set<Partition>();
    for (const r of spec.partitions) {
      const p = this.replicas.get(r.topic, r.partition);
      if (p) parts.add(p);
    }
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        for (const p of parts) p.off('data', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      for (const p of parts) p.on('data', done);
    });
  }

  listOffset(req: ListOffsetRequest): Promise<ListOffsetResult> {
    const p = this.local(req.topic, req.partition);
    p.checkServing(req.currentLeaderEpoch);
    const epoch = p.leaderEpoch;
    if (req.timestamp === -1) return Promise.resolve({ offset: req.isolationLevel === 1 ? p.lastStableOffset() : p.highWatermark(), timestamp: -1, leaderEpoch: epoch });
    // -4 earliest local: every record is local, so the log start offset (as Kafka without tiering).
    if (req.timestamp === -2 || req.timestamp === -4) return Promise.resolve({ offset: p.logStartOffset(), timestamp: -1, leaderEpoch: epoch });
    // -5 latest tiered: nothing is tiered, which Kafka answers with offset -1 and epoch -1.
    if (req.timestamp === -5) return Promise.resolve({ offset: -1, timestamp: -1, leaderEpoch: -1 });
    if (req.timestamp === -3) {
      const max = p.offsetOfMaxTimestamp();
      return Promise.resolve({ offset: max.offset, timestamp: max.timestamp, leaderEpoch: epoch });
    }
    if (req.timestamp < 0) throw new FlotillaError('INVALID_REQUEST', `unsupported ListOffsets timestamp ${req.timestamp}`);
    const found = p.offsetForTimestamp(req.timestamp);
    return Promise.resolve({ offset: found.offset, timestamp: found.timestamp, leaderEpoch: epoch });
  }

  async deleteRecords(topic: string, partition: number, offset: number, timeoutMs: number): Promise<DeleteRecordsResult> {
    const lowWatermark = await this.local(topic, partition).deleteRecords(offset, timeoutMs > 0 ? timeoutMs : 30_000);
    return { lowWatermark };
  }

  endOffsetForEpoch(topic: string, partition: number, leaderEpoch: number, currentLeaderEpoch: number): EpochEndOffset {
    return this.local(topic, partition).endOffsetForEpoch(leaderEpoch, currentLeaderEpoch);
  }

  async initProducerId(): Promise<ProducerIdAndEpoch> {
    return { producerId: await this.producerIds.next(), producerEpoch: 0 };
  }

  describeProducers(topic: string, partition: number): ProducerView[] {
    const p = this.local(topic, partition);
    p.checkServing();
    return p.producers();
  }

  /** An admin's marker (txn -1: it names no transaction number), through the partition's own marker path. */
  async writeTxnMarker(m: TxnMarkerRequest): Promise<void> {
    const p = this.local(m.topic, m.partition);
    await p.writeMarker({ producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.commit, coordinatorEpoch: m.coordinatorEpoch, txn: -1 }, m.timeoutMs > 0 ? m.timeoutMs : 30_000);
  }

  describeQuorum(): Promise<QuorumDescription> {
    return this.options.controller.call<QuorumDescription>(ControllerMethods.describeQuorum, {});
  }

  async addRaftVoter(nodeId: number, directoryId: string): Promise<void> {
    await this.options.controller.call(ControllerMethods.addVoter, { nodeId, directoryId } satisfies VoterChangeRequest);
  }

  async removeRaftVoter(nodeId: number, directoryId: string): Promise<void> {
    await this.options.controller.call(ControllerMethods.removeVoter, { nodeId, directoryId } satisfies VoterChangeRequest);
  }

  // ---- admin: forwarded to the controller ---------------------------------------------------------

  async createTopics(request: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    return this.forward<CreateTopicsResponse>(ControllerMethods.createTopics, request);
  }

  async deleteTopics(names: readonly string[]): Promise<DeleteTopicsResponse> {
    return this.forward<DeleteTopicsResponse>(ControllerMethods.deleteTopics, { names });
  }

  async alterScramCredentials(request: AlterScramRequest): Promise<AlterScramResponse> {
    return this.forward<AlterScramResponse>(ControllerMethods.alterScramCredentials, request);
  }

  async createAcls(request: CreateAclsRequest): Promise<CreateAclsResponse> {
    return this.forward<CreateAclsResponse>(ControllerMethods.createAcls, request);
  }

  async deleteAcls(request: DeleteAclsRequest): Promise<DeleteAclsResponse> {
    return this.forward<DeleteAclsResponse>(ControllerMethods.deleteAcls, request);
  }

  async alterClientQuotas(request: AlterClientQuotasRequest): Promise<AlterClientQuotasResponse> {
    return this.forward<AlterClientQuotasResponse>(ControllerMethods.alterClientQuotas, request);
  }

  async createPartitions(request: CreatePartitionsRequest): Promise<CreatePartitionsResponse> {
    return this.forward<CreatePartitionsResponse>(ControllerMethods.createPartitions, request);
  }

  /**
   * Forwarded to the controller; setting `flotilla.decommissioned=true` on a broker resource asks
   * the controller to decommission that node: every replica moves off it, and placement leaves it
   * out (the one client protocol carries it: `kafka-configs --entity-type brokers --entity-name N
   * --add-config flotilla.decommissioned=true`). Deleting the key puts the node back into use.
   */
  async alterConfigs(request: AlterConfigsRequest): Promise<AlterConfigsResponse> {
    const isDecommission = (r: AlterConfigsRequest['resources'][number]): boolean =>
      r.type === 'broker' && r.configs.some((c) => c.key === DECOMMISSION_KEY && c.value === 'true');
    const actions = request.resources.filter(isDecommission);
    const rest = request.resources.filter((r) => !isDecommission(r));
    const results: AlterConfigsResponse['results'][number][] = [];
    let metadataIndex = 0;
    for (const r of actions) {
      const brokerId = Number(r.name);
      const value = r.configs.find((c) => c.key === DECOMMISSION_KEY)?.value;
      if (!/^\d+$/.test(r.name) || value !== 'true' || r.configs.length !== 1) {
        results.push({ type: r.type, name: r.name, error: { code: 'INVALID_TOPIC_CONFIG', message: `${DECOMMISSION_KEY} takes the value "true" on a broker id, alone` } });
        continue;
      }
      if (request.validateOnly) {
        results.push({ type: r.type, name: r.name, error: null });
        continue;
      }
      try {
        const res = await this.forward<DecommissionResponse>(ControllerMethods.decommission, { brokerId } satisfies DecommissionRequest);
        metadataIndex = Math.max(metadataIndex, res.metadataIndex);
        results.push({ type: r.type, name: r.name, error: null });
      } catch (err) {
        const e = asFlotillaError(err);
        results.push({ type: r.type, name: r.name, error: { code: e.code, message: e.message } });
      }
    }
    if (rest.length > 0) {
      const res = await this.forward<AlterConfigsResponse>(ControllerMethods.alterConfigs, { ...request, resources: rest });
      metadataIndex = Math.max(metadataIndex, res.metadataIndex);
      results.push(...res.results);
    }
    return { metadataIndex, results };
  }

  async syncMetadata(maxWaitMs?: number): Promise<void> {
    const barrier = this.options.metadataBarrier;
    if (barrier === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      const read = barrier();
      if (maxWaitMs === undefined) {
        await read;
        return;
      }
      // The barrier may still settle after the wait ends; its outcome is no longer wanted.
      read.catch(() => {});
      await Promise.race([read, new Promise<void>((resolve) => { timer = setTimeout(resolve, maxWaitMs); })]);
    } catch (err) {
      const now = this.options.clock.nowMs();
      if (now - this.lastBarrierFailureLogMs >= 10_000) {
        this.lastBarrierFailureLogMs = now;
        this.log(`metadata read barrier failed, answering from this node's image: ${errText(err)}`);
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  describeConfigs(resources: readonly { type: 'topic' | 'broker'; name: string; keys: readonly string[] | null }[]): DescribeConfigsResult[] {
    const image = this.image();
    return resources.map((r) => {
      const pick = (entries: readonly ConfigEntryView[]): ConfigEntryView[] => (r.keys === null ? [...entries] : entries.filter((e) => r.keys?.includes(e.name)));
      if (r.type === 'topic') {
        if (!image.topicsByName.has(r.name)) {
          return { type: r.type, name: r.name, error: new FlotillaError('UNKNOWN_TOPIC', `unknown topic ${r.name}`), entries: [] };
        }
        return { type: r.type, name: r.name, error: null, entries: pick(this.options.topicConfig.describe(image, r.name)) };
      }
      // "" is Kafka's entity default: the cluster-wide defaults that are set.
      if (r.name === CLUSTER_DEFAULT_RESOURCE) return { type: r.type, name: r.name, error: null, entries: pick(this.options.topicConfig.describeClusterDefaults(image, true)) };
      if (r.name !== String(this.nodeId)) {
        return { type: r.type, name: r.name, error: new FlotillaError('INVALID_REQUEST', `node ${this.nodeId} describes only its own config, not node ${r.name}`), entries: [] };
      }
      const own = [...this.options.settings.nodeConfig, ...this.options.topicConfig.describeClusterDefaults(image, false)];
      return { type: r.type, name: r.name, error: null, entries: pick(own.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) };
    });
  }

  // ---- partition admin: preferred leaders, reassignment, log dirs --------------------------------

  async electPreferredLeader(topic: string, partition: number, timeoutMs: number): Promise<ElectionResult> {
    const { image, t, p } = this.partitionImage(topic, partition);
    const preferred = p.replicas[0];
    if (preferred === undefined) return { outcome: 'unavailable', message: `${topic}-${partition} has no replicas` };
    if (p.leaderId === preferred) return { outcome: 'not-needed', message: null };
    if (image.brokers.get(preferred)?.fenced !== false) return { outcome: 'unavailable', message: `the preferred replica ${preferred} of ${topic}-${partition} is not alive` };
    if (p.leaderId < 0) return { outcome: 'unavailable', message: `${topic}-${partition} has no leader right now` };
    if (this.options.peers === undefined) return { outcome: 'unavailable', message: 'this node cannot reach the partition leaders' };
    const deadline = this.options.clock.nowMs() + Math.max(1, timeoutMs);
    try {
      // The leader hands over with a Raft leadership transfer (TimeoutNow once the target caught up).
      await this.options.peers.call(p.leaderId, BrokerMethods.transferLeader, { topicId: t.topicId, partition, to: preferred } satisfies TransferLeaderRequest, Math.max(1, timeoutMs));
    } catch (err) {
      const e = asFlotillaError(err);
      if (e.code === 'TIMEOUT') throw e;
      return { outcome: 'unavailable', message: `moving the leadership of ${topic}-${partition} from ${p.leaderId} to ${preferred} failed: ${e.message}` };
    }
    // Settled once the new leader reported itself and this node's metadata shows it.
    while (this.image().topicsById.get(t.topicId)?.partitions[partition]?.leaderId !== preferred) {
      if (this.options.clock.nowMs() >= deadline) throw new FlotillaError('TIMEOUT', `${preferred} leads ${topic}-${partition} but the metadata does not show it yet`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { outcome: 'elected', message: null };
  }

  /**
   * Cancellation (`replicas` null) mid-move stops where the move stands: the assignment becomes
   * the group's current voters (assigned ones first, so the preferred leader stays first when it is
   * one). A learner still catching up is dropped; a voter not yet removed stays. Nothing committed
   * can be lost: every voter holds the log. Kafka instead restores the original replica list; the
   * image does not keep it, and going back would be a second move.
   */
  async reassignPartition(topic: string, partition: number, replicas: readonly number[] | null): Promise<boolean> {
    const { p } = this.partitionImage(topic, partition);
    let target: readonly number[];
    if (replicas !== null) {
      target = replicas;
    } else {
      const [m] = await this.memberships([p], 10_000);
      if (m === undefined || m === null) throw new FlotillaError('LEADER_NOT_AVAILABLE', `the leader of ${topic}-${partition} did not say where its move stands`);
      if (sameSet([...m.voters, ...m.learners], p.replicas)) return false;
      target = [...p.replicas.filter((id) => m.voters.includes(id)), ...m.voters.filter((id) => !p.replicas.includes(id))];
    }
    await this.forward(ControllerMethods.reassign, { topic, partition, replicas: target } satisfies ReassignRequest);
    return true;
  }

  async listReassignments(filter: readonly { topic: string; partitions: readonly number[] }[] | null, timeoutMs: number): Promise<ReassignmentView[]> {
    const image = this.image();
    const wanted: { topic: string; p: PartitionImage }[] = [];
    if (filter === null) {
      for (const t of image.topicsByName.values()) for (const p of t.partitions) wanted.push({ topic: t.name, p });
    } else {
      for (const f of filter) {
        const t = image.topicsByName.get(f.topic);
        for (const i of f.partitions) {
          const p = t?.partitions[i];
          if (t && p) wanted.push({ topic: t.name, p });
        }
      }
    }
    const ms = await this.memberships(wanted.map((w) => w.p), timeoutMs);
    const out: ReassignmentView[] = [];
    wanted.forEach(({ topic, p }, i) => {
      const m = ms[i];
      // A partition whose leader did not answer is left out: its state is not known.
      if (!m) return;
      const members = [...m.voters, ...m.learners];
      if (sameSet(members, p.replicas)) return;
      out.push({
        topic,
        partition: p.partition,
        replicas: [...p.replicas, ...members.filter((id) => !p.replicas.includes(id))],
        adding: p.replicas.filter((id) => !m.voters.includes(id)),
        removing: members.filter((id) => !p.replicas.includes(id)),
      });
    });
    return out;
  }

  async describeLogDirs(filter: readonly { topic: string; partitions: readonly number[] }[] | null): Promise<LogDirView> {
    const dir = this.options.settings.logDir;
    if (dir === undefined) return { dir: '', partitions: [], totalBytes: -1, usableBytes: -1 };
    const wanted = filter === null ? null : new Set(filter.flatMap((f) => f.partitions.map((i) => `${f.topic}/${i}`)));
    const partitions: LogDirPartition[] = [];
    for (const r of this.replicas.partitions()) {
      if (wanted !== null && !wanted.has(`${r.topic}/${r.partition}`)) continue;
      const bytes = r instanceof Partition ? r.segmentLog.logBytes() : segmentBytesIn(r.dir);
      partitions.push({ topic: r.topic, partition: r.partition, bytes });
    }
    partitions.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
    let totalBytes = -1;
    let usableBytes = -1;
    try {
      const fs = await statfs(dir);
      totalBytes = fs.blocks * fs.bsize;
      usableBytes = fs.bavail * fs.bsize;
    } catch (err) {
      this.log(`statfs ${dir} failed: ${errText(err)}`);
    }
    return { dir, partitions, totalBytes, usableBytes };
  }

  private partitionImage(topic: string, partition: number): { image: MetadataImage; t: { topicId: string }; p: PartitionImage } {
    const image = this.image();
    const t = image.topicsByName.get(topic);
    const p = t?.partitions[partition];
    if (!t || !p) throw new FlotillaError('UNKNOWN_TOPIC', `unknown topic-partition ${topic}-${partition}`);
    return { image, t, p };
  }

  /**
   * The Raft membership of each partition as its leader sees it; null where no node answered as
   * its leader. Every live node is asked (one call each): the metadata's leader hint names the new
   * preferred replica as soon as a move is recorded, before it leads, and the old replicas are no
   * longer in the image. Two nodes that both think they lead (one deposed, not knowing yet): the
   * higher term wins.
   */
  private async memberships(parts: readonly PartitionImage[], timeoutMs: number): Promise<PartitionMembershipResponse> {
    const out: ({ term: number; voters: readonly number[]; learners: readonly number[] } | null)[] = parts.map(() => null);
    const peers = this.options.peers;
    if (peers === undefined || parts.length === 0) return out;
    const body: PartitionMembershipRequest = { partitions: parts.map((p) => ({ topicId: p.topicId, partition: p.partition })) };
    await Promise.all(this.image().unfencedBrokers().map(async (b) => {
      try {
        const res = await peers.call<PartitionMembershipResponse>(b.brokerId, BrokerMethods.partitionMembership, body, Math.max(1, timeoutMs));
        parts.forEach((_p, i) => {
          const m = res[i];
          if (m && (out[i] === null || (out[i] as { term: number }).term < m.term)) out[i] = m;
        });
      } catch (err) {
        this.log(`asking node ${b.brokerId} for partition memberships failed: ${errText(err)}`);
      }
    }));
    return out;
  }

  private async forward<T extends MetadataChangeResult>(method: string, body: unknown): Promise<T> {
    const result = await this.options.controller.call<T>(method, body);
    if (result.metadataIndex > 0) {
      try {
        await this.metadata.waitForIndex(result.metadataIndex, this.options.settings.metadataWaitMs ?? 10_000);
      } catch (err) {
        this.log(`metadata did not reach index ${result.metadataIndex} in time: ${errText(err)}`);
      }
    }
    return result;
  }

  private log(line: string): void {
    this.options.logger?.(line);
  }
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Bytes of the segment files (*.log) in a replica's directory (replicas other than data partitions). */
function segmentBytesIn(dir: string): number {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.log')).reduce((n, f) => n + statSync(`${dir}/${f}`).size, 0);
  } catch {
    return 0;
  }
}

function asFlotillaError(err: unknown): FlotillaError {
  if (isFlotillaError(err)) return err;
  return new FlotillaError('INVALID_REQUEST', errText(err));
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
