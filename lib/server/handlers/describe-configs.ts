/**
 * DescribeConfigs (32): topic (resource type 2) and broker (4) configurations from
 * BrokerApi.describeConfigs, with each entry's source and, when asked, its synonyms (the entry
 * itself, as Kafka lists the effective value first). Other resource types get INVALID_REQUEST.
 * v0 has isDefault instead of the source; v3+ adds each entry's type and, when asked, its
 * documentation.
 * Topic configs are read after BrokerApi.syncMetadata (a read barrier on the metadata log): a
 * change acknowledged through any broker shows.
 */
import type { KafkaErrorValue } from '../errors.js';
import { configRefusal } from './authz.js';
import type { ConfigEntryView, ConfigSource, ConfigValueType } from '../../broker/api.js';
import { type DescribeConfigsResponse, describeConfigsApi } from '../../kafka/describe-configs.js';
import { handler } from '../handler.js';

/** Kafka's ConfigResource.Type codes. */
export const ResourceType = { Topic: 2, Broker: 4 } as const;

/** Kafka's DescribeConfigsResponse ConfigSource codes for our three sources. */
export function configSourceCode(source: ConfigSource): number {
  switch (source) {
    case 'topic': return 1; // DYNAMIC_TOPIC_CONFIG
    case 'broker': return 4; // STATIC_BROKER_CONFIG
    case 'cluster': return 3; // DYNAMIC_DEFAULT_BROKER_CONFIG
    case 'default': return 5; // DEFAULT_CONFIG
  }
}

/** Kafka's DescribeConfigsResponse ConfigType codes (0: UNKNOWN). */
const configTypeCodes: Record<ConfigValueType, number> = {
  boolean: 1, string: 2, int: 3, short: 4, long: 5, double: 6, list: 7, class: 8, password: 9,
};

export function resourceTypeName(code: number): 'topic' | 'broker' | null {
  return code === ResourceType.Topic ? 'topic' : code === ResourceType.Broker ? 'broker' : null;
}

type ConfigOut = DescribeConfigsResponse['results'][number]['configs'][number];

function configOut(e: ConfigEntryView, includeSynonyms: boolean, includeDocumentation: boolean): ConfigOut {
  const source = configSourceCode(e.source);
  return {
    name: e.name,
    value: e.sensitive ? null : e.value,
    readOnly: e.readOnly,
    isDefault: e.source === 'default',
    configSource: source,
    isSensitive: e.sensitive,
    synonyms: includeSynonyms ? [{ name: e.name, value: e.sensitive ? null : e.value, source }] : [],
    configType: e.type === undefined ? 0 : configTypeCodes[e.type],
    documentation: includeDocumentation ? e.doc : null,
  };
}

export const describeConfigsHandler = handler(describeConfigsApi, async (ctx, req) => {
  type Resource = { type: 'topic' | 'broker'; name: string; keys: readonly string[] | null };
  const asked: Resource[] = [];
  // DESCRIBE_CONFIGS on the topic (29) or, for a broker, on the cluster (31), per resource.
  const refused = new Map<number, KafkaErrorValue>();
  req.resources.forEach((r, i) => {
    const type = resourceTypeName(r.resourceType);
    if (type === null) return;
    const e = configRefusal(ctx, 'describe-configs', type, r.resourceName);
    if (e !== null) refused.set(i, e);
    else asked.push({ type, name: r.resourceName, keys: r.configurationKeys });
  });
  let answers: ReturnType<typeof ctx.broker.describeConfigs> = [];
  let failure: unknown = null;
  try {
    // Read your writes through any broker: KafkaJS sends AlterConfigs and the DescribeConfigs
    // after it to whichever broker answered its last Metadata request (each names itself the
    // controller), and a broker's metadata may trail the commit (the third of three replicas).
    if (asked.length > 0) await ctx.broker.syncMetadata();
    answers = ctx.broker.describeConfigs(asked);
  } catch (err) {
    failure = err;
  }
  let next = 0;
  const results = req.resources.map((r, i) => {
    const type = resourceTypeName(r.resourceType);
    const base = { resourceType: r.resourceType, resourceName: r.resourceName };
    const no = refused.get(i);
    if (no !== undefined) return { ...base, ...no, configs: [] };
    if (type === null) {
      const e = ctx.errorOf('INVALID_REQUEST', `resource type ${r.resourceType} is not supported`);
      return { ...base, ...e, configs: [] };
    }
    const a = answers[next++];
    if (a === undefined || a.type !== type || a.name !== r.resourceName) {
      const e = ctx.error(failure ?? new Error(`no answer for ${type} ${r.resourceName}`));
      return { ...base, ...e, configs: [] };
    }
    const e = ctx.error(a.error);
    return { ...base, ...e, configs: a.error === null ? a.entries.map((c) => configOut(c, req.includeSynonyms, req.includeDocumentation)) : [] };
  });
  return { throttleTimeMs: 0, results };
});
