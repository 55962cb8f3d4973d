/**
 * The authorizer: Kafka's StandardAuthorizer semantics (metadata/.../authorizer/
 * StandardAuthorizerData.java) as a pure function of the ACLs in the metadata image, the
 * principal, the client's (normalised) address and the action.
 *
 * Decision, in order:
 * 1. a super user is allowed everything, whatever the ACLs (DENY included);
 * 2. the ACLs whose pattern matches the resource: LITERAL with the same name, LITERAL `*`, and
 *    every PREFIXED whose name is a prefix of the resource's; among them, those whose principal is
 *    the caller's or `User:*`, whose host is the caller's address or `*`, and whose operation
 *    covers the action. Implications hold for ALLOW only (ALLOW READ/WRITE/DELETE/ALTER ⇒ DESCRIBE,
 *    ALLOW ALTER_CONFIGS ⇒ DESCRIBE_CONFIGS, ALL ⇒ everything; a DENY READ does not deny DESCRIBE);
 * 3. any matching DENY wins; else any matching ALLOW allows;
 * 4. nothing matched: if the resource has no ACL at all (for anyone), `allowEveryoneIfNoAclFound`
 *    decides; if it has some, DENY.
 *
 * The index (AclIndex) is rebuilt when the image's ACL map changes (images are immutable, so the
 * map's identity says so). Per resource type it holds a map of LITERAL names and a sorted array of
 * PREFIXED names; a lookup walks that array backwards from the resource name, jumping at each
 * non-prefix to the longest common prefix (the KAFKA-14265 fix: prefixed `fooa` must not hide `f`
 * from `foobar`), so it costs O(prefixes matched + jumps · log n), not a scan of every ACL.
 */
import type { AclImage } from '../metadata/image.js';
import { type AclOperation, type ResourceType, WILDCARD, WILDCARD_PRINCIPAL } from './acl.js';

export interface Action {
  readonly operation: AclOperation;
  readonly resourceType: ResourceType;
  /** A LITERAL name (Kafka authorizes only literal resources). */
  readonly resourceName: string;
}

export interface Decision {
  readonly allowed: boolean;
  /** What decided: "super-user", "acl <id>", "default-deny" (ACLs exist, none matched), "no-acl-found" (allow-everyone setting). */
  readonly rule: string;
}

export interface AuthorizerSettings {
  /** Principals ("User:admin") allowed everything. */
  readonly superUsers: readonly string[];
  /** Kafka's allow.everyone.if.no.acl.found. */
  readonly allowEveryoneIfNoAclFound: boolean;
}

const IMPLIES_DESCRIBE: ReadonlySet<AclOperation> = new Set(['describe', 'read', 'write', 'delete', 'alter']);
const IMPLIES_DESCRIBE_CONFIGS: ReadonlySet<AclOperation> = new Set(['describe-configs', 'alter-configs']);

/** Does `acl` (whose pattern matches the resource) speak about this principal, host and operation? Kafka's findResult. */
export function aclApplies(acl: AclImage, principal: string, host: string, op: AclOperation): boolean {
  if (acl.principal !== principal && acl.principal !== WILDCARD_PRINCIPAL) return false;
  if (acl.host !== WILDCARD && acl.host !== host) return false;
  if (acl.operation === 'all') return true;
  if (acl.permission === 'allow') {
    if (op === 'describe') return IMPLIES_DESCRIBE.has(acl.operation);
    if (op === 'describe-configs') return IMPLIES_DESCRIBE_CONFIGS.has(acl.operation);
  }
  return acl.operation === op;
}

interface TypeIndex {
  readonly literal: Map<string, AclImage[]>;
  readonly prefixed: Map<string, AclImage[]>;
  /** The keys of `prefixed`, sorted (UTF-16 code unit order, as startsWith compares). */
  prefixNames: string[];
}

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** The index of the last element ≤ key in a sorted array (-1: none). */
function lastAtMost(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The ACLs of one image, indexed for lookups by resource. */
export class AclIndex {
  readonly size: number;
  private readonly byType = new Map<ResourceType, TypeIndex>();
  private readonly all: readonly AclImage[];

  constructor(acls: Iterable<AclImage>) {
    const list: AclImage[] = [];
    for (const a of acls) {
      list.push(a);
      let t = this.byType.get(a.resourceType);
      if (t === undefined) {
        t = { literal: new Map(), prefixed: new Map(), prefixNames: [] };
        this.byType.set(a.resourceType, t);
      }
      const m = a.patternType === 'literal' ? t.literal : t.prefixed;
      const at = m.get(a.resourceName);
      if (at === undefined) m.set(a.resourceName, [a]);
      else at.push(a);
    }
    for (const t of this.byType.values()) t.prefixNames = [...t.prefixed.keys()].sort();
    this.all = list;
    this.size = list.length;
  }

  /** Every ACL (DescribeAcls, authorizeByResourceType). */
  acls(): readonly AclImage[] {
    return this.all;
  }

  /** Calls `visit` with each group of ACLs whose pattern matches the resource; `visit` returns true to stop. */
  forEachMatching(type: ResourceType, name: string, visit: (acls: readonly AclImage[]) => boolean): void {
    const t = this.byType.get(type);
    if (t === undefined) return;
    const exact = t.literal.get(name);
    if (exact !== undefined && visit(exact)) return;
    if (name !== WILDCARD) {
      const any = t.literal.get(WILDCARD);
      if (any !== undefined && visit(any)) return;
    }
    const names = t.prefixNames;
    let i = lastAtMost(names, name);
    while (i >= 0) {
      const p = names[i]!;
      if (name.startsWith(p)) {
        if (visit(t.prefixed.get(p)!)) return;
        i--;
        continue;
      }
      // Every prefix of `name` still to find is ≤ the common prefix of `p` and `name`, which is
      // shorter than `p` (p is not a prefix): jump there instead of stopping (KAFKA-14265).
      const jumpTo = lastAtMost(names, name.slice(0, commonPrefixLength(p, name)));
      i = Math.min(jumpTo, i - 1);
    }
  }

  /** The decision for a principal that is not a super user. */
  decide(principal: string, host: string, action: Action, allowEveryoneIfNoAclFound: boolean): Decision {
    let found = false;
    let allow: AclImage | null = null;
    let deny: AclImage | null = null;
    this.forEachMatching(action.resourceType, action.resourceName, (acls) => {
      for (const a of acls) {
        found = true;
        if (!aclApplies(a, principal, host, action.operation)) continue;
        if (a.permission === 'deny') {
          deny = a;
          return true;
        }
        allow ??= a;
      }
      return false;
    });
    if (deny !== null) return { allowed: false, rule: `acl ${(deny as AclImage).aclId}` };
    if (allow !== null) return { allowed: true, rule: `acl ${(allow as AclImage).aclId}` };
    if (found) return { allowed: false, rule: 'default-deny' };
    return { allowed: allowEveryoneIfNoAclFound, rule: 'no-acl-found' };
  }
}

/** Is `prefix` a prefix-ACL name that "dominates" `name` (a prefix of it)? */
function hasDeniedPrefix(name: string, deniedPrefixes: ReadonlySet<string>): boolean {
  for (let i = 1; i <= name.length; i++) if (deniedPrefixes.has(name.slice(0, i))) return true;
  return false;
}

export class Authorizer {
  private settings: AuthorizerSettings;
  private superUsers: ReadonlySet<string>;
  private readonly source: () => ReadonlyMap<string, AclImage>;
  private indexedMap: ReadonlyMap<string, AclImage> | null = null;
  private cached: AclIndex = new AclIndex([]);

  /** `source` gives the current image's ACLs (metadata image `acls`). */
  constructor(settings: AuthorizerSettings, source: () => ReadonlyMap<string, AclImage>) {
    this.settings = settings;
    this.superUsers = new Set(settings.superUsers);
    this.source = source;
  }

  /** Changes the super users and the allow-everyone setting; takes effect on the next decision. */
  configure(settings: AuthorizerSettings): void {
    this.settings = settings;
    this.superUsers = new Set(settings.superUsers);
  }

  /** The index of the current image's ACLs, rebuilt when they changed. */
  index(): AclIndex {
    const acls = this.source();
    if (acls !== this.indexedMap) {
      this.cached = new AclIndex(acls.values());
      this.indexedMap = acls;
    }
    return this.cached;
  }

  isSuperUser(principal: string): boolean {
    return this.superUsers.has(principal);
  }

  authorize(principal: string, host: string, action: Action): Decision {
    if (this.superUsers.has(principal)) return { allowed: true, rule: 'super-user' };
    return this.index().decide(principal, host, action, this.settings.allowEveryoneIfNoAclFound);
  }

  /**
   * Kafka's authorizeByResourceType (KIP-679): may the principal do `op` on SOME resource of the
   * type? An ALLOW on LITERAL `*`, or on a literal or prefix that no DENY (LITERAL `*`, the same
   * literal, or a prefix of it) shadows. A super user always may.
   */
  authorizeByResourceType(principal: string, host: string, op: AclOperation, type: ResourceType): Decision {
    // A hard-coded name first, as Kafka does: super users and allow-everyone pass here.
    const probe = this.authorize(principal, host, { operation: op, resourceType: type, resourceName: 'hardcode' });
    if (probe.allowed) return probe;
    const deniedLiteral = new Set<string>();
    const deniedPrefixed = new Set<string>();
    const allowed: AclImage[] = [];
    for (const a of this.index().acls()) {
      if (a.resourceType !== type) continue;
      if (a.host !== host && a.host !== WILDCARD) continue;
      if (a.principal !== principal && a.principal !== WILDCARD_PRINCIPAL) continue;
      if (a.operation !== op && a.operation !== 'all') continue;
      if (a.permission === 'deny') {
        if (a.patternType === 'literal' && a.resourceName === WILDCARD) return { allowed: false, rule: `acl ${a.aclId}` };
        (a.patternType === 'literal' ? deniedLiteral : deniedPrefixed).add(a.resourceName);
      } else {
        allowed.push(a);
      }
    }
    const wildcard = allowed.find((a) => a.patternType === 'literal' && a.resourceName === WILDCARD);
    if (wildcard !== undefined) return { allowed: true, rule: `acl ${wildcard.aclId}` };
    for (const a of allowed) {
      if (a.patternType === 'literal' && deniedLiteral.has(a.resourceName)) continue;
      if (hasDeniedPrefix(a.resourceName, deniedPrefixed)) continue;
      return { allowed: true, rule: `acl ${a.aclId}` };
    }
    return { allowed: false, rule: 'default-deny' };
  }
}
