/**
 * The transactional APIs: AddPartitionsToTxn, AddOffsetsToTxn and EndTxn go to the transaction
 * coordinator (`ctx.txn`), TxnOffsetCommit to the group coordinator (`ctx.groups`), as in Kafka.
 * The admin ones read the coordinator's state: ListTransactions lists the ids of every
 * transaction-state partition this node coordinates (an admin client asks every broker and merges),
 * DescribeTransactions describes ids this node coordinates (NOT_COORDINATOR for the others,
 * TRANSACTIONAL_ID_NOT_FOUND for unknown ones). ListTransactions v2's transactionalIdPattern keeps
 * the ids it matches in full (Kafka: RE2J's matches()); see `idPattern` for what is refused.
 * Each decodes its versions' fields into a call and the outcome back; a failure of the whole
 * request (NOT_COORDINATOR, PRODUCER_FENCED, CONCURRENT_TRANSACTIONS, ...) is reported for every
 * partition. Versions older than PRODUCER_FENCED (AddPartitionsToTxn and EndTxn before v2,
 * AddOffsetsToTxn v0-1, TxnOffsetCommit before v3) get INVALID_PRODUCER_EPOCH instead (Kafka's rule).
 * AddPartitionsToTxn v4+ batches transactions (each answered on its own; verifyOnly asks whether
 * the partitions are already in the open transaction). The KIP-890 versions that only add
 * TRANSACTION_ABORTABLE to what a client understands are served as their predecessors: Flotilla
 * never returns it.
 */
import { denied } from './authz.js';
import { addOffsetsToTxnApi } from '../../kafka/add-offsets-to-txn.js';
import { addPartitionsToTxnApi } from '../../kafka/add-partitions-to-txn.js';
import { describeTransactionsApi } from '../../kafka/describe-transactions.js';
import { endTxnApi } from '../../kafka/end-txn.js';
import { listTransactionsApi } from '../../kafka/list-transactions.js';
import { OFFSETS_TOPIC } from '../../group/offsets-partition.js';
import { txnOffsetCommitApi } from '../../kafka/txn-offset-commit.js';
import type { ErrorContext } from '../errors.js';
import { type RequestContext, handler } from '../handler.js';

function fencing(ctx: RequestContext, firstVersionWithFenced: number): ErrorContext {
  return ctx.apiVersion < firstVersionWithFenced ? 'oldFencing' : 'batch';
}

const noCoordinator = 'this node runs no transaction coordinator';

type TxnTopics = readonly { readonly name: string; readonly partitions: readonly number[] }[];
type TopicResults = { name: string; results: { partitionIndex: number; errorCode: number }[] }[];

/** One transaction of an AddPartitionsToTxn request: its partitions added (or verified), per-partition codes. */
async function addOrVerify(
  ctx: RequestContext, t: { transactionalId: string; producerId: number; producerEpoch: number; verifyOnly: boolean; topics: TxnTopics },
): Promise<TopicResults> {
  const all = (errorCode: number): TopicResults =>
    t.topics.map((x) => ({ name: x.name, results: x.partitions.map((partitionIndex) => ({ partitionIndex, errorCode })) }));
  // WRITE on the transactional id (53 on every partition); WRITE on each topic: refused partitions
  // TOPIC_AUTHORIZATION_FAILED and the others OPERATION_NOT_ATTEMPTED (KafkaApis.handleAddPartitionsToTxn).
  if (!ctx.authorize('write', 'transactional-id', t.transactionalId)) return all(ctx.errorOf('TRANSACTIONAL_ID_AUTHORIZATION_FAILED').errorCode);
  const unwritable = denied(ctx, 'write', 'topic', t.topics.map((x) => x.name));
  if (unwritable.size > 0) {
    const topicCode = ctx.errorOf('TOPIC_AUTHORIZATION_FAILED').errorCode;
    const notAttempted = ctx.errorOf('OPERATION_NOT_ATTEMPTED').errorCode;
    return t.topics.map((x) => ({ name: x.name, results: x.partitions.map((partitionIndex) => ({ partitionIndex, errorCode: unwritable.has(x.name) ? topicCode : notAttempted })) }));
  }
  const txn = ctx.txn;
  if (txn === undefined) return all(ctx.errorOf('COORDINATOR_NOT_AVAILABLE', noCoordinator).errorCode);
  const partitions = t.topics.flatMap((x) => x.partitions.map((partition) => ({ topic: x.name, partition })));
  const input = { transactionalId: t.transactionalId, producerId: t.producerId, producerEpoch: t.producerEpoch, partitions };
  try {
    const results = t.verifyOnly ? await txn.verifyPartitions(input) : await txn.addPartitions(input);
    const code = new Map(results.map((r) => [`${r.topic}\u0000${r.partition}`, ctx.error(r.error).errorCode]));
    return t.topics.map((x) => ({
      name: x.name,
      results: x.partitions.map((partitionIndex) => ({ partitionIndex, errorCode: code.get(`${x.name}\u0000${partitionIndex}`) ?? 0 })),
    }));
  } catch (err) {
    return all(ctx.error(err, fencing(ctx, 2)).errorCode);
  }
}

export const addPartitionsToTxnHandler = handler(addPartitionsToTxnApi, async (ctx, req) => {
  if (ctx.apiVersion >= 4) {
    const resultsByTransaction = [];
    for (const t of req.transactions) resultsByTransaction.push({ transactionalId: t.transactionalId, topicResults: await addOrVerify(ctx, t) });
    return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction, results: [] };
  }
  const results = await addOrVerify(ctx, { ...req, verifyOnly: false });
  return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction: [], results };
});

export const addOffsetsToTxnHandler = handler(addOffsetsToTxnApi, async (ctx, req) => {
  if (!ctx.authorize('write', 'transactional-id', req.transactionalId)) return { throttleTimeMs: 0, errorCode: ctx.errorOf('TRANSACTIONAL_ID_AUTHORIZATION_FAILED').errorCode };
  if (!ctx.authorize('read', 'group', req.groupId)) return { throttleTimeMs: 0, errorCode: ctx.errorOf('GROUP_AUTHORIZATION_FAILED').errorCode };
  if (ctx.txn === undefined) return { throttleTimeMs: 0, errorCode: ctx.errorOf('COORDINATOR_NOT_AVAILABLE', noCoordinator).errorCode };
  try {
    await ctx.txn.addOffsets({ transactionalId: req.transactionalId, producerId: req.producerId, producerEpoch: req.producerEpoch, groupId: req.groupId });
    return { throttleTimeMs: 0, errorCode: 0 };
  } catch (err) {
    return { throttleTimeMs: 0, errorCode: ctx.error(err, fencing(ctx, 2)).errorCode };
  }
});

export const endTxnHandler = handler(endTxnApi, async (ctx, req) => {
  if (!ctx.authorize('write', 'transactional-id', req.transactionalId)) return { throttleTimeMs: 0, errorCode: ctx.errorOf('TRANSACTIONAL_ID_AUTHORIZATION_FAILED').errorCode };
  if (ctx.txn === undefined) return { throttleTimeMs: 0, errorCode: ctx.errorOf('COORDINATOR_NOT_AVAILABLE', noCoordinator).errorCode };
  try {
    await ctx.txn.endTxn({ transactionalId: req.transactionalId, producerId: req.producerId, producerEpoch: req.producerEpoch, commit: req.committed });
    return { throttleTimeMs: 0, errorCode: 0 };
  } catch (err) {
    return { throttleTimeMs: 0, errorCode: ctx.error(err, fencing(ctx, 2)).errorCode };
  }
});

export const txnOffsetCommitHandler = handler(txnOffsetCommitApi, async (ctx, req) => {
  const all = (errorCode: number) => ({
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })),
  });
  // WRITE on the transactional id (53), READ on the group (30), READ on each topic (29 per partition).
  if (!ctx.authorize('write', 'transactional-id', req.transactionalId)) return all(ctx.errorOf('TRANSACTIONAL_ID_AUTHORIZATION_FAILED').errorCode);
  if (!ctx.authorize('read', 'group', req.groupId)) return all(ctx.errorOf('GROUP_AUTHORIZATION_FAILED').errorCode);
  const unreadable = denied(ctx, 'read', 'topic', req.topics.map((t) => t.name));
  if (ctx.groups === undefined) return all(ctx.errorOf('COORDINATOR_NOT_AVAILABLE', 'this node runs no group coordinator').errorCode);
  const r = await ctx.groups.txnCommitOffsets({
    transactionalId: req.transactionalId,
    groupId: req.groupId,
    producerId: req.producerId,
    producerEpoch: req.producerEpoch,
    generationId: ctx.apiVersion >= 3 ? req.generationId : -1,
    memberId: ctx.apiVersion >= 3 ? req.memberId : '',
    groupInstanceId: ctx.apiVersion >= 3 ? req.groupInstanceId : null,
    offsets: req.topics.filter((t) => !unreadable.has(t.name)).flatMap((t) => t.partitions.map((p) => ({
      topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata,
    }))),
  });
  const code = new Map(r.partitions.map((p) => [`${p.topic}\u0000${p.partition}`, p.error === null ? 0 : ctx.errorOf(p.error).errorCode]));
  for (const t of req.topics) {
    if (unreadable.has(t.name)) for (const p of t.partitions) code.set(`${t.name}\u0000${p.partitionIndex}`, ctx.errorOf('TOPIC_AUTHORIZATION_FAILED').errorCode);
  }
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code.get(`${t.name}\u0000${p.partitionIndex}`) ?? 0 })),
    })),
  };
});

/**
 * ListTransactions v2's pattern as a full-match RegExp, null for "all", or why it is refused.
 * Kafka compiles it with RE2J (linear time). JavaScript's engine backtracks, so besides what
 * RE2 refuses too (backreferences, lookaround) and what it cannot parse, a quantified group that
 * holds a quantifier or an alternation ("(a+)+", "(a|a)*") is refused: it can take exponential
 * time, and the event loop must not.
 */
export function idPattern(pattern: string | null): RegExp | null | { invalid: string } {
  if (pattern === null || pattern === '') return null;
  if (/\\[1-9]|\\k<|\(\?<?[=!]/.test(pattern)) return { invalid: `${pattern}: backreferences and lookaround are not regular (RE2 refuses them too)` };
  const quantifiedInside: boolean[] = [];
  let inner = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') { i++; continue; }
    if (c === '[') {
      for (i++; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      continue;
    }
    if (c === '(') { quantifiedInside.push(inner); inner = false; if (pattern[i + 1] === '?') i++; continue; }
    const quantifier = c === '*' || c === '+' || (c === '?' && pattern[i - 1] !== '(') || (c === '{' && /^\{\d/.test(pattern.slice(i)));
    if (c === ')') {
      const outer = quantifiedInside.pop() ?? false;
      const next = pattern[i + 1];
      const quantified = next === '*' || next === '+' || next === '?' || (next === '{' && /^\{\d/.test(pattern.slice(i + 1)));
      if (quantified && inner) return { invalid: `${pattern}: a quantified group holding a quantifier or an alternation can take exponential time here` };
      inner = outer || inner;
      continue;
    }
    if (quantifier || c === '|') inner = true;
  }
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (err) {
    return { invalid: `${pattern}: ${(err as Error).message}` };
  }
}

export const listTransactionsHandler = handler(listTransactionsApi, async (ctx, req) => {
  const refused = (name: 'COORDINATOR_NOT_AVAILABLE' | 'INVALID_REGULAR_EXPRESSION', why: string) =>
    ({ throttleTimeMs: 0, errorCode: ctx.errorOf(name, why).errorCode, unknownStateFilters: [], transactionStates: [] });
  if (ctx.txn === undefined) return refused('COORDINATOR_NOT_AVAILABLE', noCoordinator);
  const pattern = idPattern(ctx.apiVersion >= 2 ? req.transactionalIdPattern : null);
  if (pattern !== null && !(pattern instanceof RegExp)) return refused('INVALID_REGULAR_EXPRESSION', pattern.invalid);
  const r = ctx.txn.listTransactions({ states: req.stateFilters, producerIds: req.producerIdFilters, durationMs: ctx.apiVersion >= 1 ? req.durationFilter : -1 });
  return {
    throttleTimeMs: 0,
    errorCode: 0,
    unknownStateFilters: [...r.unknownStates],
    // Only the ids the caller may DESCRIBE (filtering: nothing audited).
    transactionStates: r.transactions
      .filter((t) => (pattern === null || pattern.test(t.transactionalId)) && ctx.isAuthorized('describe', 'transactional-id', t.transactionalId))
      .map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: t.state })),
  };
});

export const describeTransactionsHandler = handler(describeTransactionsApi, async (ctx, req) => ({
  throttleTimeMs: 0,
  transactionStates: req.transactionalIds.map((transactionalId) => {
    const failed = (errorCode: number) => ({
      errorCode, transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [],
    });
    if (!ctx.authorize('describe', 'transactional-id', transactionalId)) return failed(ctx.errorOf('TRANSACTIONAL_ID_AUTHORIZATION_FAILED').errorCode);
    if (ctx.txn === undefined) return failed(ctx.errorOf('COORDINATOR_NOT_AVAILABLE', noCoordinator).errorCode);
    try {
      const t = ctx.txn.describeTransaction(transactionalId);
      // Kafka lists the partitions of the transaction in progress only (Ongoing, Prepare*): a
      // Complete* or Empty id has none.
      const open = t.state === 'Ongoing' || t.state === 'PrepareCommit' || t.state === 'PrepareAbort';
      const byTopic = new Map<string, number[]>();
      if (open) {
        for (const p of t.partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
        if (t.offsetsPartitions.length > 0) byTopic.set(OFFSETS_TOPIC, [...(byTopic.get(OFFSETS_TOPIC) ?? []), ...t.offsetsPartitions]);
      }
      return {
        errorCode: 0, transactionalId, transactionState: t.state, transactionTimeoutMs: t.timeoutMs,
        transactionStartTimeMs: t.txn < 0 ? -1 : t.startMs, producerId: t.producerId, producerEpoch: t.producerEpoch,
        // The topics of the transaction the caller may DESCRIBE (KafkaApis filters them too).
        topics: [...byTopic].filter(([topic]) => ctx.isAuthorized('describe', 'topic', topic)).map(([topic, partitions]) => ({ topic, partitions })),
      };
    } catch (err) {
      return failed(ctx.error(err).errorCode);
    }
  }),
}));
