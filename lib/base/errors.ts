/**
 * Operating errors: the failures a correct program meets (not leader, timeout, bad input, disk
 * full). Each has a stable `code`, documented in this one table, and a `retriable` flag that says
 * whether the same call may succeed later. Kafka error codes are mapped from these at exactly one
 * point (the server's dispatch), never elsewhere.
 */
export const ErrorCodes = {
  /** This node is not the leader of the group; `leaderId` names the leader when it is known. */
  NOT_LEADER: { retriable: true, doc: 'this node is not the leader; retry on the leader' },
  /** A proposal was dropped (leadership transfer under way, or the node stepped down). */
  PROPOSAL_DROPPED: { retriable: true, doc: 'the proposal was dropped before it was appended' },
  /** The leader holds more uncommitted bytes than `maxUncommittedBytes` allows. */
  UNCOMMITTED_LIMIT: { retriable: true, doc: 'too many uncommitted bytes; retry once the backlog commits' },
  /** A membership change is already pending, or the leader has not committed in its term yet. */
  CONFIG_CHANGE_PENDING: { retriable: true, doc: 'another membership change is in progress' },
  /** A membership change that would be unsafe or meaningless (remove the last voter, ...). */
  CONFIG_CHANGE_INVALID: { retriable: false, doc: 'the membership change is not valid for the current configuration' },
  /** A read could not be served (leader changed before the read index was confirmed). */
  READ_DROPPED: { retriable: true, doc: 'the read was dropped; retry it' },
  /** The operation did not finish in time; its outcome is unknown (it may still take effect). */
  TIMEOUT: { retriable: true, doc: 'timed out; the outcome is unknown' },
  /** The component was closed while the operation was pending. */
  CLOSED: { retriable: false, doc: 'the component is closed' },
  /** A leadership transfer target is not a voter, or is this node. */
  TRANSFER_INVALID: { retriable: false, doc: 'invalid leadership transfer target' },
  /** A setting is missing, of the wrong type, or out of range; the message names the setting. */
  INVALID_CONFIG: { retriable: false, doc: 'invalid configuration' },
  /** Bytes on disk or on the wire that fail validation (CRC, length, magic). */
  CORRUPT: { retriable: false, doc: 'corrupt data' },
  /** A bounded queue or buffer is full. */
  BACKPRESSURE: { retriable: true, doc: 'a bounded queue is full; retry later' },
  /** A value, batch or request larger than its named limit (the message names the limit). */
  TOO_LARGE: { retriable: false, doc: 'larger than its size limit' },
  /** A topic name, partition count or replication factor that Kafka's rules reject. */
  INVALID_TOPIC: { retriable: false, doc: 'invalid topic name, partition count or replication factor' },
  /** A topic of that name already exists (or is still being deleted). */
  TOPIC_EXISTS: { retriable: false, doc: 'a topic of that name already exists' },
  /** No topic (or partition) of that name or id is known to the metadata image. */
  UNKNOWN_TOPIC: { retriable: true, doc: 'unknown topic or partition; metadata may be stale' },
  /** The replication factor exceeds the number of eligible (registered, unfenced) nodes. */
  NOT_ENOUGH_NODES: { retriable: true, doc: 'fewer eligible nodes than the replication factor needs' },
  /** This node is not the metadata leader (the controller); `leaderId` names it when known. */
  NOT_CONTROLLER: { retriable: true, doc: 'this node is not the controller; retry on the controller' },
  /** The partition has no leader right now (an election is under way). */
  LEADER_NOT_AVAILABLE: { retriable: true, doc: 'no leader is known right now; retry shortly' },
  /** A fetch or list-offsets position outside [log start offset, log end offset]. */
  OFFSET_OUT_OF_RANGE: { retriable: false, doc: 'the offset is outside the log' },
  /** The caller's leader epoch is older than the partition's (its metadata is stale). */
  FENCED_LEADER_EPOCH: { retriable: true, doc: 'the leader epoch given is older than the current one' },
  /** The caller's leader epoch is newer than this replica knows. */
  UNKNOWN_LEADER_EPOCH: { retriable: true, doc: 'the leader epoch given is newer than this replica knows' },
  /** A request that is well-formed but not valid (bad field value, unsupported combination). */
  INVALID_REQUEST: { retriable: false, doc: 'the request is not valid' },
  /** A topic or node config key that is unknown, or a value out of range; the message names it. */
  INVALID_TOPIC_CONFIG: { retriable: false, doc: 'invalid config key or value' },
  /** A record batch the broker refuses (control bit from a client, bad record count, ...). */
  INVALID_RECORD: { retriable: false, doc: 'the record batch is not valid' },
  /** An operation the request is not allowed to do (e.g. shrink a topic's partition count). */
  POLICY_VIOLATION: { retriable: false, doc: 'the request violates a cluster policy' },
  /** An idempotent batch whose sequence does not follow its producer's last one on the partition. */
  OUT_OF_ORDER_SEQUENCE: { retriable: false, doc: "the batch's sequence does not follow the producer's last one" },
  /** A producer epoch older than the partition's current one for that producer id (fenced). */
  INVALID_PRODUCER_EPOCH: { retriable: false, doc: 'the producer epoch is older than the current one' },
  /** A transactional producer replaced by a newer instance (a newer epoch of its transactional id). */
  PRODUCER_FENCED: { retriable: false, doc: 'a newer producer with the same transactional id has fenced this one' },
  /** A transactional request that does not fit the transaction's state. */
  INVALID_TXN_STATE: { retriable: false, doc: "the request does not fit the transaction's state" },
  /** A producer id that is not the one the transactional id holds. */
  INVALID_PRODUCER_ID_MAPPING: { retriable: false, doc: 'the producer id does not belong to the transactional id' },
  /** A transaction timeout outside the coordinator's bounds. */
  INVALID_TRANSACTION_TIMEOUT: { retriable: false, doc: 'the transaction timeout is out of range' },
  /** The transactional id is completing an earlier transaction; retry shortly. */
  CONCURRENT_TRANSACTIONS: { retriable: true, doc: 'an earlier transaction is still completing' },
  /** A marker from a coordinator older than the one that wrote the partition's last marker. */
  TRANSACTION_COORDINATOR_FENCED: { retriable: false, doc: 'a newer transaction coordinator has taken over' },
  /** AddRaftVoter: the node is a voter of the metadata group already. */
  DUPLICATE_VOTER: { retriable: false, doc: 'the node is a metadata voter already' },
  /** RemoveRaftVoter: the node is not a voter of the metadata group. */
  VOTER_NOT_FOUND: { retriable: false, doc: 'the node is not a metadata voter' },
  /** The transaction coordinator holds no such transactional id (DescribeTransactions). */
  TRANSACTIONAL_ID_NOT_FOUND: { retriable: false, doc: 'the coordinator holds no such transactional id' },
  /** This node does not coordinate the group or transactional id (its coordinator moved). */
  NOT_COORDINATOR: { retriable: true, doc: 'this node is not the coordinator; find the coordinator again' },
  /** No coordinator is available right now (its partition has no leader, or is loading). */
  COORDINATOR_NOT_AVAILABLE: { retriable: true, doc: 'the coordinator is not available right now' },
  /** The node is shutting down or not ready yet (metadata not caught up). */
  NOT_READY: { retriable: true, doc: 'the node is starting or stopping; retry shortly' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class FlotillaError extends Error {
  override readonly name = 'FlotillaError';
  readonly code: ErrorCode;
  readonly retriable: boolean;
  /** Extra facts for the caller (for NOT_LEADER: `leaderId`). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(`${code}: ${message}`);
    this.code = code;
    this.retriable = ErrorCodes[code].retriable;
    this.details = Object.freeze({ ...details });
  }
}

export function isFlotillaError(err: unknown, code?: ErrorCode): err is FlotillaError {
  return err instanceof FlotillaError && (code === undefined || err.code === code);
}
