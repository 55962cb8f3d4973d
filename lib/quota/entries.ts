/**
 * Client quotas as the metadata stores them (issue 19, Kafka's client quota entities): the shared
 * shape (`QuotaEntry`), the canonical key of an entity, and the validation rules that the
 * controller applies before it writes a ClientQuota record (lib/metadata/client-quotas.ts). Pure:
 * no I/O, no clock.
 *
 * Entities (Kafka's ClientQuotaControlManager): one `user`, one `client-id`, or the pair (user,
 * client-id); or one `ip`, always alone. A name null is the default entity of that type; a name
 * is never empty. An ip name is an IPv4 or IPv6 literal (Kafka also takes a resolvable host name;
 * the controller does no DNS).
 *
 * Keys and bounds (Kafka's QuotaConfig types, then Flotilla's upper bounds so that no value is
 * absurd): every value finite and > 0;
 * - producer_byte_rate, consumer_byte_rate: bytes/s, an integer up to 2^53 - 1 (Kafka: a LONG);
 * - request_percentage: percent of the node's one event loop, at most 100 (Kafka allows
 *   (io threads + network threads) x 100; a Flotilla node has one thread);
 * - controller_mutation_rate: partitions created or deleted per second, at most 1,000,000;
 * - connection_creation_rate (ip entities only): connections per second, an integer up to
 *   2^31 - 1 (Kafka: an INT).
 * user / client-id entities take the first four keys, ip entities only the last.
 */
import { isIP } from 'node:net';
import type { MetadataImage } from '../metadata/image.js';

export const quotaEntityTypes = ['user', 'client-id', 'ip'] as const;
export type QuotaEntityType = (typeof quotaEntityTypes)[number];
/** One entity component; name null = the default entity of that type. */
export interface QuotaEntityPart { readonly type: QuotaEntityType; readonly name: string | null }
export const quotaKeys = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'controller_mutation_rate', 'connection_creation_rate'] as const;
export type QuotaKey = (typeof quotaKeys)[number];
/** The quotas set on one entity (a user, a client id, a (user, client-id) pair, an ip). */
export interface QuotaEntry { readonly entity: readonly QuotaEntityPart[]; readonly values: ReadonlyMap<QuotaKey, number> }

/** Longest entity name (a principal's name, a client id). */
export const QUOTA_ENTITY_NAME_MAX = 1024;

interface KeyRule {
  readonly max: number;
  readonly integer: boolean;
  readonly entity: 'client' | 'ip';
  readonly unit: string;
}
/** Upper bounds and value types of each key (see the module comment). */
export const quotaKeyRules: Readonly<Record<QuotaKey, KeyRule>> = {
  producer_byte_rate: { max: Number.MAX_SAFE_INTEGER, integer: true, entity: 'client', unit: 'bytes/s' },
  consumer_byte_rate: { max: Number.MAX_SAFE_INTEGER, integer: true, entity: 'client', unit: 'bytes/s' },
  request_percentage: { max: 100, integer: false, entity: 'client', unit: '%' },
  controller_mutation_rate: { max: 1_000_000, integer: false, entity: 'client', unit: 'partitions/s' },
  connection_creation_rate: { max: 0x7fff_ffff, integer: true, entity: 'ip', unit: 'connections/s' },
};

export function isQuotaEntityType(s: unknown): s is QuotaEntityType {
  return typeof s === 'string' && (quotaEntityTypes as readonly string[]).includes(s);
}
export function isQuotaKey(s: unknown): s is QuotaKey {
  return typeof s === 'string' && (quotaKeys as readonly string[]).includes(s);
}

/** The entity's parts in canonical order (user, client-id, ip). */
export function canonicalEntity(entity: readonly QuotaEntityPart[]): QuotaEntityPart[] {
  return [...entity].sort((a, b) => quotaEntityTypes.indexOf(a.type) - quotaEntityTypes.indexOf(b.type));
}

/**
 * The canonical key of an entity: its parts in canonical order as JSON (unambiguous whatever the
 * names hold); the key of `image.clientQuotas`.
 */
export function quotaEntityKey(entity: readonly QuotaEntityPart[]): string {
  return JSON.stringify(canonicalEntity(entity).map((p) => [p.type, p.name]));
}

/** Why `entity` is not a quota entity (Kafka's rules, see the module comment), or null. */
export function quotaEntityProblem(entity: unknown): string | null {
  if (!Array.isArray(entity) || entity.length === 0) return 'the entity is empty';
  const seen = new Set<string>();
  for (const p of entity as unknown[]) {
    if (typeof p !== 'object' || p === null) return 'an entity part is not {type, name}';
    const { type, name } = p as { type?: unknown; name?: unknown };
    if (!isQuotaEntityType(type)) return `unknown entity type ${JSON.stringify(type)} (known: ${quotaEntityTypes.join(', ')})`;
    if (seen.has(type)) return `entity type ${type} appears twice`;
    seen.add(type);
    if (name === null) continue;
    if (typeof name !== 'string') return `the ${type} name is not a string or null`;
    if (name.length === 0) return `an empty ${type} name is not supported (null is the default entity)`;
    if (name.length > QUOTA_ENTITY_NAME_MAX) return `the ${type} name is longer than ${QUOTA_ENTITY_NAME_MAX} characters`;
    if (type === 'ip' && isIP(name) === 0) return `${JSON.stringify(name)} is not an IP address`;
  }
  if (seen.has('ip') && seen.size > 1) return 'an ip entity cannot be combined with user or client-id';
  return null;
}

/** The keys an entity takes: user/client-id entities the client keys, ip entities connection_creation_rate. */
export function quotaKeysFor(entity: readonly QuotaEntityPart[]): QuotaKey[] {
  const kind = entity.some((p) => p.type === 'ip') ? 'ip' : 'client';
  return quotaKeys.filter((k) => quotaKeyRules[k].entity === kind);
}

/** Why `key` cannot be set to `value` on `entity` (a valid entity), or null. Removal: pass value null. */
export function quotaValueProblem(entity: readonly QuotaEntityPart[], key: string, value: number | null): string | null {
  if (!isQuotaKey(key)) return `unknown quota key ${JSON.stringify(key)} (known: ${quotaKeys.join(', ')})`;
  if (!quotaKeysFor(entity).includes(key)) {
    return entity.some((p) => p.type === 'ip') ? `${key} does not apply to an ip entity (only connection_creation_rate)` : `${key} applies only to ip entities`;
  }
  if (value === null) return null;
  const rule = quotaKeyRules[key];
  if (typeof value !== 'number' || Number.isNaN(value)) return `${key} must be a number`;
  if (!Number.isFinite(value)) return `${key} must be finite`;
  if (value <= 0) return `${key} must be greater than 0 (remove the key to lift the quota)`;
  if (value > rule.max) return `${key} ${value} is above the largest allowed, ${rule.max} ${rule.unit}`;
  if (rule.integer && !Number.isInteger(value)) return `${key} must be a whole number of ${rule.unit}`;
  return null;
}

/** "user=alice, client-id=<default>": an entity as people read it (CLI, logs, error messages). */
export function formatQuotaEntity(entity: readonly QuotaEntityPart[]): string {
  return canonicalEntity(entity).map((p) => `${p.type}=${p.name === null ? '<default>' : p.name}`).join(', ');
}

const entriesCache = new WeakMap<ReadonlyMap<string, QuotaEntry>, readonly QuotaEntry[]>();

/**
 * Every quota entity of the image with its values, in canonical key order. Cached per image map
 * (images are immutable), so calling it on every quota window costs nothing.
 */
export function quotaEntries(image: Pick<MetadataImage, 'clientQuotas'>): readonly QuotaEntry[] {
  const map = image.clientQuotas;
  let list = entriesCache.get(map);
  if (list === undefined) {
    list = Object.freeze([...map.keys()].sort().map((k) => map.get(k)!));
    entriesCache.set(map, list);
  }
  return list;
}
