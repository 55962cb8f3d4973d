/**
 * DescribeTopicPartitions (75): the Metadata view of topics (BrokerApi.topics: leader, epoch,
 * replicas, ISR = live replicas, offline replicas), in pages, as Kafka's handler pages it:
 * - no topics named: every topic; else the named ones (unknown names answer
 *   UNKNOWN_TOPIC_OR_PARTITION, or INVALID_TOPIC_EXCEPTION for an illegal name); sorted by name,
 *   from the cursor's topic on (a cursor topic missing from the names, or a negative cursor
 *   partition: INVALID_REQUEST for every topic named);
 * - at most responsePartitionLimit partitions (clamped to 1..2000); where it stops, nextCursor
 *   names the next topic and partition.
 * Raft has no eligible leader replicas (KIP-966's ELR): those fields are null. A partition
 * without a leader carries LEADER_NOT_AVAILABLE, as in Metadata.
 */
import { authorizedOperations, denied } from './authz.js';
import { type DescribeTopicPartitionsResponse, describeTopicPartitionsApi } from '../../kafka/describe-topic-partitions.js';
import { ZERO_UUID } from '../../kafka/primitives.js';
import { topicNameProblem } from '../../metadata/records.js';
import { handler } from '../handler.js';

type TopicOut = DescribeTopicPartitionsResponse['topics'][number];

/** Kafka's cap on a page (max.request.partition.size.limit's default). */
const PARTITIONS_MAX = 2000;
const OPERATIONS_OMITTED = -2147483648;

export const describeTopicPartitionsHandler = handler(describeTopicPartitionsApi, (ctx, req) => {
  const all = req.topics.length === 0;
  const cursorTopic = req.cursor?.topicName ?? '';
  const names = all ? null : [...new Set(req.topics.map((t) => t.name))].filter((n) => n >= cursorTopic);
  const invalid = (why: string): Promise<DescribeTopicPartitionsResponse> => {
    const e = ctx.errorOf('INVALID_REQUEST', why);
    return Promise.resolve({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({ errorCode: e.errorCode, name: t.name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_OMITTED })),
      nextCursor: null,
    });
  };
  if (req.cursor !== null && names !== null && !names.includes(req.cursor.topicName)) return invalid(`the topic list must contain the cursor topic ${req.cursor.topicName}`);
  if (req.cursor !== null && req.cursor.partitionIndex < 0) return invalid(`cursor partition ${req.cursor.partitionIndex} is negative`);
  // DESCRIBE on each topic: named ones refused get TOPIC_AUTHORIZATION_FAILED (whether they exist
  // or not); a listing of every topic leaves them out (filtering).
  const refused = names === null ? new Set<string>() : denied(ctx, 'describe', 'topic', names);
  const views = new Map(ctx.broker.topics(names).filter((t) => names !== null || ctx.isAuthorized('describe', 'topic', t.name)).map((t) => [t.name, t]));
  const order = (names ?? [...views.keys()].filter((n) => n >= cursorTopic)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let remaining = Math.max(1, Math.min(PARTITIONS_MAX, req.responsePartitionLimit));
  const topics: TopicOut[] = [];
  let nextCursor: DescribeTopicPartitionsResponse['nextCursor'] = null;
  for (const name of order) {
    if (remaining === 0) {
      nextCursor = { topicName: name, partitionIndex: 0 };
      break;
    }
    if (refused.has(name)) {
      topics.push({ errorCode: ctx.errorOf('TOPIC_AUTHORIZATION_FAILED').errorCode, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: OPERATIONS_OMITTED });
      continue;
    }
    const t = views.get(name);
    if (t === undefined) {
      const code = topicNameProblem(name) === null ? 'UNKNOWN_TOPIC_OR_PARTITION' : 'INVALID_TOPIC_EXCEPTION';
      topics.push({ errorCode: ctx.errorOf(code).errorCode, name, topicId: ZERO_UUID, isInternal: name.startsWith('__'), partitions: [], topicAuthorizedOperations: OPERATIONS_OMITTED });
      continue;
    }
    const start = name === cursorTopic && req.cursor !== null ? req.cursor.partitionIndex : 0;
    const page = t.partitions.filter((p) => p.partition >= start).sort((a, b) => a.partition - b.partition);
    const taken = page.slice(0, remaining);
    // A leader without the caller's listener cannot be reached: leader -1, as Kafka answers.
    const onListener = new Set(ctx.broker.cluster(ctx.session.listener).brokers.map((b) => b.nodeId));
    const leaderOf = (leaderId: number): number => (leaderId >= 0 && !onListener.has(leaderId) ? -1 : leaderId);
    topics.push({
      errorCode: 0,
      name,
      topicId: t.topicId,
      isInternal: t.internal,
      partitions: taken.map((p) => ({
        errorCode: leaderOf(p.leaderId) < 0 ? ctx.errorOf('LEADER_NOT_AVAILABLE').errorCode : 0,
        partitionIndex: p.partition,
        leaderId: leaderOf(p.leaderId),
        leaderEpoch: p.leaderEpoch,
        replicaNodes: [...p.replicas],
        isrNodes: [...p.isr],
        eligibleLeaderReplicas: null,
        lastKnownElr: null,
        offlineReplicas: [...p.offlineReplicas],
      })),
      // Kafka always computes them here (no request flag); with the authorizer off they stay omitted.
      topicAuthorizedOperations: authorizedOperations(ctx, true, 'topic', name),
    });
    const rest = page[taken.length];
    if (rest !== undefined) {
      nextCursor = { topicName: name, partitionIndex: rest.partition };
      break;
    }
    remaining -= taken.length;
  }
  return Promise.resolve({ throttleTimeMs: 0, topics, nextCursor });
});
