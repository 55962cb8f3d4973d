/**
 * DeleteTopics (20): by name (v1-v5), or by name or topic id (v6). An id this node does not know
 * is UNKNOWN_TOPIC_ID; a name given twice is INVALID_REQUEST.
 */
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { denied, topicDenied } from './authz.js';
import type { NamedResult } from '../../metadata/controller-api.js';
import { type DeleteTopicsResponse, deleteTopicsApi } from '../../kafka/delete-topics.js';
import { ZERO_UUID } from '../../kafka/primitives.js';
import type { KafkaErrorValue } from '../errors.js';
import { handler } from '../handler.js';

type Out = DeleteTopicsResponse['responses'][number];

export const deleteTopicsHandler = handler(deleteTopicsApi, async (ctx, req) => {
  // The asked topics, each as (name or null, id) with any lookup error.
  const asked: { name: string | null; topicId: string; error: KafkaErrorValue | null }[] = [];
  if (ctx.apiVersion >= 6) {
    const needIds = req.topics.some((t) => t.topicId !== ZERO_UUID);
    const byId = needIds ? new Map(ctx.broker.topics(null).map((t) => [t.topicId, t.name])) : new Map<string, string>();
    for (const t of req.topics) {
      if (t.topicId !== ZERO_UUID) {
        const name = byId.get(t.topicId);
        if (name === undefined) asked.push({ name: t.name, topicId: t.topicId, error: ctx.errorOf('UNKNOWN_TOPIC_ID') });
        else if (t.name !== null && t.name !== name) {
          asked.push({ name: t.name, topicId: t.topicId, error: ctx.errorOf('INVALID_REQUEST', 'topic name and id do not match') });
        } else asked.push({ name, topicId: t.topicId, error: null });
      } else if (t.name === null) {
        asked.push({ name: null, topicId: ZERO_UUID, error: ctx.errorOf('INVALID_REQUEST', 'neither a topic name nor an id') });
      } else asked.push({ name: t.name, topicId: ZERO_UUID, error: null });
    }
  } else {
    for (const n of req.topicNames) asked.push({ name: n, topicId: ZERO_UUID, error: null });
  }
  const counts = new Map<string, number>();
  for (const a of asked) if (a.name !== null) counts.set(a.name, (counts.get(a.name) ?? 0) + 1);
  for (const a of asked) {
    if (a.error === null && a.name !== null && (counts.get(a.name) ?? 0) > 1) {
      a.error = ctx.errorOf('INVALID_REQUEST', `topic ${a.name} is named more than once in the request`);
    }
  }
  // Authorization (ControllerApis.deleteTopics), before existence: DELETE on the cluster, else
  // DELETE (which implies DESCRIBE) on each topic; TOPIC_AUTHORIZATION_FAILED per topic.
  if (ctx.authorizerEnabled && !ctx.isAuthorized('delete', 'cluster', CLUSTER_RESOURCE)) {
    const refused = denied(ctx, 'delete', 'topic', asked.filter((a) => a.error === null && a.name !== null).map((a) => a.name as string));
    for (const a of asked) if (a.error === null && a.name !== null && refused.has(a.name)) a.error = ctx.errorOf('TOPIC_AUTHORIZATION_FAILED', topicDenied('delete', a.name));
  }
  // controller_mutation_rate (KIP-599): each topic takes its partition count; strict from v5.
  if (ctx.quota !== null && ctx.quota.quotas.controller_mutation_rate !== null) {
    const quota = ctx.quota.mutation(ctx.apiVersion >= 5);
    const candidates = asked.filter((a) => a.error === null && a.name !== null);
    const sizes = new Map(ctx.broker.topics(candidates.map((a) => a.name as string)).map((t) => [t.name, t.partitions.length]));
    for (const a of candidates) {
      if (!quota.tryRecord(sizes.get(a.name as string) ?? 0)) {
        a.error = ctx.errorOf('THROTTLING_QUOTA_EXCEEDED', `controller mutation rate quota exceeded: retry in ${quota.throttleMs()} ms`);
      }
    }
  }
  const names = asked.filter((a) => a.error === null && a.name !== null).map((a) => a.name as string);
  const results = new Map<string, NamedResult>();
  let failure: unknown = null;
  if (names.length > 0) {
    const ids = new Map(ctx.broker.topics(names).map((t) => [t.name, t.topicId]));
    for (const a of asked) if (a.name !== null && a.topicId === ZERO_UUID) a.topicId = ids.get(a.name) ?? ZERO_UUID;
    try {
      for (const r of (await ctx.broker.deleteTopics(names, Math.max(0, req.timeoutMs))).results) results.set(r.name, r);
    } catch (err) {
      failure = err;
    }
  }
  const responses = asked.map((a): Out => {
    const base = { name: ctx.apiVersion >= 6 ? a.name : (a.name ?? ''), topicId: a.topicId };
    if (a.error !== null) return { ...base, ...a.error };
    const r = results.get(a.name as string);
    const e = r === undefined ? ctx.error(failure ?? new Error(`no result for topic ${a.name}`)) : ctx.error(r.error);
    return { ...base, ...e };
  });
  return { throttleTimeMs: 0, responses };
});
