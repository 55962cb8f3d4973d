// Golden bytes: request frames captured from KafkaJS 2.2.4 and kcat 1.7.1 (librdkafka 2.0.2)
// against this server (spec/server/fixtures, hex). Each must decode to the values the client is
// known to send (checked by hand against the Kafka schemas), re-encode byte for byte, and be
// answered by the server with a response of the same API and version.
import { expect } from 'chai';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { parseRequest, parseResponse } from '../../lib/kafka/apis.js';
import { processFrame } from '../../lib/server/dispatch.js';
import { ServerMetrics } from '../../lib/server/metrics.js';
import { checkRoundTrip, readFixtures } from './golden.js';
import { MemoryBroker } from './memory-broker.js';

const fixtures = readFixtures();

function body(name: string): { header: unknown; body: any } {
  const f = fixtures.find((x) => x.name === name);
  if (f === undefined) throw new Error(`fixture ${name} is missing`);
  const p = parseRequest(f.frame);
  if (p.kind !== 'request') throw new Error(`${name} is not a supported request`);
  return { header: p.header, body: p.body };
}

describe('golden bytes: captured client requests', () => {
  it('has the captures of both clients', () => {
    expect(fixtures.map((f) => f.name)).to.include.members([
      'kcat-apiversions-v3', 'kcat-metadata-v4', 'kcat-produce-v7', 'kcat-fetch-v11', 'kcat-listoffsets-v2',
      'kafkajs-apiversions-v2', 'kafkajs-metadata-v6', 'kafkajs-produce-v7', 'kafkajs-createtopics-v3', 'kafkajs-deletetopics-v1',
    ]);
  });

  for (const f of fixtures) {
    it(`${f.name}: decodes and re-encodes byte for byte`, () => {
      expect(checkRoundTrip(f.frame).replace(' ', '-').toLowerCase()).to.equal(f.name.replace(/^[a-z]+-/, ''));
    });
  }

  it('kcat ApiVersions v3: header v2 (clientId keeps its int16 length), compact strings in the body', () => {
    const { header, body: b } = body('kcat-apiversions-v3');
    expect(header).to.deep.equal({ apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'rdkafka' });
    expect(b).to.deep.equal({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' });
    const frame = fixtures.find((x) => x.name === 'kcat-apiversions-v3')!.frame;
    // int16 key, int16 version, int32 corr, int16 len + "rdkafka", empty tagged section, then
    // compact string "librdkafka" (uvarint 11 = length + 1).
    expect(frame.subarray(0, 18).toString('hex')).to.equal(`00120003000000010007${Buffer.from('rdkafka').toString('hex')}00`);
    expect(frame[18]).to.equal(11);
  });

  it('kcat Fetch v11: no session (0, -1), read_committed, no leader epoch (research R4)', () => {
    const { body: b } = body('kcat-fetch-v11');
    expect(b).to.include({ replicaId: -1, isolationLevel: 1, sessionId: 0, sessionEpoch: -1, maxBytes: 52428800 });
    expect(b.topics[0].partitions[0]).to.include({ currentLeaderEpoch: -1, partitionMaxBytes: 1048576 });
  });

  it('kcat Metadata v4 asks for no topics (an empty list) before it asks for all; KafkaJS v6 asks for all with null (K3)', () => {
    expect(body('kcat-metadata-v4').body.topics).to.deep.equal([]);
    expect(body('kafkajs-metadata-v6').body.topics).to.equal(null);
  });

  it('KafkaJS and kcat produce with acks=-1 and one v2 batch per partition', () => {
    for (const name of ['kafkajs-produce-v7', 'kcat-produce-v7']) {
      const b = body(name).body;
      expect(b.acks).to.equal(-1);
      const records: Buffer = b.topics[0].partitions[0].records;
      expect(records.readInt32BE(8) + 12).to.equal(records.length);
      expect(records[16]).to.equal(2);
    }
  });

  it('every capture is answered with a well-formed response of its API and version', async () => {
    const broker = new MemoryBroker({ fetchWaitMaxMs: 0 });
    for (const t of ['kjs-a', 'kjs-p', 'kc-plain']) broker.addTopic(t, 1);
    const env = { broker, metrics: new ServerMetrics(), responseBytesMax: 1 << 24 };
    for (const f of fixtures) {
      const out = await processFrame(f.frame, env);
      expect(out.kind, f.name).to.equal('response');
      if (out.kind !== 'response') continue;
      const p = parseRequest(f.frame);
      if (p.kind !== 'request') throw new Error('unreachable');
      const r = parseResponse(p.api as unknown as ApiDefinition<unknown, unknown>, p.header.apiVersion, out.frame.subarray(4));
      expect(r.correlationId, f.name).to.equal(p.header.correlationId);
    }
    expect(env.metrics.handlerFailures).to.equal(0);
  });
});
