/**
 * The controller's RPC surface: what every node asks of the metadata leader over PeerRpc
 * (lib/cluster/rpc.ts). Method names and bodies are plain msgpack-able values. Pure types.
 *
 * A call that reaches a node that is not the metadata leader fails with NOT_CONTROLLER
 * (details.leaderId when known); ControllerClient retries on the leader. Every call that changes
 * the metadata answers with `metadataIndex`: the Raft index of the metadata log at which the
 * change is applied. The caller may wait until its own replica of the metadata log has applied
 * that index, so that its next Metadata response already shows the change.
 */
import type { BrokerListener } from './records.js';

import type { ScramUserResult } from './scram.js';
import type { AlterQuotaResult } from './client-quotas.js';

import type { AclBinding, AclFilter } from '../auth/acl.js';
import type { AclImage } from './image.js';

export const ControllerMethods = {
  register: 'controller.register',
  heartbeat: 'controller.heartbeat',
  createTopics: 'controller.createTopics',
  deleteTopics: 'controller.deleteTopics',
  createPartitions: 'controller.createPartitions',
  alterConfigs: 'controller.alterConfigs',
  partitionLeader: 'controller.partitionLeader',
  reassign: 'controller.reassign',
  decommission: 'controller.decommission',
  allocateProducerIds: 'controller.allocateProducerIds',
  unregister: 'controller.unregister',
  /** The metadata Raft group as its leader sees it (body {}; answer lib/broker/api.ts QuorumDescription). Needs the Raft leader, not an active controller. */
  describeQuorum: 'controller.describeQuorum',
  /** KIP-853: a registered node joins the metadata voters (learner, caught up, promoted). Body VoterChangeRequest. */
  addVoter: 'controller.addVoter',
  /** KIP-853: a voter leaves the metadata voters. Body VoterChangeRequest. */
  removeVoter: 'controller.removeVoter',
  /** KIP-554: SCRAM credential deletions and upsertions (body AlterScramRequest of lib/metadata/scram.ts; answer AlterScramResponse). */
  alterScramCredentials: 'controller.alterScramCredentials',
  /** CreateAcls (body CreateAclsRequest): Acl records for the new bindings; an existing binding succeeds unchanged. */
  createAcls: 'controller.createAcls',
  /** DeleteAcls (body DeleteAclsRequest): RemoveAcl records for every ACL a filter matches. */
  deleteAcls: 'controller.deleteAcls',
  /** AlterClientQuotas (body AlterClientQuotasRequest of lib/metadata/client-quotas.ts; answer AlterClientQuotasResponse). */
  alterClientQuotas: 'controller.alterClientQuotas',
} as const;

/**
 * What the controller asks of the nodes. `transferLeader` goes to a partition's current leader
 * (body TransferLeaderRequest): it moves the partition's Raft leadership to `to` (leader
 * balancing). Every node implements the handler; it may refuse with NOT_LEADER.
 */
export const BrokerMethods = {
  transferLeader: 'broker.transferLeader',
  /** Any node asks partition leaders for their Raft membership (body PartitionMembershipRequest). */
  partitionMembership: 'broker.partitionMembership',
} as const;

export interface PartitionMembershipRequest {
  readonly partitions: readonly { readonly topicId: string; readonly partition: number }[];
}
/** One partition's Raft membership as its leader sees it (with its term); null where this node does not lead it. */
export type PartitionMembershipResponse = readonly ({ readonly term: number; readonly voters: readonly number[]; readonly learners: readonly number[] } | null)[];

export interface TransferLeaderRequest {
  readonly topicId: string;
  readonly partition: number;
  readonly to: number;
}

/** An error for one item of a batch request; the codes are lib/base/errors.ts ErrorCodes. */
export interface ItemError {
  readonly code: string;
  readonly message: string;
}

export interface MetadataChangeResult {
  /** The metadata log index at which the change applied (0: nothing changed). */
  readonly metadataIndex: number;
}

export interface RegisterRequest {
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly rack: string | null;
  /** Every client listener with its advertised address (absent: one PLAINTEXT at host:clientPort). */
  readonly listeners?: readonly BrokerListener[];
}

export interface RegisterResponse extends MetadataChangeResult {
  /** Registered nodes start fenced; heartbeats unfence them once caught up. */
  readonly fenced: boolean;
}

/** A node leaves the cluster for good (it must hold no replicas: decommission it first). */
export interface UnregisterRequest {
  readonly brokerId: number;
}

/**
 * Sent every brokerHeartbeatIntervalMs. A node the controller does not know under this
 * incarnation gets INVALID_REQUEST with details.reregister = true: it must register again.
 */
export interface HeartbeatRequest {
  readonly brokerId: number;
  readonly incarnationId: string;
  /** The metadata log index this node has applied (a node is unfenced only once caught up). */
  readonly metadataApplied: number;
  /** True while the node shuts down cleanly: the controller fences it at once. */
  readonly shuttingDown?: boolean;
}
export interface HeartbeatResponse {
  readonly fenced: boolean;
  /** The metadata index at which the node's fencing last changed (0: no change now). */
  readonly metadataIndex?: number;
}

export interface CreateTopicSpec {
  readonly name: string;
  /** -1: the cluster default (num.partitions). */
  readonly partitions: number;
  /** -1: the cluster default (default.replication.factor), capped by the node count. */
  readonly replicationFactor: number;
  /** Manual assignment: replicas per partition (replicas[0] preferred leader), or null. */
  readonly assignments: readonly (readonly number[])[] | null;
  readonly configs: Readonly<Record<string, string>>;
}
export interface CreateTopicsRequest {
  readonly topics: readonly CreateTopicSpec[];
  readonly validateOnly: boolean;
}
export interface CreateTopicResult {
  readonly name: string;
  readonly error: ItemError | null;
  readonly topicId: string | null;
  readonly partitions: number;
  readonly replicationFactor: number;
}
export interface CreateTopicsResponse extends MetadataChangeResult {
  readonly results: readonly CreateTopicResult[];
}

export interface DeleteTopicsRequest {
  readonly names: readonly string[];
}
export interface NamedResult {
  readonly name: string;
  readonly error: ItemError | null;
}
export interface DeleteTopicsResponse extends MetadataChangeResult {
  readonly results: readonly NamedResult[];
}

export interface CreatePartitionsRequest {
  readonly topics: readonly { readonly name: string; readonly count: number; readonly assignments: readonly (readonly number[])[] | null }[];
  readonly validateOnly: boolean;
}
export interface CreatePartitionsResponse extends MetadataChangeResult {
  readonly results: readonly NamedResult[];
}

/** IncrementalAlterConfigs' operations: append/subtract add or remove elements of a list value. */
export type ConfigOp = 'set' | 'delete' | 'append' | 'subtract';

export interface AlterConfigsRequest {
  readonly resources: readonly {
    readonly type: 'topic' | 'broker';
    readonly name: string;
    /** value null: remove the key (back to its default). `op` (incremental only) defaults to set/delete by value. */
    readonly configs: readonly { readonly key: string; readonly value: string | null; readonly op?: ConfigOp }[];
    /** false (AlterConfigs): the given set replaces every key; true (Incremental): only these change. */
    readonly incremental: boolean;
  }[];
  readonly validateOnly: boolean;
}
export interface AlterConfigsResponse extends MetadataChangeResult {
  readonly results: readonly { readonly type: 'topic' | 'broker'; readonly name: string; readonly error: ItemError | null }[];
}

/** A partition's Raft group reports its leader (sent by the new leader on every leader change). */
export interface PartitionLeaderReport {
  readonly topicId: string;
  readonly partition: number;
  readonly leaderId: number;
  readonly leaderEpoch: number;
}
export interface PartitionLeaderRequest {
  readonly reports: readonly PartitionLeaderReport[];
}

export interface ReassignRequest {
  readonly topic: string;
  readonly partition: number;
  /** The new replica set; replicas[0] is the preferred leader. */
  readonly replicas: readonly number[];
}

export interface DecommissionRequest {
  readonly brokerId: number;
}
export interface DecommissionResponse extends MetadataChangeResult {
  /** Partitions whose replicas move off the node. */
  readonly moved: number;
}

export interface AllocateProducerIdsRequest {
  readonly brokerId: number;
}
export interface AllocateProducerIdsResponse extends MetadataChangeResult {
  readonly firstProducerId: number;
  readonly count: number;
}

/** One member of the metadata Raft group as DescribeQuorum reports it. */
export interface QuorumReplica {
  readonly nodeId: number;
  /** The node's incarnation id (a new one after its data directory was wiped): Kafka's directory id. Zero UUID when unknown. */
  readonly directoryId: string;
  /** The Raft index of the last metadata entry it holds (the leader's: its last index); -1 when unknown. */
  readonly logEndIndex: number;
  /** Wall-clock ms of the last message the leader had from it (the leader: now); -1 when unknown. */
  readonly lastFetchMs: number;
  /** Wall-clock ms at which it last held every entry the leader had (the leader: now); -1 when unknown. */
  readonly lastCaughtUpMs: number;
}

/** The metadata Raft group as its leader sees it (DescribeQuorum, `flotilla cluster quorum`). */
export interface QuorumDescription {
  readonly leaderId: number;
  /** The leader's Raft term (Kafka's leader epoch). */
  readonly term: number;
  /** The commit index. */
  readonly highWatermark: number;
  readonly voters: readonly QuorumReplica[];
  /** Learners: the non-voting nodes that replicate the metadata log. */
  readonly observers: readonly QuorumReplica[];
  /** Each voter's peer (controller) endpoint, as registered; voters not registered yet are left out. */
  readonly nodes: readonly { readonly nodeId: number; readonly host: string; readonly port: number }[];
}

/** AlterUserScramCredentials: one result per user (lib/metadata/scram.ts). */
export interface AlterScramResponse extends MetadataChangeResult {
  readonly results: readonly ScramUserResult[];
}

/** AddRaftVoter / RemoveRaftVoter (controller.addVoter / removeVoter). */
export interface VoterChangeRequest {
  readonly nodeId: number;
  /** The node's incarnation id (Kafka's directory id); the zero UUID: any. */
  readonly directoryId: string;
}

/** The voters after a change. */
export interface VoterChangeResponse {
  readonly voters: readonly number[];
}

/** ACL bindings to create (lib/auth/acl.ts AclBinding: the record's fields without the id). */
export interface CreateAclsRequest {
  readonly acls: readonly AclBinding[];
}
export interface CreateAclsResponse extends MetadataChangeResult {
  /** Per binding, in request order: null (created, or it existed) or why it was refused. */
  readonly results: readonly (ItemError | null)[];
}
export interface DeleteAclsRequest {
  readonly filters: readonly AclFilter[];
}
export interface DeleteAclsResponse extends MetadataChangeResult {
  /** Per filter, in request order: the ACLs it matched (all removed). */
  readonly results: readonly { readonly deleted: readonly AclImage[] }[];
}

/** AlterClientQuotas: per entry, in request order, null (applied, or nothing to change) or why it was refused. */
export interface AlterClientQuotasResponse extends MetadataChangeResult {
  readonly results: readonly AlterQuotaResult[];
}
