/**
 * Topic configs: the per-topic keys Kafka users expect, with Kafka's names, defaults and rules.
 * Pure. Values are stored in the metadata image as strings (Config records, as Kafka stores them);
 * this module validates them (the controller, before it appends), describes them
 * (DescribeConfigs) and turns them into typed values for the broker (`effectiveTopicConfig`).
 *
 * A bad key or value is a FlotillaError INVALID_TOPIC_CONFIG whose message names the key.
 *
 * Cluster-wide defaults: Kafka's broker-level names (`log.retention.ms`, `log.segment.bytes`, ...,
 * `clusterDefaultKeys`) set on the broker resource "" (`kafka-configs --entity-type brokers
 * --entity-default`, `flotilla cluster config --set`) stand in for the built-in default of the
 * topic key they name, for every topic that does not set that key itself. A topic's value comes
 * from, in order: the topic, the cluster default, Kafka's default.
 *
 * Differences from Kafka, on purpose:
 * - `flush.messages` / `flush.ms` keep Kafka's defaults (leave flushing to the OS) and Kafka's
 *   meaning, but they matter only on a node started with `--fsync false`: by default a node
 *   fsyncs every append before it acknowledges it (docs/design.md), which no topic can weaken.
 * - `min.insync.replicas` is accepted and shown (clients and tools set it) but Raft's majority
 *   rule decides when a batch is committed; it has no further effect.
 * - Long values are held as numbers: values above 2^53 - 1 (Kafka's Long.MAX_VALUE defaults) are
 *   accepted as written and read as Number.MAX_SAFE_INTEGER ("no limit").
 */
import { FlotillaError } from '../base/errors.js';
import { type MetadataImage, configResourceKey } from './image.js';

const LONG_MAX = '9223372036854775807';

export type TopicConfigType = 'long' | 'int' | 'double' | 'enum' | 'list';

export interface TopicConfigSpec {
  readonly type: TopicConfigType;
  /** The default, as Kafka writes it. */
  readonly default: string;
  readonly min?: number;
  readonly max?: number;
  /** enum: the values; list: the values each element may take. */
  readonly values?: readonly string[];
  readonly doc: string;
}

export const topicConfigSpecs = {
  'cleanup.policy': { type: 'list', default: 'delete', values: ['delete', 'compact'], doc: 'delete old segments (retention), compact (keep the latest value per key), or both' },
  'compression.type': { type: 'enum', default: 'producer', values: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'], doc: "the topic's final compression; producer keeps what the producer sent" },
  'delete.retention.ms': { type: 'long', default: '86400000', min: 0, doc: 'how long delete markers (tombstones) stay in a compacted topic' },
  'flush.messages': { type: 'long', default: LONG_MAX, min: 1, doc: "with the node's fsync off: fsync after this many messages (with it on, every append is fsynced before it is acknowledged)" },
  'flush.ms': { type: 'long', default: LONG_MAX, min: 0, doc: "with the node's fsync off: fsync once a message is this old (ms)" },
  'max.compaction.lag.ms': { type: 'long', default: LONG_MAX, min: 1, doc: 'longest time a message stays uncompacted' },
  'max.message.bytes': { type: 'int', default: '1048588', min: 0, max: 2_147_483_647, doc: 'largest record batch the topic accepts (bytes)' },
  'message.timestamp.type': { type: 'enum', default: 'CreateTime', values: ['CreateTime', 'LogAppendTime'], doc: "the producer's timestamp (CreateTime) or the broker's append time (LogAppendTime)" },
  'min.cleanable.dirty.ratio': { type: 'double', default: '0.5', min: 0, max: 1, doc: 'share of the log not yet compacted above which the cleaner compacts' },
  'min.compaction.lag.ms': { type: 'long', default: '0', min: 0, doc: 'shortest time a message stays uncompacted' },
  'min.insync.replicas': { type: 'int', default: '1', min: 1, max: 2_147_483_647, doc: 'accepted for compatibility; Raft commits a batch once a majority of replicas has it' },
  'retention.bytes': { type: 'long', default: '-1', min: -1, doc: 'largest size of a partition before old segments are deleted (-1: no limit)' },
  'retention.ms': { type: 'long', default: '604800000', min: -1, doc: 'how long segments are kept before deletion (-1: forever)' },
  'segment.bytes': { type: 'int', default: '1073741824', min: 14, max: 2_147_483_647, doc: 'size of one segment file' },
  'segment.ms': { type: 'long', default: '604800000', min: 1, doc: 'time after which a segment is rolled even if not full' },
} as const satisfies Readonly<Record<string, TopicConfigSpec>>;

export type TopicConfigKey = keyof typeof topicConfigSpecs;

export function isTopicConfigKey(key: string): key is TopicConfigKey {
  return Object.hasOwn(topicConfigSpecs, key);
}

/**
 * The broker-level names of the topic configs (Kafka's synonyms) that hold cluster-wide defaults,
 * and the topic key each stands for.
 */
export const clusterDefaultKeys = {
  'log.cleanup.policy': 'cleanup.policy',
  'compression.type': 'compression.type',
  'log.cleaner.delete.retention.ms': 'delete.retention.ms',
  'log.flush.interval.messages': 'flush.messages',
  'log.flush.interval.ms': 'flush.ms',
  'log.cleaner.max.compaction.lag.ms': 'max.compaction.lag.ms',
  'message.max.bytes': 'max.message.bytes',
  'log.message.timestamp.type': 'message.timestamp.type',
  'log.cleaner.min.cleanable.ratio': 'min.cleanable.dirty.ratio',
  'log.cleaner.min.compaction.lag.ms': 'min.compaction.lag.ms',
  'min.insync.replicas': 'min.insync.replicas',
  'log.retention.bytes': 'retention.bytes',
  'log.retention.ms': 'retention.ms',
  'log.segment.bytes': 'segment.bytes',
  'log.roll.ms': 'segment.ms',
} as const satisfies Readonly<Record<string, TopicConfigKey>>;

export type ClusterDefaultKey = keyof typeof clusterDefaultKeys;

export function isClusterDefaultKey(key: string): key is ClusterDefaultKey {
  return Object.hasOwn(clusterDefaultKeys, key);
}

/** The broker resource name that holds the cluster-wide defaults (Kafka's entity default). */
export const CLUSTER_DEFAULT_RESOURCE = '';

/**
 * Checks a cluster-wide default (a broker-level name, validated as the topic key it stands for);
 * returns the value normalised. The error names the broker-level key.
 */
export function validateClusterDefault(key: string, value: string): string {
  if (!isClusterDefaultKey(key)) {
    throw new FlotillaError('INVALID_TOPIC_CONFIG', `config ${key.slice(0, 200)} is not a cluster-wide topic default (known: ${Object.keys(clusterDefaultKeys).join(', ')})`, { key: key.slice(0, 200) });
  }
  try {
    return validateTopicConfig(clusterDefaultKeys[key], value);
  } catch (err) {
    throw new FlotillaError('INVALID_TOPIC_CONFIG', `${key}: ${(err as Error).message}`, { key });
  }
}

const NO_DEFAULTS: ReadonlyMap<string, string> = new Map();

/** The cluster-wide defaults as set (broker-level names), from the broker resource "". */
export function clusterDefaults(image: MetadataImage): ReadonlyMap<string, string> {
  return image.configs.get(configResourceKey('broker', CLUSTER_DEFAULT_RESOURCE)) ?? NO_DEFAULTS;
}

/** The cluster-wide defaults by topic key (a value that no longer validates is left out). */
function defaultsByTopicKey(defaults: ReadonlyMap<string, string>): Map<TopicConfigKey, string> {
  const out = new Map<TopicConfigKey, string>();
  for (const [k, v] of defaults) {
    if (!isClusterDefaultKey(k)) continue;
    try {
      out.set(clusterDefaultKeys[k], validateClusterDefault(k, v));
    } catch {
      // Stored values were validated by the controller; one that is not valid now is ignored.
    }
  }
  return out;
}

function bad(key: string, why: string): never {
  throw new FlotillaError('INVALID_TOPIC_CONFIG', `topic config ${key.slice(0, 200)} ${why}`, { key: key.slice(0, 200) });
}

/** Checks one key and value; returns the value normalised (list elements trimmed). */
export function validateTopicConfig(key: string, value: string): string {
  if (!isTopicConfigKey(key)) bad(key, 'is not a known topic config');
  const spec: TopicConfigSpec = topicConfigSpecs[key];
  const v = value.trim();
  switch (spec.type) {
    case 'long':
    case 'int': {
      if (!/^-?\d{1,19}$/.test(v)) bad(key, `must be an integer, got "${value.slice(0, 100)}"`);
      const big = BigInt(v);
      const max = spec.type === 'int' ? BigInt(spec.max ?? 2_147_483_647) : BigInt(LONG_MAX);
      if (big > max) bad(key, `must be at most ${max}, got ${v}`);
      if (spec.min !== undefined && big < BigInt(spec.min)) bad(key, `must be at least ${spec.min}, got ${v}`);
      return big.toString();
    }
    case 'double': {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) bad(key, `must be a number, got "${value.slice(0, 100)}"`);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) bad(key, `must be between ${spec.min} and ${spec.max}, got ${v}`);
      return v;
    }
    case 'enum':
      if (!(spec.values ?? []).includes(v)) bad(key, `must be one of ${(spec.values ?? []).join(', ')}, got "${value.slice(0, 100)}"`);
      return v;
    case 'list': {
      const items = v.split(',').map((s) => s.trim());
      if (items.length === 0 || items.some((s) => !(spec.values ?? []).includes(s))) {
        bad(key, `must be a comma-separated list of ${(spec.values ?? []).join(', ')}, got "${value.slice(0, 100)}"`);
      }
      if (new Set(items).size !== items.length) bad(key, `names a value twice: "${value.slice(0, 100)}"`);
      return items.join(',');
    }
  }
}

/** Validates every entry; returns them normalised. */
export function validateTopicConfigs(configs: Readonly<Record<string, string>> | ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  const entries = configs instanceof Map ? [...configs] : Object.entries(configs as Readonly<Record<string, string>>);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') bad(k, 'must have a string value');
    out.set(k, validateTopicConfig(k, v));
  }
  return out;
}

/** One entry as DescribeConfigs shows it (the shape of lib/broker/api.ts ConfigEntryView). */
export interface TopicConfigEntry {
  readonly name: string;
  readonly value: string | null;
  readonly readOnly: boolean;
  /** topic: set on the topic; cluster: a cluster-wide default; default: Kafka's. */
  readonly source: 'topic' | 'cluster' | 'default';
  readonly sensitive: boolean;
  /** Kafka's type of the value (an enum is a string). */
  readonly type: 'long' | 'int' | 'double' | 'string' | 'list';
  readonly doc: string;
}

function valueType(t: TopicConfigType): TopicConfigEntry['type'] {
  return t === 'enum' ? 'string' : t;
}

/**
 * Every known key of topic `topicName`, sorted by name: the topic's value, else the cluster-wide
 * default, else Kafka's default.
 */
export function describeTopicConfig(image: MetadataImage, topicName: string): TopicConfigEntry[] {
  const set = image.topicConfig(topicName);
  const defaults = defaultsByTopicKey(clusterDefaults(image));
  return (Object.keys(topicConfigSpecs) as TopicConfigKey[]).sort().map((name) => {
    const own = set.get(name);
    const cluster = defaults.get(name);
    const spec: TopicConfigSpec = topicConfigSpecs[name];
    const source = own !== undefined ? 'topic' : cluster !== undefined ? 'cluster' : 'default';
    return { name, value: own ?? cluster ?? spec.default, readOnly: false, source, sensitive: false, type: valueType(spec.type), doc: spec.doc };
  });
}

/**
 * The cluster-wide defaults as a node's own broker config shows them (DescribeConfigs of a broker):
 * every broker-level key, its cluster-wide value or Kafka's default. `onlySet`: only those set
 * (the broker resource "", as Kafka describes its entity default).
 */
export function describeClusterDefaults(image: MetadataImage, onlySet: boolean): TopicConfigEntry[] {
  const set = clusterDefaults(image);
  const out: TopicConfigEntry[] = [];
  for (const name of (Object.keys(clusterDefaultKeys) as ClusterDefaultKey[]).sort()) {
    const own = set.get(name);
    if (onlySet && own === undefined) continue;
    const spec: TopicConfigSpec = topicConfigSpecs[clusterDefaultKeys[name]];
    out.push({ name, value: own ?? spec.default, readOnly: false, source: own === undefined ? 'default' : 'cluster', sensitive: false, type: valueType(spec.type), doc: `cluster-wide default of ${clusterDefaultKeys[name]}: ${spec.doc}` });
  }
  return out;
}

/** Typed topic config, for the broker. */
export interface TopicConfig {
  readonly cleanupPolicy: { readonly delete: boolean; readonly compact: boolean };
  readonly compressionType: 'uncompressed' | 'zstd' | 'lz4' | 'snappy' | 'gzip' | 'producer';
  readonly deleteRetentionMs: number;
  readonly flushMessages: number;
  readonly flushMs: number;
  readonly maxCompactionLagMs: number;
  readonly maxMessageBytes: number;
  readonly messageTimestampType: 'CreateTime' | 'LogAppendTime';
  readonly minCleanableDirtyRatio: number;
  readonly minCompactionLagMs: number;
  readonly minInsyncReplicas: number;
  /** -1: no limit. */
  readonly retentionBytes: number;
  /** -1: forever. */
  readonly retentionMs: number;
  readonly segmentBytes: number;
  readonly segmentMs: number;
}

/**
 * The effective config of topic `name` (its own values over the defaults). A stored value that no
 * longer validates (it never should: the controller validated it) falls back to the default.
 */
export function effectiveTopicConfig(image: MetadataImage, name: string): TopicConfig {
  // Images share unchanged config maps, so one typed config per pair of maps (the cluster-wide
  // defaults, the topic's own): the log manager asks for every replica's config every round.
  const defaults = clusterDefaults(image);
  let byTopic = typedConfigs.get(defaults);
  if (byTopic === undefined) {
    byTopic = new WeakMap();
    typedConfigs.set(defaults, byTopic);
  }
  const set = image.topicConfig(name);
  let typed = byTopic.get(set);
  if (typed === undefined) {
    typed = topicConfigOf(set, defaults);
    byTopic.set(set, typed);
  }
  return typed;
}

const typedConfigs = new WeakMap<ReadonlyMap<string, string>, WeakMap<ReadonlyMap<string, string>, TopicConfig>>();

/**
 * The typed config of a topic whose own values are `set`; every other key takes its cluster-wide
 * default from `defaults` (broker-level names) when set there, else Kafka's default.
 */
export function topicConfigOf(set: ReadonlyMap<string, string>, defaults: ReadonlyMap<string, string> = NO_DEFAULTS): TopicConfig {
  const cluster = defaultsByTopicKey(defaults);
  const raw = (key: TopicConfigKey): string => {
    const own = set.get(key);
    if (own !== undefined) {
      try {
        return validateTopicConfig(key, own);
      } catch {
        // fall through to the defaults
      }
    }
    return cluster.get(key) ?? topicConfigSpecs[key].default;
  };
  const num = (key: TopicConfigKey): number => {
    const n = Number(raw(key));
    return n > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : n;
  };
  const policy = raw('cleanup.policy').split(',');
  return {
    cleanupPolicy: { delete: policy.includes('delete'), compact: policy.includes('compact') },
    compressionType: raw('compression.type') as TopicConfig['compressionType'],
    deleteRetentionMs: num('delete.retention.ms'),
    flushMessages: num('flush.messages'),
    flushMs: num('flush.ms'),
    maxCompactionLagMs: num('max.compaction.lag.ms'),
    maxMessageBytes: num('max.message.bytes'),
    messageTimestampType: raw('message.timestamp.type') as TopicConfig['messageTimestampType'],
    minCleanableDirtyRatio: num('min.cleanable.dirty.ratio'),
    minCompactionLagMs: num('min.compaction.lag.ms'),
    minInsyncReplicas: num('min.insync.replicas'),
    retentionBytes: num('retention.bytes'),
    retentionMs: num('retention.ms'),
    segmentBytes: num('segment.bytes'),
    segmentMs: num('segment.ms'),
  };
}

/** What lib/broker/broker.ts (TopicConfigSource) asks of topic configs. */
export const topicConfigSource = {
  maxMessageBytes: (image: MetadataImage, topic: string): number => effectiveTopicConfig(image, topic).maxMessageBytes,
  logAppendTime: (image: MetadataImage, topic: string): boolean => effectiveTopicConfig(image, topic).messageTimestampType === 'LogAppendTime',
  describe: (image: MetadataImage, topic: string): TopicConfigEntry[] => describeTopicConfig(image, topic),
  describeClusterDefaults: (image: MetadataImage, onlySet: boolean): TopicConfigEntry[] => describeClusterDefaults(image, onlySet),
};
