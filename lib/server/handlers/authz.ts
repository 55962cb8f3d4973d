/**
 * Helpers the handlers share to enforce the authorization table (lib/server/authorization.ts):
 * one check per distinct resource (so one audit line per denied resource, not per partition).
 */
import type { AclOperation, ResourceType } from '../../auth/acl.js';
import type { RequestContext } from '../handler.js';

/** The distinct names among `names` the caller may NOT do `op` on (each checked and audited once). */
export function denied(ctx: RequestContext, op: AclOperation, type: ResourceType, names: Iterable<string>): ReadonlySet<string> {
  const out = new Set<string>();
  if (!ctx.authorizerEnabled) return out;
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
