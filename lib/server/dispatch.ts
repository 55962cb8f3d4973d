/**
 * The dispatch table (API key → handler) and the path of one request frame through the server:
 * parse (lib/kafka) → handler → encoded response. Adding an API (groups, transactions) is one
 * module under handlers/ and one line in `handlerList`; ApiVersions then advertises it.
 *
 * Outcomes of a frame (the size prefix already stripped):
 * - `response`: a response frame (size prefix included) to write in request order;
 * - `none`: nothing to write (Produce with acks=0);
 * - `close`: close the connection once the responses before it are written. For a malformed or
 *   truncated request, an API key this broker does not serve, an unsupported version of any API
 *   but ApiVersions (Kafka does the same: it cannot encode an error in a version it does not
 *   know), a failed acks=0 Produce, and (a bug) a handler that throws.
 * An unsupported ApiVersions version is answered UNSUPPORTED_VERSION in the v0 body, with the
 * API list (KIP-511), so that the client retries at a version both sides speak.
 *
 * `parseFrame` is synchronous (the connection must know at once whether to stop reading);
 * `dispatch` never rejects.
 */
import type { BrokerApi } from '../broker/api.js';
import { FlotillaError } from '../base/errors.js';
import type { GroupCoordinatorApi } from '../group/api.js';
import type { TxnCoordinatorApi } from '../txn/api.js';
import { apiVersionsApi } from '../kafka/api-versions.js';
import { type AnyApi, encodeResponseFrame, parseRequest } from '../kafka/apis.js';
import { errorCode } from '../kafka/errors.js';
import { apiKeys, type RequestHeader } from '../kafka/header.js';
import { type AnyHandler, CLOSE_CONNECTION, NO_RESPONSE, requestContext } from './handler.js';
import { alterConfigsHandler } from './handlers/alter-configs.js';
import { incrementalAlterConfigsHandler } from './handlers/incremental-alter-configs.js';
import { advertisedApiVersions, apiVersionsHandler } from './handlers/api-versions.js';
import { createPartitionsHandler } from './handlers/create-partitions.js';
import { createTopicsHandler } from './handlers/create-topics.js';
import { deleteRecordsHandler } from './handlers/delete-records.js';
import { deleteTopicsHandler } from './handlers/delete-topics.js';
import { describeClusterHandler } from './handlers/describe-cluster.js';
import { describeConfigsHandler } from './handlers/describe-configs.js';
import { describeLogDirsHandler } from './handlers/describe-log-dirs.js';
import { describeTopicPartitionsHandler } from './handlers/describe-topic-partitions.js';
import { fetchHandler } from './handlers/fetch.js';
import { initProducerIdHandler } from './handlers/init-producer-id.js';
import { findCoordinatorHandler } from './handlers/find-coordinator.js';
import {
  deleteGroupsHandler, describeGroupsHandler, heartbeatHandler, joinGroupHandler, leaveGroupHandler, listGroupsHandler,
  offsetCommitHandler, offsetDeleteHandler, offsetFetchHandler, syncGroupHandler,
} from './handlers/groups.js';
import { listOffsetsHandler } from './handlers/list-offsets.js';
import { metadataHandler } from './handlers/metadata.js';
import { offsetForLeaderEpochHandler } from './handlers/offset-for-leader-epoch.js';
import { alterPartitionReassignmentsHandler, electLeadersHandler, listPartitionReassignmentsHandler } from './handlers/partition-admin.js';
import { produceHandler } from './handlers/produce.js';
import { describeProducersHandler } from './handlers/describe-producers.js';
import { describeQuorumHandler } from './handlers/describe-quorum.js';
import { addRaftVoterHandler, removeRaftVoterHandler } from './handlers/raft-voters.js';
import {
  addOffsetsToTxnHandler, addPartitionsToTxnHandler, describeTransactionsHandler, endTxnHandler, listTransactionsHandler, txnOffsetCommitHandler,
} from './handlers/transactions.js';
import { writeTxnMarkersHandler } from './handlers/write-txn-markers.js';
import type { ServerMetrics } from './metrics.js';

/** One line per API (ApiVersions is added below: it lists the others). */
const handlerList: readonly AnyHandler[] = [
  produceHandler,
  fetchHandler,
  listOffsetsHandler,
  metadataHandler,
  createTopicsHandler,
  deleteTopicsHandler,
  deleteRecordsHandler,
  describeConfigsHandler,
  alterConfigsHandler,
  incrementalAlterConfigsHandler,
  createPartitionsHandler,
  findCoordinatorHandler,
  joinGroupHandler,
  syncGroupHandler,
  heartbeatHandler,
  leaveGroupHandler,
  offsetCommitHandler,
  offsetFetchHandler,
  describeGroupsHandler,
  listGroupsHandler,
  deleteGroupsHandler,
  offsetDeleteHandler,
  initProducerIdHandler,
  addPartitionsToTxnHandler,
  addOffsetsToTxnHandler,
  endTxnHandler,
  txnOffsetCommitHandler,
  writeTxnMarkersHandler,
  describeQuorumHandler,
  describeProducersHandler,
  describeTransactionsHandler,
  listTransactionsHandler,
  addRaftVoterHandler,
  removeRaftVoterHandler,
  offsetForLeaderEpochHandler,
  describeClusterHandler,
  describeLogDirsHandler,
  electLeadersHandler,
  alterPartitionReassignmentsHandler,
  listPartitionReassignmentsHandler,
  describeTopicPartitionsHandler,
];

/** The API keys served (and advertised). */
export const servedApiKeys: ReadonlySet<number> = new Set([...handlerList.map((h) => h.apiKey), apiKeys.ApiVersions]);

export const handlers: ReadonlyMap<number, AnyHandler> = new Map(
  [...handlerList, apiVersionsHandler(servedApiKeys)].map((h) => [h.apiKey, h]),
);

export type FrameOutcome =
  | { readonly kind: 'response'; readonly frame: Buffer }
  | { readonly kind: 'none' }
  | { readonly kind: 'close'; readonly reason: string };

export type ParsedFrame =
  | { readonly kind: 'request'; readonly header: RequestHeader; readonly api: AnyApi; readonly handler: AnyHandler; readonly body: unknown }
  | FrameOutcome;

/** Parses a request frame (without its size prefix). Never throws. */
export function parseFrame(frame: Buffer): ParsedFrame {
  let parsed;
  try {
    parsed = parseRequest(frame);
  } catch (err) {
    if (err instanceof FlotillaError) return { kind: 'close', reason: `malformed request: ${err.message}` };
    return { kind: 'close', reason: `unparsable request: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (parsed.kind === 'unsupported') {
    if (parsed.apiKey === apiKeys.ApiVersions) {
      const body = advertisedApiVersions(servedApiKeys, errorCode('UNSUPPORTED_VERSION'));
      return { kind: 'response', frame: encodeResponseFrame(apiVersionsApi, 0, parsed.correlationId, body) };
    }
    return { kind: 'close', reason: `unsupported request: api key ${parsed.apiKey} version ${parsed.apiVersion}` };
  }
  const handler = handlers.get(parsed.header.apiKey);
  if (handler === undefined) return { kind: 'close', reason: `api ${parsed.api.name} (key ${parsed.header.apiKey}) is not served` };
  return { kind: 'request', header: parsed.header, api: parsed.api, handler, body: parsed.body };
}

export interface DispatchEnv {
  readonly broker: BrokerApi;
  /** The group coordinator; absent: the group APIs answer COORDINATOR_NOT_AVAILABLE. */
  readonly groups?: GroupCoordinatorApi | undefined;
  /** The transaction coordinator; absent: the transactional APIs answer COORDINATOR_NOT_AVAILABLE. */
  readonly txn?: TxnCoordinatorApi | undefined;
  readonly metrics: ServerMetrics;
  /** The largest response frame to encode (a larger one is a bug: the connection is closed). */
  readonly responseBytesMax: number;
  readonly logger?: ((line: string) => void) | undefined;
}

/** Runs a parsed request's handler. Never rejects. */
export async function dispatch(req: Extract<ParsedFrame, { kind: 'request' }>, env: DispatchEnv, clientHost = ''): Promise<FrameOutcome> {
  env.metrics.countRequest(req.api.name);
  try {
    const out = await req.handler.run(requestContext(env.broker, req.header, env.metrics, env.groups, clientHost, env.txn), req.body, env.responseBytesMax);
    if (out === NO_RESPONSE) return { kind: 'none' };
    if (out === CLOSE_CONNECTION) return { kind: 'close', reason: `${req.api.name} asked to close the connection` };
    return { kind: 'response', frame: out };
  } catch (err) {
    env.metrics.handlerFailures++;
    env.logger?.(`kafka server: ${req.api.name} v${req.header.apiVersion} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    return { kind: 'close', reason: `${req.api.name} handler failed` };
  }
}

/** Parse and dispatch in one step: what a connection does with a frame (and what fuzzing drives). */
export async function processFrame(frame: Buffer, env: DispatchEnv): Promise<FrameOutcome> {
  const parsed = parseFrame(frame);
  return parsed.kind === 'request' ? dispatch(parsed, env) : parsed;
}
