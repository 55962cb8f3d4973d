/**
 * Helpers the handlers share to enforce the authorization table (lib/server/authorization.ts):
 * one check per distinct resource (so one audit line per denied resource, not per partition).
 */
import type { AclOperation, ResourceType } from '../../auth/acl.js';
import { CLUSTER_RESOURCE, operationCode } from '../../auth/acl.js';
import type { KafkaErrorValue } from '../errors.js';
import type { RequestContext } from '../handler.js';

/** The distinct names among `names` the caller may NOT do `op` on (each checked and audited once). */
/** What `denied` answers with the authorizer off: one shared empty set, nothing allocated per request. */
const NONE_DENIED: ReadonlySet<string> = new Set<string>();

export function denied(ctx: RequestContext, op: AclOperation, type: ResourceType, names: Iterable<string>): ReadonlySet<string> {
  if (!ctx.authorizerEnabled) return NONE_DENIED;
  const out = new Set<string>();
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) continue;
    seen.add(n);
    if (!ctx.authorize(op, type, n)) out.add(n);
  }
  return out;
}

/** Topic-level denial message. */
export function topicDenied(op: AclOperation, name: string): string {
  return `${op.toUpperCase()} on topic ${name} is not authorized`;
}

/**
 * Settings of the security of a node (Kafka's listener, SASL, SSL and authorizer keys, and their
 * Flotilla names): never alterable through AlterConfigs/IncrementalAlterConfigs, by anyone, super
 * users included (the CVE-2023-25194 class: a config change that reaches JAAS or the authorizer).
 */
const SECURITY_KEY = /^(super\.users|authorizer\.class\.name|allow\.everyone\.if\.no\.acl\.found|listeners|advertised\.listeners|listener\.security\.protocol\.map|inter\.broker\.listener\.name|principal\.builder\.class|connections\.max\.reauth\.ms|(sasl|ssl|security|listener\.name)\..*|flotilla\.(authorizer|super\.users|allow\.everyone|sasl|tls|ssl|listener).*)$/i;

export function isSecurityConfigKey(key: string): boolean {
  return SECURITY_KEY.test(key);
}

/**
 * The error of a config resource the caller may not describe/alter (DESCRIBE_CONFIGS or
 * ALTER_CONFIGS on the topic, or on the cluster for a broker resource), or null.
 */
export function configRefusal(ctx: RequestContext, op: 'describe-configs' | 'alter-configs', type: 'topic' | 'broker', name: string): KafkaErrorValue | null {
  if (type === 'topic') {
    return ctx.authorize(op, 'topic', name) ? null : ctx.errorOf('TOPIC_AUTHORIZATION_FAILED', `${op.toUpperCase()} on topic ${name} is not authorized`);
  }
  return ctx.authorize(op, 'cluster', CLUSTER_RESOURCE) ? null : ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', `${op.toUpperCase()} on the cluster is not authorized`);
}

/** The refusal of an alteration of security settings, or null. */
export function securityKeyRefusal(ctx: RequestContext, keys: readonly string[]): KafkaErrorValue | null {
  const bad = keys.find(isSecurityConfigKey);
  return bad === undefined ? null : ctx.errorOf('INVALID_CONFIG', `${bad} is a security setting: it is set on each node's command line, never through AlterConfigs`);
}

/** Kafka's "authorized operations not asked for" (Integer.MIN_VALUE). */
export const OPERATIONS_OMITTED = -2147483648;

/** The operations a resource type supports (Kafka's AclEntry.supportedOperations). */
const SUPPORTED: Readonly<Record<ResourceType, readonly AclOperation[]>> = {
  topic: ['read', 'write', 'create', 'describe', 'delete', 'alter', 'describe-configs', 'alter-configs'],
  group: ['read', 'describe', 'delete'],
  cluster: ['create', 'cluster-action', 'describe-configs', 'alter-configs', 'idempotent-write', 'alter', 'describe'],
  'transactional-id': ['describe', 'write'],
};

/**
 * The `...AuthorizedOperations` bit field (bit = Kafka's operation code) of what the caller may do
 * on the resource, when asked and the authorizer is on; OPERATIONS_OMITTED otherwise (with the
 * authorizer off nothing changes). Filtering checks: nothing audited.
 */
export function authorizedOperations(ctx: RequestContext, asked: boolean, type: ResourceType, name: string): number {
  if (!asked || !ctx.authorizerEnabled) return OPERATIONS_OMITTED;
  let bits = 0;
  for (const op of SUPPORTED[type]) if (ctx.isAuthorized(op, type, name)) bits |= 1 << operationCode(op);
  return bits;
}
