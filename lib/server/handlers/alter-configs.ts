/**
 * AlterConfigs (33): replace a topic's or broker's dynamic configuration (non-incremental: the
 * keys given replace every key). Unknown resource types get INVALID_REQUEST.
 */
import type { KafkaErrorValue } from '../errors.js';
import { configRefusal, securityKeyRefusal } from './authz.js';
import type { AlterConfigsRequest } from '../../metadata/controller-api.js';
import { alterConfigsApi } from '../../kafka/alter-configs.js';
import { handler } from '../handler.js';
import { resourceTypeName } from './describe-configs.js';

export const alterConfigsHandler = handler(alterConfigsApi, async (ctx, req) => {
  const resources: AlterConfigsRequest['resources'][number][] = [];
  // ALTER_CONFIGS on the topic (29) or the cluster (31); security settings refused for anyone.
  const refused = new Map<number, KafkaErrorValue>();
  for (const [i, r] of req.resources.entries()) {
    const type = resourceTypeName(r.resourceType);
    if (type === null) continue;
    const no = configRefusal(ctx, 'alter-configs', type, r.resourceName) ?? securityKeyRefusal(ctx, r.configs.map((c) => c.name));
    if (no !== null) {
      refused.set(i, no);
      continue;
    }
    resources.push({
      type, name: r.resourceName, incremental: false,
      configs: r.configs.map((c) => ({ key: c.name, value: c.value })),
    });
  }
  let results: readonly { type: string; name: string; error: unknown }[] = [];
  let failure: unknown = null;
  if (resources.length > 0) {
    try {
      results = (await ctx.broker.alterConfigs({ resources, validateOnly: req.validateOnly })).results;
    } catch (err) {
      failure = err;
    }
  }
  const responses = req.resources.map((r, i) => {
    const type = resourceTypeName(r.resourceType);
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    const no = refused.get(i);
    if (no !== undefined) return { ...no, ...base };
    if (type === null) return { ...ctx.errorOf('INVALID_REQUEST', `resource type ${r.resourceType} is not supported`), ...base };
    const found = results.find((x) => x.type === type && x.name === r.resourceName);
    if (found === undefined) return { ...ctx.error(failure ?? new Error(`no result for ${type} ${r.resourceName}`)), ...base };
    return { ...ctx.error(found.error), ...base };
  });
  return { throttleTimeMs: 0, responses };
});
