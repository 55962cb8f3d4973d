/**
 * DescribeUserScramCredentials (key 50, KIP-554): which SCRAM mechanisms each user has a
 * credential for, with its iteration count (never the salt or keys). Implemented v0 (flexible).
 *
 * Request:  users (null or empty: every user).
 * Response: errorCode, errorMessage, results[] {user, errorCode, errorMessage, credentialInfos[]
 *           {mechanism (1 SCRAM-SHA-256, 2 SCRAM-SHA-512), iterations}}.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  nf('users', array(struct([
    f('name', string, '0+'),
  ])), '0+', '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('errorCode', int16, '0+'),
  nf('errorMessage', string, '0+', '0+'),
  f('results', array(struct([
    f('user', string, '0+'),
    f('errorCode', int16, '0+'),
    nf('errorMessage', string, '0+', '0+'),
    f('credentialInfos', array(struct([
      f('mechanism', int8, '0+'),
      f('iterations', int32, '0+'),
    ])), '0+'),
  ])), '0+'),
]);

export type DescribeUserScramCredentialsRequest = ValueOf<typeof request>;
export type DescribeUserScramCredentialsResponse = ValueOf<typeof response>;

export const describeUserScramCredentialsApi = defineApi({
  apiKey: 50, name: 'DescribeUserScramCredentials', minVersion: 0, maxVersion: 0, flexibleFrom: 0, request, response,
});
