/**
 * OffsetCommit (key 8): a group's consumed positions. Implemented v0-v9 (flexible from v8).
 *
 * Request:  v0 groupId and offsets only (a commit outside any generation); v1 generationId,
 *           memberId, per-partition commitTimestamp; v2 retentionTimeMs replaces
 *           commitTimestamp; v3, v4 same as v2; v5 drops retentionTimeMs (broker setting only);
 *           v6 committedLeaderEpoch; v7 groupInstanceId; v8 flexible; v9 same as v8 (KIP-848:
 *           the generation may be a member epoch of a new-protocol group; Flotilla's groups are
 *           classic, where v9 is v8 except that a member commit to a group that does not exist
 *           gets GROUP_ID_NOT_FOUND instead of ILLEGAL_GENERATION).
 * Response: v3 throttleTimeMs; v4-v7 same as v3; v8 flexible; v9 same as v8.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int64, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('groupId', string, '0+'),
  f('generationId', int32, '1+', { default: -1 }),
  f('memberId', string, '1+'),
  nf('groupInstanceId', string, '7+', '7+'),
  f('retentionTimeMs', int64, '2-4', { default: -1 }),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('committedOffset', int64, '0+'),
      f('committedLeaderEpoch', int32, '6+', { default: -1 }),
      f('commitTimestamp', int64, '1', { default: -1 }),
      nf('committedMetadata', string, '0+', '0+'),
    ])), '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '3+'),
  f('topics', array(struct([
    f('name', string, '0+'),
    f('partitions', array(struct([
      f('partitionIndex', int32, '0+'),
      f('errorCode', int16, '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type OffsetCommitRequest = ValueOf<typeof request>;
export type OffsetCommitResponse = ValueOf<typeof response>;

export const offsetCommitApi = defineApi({
  apiKey: 8, name: 'OffsetCommit', minVersion: 0, maxVersion: 9, flexibleFrom: 8, request, response,
});
