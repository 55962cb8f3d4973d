/**
 * The shape of one API's handler. A handler module exports `handler(api, async (ctx, request) =>
 * response)`; the dispatcher (dispatch.ts) finds it by API key, and the handler never throws: every
 * failure of the broker is mapped (ctx.error → errors.ts) into the response, per partition or per
 * topic. `NO_RESPONSE` answers nothing (Produce with acks=0); `CLOSE_CONNECTION` ends the
 * connection after the responses before it (Kafka's answer to a failed acks=0 Produce).
 */
import type { BrokerApi } from '../broker/api.js';
import type { GroupCoordinatorApi } from '../group/api.js';
import type { ApiDefinition } from '../kafka/api.js';
import { encodeResponseFrame } from '../kafka/apis.js';
import type { KafkaErrorName } from '../kafka/errors.js';
import type { RequestHeader } from '../kafka/header.js';
import type { TxnCoordinatorApi } from '../txn/api.js';
import { type AclOperation, type ResourceType, operationName, resourceString, resourceTypeName } from '../auth/acl.js';
import type { Authorizer } from '../auth/authorizer.js';
import { apis } from '../kafka/apis.js';
import type { AuditLog } from './audit.js';
import { type ErrorContext, type KafkaErrorValue, kafkaError, kafkaErrorOf } from './errors.js';
import type { ServerMetrics } from './metrics.js';
import { type Session, plaintextSession, principalString } from './session.js';
import type { RequestQuota } from './quota.js';

export const NO_RESPONSE = Symbol('flotilla.server.noResponse');
export const CLOSE_CONNECTION = Symbol('flotilla.server.closeConnection');
export type HandlerDirective = typeof NO_RESPONSE | typeof CLOSE_CONNECTION;

/** What a handler sees of the request beyond its body. */
export interface RequestContext {
  readonly broker: BrokerApi;
  /** The group coordinator, when this node runs one (group APIs answer COORDINATOR_NOT_AVAILABLE otherwise). */
  readonly groups: GroupCoordinatorApi | undefined;
  /** The transaction coordinator, when this node runs one (transactional APIs answer COORDINATOR_NOT_AVAILABLE otherwise). */
  readonly txn: TxnCoordinatorApi | undefined;
  readonly header: RequestHeader;
  /** The version the request was sent at (the response uses the same). */
  readonly apiVersion: number;
  /** The client's address as Kafka reports it in group descriptions ("/127.0.0.1"), or ''. */
  readonly clientHost: string;
  /** The connection's listener, address and principal (session.ts). */
  readonly session: Session;
  /** Maps a BrokerApi failure (or null: success) to the Kafka code and message, counting it. */
  error(err: unknown, context?: ErrorContext): KafkaErrorValue;
  /** A Kafka error the server chose itself (request validation), counted. */
  errorOf(name: KafkaErrorName, message?: string | null): KafkaErrorValue;
  /** The client's quotas for this request (quota.ts); null when none applies (nothing is measured). */
  readonly quota: RequestQuota | null;
  /** True when this node enforces ACLs (the `authorizer` setting); false: every check below allows. */
  readonly authorizerEnabled: boolean;
  /**
   * May the session's principal do `op` on the resource? An explicit check (the client named the
   * resource): a denial is written to the audit log, once per call.
   */
  authorize(op: AclOperation, resourceType: ResourceType, name: string): boolean;
  /** The same decision for filtering (all-topics Metadata, ListGroups): nothing is audited. */
  isAuthorized(op: AclOperation, resourceType: ResourceType, name: string): boolean;
  /** Kafka's authorizeByResourceType: `op` on SOME resource of the type (audited when denied). */
  authorizeAny(op: AclOperation, resourceType: ResourceType): boolean;
}

export type HandlerResult<Res> = Res | HandlerDirective;

function isDirective<Res>(x: HandlerResult<Res>): x is HandlerDirective {
  return x === NO_RESPONSE || x === CLOSE_CONNECTION;
}

/** A handler with its API's types erased: what the dispatch table holds. */
export interface AnyHandler {
  readonly apiKey: number;
  readonly name: string;
  /**
   * Runs the handler for a decoded body and encodes the response frame (size prefix included).
   * Rejects only on a bug (a handler that throws, a response that cannot be encoded).
   */
  run(ctx: RequestContext, body: unknown, responseBytesMax: number): Promise<Buffer | HandlerDirective>;
}

export function handler<Req, Res>(
  api: ApiDefinition<Req, Res>,
  handle: (ctx: RequestContext, request: Req) => Promise<HandlerResult<Res>>,
): AnyHandler {
  return Object.freeze({
    apiKey: api.apiKey,
    name: api.name,
    async run(ctx: RequestContext, body: unknown, responseBytesMax: number): Promise<Buffer | HandlerDirective> {
      // The body was decoded by `api` itself (parseRequest looks the API up by the same key).
      const result: HandlerResult<Res> = await handle(ctx, body as Req);
      const quota = ctx.quota;
      if (quota === null) {
        if (isDirective(result)) return result;
        return encodeResponseFrame(api, ctx.apiVersion, ctx.header.correlationId, result as Res, responseBytesMax);
      }
      // KIP-219: the answer goes out at once, carrying the throttle (every response with the field).
      const { throttleMs } = quota.finish();
      if (isDirective(result)) return result;
      const body2 = throttleMs > 0 && typeof (result as { throttleTimeMs?: unknown }).throttleTimeMs === 'number'
        ? { ...(result as Res), throttleTimeMs: Math.min(throttleMs, 0x7fffffff) }
        : result as Res;
      const t0 = quota.timed ? performance.now() : 0;
      const frame = encodeResponseFrame(api, ctx.apiVersion, ctx.header.correlationId, body2, responseBytesMax);
      if (quota.timed) quota.encoded(performance.now() - t0);
      return frame;
    },
  });
}

/** Builds the context of one request. */
export function requestContext(
  broker: BrokerApi, header: RequestHeader, metrics: ServerMetrics, groups?: GroupCoordinatorApi, clientHost = '', txn?: TxnCoordinatorApi,
  session: Session = plaintextSession(clientHost.startsWith('/') ? clientHost.slice(1) : clientHost),
  authorizer?: Authorizer, audit?: AuditLog, quota: RequestQuota | null = null,
): RequestContext {
  const principal = (): string => principalString(session.principal);
  const denied = (op: AclOperation, resource: string, rule: string): void => {
    audit?.denied({
      principal: session.principal, clientAddress: session.clientAddress, listener: session.listener, clientId: header.clientId,
      api: apis.get(header.apiKey)?.name ?? String(header.apiKey), correlationId: header.correlationId, operation: operationName(op), resource, rule,
    }, session.auditBudget);
  };
  return {
    broker,
    groups,
    txn,
    header,
    apiVersion: header.apiVersion,
    clientHost,
    session,
    error(err: unknown, context?: ErrorContext): KafkaErrorValue {
      const e = kafkaError(err, context);
      metrics.countError(e.errorCode);
      return e;
    },
    errorOf(name: KafkaErrorName, message: string | null = null): KafkaErrorValue {
      const e = kafkaErrorOf(name, message);
      metrics.countError(e.errorCode);
      return e;
    },
    quota,
    authorizerEnabled: authorizer !== undefined,
    authorize(op: AclOperation, resourceType: ResourceType, name: string): boolean {
      if (authorizer === undefined) return true;
      const d = authorizer.authorize(principal(), session.clientAddress, { operation: op, resourceType, resourceName: name });
      if (!d.allowed) denied(op, resourceString(resourceType, 'literal', name), d.rule);
      return d.allowed;
    },
    isAuthorized(op: AclOperation, resourceType: ResourceType, name: string): boolean {
      if (authorizer === undefined) return true;
      return authorizer.authorize(principal(), session.clientAddress, { operation: op, resourceType, resourceName: name }).allowed;
    },
    authorizeAny(op: AclOperation, resourceType: ResourceType): boolean {
      if (authorizer === undefined) return true;
      const d = authorizer.authorizeByResourceType(principal(), session.clientAddress, op, resourceType);
      // Kafka's authorizeByResourceType: no one resource; the line names the type with pattern ANY.
      if (!d.allowed) denied(op, `${resourceTypeName(resourceType)}:ANY:*`, d.rule);
      return d.allowed;
    },
  };
}

/**
 * Runs `fn` for every item concurrently and keeps the order; an item whose call throws gets
 * `onError(err, item)` instead. Never rejects.
 */
export async function settleAll<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, onError: (err: unknown, item: T) => R): Promise<R[]> {
  return Promise.all(items.map(async (item) => {
    try {
      return await fn(item);
    } catch (err) {
      return onError(err, item);
    }
  }));
}
