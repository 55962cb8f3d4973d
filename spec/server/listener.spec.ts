// The client listener over real TCP: framing, pipelining in request order, acks=0, bad input
// closing only the offending connection, the ApiVersions fallback (KIP-511), bounds and close().
import { expect } from 'chai';
import { apiVersionsApi } from '../../lib/kafka/api-versions.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { fetchApi } from '../../lib/kafka/fetch.js';
import { listOffsetsApi } from '../../lib/kafka/list-offsets.js';
import { metadataApi } from '../../lib/kafka/metadata.js';
import { ZERO_UUID } from '../../lib/kafka/primitives.js';
import { produceApi } from '../../lib/kafka/produce.js';
import { encodeBatch } from '../../lib/records/encode.js';
import type { KafkaServer } from '../../lib/server/listener.js';
import { RawClient, startServer } from './helpers.js';
import type { MemoryBroker } from './memory-broker.js';

const apiVersions = (corr: number, version = 2): Buffer =>
  encodeRequestFrame(apiVersionsApi, version, corr, 'test', { clientSoftwareName: 'test', clientSoftwareVersion: '1' });

const produce = (corr: number, acks: number, topic = 't', value = 'v'): Buffer => encodeRequestFrame(produceApi, 7, corr, 'test', {
  transactionalId: null, acks, timeoutMs: 1000,
  topics: [{ name: topic, partitions: [{ partitionIndex: 0, records: encodeBatch({ records: [{ value: Buffer.from(value) }] }) }] }],
});

const fetch = (corr: number, offset: number, maxWaitMs: number): Buffer => encodeRequestFrame(fetchApi, 11, corr, 'test', {
  clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
  topics: [{ topic: 't', topicId: ZERO_UUID, partitions: [{
    partition: 0, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID,
  }] }],
  forgottenTopicsData: [], rackId: '',
});

const correlationOf = (frame: Buffer): number => frame.readInt32BE(0);

describe('KafkaServer listener (TCP)', () => {
  let server: KafkaServer;
  let broker: MemoryBroker;
  let port: number;
  const clients: RawClient[] = [];

  async function client(): Promise<RawClient> {
    const c = await RawClient.connect(port);
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    ({ server, broker, port } = await startServer({ settings: { maxRequestBytes: 64 * 1024 } }));
    broker.addTopic('t', 1);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  it('answers ApiVersions with the served APIs only', async () => {
    const c = await client();
    c.send(apiVersions(7, 3));
    const frame = (await c.next())!;
    const { correlationId, body } = parseResponse(apiVersionsApi, 3, frame);
    expect(correlationId).to.equal(7);
    expect(body.errorCode).to.equal(0);
    const keys = body.apiKeys.map((k) => k.apiKey);
    expect(keys).to.deep.equal([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 37, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 55, 60, 61, 65, 66, 75, 80, 81]);
    expect(body.apiKeys.find((k) => k.apiKey === 0)).to.deep.equal({ apiKey: 0, minVersion: 0, maxVersion: 11 });
  });

  it('answers pipelined requests in request order, a slow long poll holding back later answers', async () => {
    const c = await client();
    // A fetch at the log end waits (long poll) until a produce on another connection lands.
    c.send(Buffer.concat([fetch(1, 0, 5000), apiVersions(2), encodeRequestFrame(metadataApi, 6, 3, 'x', {
      topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
    }), apiVersions(4)]));
    // Everything after the fetch is answered already, but must wait for it.
    await new Promise((r) => setTimeout(r, 50));
    expect(c.pending()).to.equal(0);
    const other = await client();
    other.send(produce(1, 1));
    expect(correlationOf((await other.next())!)).to.equal(1);
    const order: number[] = [];
    for (let i = 0; i < 4; i++) order.push(correlationOf((await c.next())!));
    expect(order).to.deep.equal([1, 2, 3, 4]);
  });

  it('keeps order across many requests in one write', async () => {
    const c = await client();
    const frames: Buffer[] = [];
    for (let i = 0; i < 200; i++) frames.push(i % 3 === 0 ? produce(i, -1, 't', `v${i}`) : apiVersions(i));
    c.send(Buffer.concat(frames));
    for (let i = 0; i < 200; i++) expect(correlationOf((await c.next())!)).to.equal(i);
    expect(broker.batchesOf('t', 0)).to.have.length(67);
  });

  it('sends no response for acks=0 and keeps the order of later answers', async () => {
    const c = await client();
    c.send(Buffer.concat([apiVersions(1), produce(2, 0), apiVersions(3), produce(4, 0), produce(5, 1)]));
    expect(correlationOf((await c.next())!)).to.equal(1);
    expect(correlationOf((await c.next())!)).to.equal(3);
    const last = (await c.next())!;
    const { correlationId, body } = parseResponse(produceApi, 7, last);
    expect(correlationId).to.equal(5);
    expect(body.responses[0]!.partitions[0]!.baseOffset).to.equal(2);
    expect(broker.batchesOf('t', 0)).to.have.length(3);
  });

  it('closes the connection of a failed acks=0 produce', async () => {
    const c = await client();
    c.send(produce(1, 0, 'no-such-topic'));
    expect(await c.next()).to.equal(null);
  });

  it('closes only the connection that sends an oversized frame, before reading it', async () => {
    const good = await client();
    const bad = await client();
    const header = Buffer.alloc(4);
    header.writeInt32BE(64 * 1024 + 1);
    bad.send(header);
    await bad.closed;
    expect(server.metrics.connectionsClosedForProtocol).to.equal(1);
    good.send(apiVersions(9));
    expect(correlationOf((await good.next())!)).to.equal(9);
  });

  it('closes only the connection that sends a negative size', async () => {
    const bad = await client();
    bad.send(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]));
    await bad.closed;
    const good = await client();
    good.send(apiVersions(1));
    expect(correlationOf((await good.next())!)).to.equal(1);
  });

  it('waits for the bytes a large size announces without closing or answering', async () => {
    const c = await client();
    const header = Buffer.alloc(8);
    header.writeInt32BE(60 * 1024);
    c.send(header);
    await new Promise((r) => setTimeout(r, 30));
    expect(c.ended).to.equal(false);
    expect(server.connectionCount()).to.equal(1);
  });

  it('closes only the connection that sends garbage, after answering what came before', async () => {
    const good = await client();
    const bad = await client();
    const garbage = Buffer.alloc(4 + 20, 0x5a);
    garbage.writeInt32BE(20);
    garbage.writeInt16BE(3, 4); // Metadata
    garbage.writeInt16BE(6, 6); // v6, then nonsense
    bad.send(Buffer.concat([apiVersions(1), garbage, apiVersions(2)]));
    expect(correlationOf((await bad.next())!)).to.equal(1);
    expect(await bad.next()).to.equal(null);
    good.send(apiVersions(3));
    expect(correlationOf((await good.next())!)).to.equal(3);
  });

  it('closes the connection on a truncated request body', async () => {
    const c = await client();
    const full = produce(1, 1);
    const cut = full.subarray(0, full.length - 10);
    const framed = Buffer.from(cut);
    framed.writeInt32BE(cut.length - 4);
    c.send(framed);
    expect(await c.next()).to.equal(null);
  });

  it('closes the connection on an unknown API key, and on one not served', async () => {
    for (const key of [9999, 11 /* JoinGroup: known to Kafka, not served yet */]) {
      const c = await client();
      const frame = Buffer.alloc(4 + 10);
      frame.writeInt32BE(10);
      frame.writeInt16BE(key, 4);
      frame.writeInt16BE(0, 6);
      frame.writeInt32BE(42, 8);
      frame.writeInt16BE(-1, 12);
      c.send(frame);
      expect(await c.next()).to.equal(null);
    }
  });

  it('closes the connection on an unsupported version of an API other than ApiVersions', async () => {
    const c = await client();
    const frame = Buffer.alloc(4 + 10);
    frame.writeInt32BE(10);
    frame.writeInt16BE(3, 4); // Metadata
    frame.writeInt16BE(13, 6); // v13
    frame.writeInt32BE(5, 8);
    frame.writeInt16BE(-1, 12);
    c.send(frame);
    expect(await c.next()).to.equal(null);
  });

  it('answers an unsupported ApiVersions version with UNSUPPORTED_VERSION in v0 with the API list (KIP-511)', async () => {
    const c = await client();
    const frame = Buffer.alloc(4 + 10 + 3);
    frame.writeInt32BE(13);
    frame.writeInt16BE(18, 4);
    frame.writeInt16BE(9, 6); // v9: some future flexible version with a body we cannot read
    frame.writeInt32BE(77, 8);
    frame.writeInt16BE(-1, 12);
    c.send(frame);
    const resp = (await c.next())!;
    const { correlationId, body } = parseResponse(apiVersionsApi, 0, resp);
    expect(correlationId).to.equal(77);
    expect(body.errorCode).to.equal(35);
    expect(body.apiKeys.find((k) => k.apiKey === 18)).to.deep.equal({ apiKey: 18, minVersion: 0, maxVersion: 4 });
    // The connection stays open: the client retries at a version both sides speak.
    c.send(apiVersions(78, 2));
    expect(correlationOf((await c.next())!)).to.equal(78);
  });

  it('answers ListOffsets per partition, unknown partitions with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const c = await client();
    c.send(produce(1, -1));
    await c.next();
    c.send(encodeRequestFrame(listOffsetsApi, 3, 2, 'x', {
      replicaId: -1, isolationLevel: 1,
      topics: [{ name: 't', partitions: [
        { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }, { partitionIndex: 5, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 },
      ] }],
      timeoutMs: 0,
    }));
    const { body } = parseResponse(listOffsetsApi, 3, (await c.next())!);
    expect(body.topics[0]!.partitions.map((p) => [p.errorCode, p.offset])).to.deep.equal([[0, 1], [3, -1]]);
    expect(server.metrics.errorsByCode.get(3)).to.equal(1);
  });

  it('stops reading at maxInFlightRequestsPerConnection and resumes as answers go out', async () => {
    await server.close();
    ({ server, broker, port } = await startServer({ settings: { maxInFlightRequestsPerConnection: 2 } }));
    broker.addTopic('t', 1);
    const c = await client();
    // Two long polls fill the window; the ApiVersions behind them is not even read yet.
    c.send(Buffer.concat([fetch(1, 0, 5000), fetch(2, 0, 5000), apiVersions(3)]));
    await new Promise((r) => setTimeout(r, 50));
    expect(server.metrics.requestsByApi.get('ApiVersions') ?? 0).to.equal(0);
    const other = await client();
    other.send(produce(1, 1));
    await other.next();
    for (const corr of [1, 2, 3]) expect(correlationOf((await c.next())!)).to.equal(corr);
    expect(server.metrics.requestsByApi.get('ApiVersions')).to.equal(1);
  });

  it('refuses connections beyond maxConnections', async () => {
    await server.close();
    ({ server, broker, port } = await startServer({ settings: { maxConnections: 1 } }));
    const a = await client();
    a.send(apiVersions(1));
    await a.next();
    const b = await client();
    await b.closed;
    expect(server.metrics.connectionsRejected).to.equal(1);
  });

  it('closes idle connections after idleTimeoutMs, but not one waiting on a long poll', async () => {
    await server.close();
    ({ server, broker, port } = await startServer({ settings: { idleTimeoutMs: 100 } }));
    broker.addTopic('t', 1);
    const idle = await client();
    const busy = await client();
    busy.send(fetch(1, 0, 400));
    await idle.closed;
    expect(server.metrics.connectionsClosedIdle).to.equal(1);
    expect(correlationOf((await busy.next())!)).to.equal(1);
    expect(busy.ended).to.equal(false);
  });

  it('close() answers the requests in flight, then ends the connections', async () => {
    const c = await client();
    c.send(fetch(1, 0, 300));
    await new Promise((r) => setTimeout(r, 20));
    await server.close();
    expect(correlationOf((await c.next())!)).to.equal(1);
    await c.closed;
    expect(server.connectionCount()).to.equal(0);
  });

  it('counts requests, bytes and connections', async () => {
    const c = await client();
    c.send(apiVersions(1));
    const f = (await c.next())!;
    const m = server.metrics.snapshot();
    expect(m.requestsByApi).to.deep.equal({ ApiVersions: 1 });
    expect(m.bytesIn).to.equal(apiVersions(1).length);
    expect(m.bytesOut).to.equal(f.length + 4);
    expect(m.connectionsActive).to.equal(1);
  });
});
