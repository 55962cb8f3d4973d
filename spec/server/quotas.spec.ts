// Client quota enforcement over real TCP (issue 19, KIP-219): the answer carries throttle_time_ms
// and the connection is then not read for that long; acks=0 Produce is muted too; a throttled
// Fetch returns no data; request_percentage mutes one client id and not another; strict mutation
// quotas answer THROTTLING_QUOTA_EXCEEDED per topic; a quota removed releases the muted client.
// Windows of 100 ms (11 of them: rates over at least 1 s) keep the throttles short.
import { expect } from 'chai';
import kafkajs from 'kafkajs';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { apiVersionsApi } from '../../lib/kafka/api-versions.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { createTopicsApi } from '../../lib/kafka/create-topics.js';
import { deleteTopicsApi } from '../../lib/kafka/delete-topics.js';
import { fetchApi } from '../../lib/kafka/fetch.js';
import { metadataApi } from '../../lib/kafka/metadata.js';
import { ZERO_UUID } from '../../lib/kafka/primitives.js';
import { produceApi } from '../../lib/kafka/produce.js';
import type { QuotaEntityPart, QuotaEntry, QuotaKey } from '../../lib/quota/entries.js';
import { QuotaManager } from '../../lib/quota/manager.js';
import { encodeBatch } from '../../lib/records/encode.js';
import type { KafkaServer } from '../../lib/server/listener.js';
import { RawClient, startServer } from './helpers.js';
import type { MemoryBroker } from './memory-broker.js';

const client = (name: string | null): QuotaEntityPart => ({ type: 'client-id', name });
const entry = (entity: QuotaEntityPart[], values: Partial<Record<QuotaKey, number>>): QuotaEntry =>
  ({ entity, values: new Map(Object.entries(values) as [QuotaKey, number][]) });

const apiVersions = (corr: number, clientId: string): Buffer =>
  encodeRequestFrame(apiVersionsApi, 3, corr, clientId, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });

const produce = (corr: number, clientId: string, acks: number, bytes: number): Buffer => encodeRequestFrame(produceApi, 7, corr, clientId, {
  transactionalId: null, acks, timeoutMs: 1000,
  topics: [{ name: 't', partitions: [{ partitionIndex: 0, records: encodeBatch({ records: [{ value: Buffer.alloc(bytes, 0x61) }] }) }] }],
});

const fetch = (corr: number, clientId: string, offset: number): Buffer => encodeRequestFrame(fetchApi, 11, corr, clientId, {
  clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic: 't', topicId: ZERO_UUID, partitions: [{
    partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID,
  }] }],
  forgottenTopicsData: [], rackId: '',
});

const metadata = (corr: number, clientId: string): Buffer => encodeRequestFrame(metadataApi, 9, corr, clientId, {
  topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
});

const topicSpec = (name: string, numPartitions = 1) => ({ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] });

const KCAT = process.env['KCAT'] ?? '/usr/bin/kcat';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('KafkaServer client quotas (TCP, KIP-219)', () => {
  let server: KafkaServer;
  let broker: MemoryBroker;
  let port: number;
  let entries: QuotaEntry[];
  let quotas: QuotaManager;
  const clients: RawClient[] = [];

  async function connect(): Promise<RawClient> {
    const c = await RawClient.connect(port);
    clients.push(c);
    return c;
  }

  /** How many requests of an API the server has read (a muted connection's next one is not). */
  const read = (api: string): number => (server.metrics.snapshot().requestsByApi as Record<string, number>)[api] ?? 0;

  beforeEach(async () => {
    entries = [];
    quotas = new QuotaManager({ entries: () => entries, now: Date.now, settings: { windowSizeMs: 100 } });
    ({ server, broker, port } = await startServer({ quotas }));
    broker.addTopic('t', 1);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  function setQuotas(list: QuotaEntry[]): void {
    entries = list;
    quotas.refresh(true);
  }

  it('producer_byte_rate: the response carries throttle_time_ms and the next request is not read until it has passed', async () => {
    setQuotas([entry([client('prod')], { producer_byte_rate: 1000 })]);
    const c = await connect();
    c.send(produce(1, 'prod', 1, 1500));
    const first = parseResponse(produceApi, 7, (await c.next())!).body;
    expect(first.responses[0]!.partitions[0]!.errorCode).to.equal(0);
    // ~1.6 kB over at least 1 s against 1000 B/s: about (1.6 − 1) × 1000 ms
    const throttle = first.throttleTimeMs;
    expect(throttle).to.be.within(300, 1000);
    const sentAt = Date.now();
    c.send(apiVersions(2, 'prod'));
    // Another client on the same node is served meanwhile.
    const other = await connect();
    other.send(produce(1, 'free', 1, 1500));
    const free = parseResponse(produceApi, 7, (await other.next())!).body;
    expect(free.throttleTimeMs).to.equal(0);
    await sleep(throttle / 3);
    expect(read('ApiVersions'), 'the muted connection\'s request is not read').to.equal(0);
    expect(c.pending()).to.equal(0);
    const second = await c.next();
    expect(second).to.not.equal(null);
    expect(Date.now() - sentAt).to.be.at.least(throttle - 50);
    expect(read('ApiVersions')).to.equal(1);
    const [status] = quotas.status();
    expect(status!.throttledRequests).to.be.at.least(1);
    expect(status!.rates.producer_byte_rate).to.be.greaterThan(1000);
  });

  it('acks=0 Produce over the quota gets no response but mutes the connection', async () => {
    setQuotas([entry([client('fire')], { producer_byte_rate: 1000 })]);
    const c = await connect();
    c.send(produce(1, 'fire', 0, 1500));
    await sleep(30);
    expect(read('Produce')).to.equal(1);
    c.send(apiVersions(2, 'fire'));
    await sleep(150);
    expect(read('ApiVersions')).to.equal(0);
    const frame = (await c.next())!;
    expect(frame.readInt32BE(0), 'the only answer is the ApiVersions one').to.equal(2);
    expect(quotas.status()[0]!.throttleTimeMs).to.be.greaterThan(0);
  });

  it('consumer_byte_rate: a fetch over the quota is answered with the throttle and no data; once it passes, data flows again', async () => {
    setQuotas([entry([client('cons')], { consumer_byte_rate: 1000 })]);
    const p = await connect();
    p.send(produce(1, 'writer', 1, 600));
    await p.next();
    const c = await connect();
    c.send(fetch(1, 'cons', 0));
    const first = parseResponse(fetchApi, 11, (await c.next())!).body;
    expect(first.throttleTimeMs).to.equal(0);
    expect(first.responses[0]!.partitions[0]!.records!.length).to.be.greaterThan(600);
    p.send(produce(2, 'writer', 1, 600));
    await p.next();
    c.send(fetch(2, 'cons', 1));
    const second = parseResponse(fetchApi, 11, (await c.next())!).body;
    expect(second.throttleTimeMs).to.be.greaterThan(0);
    expect(second.responses).to.deep.equal([]);
    // The throttled bytes were not counted: after the throttle (and the window moving on) the
    // same fetch is served.
    let served = null;
    for (let i = 0; i < 30 && served === null; i++) {
      await sleep(100);
      c.send(fetch(3 + i, 'cons', 1));
      const r = parseResponse(fetchApi, 11, (await c.next())!).body;
      if (r.responses.length > 0) served = r;
    }
    expect(served, 'served again within 3 s').to.not.equal(null);
    expect(served!.responses[0]!.partitions[0]!.records!.length).to.be.greaterThan(600);
  });

  it('request_percentage: the client id over its share of the event loop is throttled, another is not', async () => {
    // 0.0001 % of one core: any request's parse + handler + encode time exceeds it.
    setQuotas([entry([client('busy')], { request_percentage: 0.0001 })]);
    const busy = await connect();
    const calm = await connect();
    busy.send(metadata(1, 'busy'));
    calm.send(metadata(1, 'calm'));
    const b = parseResponse(metadataApi, 9, (await busy.next())!).body;
    const c = parseResponse(metadataApi, 9, (await calm.next())!).body;
    expect(b.throttleTimeMs).to.be.within(1, 100); // bounded by one window
    expect(c.throttleTimeMs).to.equal(0);
    for (let i = 2; i < 6; i++) {
      calm.send(metadata(i, 'calm'));
      expect(parseResponse(metadataApi, 9, (await calm.next())!).body.throttleTimeMs).to.equal(0);
    }
  });

  it('controller_mutation_rate, strict (CreateTopics v6+): THROTTLING_QUOTA_EXCEEDED for the topics beyond the bucket', async () => {
    // 10 partitions/s with 100 ms windows: a burst of 11 × 0.1 s × 10 = 11 partitions.
    setQuotas([entry([client('admin')], { controller_mutation_rate: 10 })]);
    const c = await connect();
    c.send(encodeRequestFrame(createTopicsApi, 7, 1, 'admin', { topics: [topicSpec('a', 6), topicSpec('b', 6), topicSpec('c', 1)], timeoutMs: 1000, validateOnly: false }));
    const r = parseResponse(createTopicsApi, 7, (await c.next())!).body;
    // a takes 6 (5 left), b takes 6 (−1), c is refused: the bucket is negative
    expect(r.topics.map((t) => [t.name, t.errorCode])).to.deep.equal([['a', 0], ['b', 0], ['c', 89]]);
    // −1 at 10/s: 100 ms (less the refill while the request ran)
    expect(r.throttleTimeMs).to.be.within(50, 100);
    expect(broker.topics(['c'])).to.deep.equal([]);
  });

  it('controller_mutation_rate, permissive (DeleteTopics v4): accepted, then throttled', async () => {
    for (const n of ['x', 'y']) broker.addTopic(n, 8);
    setQuotas([entry([client(null)], { controller_mutation_rate: 10 })]);
    const c = await connect();
    c.send(encodeRequestFrame(deleteTopicsApi, 4, 1, 'admin', { topics: [], topicNames: ['x', 'y'], timeoutMs: 1000 }));
    const r = parseResponse(deleteTopicsApi, 4, (await c.next())!).body;
    expect(r.responses.map((t) => [t.name, t.errorCode])).to.deep.equal([['x', 0], ['y', 0]]);
    // 16 partitions from a bucket of 11: −5 at 10/s → 500 ms
    expect(r.throttleTimeMs).to.be.within(400, 500);
  });

  it('a quota removed while a client is muted releases it within a window', async () => {
    setQuotas([entry([client('prod')], { producer_byte_rate: 100 })]);
    const c = await connect();
    c.send(produce(1, 'prod', 1, 3000));
    const first = parseResponse(produceApi, 7, (await c.next())!).body;
    expect(first.throttleTimeMs).to.be.greaterThan(10_000);
    c.send(apiVersions(2, 'prod'));
    await sleep(50);
    expect(read('ApiVersions')).to.equal(0);
    entries = [];
    const removedAt = Date.now();
    expect(await c.next()).to.not.equal(null);
    // the listener re-reads the entries every window; the mute timer checks every window
    expect(Date.now() - removedAt).to.be.below(1000);
  });

  it('connection_creation_rate per ip: a connection over the rate is closed unread after the throttle', async () => {
    setQuotas([entry([{ type: 'ip', name: '127.0.0.1' }], { connection_creation_rate: 2 })]);
    // 2 connections over at least 1 s: at the bound; the third is over it (3/s: 500 ms).
    const ok = [await connect(), await connect()];
    const over = await connect();
    const openedAt = Date.now();
    over.send(apiVersions(1, 'x'));
    expect(await over.next()).to.equal(null);
    expect(Date.now() - openedAt).to.be.at.least(400);
    for (const c of ok) {
      c.send(apiVersions(1, 'x'));
      expect(await c.next()).to.not.equal(null);
    }
    expect(quotas.status()[0]!.throttledRequests).to.equal(1);
  });

  it('KafkaJS: a producer with producer_byte_rate is held near its rate while an unthrottled one on the same node is not', async function () {
    this.timeout(20_000);
    const rate = 40_000;
    setQuotas([entry([client('slow')], { producer_byte_rate: rate })]);
    const make = (clientId: string) => new kafkajs.Kafka({ clientId, brokers: [`127.0.0.1:${port}`], logLevel: kafkajs.logLevel.NOTHING }).producer();
    const slow = make('slow');
    const fast = make('fast');
    await Promise.all([slow.connect(), fast.connect()]);
    const value = Buffer.alloc(4000, 0x62);
    const runMs = 2500;
    const run = async (p: ReturnType<typeof make>): Promise<number> => {
      let bytes = 0;
      const end = Date.now() + runMs;
      while (Date.now() < end) {
        await p.send({ topic: 't', acks: 1, messages: [{ value }] });
        bytes += value.length;
      }
      return bytes;
    };
    try {
      const startedAt = Date.now();
      const [slowBytes, fastBytes] = await Promise.all([run(slow), run(fast)]);
      const seconds = (Date.now() - startedAt) / 1000;
      // At most the rate over the run plus the first window's allowance (10 windows of 100 ms),
      // 10 % of slack; at least half the rate (held, not starved).
      expect(slowBytes).to.be.at.most(rate * (seconds + 1) * 1.1);
      expect(slowBytes).to.be.at.least(rate * seconds * 0.5);
      expect(fastBytes).to.be.greaterThan(slowBytes * 3);
    } finally {
      await Promise.all([slow.disconnect(), fast.disconnect()]);
    }
  });

  it('kcat (librdkafka 2.0.2): a consumer with consumer_byte_rate reads everything, no faster than its rate', async function () {
    if (!existsSync(KCAT)) this.skip();
    this.timeout(30_000);
    const rate = 50_000;
    setQuotas([entry([client('kc')], { consumer_byte_rate: rate })]);
    // 50 batches of 4 kB: 200 kB, of which the first window allows 50 kB at once.
    const p = await connect();
    for (let i = 0; i < 50; i++) {
      p.send(produce(i, 'writer', 1, 4000));
      await p.next();
    }
    const startedAt = Date.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(KCAT, ['-b', `127.0.0.1:${port}`, '-X', 'client.id=kc', '-C', '-t', 't', '-p', '0', '-o', 'beginning', '-e', '-f', '%o\\n'],
        { timeout: 25_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    });
    const seconds = (Date.now() - startedAt) / 1000;
    expect(out.trim().split('\n').map(Number)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    // 150 kB beyond the first window's allowance at 50 kB/s: at least ~3 s (10 % slack). (It takes
    // about 7 s: each fetch is capped at 10 windows' worth, and a throttled fetch's bytes are
    // unrecorded while its throttle counted them, so such a consumer gets about half its rate;
    // Kafka's arithmetic, the same.)
    expect(seconds).to.be.at.least((200_000 - rate) / rate * 0.9);
    expect(quotas.status()[0]!.throttledRequests).to.be.greaterThan(0);
  });

  it('without quotas nothing is throttled and nothing is kept', async () => {
    const c = await connect();
    c.send(produce(1, 'prod', 1, 100_000));
    expect(parseResponse(produceApi, 7, (await c.next())!).body.throttleTimeMs).to.equal(0);
    expect(quotas.liveSensors()).to.deep.equal([]);
  });
});
