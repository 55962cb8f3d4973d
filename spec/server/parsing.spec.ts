// Requests are parsed as Kafka parses them (over real TCP, through the listener and dispatch):
// bytes after a body's last known field are served, counted per API and logged at most once per
// 10 s per API; unknown tagged fields in the header (v2) and body are skipped; a null or empty
// client id is served; a negative length in a nullable field is null. A field that cannot be read
// still closes that connection only, with a log line naming the API, version and client id; an
// unsupported key or version closes it with such a line (Kafka's SocketServer does the same), and
// is counted per API.
import { expect } from 'chai';
import { apiVersionsApi } from '../../lib/kafka/api-versions.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { metadataApi } from '../../lib/kafka/metadata.js';
import { Writer } from '../../lib/kafka/primitives.js';
import type { KafkaServer } from '../../lib/server/listener.js';
import { ThrottledLog } from '../../lib/server/throttled-log.js';
import { RawClient, startServer } from './helpers.js';

/** A size-prefixed frame from a header and body written by hand. */
function frameOf(write: (w: Writer) => void): Buffer {
  const w = new Writer();
  w.int32(0);
  write(w);
  return Buffer.from(w.int32At(0, w.offset - 4).finish());
}

const metadataV9 = (corr: number, clientId: string | null): Buffer => encodeRequestFrame(metadataApi, 9, corr, clientId, {
  topics: [{ name: 't' }], allowAutoTopicCreation: false,
  includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false,
} as never);

/** `frame` (size-prefixed) with `extra` bytes appended and its size fixed. */
function padded(frame: Buffer, extra: number): Buffer {
  const out = Buffer.concat([frame, Buffer.alloc(extra)]);
  out.writeInt32BE(out.length - 4, 0);
  return out;
}

describe('request parsing as Kafka parses (TCP)', () => {
  let server: KafkaServer;
  let port: number;
  let lines: string[];
  const clients: RawClient[] = [];

  async function client(): Promise<RawClient> {
    const c = await RawClient.connect(port);
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    lines = [];
    let broker;
    ({ server, port, broker } = await startServer({ logger: (l) => lines.push(l) }));
    broker.addTopic('t', 1);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.close();
  });

  it('serves bytes after the last known field (librdkafka 2.12 pads Metadata v9 with 1), counts them, logs once per API per 10 s', async () => {
    const c = await client();
    for (let i = 0; i < 5; i++) c.send(padded(metadataV9(i, 'rdkafka'), 1));
    c.send(padded(encodeRequestFrame(apiVersionsApi, 3, 9, 'rdkafka', { clientSoftwareName: 'x', clientSoftwareVersion: '1' }), 3));
    for (let i = 0; i < 5; i++) {
      const f = (await c.next())!;
      expect(parseResponse(metadataApi, 9, f).body.topics[0]?.name).to.equal('t');
    }
    expect(parseResponse(apiVersionsApi, 3, (await c.next())!).correlationId).to.equal(9);
    const snap = server.metrics.snapshot();
    expect(snap.trailingBytesByApi).to.deep.equal({ Metadata: { requests: 5, bytes: 5 }, ApiVersions: { requests: 1, bytes: 3 } });
    const logged = lines.filter((l) => l.includes('after its last known field'));
    expect(logged).to.have.length(2);
    expect(logged[0]).to.match(/Metadata v9 from client id "rdkafka" at \/127\.0\.0\.1 had 1 bytes/);
    expect(logged[1]).to.match(/ApiVersions v3 .* had 3 bytes/);
    expect(server.metrics.connectionsClosedForProtocol).to.equal(0);
  });

  it('serves a null and an empty client id (Kafka reads null as "")', async () => {
    const c = await client();
    c.send(metadataV9(1, null));
    c.send(metadataV9(2, ''));
    expect(parseResponse(metadataApi, 9, (await c.next())!).correlationId).to.equal(1);
    expect(parseResponse(metadataApi, 9, (await c.next())!).correlationId).to.equal(2);
  });

  it('skips unknown tagged fields in header v2 and in the body (top level and nested)', async () => {
    const c = await client();
    c.send(frameOf((w) => {
      w.int16(3).int16(9).int32(5).nullableString('tags');
      // Header tagged fields: tag 0 (Kafka's would-be ClientTags) and tag 7, each with bytes.
      w.uvarint(2).uvarint(0).uvarint(3).raw(Buffer.from('abc')).uvarint(7).uvarint(1).raw(Buffer.from([9]));
      // Body: topics (compact array of 1) { name compact string, tagged { tag 42 } }.
      w.uvarint(2).compactNullableString('t').uvarint(1).uvarint(42).uvarint(2).raw(Buffer.from([1, 2]));
      w.bool(false).bool(false).bool(false);
      // Top-level tagged fields: two unknown tags.
      w.uvarint(2).uvarint(100).uvarint(0).uvarint(101).uvarint(4).raw(Buffer.alloc(4));
    }));
    const { correlationId, body } = parseResponse(metadataApi, 9, (await c.next())!);
    expect(correlationId).to.equal(5);
    expect(body.topics.map((t) => t.name)).to.deep.equal(['t']);
  });

  it('takes a classic length below -1 in a nullable field as null, as Kafka does (Metadata v4 topics -2: all topics)', async () => {
    const c = await client();
    c.send(frameOf((w) => w.int16(3).int16(4).int32(6).nullableString('neg').int32(-2).bool(false)));
    const { correlationId, body } = parseResponse(metadataApi, 4, (await c.next())!);
    expect(correlationId).to.equal(6);
    expect(body.topics.map((t) => t.name)).to.include('t');
  });

  it('closes the connection on a field that cannot be read, with a line naming API, version and client id', async () => {
    const c = await client();
    const other = await client();
    // Metadata v4 whose topic array claims 3 names but holds one.
    c.send(frameOf((w) => w.int16(3).int16(4).int32(7).nullableString('broken').int32(3).nullableString('t')));
    expect(await c.next()).to.equal(null);
    expect(lines.some((l) => /closing connection 127\.0\.0\.1:\d+: malformed request \(Metadata \(key 3\) v4, client id "broken"\)/.test(l))).to.equal(true);
    expect(server.metrics.snapshot().malformedByApi).to.deep.equal({ Metadata: 1 });
    // Other connections go on.
    other.send(metadataV9(8, 'ok'));
    expect(parseResponse(metadataApi, 9, (await other.next())!).correlationId).to.equal(8);
    // A non-nullable field sent null (Metadata v9 topic name is nullable; ApiVersions v3's software name is not).
    const d = await client();
    d.send(frameOf((w) => w.int16(18).int16(3).int32(9).nullableString('nul').emptyTaggedFields().compactNullableString(null).compactNullableString('1').emptyTaggedFields()));
    expect(await d.next()).to.equal(null);
    expect(lines.some((l) => /malformed request \(ApiVersions \(key 18\) v3, client id "nul"\): .*null/.test(l))).to.equal(true);
  });

  it('closes on an unsupported version or an unknown key with a line naming key, version, client id and peer; counts them', async () => {
    const c = await client();
    // One past the newest Metadata served (it grows as versions are added).
    const future = metadataApi.maxVersion + 1;
    c.send(frameOf((w) => w.int16(3).int16(future).int32(5).nullableString('future-client')));
    expect(await c.next()).to.equal(null);
    const d = await client();
    d.send(frameOf((w) => w.int16(999).int16(0).int32(6).nullableString('odd')));
    expect(await d.next()).to.equal(null);
    const unsupported = `unsupported request: Metadata (key 3) v${future} is outside the served v0-v${metadataApi.maxVersion} (version ${future}, client id "future-client"`;
    expect(lines.some((l) => /closing connection 127\.0\.0\.1:\d+: /.test(l) && l.includes(unsupported)), unsupported).to.equal(true);
    expect(lines.some((l) => /closing connection 127\.0\.0\.1:\d+: unsupported request: unknown api key 999 \(version 0, client id "odd"/.test(l))).to.equal(true);
    // ApiVersions of an unknown version is answered, and counted too.
    const e = await client();
    e.send(frameOf((w) => w.int16(18).int16(99).int32(7).nullableString('new').uvarint(0)));
    expect(parseResponse(apiVersionsApi, 0, (await e.next())!).body.errorCode).to.equal(35);
    expect(server.metrics.snapshot().unsupportedByApi).to.deep.equal({ Metadata: 1, unknown: 1, ApiVersions: 1 });
  });
});

describe('ThrottledLog', () => {
  it('logs a key at most once per interval and says how many lines it held back', () => {
    let now = 0;
    const out: string[] = [];
    const log = new ThrottledLog((l) => out.push(l), 10_000, () => now);
    for (let i = 0; i < 5; i++) log.log('a', () => `a${i}`);
    log.log('b', () => 'b0');
    now = 9_999;
    log.log('a', () => 'a-late');
    now = 10_000;
    log.log('a', () => 'a-next');
    expect(out).to.deep.equal(['a0', 'b0', 'a-next (5 more like it since the last such line)']);
  });
});
