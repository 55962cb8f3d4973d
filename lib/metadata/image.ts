/**
 * MetadataImage: the cluster's metadata at one point of the metadata log, IMMUTABLE (Apache
 * Kafka's metadata image). Nothing changes an image: a MetadataDelta (delta.ts) replays records on
 * top of one and `apply()` gives the next image, sharing every unchanged part with the old one. So a
 * reader may hold an image as long as it likes, and comparing two images' parts by identity says
 * what changed.
 *
 * Contents: nodes (brokers) by id; topics by id and by name, each with its partitions (replicas,
 * preferred leader first, and the last reported leader and epoch); configs per resource; the
 * producer-id allocation; ACLs, SCRAM credentials and client quotas.
 *
 * `imageToRecords` turns an image back into the records that rebuild it, in one canonical order
 * (nodes by id, topics by name, ...): this is the snapshot format (snapshot.ts), and two images
 * are equal exactly when their canonical records are equal (`imagesEqual`).
 */
import type { QuotaEntry } from '../quota/entries.js';
import type {
  AclRecord,
  ConfigResourceType,
  MetadataRecord,
  RegisterBrokerRecord,
  ScramCredentialRecord,
} from './records.js';
import { encodeRecord } from './records.js';

export type BrokerImage = Readonly<Omit<RegisterBrokerRecord, 'type'>>;

/**
 * Where clients of listener `listener` reach broker `b`, or null when it has no such listener. A
 * broker registered without listeners (a version 0 record) has one: PLAINTEXT at host:clientPort.
 */
export function brokerEndpoint(b: BrokerImage, listener: string): { host: string; port: number } | null {
  if (b.listeners === undefined) return listener === 'PLAINTEXT' ? { host: b.host, port: b.clientPort } : null;
  const l = b.listeners.find((x) => x.name === listener);
  return l === undefined ? null : { host: l.host, port: l.port };
}

export interface PartitionImage {
  readonly topicId: string;
  readonly partition: number;
  /** The replicas; `replicas[0]` is the preferred leader. */
  readonly replicas: readonly number[];
  /** The last leader reported by the partition's Raft group, -1 if none. A hint for clients. */
  readonly leaderId: number;
  /** The Raft term of that report (Kafka's leader epoch). */
  readonly leaderEpoch: number;
}

export interface TopicImage {
  readonly topicId: string;
  readonly name: string;
  readonly replicationFactor: number;
  /** How its partitions number Kafka offsets (TopicRecord.offsetLayout; 1 for older topics). */
  readonly offsetLayout: 1 | 2;
  /** Dense: partitions[i].partition === i. */
  readonly partitions: readonly PartitionImage[];
}

export interface ProducerIdsImage {
  /** The next producer id the controller may hand out (ids below it are taken). */
  readonly nextProducerId: number;
  /** The node that took the last block, -1 if none. */
  readonly lastBrokerId: number;
}

export type AclImage = Readonly<Omit<AclRecord, 'type'>>;
export type ScramCredentialImage = Readonly<Omit<ScramCredentialRecord, 'type'>>;

export interface MetadataImageParts {
  readonly brokers: ReadonlyMap<number, BrokerImage>;
  readonly topicsById: ReadonlyMap<string, TopicImage>;
  readonly topicsByName: ReadonlyMap<string, TopicImage>;
  /** Keyed by `configResourceKey(type, name)`. */
  readonly configs: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly producerIds: ProducerIdsImage;
  readonly acls: ReadonlyMap<string, AclImage>;
  /** Keyed by `scramKey(name, mechanism)`. */
  readonly scramCredentials: ReadonlyMap<string, ScramCredentialImage>;
  /** Client quotas per entity, keyed by lib/quota/entries.ts `quotaEntityKey(entity)`; an entity without values is absent. */
  readonly clientQuotas: ReadonlyMap<string, QuotaEntry>;
}

export function configResourceKey(type: ConfigResourceType, name: string): string {
  return `${type}:${name}`;
}
export function scramKey(name: string, mechanism: string): string {
  return `${mechanism}:${name}`;
}

const EMPTY_CONFIG: ReadonlyMap<string, string> = new Map();

export class MetadataImage implements MetadataImageParts {
  static readonly EMPTY = new MetadataImage({
    brokers: new Map(),
    topicsById: new Map(),
    topicsByName: new Map(),
    configs: new Map(),
    producerIds: Object.freeze({ nextProducerId: 0, lastBrokerId: -1 }),
    acls: new Map(),
    scramCredentials: new Map(),
    clientQuotas: new Map(),
  });

  readonly brokers: ReadonlyMap<number, BrokerImage>;
  readonly topicsById: ReadonlyMap<string, TopicImage>;
  readonly topicsByName: ReadonlyMap<string, TopicImage>;
  readonly configs: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly producerIds: ProducerIdsImage;
  readonly acls: ReadonlyMap<string, AclImage>;
  readonly scramCredentials: ReadonlyMap<string, ScramCredentialImage>;
  readonly clientQuotas: ReadonlyMap<string, QuotaEntry>;

  /** Built by MetadataDelta.apply(); the maps handed in must not be changed afterwards. */
  constructor(parts: MetadataImageParts) {
    this.brokers = parts.brokers;
    this.topicsById = parts.topicsById;
    this.topicsByName = parts.topicsByName;
    this.configs = parts.configs;
    this.producerIds = parts.producerIds;
    this.acls = parts.acls;
    this.scramCredentials = parts.scramCredentials;
    this.clientQuotas = parts.clientQuotas;
    Object.freeze(this);
  }

  topicConfig(name: string): ReadonlyMap<string, string> {
    return this.configs.get(configResourceKey('topic', name)) ?? EMPTY_CONFIG;
  }

  /** Registered, unfenced nodes, by id: the nodes placement may put new replicas on. */
  unfencedBrokers(): BrokerImage[] {
    return [...this.brokers.values()].filter((b) => !b.fenced).sort((a, b) => a.brokerId - b.brokerId);
  }

  /** Every partition with `nodeId` among its replicas. */
  replicasOn(nodeId: number): PartitionImage[] {
    const out: PartitionImage[] = [];
    for (const topic of this.topicsById.values()) {
      for (const p of topic.partitions) if (p.replicas.includes(nodeId)) out.push(p);
    }
    return out;
  }
}

/** The records that rebuild `image` from empty, in canonical order (the snapshot's content). */
export function imageToRecords(image: MetadataImage): MetadataRecord[] {
  const out: MetadataRecord[] = [];
  for (const id of [...image.brokers.keys()].sort((a, b) => a - b)) {
    const b = image.brokers.get(id);
    if (b !== undefined) out.push({ type: 'RegisterBroker', ...b });
  }
  for (const name of [...image.topicsByName.keys()].sort()) {
    const t = image.topicsByName.get(name);
    if (t === undefined) continue;
    out.push({ type: 'Topic', topicId: t.topicId, name: t.name, replicationFactor: t.replicationFactor, ...(t.offsetLayout !== 1 ? { offsetLayout: t.offsetLayout } : {}) });
    for (const p of t.partitions) out.push({ type: 'Partition', topicId: t.topicId, partition: p.partition, replicas: p.replicas });
    for (const p of t.partitions) {
      if (p.leaderId !== -1 || p.leaderEpoch !== 0) {
        out.push({ type: 'PartitionLeader', topicId: t.topicId, partition: p.partition, leaderId: p.leaderId, leaderEpoch: p.leaderEpoch });
      }
    }
  }
  for (const key of [...image.configs.keys()].sort()) {
    const sep = key.indexOf(':');
    const resourceType = key.slice(0, sep) as ConfigResourceType;
    const resourceName = key.slice(sep + 1);
    const values = image.configs.get(key) ?? EMPTY_CONFIG;
    for (const k of [...values.keys()].sort()) {
      out.push({ type: 'Config', resourceType, resourceName, key: k, value: values.get(k) ?? null });
    }
  }
  if (image.producerIds.nextProducerId > 0) {
    out.push({ type: 'ProducerIds', brokerId: image.producerIds.lastBrokerId, nextProducerId: image.producerIds.nextProducerId });
  }
  for (const id of [...image.acls.keys()].sort()) {
    const a = image.acls.get(id);
    if (a !== undefined) out.push({ type: 'Acl', ...a });
  }
  for (const key of [...image.scramCredentials.keys()].sort()) {
    const c = image.scramCredentials.get(key);
    if (c !== undefined) out.push({ type: 'ScramCredential', ...c });
  }
  for (const key of [...image.clientQuotas.keys()].sort()) {
    const q = image.clientQuotas.get(key);
    if (q === undefined) continue;
    for (const k of [...q.values.keys()].sort()) {
      out.push({ type: 'ClientQuota', entity: q.entity, key: k, value: q.values.get(k) ?? null });
    }
  }
  return out;
}

/** Two images are equal when their canonical records encode to the same bytes. */
export function imagesEqual(a: MetadataImage, b: MetadataImage): boolean {
  if (a === b) return true;
  const ra = imageToRecords(a);
  const rb = imageToRecords(b);
  if (ra.length !== rb.length) return false;
  for (let i = 0; i < ra.length; i++) {
    const x = ra[i];
    const y = rb[i];
    if (x === undefined || y === undefined || !encodeRecord(x).equals(encodeRecord(y))) return false;
  }
  return true;
}
