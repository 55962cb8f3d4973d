// An in-memory BrokerApi for the server's tests only: one node, topics of partitions that store
// record batches with their baseOffset rewritten (lib/records), high watermark = log end offset,
// long-polling fetches, and simple admin. Not a model of the real broker's replication. Each
// partition keeps the real (pure) producer state of lib/broker/producer-state.ts, fed with the
// idempotent batches produced and the markers written (DescribeProducers, WriteTxnMarkers).
import type { AlterClientQuotasResponse, AlterScramResponse } from '../../lib/metadata/controller-api.js';
import { type AlterClientQuotasRequest, alterClientQuotas } from '../../lib/metadata/client-quotas.js';
import { replayRecords } from '../../lib/metadata/delta.js';
import { type AlterScramRequest, alterScram } from '../../lib/metadata/scram.js';
import { FlotillaError } from '../../lib/base/errors.js';
import type {
  BrokerApi, BrokerEndpoint, ClusterView, ConfigEntryView, DeleteRecordsResult, DescribeConfigsResult, ElectionResult, EpochEndOffset, FetchPartitionResult,
  FetchRequestSpec, ListOffsetRequest, ListOffsetResult, LogDirView, ProduceRequestItem, ProduceResult, ProducerIdAndEpoch, ProducerView,
  QuorumDescription, ReassignmentView, TopicView, TxnMarkerRequest,
} from '../../lib/broker/api.js';
import { producerBatchOf } from '../../lib/broker/partition-state.js';
import { ProducerStateTable } from '../../lib/broker/producer-state.js';
import type {
  AlterConfigsRequest, AlterConfigsResponse, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
  CreateTopicsResponse, DeleteTopicsResponse, CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse,
} from '../../lib/metadata/controller-api.js';
import { planAclCreations, planAclDeletions } from '../../lib/auth/acl.js';
import type { AclImage } from '../../lib/metadata/image.js';
import { MetadataImage } from '../../lib/metadata/image.js';
import { topicNameProblem } from '../../lib/metadata/records.js';
import { type TopicConfigSpec, topicConfigSpecs } from '../../lib/metadata/topic-config.js';
import { Attributes, BatchHeader, batchSizeAt, checkBatch, setBaseOffset, setPartitionLeaderEpoch } from '../../lib/records/batch.js';

interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly bytes: Buffer;
}

interface MemoryPartition {
  batches: StoredBatch[];
  logStartOffset: number;
  logEndOffset: number;
  /** The real (pure) producer state, fed with idempotent batches and markers. */
  readonly producers: ProducerStateTable;
  /** Raft entries so far (the producer state's eviction order). */
  entries: number;
}

interface MemoryTopic {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: MemoryPartition[];
  configs: Map<string, string>;
}

const TOPIC_CONFIG_DEFAULTS: Readonly<Record<string, string>> = {
  'cleanup.policy': 'delete',
  'retention.ms': '604800000',
  'retention.bytes': '-1',
  'segment.bytes': '1073741824',
  'max.message.bytes': '1048588',
  'message.timestamp.type': 'CreateTime',
  'compression.type': 'producer',
};

export interface MemoryBrokerOptions {
  readonly nodeId?: number;
  readonly autoCreateTopics?: boolean;
  readonly defaultPartitions?: number;
  readonly maxBatchBytes?: number;
  /** Upper bound on a fetch's long poll (fuzzing sets 0: answer at once). */
  readonly fetchWaitMaxMs?: number;
  /** Largest partition count a topic may be created or grown to. */
  readonly partitionsMax?: number;
}

export class MemoryBroker implements BrokerApi {
  readonly nodeId: number;
  host = '127.0.0.1';
  port = 9092;
  /** Registered brokers a test marks fenced (DescribeCluster v2). */
  fencedBrokers: BrokerEndpoint[] = [];
  autoCreate: boolean;
  private readonly defaultPartitions: number;
  private readonly maxBatchBytes: number;
  private readonly fetchWaitMaxMs: number;
  private readonly partitionsMax: number;
  private readonly topicsByName = new Map<string, MemoryTopic>();
  private nextTopicId = 1;
  private waiters = new Set<() => void>();
  /** The ACLs (a new map on every change, as metadata images are immutable). */
  private acls: ReadonlyMap<string, AclImage> = new Map();
  private nextAclId = 1;
  /** Calls made, for tests that check what reached the broker. */
  readonly calls: string[] = [];

  constructor(options: MemoryBrokerOptions = {}) {
    this.nodeId = options.nodeId ?? 1;
    this.autoCreate = options.autoCreateTopics ?? true;
    this.defaultPartitions = options.defaultPartitions ?? 1;
    this.maxBatchBytes = options.maxBatchBytes ?? 1048588;
    this.fetchWaitMaxMs = options.fetchWaitMaxMs ?? 60_000;
    this.partitionsMax = options.partitionsMax ?? 10_000;
  }

  /** Its topics (ids, names, one replica each on this node): what Fetch v13+ and Metadata v12 resolve ids with. */
  image(): MetadataImage {
    const topics = [...this.topicsByName.values()].map((t) => ({
      topicId: t.topicId, name: t.name, replicationFactor: 1, offsetLayout: 2 as const,
      partitions: t.partitions.map((_, partition) => ({ topicId: t.topicId, partition, replicas: [this.nodeId], leaderId: this.nodeId, leaderEpoch: 0 })),
    }));
    return new MetadataImage({
      ...MetadataImage.EMPTY,
      topicsById: new Map(topics.map((t) => [t.topicId, t])),
      topicsByName: new Map(topics.map((t) => [t.name, t])),
      scramCredentials: this.scramCredentials,
      acls: this.acls,
      clientQuotas: this.clientQuotas,
    });
  }

  async createAcls(request: CreateAclsRequest): Promise<CreateAclsResponse> {
    const newId = (): string => `00000000-0000-4000-8000-${String(this.nextAclId++).padStart(12, '0')}`;
    const plan = planAclCreations(this.acls.values(), request.acls, newId);
    const next = new Map(this.acls);
    for (const a of plan.added) next.set(a.aclId, a);
    this.acls = next;
    return { metadataIndex: plan.added.length > 0 ? 1 : 0, results: plan.problems.map((p) => (p === null ? null : { code: 'INVALID_REQUEST', message: p })) };
  }

  async deleteAcls(request: DeleteAclsRequest): Promise<DeleteAclsResponse> {
    const plan = planAclDeletions(this.acls.values(), request.filters);
    const next = new Map(this.acls);
    for (const a of plan.removed) next.delete(a.aclId);
    this.acls = next;
    return { metadataIndex: plan.removed.length > 0 ? 1 : 0, results: plan.matches.map((deleted) => ({ deleted })) };
  }

  cluster(): ClusterView {
    return {
      clusterId: 'memory-cluster',
      controllerId: this.nodeId,
      brokers: [{ nodeId: this.nodeId, host: this.host, port: this.port, rack: null }],
      fencedBrokers: this.fencedBrokers,
    };
  }

  topics(names: readonly string[] | null): TopicView[] {
    const list = names === null ? [...this.topicsByName.values()] : names.map((n) => this.topicsByName.get(n)).filter((t) => t !== undefined);
    return list.map((t) => ({
      name: t.name,
      topicId: t.topicId,
      internal: false,
      partitions: t.partitions.map((_, i) => ({
        partition: i, leaderId: this.nodeId, leaderEpoch: 0, replicas: [this.nodeId], isr: [this.nodeId], offlineReplicas: [],
      })),
    }));
  }

  async autoCreateTopics(names: readonly string[]): Promise<void> {
    this.calls.push(`autoCreateTopics ${names.join(',')}`);
    if (!this.autoCreate) return;
    for (const n of names) {
      if (!this.topicsByName.has(n) && topicNameProblem(n) === null) this.addTopic(n, this.defaultPartitions, new Map());
    }
  }

  /** Creates a topic directly (test setup). */
  addTopic(name: string, partitions: number, configs: Map<string, string> = new Map()): void {
    const id = (this.nextTopicId++).toString(16).padStart(12, '0');
    this.topicsByName.set(name, {
      name,
      topicId: `00000000-0000-4000-8000-${id}`,
      partitions: Array.from({ length: partitions }, () => ({ batches: [], logStartOffset: 0, logEndOffset: 0, producers: new ProducerStateTable(), entries: 0 })),
      configs,
    });
  }

  private partition(topic: string, partition: number): MemoryPartition {
    const p = this.topicsByName.get(topic)?.partitions[partition];
    if (p === undefined) throw new FlotillaError('UNKNOWN_TOPIC', `${topic}-${partition} is not known`);
    return p;
  }

  async produce(item: ProduceRequestItem): Promise<ProduceResult> {
    const p = this.partition(item.topic, item.partition);
    const problem = checkBatch(item.records, 0, this.maxBatchBytes);
    if (problem !== null) {
      if (problem.problem === 'length' && /exceeds/.test(problem.message)) throw new FlotillaError('TOO_LARGE', problem.message);
      throw new FlotillaError('CORRUPT', problem.message);
    }
    if (batchSizeAt(item.records) !== item.records.length) {
      throw new FlotillaError('INVALID_RECORD', 'a produce request must hold exactly one record batch per partition');
    }
    const header = new BatchHeader(item.records);
    if (header.isControl) throw new FlotillaError('INVALID_RECORD', 'clients may not write control batches');
    const bytes = Buffer.from(item.records);
    const baseOffset = p.logEndOffset;
    setBaseOffset(bytes, baseOffset);
    setPartitionLeaderEpoch(bytes, 0);
    const stored = new BatchHeader(bytes);
    p.batches.push({ baseOffset, lastOffset: stored.lastOffset, maxTimestamp: stored.maxTimestamp, bytes });
    p.logEndOffset = stored.lastOffset + 1;
    const producerBatch = producerBatchOf(stored);
    p.entries++;
    if (producerBatch.producerId >= 0 && p.producers.verdict(producerBatch).kind === 'append') p.producers.append(producerBatch, baseOffset, stored.lastOffset, p.entries);
    this.wake();
    return { baseOffset, logAppendTimeMs: -1, logStartOffset: p.logStartOffset };
  }

  private nextProducerId = 1000;

  /** Producer ids count up; batches are not deduplicated here (the real Partition does that). */
  async initProducerId(): Promise<ProducerIdAndEpoch> {
    return { producerId: this.nextProducerId++, producerEpoch: 0 };
  }

  /** Partitions (`topic-partition`) this broker answers NOT_LEADER for (DescribeProducers, WriteTxnMarkers). */
  readonly notLeaderOf = new Set<string>();

  private leaderPartition(topic: string, partition: number): MemoryPartition {
    const p = this.partition(topic, partition);
    if (this.notLeaderOf.has(`${topic}-${partition}`)) throw new FlotillaError('NOT_LEADER', `node ${this.nodeId} does not lead ${topic}-${partition}`, { leaderId: -1 });
    return p;
  }

  describeProducers(topic: string, partition: number): ProducerView[] {
    this.calls.push(`describeProducers ${topic}-${partition}`);
    return [...this.leaderPartition(topic, partition).producers.entries()].map((e) => ({
      producerId: e.producerId, epoch: e.epoch, lastSequence: e.batches.at(-1)?.lastSeq ?? -1, lastOffset: e.batches.at(-1)?.lastOffset ?? -1,
      lastTimestamp: e.lastTimestamp, coordinatorEpoch: e.coordinatorEpoch, txnFirstOffset: e.txnFirstOffset,
    }));
  }

  /** The marker takes an offset of its own (it is not stored: fetches skip it, as clients skip control batches). */
  async writeTxnMarker(m: TxnMarkerRequest): Promise<void> {
    this.calls.push(`writeTxnMarker ${m.topic}-${m.partition} ${m.commit ? 'commit' : 'abort'}`);
    const p = this.leaderPartition(m.topic, m.partition);
    p.entries++;
    const verdict = p.producers.applyMarker({ producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.commit, coordinatorEpoch: m.coordinatorEpoch, txn: -1 }, p.logEndOffset, p.entries);
    if (verdict.kind === 'reject') throw new FlotillaError(verdict.code, verdict.message);
    p.logEndOffset++;
  }

  /** What describeQuorum answers (null: NOT_CONTROLLER, no metadata leader). */
  quorum: QuorumDescription | null = null;

  async describeQuorum(): Promise<QuorumDescription> {
    if (this.quorum === null) throw new FlotillaError('NOT_CONTROLLER', 'no metadata leader', { leaderId: -1 });
    return this.quorum;
  }

  /** The voters AddRaftVoter / RemoveRaftVoter change (no catch-up here: the controller spec has the real one). */
  readonly voters = new Set<number>([1]);

  async addRaftVoter(nodeId: number): Promise<void> {
    this.calls.push(`addRaftVoter ${nodeId}`);
    if (this.voters.has(nodeId)) throw new FlotillaError('DUPLICATE_VOTER', `node ${nodeId} is a voter already`);
    this.voters.add(nodeId);
  }

  async removeRaftVoter(nodeId: number): Promise<void> {
    this.calls.push(`removeRaftVoter ${nodeId}`);
    if (!this.voters.has(nodeId)) throw new FlotillaError('VOTER_NOT_FOUND', `node ${nodeId} is not a voter`);
    this.voters.delete(nodeId);
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = new Set();
    for (const w of ws) w();
  }

  private readPartition(spec: FetchRequestSpec, i: number, budget: { bytes: number }): FetchPartitionResult {
    const req = spec.partitions[i]!;
    const base = {
      topic: req.topic, partition: req.partition, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
      records: null, abortedTransactions: [], preferredLeaderId: -1,
    };
    let p: MemoryPartition;
    try {
      p = this.partition(req.topic, req.partition);
    } catch (err) {
      return { ...base, error: err as FlotillaError };
    }
    const marks = { highWatermark: p.logEndOffset, lastStableOffset: p.logEndOffset, logStartOffset: p.logStartOffset };
    if (req.currentLeaderEpoch > 0) return { ...base, ...marks, error: new FlotillaError('UNKNOWN_LEADER_EPOCH', `epoch ${req.currentLeaderEpoch} > 0`) };
    if (req.fetchOffset < p.logStartOffset || req.fetchOffset > p.logEndOffset) {
      return { ...base, ...marks, error: new FlotillaError('OFFSET_OUT_OF_RANGE', `offset ${req.fetchOffset} outside [${p.logStartOffset}, ${p.logEndOffset}]`) };
    }
    const out: Buffer[] = [];
    let size = 0;
    for (const b of p.batches) {
      if (b.lastOffset < req.fetchOffset) continue;
      const first = out.length === 0 && budget.bytes === spec.maxBytes;
      if (!first && (size + b.bytes.length > req.maxBytes || size + b.bytes.length > budget.bytes)) break;
      out.push(b.bytes);
      size += b.bytes.length;
      if (first && (size >= req.maxBytes || size >= budget.bytes)) break;
    }
    budget.bytes -= size;
    return { ...base, ...marks, error: null, records: out.length === 0 ? null : Buffer.concat(out) };
  }

  async fetch(spec: FetchRequestSpec): Promise<FetchPartitionResult[]> {
    this.calls.push('fetch');
    const read = (): { results: FetchPartitionResult[]; bytes: number } => {
      const budget = { bytes: spec.maxBytes };
      const results = spec.partitions.map((_, i) => this.readPartition(spec, i, budget));
      return { results, bytes: results.reduce((n, r) => n + (r.records?.length ?? 0), 0) };
    };
    let now = read();
    const waitMs = Math.min(spec.maxWaitMs, this.fetchWaitMaxMs);
    if (now.bytes >= Math.max(1, spec.minBytes) || now.results.some((r) => r.error !== null) || waitMs <= 0) return now.results;
    const deadline = Date.now() + waitMs;
    while (now.bytes < Math.max(1, spec.minBytes)) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { this.waiters.delete(done); resolve(); }, left);
        const done = (): void => { clearTimeout(timer); resolve(); };
        this.waiters.add(done);
      });
      now = read();
    }
    return now.results;
  }

  async listOffset(request: ListOffsetRequest): Promise<ListOffsetResult> {
    const p = this.partition(request.topic, request.partition);
    if (request.timestamp === -1) return { offset: p.logEndOffset, timestamp: -1, leaderEpoch: 0 };
    if (request.timestamp === -2 || request.timestamp === -4) return { offset: p.logStartOffset, timestamp: -1, leaderEpoch: 0 };
    if (request.timestamp === -5) return { offset: -1, timestamp: -1, leaderEpoch: -1 };
    if (request.timestamp === -3) {
      const live = p.batches.filter((x) => x.lastOffset >= p.logStartOffset);
      const max = live.reduce<(typeof live)[number] | undefined>((m, x) => (m === undefined || x.maxTimestamp > m.maxTimestamp ? x : m), undefined);
      return max === undefined ? { offset: -1, timestamp: -1, leaderEpoch: -1 } : { offset: Math.max(max.baseOffset, p.logStartOffset), timestamp: max.maxTimestamp, leaderEpoch: 0 };
    }
    const b = p.batches.find((x) => x.lastOffset >= p.logStartOffset && x.maxTimestamp >= request.timestamp);
    return b === undefined ? { offset: -1, timestamp: -1, leaderEpoch: -1 } : { offset: Math.max(b.baseOffset, p.logStartOffset), timestamp: b.maxTimestamp, leaderEpoch: 0 };
  }

  /** One node: it leads every partition, its only (preferred) replica. */
  async electPreferredLeader(topic: string, partition: number): Promise<ElectionResult> {
    this.partition(topic, partition);
    return { outcome: 'not-needed', message: null };
  }

  /** One node: the only assignment is [this node]; nothing is ever moving. */
  async reassignPartition(topic: string, partition: number, replicas: readonly number[] | null): Promise<boolean> {
    this.partition(topic, partition);
    if (replicas === null) return false;
    if (replicas.length === 0 || replicas.some((id) => id !== this.nodeId)) throw new FlotillaError('INVALID_REQUEST', `replicas [${replicas.join(',')}]: only node ${this.nodeId} exists`);
    this.calls.push(`reassign ${topic}-${partition} [${replicas.join(',')}]`);
    return true;
  }

  async listReassignments(): Promise<ReassignmentView[]> {
    return [];
  }

  async describeLogDirs(filter: readonly { topic: string; partitions: readonly number[] }[] | null): Promise<LogDirView> {
    const partitions = [...this.topicsByName.values()].flatMap((t) => t.partitions.map((p, i) => ({ topic: t.name, partition: i, bytes: p.batches.reduce((n, b) => n + b.bytes.length, 0) })))
      .filter((p) => filter === null || filter.some((f) => f.topic === p.topic && f.partitions.includes(p.partition)));
    return { dir: '/memory', partitions, totalBytes: 1 << 30, usableBytes: 1 << 29 };
  }

  /** One leader epoch (0) for the whole life of a partition: epoch 0 ends at the log end. */
  endOffsetForEpoch(topic: string, partition: number, leaderEpoch: number, currentLeaderEpoch: number): EpochEndOffset {
    const p = this.partition(topic, partition);
    if (currentLeaderEpoch > 0 || leaderEpoch > 0) throw new FlotillaError('UNKNOWN_LEADER_EPOCH', `leader epoch ${Math.max(currentLeaderEpoch, leaderEpoch)} is newer than 0`);
    return leaderEpoch < 0 ? { leaderEpoch: -1, endOffset: -1 } : { leaderEpoch: 0, endOffset: p.logEndOffset };
  }

  async deleteRecords(topic: string, partition: number, offset: number): Promise<DeleteRecordsResult> {
    const p = this.partition(topic, partition);
    const target = offset === -1 ? p.logEndOffset : offset;
    if (target < 0 || target > p.logEndOffset) throw new FlotillaError('OFFSET_OUT_OF_RANGE', `offset ${offset} is beyond the high watermark ${p.logEndOffset}`);
    p.logStartOffset = Math.max(p.logStartOffset, target);
    p.batches = p.batches.filter((b) => b.lastOffset >= p.logStartOffset);
    return { lowWatermark: p.logStartOffset };
  }

  async createTopics(request: CreateTopicsRequest): Promise<CreateTopicsResponse> {
    this.calls.push(`createTopics ${request.topics.map((t) => t.name).join(',')}`);
    const results = request.topics.map((t) => {
      const fail = (code: string, message: string) => ({ name: t.name, error: { code, message }, topicId: null, partitions: -1, replicationFactor: -1 });
      const problem = topicNameProblem(t.name);
      if (problem !== null) return fail('INVALID_TOPIC', `topic name "${t.name}" ${problem}`);
      if (this.topicsByName.has(t.name)) return fail('TOPIC_EXISTS', `topic ${t.name} already exists`);
      const partitions = t.partitions === -1 ? this.defaultPartitions : t.partitions;
      const rf = t.replicationFactor === -1 ? 1 : t.replicationFactor;
      if (!Number.isInteger(partitions) || partitions < 1 || partitions > this.partitionsMax) {
        return fail('INVALID_TOPIC', `partition count ${partitions} is not an integer in [1, ${this.partitionsMax}]`);
      }
      if (rf < 1) return fail('INVALID_TOPIC', `replication factor ${rf} is not an integer in [1, 16]`);
      if (rf > 1) return fail('NOT_ENOUGH_NODES', `replication factor ${rf} exceeds the 1 eligible node`);
      for (const k of Object.keys(t.configs)) {
        if (!Object.hasOwn(TOPIC_CONFIG_DEFAULTS, k)) return fail('INVALID_TOPIC_CONFIG', `unknown topic config ${k}`);
      }
      if (!request.validateOnly) this.addTopic(t.name, partitions, new Map(Object.entries(t.configs)));
      return { name: t.name, error: null, topicId: this.topicsByName.get(t.name)?.topicId ?? null, partitions, replicationFactor: rf };
    });
    return { metadataIndex: 1, results };
  }

  async deleteTopics(names: readonly string[]): Promise<DeleteTopicsResponse> {
    this.calls.push(`deleteTopics ${names.join(',')}`);
    return {
      metadataIndex: 1,
      results: names.map((name) => {
        if (!this.topicsByName.delete(name)) return { name, error: { code: 'UNKNOWN_TOPIC', message: `topic ${name} does not exist` } };
        return { name, error: null };
      }),
    };
  }

  async createPartitions(request: CreatePartitionsRequest): Promise<CreatePartitionsResponse> {
    return {
      metadataIndex: 1,
      results: request.topics.map((t) => {
        const topic = this.topicsByName.get(t.name);
        if (topic === undefined) return { name: t.name, error: { code: 'UNKNOWN_TOPIC', message: `topic ${t.name} does not exist` } };
        if (t.count > this.partitionsMax) return { name: t.name, error: { code: 'INVALID_TOPIC', message: `partition count ${t.count} is above ${this.partitionsMax}` } };
        if (t.count <= topic.partitions.length) {
          return { name: t.name, error: { code: 'INVALID_TOPIC', message: `topic "${t.name}" has ${topic.partitions.length} partitions; the new count ${t.count} must be larger` } };
        }
        if (!request.validateOnly) {
          while (topic.partitions.length < t.count) topic.partitions.push({ batches: [], logStartOffset: 0, logEndOffset: 0, producers: new ProducerStateTable(), entries: 0 });
        }
        return { name: t.name, error: null };
      }),
    };
  }

  async alterConfigs(request: AlterConfigsRequest): Promise<AlterConfigsResponse> {
    return {
      metadataIndex: 1,
      results: request.resources.map((r) => {
        const fail = (code: string, message: string) => ({ type: r.type, name: r.name, error: { code, message } });
        if (r.type !== 'topic') return fail('INVALID_REQUEST', 'broker configs cannot be altered here');
        const topic = this.topicsByName.get(r.name);
        if (topic === undefined) return fail('UNKNOWN_TOPIC', `topic ${r.name} does not exist`);
        for (const c of r.configs) if (!Object.hasOwn(TOPIC_CONFIG_DEFAULTS, c.key)) return fail('INVALID_TOPIC_CONFIG', `unknown topic config ${c.key}`);
        if (!request.validateOnly) {
          const next = r.incremental ? new Map(topic.configs) : new Map<string, string>();
          for (const c of r.configs) {
            if (c.value === null) next.delete(c.key);
            else next.set(c.key, c.value);
          }
          topic.configs = next;
        }
        return { type: r.type, name: r.name, error: null };
      }),
    };
  }

  /** SCRAM credentials, changed by alterScramCredentials with the controller's own rules (lib/metadata/scram.ts). */
  scramCredentials: MetadataImage['scramCredentials'] = new Map();

  async alterScramCredentials(request: AlterScramRequest): Promise<AlterScramResponse> {
    const { records, results } = alterScram(this.image(), request);
    this.scramCredentials = replayRecords(records, this.image()).scramCredentials;
    return { metadataIndex: records.length > 0 ? 1 : 0, results };
  }

  /** Client quotas, changed by alterClientQuotas with the controller's own rules (lib/metadata/client-quotas.ts). */
  clientQuotas: MetadataImage['clientQuotas'] = new Map();

  async alterClientQuotas(request: AlterClientQuotasRequest): Promise<AlterClientQuotasResponse> {
    const { records, results } = alterClientQuotas(this.image(), request.entries);
    if (!request.validateOnly) this.clientQuotas = replayRecords(records, this.image()).clientQuotas;
    return { metadataIndex: records.length > 0 && !request.validateOnly ? 1 : 0, results };
  }

  /** One node: its image is the only one. */
  syncMetadata(): Promise<void> {
    return Promise.resolve();
  }

  describeConfigs(resources: readonly { type: 'topic' | 'broker'; name: string; keys: readonly string[] | null }[]): DescribeConfigsResult[] {
    return resources.map((r) => {
      if (r.type === 'broker') {
        if (r.name !== String(this.nodeId) && r.name !== '') {
          return { type: r.type, name: r.name, error: new FlotillaError('INVALID_REQUEST', `broker ${r.name} is not this node`), entries: [] };
        }
        const entries: ConfigEntryView[] = [
          { name: 'auto.create.topics.enable', type: 'boolean', value: String(this.autoCreate), readOnly: true, source: 'broker', sensitive: false, doc: '' },
          { name: 'num.partitions', type: 'int', value: String(this.defaultPartitions), readOnly: true, source: 'broker', sensitive: false, doc: '' },
        ];
        return { type: r.type, name: r.name, error: null, entries: entries.filter((e) => r.keys === null || r.keys.includes(e.name)) };
      }
      const topic = this.topicsByName.get(r.name);
      if (topic === undefined) return { type: r.type, name: r.name, error: new FlotillaError('UNKNOWN_TOPIC', `topic ${r.name} does not exist`), entries: [] };
      const entries: ConfigEntryView[] = Object.entries(TOPIC_CONFIG_DEFAULTS)
        .filter(([k]) => r.keys === null || r.keys.includes(k))
        .map(([k, v]) => {
          const set = topic.configs.get(k);
          // Types and documentation as the real broker's (lib/metadata/topic-config.ts).
          const spec: TopicConfigSpec | undefined = (topicConfigSpecs as Record<string, TopicConfigSpec>)[k];
          const type = spec === undefined ? undefined : spec.type === 'enum' ? 'string' as const : spec.type;
          return { name: k, ...(type ? { type } : {}), value: set ?? v, readOnly: false, source: set === undefined ? 'default' : 'topic', sensitive: false, doc: spec?.doc ?? '' };
        });
      return { type: r.type, name: r.name, error: null, entries };
    });
  }

  /** Every stored batch of a partition (tests). */
  batchesOf(topic: string, partition: number): Buffer[] {
    return this.partition(topic, partition).batches.map((b) => b.bytes);
  }

  /** True when a stored batch is compressed with `codec` (tests). */
  hasCodec(topic: string, partition: number, codec: number): boolean {
    return this.batchesOf(topic, partition).some((b) => (new BatchHeader(b).attributes & Attributes.CompressionMask) === codec);
  }
}
