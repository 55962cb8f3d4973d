/**
 * AddRaftVoter (key 80, KIP-853): a node joins the metadata Raft group's voters
 * (`kafka-metadata-quorum add-controller`). Implemented v0 (flexible from v0), the only version.
 *
 * Request:  clusterId (nullable: no check), timeoutMs, voterId, voterDirectoryId, listeners[] of
 *           name, host, port.
 * Response: errorCode, errorMessage (DUPLICATE_VOTER, REQUEST_TIMED_OUT, INVALID_REQUEST,
 *           INCONSISTENT_CLUSTER_ID, NOT_CONTROLLER).
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, nullableField, string, struct, uint16, uuid, type ValueOf } from './schema.js';

const request = struct([
  nullableField('clusterId', string, '0+', '0+'),
  f('timeoutMs', int32, '0+'),
  f('voterId', int32, '0+'),
  f('voterDirectoryId', uuid, '0+'),
  f('listeners', array(struct([
    f('name', string, '0+'),
    f('host', string, '0+'),
    f('port', uint16, '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
  nullableField('errorMessage', string, '0+', '0+'),
]);

export type AddRaftVoterRequest = ValueOf<typeof request>;
export type AddRaftVoterResponse = ValueOf<typeof response>;

export const addRaftVoterApi = defineApi({
  apiKey: 80, name: 'AddRaftVoter', minVersion: 0, maxVersion: 0, flexibleFrom: 0, request, response,
});
