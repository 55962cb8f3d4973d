/**
 * ApiVersions (key 18): the first request on every connection; the client learns which versions
 * of each API this broker speaks, and (v3+) which cluster features it supports and has finalized.
 * Implemented v0-v4 (flexible from v3).
 *
 * Request:  v0-v2 empty; v3 adds clientSoftwareName, clientSoftwareVersion; v4 same as v3.
 * Response: v0 errorCode, apiKeys[{apiKey, minVersion, maxVersion}]; v1 adds throttleTimeMs;
 *           v2 same as v1; v3 flexible, with tagged supportedFeatures (0),
 *           finalizedFeaturesEpoch (1), finalizedFeatures (2), zkMigrationReady (3); v4 same
 *           fields (KAFKA-17011): a supported feature whose minVersion is 0 may be listed only
 *           from v4 on (older clients cannot read a range starting at 0: KAFKA-17492), so
 *           `featuresFor` leaves those out of a v3 answer, as Kafka does.
 * The response header is always v0 (KIP-511), and an unsupported ApiVersions version is answered
 * with UNSUPPORTED_VERSION in the v0 body with the apiKeys list filled in (`apis.ts`).
 *
 * Features (`brokerFeatures`), what a KRaft broker of the Kafka release whose API ranges we
 * advertise (3.9) reports, restricted to what Flotilla implements:
 * - metadata.version: supported 1 (3.0-IV1, the first KRaft level) to 21 (3.9-IV0), finalized 21.
 *   Kafka's clients read it only to tell a KRaft cluster's capabilities (admin describeFeatures).
 * - kraft.version: supported 0-0 (a static controller quorum: our Raft does its own membership
 *   changes, not KIP-853's Kafka-protocol ones); finalized level 0, which Kafka leaves out of the
 *   finalized list. Listed to v4 clients only (minVersion 0).
 * - transaction.version: not listed (absent = level 0): we serve the classic transaction
 *   protocol, not KIP-890's part 2 (EndTxn v5+, AddPartitionsToTxn v5+), so a client must not
 *   use it.
 * - group.version: not listed: the KIP-848 consumer group protocol (ConsumerGroupHeartbeat) is
 *   not served.
 * The finalized features never change (no UpdateFeatures), so their epoch is constant: 0.
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
  apiKey: 18, name: 'ApiVersions', minVersion: 0, maxVersion: 4, flexibleFrom: 3, request, response,
});

/** Feature levels of Kafka's MetadataVersion (server-common MetadataVersion.java). */
export const METADATA_VERSION_MIN_KRAFT = 1; // IBP_3_0_IV1
export const METADATA_VERSION_3_9_IV0 = 21;

/** The features this broker supports and the cluster has finalized (see the module comment). */
export const brokerFeatures: {
  readonly supported: readonly { readonly name: string; readonly minVersion: number; readonly maxVersion: number }[];
  readonly finalized: readonly { readonly name: string; readonly level: number }[];
  readonly finalizedEpoch: number;
} = Object.freeze({
  supported: Object.freeze([
    { name: 'metadata.version', minVersion: METADATA_VERSION_MIN_KRAFT, maxVersion: METADATA_VERSION_3_9_IV0 },
    { name: 'kraft.version', minVersion: 0, maxVersion: 0 },
  ]),
  finalized: Object.freeze([
    { name: 'metadata.version', level: METADATA_VERSION_3_9_IV0 },
    { name: 'kraft.version', level: 0 },
  ]),
  finalizedEpoch: 0,
});

/**
 * The feature fields of an ApiVersions response of `version`: none below v3 (the fields do not
 * exist there); at v3 the supported features whose minVersion is not 0; at v4 all. Finalized
 * features at level 0 are left out at every version, as Kafka does (level 0 = off).
 */
export function featuresFor(version: number): Pick<ApiVersionsResponse, 'supportedFeatures' | 'finalizedFeaturesEpoch' | 'finalizedFeatures' | 'zkMigrationReady'> {
  if (version < 3) return { supportedFeatures: [], finalizedFeaturesEpoch: -1, finalizedFeatures: [], zkMigrationReady: false };
  return {
    supportedFeatures: brokerFeatures.supported
      .filter((s) => version >= 4 || s.minVersion !== 0)
      .map((s) => ({ name: s.name, minVersion: s.minVersion, maxVersion: s.maxVersion })),
    finalizedFeaturesEpoch: brokerFeatures.finalizedEpoch,
    finalizedFeatures: brokerFeatures.finalized
      .filter((x) => x.level !== 0)
      .map((x) => ({ name: x.name, maxVersionLevel: x.level, minVersionLevel: x.level })),
    zkMigrationReady: false,
  };
}
