/**
 * The dispatch table: every API Flotilla speaks, by key, with the versions it advertises and its
 * codecs. Adding an API is one module (see api-versions.ts for the shape) and one line in `apiList`.
 * The ApiVersions response is built from this table, so what is advertised is exactly what is
 * implemented.
 *
 * Frames: a request frame here is the bytes after the int32 size prefix (the transport strips it);
 * `encodeResponseFrame` and `encodeRequestFrame` write the prefix themselves, to save a copy.
 *
 * Lifecycle of a request on the server:
 *   parseRequest(frame) → { kind: 'request', header, api, body }  → handler → encodeResponseFrame
 *                       → { kind: 'unsupported', header, ... }    → answer UNSUPPORTED_VERSION
 *                                                                   (unsupportedVersionResponseFrame
 *                                                                   for ApiVersions; for other APIs
 *                                                                   Kafka closes the connection)
 * Malformed frames throw FlotillaError('CORRUPT'): the server closes that connection.
 */
import { assert } from '../base/assert.js';
import { apiVersionsApi, type ApiVersionsResponse } from './api-versions.js';
import { addOffsetsToTxnApi } from './add-offsets-to-txn.js';
import { addPartitionsToTxnApi } from './add-partitions-to-txn.js';
import { addRaftVoterApi } from './add-raft-voter.js';
import { alterConfigsApi } from './alter-configs.js';
import { alterPartitionReassignmentsApi } from './alter-partition-reassignments.js';
import { incrementalAlterConfigsApi } from './incremental-alter-configs.js';
import { createPartitionsApi } from './create-partitions.js';
import { createAclsApi } from './create-acls.js';
import { deleteAclsApi } from './delete-acls.js';
import { describeAclsApi } from './describe-acls.js';
import { createTopicsApi } from './create-topics.js';
import { deleteGroupsApi } from './delete-groups.js';
import { deleteRecordsApi } from './delete-records.js';
import { deleteTopicsApi } from './delete-topics.js';
import { describeClusterApi } from './describe-cluster.js';
import { describeConfigsApi } from './describe-configs.js';
import { describeGroupsApi } from './describe-groups.js';
import { describeProducersApi } from './describe-producers.js';
import { describeQuorumApi } from './describe-quorum.js';
import { describeTransactionsApi } from './describe-transactions.js';
import { describeLogDirsApi } from './describe-log-dirs.js';
import { describeTopicPartitionsApi } from './describe-topic-partitions.js';
import { electLeadersApi } from './elect-leaders.js';
import { endTxnApi } from './end-txn.js';
import { errorCode } from './errors.js';
import { fetchApi } from './fetch.js';
import { findCoordinatorApi } from './find-coordinator.js';
import { heartbeatApi } from './heartbeat.js';
import { initProducerIdApi } from './init-producer-id.js';
import {
  type RequestHeader,
  decodeRequestHeader,
  decodeRequestHeaderPrefix,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from './header.js';
import { joinGroupApi } from './join-group.js';
import { leaveGroupApi } from './leave-group.js';
import { listGroupsApi } from './list-groups.js';
import { listOffsetsApi } from './list-offsets.js';
import { listTransactionsApi } from './list-transactions.js';
import { listPartitionReassignmentsApi } from './list-partition-reassignments.js';
import { metadataApi } from './metadata.js';
import { offsetCommitApi } from './offset-commit.js';
import { offsetDeleteApi } from './offset-delete.js';
import { offsetFetchApi } from './offset-fetch.js';
import { offsetForLeaderEpochApi } from './offset-for-leader-epoch.js';
import { Reader, Writer } from './primitives.js';
import { produceApi } from './produce.js';
// SASL login and SCRAM credentials
import { alterUserScramCredentialsApi } from './alter-user-scram-credentials.js';
import { describeUserScramCredentialsApi } from './describe-user-scram-credentials.js';
import { saslAuthenticateApi } from './sasl-authenticate.js';
import { saslHandshakeApi } from './sasl-handshake.js';
import { removeRaftVoterApi } from './remove-raft-voter.js';
import { alterClientQuotasApi } from './alter-client-quotas.js';
import { describeClientQuotasApi } from './describe-client-quotas.js';
import { syncGroupApi } from './sync-group.js';
import { txnOffsetCommitApi } from './txn-offset-commit.js';
import { writeTxnMarkersApi } from './write-txn-markers.js';

/**
 * The type-erased view the dispatcher holds. A handler that knows its API uses the typed module
 * export (e.g. `produceApi`) instead.
 */
export interface AnyApi {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly flexibleFrom: number;
  isFlexible(version: number): boolean;
  decodeRequest(r: Reader, version: number): unknown;
  decodeResponse(r: Reader, version: number): unknown;
}

/** One line per API. */
const apiList: readonly AnyApi[] = [
  produceApi,
  fetchApi,
  listOffsetsApi,
  metadataApi,
  apiVersionsApi,
  createTopicsApi,
  deleteTopicsApi,
  findCoordinatorApi,
  deleteRecordsApi,
  createPartitionsApi,
  describeConfigsApi,
  alterConfigsApi,
  incrementalAlterConfigsApi,
  offsetCommitApi,
  offsetFetchApi,
  joinGroupApi,
  heartbeatApi,
  leaveGroupApi,
  syncGroupApi,
  describeGroupsApi,
  listGroupsApi,
  deleteGroupsApi,
  offsetDeleteApi,
  initProducerIdApi,
  addPartitionsToTxnApi,
  addOffsetsToTxnApi,
  endTxnApi,
  txnOffsetCommitApi,
  writeTxnMarkersApi,
  describeQuorumApi,
  describeProducersApi,
  describeTransactionsApi,
  listTransactionsApi,
  addRaftVoterApi,
  removeRaftVoterApi,
  offsetForLeaderEpochApi,
  describeClusterApi,
  describeLogDirsApi,
  electLeadersApi,
  alterPartitionReassignmentsApi,
  listPartitionReassignmentsApi,
  describeTopicPartitionsApi,
  saslHandshakeApi,
  saslAuthenticateApi,
  describeUserScramCredentialsApi,
  alterUserScramCredentialsApi,
  describeAclsApi,
  createAclsApi,
  deleteAclsApi,
  describeClientQuotasApi,
  alterClientQuotasApi,
];

export const apis: ReadonlyMap<number, AnyApi> = (() => {
  const m = new Map<number, AnyApi>();
  for (const api of apiList) {
    assert(!m.has(api.apiKey), () => `api key ${api.apiKey} registered twice`);
    m.set(api.apiKey, api);
  }
  return m;
})();

export function lookupApi(apiKey: number): AnyApi | undefined {
  return apis.get(apiKey);
}

/** The ApiVersions body listing every API in the table, sorted by key. */
export function apiVersionsBody(errorCodeValue = 0, throttleTimeMs = 0): ApiVersionsResponse {
  return {
    errorCode: errorCodeValue,
    apiKeys: [...apis.values()]
      .sort((a, b) => a.apiKey - b.apiKey)
      .map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })),
    throttleTimeMs,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
}

export type ParsedRequest =
  | {
      readonly kind: 'request';
      readonly header: RequestHeader;
      readonly api: AnyApi;
      readonly body: unknown;
      /** Bytes after the body's last known field: ignored, as Kafka ignores them. */
      readonly trailingBytes: number;
    }
  /** A key this broker does not know, or a version outside its range; the body is not read. */
  | {
      readonly kind: 'unsupported';
      readonly apiKey: number;
      readonly apiVersion: number;
      readonly correlationId: number;
      /** For the log line: read as header v1/v2 would hold it; undefined when it cannot be read. */
      readonly clientId: string | null | undefined;
    };

/**
 * The client id of a request whose version (or key) is not known here, for log lines: in header
 * v1 and v2 alike it is an int16-length string right after the 8-byte prefix (Kafka keeps it
 * non-flexible for that reason). Undefined when the bytes do not hold one.
 */
export function peekClientId(frame: Buffer): string | null | undefined {
  try {
    const r = new Reader(frame);
    r.skip(8, 'request header');
    return r.nullableString();
  } catch {
    return undefined;
  }
}

/** "ApiName vN" (or "api key K vN") and the client id of a frame, for log lines; never throws. */
export function describeRequestFrame(frame: Buffer): string {
  if (frame.length < 4) return `a ${frame.length}-byte frame (no request header)`;
  const apiKey = frame.readInt16BE(0);
  const version = frame.readInt16BE(2);
  const name = apis.get(apiKey)?.name ?? `api key ${apiKey}`;
  const clientId = peekClientId(frame);
  const client = clientId === undefined ? 'unreadable' : clientId === null ? 'null' : JSON.stringify(clientId);
  return `${name} (key ${apiKey}) v${version}, client id ${client}`;
}

/**
 * Parses one request frame (without its size prefix). For a known API and version it reads the
 * header (v1, or v2 for flexible versions) and the body. Bytes after the body's last known field
 * are not an error (Kafka's parser ignores them, and librdkafka 2.x sends some): they are counted
 * in `trailingBytes` for the server to report.
 */
export function parseRequest(frame: Buffer): ParsedRequest {
  const prefix = decodeRequestHeaderPrefix(new Reader(frame));
  const api = apis.get(prefix.apiKey);
  if (api === undefined || prefix.apiVersion < api.minVersion || prefix.apiVersion > api.maxVersion) {
    return { kind: 'unsupported', ...prefix, clientId: peekClientId(frame) };
  }
  const r = new Reader(frame);
  const header = decodeRequestHeader(r, requestHeaderVersion(api.isFlexible(prefix.apiVersion)));
  const body = api.decodeRequest(r, prefix.apiVersion);
  return { kind: 'request', header, api, body, trailingBytes: r.remaining };
}

interface Encodable<T> {
  readonly apiKey: number;
  isFlexible(version: number): boolean;
  encodeResponse(w: Writer, version: number, body: T): void;
}

/** Size prefix, response header (v0/v1 as the API and version require) and body, in one buffer. */
export function encodeResponseFrame<T>(
  api: Encodable<T>,
  version: number,
  correlationId: number,
  body: T,
  frameBytesMax?: number,
): Buffer {
  const w = new Writer(256, frameBytesMax);
  w.int32(0);
  encodeResponseHeader(w, correlationId, responseHeaderVersion(api.apiKey, api.isFlexible(version)));
  api.encodeResponse(w, version, body);
  return w.int32At(0, w.offset - 4).finish();
}

/**
 * The answer to an ApiVersions request of a version this broker does not speak (KIP-511):
 * UNSUPPORTED_VERSION in the v0 body (header v0), with the supported keys listed so that the
 * client can retry at a version both sides know.
 */
export function unsupportedApiVersionsFrame(correlationId: number): Buffer {
  return encodeResponseFrame(apiVersionsApi, 0, correlationId, apiVersionsBody(errorCode('UNSUPPORTED_VERSION')));
}

/** A request frame with its size prefix: tests, tools and a future client. */
export function encodeRequestFrame<Req>(
  api: { readonly apiKey: number; isFlexible(version: number): boolean; encodeRequest(w: Writer, version: number, body: Req): void },
  version: number,
  correlationId: number,
  clientId: string | null,
  body: Req,
): Buffer {
  const w = new Writer();
  w.int32(0);
  encodeRequestHeader(w, { apiKey: api.apiKey, apiVersion: version, correlationId, clientId },
    requestHeaderVersion(api.isFlexible(version)));
  api.encodeRequest(w, version, body);
  return w.int32At(0, w.offset - 4).finish();
}

/** Decodes a response frame (without its size prefix) of a known API and version. */
export function parseResponse<Res>(
  api: { readonly apiKey: number; isFlexible(version: number): boolean; decodeResponse(r: Reader, version: number): Res },
  version: number,
  frame: Buffer,
): { correlationId: number; body: Res } {
  const r = new Reader(frame);
  const { correlationId } = decodeResponseHeader(r, responseHeaderVersion(api.apiKey, api.isFlexible(version)));
  return { correlationId, body: api.decodeResponse(r, version) };
}
