/**
 * MetadataDelta: the records replayed on top of one MetadataImage, and what they change.
 *
 * Lifecycle: `new MetadataDelta(image)`, `replay(record)` for each committed record in log order
 * (a node replays a batch, or everything up to its applied index), then `apply()` for the next
 * image, and `changes()` / `replicaChangesFor(nodeId)` to learn what to do about it. The base image
 * is never touched; `apply()` may be called more than once (it gives equal images).
 *
 * Replay is deterministic: the same records on an equal image always give an equal image. A record
 * that is well-formed (records.ts checked that) but does not fit the image (a partition of an
 * unknown topic, a second topic of one name, producer ids going backwards) throws CORRUPT: the
 * controller validates before it appends, so such a record means a corrupt log or a controller bug,
 * and the node must not guess.
 */
import { FlotillaError } from '../base/errors.js';
import type {
  AclImage,
  BrokerImage,
  PartitionImage,
  ProducerIdsImage,
  ScramCredentialImage,
  TopicImage,
} from './image.js';
import { MetadataImage, configResourceKey, scramKey } from './image.js';
import { type QuotaEntry, type QuotaKey, quotaEntityKey } from '../quota/entries.js';
import type { MetadataRecord } from './records.js';

export interface TopicPartitionRef {
  readonly topicId: string;
  readonly topicName: string;
  readonly partition: number;
}

/** What a node must do with its local replicas after a delta. */
export interface ReplicaChanges {
  /** Replicas this node now holds and did not: create the partition's Raft group here. */
  readonly start: readonly (TopicPartitionRef & { readonly replicas: readonly number[] })[];
  /** Replicas this node held and holds no longer. `deleted`: the topic is gone, remove the data. */
  readonly stop: readonly (TopicPartitionRef & { readonly deleted: boolean })[];
  /** Replicas this node keeps whose replica set changed (the Raft group's membership moves). */
  readonly update: readonly (TopicPartitionRef & { readonly replicas: readonly number[] })[];
}

export interface MetadataChanges {
  readonly topicsCreated: readonly string[];
  readonly topicsDeleted: readonly string[];
  /** Partitions (of surviving topics) created, reassigned, or with a new leader hint. */
  readonly partitionsChanged: readonly TopicPartitionRef[];
  /** Nodes registered, unregistered, re-registered or (un)fenced. */
  readonly brokersChanged: readonly number[];
  /** Nodes registered again under a new incarnation id: their disks were wiped. */
  readonly brokersReincarnated: readonly number[];
  /** Config resource keys (`topic:name`, `broker:id`) whose values changed. */
  readonly configsChanged: readonly string[];
  readonly producerIdsChanged: boolean;
  /** ACLs, SCRAM credentials or quotas changed. */
  readonly securityChanged: boolean;
}

function misfit(record: MetadataRecord, why: string): never {
  throw new FlotillaError('CORRUPT', `metadata record ${record.type} does not fit the image: ${why}`);
}

function byTopicPartition(a: TopicPartitionRef, b: TopicPartitionRef): number {
  return a.topicName < b.topicName ? -1 : a.topicName > b.topicName ? 1 : a.partition - b.partition;
}

export class MetadataDelta {
  /** Changed entries: a value is the new state, null means removed. */
  private readonly brokers = new Map<number, BrokerImage | null>();
  /**
   * Changed topics as drafts whose partition list is copied once per delta and then changed in
   * place (so creating a topic of n partitions costs O(n), not O(n^2)); frozen by `apply()`.
   */
  private readonly topics = new Map<string, TopicDraft | null>();
  private readonly names = new Map<string, string | null>();
  private readonly configs = new Map<string, Map<string, string>>();
  private producerIds: ProducerIdsImage | undefined;
  private readonly acls = new Map<string, AclImage | null>();
  private readonly scram = new Map<string, ScramCredentialImage | null>();
  private readonly quotas = new Map<string, QuotaEntry | null>();
  private recordCount = 0;

  readonly base: MetadataImage;

  constructor(base: MetadataImage) {
    this.base = base;
  }

  /** How many records were replayed. */
  get size(): number {
    return this.recordCount;
  }

  broker(id: number): BrokerImage | undefined {
    const changed = this.brokers.get(id);
    return changed === null ? undefined : (changed ?? this.base.brokers.get(id));
  }

  topic(topicId: string): TopicImage | undefined {
    const changed = this.topics.get(topicId);
    return changed === null ? undefined : (changed ?? this.base.topicsById.get(topicId));
  }

  topicByName(name: string): TopicImage | undefined {
    const changed = this.names.get(name);
    if (changed === null) return undefined;
    if (changed !== undefined) return this.topic(changed);
    return this.base.topicsByName.get(name);
  }

  private config(key: string): Map<string, string> {
    let c = this.configs.get(key);
    if (c === undefined) {
      c = new Map(this.base.configs.get(key) ?? []);
      this.configs.set(key, c);
    }
    return c;
  }

  replayAll(records: Iterable<MetadataRecord>): this {
    for (const r of records) this.replay(r);
    return this;
  }

  replay(record: MetadataRecord): void {
    switch (record.type) {
      case 'RegisterBroker': {
        const { type: _t, ...b } = record;
        this.brokers.set(record.brokerId, Object.freeze(b));
        break;
      }
      case 'UnregisterBroker':
        if (this.broker(record.brokerId) === undefined) misfit(record, `node ${record.brokerId} is not registered`);
        this.brokers.set(record.brokerId, null);
        break;
      case 'BrokerFencing': {
        const b = this.broker(record.brokerId);
        if (b === undefined) misfit(record, `node ${record.brokerId} is not registered`);
        this.brokers.set(record.brokerId, Object.freeze({ ...b, fenced: record.fenced }));
        break;
      }
      case 'Topic':
        if (this.topicByName(record.name) !== undefined) misfit(record, `topic "${record.name}" exists`);
        if (this.topic(record.topicId) !== undefined) misfit(record, `topic id ${record.topicId} exists`);
        this.topics.set(record.topicId, { topicId: record.topicId, name: record.name, replicationFactor: record.replicationFactor, offsetLayout: record.offsetLayout ?? 1, partitions: [] });
        this.names.set(record.name, record.topicId);
        break;
      case 'Partition': {
        const t = this.topic(record.topicId);
        if (t === undefined) misfit(record, `unknown topic id ${record.topicId}`);
        if (record.partition > t.partitions.length) misfit(record, `partition ${record.partition} of "${t.name}" skips ${t.partitions.length}`);
        const old = t.partitions[record.partition];
        const leaderId = old !== undefined && record.replicas.includes(old.leaderId) ? old.leaderId : -1;
        const p: PartitionImage = Object.freeze({
          topicId: t.topicId, partition: record.partition, replicas: Object.freeze([...record.replicas]),
          leaderId, leaderEpoch: old?.leaderEpoch ?? 0,
        });
        this.setPartition(t, p);
        break;
      }
      case 'PartitionLeader': {
        const t = this.topic(record.topicId);
        if (t === undefined) misfit(record, `unknown topic id ${record.topicId}`);
        const old = t.partitions[record.partition];
        if (old === undefined) misfit(record, `unknown partition ${record.partition} of "${t.name}"`);
        if (record.leaderId !== -1 && !old.replicas.includes(record.leaderId)) misfit(record, `node ${record.leaderId} is not a replica of ${t.name}-${record.partition}`);
        // A hint from an older term than the one known is stale: reports can race; the newest wins.
        if (record.leaderEpoch < old.leaderEpoch) break;
        this.setPartition(t, Object.freeze({ ...old, leaderId: record.leaderId, leaderEpoch: record.leaderEpoch }));
        break;
      }
      case 'RemoveTopic': {
        const t = this.topic(record.topicId);
        if (t === undefined) misfit(record, `unknown topic id ${record.topicId}`);
        this.topics.set(t.topicId, null);
        this.names.set(t.name, null);
        // A topic's configs go with it, so a new topic of the same name starts clean.
        this.config(configResourceKey('topic', t.name)).clear();
        break;
      }
      case 'Config': {
        if (record.resourceType === 'topic' && this.topicByName(record.resourceName) === undefined) misfit(record, `unknown topic "${record.resourceName}"`);
        const c = this.config(configResourceKey(record.resourceType, record.resourceName));
        if (record.value === null) c.delete(record.key);
        else c.set(record.key, record.value);
        break;
      }
      case 'ProducerIds': {
        const current = this.producerIds ?? this.base.producerIds;
        if (record.nextProducerId <= current.nextProducerId) misfit(record, `nextProducerId ${record.nextProducerId} is not above ${current.nextProducerId}`);
        this.producerIds = Object.freeze({ nextProducerId: record.nextProducerId, lastBrokerId: record.brokerId });
        break;
      }
      case 'Acl': {
        const { type: _t, ...a } = record;
        this.acls.set(record.aclId, Object.freeze(a));
        break;
      }
      case 'RemoveAcl': {
        const known = this.acls.has(record.aclId) ? this.acls.get(record.aclId) !== null : this.base.acls.has(record.aclId);
        if (!known) misfit(record, `unknown ACL ${record.aclId}`);
        this.acls.set(record.aclId, null);
        break;
      }
      case 'ScramCredential': {
        const { type: _t, ...c } = record;
        this.scram.set(scramKey(record.name, record.mechanism), Object.freeze(c));
        break;
      }
      case 'RemoveScramCredential': {
        const key = scramKey(record.name, record.mechanism);
        const known = this.scram.has(key) ? this.scram.get(key) !== null : this.base.scramCredentials.has(key);
        if (!known) misfit(record, `unknown credential ${record.mechanism} of "${record.name}"`);
        this.scram.set(key, null);
        break;
      }
      case 'ClientQuota': {
        const key = quotaEntityKey(record.entity);
        const old = this.quotas.has(key) ? this.quotas.get(key) : this.base.clientQuotas.get(key);
        const values = new Map<QuotaKey, number>(old?.values ?? []);
        if (record.value === null) values.delete(record.key);
        else values.set(record.key, record.value);
        this.quotas.set(key, values.size === 0 ? null : Object.freeze({ entity: record.entity, values }));
        break;
      }
    }
    this.recordCount++;
  }

  private setPartition(t: TopicImage, p: PartitionImage): void {
    let draft = this.topics.get(t.topicId);
    if (draft === undefined || draft === null) {
      draft = { topicId: t.topicId, name: t.name, replicationFactor: t.replicationFactor, offsetLayout: t.offsetLayout, partitions: [...t.partitions] };
      this.topics.set(t.topicId, draft);
    }
    draft.partitions[p.partition] = p;
  }

  /** The image after every replayed record. */
  apply(): MetadataImage {
    const b = this.base;
    const frozen = new Map<string, TopicImage | null>();
    for (const [id, t] of this.topics) {
      frozen.set(id, t === null ? null : Object.freeze({ ...t, partitions: Object.freeze([...t.partitions]) }));
    }
    const topicsById = merge(b.topicsById, frozen);
    let topicsByName = b.topicsByName;
    if (this.names.size > 0 || frozen.size > 0) {
      const byName = new Map(b.topicsByName);
      for (const [name, id] of this.names) {
        const t = id === null ? undefined : topicsById.get(id);
        if (t === undefined) byName.delete(name);
        else byName.set(name, t);
      }
      // A changed topic is a new object: the name index must point at it too.
      for (const t of frozen.values()) if (t !== null) byName.set(t.name, t);
      topicsByName = byName;
    }
    let configs = b.configs;
    if (this.configs.size > 0) {
      const next = new Map(b.configs);
      for (const [key, values] of this.configs) {
        if (values.size === 0) next.delete(key);
        else next.set(key, new Map(values));
      }
      configs = next;
    }
    return new MetadataImage({
      brokers: merge(b.brokers, this.brokers),
      topicsById,
      topicsByName,
      configs,
      producerIds: this.producerIds ?? b.producerIds,
      acls: merge(b.acls, this.acls),
      scramCredentials: merge(b.scramCredentials, this.scram),
      clientQuotas: merge(b.clientQuotas, this.quotas),
    });
  }

  changes(): MetadataChanges {
    const topicsCreated: string[] = [];
    const topicsDeleted: string[] = [];
    const partitionsChanged: TopicPartitionRef[] = [];
    for (const [id, t] of this.topics) {
      const old = this.base.topicsById.get(id);
      if (t === null) {
        if (old !== undefined) topicsDeleted.push(id);
        continue;
      }
      if (old === undefined) topicsCreated.push(id);
      for (const p of t.partitions) {
        if (old?.partitions[p.partition] !== p) partitionsChanged.push({ topicId: id, topicName: t.name, partition: p.partition });
      }
    }
    const brokersChanged = [...this.brokers.keys()].filter((id) => this.brokers.get(id) !== (this.base.brokers.get(id) ?? null));
    const brokersReincarnated = brokersChanged.filter((id) => {
      const was = this.base.brokers.get(id);
      const now = this.brokers.get(id);
      return was !== undefined && now != null && was.incarnationId !== now.incarnationId;
    });
    const configsChanged: string[] = [];
    for (const [key, values] of this.configs) {
      const old = this.base.configs.get(key);
      if (!sameConfig(old, values)) configsChanged.push(key);
    }
    return {
      topicsCreated: topicsCreated.sort(),
      topicsDeleted: topicsDeleted.sort(),
      partitionsChanged: partitionsChanged.sort(byTopicPartition),
      brokersChanged: brokersChanged.sort((x, y) => x - y),
      brokersReincarnated: brokersReincarnated.sort((x, y) => x - y),
      configsChanged: configsChanged.sort(),
      producerIdsChanged: this.producerIds !== undefined,
      securityChanged: this.acls.size + this.scram.size + this.quotas.size > 0,
    };
  }

  /** The replicas node `nodeId` must start, stop and update, comparing the base with the result. */
  replicaChangesFor(nodeId: number): ReplicaChanges {
    const start: (TopicPartitionRef & { replicas: readonly number[] })[] = [];
    const stop: (TopicPartitionRef & { deleted: boolean })[] = [];
    const update: (TopicPartitionRef & { replicas: readonly number[] })[] = [];
    for (const [id, t] of this.topics) {
      const old = this.base.topicsById.get(id);
      const count = Math.max(old?.partitions.length ?? 0, t?.partitions.length ?? 0);
      for (let i = 0; i < count; i++) {
        const was = old?.partitions[i];
        const now = t?.partitions[i];
        const wasHere = was?.replicas.includes(nodeId) ?? false;
        const isHere = now?.replicas.includes(nodeId) ?? false;
        const topicName = (t ?? old)?.name ?? '';
        if (isHere && now !== undefined && !wasHere) start.push({ topicId: id, topicName, partition: i, replicas: now.replicas });
        else if (wasHere && !isHere) stop.push({ topicId: id, topicName, partition: i, deleted: t === null });
        else if (wasHere && now !== undefined && was !== undefined && !sameList(was.replicas, now.replicas)) {
          update.push({ topicId: id, topicName, partition: i, replicas: now.replicas });
        }
      }
    }
    return { start: start.sort(byTopicPartition), stop: stop.sort(byTopicPartition), update: update.sort(byTopicPartition) };
  }
}

interface TopicDraft {
  readonly topicId: string;
  readonly name: string;
  readonly replicationFactor: number;
  readonly offsetLayout: 1 | 2;
  readonly partitions: PartitionImage[];
}

function merge<K, V>(base: ReadonlyMap<K, V>, changed: ReadonlyMap<K, V | null>): ReadonlyMap<K, V> {
  if (changed.size === 0) return base;
  const out = new Map(base);
  for (const [k, v] of changed) {
    if (v === null) out.delete(k);
    else out.set(k, v);
  }
  return out;
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameConfig(a: ReadonlyMap<string, string> | undefined, b: ReadonlyMap<string, string>): boolean {
  if ((a?.size ?? 0) !== b.size) return false;
  for (const [k, v] of b) if (a?.get(k) !== v) return false;
  return true;
}

/** Replays `records` onto `base` (the empty image by default) and returns the result. */
export function replayRecords(records: Iterable<MetadataRecord>, base: MetadataImage = MetadataImage.EMPTY): MetadataImage {
  return new MetadataDelta(base).replayAll(records).apply();
}
