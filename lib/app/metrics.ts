/**
 * Prometheus metrics (prom-client), one Registry per node so that several nodes can live in one
 * process (tests) without sharing counters. Every series carries the label `node`.
 *
 * Cardinality is bounded: labels are the Raft group (one per hosted replica, bounded by the
 * partitions this node hosts), the Kafka API name (a fixed set), and error codes (a fixed set);
 * never topic names from clients or client ids.
 *
 * `serveMetrics` is the HTTP side: GET /metrics (Prometheus text format), GET /status (the node's
 * status as JSON), GET /healthz ("ok"). The node binds it to loopback unless told otherwise; with
 * a token (--metrics-token) every path but /healthz needs `Authorization: Bearer <token>` (401
 * otherwise, compared in constant time); with TLS files (--metrics-tls) it serves HTTPS with the
 * node's certificate. Nothing it serves holds a credential.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface NodeMetrics {
  readonly registry: Registry;
  /** Current Raft term of each group hosted here. Remove a group's series with `raftTerm.remove({ group })`. */
  readonly raftTerm: Gauge<'group'>;
  /** Times a group hosted here saw its leader change (a new leader, or none). */
  readonly raftLeaderChanges: Counter;
  /** Time from proposal to commit on the leader, in seconds. */
  readonly raftCommitLatency: Histogram;
  /** Entries proposed on the leaders here and not committed yet. */
  readonly raftInFlightEntries: Gauge;
  readonly underReplicatedPartitions: Gauge;
  /** Raft groups (partition replicas and the metadata group) hosted by this node. */
  readonly raftGroups: Gauge;
  /** Raft groups this node leads. */
  readonly raftGroupsLed: Gauge;
  readonly produceRequests: Counter;
  readonly produceRecords: Counter;
  readonly produceBytes: Counter;
  /** Produce partition errors by Kafka error name (e.g. NOT_LEADER_OR_FOLLOWER). */
  readonly produceErrors: Counter<'error'>;
  readonly fetchRequests: Counter;
  /** Record bytes returned to fetchers. */
  readonly fetchBytes: Counter;
  readonly fetchErrors: Counter<'error'>;
  /** Kafka requests by API name (Produce, Fetch, Metadata, ...). */
  readonly kafkaRequests: Counter<'api'>;
  /** Time to answer a Kafka request by API name, in seconds. */
  readonly kafkaRequestDuration: Histogram<'api'>;
  /** Kafka requests answered with (or closed for) an error, by API and error name. */
  readonly kafkaRequestErrors: Counter<'api' | 'error'>;
  readonly kafkaRequestsTrailingBytes: Counter<'api'>;
  readonly kafkaRequestTrailingBytes: Counter<'api'>;
  /** The audit log's counters (lib/server/audit.ts). */
  readonly authzDenied: Counter<'api' | 'resource_type'>;
  readonly authnFailed: Counter<'listener' | 'mechanism' | 'reason'>;
  readonly kafkaRequestsUnsupported: Counter<'api'>;
  readonly kafkaRequestsMalformed: Counter<'api'>;
  /** Client quotas (issue 19), per live quota sensor: observed rate, limit, throttles handed out. */
  readonly quotaObserved: Gauge<'key' | 'user' | 'client_id' | 'ip'>;
  readonly quotaLimit: Gauge<'key' | 'user' | 'client_id' | 'ip'>;
  readonly quotaThrottleTimeMs: Counter<'key' | 'user' | 'client_id' | 'ip'>;
  readonly quotaThrottledRequests: Counter<'key' | 'user' | 'client_id' | 'ip'>;
  /** Open client connections. */
  readonly connections: Gauge;
  /** Client connections accepted since start. */
  readonly connectionsAccepted: Counter;
  /** Brokers registered in the metadata image. */
  readonly metadataBrokers: Gauge;
  /** Brokers the metadata marks fenced (stopped heartbeating). */
  readonly metadataFencedBrokers: Gauge;
  /** Offset of the last metadata record this node applied. */
  readonly metadataAppliedOffset: Gauge;
  /** Consumer groups this node coordinates, by state (Empty, Stable, ...). */
  readonly groups: Gauge<'state'>;
  /** Rebalances started by the groups this node coordinates. */
  readonly groupRebalances: Counter;
  /** Offsets committed through this node's coordinators. */
  readonly groupOffsetCommits: Counter;
  /** Idempotent batches answered as duplicates (with the original offsets) by leaders here. */
  readonly producerDuplicates: Counter;
  /** Idempotent or transactional batches refused (sequence gap, old epoch, bad state) by leaders here. */
  readonly producerRejected: Counter;
  /** Producer ids handed out by this node (InitProducerId). */
  readonly producerIds: Counter;
  /** Producers known to the partitions this node leads. */
  readonly partitionProducers: Gauge;
  /** Transactions open on the partitions this node leads. */
  readonly partitionOpenTransactions: Gauge;
  /** Transactional ids coordinated here, by state. */
  readonly transactions: Gauge<'state'>;
  /** Transactions ended by the coordinators here, by result (commit, abort). */
  readonly transactionsEnded: Counter<'result'>;
  /** Transactions the coordinators here aborted because they outlived their timeout. */
  readonly transactionsTimedOut: Counter;
  /** Transaction markers written by the coordinators here (and retries of them). */
  readonly transactionMarkers: Counter<'outcome'>;
}

export interface CreateNodeMetricsOptions {
  readonly nodeId: number;
  /** Process figures (CPU, memory, event loop lag, GC); default true. */
  readonly processMetrics?: boolean;
  /** Name prefix; default "flotilla_". */
  readonly prefix?: string;
}

export function createNodeMetrics(options: CreateNodeMetricsOptions): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node: String(options.nodeId) });
  const p = options.prefix ?? 'flotilla_';
  const registers = [registry];
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: p });
  const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  return Object.freeze({
    registry,
    raftTerm: new Gauge({ name: `${p}raft_term`, help: 'Current Raft term of each group hosted here', labelNames: ['group'] as const, registers }),
    raftLeaderChanges: new Counter({ name: `${p}raft_leader_changes_total`, help: 'Leader changes seen by the Raft groups hosted here', registers }),
    raftCommitLatency: new Histogram({ name: `${p}raft_commit_latency_seconds`, help: 'Time from proposal to commit on the leader', buckets: latencyBuckets, registers }),
    raftInFlightEntries: new Gauge({ name: `${p}raft_in_flight_entries`, help: 'Entries proposed on leaders here and not committed yet', registers }),
    underReplicatedPartitions: new Gauge({ name: `${p}under_replicated_partitions`, help: 'Partitions led here with a voter out of sync (not heard from in an election timeout, or not replicating): Kafka\'s UnderReplicatedPartitions', registers }),
    raftGroups: new Gauge({ name: `${p}raft_groups`, help: 'Raft groups hosted by this node', registers }),
    raftGroupsLed: new Gauge({ name: `${p}raft_groups_led`, help: 'Raft groups this node leads', registers }),
    produceRequests: new Counter({ name: `${p}produce_requests_total`, help: 'Produce requests received', registers }),
    produceRecords: new Counter({ name: `${p}produce_records_total`, help: 'Records appended by produce requests', registers }),
    produceBytes: new Counter({ name: `${p}produce_bytes_total`, help: 'Record batch bytes appended by produce requests', registers }),
    produceErrors: new Counter({ name: `${p}produce_errors_total`, help: 'Produce partition errors by Kafka error name', labelNames: ['error'] as const, registers }),
    fetchRequests: new Counter({ name: `${p}fetch_requests_total`, help: 'Fetch requests received', registers }),
    fetchBytes: new Counter({ name: `${p}fetch_bytes_total`, help: 'Record bytes returned by fetch requests', registers }),
    fetchErrors: new Counter({ name: `${p}fetch_errors_total`, help: 'Fetch partition errors by Kafka error name', labelNames: ['error'] as const, registers }),
    kafkaRequests: new Counter({ name: `${p}kafka_requests_total`, help: 'Kafka requests by API', labelNames: ['api'] as const, registers }),
    kafkaRequestDuration: new Histogram({ name: `${p}kafka_request_duration_seconds`, help: 'Time to answer a Kafka request by API', labelNames: ['api'] as const, buckets: latencyBuckets, registers }),
    kafkaRequestErrors: new Counter({ name: `${p}kafka_request_errors_total`, help: 'Kafka requests that failed, by API and error name', labelNames: ['api', 'error'] as const, registers }),
    kafkaRequestsTrailingBytes: new Counter({ name: `${p}kafka_requests_with_trailing_bytes_total`, help: 'Kafka requests served although bytes followed their last known field (ignored, as Kafka does), by API', labelNames: ['api'] as const, registers }),
    kafkaRequestTrailingBytes: new Counter({ name: `${p}kafka_request_trailing_bytes_total`, help: 'Bytes after the last known field of served Kafka requests, by API', labelNames: ['api'] as const, registers }),
    authzDenied: new Counter({ name: `${p}authz_denied_total`, help: 'Requests (or parts of them) refused by the authorizer, by API and resource type', labelNames: ['api', 'resource_type'] as const, registers }),
    authnFailed: new Counter({ name: `${p}authn_failed_total`, help: 'Failed authentications, by listener, mechanism and reason', labelNames: ['listener', 'mechanism', 'reason'] as const, registers }),
    kafkaRequestsUnsupported: new Counter({ name: `${p}kafka_requests_unsupported_total`, help: 'Kafka requests of an API key or version not served (connection closed; ApiVersions answered UNSUPPORTED_VERSION), by API', labelNames: ['api'] as const, registers }),
    kafkaRequestsMalformed: new Counter({ name: `${p}kafka_requests_malformed_total`, help: 'Kafka requests that could not be read (connection closed), by API', labelNames: ['api'] as const, registers }),
    quotaObserved: new Gauge({ name: `${p}quota_observed`, help: 'Observed rate per client quota instance: bytes/s (producer_byte_rate, consumer_byte_rate), percent of the event loop (request_percentage), connections/s (connection_creation_rate), partitions created or deleted/s (controller_mutation_rate)', labelNames: ['key', 'user', 'client_id', 'ip'] as const, registers }),
    quotaLimit: new Gauge({ name: `${p}quota_limit`, help: 'The quota bound applied to each client quota instance', labelNames: ['key', 'user', 'client_id', 'ip'] as const, registers }),
    quotaThrottleTimeMs: new Counter({ name: `${p}quota_throttle_time_ms_total`, help: 'Throttle time handed to clients (throttle_time_ms and connection muting), per quota instance', labelNames: ['key', 'user', 'client_id', 'ip'] as const, registers }),
    quotaThrottledRequests: new Counter({ name: `${p}quota_throttled_requests_total`, help: 'Requests (and connections) throttled, per quota instance', labelNames: ['key', 'user', 'client_id', 'ip'] as const, registers }),
    connections: new Gauge({ name: `${p}connections`, help: 'Open client connections', registers }),
    connectionsAccepted: new Counter({ name: `${p}connections_accepted_total`, help: 'Client connections accepted', registers }),
    metadataBrokers: new Gauge({ name: `${p}metadata_brokers`, help: 'Brokers registered in the metadata', registers }),
    metadataFencedBrokers: new Gauge({ name: `${p}metadata_fenced_brokers`, help: 'Brokers the metadata marks fenced', registers }),
    metadataAppliedOffset: new Gauge({ name: `${p}metadata_applied_offset`, help: 'Offset of the last metadata record applied here', registers }),
    groups: new Gauge({ name: `${p}groups`, help: 'Consumer groups coordinated here, by state', labelNames: ['state'] as const, registers }),
    groupRebalances: new Counter({ name: `${p}group_rebalances_total`, help: 'Rebalances of the groups coordinated here', registers }),
    groupOffsetCommits: new Counter({ name: `${p}group_offset_commits_total`, help: 'Offsets committed through the coordinators here', registers }),
    producerDuplicates: new Counter({ name: `${p}producer_duplicates_total`, help: 'Idempotent batches answered as duplicates by leaders here', registers }),
    producerRejected: new Counter({ name: `${p}producer_rejected_total`, help: 'Idempotent or transactional batches refused by leaders here', registers }),
    producerIds: new Counter({ name: `${p}producer_ids_total`, help: 'Producer ids handed out by this node', registers }),
    partitionProducers: new Gauge({ name: `${p}partition_producers`, help: 'Producers known to the partitions this node leads', registers }),
    partitionOpenTransactions: new Gauge({ name: `${p}partition_open_transactions`, help: 'Transactions open on the partitions this node leads', registers }),
    transactions: new Gauge({ name: `${p}transactions`, help: 'Transactional ids coordinated here, by state', labelNames: ['state'] as const, registers }),
    transactionsEnded: new Counter({ name: `${p}transactions_ended_total`, help: 'Transactions completed by the coordinators here, by result', labelNames: ['result'] as const, registers }),
    transactionsTimedOut: new Counter({ name: `${p}transactions_timed_out_total`, help: 'Transactions aborted here for outliving their timeout', registers }),
    transactionMarkers: new Counter({ name: `${p}transaction_markers_total`, help: 'Transaction markers written (written) and attempts retried (retried)', labelNames: ['outcome'] as const, registers }),
  });
}

export interface ServeMetricsOptions {
  readonly host: string;
  /** 0 picks a free port (see `address()`). */
  readonly port: number;
  readonly registry: Registry;
  /** The node's status for GET /status; may return a promise. BigInts are written as strings. */
  readonly status: () => unknown;
  /** When set, /metrics and /status need "Authorization: Bearer <token>". */
  readonly token?: string | null;
  /** When set, HTTPS with this PEM certificate and key. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | null;
}

export interface MetricsServer {
  address(): { host: string; port: number };
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** Starts the metrics HTTP server; resolves once it listens (rejects if it cannot bind). */
export async function serveMetrics(options: ServeMetricsOptions): Promise<MetricsServer> {
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(options, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `error: ${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  };
  const server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) : createServer(onRequest);
  // Small, bounded: no request bodies are read; slow or idle clients are cut off.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolveListen, rejectListen) => {
    const onError = (err: Error) => rejectListen(err);
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolveListen();
    });
  });
  const bound = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;
  return {
    address: () => ({ host: options.host, port: bound.port }),
    close: () => {
      closing ??= new Promise<void>((resolveClose) => {
        server.close(() => resolveClose());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(options: ServeMetricsOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  if (options.token && path !== '/healthz' && !bearerMatches(req.headers.authorization, options.token)) {
    res.setHeader('WWW-Authenticate', 'Bearer');
    send(res, 401, 'text/plain; charset=utf-8', 'unauthorized: send Authorization: Bearer <token> (--metrics-token)\n');
    return;
  }
  switch (path) {
    case '/metrics':
      send(res, 200, options.registry.contentType, await options.registry.metrics());
      return;
    case '/status': {
      const status: unknown = await options.status();
      send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(status, jsonReplacer, 2)}\n`);
      return;
    }
    case '/healthz':
      send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    default:
      send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics, /status or /healthz\n');
  }
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (m === null) return false;
  const given = Buffer.from(m[1]!);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
