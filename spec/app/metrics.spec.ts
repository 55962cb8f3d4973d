import { expect } from 'chai';
import { request } from 'node:http';
import { MetricsBinder, type MetricsSources } from '../../lib/app/metrics-binder.js';
import { createNodeMetrics, serveMetrics, type MetricsServer } from '../../lib/app/metrics.js';
import { metadataApi } from '../../lib/kafka/metadata.js';
import { encodeRequestFrame } from '../../lib/kafka/apis.js';
import { processFrame } from '../../lib/server/dispatch.js';
import { ServerMetrics } from '../../lib/server/metrics.js';
import { MemoryBroker } from '../server/memory-broker.js';
import { QuotaManager } from '../../lib/quota/manager.js';
import { produceApi } from '../../lib/kafka/produce.js';
import { encodeBatch } from '../../lib/records/encode.js';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('app/metrics', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('keeps one registry per node, labelled with the node id', async () => {
    const a = createNodeMetrics({ nodeId: 1, processMetrics: false });
    const b = createNodeMetrics({ nodeId: 2, processMetrics: false });
    a.produceRecords.inc(5);
    a.raftTerm.set({ group: 'orders-0' }, 3);
    const textA = await a.registry.metrics();
    const textB = await b.registry.metrics();
    expect(textA).to.contain('flotilla_produce_records_total{node="1"} 5');
    expect(textA).to.contain('flotilla_raft_term{group="orders-0",node="1"} 3');
    expect(textB).to.contain('flotilla_produce_records_total{node="2"} 0');
  });

  it('names every metric the issue asks for', async () => {
    const m = createNodeMetrics({ nodeId: 1 });
    m.raftCommitLatency.observe(0.002);
    m.raftTerm.set({ group: 'g' }, 1);
    m.kafkaRequests.inc({ api: 'Produce' });
    m.kafkaRequestDuration.observe({ api: 'Produce' }, 0.001);
    m.produceErrors.inc({ error: 'NOT_LEADER_OR_FOLLOWER' });
    m.fetchErrors.inc({ error: 'OFFSET_OUT_OF_RANGE' });
    m.kafkaRequestErrors.inc({ api: 'Fetch', error: 'UNKNOWN_TOPIC_OR_PARTITION' });
    const text = await m.registry.metrics();
    expect(text).to.contain('flotilla_raft_commit_latency_seconds_bucket{le="0.0025",node="1"} 1');
    for (const name of [
      'flotilla_raft_term', 'flotilla_raft_leader_changes_total', 'flotilla_raft_commit_latency_seconds',
      'flotilla_raft_in_flight_entries', 'flotilla_raft_groups', 'flotilla_raft_groups_led',
      'flotilla_produce_requests_total', 'flotilla_produce_records_total', 'flotilla_produce_bytes_total', 'flotilla_produce_errors_total',
      'flotilla_fetch_requests_total', 'flotilla_fetch_bytes_total', 'flotilla_fetch_errors_total',
      'flotilla_kafka_requests_total', 'flotilla_kafka_request_duration_seconds', 'flotilla_kafka_request_errors_total',
      'flotilla_kafka_requests_with_trailing_bytes_total', 'flotilla_kafka_request_trailing_bytes_total',
      'flotilla_kafka_requests_unsupported_total', 'flotilla_kafka_requests_malformed_total',
      'flotilla_connections', 'flotilla_connections_accepted_total',
      'flotilla_metadata_brokers', 'flotilla_metadata_fenced_brokers', 'flotilla_metadata_applied_offset',
      // process figures
      'flotilla_process_cpu_seconds_total', 'flotilla_process_resident_memory_bytes', 'flotilla_nodejs_eventloop_lag_seconds',
    ]) {
      expect(text, name).to.match(new RegExp(`^# TYPE ${name} `, 'm'));
    }
  });

  it('exports the Kafka listener\'s trailing-byte, unsupported and malformed request counters by API', async () => {
    const m = createNodeMetrics({ nodeId: 1, processMetrics: false });
    const server = new ServerMetrics();
    const env = { broker: new MemoryBroker(), metrics: server, responseBytesMax: 1 << 20 };
    const metadata = encodeRequestFrame(metadataApi, 9, 1, 'rdkafka', {
      topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    }).subarray(4);
    for (let i = 0; i < 3; i++) await processFrame(Buffer.concat([metadata, Buffer.alloc(1)]), env); // librdkafka 2.12's padding
    await processFrame(Buffer.from('0003000e00000001ffff', 'hex'), env); // Metadata v14: unsupported
    await processFrame(Buffer.from('0003000400000001ffff00000003', 'hex'), env); // Metadata v4, 3 topics announced, none sent
    // The binder reads every source; only the listener's matter here.
    const node = { term: 1, isLeader: true, leaderId: 1, appliedIndex: 0, uncommittedEntries: 0, outOfSyncVoters: 0 };
    const zeroStats = new Proxy({}, { get: () => 0 });
    const sources = {
      metrics: m, metadataGroup: '__cluster_metadata', metadataNode: node, image: () => ({ brokers: new Map() }),
      replicas: { partitions: () => [], producerStats: zeroStats }, broker: { stats: zeroStats, producerIds: zeroStats },
      groups: { groupsByState: () => ({}), stats: zeroStats }, server: () => server,
    } as unknown as MetricsSources;
    new MetricsBinder(sources).update();
    const text = await m.registry.metrics();
    expect(text).to.contain('flotilla_kafka_requests_with_trailing_bytes_total{api="Metadata",node="1"} 3');
    expect(text).to.contain('flotilla_kafka_request_trailing_bytes_total{api="Metadata",node="1"} 3');
    expect(text).to.contain('flotilla_kafka_requests_unsupported_total{api="Metadata",node="1"} 1');
    expect(text).to.contain('flotilla_kafka_requests_malformed_total{api="Metadata",node="1"} 1');
  });

  it('exports each live quota instance: observed rate, limit, throttle time and throttled requests; drops it once idle', async () => {
    const m = createNodeMetrics({ nodeId: 1, processMetrics: false });
    const clock = { t: 1_000_000 };
    const quotas = new QuotaManager({
      entries: () => [{ entity: [{ type: 'client-id', name: null }], values: new Map([['producer_byte_rate', 100]]) }],
      now: () => clock.t,
    });
    const broker = new MemoryBroker();
    broker.addTopic('t', 1);
    const env = { broker, metrics: new ServerMetrics(), responseBytesMax: 1 << 20, quotas };
    const produce = encodeRequestFrame(produceApi, 7, 1, 'app', {
      transactionalId: null, acks: 1, timeoutMs: 1000,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, records: encodeBatch({ records: [{ value: Buffer.alloc(1000) }] }) }] }],
    }).subarray(4);
    const out = await processFrame(produce, env);
    expect(out.kind === 'response' ? out.throttle?.ms : null).to.be.greaterThan(0);
    const zeroStats = new Proxy({}, { get: () => 0 });
    const sources = {
      metrics: m, metadataGroup: '__cluster_metadata', metadataNode: { term: 1, isLeader: true, leaderId: 1, appliedIndex: 0, uncommittedEntries: 0, outOfSyncVoters: 0 },
      image: () => ({ brokers: new Map() }), replicas: { partitions: () => [], producerStats: zeroStats }, broker: { stats: zeroStats, producerIds: zeroStats },
      groups: { groupsByState: () => ({}), stats: zeroStats }, server: () => null, quotas,
    } as unknown as MetricsSources;
    const binder = new MetricsBinder(sources);
    binder.update();
    // A default client-id quota: the instance is the client id alone (no user part).
    const labels = 'key="producer_byte_rate",user="",client_id="app",ip="",node="1"';
    let text = await m.registry.metrics();
    expect(text).to.match(new RegExp(`^flotilla_quota_observed\\{${labels}\\} 1[0-9]{2}\\.?[0-9]*$`, 'm'));
    expect(text).to.contain(`flotilla_quota_limit{${labels}} 100`);
    expect(text).to.match(new RegExp(`^flotilla_quota_throttle_time_ms_total\\{${labels}\\} [1-9][0-9]*$`, 'm'));
    expect(text).to.contain(`flotilla_quota_throttled_requests_total{${labels}} 1`);
    clock.t += 11_000;
    quotas.refresh();
    binder.update();
    text = await m.registry.metrics();
    expect(text).to.not.contain('flotilla_quota_observed{');
  });

  it('serves /metrics, /status and /healthz over HTTP', async () => {
    const m = createNodeMetrics({ nodeId: 4, processMetrics: false });
    m.connections.set(2);
    let calls = 0;
    server = await serveMetrics({
      host: '127.0.0.1',
      port: 0,
      registry: m.registry,
      status: () => ({ nodeId: 4, calls: ++calls, highWatermark: 10n, groups: new Map([['g', { term: 2 }]]) }),
    });
    const { port } = server.address();
    expect(port).to.be.greaterThan(0);

    const metrics = await get(port, '/metrics');
    expect(metrics.status).to.equal(200);
    expect(metrics.type).to.match(/^text\/plain/);
    expect(metrics.body).to.contain('flotilla_connections{node="4"} 2');

    const status = await get(port, '/status');
    expect(status.status).to.equal(200);
    expect(status.type).to.match(/^application\/json/);
    expect(JSON.parse(status.body)).to.deep.equal({ nodeId: 4, calls: 1, highWatermark: '10', groups: { g: { term: 2 } } });
    expect(JSON.parse((await get(port, '/status?x=1')).body).calls).to.equal(2);

    const health = await get(port, '/healthz');
    expect([health.status, health.body]).to.deep.equal([200, 'ok\n']);

    expect((await get(port, '/nope')).status).to.equal(404);
    expect((await get(port, '/metrics', 'POST')).status).to.equal(405);
    const head = await get(port, '/healthz', 'HEAD');
    expect([head.status, head.body]).to.deep.equal([200, '']);
  });

  it('answers 500 when status() throws or rejects, and keeps serving', async () => {
    const m = createNodeMetrics({ nodeId: 1, processMetrics: false });
    let fail = true;
    server = await serveMetrics({
      host: '127.0.0.1',
      port: 0,
      registry: m.registry,
      status: () => (fail ? Promise.reject(new Error('not ready')) : { ok: true }),
    });
    const { port } = server.address();
    const bad = await get(port, '/status');
    expect([bad.status, bad.body]).to.deep.equal([500, 'error: not ready\n']);
    fail = false;
    expect(JSON.parse((await get(port, '/status')).body)).to.deep.equal({ ok: true });
  });

  it('rejects when the port is taken; close is idempotent', async () => {
    const m = createNodeMetrics({ nodeId: 1, processMetrics: false });
    server = await serveMetrics({ host: '127.0.0.1', port: 0, registry: m.registry, status: () => ({}) });
    const { port } = server.address();
    let error: unknown;
    try {
      await serveMetrics({ host: '127.0.0.1', port, registry: m.registry, status: () => ({}) });
    } catch (err) {
      error = err;
    }
    expect((error as NodeJS.ErrnoException | undefined)?.code).to.equal('EADDRINUSE');
    const first = server.close();
    await Promise.all([first, server.close()]);
  });
});
