/**
 * CreatePartitions (37): grow topics' partition counts (manual assignments for the new partitions
 * only, or placement's choice). A name given twice is INVALID_REQUEST.
 */
import { denied, topicDenied } from './authz.js';
import type { NamedResult } from '../../metadata/controller-api.js';
import { createPartitionsApi } from '../../kafka/create-partitions.js';
import type { KafkaErrorValue } from '../errors.js';
import { handler } from '../handler.js';

export const createPartitionsHandler = handler(createPartitionsApi, async (ctx, req) => {
  const counts = new Map<string, number>();
  for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  const early = new Map<string, KafkaErrorValue>();
  const topics = [];
  // ALTER on each topic (KIP-801 fixed the CREATE of old), TOPIC_AUTHORIZATION_FAILED per topic.
  const refused = denied(ctx, 'alter', 'topic', req.topics.map((t) => t.name));
  for (const t of req.topics) {
    if (refused.has(t.name)) {
      early.set(t.name, ctx.errorOf('TOPIC_AUTHORIZATION_FAILED', topicDenied('alter', t.name)));
      continue;
    }
    if ((counts.get(t.name) ?? 0) > 1) {
      early.set(t.name, ctx.errorOf('INVALID_REQUEST', `topic ${t.name} is named more than once in the request`));
      continue;
    }
    topics.push({ name: t.name, count: t.count, assignments: t.assignments === null ? null : t.assignments.map((a) => [...a.brokerIds]) });
  }
  // controller_mutation_rate (KIP-599): each topic takes the partitions it adds; strict from v3.
  if (ctx.quota !== null && ctx.quota.quotas.controller_mutation_rate !== null && !req.validateOnly) {
    const quota = ctx.quota.mutation(ctx.apiVersion >= 3);
    const current = new Map(ctx.broker.topics(topics.map((t) => t.name)).map((t) => [t.name, t.partitions.length]));
    for (const t of topics.splice(0)) {
      if (quota.tryRecord(Math.max(0, t.count - (current.get(t.name) ?? 0)))) topics.push(t);
      else early.set(t.name, ctx.errorOf('THROTTLING_QUOTA_EXCEEDED', `controller mutation rate quota exceeded: retry in ${quota.throttleMs()} ms`));
    }
  }
  const results = new Map<string, NamedResult>();
  let failure: unknown = null;
  if (topics.length > 0) {
    try {
      for (const r of (await ctx.broker.createPartitions({ topics, validateOnly: req.validateOnly })).results) results.set(r.name, r);
    } catch (err) {
      failure = err;
    }
  }
  return {
    throttleTimeMs: 0,
    results: req.topics.map((t) => {
      const e = early.get(t.name);
      if (e !== undefined) return { name: t.name, ...e };
      const r = results.get(t.name);
      return { name: t.name, ...(r === undefined ? ctx.error(failure ?? new Error(`no result for topic ${t.name}`)) : ctx.error(r.error)) };
    }),
  };
});
