/**
 * OffsetFetch (key 9): a group's committed offsets. Implemented v0-v9 (flexible from v6).
 *
 * Request:  v0 reads ZooKeeper-held offsets in old Kafka; Flotilla has one store, so v0 is v1;
 *           v2 topics may be null (every partition the group committed); v3-v5 same as v2;
 *           v6 flexible; v7 requireStable; v8 replaces groupId/topics by a batch of groups; v9
 *           groups[].memberId, memberEpoch (KIP-848: checked for new-protocol groups only;
 *           Flotilla's groups are classic, where Kafka ignores them).
 * Response: v2 top-level errorCode; v3 throttleTimeMs; v4 same as v3; v5 committedLeaderEpoch;
 *           v6 flexible; v7 same as v6 (UNSTABLE_OFFSET_COMMIT possible); v8 per-group results; v9 same as v8.
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, int64, nullableField as nf, string, struct, type ValueOf } from './schema.js';

/** One partition's committed offset: fields of v0-v7 (`v` = '0-7') or of v8+ (`v` = '8+'). */
function partitionResult(v: '0-7' | '8+') {
  return struct([
    f('partitionIndex', int32, v),
    f('committedOffset', int64, v),
    f('committedLeaderEpoch', int32, v === '0-7' ? '5-7' : v, { default: -1 }),
    nf('metadata', string, v, v),
    f('errorCode', int16, v),
  ]);
}

const request = struct([
  f('groupId', string, '0-7'),
  nf('topics', array(struct([
    f('name', string, '0-7'),
    f('partitionIndexes', array(int32), '0-7'),
  ])), '0-7', '2-7'),
  f('groups', array(struct([
    f('groupId', string, '8+'),
    nf('memberId', string, '9+', '9+'),
    f('memberEpoch', int32, '9+', { default: -1 }),
    nf('topics', array(struct([
      f('name', string, '8+'),
      f('partitionIndexes', array(int32), '8+'),
    ])), '8+', '8+'),
  ])), '8+'),
  f('requireStable', bool, '7+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '3+'),
  f('topics', array(struct([
    f('name', string, '0-7'),
    f('partitions', array(partitionResult('0-7')), '0-7'),
  ])), '0-7'),
  f('errorCode', int16, '2-7'),
  f('groups', array(struct([
    f('groupId', string, '8+'),
    f('topics', array(struct([
      f('name', string, '8+'),
      f('partitions', array(partitionResult('8+')), '8+'),
    ])), '8+'),
    f('errorCode', int16, '8+'),
  ])), '8+'),
]);

export type OffsetFetchRequest = ValueOf<typeof request>;
export type OffsetFetchResponse = ValueOf<typeof response>;

export const offsetFetchApi = defineApi({
  apiKey: 9, name: 'OffsetFetch', minVersion: 0, maxVersion: 9, flexibleFrom: 6, request, response,
});
