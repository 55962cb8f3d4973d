/**
 * The consumer-group APIs (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
 * DescribeGroups, ListGroups, DeleteGroups, OffsetDelete): each decodes its versions' fields into
 * a GroupCoordinatorApi call (lib/group/api.ts) and the result back into the version's response.
 * Without a coordinator (`ctx.groups` undefined) every group answers COORDINATOR_NOT_AVAILABLE
 * (retriable). The coordinator's results carry Kafka error names; `ctx.errorOf` turns them into
 * codes (and counts them).
 *
 * Versions: JoinGroup v0 has no rebalance timeout (the session timeout serves, Kafka's rule), v4+
 * gets MEMBER_ID_REQUIRED, v7+ the protocol type (and null names on errors), v8+ sends a reason
 * (logged), v9+ skipAssignment; LeaveGroup v5+ reasons; SyncGroup v5+ protocol checks;
 * OffsetCommit v0 commits outside any generation, v1 carries commit times, v2-v4 a retention,
 * v9+ GROUP_ID_NOT_FOUND; DescribeGroups v6+ GROUP_ID_NOT_FOUND with a message (no error before);
 * OffsetFetch v0 is v1; ListGroups v5 filters by type (every group here
 * is 'classic').
 */
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { OPERATIONS_OMITTED, authorizedOperations, denied } from './authz.js';
import type { DescribedMember } from '../../group/api.js';
import type { GroupErrorName } from '../../group/errors.js';
import { deleteGroupsApi } from '../../kafka/delete-groups.js';
import { describeGroupsApi } from '../../kafka/describe-groups.js';
import { heartbeatApi } from '../../kafka/heartbeat.js';
import { joinGroupApi } from '../../kafka/join-group.js';
import { leaveGroupApi } from '../../kafka/leave-group.js';
import { listGroupsApi } from '../../kafka/list-groups.js';
import { offsetCommitApi } from '../../kafka/offset-commit.js';
import { offsetDeleteApi } from '../../kafka/offset-delete.js';
import { offsetFetchApi } from '../../kafka/offset-fetch.js';
import { syncGroupApi } from '../../kafka/sync-group.js';
import { type RequestContext, handler } from '../handler.js';

const EMPTY = Buffer.alloc(0);

function code(ctx: RequestContext, name: GroupErrorName | null): number {
  return name === null ? 0 : ctx.errorOf(name).errorCode;
}

/** Groups results by topic, keeping first-seen order. */
function byTopic<T extends { topic: string }>(items: readonly T[]): { name: string; items: T[] }[] {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const list = m.get(it.topic);
    if (list) list.push(it);
    else m.set(it.topic, [it]);
  }
  return [...m].map(([name, list]) => ({ name, items: list }));
}

export const joinGroupHandler = handler(joinGroupApi, async (ctx, req) => {
  // v7+ carry null names on errors; older versions have non-nullable names: ''.
  const fail = (name: GroupErrorName) => ({
    throttleTimeMs: 0, errorCode: code(ctx, name), generationId: -1, protocolType: null, protocolName: ctx.apiVersion >= 7 ? null : '',
    leader: '', skipAssignment: false, memberId: req.memberId, members: [],
  });
  if (!ctx.authorize('read', 'group', req.groupId)) return fail('GROUP_AUTHORIZATION_FAILED');
  if (ctx.groups === undefined) return fail('COORDINATOR_NOT_AVAILABLE');
  const r = await ctx.groups.joinGroup({
    groupId: req.groupId,
    memberId: req.memberId,
    groupInstanceId: ctx.apiVersion >= 5 ? req.groupInstanceId : null,
    clientId: ctx.header.clientId ?? '',
    clientHost: ctx.clientHost,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: ctx.apiVersion >= 1 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
    protocolType: req.protocolType,
    protocols: req.protocols,
    requireKnownMemberId: ctx.apiVersion >= 4,
    supportSkippingAssignment: ctx.apiVersion >= 9,
    reason: ctx.apiVersion >= 8 ? req.reason : null,
  });
  if (r.error !== null) return { ...fail(r.error), memberId: r.memberId };
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    generationId: r.generationId,
    protocolType: r.protocolType,
    protocolName: r.protocolName,
    leader: r.leaderId,
    skipAssignment: r.skipAssignment,
    memberId: r.memberId,
    members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadata })),
  };
});

export const syncGroupHandler = handler(syncGroupApi, async (ctx, req) => {
  if (!ctx.authorize('read', 'group', req.groupId)) {
    return { throttleTimeMs: 0, errorCode: code(ctx, 'GROUP_AUTHORIZATION_FAILED'), protocolType: null, protocolName: null, assignment: EMPTY };
  }
  if (ctx.groups === undefined) {
    return { throttleTimeMs: 0, errorCode: code(ctx, 'COORDINATOR_NOT_AVAILABLE'), protocolType: null, protocolName: null, assignment: EMPTY };
  }
  const v5 = ctx.apiVersion >= 5;
  const r = await ctx.groups.syncGroup({
    groupId: req.groupId, generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId, assignments: req.assignments,
    protocolType: v5 ? req.protocolType : null, protocolName: v5 ? req.protocolName : null,
  });
  return { throttleTimeMs: 0, errorCode: code(ctx, r.error), protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
});

export const heartbeatHandler = handler(heartbeatApi, async (ctx, req) => {
  if (!ctx.authorize('read', 'group', req.groupId)) return { throttleTimeMs: 0, errorCode: code(ctx, 'GROUP_AUTHORIZATION_FAILED') };
  if (ctx.groups === undefined) return { throttleTimeMs: 0, errorCode: code(ctx, 'COORDINATOR_NOT_AVAILABLE') };
  const error = await ctx.groups.heartbeat({
    groupId: req.groupId, generationId: req.generationId, memberId: req.memberId, groupInstanceId: req.groupInstanceId,
  });
  return { throttleTimeMs: 0, errorCode: code(ctx, error) };
});

export const leaveGroupHandler = handler(leaveGroupApi, async (ctx, req) => {
  const batch = ctx.apiVersion >= 3;
  const members = batch
    ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: ctx.apiVersion >= 5 ? m.reason : null }))
    : [{ memberId: req.memberId, groupInstanceId: null, reason: null }];
  const authorized = ctx.authorize('read', 'group', req.groupId);
  if (ctx.groups === undefined || !authorized) {
    const c = code(ctx, authorized ? 'COORDINATOR_NOT_AVAILABLE' : 'GROUP_AUTHORIZATION_FAILED');
    return { throttleTimeMs: 0, errorCode: c, members: members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: c })) };
  }
  const r = await ctx.groups.leaveGroup(req.groupId, members);
  const results = r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: code(ctx, m.error) }));
  // v0-v2 have one member, whose error is the response's.
  const top = r.error !== null ? code(ctx, r.error) : batch ? 0 : results[0]?.errorCode ?? 0;
  return { throttleTimeMs: 0, errorCode: top, members: batch ? results : [] };
});

export const offsetCommitHandler = handler(offsetCommitApi, async (ctx, req) => {
  const v = ctx.apiVersion;
  const offsets = req.topics.flatMap((t) => t.partitions.map((p) => ({
    topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata,
    commitTimestampMs: v === 1 ? p.commitTimestamp : -1,
  })));
  // Authorization (KafkaApis.handleOffsetCommitRequest): READ on the group, else every partition
  // GROUP_AUTHORIZATION_FAILED; then READ on each topic, TOPIC_AUTHORIZATION_FAILED per partition.
  const groupRefused = !ctx.authorize('read', 'group', req.groupId);
  const unreadable = groupRefused ? new Set<string>() : denied(ctx, 'read', 'topic', offsets.map((o) => o.topic));
  const refusedOut = offsets.filter((o) => groupRefused || unreadable.has(o.topic))
    .map((o) => ({ topic: o.topic, partition: o.partition, error: groupRefused ? 'GROUP_AUTHORIZATION_FAILED' as const : 'TOPIC_AUTHORIZATION_FAILED' as const }));
  const allowed = offsets.filter((o) => !groupRefused && !unreadable.has(o.topic));
  const served = allowed.length === 0 && refusedOut.length > 0 ? [] : ctx.groups === undefined
    ? allowed.map((o) => ({ topic: o.topic, partition: o.partition, error: 'COORDINATOR_NOT_AVAILABLE' as const }))
    : (await ctx.groups.commitOffsets({
        groupId: req.groupId,
        // v0 has no membership: a commit outside any generation, as an admin's.
        generationId: v >= 1 ? req.generationId : -1,
        memberId: v >= 1 ? req.memberId : '',
        groupInstanceId: v >= 7 ? req.groupInstanceId : null,
        groupIdNotFound: v >= 9,
        retentionTimeMs: v >= 2 && v <= 4 ? req.retentionTimeMs : -1,
        offsets: allowed,
      })).partitions;
  const results: { topic: string; partition: number; error: GroupErrorName | null }[] = [...served, ...refusedOut];
  return {
    throttleTimeMs: 0,
    topics: byTopic(results).map((t) => ({
      name: t.name, partitions: t.items.map((p) => ({ partitionIndex: p.partition, errorCode: code(ctx, p.error) })),
    })),
  };
});

type FetchTopics = { name: string; partitionIndexes: number[] }[] | null;

async function fetchGroup(ctx: RequestContext, groupId: string, topics: FetchTopics, requireStable: boolean) {
  // Authorization (KafkaApis.handleOffsetFetchRequest): DESCRIBE on the group; DESCRIBE on each
  // named topic (TOPIC_AUTHORIZATION_FAILED per partition); all-offsets requests leave the others out.
  if (!ctx.authorize('describe', 'group', groupId)) return { errorCode: code(ctx, 'GROUP_AUTHORIZATION_FAILED'), topics: [] };
  if (ctx.groups === undefined) return { errorCode: code(ctx, 'COORDINATOR_NOT_AVAILABLE'), topics: [] };
  const hidden = topics === null ? new Set<string>() : denied(ctx, 'describe', 'topic', topics.map((t) => t.name));
  const r = await ctx.groups.fetchOffsets({
    groupId, requireStable, topics: topics === null ? null : topics.filter((t) => !hidden.has(t.name)).map((t) => ({ topic: t.name, partitions: t.partitionIndexes })),
  });
  const partitions = [
    ...r.partitions.filter((p) => topics !== null || ctx.isAuthorized('describe', 'topic', p.topic)),
    ...(topics ?? []).filter((t) => hidden.has(t.name)).flatMap((t) => t.partitionIndexes.map((partition) => ({
      topic: t.name, partition, offset: -1, leaderEpoch: -1, metadata: '', error: 'TOPIC_AUTHORIZATION_FAILED' as const,
    }))),
  ];
  return {
    errorCode: code(ctx, r.error),
    topics: byTopic(partitions).map((t) => ({
      name: t.name,
      partitions: t.items.map((p) => ({
        partitionIndex: p.partition, committedOffset: p.offset, committedLeaderEpoch: p.leaderEpoch, metadata: p.metadata, errorCode: code(ctx, p.error),
      })),
    })),
  };
}

export const offsetFetchHandler = handler(offsetFetchApi, async (ctx, req) => {
  if (ctx.apiVersion >= 8) {
    const groups = [];
    for (const g of req.groups) {
      // v9's member id and epoch are checked for new-protocol (KIP-848) groups only; every group
      // here is classic, where Kafka ignores them.
      const r = await fetchGroup(ctx, g.groupId, g.topics, req.requireStable);
      groups.push({ groupId: g.groupId, topics: r.topics, errorCode: r.errorCode });
    }
    return { throttleTimeMs: 0, topics: [], errorCode: 0, groups };
  }
  const r = await fetchGroup(ctx, req.groupId, req.topics, req.requireStable);
  if (ctx.apiVersion < 2 && r.errorCode !== 0) {
    // v0-v1 have no top-level error: every requested partition carries it.
    const topics = (req.topics ?? []).map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: r.errorCode })),
    }));
    return { throttleTimeMs: 0, topics, errorCode: r.errorCode, groups: [] };
  }
  return { throttleTimeMs: 0, topics: r.topics, errorCode: r.errorCode, groups: [] };
});

export const describeGroupsHandler = handler(describeGroupsApi, async (ctx, req) => {
  // DESCRIBE on each group, else that group GROUP_AUTHORIZATION_FAILED.
  const refused = denied(ctx, 'describe', 'group', req.groups);
  const asked = req.groups.filter((g) => !refused.has(g));
  const found = ctx.groups === undefined
    ? asked.map((groupId) => ({ groupId, error: 'COORDINATOR_NOT_AVAILABLE' as GroupErrorName | null, state: 'Dead', protocolType: '', protocolName: '', members: [] as DescribedMember[] }))
    : await ctx.groups.describeGroups(asked);
  const byId = new Map(found.map((g) => [g.groupId, g]));
  const described = req.groups.map((groupId) => byId.get(groupId)
    ?? { groupId, error: 'GROUP_AUTHORIZATION_FAILED' as GroupErrorName | null, state: '', protocolType: '', protocolName: '', members: [] as DescribedMember[] });
  return {
    throttleTimeMs: 0,
    groups: described.map((g) => {
      // Before v6 (KIP-1043) an unknown group is no error, just state Dead: Kafka's rule.
      const error = g.error === 'GROUP_ID_NOT_FOUND' && ctx.apiVersion < 6 ? null : g.error;
      return {
        errorCode: code(ctx, error),
        errorMessage: error === 'GROUP_ID_NOT_FOUND' ? `Group ${g.groupId} not found.` : null,
        groupId: g.groupId,
        groupState: g.state,
        protocolType: g.protocolType,
        protocolData: g.protocolName,
        members: g.members.map((m) => ({
          memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost,
          memberMetadata: m.metadata, memberAssignment: m.assignment,
        })),
        authorizedOperations: error === null ? authorizedOperations(ctx, req.includeAuthorizedOperations, 'group', g.groupId) : OPERATIONS_OMITTED,
      };
    }),
  };
});

/** Every group here speaks the classic protocol (KIP-848's 'consumer' and KIP-932's 'share' types are not implemented). */
const GROUP_TYPE = 'classic';

export const listGroupsHandler = handler(listGroupsApi, async (ctx, req) => {
  if (ctx.groups === undefined) return { throttleTimeMs: 0, errorCode: code(ctx, 'COORDINATOR_NOT_AVAILABLE'), groups: [] };
  // v5 typesFilter, case-insensitive as Kafka parses it; [] = every type.
  const types = ctx.apiVersion >= 5 ? req.typesFilter.map((t) => t.toLowerCase()) : [];
  if (types.length > 0 && !types.includes(GROUP_TYPE)) return { throttleTimeMs: 0, errorCode: 0, groups: [] };
  const r = await ctx.groups.listGroups(ctx.apiVersion >= 4 ? req.statesFilter : []);
  // DESCRIBE on the cluster lists every group; otherwise only the groups the caller may DESCRIBE
  // (never CLUSTER_AUTHORIZATION_FAILED; filtering, nothing audited).
  const all = ctx.isAuthorized('describe', 'cluster', CLUSTER_RESOURCE);
  return {
    throttleTimeMs: 0,
    errorCode: code(ctx, r.error),
    groups: r.groups.filter((g) => all || ctx.isAuthorized('describe', 'group', g.groupId)).map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: GROUP_TYPE })),
  };
});

export const deleteGroupsHandler = handler(deleteGroupsApi, async (ctx, req) => {
  const refused = denied(ctx, 'delete', 'group', req.groupsNames);
  const asked = req.groupsNames.filter((g) => !refused.has(g));
  const found = ctx.groups === undefined
    ? asked.map((groupId) => ({ groupId, error: 'COORDINATOR_NOT_AVAILABLE' as GroupErrorName | null }))
    : asked.length === 0 ? [] : await ctx.groups.deleteGroups(asked);
  const byId = new Map(found.map((r) => [r.groupId, r]));
  const results = req.groupsNames.map((groupId) => byId.get(groupId) ?? { groupId, error: 'GROUP_AUTHORIZATION_FAILED' as GroupErrorName | null });
  return { throttleTimeMs: 0, results: results.map((r) => ({ groupId: r.groupId, errorCode: code(ctx, r.error) })) };
});

export const offsetDeleteHandler = handler(offsetDeleteApi, async (ctx, req) => {
  if (!ctx.authorize('delete', 'group', req.groupId)) return { errorCode: code(ctx, 'GROUP_AUTHORIZATION_FAILED'), throttleTimeMs: 0, topics: [] };
  if (ctx.groups === undefined) return { errorCode: code(ctx, 'COORDINATOR_NOT_AVAILABLE'), throttleTimeMs: 0, topics: [] };
  const unreadable = denied(ctx, 'read', 'topic', req.topics.map((t) => t.name));
  const asked = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex })));
  const r = await ctx.groups.deleteOffsets(req.groupId, asked.filter((a) => !unreadable.has(a.topic)));
  const partitions: { topic: string; partition: number; error: GroupErrorName | null }[] = [
    ...r.partitions, ...asked.filter((a) => unreadable.has(a.topic)).map((a) => ({ ...a, error: 'TOPIC_AUTHORIZATION_FAILED' as const })),
  ];
  return {
    errorCode: code(ctx, r.error),
    throttleTimeMs: 0,
    topics: byTopic(partitions).map((t) => ({
      name: t.name, partitions: t.items.map((p) => ({ partitionIndex: p.partition, errorCode: code(ctx, p.error) })),
    })),
  };
});

