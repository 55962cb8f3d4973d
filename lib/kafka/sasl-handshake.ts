/**
 * SaslHandshake (key 17): the client names the SASL mechanism it will use; the answer lists the
 * mechanisms the listener enables. Implemented v0-v1 (never flexible; Kafka keeps it so, KAFKA-9577).
 *
 * v0: the SASL tokens that follow are raw `int32 size | bytes` frames with no Kafka header
 *     (kafka-python 2.0.2 speaks only this); v1: each token is a SaslAuthenticate request.
 * Request:  mechanism.
 * Response: errorCode, mechanisms.
 */
import { defineApi } from './api.js';
import { array, field as f, int16, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('mechanism', string, '0+'),
]);

const response = struct([
  f('errorCode', int16, '0+'),
  f('mechanisms', array(string), '0+'),
]);

export type SaslHandshakeRequest = ValueOf<typeof request>;
export type SaslHandshakeResponse = ValueOf<typeof response>;

export const saslHandshakeApi = defineApi({
  apiKey: 17, name: 'SaslHandshake', minVersion: 0, maxVersion: 1, flexibleFrom: Infinity, request, response,
});
