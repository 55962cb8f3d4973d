import { expect } from 'chai';
import fc from 'fast-check';
import { isFlotillaError } from '../../lib/base/errors.js';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { apiVersionsApi } from '../../lib/kafka/api-versions.js';
import {
  apis, apiVersionsBody, encodeRequestFrame, encodeResponseFrame, parseRequest, parseResponse, unsupportedApiVersionsFrame,
} from '../../lib/kafka/apis.js';
import { deleteTopicsApi } from '../../lib/kafka/delete-topics.js';
import { metadataApi } from '../../lib/kafka/metadata.js';
import { Reader, Writer } from '../../lib/kafka/primitives.js';
import { messageArb } from './schema-arbitrary.js';

const SEED = 20261125;
// Every registered API: the table holds the full definitions, typed loosely for dispatch.
const all = [...apis.values()] as unknown as ApiDefinition<unknown, unknown>[];

function versionsOf(api: ApiDefinition<unknown, unknown>): number[] {
  const out: number[] = [];
  for (let v = api.minVersion; v <= api.maxVersion; v++) out.push(v);
  return out;
}

function encodeBody(fn: (w: Writer) => void): Buffer {
  const w = new Writer(16);
  fn(w);
  return Buffer.from(w.finish());
}

function expectCorrupt(fn: () => unknown, what: string): void {
  try {
    fn();
  } catch (err) {
    if (isFlotillaError(err, 'CORRUPT')) return;
    throw new Error(`${what}: expected CORRUPT, got ${String(err)}`);
  }
  throw new Error(`${what}: decoded without error`);
}

describe('kafka apis', () => {
  it('registers every API module once, with the advertised ranges of research 1.3', () => {
    expect([...apis.keys()].sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 37, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 55, 60, 61, 65, 66, 75, 80, 81]);
    const ranges = Object.fromEntries([...apis.values()].map((a) => [a.name, [a.minVersion, a.maxVersion]]));
    expect(ranges).to.deep.equal({
      Produce: [0, 11], Fetch: [4, 17], ListOffsets: [0, 10], Metadata: [0, 13],
      ApiVersions: [0, 4], CreateTopics: [0, 7], DeleteTopics: [0, 6],
      FindCoordinator: [0, 6], DeleteRecords: [0, 2], CreatePartitions: [0, 3], DescribeConfigs: [0, 4], AlterConfigs: [0, 2], IncrementalAlterConfigs: [0, 1],
      OffsetCommit: [0, 9], OffsetFetch: [0, 9], JoinGroup: [0, 9], Heartbeat: [0, 4], LeaveGroup: [0, 5], SyncGroup: [0, 5],
      DescribeGroups: [0, 6], ListGroups: [0, 5], DeleteGroups: [0, 2], OffsetDelete: [0, 0],
      InitProducerId: [0, 5], AddPartitionsToTxn: [0, 5], AddOffsetsToTxn: [0, 4], EndTxn: [0, 4], TxnOffsetCommit: [0, 4],
      WriteTxnMarkers: [0, 1], DescribeQuorum: [0, 2], DescribeProducers: [0, 0], DescribeTransactions: [0, 0], ListTransactions: [0, 2],
      AddRaftVoter: [0, 0], RemoveRaftVoter: [0, 0],
      OffsetForLeaderEpoch: [0, 4], DescribeCluster: [0, 2], DescribeLogDirs: [0, 4], ElectLeaders: [0, 2],
      AlterPartitionReassignments: [0, 1], ListPartitionReassignments: [0, 0], DescribeTopicPartitions: [0, 0],
      SaslHandshake: [0, 1], SaslAuthenticate: [0, 2], DescribeUserScramCredentials: [0, 0], AlterUserScramCredentials: [0, 0],
      DescribeAcls: [0, 3], CreateAcls: [0, 3], DeleteAcls: [0, 3],
      DescribeClientQuotas: [0, 1], AlterClientQuotas: [0, 1],
    });
  });

  it('builds the ApiVersions body from the table, sorted by key', () => {
    const body = apiVersionsBody();
    expect(body.apiKeys.map((k) => k.apiKey)).to.deep.equal([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 37, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 55, 60, 61, 65, 66, 75, 80, 81]);
    expect(body.apiKeys.find((k) => k.apiKey === 18)).to.deep.equal({ apiKey: 18, minVersion: 0, maxVersion: 4 });
  });

  for (const api of all) {
    describe(api.name, () => {
      for (const version of versionsOf(api)) {
        it(`v${version}${api.isFlexible(version) ? ' (flexible)' : ''}: request and response round-trip`, () => {
          fc.assert(fc.property(messageArb(api.request, version), (req) => {
            const bytes = encodeBody((w) => api.encodeRequest(w, version, req));
            expect(api.decodeRequest(new Reader(bytes), version)).to.deep.equal(req);
          }), { seed: SEED, numRuns: 60 });
          fc.assert(fc.property(messageArb(api.response, version), (res) => {
            const bytes = encodeBody((w) => api.encodeResponse(w, version, res));
            expect(api.decodeResponse(new Reader(bytes), version)).to.deep.equal(res);
          }), { seed: SEED, numRuns: 60 });
        });

        it(`v${version}: a request frame truncated at every byte is CORRUPT; trailing bytes are counted, not refused`, () => {
          const samples = fc.sample(messageArb(api.request, version), { seed: SEED + version, numRuns: 4 });
          for (const req of samples) {
            const frame = encodeRequestFrame(api, version, 7, 'client', req).subarray(4);
            const parsed = parseRequest(frame);
            expect(parsed.kind).to.equal('request');
            for (let n = 0; n < frame.length; n++) {
              expectCorrupt(() => parseRequest(frame.subarray(0, n)), `${api.name} v${version} cut at ${n}/${frame.length}`);
            }
            // Kafka's parser ignores bytes after the fields it knows (librdkafka 2.x pads requests).
            const padded = parseRequest(Buffer.concat([frame, Buffer.from([0, 0, 0])]));
            expect(padded.kind === 'request' && padded.trailingBytes).to.equal(3);
            expect(padded.kind === 'request' && padded.body).to.deep.equal(parsed.kind === 'request' && parsed.body);
          }
        });

        it(`v${version}: a response truncated at every byte is CORRUPT`, () => {
          const samples = fc.sample(messageArb(api.response, version), { seed: SEED - version, numRuns: 3 });
          for (const res of samples) {
            const body = encodeBody((w) => api.encodeResponse(w, version, res));
            for (let n = 0; n < body.length; n++) {
              expectCorrupt(() => api.decodeResponse(new Reader(body.subarray(0, n)), version), `cut at ${n}`);
            }
          }
        });

        it(`v${version}: random and mutated bytes decode or throw CORRUPT, nothing else`, () => {
          const valid = fc.sample(messageArb(api.request, version), { seed: SEED, numRuns: 1 })[0];
          const base = encodeBody((w) => api.encodeRequest(w, version, valid));
          const mutated = fc.tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
            .map(([edits]) => {
              const b = Buffer.from(base);
              for (const [i, x] of edits) if (b.length > 0) b[i % b.length] = x;
              return b;
            });
          const random = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
          const onlyCorrupt = (fn: () => unknown): void => {
            try {
              fn();
            } catch (err) {
              if (!isFlotillaError(err, 'CORRUPT')) throw err;
            }
          };
          fc.assert(fc.property(fc.oneof(mutated, random), (bytes) => {
            onlyCorrupt(() => api.decodeRequest(new Reader(bytes), version));
            onlyCorrupt(() => api.decodeResponse(new Reader(bytes), version));
          }), { seed: SEED, numRuns: 200 });
        });
      }
    });
  }

  describe('parseRequest', () => {
    it('on any frame (random header of a registered API, random body) returns or throws CORRUPT only', () => {
      const keyed = fc.tuple(fc.constantFrom(...all), fc.nat({ max: 20 }), fc.uint8Array({ maxLength: 80 }))
        .map(([api, v, rest]) => {
          const head = Buffer.alloc(4);
          head.writeInt16BE(api.apiKey, 0);
          head.writeInt16BE(v, 2);
          return Buffer.concat([head, Buffer.from(rest)]);
        });
      fc.assert(fc.property(fc.oneof(keyed, fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b))), (frame) => {
        try {
          const parsed = parseRequest(frame);
          expect(['request', 'unsupported']).to.include(parsed.kind);
        } catch (err) {
          if (!isFlotillaError(err, 'CORRUPT')) throw err;
        }
      }), { seed: SEED, numRuns: 2000 });
    });

    it('reports an unknown key or an out-of-range version as unsupported, without reading the body', () => {
      const unknownKey = Buffer.from('7fff0000000000050000', 'hex');
      // Ten bytes: the prefix and two bytes that are no client id (its length 0 reads as '').
      expect(parseRequest(unknownKey)).to.deep.equal({ kind: 'unsupported', apiKey: 0x7fff, apiVersion: 0, correlationId: 5, clientId: '' });
      // ApiVersions v5 from a newer client: header v2, a body we do not parse; the client id is read for the log.
      const v5 = Buffer.from('0012000500000009000178000361620000', 'hex');
      expect(parseRequest(v5)).to.deep.equal({ kind: 'unsupported', apiKey: 18, apiVersion: 5, correlationId: 9, clientId: 'x' });
      expect(parseRequest(Buffer.from('0012000500000009', 'hex'))).to.deep.include({ kind: 'unsupported', clientId: undefined });
      expect(parseRequest(Buffer.from('0000000c000000010000', 'hex')).kind).to.equal('unsupported'); // Produce v12
    });

    it('answers an unsupported ApiVersions with UNSUPPORTED_VERSION in the v0 body, keys listed', () => {
      const frame = unsupportedApiVersionsFrame(9);
      expect(frame.readInt32BE(0)).to.equal(frame.length - 4);
      const { correlationId, body } = parseResponse(apiVersionsApi, 0, frame.subarray(4));
      expect(correlationId).to.equal(9);
      expect(body.errorCode).to.equal(35);
      expect(body.apiKeys).to.have.length(apis.size);
    });

    it('reads the header of a flexible request (v2: tagged fields after the int16 clientId)', () => {
      const frame = encodeRequestFrame(metadataApi, 9, 42, null, {
        topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'x' }], allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: true,
      });
      const parsed = parseRequest(frame.subarray(4));
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.header).to.deep.equal({ apiKey: 3, apiVersion: 9, correlationId: 42, clientId: null });
      expect(parsed.body).to.deep.include({ topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'x' }], includeTopicAuthorizedOperations: true });
    });

    it('round-trips a response frame with header v1 for flexible versions and v0 otherwise', () => {
      const body = { throttleTimeMs: 0, responses: [{ name: 't', errorCode: 0, topicId: '00000000-0000-0000-0000-000000000000', errorMessage: null }] };
      const flexible = encodeResponseFrame(deleteTopicsApi, 4, 3, body);
      const classic = encodeResponseFrame(deleteTopicsApi, 3, 3, body);
      // v4 (flexible): 4 size + 4 correlation + 1 tagged header; v3: no tagged header.
      expect(flexible.subarray(4, 9).toString('hex')).to.equal('0000000300');
      expect(parseResponse(deleteTopicsApi, 4, flexible.subarray(4)).body.responses[0]?.name).to.equal('t');
      expect(parseResponse(deleteTopicsApi, 3, classic.subarray(4)).body.responses[0]?.name).to.equal('t');
    });
  });
});
