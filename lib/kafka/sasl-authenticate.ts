/**
 * SaslAuthenticate (key 36): one SASL token each way, after SaslHandshake v1. Implemented v0-v2
 * (flexible from v2).
 *
 * Request:  authBytes.
 * Response: errorCode, errorMessage, authBytes; v1 sessionLifetimeMs (KIP-368: 0 = no limit,
 *           otherwise the client must re-authenticate within it).
 */
import { defineApi } from './api.js';
import { bytes, field as f, int16, int64, nullableField as nf, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('authBytes', bytes, '0+'),
]);

const response = struct([
  f('errorCode', int16, '0+'),
  nf('errorMessage', string, '0+', '0+'),
  f('authBytes', bytes, '0+'),
  f('sessionLifetimeMs', int64, '1+'),
]);

export type SaslAuthenticateRequest = ValueOf<typeof request>;
export type SaslAuthenticateResponse = ValueOf<typeof response>;

export const saslAuthenticateApi = defineApi({
  apiKey: 36, name: 'SaslAuthenticate', minVersion: 0, maxVersion: 2, flexibleFrom: 2, request, response,
});
