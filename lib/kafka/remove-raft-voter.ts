/**
 * RemoveRaftVoter (key 81, KIP-853): a voter leaves the metadata Raft group's voters
 * (`kafka-metadata-quorum remove-controller`). Implemented v0 (flexible from v0), the only version.
 *
 * Request:  clusterId (nullable: no check), voterId, voterDirectoryId.
 * Response: errorCode, errorMessage (VOTER_NOT_FOUND, REQUEST_TIMED_OUT, INVALID_REQUEST,
 *           INCONSISTENT_CLUSTER_ID, NOT_CONTROLLER).
 */
import { defineApi } from './api.js';
import { field as f, int16, int32, nullableField, string, struct, uuid, type ValueOf } from './schema.js';

const request = struct([
  nullableField('clusterId', string, '0+', '0+'),
  f('voterId', int32, '0+'),
  f('voterDirectoryId', uuid, '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
  nullableField('errorMessage', string, '0+', '0+'),
]);

export type RemoveRaftVoterRequest = ValueOf<typeof request>;
export type RemoveRaftVoterResponse = ValueOf<typeof response>;

export const removeRaftVoterApi = defineApi({
  apiKey: 81, name: 'RemoveRaftVoter', minVersion: 0, maxVersion: 0, flexibleFrom: 0, request, response,
});
