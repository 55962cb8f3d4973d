/**
 * CreateTopics (19): BrokerApi.createTopics (which forwards to the metadata leader and waits until
 * this node's metadata shows the change). Checked here first, as Kafka does: a name given twice in
 * one request is INVALID_REQUEST for each; manual assignments must number partitions 0..n-1
 * (INVALID_REPLICA_ASSIGNMENT) and then count and replication factor must be -1 (INVALID_REQUEST).
 * From v5 a created topic's configs are returned (from describeConfigs).
 */
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { topicDenied } from './authz.js';
import type { CreateTopicResult, CreateTopicSpec } from '../../metadata/controller-api.js';
import { type CreateTopicsResponse, createTopicsApi } from '../../kafka/create-topics.js';
import { ZERO_UUID } from '../../kafka/primitives.js';
import type { KafkaErrorValue } from '../errors.js';
import { type RequestContext, handler } from '../handler.js';
import { configSourceCode } from './describe-configs.js';

type TopicOut = CreateTopicsResponse['topics'][number];

function failedTopic(name: string, e: KafkaErrorValue): TopicOut {
  return {
    name, topicId: ZERO_UUID, errorCode: e.errorCode, errorMessage: e.errorMessage, topicConfigErrorCode: 0,
    numPartitions: -1, replicationFactor: -1, configs: [],
  };
}

function configsOf(ctx: RequestContext, name: string): TopicOut['configs'] {
  try {
    const [r] = ctx.broker.describeConfigs([{ type: 'topic', name, keys: null }]);
    if (r === undefined || r.error !== null) return [];
    return r.entries.map((e) => ({
      name: e.name, value: e.sensitive ? null : e.value, readOnly: e.readOnly, configSource: configSourceCode(e.source), isSensitive: e.sensitive,
    }));
  } catch {
    return [];
  }
}

export const createTopicsHandler = handler(createTopicsApi, async (ctx, req) => {
  const counts = new Map<string, number>();
  for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const early = new Map<string, KafkaErrorValue>();
  const specs: CreateTopicSpec[] = [];
  // CREATE on the cluster, else CREATE on each topic (TOPIC_AUTHORIZATION_FAILED per topic).
  const clusterCreate = ctx.isAuthorized('create', 'cluster', CLUSTER_RESOURCE);
  for (const t of req.topics) {
    if ((counts.get(t.name) ?? 0) > 1) {
      early.set(t.name, ctx.errorOf('INVALID_REQUEST', `topic ${t.name} is named more than once in the request`));
      continue;
    }
    if (!clusterCreate && !ctx.authorize('create', 'topic', t.name)) {
      early.set(t.name, ctx.errorOf('TOPIC_AUTHORIZATION_FAILED', topicDenied('create', t.name)));
      continue;
    }
    let assignments: number[][] | null = null;
    if (t.assignments.length > 0) {
      if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
        early.set(t.name, ctx.errorOf('INVALID_REQUEST', 'with manual assignments, numPartitions and replicationFactor must be -1'));
        continue;
      }
      const sorted = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
      if (sorted.some((a, i) => a.partitionIndex !== i)) {
        early.set(t.name, ctx.errorOf('INVALID_REPLICA_ASSIGNMENT', 'partitions must be numbered 0..n-1 without gaps'));
        continue;
      }
      assignments = sorted.map((a) => [...a.brokerIds]);
    }
    const configs: Record<string, string> = {};
    for (const c of t.configs) if (c.value !== null) configs[c.name] = c.value;
    specs.push({
      name: t.name,
      partitions: assignments !== null ? assignments.length : t.numPartitions,
      replicationFactor: assignments !== null ? (assignments[0]?.length ?? -1) : t.replicationFactor,
      assignments,
      configs,
    });
  }
  // controller_mutation_rate (KIP-599): each topic takes its partition count; strict from v6
  // (THROTTLING_QUOTA_EXCEEDED for the topics beyond it), permissive before (created, then throttled).
  if (ctx.quota !== null && ctx.quota.quotas.controller_mutation_rate !== null && !req.validateOnly) {
    const quota = ctx.quota.mutation(ctx.apiVersion >= 6);
    for (const spec of specs.splice(0)) {
      if (quota.tryRecord(spec.partitions === -1 ? 1 : spec.partitions)) specs.push(spec);
      else early.set(spec.name, ctx.errorOf('THROTTLING_QUOTA_EXCEEDED', `controller mutation rate quota exceeded: retry in ${quota.throttleMs()} ms`));
    }
  }
  const results = new Map<string, CreateTopicResult>();
  let failure: unknown = null;
  if (specs.length > 0) {
    try {
      for (const r of (await ctx.broker.createTopics({ topics: specs, validateOnly: req.validateOnly })).results) results.set(r.name, r);
    } catch (err) {
      failure = err;
    }
  }
  const topics = req.topics.map((t): TopicOut => {
    const e = early.get(t.name);
    if (e !== undefined) return failedTopic(t.name, e);
    const r = results.get(t.name);
    if (r === undefined) return failedTopic(t.name, ctx.error(failure ?? new Error(`no result for topic ${t.name}`)));
    if (r.error !== null) return failedTopic(t.name, ctx.error(r.error));
    // The configs (v5+) only for a caller that may DESCRIBE_CONFIGS the topic (else topicConfigErrorCode 29).
    const withConfigs = ctx.apiVersion >= 5 && !req.validateOnly;
    const describable = !withConfigs || ctx.isAuthorized('describe-configs', 'topic', t.name);
    return {
      name: t.name, topicId: r.topicId ?? ZERO_UUID, errorCode: 0, errorMessage: null,
      topicConfigErrorCode: describable ? 0 : ctx.errorOf('TOPIC_AUTHORIZATION_FAILED').errorCode,
      numPartitions: r.partitions, replicationFactor: r.replicationFactor,
      configs: withConfigs && describable ? configsOf(ctx, t.name) : [],
    };
  });
  return { throttleTimeMs: 0, topics };
});
