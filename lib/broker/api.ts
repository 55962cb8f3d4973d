/**
 * BrokerApi: what the client listener (lib/server) asks of the node. It speaks in Flotilla's terms
 * (topics, partitions, raw record batches, FlotillaErrors), never in Kafka's wire types: the server
 * decodes a request, calls these, and maps every FlotillaError to a Kafka error code in one place.
 *
 * Errors: a method throws (or a per-partition result carries) a FlotillaError whose code says what
 * happened: NOT_LEADER (details.leaderId), LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC, OFFSET_OUT_OF_RANGE,
 * FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, TIMEOUT (outcome unknown), CORRUPT (bad batch),
 * TOO_LARGE, INVALID_RECORD, INVALID_TOPIC, TOPIC_EXISTS, INVALID_TOPIC_CONFIG, POLICY_VIOLATION,
 * NOT_CONTROLLER, NOT_READY, BACKPRESSURE, INVALID_REQUEST; for idempotent and transactional
 * batches and markers OUT_OF_ORDER_SEQUENCE, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE,
 * TRANSACTION_COORDINATOR_FENCED.
 */
import type { FlotillaError } from '../base/errors.js';
import type {
  AlterConfigsRequest, AlterConfigsResponse, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
  CreateTopicsResponse, CreateAclsRequest, CreateAclsResponse, DeleteAclsRequest, DeleteAclsResponse, DeleteTopicsResponse, QuorumDescription,
} from '../metadata/controller-api.js';
import type { MetadataImage } from '../metadata/image.js';
import type { AlterClientQuotasResponse, AlterScramResponse } from '../metadata/controller-api.js';
import type { AlterClientQuotasRequest } from '../metadata/client-quotas.js';
import type { AlterScramRequest } from '../metadata/scram.js';

export type { QuorumDescription, QuorumReplica } from '../metadata/controller-api.js';

export interface BrokerEndpoint {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** One partition as clients are told about it (Metadata). */
export interface PartitionView {
  readonly partition: number;
  /** -1 when no leader is known. */
  readonly leaderId: number;
  /** The Raft term of that leader (Kafka's leader epoch), -1 when unknown. */
  readonly leaderEpoch: number;
  readonly replicas: readonly number[];
  /** Replicas that are registered and unfenced (Raft has no ISR; this is the closest honest view). */
  readonly isr: readonly number[];
  readonly offlineReplicas: readonly number[];
}

export interface TopicView {
  readonly name: string;
  readonly topicId: string;
  readonly partitions: readonly PartitionView[];
  readonly internal: boolean;
}

export interface ClusterView {
  readonly clusterId: string;
  /** A live broker that accepts admin requests (it forwards them to the metadata leader). */
  readonly controllerId: number;
  /** Every registered, unfenced broker: all brokers advertise the same set. */
  readonly brokers: readonly BrokerEndpoint[];
  /** Registered brokers the metadata marks fenced (DescribeCluster v2 includeFencedBrokers). */
  readonly fencedBrokers: readonly BrokerEndpoint[];
}

export type Acks = 0 | 1 | -1;

export interface ProduceRequestItem {
  readonly topic: string;
  readonly partition: number;
  /** The record set as received: one or more record batches v2 (a view into the request frame). */
  readonly records: Buffer;
  readonly acks: Acks;
  readonly timeoutMs: number;
  readonly transactionalId: string | null;
}

export interface ProduceResult {
  /** The offset given to the first record (of the first batch). */
  readonly baseOffset: number;
  /** The broker's append time when the topic uses LogAppendTime, else -1. */
  readonly logAppendTimeMs: number;
  readonly logStartOffset: number;
}

export interface FetchPartitionRequest {
  readonly topic: string;
  readonly partition: number;
  readonly fetchOffset: number;
  /** -1: no check. */
  readonly currentLeaderEpoch: number;
  readonly maxBytes: number;
}

export interface FetchRequestSpec {
  readonly partitions: readonly FetchPartitionRequest[];
  readonly maxWaitMs: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  /** 0 read_uncommitted, 1 read_committed. */
  readonly isolationLevel: 0 | 1;
  /** -1 for consumers; a node id for replica fetches (not used: replication is Raft's). */
  readonly replicaId: number;
}

export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
}

export interface FetchPartitionResult {
  readonly topic: string;
  readonly partition: number;
  readonly error: FlotillaError | null;
  readonly highWatermark: number;
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  /** Whole record batches, back to back, served unchanged from the segment files; null when none. */
  readonly records: Buffer | null;
  /** Aborted transactions whose markers fall in the returned range (empty without transactions). */
  readonly abortedTransactions: readonly AbortedTransaction[];
  /** The leader to use instead, when the error is NOT_LEADER (-1 when unknown). */
  readonly preferredLeaderId: number;
}

/**
 * ListOffsets: -1 latest, -2 earliest, -3 the record with the largest timestamp, -4 earliest local
 * (= earliest), -5 latest tiered (offset -1: nothing is tiered), else a timestamp (the first offset
 * with timestamp >= it).
 */
export interface ListOffsetRequest {
  readonly topic: string;
  readonly partition: number;
  readonly timestamp: number;
  readonly currentLeaderEpoch: number;
  readonly isolationLevel: 0 | 1;
}
export interface ListOffsetResult {
  readonly offset: number;
  readonly timestamp: number;
  readonly leaderEpoch: number;
}

/** topic: set on the topic; cluster: a cluster-wide default (broker resource ""); broker: this node's settings; default: Kafka's. */
export type ConfigSource = 'topic' | 'cluster' | 'broker' | 'default';
/** Kafka's DescribeConfigs ConfigType, by name (v3+ of the response carries it as a code). */
export type ConfigValueType = 'boolean' | 'string' | 'int' | 'short' | 'long' | 'double' | 'list' | 'class' | 'password';

export interface ConfigEntryView {
  readonly name: string;
  /** The value's type; absent: unknown. */
  readonly type?: ConfigValueType;
  readonly value: string | null;
  readonly readOnly: boolean;
  readonly source: ConfigSource;
  readonly sensitive: boolean;
  readonly doc: string;
}
export interface DescribeConfigsResult {
  readonly type: 'topic' | 'broker';
  readonly name: string;
  readonly error: FlotillaError | null;
  readonly entries: readonly ConfigEntryView[];
}

/** OffsetForLeaderEpoch: where a leader epoch (Raft term) ends in the leader's log. */
export interface EpochEndOffset {
  /** The largest epoch <= the one asked for with records in the log (-1: undefined). */
  readonly leaderEpoch: number;
  /** The offset after that epoch's last record (-1: undefined). */
  readonly endOffset: number;
}

/** ElectLeaders: elected, nothing to do (the preferred replica leads), or not possible now (why in `message`). */
export interface ElectionResult {
  readonly outcome: 'elected' | 'not-needed' | 'unavailable';
  readonly message: string | null;
}

/** A partition whose Raft membership is not yet its assigned replica set. */
export interface ReassignmentView {
  readonly topic: string;
  readonly partition: number;
  /** The assigned replicas first (in order), then the members being removed. */
  readonly replicas: readonly number[];
  /** Assigned replicas that are not voters yet (learners catching up, or not added yet). */
  readonly adding: readonly number[];
  /** Members (voters or learners) that are no longer assigned. */
  readonly removing: readonly number[];
}

/** One partition replica in this node's data directory. */
export interface LogDirPartition {
  readonly topic: string;
  readonly partition: number;
  /** Bytes of its segment files. */
  readonly bytes: number;
}
export interface LogDirView {
  readonly dir: string;
  readonly partitions: readonly LogDirPartition[];
  /** Of the directory's file system (statfs); -1 when unknown. */
  readonly totalBytes: number;
  readonly usableBytes: number;
}

export interface DeleteRecordsResult {
  readonly lowWatermark: number;
}

export interface ProducerIdAndEpoch {
  readonly producerId: number;
  readonly producerEpoch: number;
}

/** One producer as a partition leader's producer state knows it (DescribeProducers). */
export interface ProducerView {
  readonly producerId: number;
  readonly epoch: number;
  readonly lastSequence: number;
  readonly lastOffset: number;
  /** maxTimestamp of its last data batch, -1 when unknown. */
  readonly lastTimestamp: number;
  /** Coordinator epoch of its last marker, -1 before any. */
  readonly coordinatorEpoch: number;
  /** First offset of its open transaction here, -1 when none. */
  readonly txnFirstOffset: number;
}

/** A COMMIT or ABORT marker an admin client (WriteTxnMarkers) asks a partition leader to write. */
export interface TxnMarkerRequest {
  readonly topic: string;
  readonly partition: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
  readonly timeoutMs: number;
}

export interface BrokerApi {
  readonly nodeId: number;

  /** The node's current metadata image (its replica of the metadata log). */
  image(): MetadataImage;
  /**
   * The cluster as clients of `listener` see it (default "PLAINTEXT"): the brokers with an
   * endpoint on that listener, at that endpoint; brokers without one are left out (Kafka's
   * MetadataCache does the same).
   */
  cluster(listener?: string): ClusterView;
  /** Topics by name (all when `names` is null); unknown names are left out. */
  topics(names: readonly string[] | null): TopicView[];
  /**
   * Creates the named topics that do not exist, with the cluster defaults, if
   * `auto.create.topics.enable` is on; waits until this node's metadata shows them. Names that
   * are invalid or cannot be created are left out silently (the caller reports them unknown).
   */
  autoCreateTopics(names: readonly string[]): Promise<void>;

  produce(item: ProduceRequestItem): Promise<ProduceResult>;
  fetch(spec: FetchRequestSpec): Promise<FetchPartitionResult[]>;
  listOffset(request: ListOffsetRequest): Promise<ListOffsetResult>;
  deleteRecords(topic: string, partition: number, offset: number, timeoutMs: number): Promise<DeleteRecordsResult>;
  /** The end offset of `leaderEpoch` on the partition's leader; `currentLeaderEpoch` (-1: none) fences as fetch does. */
  endOffsetForEpoch(topic: string, partition: number, leaderEpoch: number, currentLeaderEpoch: number): EpochEndOffset;
  /** A fresh producer id (epoch 0) for an idempotent producer without a transactional id. */
  initProducerId(): Promise<ProducerIdAndEpoch>;
  /** The producers of a partition this node leads (NOT_LEADER elsewhere). */
  describeProducers(topic: string, partition: number): ProducerView[];
  /**
   * Writes a COMMIT/ABORT marker on a partition this node leads, through the partition's own marker
   * path; settles once committed. Refused with INVALID_PRODUCER_EPOCH (an older epoch than the
   * producer's) or TRANSACTION_COORDINATOR_FENCED (an older coordinator epoch than its last marker's).
   */
  writeTxnMarker(marker: TxnMarkerRequest): Promise<void>;
  /** The metadata Raft group from its leader (forwarded there from any node; NOT_CONTROLLER while there is none). */
  describeQuorum(): Promise<QuorumDescription>;
  /** AddRaftVoter, forwarded to the metadata leader: DUPLICATE_VOTER, INVALID_REQUEST (not registered), TIMEOUT (not caught up, or another change). */
  addRaftVoter(nodeId: number, directoryId: string): Promise<void>;
  /** RemoveRaftVoter, forwarded to the metadata leader: VOTER_NOT_FOUND, INVALID_REQUEST (the last voter). */
  removeRaftVoter(nodeId: number, directoryId: string): Promise<void>;

  createTopics(request: CreateTopicsRequest): Promise<CreateTopicsResponse>;
  deleteTopics(names: readonly string[], timeoutMs: number): Promise<DeleteTopicsResponse>;
  createPartitions(request: CreatePartitionsRequest): Promise<CreatePartitionsResponse>;
  alterConfigs(request: AlterConfigsRequest): Promise<AlterConfigsResponse>;
  /** AlterUserScramCredentials, forwarded to the controller; settles once this node's metadata shows the change. */
  alterScramCredentials(request: AlterScramRequest): Promise<AlterScramResponse>;
  /** CreateAcls, forwarded to the controller; settles once this node's metadata shows the ACLs (read-your-writes). */
  createAcls(request: CreateAclsRequest): Promise<CreateAclsResponse>;
  /** DeleteAcls, forwarded to the controller; settles once this node's metadata shows the removal. */
  deleteAcls(request: DeleteAclsRequest): Promise<DeleteAclsResponse>;
  /** AlterClientQuotas, forwarded to the controller; settles once this node's metadata shows the change (read-your-writes). */
  alterClientQuotas(request: AlterClientQuotasRequest): Promise<AlterClientQuotasResponse>;
  /**
   * Settles once this node's metadata has applied everything the metadata log had committed when
   * it was called (a linearizable read barrier), so that what is read next from image() is at
   * least as new as any change a client saw acknowledged, through whichever broker. Settles anyway
   * when the barrier fails (no metadata leader), or after `maxWaitMs` when given: the answer is
   * then this node's image, as before.
   */
  syncMetadata(maxWaitMs?: number): Promise<void>;
  describeConfigs(resources: readonly { type: 'topic' | 'broker'; name: string; keys: readonly string[] | null }[]): DescribeConfigsResult[];

  /**
   * Moves the partition's Raft leadership to its preferred replica (replicas[0]) by a Raft
   * leadership transfer, and settles once the metadata shows it leading (TIMEOUT after
   * `timeoutMs`). UNKNOWN_TOPIC for a partition that does not exist.
   */
  electPreferredLeader(topic: string, partition: number, timeoutMs: number): Promise<ElectionResult>;
  /**
   * Starts moving the partition to `replicas` (the controller records the assignment; the leader
   * then changes the Raft membership one step at a time). `null` cancels a move in progress: the
   * assignment becomes the current voters (see Broker.reassignPartition); settles false when no
   * move was in progress.
   */
  reassignPartition(topic: string, partition: number, replicas: readonly number[] | null): Promise<boolean>;
  /** The partitions (all when `filter` is null) whose Raft membership differs from their assignment, as their leaders see it. */
  listReassignments(filter: readonly { topic: string; partitions: readonly number[] }[] | null, timeoutMs: number): Promise<ReassignmentView[]>;
  /** This node's data directory and the partition replicas in it (all when `filter` is null). */
  describeLogDirs(filter: readonly { topic: string; partitions: readonly number[] }[] | null): Promise<LogDirView>;
}
