/**
 * IncrementalAlterConfigs (44): only the keys given change, each by its operation (SET, DELETE,
 * APPEND, SUBTRACT); the controller applies the operations to the image it validates against, so
 * concurrent changes of other keys are kept. Unknown resource types and operations get
 * INVALID_REQUEST for their resource.
 */
import type { KafkaErrorValue } from '../errors.js';
import { configRefusal, securityKeyRefusal } from './authz.js';
import type { AlterConfigsRequest, ConfigOp } from '../../metadata/controller-api.js';
import { ConfigOperation, incrementalAlterConfigsApi } from '../../kafka/incremental-alter-configs.js';
import { handler } from '../handler.js';
import { resourceTypeName } from './describe-configs.js';

const ops: Readonly<Record<number, ConfigOp>> = {
  [ConfigOperation.Set]: 'set', [ConfigOperation.Delete]: 'delete', [ConfigOperation.Append]: 'append', [ConfigOperation.Subtract]: 'subtract',
};

export const incrementalAlterConfigsHandler = handler(incrementalAlterConfigsApi, async (ctx, req) => {
  const resources: AlterConfigsRequest['resources'][number][] = [];
  const refused = new Map<number, string>();
  // ALTER_CONFIGS on the topic (29) or the cluster (31); security settings refused for anyone.
  const denials = new Map<number, KafkaErrorValue>();
  req.resources.forEach((r, i) => {
    const type = resourceTypeName(r.resourceType);
    const bad = r.configs.find((c) => ops[c.configOperation] === undefined);
    if (type === null) {
      refused.set(i, `resource type ${r.resourceType} is not supported`);
      return;
    }
    const no = configRefusal(ctx, 'alter-configs', type, r.resourceName) ?? securityKeyRefusal(ctx, r.configs.map((c) => c.name));
    if (no !== null) {
      denials.set(i, no);
      return;
    }
    if (bad) {
      refused.set(i, `config operation ${bad.configOperation} (of ${bad.name}) is not one of 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT`);
      return;
    }
    resources.push({
      type, name: r.resourceName, incremental: true,
      configs: r.configs.map((c) => {
        const op = ops[c.configOperation] as ConfigOp;
        return { key: c.name, value: op === 'delete' ? null : c.value, op };
      }),
    });
  });
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
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    const no = denials.get(i);
    if (no !== undefined) return { ...no, ...base };
    const why = refused.get(i);
    if (why !== undefined) return { ...ctx.errorOf('INVALID_REQUEST', why), ...base };
    const type = resourceTypeName(r.resourceType);
    const found = results.find((x) => x.type === type && x.name === r.resourceName);
    if (found === undefined) return { ...ctx.error(failure ?? new Error(`no result for ${type} ${r.resourceName}`)), ...base };
    return { ...ctx.error(found.error), ...base };
  });
  return { throttleTimeMs: 0, responses };
});
