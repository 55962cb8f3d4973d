/**
 * Metadata records: the entries of the metadata Raft group (`__cluster_metadata`). Every change to
 * the cluster (a node registers, a topic is created, a config is set) is one record; replaying the
 * records in log order onto an empty image gives the cluster's state (see image.ts, delta.ts).
 *
 * Format: one record is one msgpack value, encoded by the one shared `metadataPackr`
 * (`useRecords: false`, so the bytes are plain msgpack that any decoder reads):
 *
 *     [typeTag: uint, version: uint, body: map]
 *
 * `typeTag` is the stable number in `RecordTags` below (never reused), `version` the body's layout
 * version (all are 0 today; a new field means a new version, and the decoder keeps reading the old
 * ones). Decoding checks the envelope, the tag, the version and every field's type and range, and
 * throws FlotillaError CORRUPT on anything else: a record that decodes is well-formed, so replay
 * only has to check that it fits the image.
 *
 * Ids: node ids are non-negative int32; topic ids, node incarnation ids and ACL ids are UUID strings
 * (lower-case 8-4-4-4-12 hex), the caller makes them (from a Prng: this layer has no randomness).
 * Producer ids are numbers guarded to be safe integers (below 2^53).
 */
import { Packr } from 'msgpackr';
import { FlotillaError } from '../base/errors.js';
import { type QuotaEntityPart, type QuotaKey, canonicalEntity, quotaEntityProblem, quotaKeys } from '../quota/entries.js';

/** Limits that records obey; each is checked when a record is decoded or validated. */
export const RecordLimits = {
  /** Kafka's limit on a topic name's length. */
  topicNameLengthMax: 249,
  /** Longest host name, rack, config key, principal or other short string. */
  stringLengthMax: 1024,
  /** Longest config value. */
  configValueLengthMax: 65_536,
  /** Most replicas of one partition. */
  replicasMax: 64,
  /** Largest partition index + 1 (partitions of one topic). */
  partitionsMax: 100_000,
  /** Largest encoded record. */
  recordBytesMax: 1_048_576,
  /** Largest byte field (SCRAM salt and keys). */
  bytesFieldLengthMax: 1024,
} as const;

export const RecordTags = {
  RegisterBroker: 1,
  UnregisterBroker: 2,
  BrokerFencing: 3,
  Topic: 4,
  Partition: 5,
  PartitionLeader: 6,
  RemoveTopic: 7,
  Config: 8,
  ProducerIds: 9,
  Acl: 10,
  RemoveAcl: 11,
  ScramCredential: 12,
  RemoveScramCredential: 13,
  ClientQuota: 14,
} as const;

export type RecordType = keyof typeof RecordTags;

/** Kafka's listener security protocols, as brokers register them. */
export const ListenerSecurityProtocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
/** Most client listeners one node registers. */
export const listenersMax = 16;

/** One client listener of a node as clients are told about it (its advertised address). */
export interface BrokerListener {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: (typeof ListenerSecurityProtocols)[number];
}

/** Why a listener list cannot be registered, or null. */
export function listenersProblem(v: unknown): string | null {
  if (!Array.isArray(v) || v.length === 0 || v.length > listenersMax) return `is not a list of 1..${listenersMax} listeners`;
  const names = new Set<string>();
  for (const l of v as unknown[]) {
    if (typeof l !== 'object' || l === null || Array.isArray(l)) return 'holds a listener that is not a map';
    const { name, host, port, securityProtocol, ...rest } = l as Record<string, unknown>;
    if (Object.keys(rest).length > 0) return `holds a listener with unknown field ${Object.keys(rest)[0]!}`;
    if (typeof name !== 'string' || !/^[A-Z0-9_-]{1,64}$/.test(name)) return 'holds a listener name that is not 1-64 of A-Z 0-9 _ -';
    if (names.has(name)) return `names listener ${name} twice`;
    names.add(name);
    if (typeof host !== 'string' || host.length === 0 || host.length > RecordLimits.stringLengthMax) return `listener ${name}: host is not a host name`;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) return `listener ${name}: port is not in 0..65535`;
    if (typeof securityProtocol !== 'string' || !(ListenerSecurityProtocols as readonly string[]).includes(securityProtocol)) return `listener ${name}: unknown security protocol`;
  }
  return null;
}

/** A node joins (or rejoins) the cluster. A new `incarnationId` means its disk was wiped. */
export interface RegisterBrokerRecord {
  readonly type: 'RegisterBroker';
  readonly brokerId: number;
  readonly incarnationId: string;
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly rack: string | null;
  /** Registered nodes start fenced: no new replicas are placed on them until they are unfenced. */
  readonly fenced: boolean;
  /**
   * Version 1: every client listener with its advertised address (Metadata answers each client
   * with the endpoints of the listener it came in on). Absent (version 0): one PLAINTEXT listener
   * named "PLAINTEXT" at host:clientPort.
   */
  readonly listeners?: readonly BrokerListener[];
}
export interface UnregisterBrokerRecord {
  readonly type: 'UnregisterBroker';
  readonly brokerId: number;
}
export interface BrokerFencingRecord {
  readonly type: 'BrokerFencing';
  readonly brokerId: number;
  readonly fenced: boolean;
}
/**
 * A topic is created; its partitions follow as Partition records. Version 1 adds `offsetLayout`
 * (lib/storage/segment-codec.ts OffsetLayout: 2 = only client batches and transaction markers
 * take Kafka offsets); a version-0 record (no field) is layout 1, topics created before it.
 */
export interface TopicRecord {
  readonly type: 'Topic';
  readonly topicId: string;
  readonly name: string;
  readonly replicationFactor: number;
  readonly offsetLayout?: 1 | 2;
}
/**
 * A partition is created (partition == the topic's current count) or reassigned (an existing
 * partition). `replicas[0]` is the preferred leader.
 */
export interface PartitionRecord {
  readonly type: 'Partition';
  readonly topicId: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}
/** The leader a partition's Raft group reported, with its term as the leader epoch. A hint only. */
export interface PartitionLeaderRecord {
  readonly type: 'PartitionLeader';
  readonly topicId: string;
  readonly partition: number;
  /** -1: no leader known. */
  readonly leaderId: number;
  readonly leaderEpoch: number;
}
export interface RemoveTopicRecord {
  readonly type: 'RemoveTopic';
  readonly topicId: string;
}
export const ConfigResourceTypes = ['topic', 'broker'] as const;
export type ConfigResourceType = (typeof ConfigResourceTypes)[number];
/** Sets (value: string) or removes (value: null) one config key of a topic or a node. */
export interface ConfigRecord {
  readonly type: 'Config';
  readonly resourceType: ConfigResourceType;
  /** The topic name, or the node id as a decimal string ("" for the cluster-wide node default). */
  readonly resourceName: string;
  readonly key: string;
  readonly value: string | null;
}
/** A block of producer ids went to `brokerId`; ids below `nextProducerId` are taken. */
export interface ProducerIdsRecord {
  readonly type: 'ProducerIds';
  readonly brokerId: number;
  readonly nextProducerId: number;
}
export const AclOperations = ['all', 'read', 'write', 'create', 'delete', 'alter', 'describe', 'cluster-action', 'describe-configs', 'alter-configs', 'idempotent-write'] as const;
export const AclResourceTypes = ['topic', 'group', 'cluster', 'transactional-id'] as const;
export const AclPatternTypes = ['literal', 'prefixed'] as const;
export interface AclRecord {
  readonly type: 'Acl';
  readonly aclId: string;
  readonly resourceType: (typeof AclResourceTypes)[number];
  readonly resourceName: string;
  readonly patternType: (typeof AclPatternTypes)[number];
  readonly principal: string;
  readonly host: string;
  readonly operation: (typeof AclOperations)[number];
  readonly permission: 'allow' | 'deny';
}
export interface RemoveAclRecord {
  readonly type: 'RemoveAcl';
  readonly aclId: string;
}
export const ScramMechanisms = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export interface ScramCredentialRecord {
  readonly type: 'ScramCredential';
  readonly name: string;
  readonly mechanism: (typeof ScramMechanisms)[number];
  readonly salt: Uint8Array;
  readonly storedKey: Uint8Array;
  readonly serverKey: Uint8Array;
  readonly iterations: number;
}
export interface RemoveScramCredentialRecord {
  readonly type: 'RemoveScramCredential';
  readonly name: string;
  readonly mechanism: (typeof ScramMechanisms)[number];
}
/** The entity types a version-0 ClientQuota record could name (one type and name). */
export const QuotaEntityTypesV0 = ['user', 'client-id'] as const;
/**
 * Sets (value: number) or removes (null) one quota of an entity (lib/quota/entries.ts: a user, a
 * client id, the pair, or an ip; a part's name null: the default), Kafka's ClientQuotaRecord.
 * Version 1 carries `entity` (its parts in canonical order); version 0 named one
 * `entityType`/`entityName` and still decodes, as a one-part entity.
 */
export interface ClientQuotaRecord {
  readonly type: 'ClientQuota';
  readonly entity: readonly QuotaEntityPart[];
  readonly key: QuotaKey;
  readonly value: number | null;
}

export type MetadataRecord =
  | RegisterBrokerRecord
  | UnregisterBrokerRecord
  | BrokerFencingRecord
  | TopicRecord
  | PartitionRecord
  | PartitionLeaderRecord
  | RemoveTopicRecord
  | ConfigRecord
  | ProducerIdsRecord
  | AclRecord
  | RemoveAclRecord
  | ScramCredentialRecord
  | RemoveScramCredentialRecord
  | ClientQuotaRecord;

/** The one Packr for metadata records and snapshots: plain msgpack, no record extension. */
export const metadataPackr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

const RECORD_VERSION = 0;
/** The Topic record version that carries `offsetLayout`. */
const TOPIC_LAYOUT_VERSION = 1;
/** The RegisterBroker record version that carries `listeners`. */
const REGISTER_LISTENERS_VERSION = 1;
/** The ClientQuota record version that carries `entity` (a list of parts) instead of entityType/entityName. */
const QUOTA_ENTITY_VERSION = 1;
const tagToType = new Map<number, RecordType>(Object.entries(RecordTags).map(([k, v]) => [v, k as RecordType]));

/** The record as the msgpack value [tag, version, body]: what `encodeRecord` packs. */
export function recordToValue(record: MetadataRecord): unknown[] {
  const { type, ...body } = record;
  const plain: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) plain[k] = v instanceof Uint8Array ? Buffer.from(v) : v;
  // A record with a field of a newer version says so (an older decoder then refuses it as CORRUPT
  // rather than drop the field); without it, the bytes are those of version 0.
  const version = type === 'Topic' && plain.offsetLayout !== undefined ? TOPIC_LAYOUT_VERSION
    : type === 'RegisterBroker' && plain.listeners !== undefined ? REGISTER_LISTENERS_VERSION
      : type === 'ClientQuota' ? QUOTA_ENTITY_VERSION : RECORD_VERSION;
  if (type === 'ClientQuota') plain.entity = (plain.entity as QuotaEntityPart[]).map((p) => ({ type: p.type, name: p.name }));
  return [RecordTags[type], version, plain];
}

export function encodeRecord(record: MetadataRecord): Buffer {
  const bytes = metadataPackr.pack(recordToValue(record));
  if (bytes.length > RecordLimits.recordBytesMax) {
    throw new FlotillaError('TOO_LARGE', `metadata record of ${bytes.length} bytes exceeds recordBytesMax ${RecordLimits.recordBytesMax}`);
  }
  return bytes;
}

export function decodeRecord(bytes: Uint8Array): MetadataRecord {
  if (bytes.length > RecordLimits.recordBytesMax) corrupt(`record of ${bytes.length} bytes exceeds recordBytesMax`);
  let value: unknown;
  try {
    value = metadataPackr.unpack(bytes);
  } catch (err) {
    corrupt(`not msgpack (${(err as Error).message})`);
  }
  return recordFromValue(value);
}

/** Validates a decoded msgpack value as a record; throws CORRUPT naming the bad field. */
export function recordFromValue(value: unknown): MetadataRecord {
  if (!Array.isArray(value) || value.length !== 3) corrupt('record is not [tag, version, body]');
  const [tag, version, body] = value as unknown[];
  if (typeof tag !== 'number') corrupt('record tag is not a number');
  const type = tagToType.get(tag);
  if (type === undefined) corrupt(`unknown record tag ${String(tag)}`);
  if (version !== RECORD_VERSION && !(type === 'Topic' && version === TOPIC_LAYOUT_VERSION) && !(type === 'RegisterBroker' && version === REGISTER_LISTENERS_VERSION)
    && !(type === 'ClientQuota' && version === QUOTA_ENTITY_VERSION)) {
    corrupt(`${type}: unknown version ${String(version)}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) corrupt(`${type}: body is not a map`);
  const f = new Fields(type, body as Record<string, unknown>);
  let record: MetadataRecord;
  switch (type) {
    case 'RegisterBroker':
      record = {
        type, brokerId: f.nodeId('brokerId'), incarnationId: f.uuid('incarnationId'), host: f.str('host', 1),
        clientPort: f.int('clientPort', 0, 65_535), peerPort: f.int('peerPort', 0, 65_535),
        rack: f.strOrNull('rack'), fenced: f.bool('fenced'),
        ...(version === REGISTER_LISTENERS_VERSION ? { listeners: f.listeners('listeners') } : {}),
      };
      break;
    case 'UnregisterBroker':
      record = { type, brokerId: f.nodeId('brokerId') };
      break;
    case 'BrokerFencing':
      record = { type, brokerId: f.nodeId('brokerId'), fenced: f.bool('fenced') };
      break;
    case 'Topic':
      record = {
        type, topicId: f.uuid('topicId'), name: f.topicName('name'), replicationFactor: f.int('replicationFactor', 1, RecordLimits.replicasMax),
        ...(version === TOPIC_LAYOUT_VERSION ? { offsetLayout: f.int('offsetLayout', 1, 2) as 1 | 2 } : {}),
      };
      break;
    case 'Partition':
      record = { type, topicId: f.uuid('topicId'), partition: f.partition('partition'), replicas: f.replicas('replicas') };
      break;
    case 'PartitionLeader':
      record = {
        type, topicId: f.uuid('topicId'), partition: f.partition('partition'),
        leaderId: f.int('leaderId', -1, 0x7fff_ffff), leaderEpoch: f.int('leaderEpoch', 0, Number.MAX_SAFE_INTEGER),
      };
      break;
    case 'RemoveTopic':
      record = { type, topicId: f.uuid('topicId') };
      break;
    case 'Config':
      record = {
        type, resourceType: f.oneOf('resourceType', ConfigResourceTypes), resourceName: f.str('resourceName', 0),
        key: f.str('key', 1), value: f.strOrNull('value', RecordLimits.configValueLengthMax),
      };
      break;
    case 'ProducerIds':
      record = { type, brokerId: f.nodeId('brokerId'), nextProducerId: f.int('nextProducerId', 1, Number.MAX_SAFE_INTEGER) };
      break;
    case 'Acl':
      record = {
        type, aclId: f.uuid('aclId'), resourceType: f.oneOf('resourceType', AclResourceTypes), resourceName: f.str('resourceName', 1),
        patternType: f.oneOf('patternType', AclPatternTypes), principal: f.str('principal', 1), host: f.str('host', 1),
        operation: f.oneOf('operation', AclOperations), permission: f.oneOf('permission', ['allow', 'deny'] as const),
      };
      break;
    case 'RemoveAcl':
      record = { type, aclId: f.uuid('aclId') };
      break;
    case 'ScramCredential':
      record = {
        type, name: f.str('name', 1), mechanism: f.oneOf('mechanism', ScramMechanisms), salt: f.bytes('salt'),
        storedKey: f.bytes('storedKey'), serverKey: f.bytes('serverKey'), iterations: f.int('iterations', 1, 0x7fff_ffff),
      };
      break;
    case 'RemoveScramCredential':
      record = { type, name: f.str('name', 1), mechanism: f.oneOf('mechanism', ScramMechanisms) };
      break;
    case 'ClientQuota': {
      const entity = version === QUOTA_ENTITY_VERSION ? f.quotaEntity('entity') : [{ type: f.oneOf('entityType', QuotaEntityTypesV0), name: f.strOrNull('entityName') }];
      const key = f.oneOf('key', quotaKeys);
      const v = f.get('value');
      if (v !== null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) f.fail('value', 'is not a non-negative number or null');
      record = { type, entity: Object.freeze(entity), key, value: v as number | null };
      break;
    }
  }
  f.noExtra();
  return record;
}

function corrupt(why: string): never {
  throw new FlotillaError('CORRUPT', `metadata record: ${why}`);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** Kafka's rule for topic names: 1..249 of [a-zA-Z0-9._-], and neither "." nor "..". */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > RecordLimits.topicNameLengthMax) return `is longer than ${RecordLimits.topicNameLengthMax} characters`;
  if (name === '.' || name === '..') return 'cannot be "." or ".."';
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return 'may contain only ASCII letters, digits, ".", "_" and "-"';
  return null;
}

/** Reads and checks the fields of one record body; every failure is CORRUPT naming the field. */
class Fields {
  private readonly seen = new Set<string>();
  private readonly type: string;
  private readonly body: Record<string, unknown>;

  constructor(type: string, body: Record<string, unknown>) {
    this.type = type;
    this.body = body;
  }

  fail(name: string, why: string): never {
    corrupt(`${this.type}.${name} ${why}`);
  }
  get(name: string): unknown {
    this.seen.add(name);
    if (!Object.hasOwn(this.body, name)) this.fail(name, 'is missing');
    return this.body[name];
  }
  noExtra(): void {
    for (const k of Object.keys(this.body)) if (!this.seen.has(k)) this.fail(k, 'is not a known field');
  }
  int(name: string, min: number, max: number): number {
    const v = this.get(name);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) this.fail(name, `is not an integer in [${min}, ${max}]`);
    return v;
  }
  nodeId(name: string): number {
    return this.int(name, 0, 0x7fff_ffff);
  }
  partition(name: string): number {
    return this.int(name, 0, RecordLimits.partitionsMax - 1);
  }
  bool(name: string): boolean {
    const v = this.get(name);
    if (typeof v !== 'boolean') this.fail(name, 'is not a boolean');
    return v;
  }
  str(name: string, minLength: number, maxLength: number = RecordLimits.stringLengthMax): string {
    const v = this.get(name);
    if (typeof v !== 'string' || v.length < minLength || v.length > maxLength) this.fail(name, `is not a string of ${minLength}..${maxLength} characters`);
    return v;
  }
  strOrNull(name: string, maxLength: number = RecordLimits.stringLengthMax): string | null {
    const v = this.get(name);
    if (v === null) return null;
    if (typeof v !== 'string' || v.length > maxLength) this.fail(name, `is not a string of at most ${maxLength} characters or null`);
    return v;
  }
  uuid(name: string): string {
    const v = this.get(name);
    if (typeof v !== 'string' || !isUuid(v)) this.fail(name, 'is not a UUID');
    return v;
  }
  topicName(name: string): string {
    const v = this.get(name);
    if (typeof v !== 'string') this.fail(name, 'is not a string');
    const problem = topicNameProblem(v);
    if (problem !== null) this.fail(name, problem);
    return v;
  }
  oneOf<T extends string>(name: string, values: readonly T[]): T {
    const v = this.get(name);
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) this.fail(name, `is not one of ${values.join(', ')}`);
    return v as T;
  }
  bytes(name: string): Uint8Array {
    const v = this.get(name);
    if (!(v instanceof Uint8Array) || v.length > RecordLimits.bytesFieldLengthMax) this.fail(name, `is not bytes of at most ${RecordLimits.bytesFieldLengthMax}`);
    return v;
  }
  listeners(name: string): readonly BrokerListener[] {
    const v = this.get(name);
    const problem = listenersProblem(v);
    if (problem !== null) this.fail(name, problem);
    return Object.freeze((v as BrokerListener[]).map((l) => Object.freeze({ name: l.name, host: l.host, port: l.port, securityProtocol: l.securityProtocol })));
  }
  /** A ClientQuota entity: its parts, well-formed (lib/quota/entries.ts), in canonical order. */
  quotaEntity(name: string): QuotaEntityPart[] {
    const v = this.get(name);
    if (Array.isArray(v)) {
      for (const p of v as unknown[]) {
        if (typeof p !== 'object' || p === null || Object.keys(p).some((k) => k !== 'type' && k !== 'name')) this.fail(name, 'holds a part that is not {type, name}');
      }
    }
    const problem = quotaEntityProblem(v);
    if (problem !== null) this.fail(name, problem);
    return canonicalEntity((v as QuotaEntityPart[]).map((p) => Object.freeze({ type: p.type, name: p.name })));
  }
  replicas(name: string): readonly number[] {
    const v = this.get(name);
    if (!Array.isArray(v) || v.length === 0 || v.length > RecordLimits.replicasMax) this.fail(name, `is not a list of 1..${RecordLimits.replicasMax} node ids`);
    const seen = new Set<number>();
    for (const id of v as unknown[]) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0x7fff_ffff) this.fail(name, 'holds a value that is not a node id');
      if (seen.has(id)) this.fail(name, `names node ${id} twice`);
      seen.add(id);
    }
    return Object.freeze([...(v as number[])]);
  }
}
