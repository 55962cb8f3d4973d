/**
 * Kafka request and response headers, and the table of API keys.
 *
 * Request header (RequestHeader.json):
 *   v0: int16 apiKey, int16 apiVersion, int32 correlationId
 *   v1: v0 + clientId, a nullable string with an int16 length
 *   v2: v1 + a tagged-field section (used by flexible request versions). The clientId keeps its
 *       int16 length even in v2 ("flexibleVersions": "none" for that field), so any server can
 *       read the header of a request it does not support.
 * Response header (ResponseHeader.json):
 *   v0: int32 correlationId
 *   v1: v0 + a tagged-field section (flexible response versions), except the ApiVersions
 *       response, which always uses v0 (KIP-511) so that a client can read it whatever it sent.
 *
 * The int32 frame size that precedes each request and response is the transport's business;
 * `apis.ts` offers frame helpers. Pure: no I/O.
 */
import { assert } from '../base/assert.js';
import type { Reader, Writer } from './primitives.js';

/** Apache Kafka's API keys (ApiKeys.java / each message JSON's "apiKey"). */
export const apiKeys = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  OffsetForLeaderEpoch: 23,
  AddPartitionsToTxn: 24,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  WriteTxnMarkers: 27,
  TxnOffsetCommit: 28,
  DescribeAcls: 29,
  CreateAcls: 30,
  DeleteAcls: 31,
  DescribeConfigs: 32,
  AlterConfigs: 33,
  SaslAuthenticate: 36,
  CreatePartitions: 37,
  DeleteGroups: 42,
  IncrementalAlterConfigs: 44,
  AlterPartitionReassignments: 45,
  ListPartitionReassignments: 46,
  OffsetDelete: 47,
  DescribeQuorum: 55,
  DescribeCluster: 60,
  DescribeProducers: 61,
  DescribeTransactions: 65,
  ListTransactions: 66,
  AddRaftVoter: 80,
  RemoveRaftVoter: 81,
} as const;

export type ApiName = keyof typeof apiKeys;

export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  /** Absent (null) in header v0, and null when the client sends none. */
  readonly clientId: string | null;
}

export type RequestHeaderVersion = 0 | 1 | 2;
export type ResponseHeaderVersion = 0 | 1;

/** The request header version a request uses: 2 for flexible versions, else 1. */
export function requestHeaderVersion(flexible: boolean): RequestHeaderVersion {
  return flexible ? 2 : 1;
}

/** The response header version: 1 for flexible versions, else 0; always 0 for ApiVersions. */
export function responseHeaderVersion(apiKey: number, flexible: boolean): ResponseHeaderVersion {
  return flexible && apiKey !== apiKeys.ApiVersions ? 1 : 0;
}

/** Reads apiKey, apiVersion and correlationId only: enough to answer or reject any request. */
export function decodeRequestHeaderPrefix(r: Reader): { apiKey: number; apiVersion: number; correlationId: number } {
  return { apiKey: r.int16(), apiVersion: r.int16(), correlationId: r.int32() };
}

export function decodeRequestHeader(r: Reader, version: RequestHeaderVersion): RequestHeader {
  const prefix = decodeRequestHeaderPrefix(r);
  const clientId = version >= 1 ? r.nullableString() : null;
  // No tagged header field is defined for clients (tag 0 "ClientTags" is absent); skip them all.
  if (version >= 2) r.taggedFields(() => false);
  return { ...prefix, clientId };
}

export function encodeRequestHeader(w: Writer, h: RequestHeader, version: RequestHeaderVersion): void {
  w.int16(h.apiKey).int16(h.apiVersion).int32(h.correlationId);
  if (version >= 1) w.nullableString(h.clientId);
  else assert(h.clientId === null, 'request header v0 has no clientId');
  if (version >= 2) w.emptyTaggedFields();
}

export function encodeResponseHeader(w: Writer, correlationId: number, version: ResponseHeaderVersion): void {
  w.int32(correlationId);
  if (version >= 1) w.emptyTaggedFields();
}

export function decodeResponseHeader(r: Reader, version: ResponseHeaderVersion): { correlationId: number } {
  const correlationId = r.int32();
  if (version >= 1) r.taggedFields(() => false);
  return { correlationId };
}
