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
 *   know), a failed acks=0 Produce, and (a bug) a handler that throws. The reason names the API,
 *   version and client id; the connection logs it with the peer. Unsupported and malformed
 *   requests are counted by API in ServerMetrics.
 * Bytes after a body's last known field are ignored, as Kafka ignores them: counted by API in
 * ServerMetrics and logged at most once per 10 s per API (`protocolLog`).
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
import { type AnyApi, apis, describeRequestFrame, encodeResponseFrame, parseRequest } from '../kafka/apis.js';
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
import { saslAuthenticateHandler, saslHandshakeHandler } from './handlers/sasl.js';
import { alterUserScramCredentialsHandler, describeUserScramCredentialsHandler } from './handlers/scram-credentials.js';
import { createAclsHandler, deleteAclsHandler, describeAclsHandler } from './handlers/acls.js';
import { alterClientQuotasHandler, describeClientQuotasHandler } from './handlers/client-quotas.js';
import type { ServerMetrics } from './metrics.js';
import type { AuditLog } from './audit.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { Session } from './session.js';
import type { ThrottledLog } from './throttled-log.js';
import type { QuotaManager, Sensor } from '../quota/manager.js';
import { RequestQuota } from './quota.js';

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
  saslHandshakeHandler,
  saslAuthenticateHandler,
  describeUserScramCredentialsHandler,
  alterUserScramCredentialsHandler,
  describeAclsHandler,
  createAclsHandler,
  deleteAclsHandler,
  describeClientQuotasHandler,
  alterClientQuotasHandler,
];

/** The API keys served (and advertised). */
export const servedApiKeys: ReadonlySet<number> = new Set([...handlerList.map((h) => h.apiKey), apiKeys.ApiVersions]);

export const handlers: ReadonlyMap<number, AnyHandler> = new Map(
  [...handlerList, apiVersionsHandler(servedApiKeys)].map((h) => [h.apiKey, h]),
);

export type FrameOutcome =
  | { readonly kind: 'response'; readonly frame: Buffer; readonly throttle?: Throttle }
  | { readonly kind: 'none'; readonly throttle?: Throttle }
  | { readonly kind: 'close'; readonly reason: string };

/** A quota throttle (KIP-219): the connection is not read for `ms` after the answer, or until the quota is gone. */
export interface Throttle { readonly ms: number; readonly sensor: Sensor | null; readonly manager: QuotaManager }

export type ParsedFrame =
  | {
      readonly kind: 'request'; readonly header: RequestHeader; readonly api: AnyApi; readonly handler: AnyHandler; readonly body: unknown;
      /** Bytes after the body's last known field (ignored, as Kafka ignores them; counted and logged in dispatch). */
      readonly trailingBytes: number;
    }
  | FrameOutcome;

/** The metrics label of an API key: its name, or 'unknown' (a client cannot grow the label set). */
function apiLabel(apiKey: number): string {
  return apis.get(apiKey)?.name ?? 'unknown';
}

/**
 * Parses a request frame (without its size prefix). Never throws. A `close` outcome's reason names
 * the API, version and client id (the connection logs it with the peer's address). As Kafka's
 * SocketServer does, a request whose key or version is not served closes the connection (Kafka
 * throws InvalidRequestException from parseRequestHeader: it cannot encode an error in a version
 * it does not know), except ApiVersions (KIP-511).
 */
export function parseFrame(frame: Buffer, metrics?: ServerMetrics): ParsedFrame {
  let parsed;
  try {
    parsed = parseRequest(frame);
  } catch (err) {
    metrics?.countMalformed(frame.length >= 2 ? apiLabel(frame.readInt16BE(0)) : 'unknown');
    const why = err instanceof FlotillaError ? err.message : `unparsable: ${err instanceof Error ? err.message : String(err)}`;
    return { kind: 'close', reason: `malformed request (${describeRequestFrame(frame)}): ${why}` };
  }
  if (parsed.kind === 'unsupported') {
    metrics?.countUnsupported(apiLabel(parsed.apiKey));
    if (parsed.apiKey === apiKeys.ApiVersions) {
      const body = advertisedApiVersions(servedApiKeys, errorCode('UNSUPPORTED_VERSION'));
      return { kind: 'response', frame: encodeResponseFrame(apiVersionsApi, 0, parsed.correlationId, body) };
    }
    const api = apis.get(parsed.apiKey);
    const what = api === undefined
      ? `unknown api key ${parsed.apiKey}`
      : `${api.name} (key ${parsed.apiKey}) v${parsed.apiVersion} is outside the served v${api.minVersion}-v${api.maxVersion}`;
    const client = parsed.clientId === undefined ? 'unreadable' : parsed.clientId === null ? 'null' : JSON.stringify(parsed.clientId);
    return { kind: 'close', reason: `unsupported request: ${what} (version ${parsed.apiVersion}, client id ${client}, correlation id ${parsed.correlationId})` };
  }
  const handler = handlers.get(parsed.header.apiKey);
  if (handler === undefined) {
    metrics?.countUnsupported(parsed.api.name);
    return { kind: 'close', reason: `api ${parsed.api.name} (key ${parsed.header.apiKey}) v${parsed.header.apiVersion} is not served (client id ${JSON.stringify(parsed.header.clientId)})` };
  }
  return { kind: 'request', header: parsed.header, api: parsed.api, handler, body: parsed.body, trailingBytes: parsed.trailingBytes };
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
  /** Client behaviour logged at most once per 10 s per API (trailing bytes); absent: not logged. */
  readonly protocolLog?: ThrottledLog | undefined;
  /** Failed logins and authorization denials (audit.ts); absent: not logged, not counted. */
  readonly audit?: AuditLog | undefined;
  /** The ACL authorizer (lib/auth); absent: authorization is off and every request is allowed. */
  readonly authorizer?: Authorizer | undefined;
  /** The node's client quotas (issue 19); absent: no quota is enforced. */
  readonly quotas?: QuotaManager | undefined;
}

/** Runs a parsed request's handler. Never rejects. */
export async function dispatch(req: Extract<ParsedFrame, { kind: 'request' }>, env: DispatchEnv, clientHost = '', session?: Session, parseMs = 0): Promise<FrameOutcome> {
  env.metrics.countRequest(req.api.name);
  if (req.trailingBytes > 0) {
    env.metrics.countTrailingBytes(req.api.name, req.trailingBytes);
    env.protocolLog?.log(`trailing:${req.api.name}`, () => `kafka server: ${req.api.name} v${req.header.apiVersion} from client id `
      + `${JSON.stringify(req.header.clientId)} at ${clientHost || '?'} had ${req.trailingBytes} bytes after its last known field `
      + '(ignored, as Kafka ignores them)');
  }
  // One flag when no quota is configured; otherwise a cached lookup of the client's quotas.
  const clientQuotas = env.quotas?.client(session?.principal.name ?? 'ANONYMOUS', req.header.clientId ?? '') ?? null;
  const quota = clientQuotas === null ? null : new RequestQuota(env.quotas as QuotaManager, clientQuotas);
  if (quota !== null) quota.loopMs += parseMs;
  try {
    const ctx = requestContext(env.broker, req.header, env.metrics, env.groups, clientHost, env.txn, session, env.authorizer, env.audit, quota);
    const t0 = quota?.timed === true ? performance.now() : 0;
    const running = req.handler.run(ctx, req.body, env.responseBytesMax);
    // The handler's synchronous start is event-loop time of this request (request_percentage).
    if (quota?.timed === true) quota.loopMs += performance.now() - t0;
    const out = await running;
    const throttle = quota === null || quota.decided.throttleMs <= 0 ? undefined
      : { ms: quota.decided.throttleMs, sensor: quota.decided.sensor, manager: env.quotas as QuotaManager };
    if (out === NO_RESPONSE) return throttle === undefined ? { kind: 'none' } : { kind: 'none', throttle };
    if (out === CLOSE_CONNECTION) return { kind: 'close', reason: `${req.api.name} asked to close the connection` };
    return throttle === undefined ? { kind: 'response', frame: out } : { kind: 'response', frame: out, throttle };
  } catch (err) {
    env.metrics.handlerFailures++;
    env.logger?.(`kafka server: ${req.api.name} v${req.header.apiVersion} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    return { kind: 'close', reason: `${req.api.name} handler failed` };
  }
}

/** Parse and dispatch in one step: what a connection does with a frame (and what fuzzing drives). */
export async function processFrame(frame: Buffer, env: DispatchEnv): Promise<FrameOutcome> {
  const parsed = parseFrame(frame, env.metrics);
  return parsed.kind === 'request' ? dispatch(parsed, env) : parsed;
}
