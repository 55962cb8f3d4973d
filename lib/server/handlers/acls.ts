/**
 * DescribeAcls (29), CreateAcls (30), DeleteAcls (31), as Kafka's AclApis: with the authorizer off
 * every answer is SECURITY_DISABLED; DescribeAcls needs DESCRIBE on the cluster, the other two
 * ALTER (CLUSTER_AUTHORIZATION_FAILED). A creation that does not validate (pattern MATCH/ANY,
 * operation ANY/UNKNOWN, empty name, cluster not named `kafka-cluster`, principal without `Type:`,
 * host neither `*` nor an IP) gets INVALID_REQUEST, the others go on; an invalid filter fails
 * alone. Writes go to the controller (BrokerApi.createAcls/deleteAcls) and are answered once this
 * node's metadata shows them, so the next request on the connection is authorized by them.
 * The caller was authorized here, on the receiving node, before the request was forwarded.
 */
import {
  type AclBinding, type AclFilter, CLUSTER_RESOURCE, bindingFromWire, filterFromWire, filterMatches, operationCode, patternTypeCode, permissionCode,
  resourceTypeCode,
} from '../../auth/acl.js';
import { type CreateAclsResponse, createAclsApi } from '../../kafka/create-acls.js';
import { type DeleteAclsResponse, deleteAclsApi } from '../../kafka/delete-acls.js';
import { type DescribeAclsResponse, describeAclsApi } from '../../kafka/describe-acls.js';
import type { AclImage } from '../../metadata/image.js';
import type { KafkaErrorValue } from '../errors.js';
import { type RequestContext, handler } from '../handler.js';

/** SECURITY_DISABLED, CLUSTER_AUTHORIZATION_FAILED, or null: the caller may go on. */
function refusal(ctx: RequestContext, op: 'describe' | 'alter'): KafkaErrorValue | null {
  if (!ctx.authorizerEnabled) return ctx.errorOf('SECURITY_DISABLED', 'no authorizer is configured on this cluster (--authorizer)');
  if (!ctx.authorize(op, 'cluster', CLUSTER_RESOURCE)) return ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', `${op.toUpperCase()} on the cluster is required`);
  return null;
}

function wireFields(a: AclImage): { resourceType: number; resourceName: string; patternType: number; principal: string; host: string; operation: number; permissionType: number } {
  return {
    resourceType: resourceTypeCode(a.resourceType), resourceName: a.resourceName, patternType: patternTypeCode(a.patternType),
    principal: a.principal, host: a.host, operation: operationCode(a.operation), permissionType: permissionCode(a.permission),
  };
}

/** v0 carries no pattern type: only LITERAL bindings can be told apart there. */
function representable(ctx: RequestContext, a: AclImage): boolean {
  return ctx.apiVersion >= 1 || a.patternType === 'literal';
}

export const describeAclsHandler = handler(describeAclsApi, async (ctx, req): Promise<DescribeAclsResponse> => {
  const refused = refusal(ctx, 'describe');
  if (refused !== null) return { throttleTimeMs: 0, ...refused, resources: [] };
  const filter = filterFromWire(req);
  if (typeof filter === 'string') return { throttleTimeMs: 0, ...ctx.errorOf('INVALID_REQUEST', filter), resources: [] };
  // Grouped by resource pattern, as Kafka's DescribeAclsResponse.aclsResources does.
  const groups = new Map<string, DescribeAclsResponse['resources'][number]>();
  const matching = [...ctx.broker.image().acls.values()].filter((a) => filterMatches(filter, a) && representable(ctx, a));
  matching.sort((a, b) => (a.resourceType < b.resourceType ? -1 : a.resourceType > b.resourceType ? 1 : a.resourceName < b.resourceName ? -1 : a.resourceName > b.resourceName ? 1 : 0));
  for (const a of matching) {
    const w = wireFields(a);
    const key = `${w.resourceType}\u0000${w.patternType}\u0000${w.resourceName}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { resourceType: w.resourceType, resourceName: w.resourceName, patternType: w.patternType, acls: [] };
      groups.set(key, g);
    }
    g.acls.push({ principal: w.principal, host: w.host, operation: w.operation, permissionType: w.permissionType });
  }
  return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, resources: [...groups.values()] };
});

export const createAclsHandler = handler(createAclsApi, async (ctx, req): Promise<CreateAclsResponse> => {
  const refused = refusal(ctx, 'alter');
  if (refused !== null) return { throttleTimeMs: 0, results: req.creations.map(() => refused) };
  const checked = req.creations.map((c) => bindingFromWire({ ...c, patternType: c.resourcePatternType }));
  const valid = checked.filter((c): c is AclBinding => typeof c !== 'string');
  let answers: readonly ({ code: string; message: string } | null)[] = [];
  let failure: unknown = null;
  if (valid.length > 0) {
    try {
      answers = (await ctx.broker.createAcls({ acls: valid })).results;
    } catch (err) {
      failure = err;
    }
  }
  let next = 0;
  const results = checked.map((c): KafkaErrorValue => {
    if (typeof c === 'string') return ctx.errorOf('INVALID_REQUEST', c);
    const i = next++;
    if (failure !== null) return ctx.error(failure);
    const a = answers[i];
    if (a === undefined) return ctx.error(new Error('the controller answered fewer results than ACLs'));
    return a === null ? { errorCode: 0, errorMessage: null } : ctx.error(a);
  });
  return { throttleTimeMs: 0, results };
});

export const deleteAclsHandler = handler(deleteAclsApi, async (ctx, req): Promise<DeleteAclsResponse> => {
  const refused = refusal(ctx, 'alter');
  if (refused !== null) return { throttleTimeMs: 0, filterResults: req.filters.map(() => ({ ...refused, matchingAcls: [] })) };
  const checked = req.filters.map((f) => filterFromWire(f));
  const valid = checked.filter((f): f is AclFilter => typeof f !== 'string');
  let answers: readonly { deleted: readonly AclImage[] }[] = [];
  let failure: unknown = null;
  if (valid.length > 0) {
    try {
      answers = (await ctx.broker.deleteAcls({ filters: valid })).results;
    } catch (err) {
      failure = err;
    }
  }
  let next = 0;
  const filterResults = checked.map((f): DeleteAclsResponse['filterResults'][number] => {
    if (typeof f === 'string') return { ...ctx.errorOf('INVALID_REQUEST', f), matchingAcls: [] };
    const i = next++;
    if (failure !== null) return { ...ctx.error(failure), matchingAcls: [] };
    const deleted = answers[i]?.deleted ?? [];
    return {
      errorCode: 0, errorMessage: null,
      matchingAcls: deleted.filter((a) => representable(ctx, a)).map((a) => {
        const w = wireFields(a);
        return { errorCode: 0, errorMessage: null, ...w };
      }),
    };
  });
  return { throttleTimeMs: 0, filterResults };
});
