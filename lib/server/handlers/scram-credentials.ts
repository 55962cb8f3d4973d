/**
 * DescribeUserScramCredentials (50) and AlterUserScramCredentials (51), KIP-554.
 *
 * Describe reads this node's metadata image after a read barrier (BrokerApi.syncMetadata): the
 * mechanisms and iteration counts, never salts or keys. Alter is forwarded to the controller
 * (BrokerApi.alterScramCredentials → lib/metadata/scram.ts), which answers once the records are
 * applied on this node, so that a login on this node right after sees the credential. Per-user
 * errors are Kafka's (lib/metadata/scram.ts); a failure of the whole forward (no controller, a
 * timeout) is that error on every user named. Kafka's authorization: DESCRIBE (Describe) or ALTER
 * (Alter) on the cluster, else CLUSTER_AUTHORIZATION_FAILED for the whole request (Describe) or
 * every user named (Alter).
 */
import { alterUserScramCredentialsApi } from '../../kafka/alter-user-scram-credentials.js';
import { describeUserScramCredentialsApi } from '../../kafka/describe-user-scram-credentials.js';
import { describeScram, scramMechanismCodes } from '../../metadata/scram.js';
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { handler } from '../handler.js';

export const describeUserScramCredentialsHandler = handler(describeUserScramCredentialsApi, async (ctx, req) => {
  if (!ctx.authorize('describe', 'cluster', CLUSTER_RESOURCE)) {
    return { throttleTimeMs: 0, ...ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', 'DESCRIBE on the cluster is required'), results: [] };
  }
  await ctx.broker.syncMetadata();
  const users = req.users === null ? null : req.users.map((u) => u.name);
  const results = describeScram(ctx.broker.image(), users).map((d) => ({
    user: d.user,
    ...(d.error === null ? { errorCode: 0, errorMessage: null } : ctx.errorOf(d.error.code, d.error.message)),
    credentialInfos: d.credentials.map((c) => ({ mechanism: scramMechanismCodes[c.mechanism], iterations: c.iterations })),
  }));
  return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, results };
});

export const alterUserScramCredentialsHandler = handler(alterUserScramCredentialsApi, async (ctx, req) => {
  if (!ctx.authorize('alter', 'cluster', CLUSTER_RESOURCE)) {
    const e = ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', 'ALTER on the cluster is required');
    return { throttleTimeMs: 0, results: [...new Set([...req.deletions, ...req.upsertions].map((x) => x.name))].map((user) => ({ user, ...e })) };
  }
  try {
    const res = await ctx.broker.alterScramCredentials({ deletions: req.deletions, upsertions: req.upsertions });
    return {
      throttleTimeMs: 0,
      results: res.results.map((r) => ({
        user: r.user, ...(r.error === null ? { errorCode: 0, errorMessage: null } : ctx.errorOf(r.error.code, r.error.message)),
      })),
    };
  } catch (err) {
    const e = ctx.error(err);
    const users = [...new Set([...req.deletions, ...req.upsertions].map((x) => x.name))];
    return { throttleTimeMs: 0, results: users.map((user) => ({ user, ...e })) };
  }
});
