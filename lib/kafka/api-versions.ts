/**
 * ApiVersions (key 18): the first request on every connection; the client learns which versions
 * of each API this broker speaks. Implemented v0-v3 (flexible from v3).
 *
 * Request:  v0-v2 empty; v3 adds clientSoftwareName, clientSoftwareVersion.
 * Response: v0 errorCode, apiKeys[{apiKey, minVersion, maxVersion}]; v1 adds throttleTimeMs;
 *           v2 same as v1; v3 flexible, with tagged supportedFeatures (0),
 *           finalizedFeaturesEpoch (1), finalizedFeatures (2), zkMigrationReady (3).
 * The response header is always v0 (KIP-511), and an unsupported ApiVersions version is answered
 * with UNSUPPORTED_VERSION in the v0 body with the apiKeys list filled in (`apis.ts`).
 */
import { defineApi } from './api.js';
import { array, bool, field as f, int16, int32, int64, string, struct, type ValueOf } from './schema.js';

const request = struct([
  f('clientSoftwareName', string, '3+'),
  f('clientSoftwareVersion', string, '3+'),
]);

const response = struct([
  f('errorCode', int16, '0+'),
  f('apiKeys', array(struct([
    f('apiKey', int16, '0+'),
    f('minVersion', int16, '0+'),
    f('maxVersion', int16, '0+'),
  ])), '0+'),
  f('throttleTimeMs', int32, '1+'),
  f('supportedFeatures', array(struct([
    f('name', string, '3+'),
    f('minVersion', int16, '3+'),
    f('maxVersion', int16, '3+'),
  ])), '3+', { tag: 0 }),
  f('finalizedFeaturesEpoch', int64, '3+', { tag: 1, default: -1 }),
  f('finalizedFeatures', array(struct([
    f('name', string, '3+'),
    f('maxVersionLevel', int16, '3+'),
    f('minVersionLevel', int16, '3+'),
  ])), '3+', { tag: 2 }),
  f('zkMigrationReady', bool, '3+', { tag: 3 }),
]);

export type ApiVersionsRequest = ValueOf<typeof request>;
export type ApiVersionsResponse = ValueOf<typeof response>;

export const apiVersionsApi = defineApi({
  apiKey: 18, name: 'ApiVersions', minVersion: 0, maxVersion: 3, flexibleFrom: 3, request, response,
});
