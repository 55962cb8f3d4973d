/**
 * Client quotas in the metadata log (issue 19, Kafka's ClientQuotaControlManager and
 * ClientQuotasImage.describe): the pure halves of AlterClientQuotas and DescribeClientQuotas. The
 * controller runs `alterClientQuotas` against its image and appends the records it returns; a node
 * answers DescribeClientQuotas from its own image with `describeClientQuotas`.
 *
 * Alter, per entry (Kafka's rules, lib/quota/entries.ts): an invalid entity, an unknown key, a key
 * that does not apply to the entity, a key named twice, or a value that is NaN, infinite, <= 0 or
 * above the key's bound refuses the whole entry with INVALID_REQUEST and a message; nothing of it
 * is written. Records are written only for what changes (a set to the same value, or the removal
 * of a key that is not set, writes nothing).
 *
 * Describe: each filter component names an entity type and a match: exact name (0), the default
 * entity (1) or any specified entity of that type (2, Kafka's MATCH_TYPE_SPECIFIED: any name or
 * the default). An entity matches when it has every type the components name, with a matching
 * name; `strict` also requires it to have no other type. No components: every entity (non-strict)
 * or none (strict). Bad filters (an empty or repeated type, a match string where none belongs, an
 * ip component with a user or client-id one) are INVALID_REQUEST; an unknown entity type is
 * UNSUPPORTED_VERSION, as Kafka answers (returned, not thrown: the codes are Kafka's).
 */
import { FlotillaError } from '../base/errors.js';
import {
  type QuotaEntityPart, type QuotaEntry, type QuotaKey, canonicalEntity, isQuotaEntityType, quotaEntityKey, quotaEntityProblem, quotaEntries, quotaValueProblem,
} from '../quota/entries.js';
import type { MetadataImage } from './image.js';
import type { ClientQuotaRecord } from './records.js';

/** One entry of AlterClientQuotas: the entity and its operations (value null: remove the key). */
export interface AlterQuotaEntry {
  readonly entity: readonly QuotaEntityPart[];
  readonly ops: readonly { readonly key: string; readonly value: number | null }[];
}
export interface AlterClientQuotasRequest {
  readonly entries: readonly AlterQuotaEntry[];
  readonly validateOnly: boolean;
}
/** Why an entry was refused (INVALID_REQUEST), or null. */
export type AlterQuotaResult = { readonly code: string; readonly message: string } | null;

/** Most entries (and operations per entry) of one request: far beyond any real use, and it bounds the work. */
export const ALTER_QUOTA_ENTRIES_MAX = 10_000;

/** The records for the valid entries (only what changes), and per entry in request order null or why it was refused. */
export function alterClientQuotas(image: MetadataImage, entries: readonly unknown[]): { records: ClientQuotaRecord[]; results: AlterQuotaResult[] } {
  const records: ClientQuotaRecord[] = [];
  const results: AlterQuotaResult[] = [];
  // Entities already changed by an earlier entry of this request (Kafka applies entries in order).
  const working = new Map<string, Map<QuotaKey, number>>();
  const refuse = (message: string): void => {
    results.push({ code: 'INVALID_REQUEST', message });
  };
  if (entries.length > ALTER_QUOTA_ENTRIES_MAX) throw new FlotillaError('INVALID_REQUEST', `more than ${ALTER_QUOTA_ENTRIES_MAX} quota entries in one request`);
  for (const raw of entries) {
    const { entity, ops } = (typeof raw === 'object' && raw !== null ? raw : {}) as { entity?: unknown; ops?: unknown };
    const entityProblem = quotaEntityProblem(entity);
    if (entityProblem !== null) {
      refuse(`invalid quota entity: ${entityProblem}`);
      continue;
    }
    const parts = canonicalEntity((entity as QuotaEntityPart[]).map((p) => Object.freeze({ type: p.type, name: p.name })));
    if (!Array.isArray(ops) || ops.length > ALTER_QUOTA_ENTRIES_MAX) {
      refuse(`ops is not a list of at most ${ALTER_QUOTA_ENTRIES_MAX} operations`);
      continue;
    }
    const key = quotaEntityKey(parts);
    const current = working.get(key) ?? new Map(image.clientQuotas.get(key)?.values ?? []);
    const next = new Map(current);
    const named = new Set<string>();
    let problem: string | null = null;
    for (const op of ops as unknown[]) {
      const { key: k, value } = (typeof op === 'object' && op !== null ? op : {}) as { key?: unknown; value?: unknown };
      if (typeof k !== 'string') {
        problem = 'an operation has no key';
        break;
      }
      if (named.has(k)) {
        problem = `quota key ${k} appears twice`;
        break;
      }
      named.add(k);
      if (value !== null && typeof value !== 'number') {
        problem = `${k}: the value is not a number`;
        break;
      }
      problem = quotaValueProblem(parts, k, value);
      if (problem !== null) break;
      if (value === null) next.delete(k as QuotaKey);
      else next.set(k as QuotaKey, value);
    }
    if (problem !== null) {
      refuse(problem);
      continue;
    }
    const entityForRecords = Object.freeze(parts);
    for (const k of [...named].sort() as QuotaKey[]) {
      const was = current.get(k);
      const now = next.get(k);
      if (was === now) continue;
      records.push({ type: 'ClientQuota', entity: entityForRecords, key: k, value: now ?? null });
    }
    working.set(key, next);
    results.push(null);
  }
  return { records, results };
}

/** Kafka's DescribeClientQuotas match types. */
export const QuotaMatchTypes = { exact: 0, default: 1, specified: 2 } as const;

export interface QuotaFilterComponent {
  readonly entityType: string;
  readonly matchType: number;
  readonly match: string | null;
}

/** A filter refused: Kafka's error name and message. */
export interface QuotaFilterError {
  readonly code: 'INVALID_REQUEST' | 'UNSUPPORTED_VERSION';
  readonly message: string;
}

/** The entries of `image` that the filter matches (Kafka's ClientQuotasImage.describe), or why the filter is refused. */
export function describeClientQuotas(
  image: Pick<MetadataImage, 'clientQuotas'>, components: readonly QuotaFilterComponent[], strict: boolean,
): { readonly entries: QuotaEntry[] } | { readonly error: QuotaFilterError } {
  const invalid = (message: string): { error: QuotaFilterError } => ({ error: { code: 'INVALID_REQUEST', message } });
  const exact = new Map<string, string | null>();
  const specified = new Set<string>();
  for (const c of components) {
    if (c.entityType === '') return invalid('Invalid empty entity type.');
    if (exact.has(c.entityType) || specified.has(c.entityType)) return invalid(`Entity type ${c.entityType} cannot appear more than once in the filter.`);
    if (!isQuotaEntityType(c.entityType)) return { error: { code: 'UNSUPPORTED_VERSION', message: `Unsupported entity type ${c.entityType}` } };
    switch (c.matchType) {
      case QuotaMatchTypes.exact:
        if (c.match === null) return invalid('Request specified MATCH_TYPE_EXACT, but set match string to null.');
        exact.set(c.entityType, c.match);
        break;
      case QuotaMatchTypes.default:
        if (c.match !== null) return invalid('Request specified MATCH_TYPE_DEFAULT, but also specified a match string.');
        exact.set(c.entityType, null);
        break;
      case QuotaMatchTypes.specified:
        if (c.match !== null) return invalid('Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.');
        specified.add(c.entityType);
        break;
      default:
        return invalid(`Unknown match type ${c.matchType}`);
    }
  }
  const named = (t: string): boolean => exact.has(t) || specified.has(t);
  if (named('ip') && (named('user') || named('client-id'))) {
    return invalid('Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.');
  }
  const entries = quotaEntries(image).filter((e) => {
    if (strict && e.entity.length !== exact.size + specified.size) return false;
    for (const [type, name] of exact) {
      const part = e.entity.find((p) => p.type === type);
      if (part === undefined || part.name !== name) return false;
    }
    for (const type of specified) if (!e.entity.some((p) => p.type === type)) return false;
    return true;
  });
  return { entries };
}
