/**
 * AddRaftVoter (80) and RemoveRaftVoter (81), KIP-853: change the metadata Raft group's voters.
 * Kafka's brokers forward both to the active controller; so does Flotilla (any node answers, with
 * the metadata leader's outcome: lib/metadata/controller.ts addVoter / removeVoter). A clusterId
 * that is not ours: INCONSISTENT_CLUSTER_ID. The voter's listeners are not used: Flotilla's nodes
 * reach each other at the peer address each registered with.
 */
import { CLUSTER_RESOURCE } from '../../auth/acl.js';
import { addRaftVoterApi } from '../../kafka/add-raft-voter.js';
import { removeRaftVoterApi } from '../../kafka/remove-raft-voter.js';
import { type RequestContext, handler } from '../handler.js';

function clusterMismatch(ctx: RequestContext, clusterId: string | null): { throttleTimeMs: number; errorCode: number; errorMessage: string | null } | null {
  const ours = ctx.broker.cluster().clusterId;
  if (clusterId === null || clusterId === ours) return null;
  const e = ctx.errorOf('INCONSISTENT_CLUSTER_ID', `this is cluster ${ours}, not ${clusterId}`);
  return { throttleTimeMs: 0, errorCode: e.errorCode, errorMessage: e.errorMessage };
}

export const addRaftVoterHandler = handler(addRaftVoterApi, async (ctx, req) => {
  if (!ctx.authorize('alter', 'cluster', CLUSTER_RESOURCE)) return { throttleTimeMs: 0, ...ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', 'ALTER on the cluster is required') };
  const mismatch = clusterMismatch(ctx, req.clusterId);
  if (mismatch !== null) return mismatch;
  try {
    await ctx.broker.addRaftVoter(req.voterId, req.voterDirectoryId);
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null };
  } catch (err) {
    const e = ctx.error(err);
    return { throttleTimeMs: 0, errorCode: e.errorCode, errorMessage: e.errorMessage };
  }
});

export const removeRaftVoterHandler = handler(removeRaftVoterApi, async (ctx, req) => {
  if (!ctx.authorize('alter', 'cluster', CLUSTER_RESOURCE)) return { throttleTimeMs: 0, ...ctx.errorOf('CLUSTER_AUTHORIZATION_FAILED', 'ALTER on the cluster is required') };
  const mismatch = clusterMismatch(ctx, req.clusterId);
  if (mismatch !== null) return mismatch;
  try {
    await ctx.broker.removeRaftVoter(req.voterId, req.voterDirectoryId);
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null };
  } catch (err) {
    const e = ctx.error(err);
    return { throttleTimeMs: 0, errorCode: e.errorCode, errorMessage: e.errorMessage };
  }
});
