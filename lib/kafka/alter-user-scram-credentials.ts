/**
 * AlterUserScramCredentials (key 51, KIP-554): deletes and upserts SCRAM credentials. The client
 * sends the salted password (PBKDF2 of the password with its salt); the controller derives the
 * stored and server keys. Implemented v0 (flexible).
 *
 * Request:  deletions[] {name, mechanism}, upsertions[] {name, mechanism, iterations, salt,
 *           saltedPassword}; mechanism 1 SCRAM-SHA-256, 2 SCRAM-SHA-512.
 * Response: results[] {user, errorCode, errorMessage}, one per user named.
 */
import { defineApi } from './api.js';
import { array, bytes, field as f, int16, int32, int8, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('deletions', array(struct([
    f('name', string, '0+'),
    f('mechanism', int8, '0+'),
  ])), '0+'),
  f('upsertions', array(struct([
    f('name', string, '0+'),
    f('mechanism', int8, '0+'),
    f('iterations', int32, '0+'),
    f('salt', bytes, '0+'),
    f('saltedPassword', bytes, '0+'),
  ])), '0+'),
]);

const response = struct([
  f('throttleTimeMs', int32, '0+'),
  f('results', array(struct([
    f('user', string, '0+'),
    f('errorCode', int16, '0+'),
    nf('errorMessage', string, '0+', '0+'),
  ])), '0+'),
]);

export type AlterUserScramCredentialsRequest = ValueOf<typeof request>;
export type AlterUserScramCredentialsResponse = ValueOf<typeof response>;

export const alterUserScramCredentialsApi = defineApi({
  apiKey: 51, name: 'AlterUserScramCredentials', minVersion: 0, maxVersion: 0, flexibleFrom: 0, request, response,
});
