/**
 * ACL bindings as Kafka's wire protocol and the metadata log name them: the codes of Kafka's
 * ResourceType, PatternType, AclOperation and AclPermissionType (clients/.../acl, .../resource),
 * their mapping to the names the metadata records use (lib/metadata/records.ts AclRecord), the
 * validation of a new binding (Kafka's AclControlManager.validateNewAcl) and the filters of
 * DescribeAcls/DeleteAcls (AclBindingFilter, with PatternType ANY and MATCH). Pure.
 */
import { isIP } from 'node:net';
import type { AclRecord } from '../metadata/records.js';
import type { AclImage } from '../metadata/image.js';

export type ResourceType = AclRecord['resourceType'];
export type PatternType = AclRecord['patternType'];
export type AclOperation = AclRecord['operation'];
export type Permission = AclRecord['permission'];

/** The one name of the Cluster resource (Kafka's CLUSTER_NAME). */
export const CLUSTER_RESOURCE = 'kafka-cluster';
/** LITERAL `*`: every resource of the type; also `User:*` and host `*`. */
export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';

/** Kafka's wire codes. */
export const ResourceTypeCode = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
export const PatternTypeCode = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export const OperationCode = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
} as const;
export const PermissionCode = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

const resourceTypeByCode = new Map<number, ResourceType>([[2, 'topic'], [3, 'group'], [4, 'cluster'], [5, 'transactional-id']]);
const patternTypeByCode = new Map<number, PatternType>([[3, 'literal'], [4, 'prefixed']]);
const operationByCode = new Map<number, AclOperation>([
  [2, 'all'], [3, 'read'], [4, 'write'], [5, 'create'], [6, 'delete'], [7, 'alter'], [8, 'describe'], [9, 'cluster-action'],
  [10, 'describe-configs'], [11, 'alter-configs'], [12, 'idempotent-write'],
]);
const permissionByCode = new Map<number, Permission>([[2, 'deny'], [3, 'allow']]);
const invert = <T>(m: Map<number, T>): Map<T, number> => new Map([...m].map(([k, v]) => [v, k]));
const resourceTypeCodes = invert(resourceTypeByCode);
const patternTypeCodes = invert(patternTypeByCode);
const operationCodes = invert(operationByCode);
const permissionCodes = invert(permissionByCode);

export const resourceTypeCode = (t: ResourceType): number => resourceTypeCodes.get(t) ?? 0;
export const patternTypeCode = (t: PatternType): number => patternTypeCodes.get(t) ?? 0;
export const operationCode = (o: AclOperation): number => operationCodes.get(o) ?? 0;
export const permissionCode = (p: Permission): number => permissionCodes.get(p) ?? 0;

/** Kafka's name of an operation ("DESCRIBE_CONFIGS"), as audit lines and the CLI show it. */
export function operationName(o: AclOperation): string {
  return o.toUpperCase().replace(/-/g, '_');
}
/** Kafka's name of a resource type in audit lines ("Topic", "TransactionalId"). */
export function resourceTypeName(t: ResourceType): string {
  return t === 'transactional-id' ? 'TransactionalId' : t[0]!.toUpperCase() + t.slice(1);
}
/** "Topic:LITERAL:orders", as Kafka's authorizer log names a resource. */
export function resourceString(t: ResourceType, pattern: PatternType, name: string): string {
  return `${resourceTypeName(t)}:${pattern.toUpperCase()}:${name}`;
}

/** An ACL binding without its id: what CreateAcls asks for. */
export type AclBinding = Omit<AclImage, 'aclId'>;

/** "Type:name" with a non-empty type and name (Kafka's SecurityUtils.parseKafkaPrincipal). */
export function isPrincipal(s: string): boolean {
  const at = s.indexOf(':');
  return at > 0 && at < s.length - 1;
}

/**
 * A creation from the wire, validated as Kafka's AclControlManager does; a string is the reason it
 * is refused (INVALID_REQUEST for that creation).
 */
export function bindingFromWire(c: {
  resourceType: number; resourceName: string; patternType: number; principal: string; host: string; operation: number; permissionType: number;
}): AclBinding | string {
  const resourceType = resourceTypeByCode.get(c.resourceType);
  if (resourceType === undefined) {
    return c.resourceType === ResourceTypeCode.DELEGATION_TOKEN || c.resourceType === ResourceTypeCode.USER
      ? `resource type ${c.resourceType} is not supported by this cluster` : `invalid resource type ${c.resourceType}`;
  }
  const patternType = patternTypeByCode.get(c.patternType);
  if (patternType === undefined) return `invalid pattern type ${c.patternType}: an ACL is LITERAL (3) or PREFIXED (4)`;
  const operation = operationByCode.get(c.operation);
  if (operation === undefined) return `invalid operation ${c.operation}`;
  const permission = permissionByCode.get(c.permissionType);
  if (permission === undefined) return `invalid permission type ${c.permissionType}: an ACL is DENY (2) or ALLOW (3)`;
  if (c.resourceName.length === 0) return 'the resource name is empty';
  if (resourceType === 'cluster' && c.resourceName !== CLUSTER_RESOURCE) return `the cluster resource is named "${CLUSTER_RESOURCE}", not "${c.resourceName}"`;
  if (!isPrincipal(c.principal)) return `the principal "${c.principal}" is not of the form Type:name`;
  if (!isAclHost(c.host)) return `the host "${c.host}" is neither "*" nor an IP address`;
  return { resourceType, resourceName: c.resourceName, patternType, principal: c.principal, host: c.host, operation, permission };
}

/** DescribeAcls' and DeleteAcls' filter (Kafka's AclBindingFilter), decoded. */
export interface AclFilter {
  /** null: ANY. */
  readonly resourceType: ResourceType | null;
  readonly resourceName: string | null;
  /** null: ANY; 'match': LITERAL of the name, LITERAL `*`, and every PREFIXED prefix of the name. */
  readonly patternType: PatternType | 'match' | null;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: AclOperation | null;
  readonly permission: Permission | null;
}

/** A filter from the wire, or the reason it is invalid. UNKNOWN anywhere is invalid, as in Kafka. */
export function filterFromWire(f: {
  resourceTypeFilter: number; resourceNameFilter: string | null; patternTypeFilter: number; principalFilter: string | null;
  hostFilter: string | null; operation: number; permissionType: number;
}): AclFilter | string {
  const resourceType = f.resourceTypeFilter === ResourceTypeCode.ANY ? null : resourceTypeByCode.get(f.resourceTypeFilter);
  if (resourceType === undefined) {
    return f.resourceTypeFilter === ResourceTypeCode.DELEGATION_TOKEN || f.resourceTypeFilter === ResourceTypeCode.USER
      ? `resource type ${f.resourceTypeFilter} is not supported by this cluster` : `invalid resource type filter ${f.resourceTypeFilter}`;
  }
  const patternType = f.patternTypeFilter === PatternTypeCode.ANY ? null : f.patternTypeFilter === PatternTypeCode.MATCH ? 'match' : patternTypeByCode.get(f.patternTypeFilter);
  if (patternType === undefined) return `invalid pattern type filter ${f.patternTypeFilter}`;
  const operation = f.operation === OperationCode.ANY ? null : operationByCode.get(f.operation);
  if (operation === undefined) return `invalid operation filter ${f.operation}`;
  const permission = f.permissionType === PermissionCode.ANY ? null : permissionByCode.get(f.permissionType);
  if (permission === undefined) return `invalid permission type filter ${f.permissionType}`;
  return { resourceType, resourceName: f.resourceNameFilter, patternType, principal: f.principalFilter, host: f.hostFilter, operation, permission };
}

/** Kafka's AclBindingFilter.matches. */
export function filterMatches(f: AclFilter, a: AclBinding): boolean {
  if (f.resourceType !== null && f.resourceType !== a.resourceType) return false;
  if (f.patternType === 'match') {
    if (f.resourceName === null) {
      // MATCH without a name matches every pattern type.
    } else if (a.patternType === 'literal') {
      if (a.resourceName !== f.resourceName && a.resourceName !== WILDCARD) return false;
    } else if (!f.resourceName.startsWith(a.resourceName)) {
      return false;
    }
  } else {
    if (f.patternType !== null && f.patternType !== a.patternType) return false;
    if (f.resourceName !== null && f.resourceName !== a.resourceName) return false;
  }
  if (f.principal !== null && f.principal !== a.principal) return false;
  if (f.host !== null && f.host !== a.host) return false;
  if (f.operation !== null && f.operation !== a.operation) return false;
  if (f.permission !== null && f.permission !== a.permission) return false;
  return true;
}

/** The same binding (every field but the id). */
export function sameBinding(a: AclBinding, b: AclBinding): boolean {
  return a.resourceType === b.resourceType && a.resourceName === b.resourceName && a.patternType === b.patternType
    && a.principal === b.principal && a.host === b.host && a.operation === b.operation && a.permission === b.permission;
}

const RESOURCE_TYPES: ReadonlySet<string> = new Set(resourceTypeByCode.values());
const PATTERN_TYPES: ReadonlySet<string> = new Set(patternTypeByCode.values());
const OPERATIONS: ReadonlySet<string> = new Set(operationByCode.values());

/** An ACL host: `*` or an IP address (compared as a string with the client's normalised address). */
export function isAclHost(host: string): boolean {
  return host === WILDCARD || isIP(host) !== 0;
}

/**
 * A binding as the controller receives it (an untrusted RPC body), checked again: the reason it is
 * refused, or null. The same rules as bindingFromWire, on the record's names.
 */
export function bindingProblem(b: unknown): string | null {
  if (typeof b !== 'object' || b === null) return 'an ACL is not an object';
  const a = b as Record<string, unknown>;
  const str = (k: string): string | null => (typeof a[k] === 'string' ? a[k] : null);
  const type = str('resourceType');
  const name = str('resourceName');
  const pattern = str('patternType');
  const principal = str('principal');
  const host = str('host');
  const op = str('operation');
  const perm = str('permission');
  if (type === null || !RESOURCE_TYPES.has(type)) return `invalid resource type ${String(a['resourceType'])}`;
  if (pattern === null || !PATTERN_TYPES.has(pattern)) return `invalid pattern type ${String(a['patternType'])}`;
  if (op === null || !OPERATIONS.has(op)) return `invalid operation ${String(a['operation'])}`;
  if (perm !== 'allow' && perm !== 'deny') return `invalid permission ${String(a['permission'])}`;
  if (name === null || name.length === 0) return 'the resource name is empty';
  if (type === 'cluster' && name !== CLUSTER_RESOURCE) return `the cluster resource is named "${CLUSTER_RESOURCE}", not "${name}"`;
  if (principal === null || !isPrincipal(principal)) return `the principal "${String(principal)}" is not of the form Type:name`;
  if (host === null || !isAclHost(host)) return `the host "${String(host)}" is neither "*" nor an IP address`;
  return null;
}

/**
 * The ACLs to add for `wanted` (in order), against the ACLs that exist: a binding that exists
 * already (or twice in the request) is not added again, and succeeds (Kafka's AclControlManager).
 * `problems[i]` is the reason binding i is refused, or null.
 */
export function planAclCreations(existing: Iterable<AclImage>, wanted: readonly unknown[], newId: () => string): { added: AclImage[]; problems: (string | null)[] } {
  const known: AclBinding[] = [...existing];
  const added: AclImage[] = [];
  const problems = wanted.map((w) => {
    const problem = bindingProblem(w);
    if (problem !== null) return problem;
    const b = w as AclBinding;
    if (known.some((k) => sameBinding(k, b))) return null;
    const acl: AclImage = {
      aclId: newId(), resourceType: b.resourceType, resourceName: b.resourceName, patternType: b.patternType, principal: b.principal,
      host: b.host, operation: b.operation, permission: b.permission,
    };
    known.push(acl);
    added.push(acl);
    return null;
  });
  return { added, problems };
}

/** The ACLs each filter removes (an ACL matched by two filters is removed once, reported under both, as Kafka). */
export function planAclDeletions(existing: Iterable<AclImage>, filters: readonly AclFilter[]): { removed: AclImage[]; matches: AclImage[][] } {
  const all = [...existing];
  const removed = new Map<string, AclImage>();
  const matches = filters.map((f) => {
    const hit = all.filter((a) => filterMatches(f, a));
    for (const a of hit) removed.set(a.aclId, a);
    return hit;
  });
  return { removed: [...removed.values()], matches };
}
