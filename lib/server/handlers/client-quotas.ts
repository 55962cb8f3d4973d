/**
 * DescribeClientQuotas (48) and AlterClientQuotas (49), as Kafka's KafkaApis.
 *
 * Describe reads this node's metadata image after a read barrier (BrokerApi.syncMetadata), with
 * Kafka's matching (lib/metadata/client-quotas.ts describeClientQuotas); a bad filter is the
 * whole answer's INVALID_REQUEST (or UNSUPPORTED_VERSION for an unknown entity type) with
 * entries null. Alter is forwarded to the controller (BrokerApi.alterClientQuotas), which answers
 * once the records are applied on this node (read-your-writes); each entry gets its own error
 * (INVALID_REQUEST with a message for a bad entity, key or value), echoing the entity as sent. A
 * failure of the whole forward (no controller, a timeout) is that error on every entry.
 *
 * Authorization as Kafka: DESCRIBE_CONFIGS (Describe) or ALTER_CONFIGS (Alter) on the cluster,
 * else CLUSTER_AUTHORIZATION_FAILED for the whole request (Describe) or every entry (Alter).
 */
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { alterClientQuotasApi } from '../../kafka/alter-client-quotas.js';
import { describeClientQuotasApi } from '../../kafka/describe-client-quotas.js';
import { describeClientQuotas } from '../../metadata/client-quotas.js';
import { type QuotaEntityPart, quotaKeys } from '../../quota/entries.js';
import { handler } from '../handler.js';

export const describeClientQuotasHandler = handler(describeClientQuotasApi, async (ctx, req) => {
  if (!ctx.authorize('describe-configs', 'cluster', CLUSTER_RESOURCE)) {
    return { throttleTimeMs: 0, ...ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', 'DESCRIBE_CONFIGS on the cluster is required'), entries: null };
  }
  await ctx.broker.syncMetadata();
  const res = describeClientQuotas(ctx.broker.image(), req.components, req.strict);
  if ('error' in res) return { throttleTimeMs: 0, ...ctx.errorOf(res.error.code, res.error.message), entries: null };
  return {
    throttleTimeMs: 0, errorCode: 0, errorMessage: null,
    entries: res.entries.map((e) => ({
      entity: e.entity.map((p) => ({ entityType: p.type, entityName: p.name })),
      // In the order of quotaKeys, whatever order the records came in.
      values: quotaKeys.filter((k) => e.values.has(k)).map((key) => ({ key, value: e.values.get(key)! })),
    })),
  };
});

export const alterClientQuotasHandler = handler(alterClientQuotasApi, async (ctx, req) => {
  const echo = (i: number): { entityType: string; entityName: string | null }[] => req.entries[i]?.entity ?? [];
  if (!ctx.authorize('alter-configs', 'cluster', CLUSTER_RESOURCE)) {
    const e = ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', 'ALTER_CONFIGS on the cluster is required');
    return { throttleTimeMs: 0, entries: req.entries.map((_, i) => ({ ...e, entity: echo(i) })) };
  }
  try {
    const res = await ctx.broker.alterClientQuotas({
      entries: req.entries.map((entry) => ({
        // Unknown types go on as they are: the controller refuses them with a message.
        entity: entry.entity.map((p) => ({ type: p.entityType, name: p.entityName }) as QuotaEntityPart),
        ops: entry.ops.map((op) => ({ key: op.key, value: op.remove ? null : op.value })),
      })),
      validateOnly: req.validateOnly,
    });
    return {
      throttleTimeMs: 0,
      entries: req.entries.map((_, i) => {
        const r = res.results[i];
        const error = r === undefined || r === null ? { errorCode: 0, errorMessage: null } : ctx.error(r);
        return { ...error, entity: echo(i) };
      }),
    };
  } catch (err) {
    const e = ctx.error(err);
    return { throttleTimeMs: 0, entries: req.entries.map((_, i) => ({ ...e, entity: echo(i) })) };
  }
});
