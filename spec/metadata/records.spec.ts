import { expect } from 'chai';
import fc from 'fast-check';
import { FlotillaError, isFlotillaError } from '../../lib/base/errors.js';
import type { MetadataRecord } from '../../lib/metadata/records.js';
import { RecordTags, decodeRecord, encodeRecord, metadataPackr, topicNameProblem } from '../../lib/metadata/records.js';
import { register, uuidOf } from './helpers.js';

const samples: MetadataRecord[] = [
  register(3, 'rack-a', true),
  register(4, null, false),
  { type: 'UnregisterBroker', brokerId: 3 },
  { type: 'BrokerFencing', brokerId: 3, fenced: false },
  { type: 'Topic', topicId: uuidOf(1), name: 'orders.v1_x-y', replicationFactor: 3 },
  { type: 'Topic', topicId: uuidOf(2), name: 'dense', replicationFactor: 1, offsetLayout: 2 },
  { type: 'Partition', topicId: uuidOf(1), partition: 7, replicas: [2, 0, 1] },
  { type: 'PartitionLeader', topicId: uuidOf(1), partition: 7, leaderId: -1, leaderEpoch: 12 },
  { type: 'RemoveTopic', topicId: uuidOf(1) },
  { type: 'Config', resourceType: 'topic', resourceName: 'orders', key: 'retention.ms', value: '86400000' },
  { type: 'Config', resourceType: 'broker', resourceName: '', key: 'log.retention.hours', value: null },
  { type: 'ProducerIds', brokerId: 2, nextProducerId: 2 ** 40 + 1000 },
  {
    type: 'Acl', aclId: uuidOf(9), resourceType: 'topic', resourceName: 'orders', patternType: 'prefixed', principal: 'User:alice',
    host: '*', operation: 'write', permission: 'allow',
  },
  { type: 'RemoveAcl', aclId: uuidOf(9) },
  {
    type: 'ScramCredential', name: 'alice', mechanism: 'SCRAM-SHA-256', salt: Buffer.from('salt'), storedKey: Buffer.alloc(32, 1),
    serverKey: Buffer.alloc(32, 2), iterations: 4096,
  },
  { type: 'RemoveScramCredential', name: 'alice', mechanism: 'SCRAM-SHA-512' },
  { type: 'ClientQuota', entity: [{ type: 'user', name: null }], key: 'producer_byte_rate', value: 1048576 },
  { type: 'ClientQuota', entity: [{ type: 'user', name: 'alice' }, { type: 'client-id', name: 'app' }], key: 'consumer_byte_rate', value: null },
  { type: 'ClientQuota', entity: [{ type: 'ip', name: '::1' }], key: 'connection_creation_rate', value: 10 },
];

function expectCorrupt(fn: () => unknown, pattern?: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(isFlotillaError(err, 'CORRUPT'), String(err)).to.equal(true);
    if (pattern !== undefined) expect((err as FlotillaError).message).to.match(pattern);
    return;
  }
  expect.fail('expected CORRUPT');
}

/** Packs [tag, version, body] by hand, to build malformed records. */
function raw(tag: number, version: number, body: unknown): Buffer {
  return metadataPackr.pack([tag, version, body]);
}

describe('metadata/records', () => {
  it('round-trips a record of every type', () => {
    const types = new Set(samples.map((r) => r.type));
    expect([...types].sort()).to.deep.equal(Object.keys(RecordTags).sort());
    for (const r of samples) expect(decodeRecord(encodeRecord(r)), r.type).to.deep.equal(r);
  });

  it('encodes as plain msgpack [tag, version, body]', () => {
    const value = metadataPackr.unpack(encodeRecord({ type: 'UnregisterBroker', brokerId: 5 }));
    expect(value).to.deep.equal([RecordTags.UnregisterBroker, 0, { brokerId: 5 }]);
  });

  it('round-trips arbitrary partition, config and registration records', () => {
    const arb = fc.oneof(
      fc.record({
        type: fc.constant('Partition' as const), topicId: fc.uuid(), partition: fc.integer({ min: 0, max: 99_999 }),
        replicas: fc.uniqueArray(fc.integer({ min: 0, max: 0x7fffffff }), { minLength: 1, maxLength: 64 }),
      }),
      fc.record({
        type: fc.constant('Config' as const), resourceType: fc.constantFrom('topic' as const, 'broker' as const), resourceName: fc.string({ maxLength: 50 }),
        key: fc.string({ minLength: 1, maxLength: 50 }), value: fc.option(fc.string({ maxLength: 200 }), { nil: null }),
      }),
      fc.record({
        type: fc.constant('RegisterBroker' as const), brokerId: fc.integer({ min: 0, max: 0x7fffffff }), incarnationId: fc.uuid(),
        host: fc.string({ minLength: 1, maxLength: 60 }), clientPort: fc.integer({ min: 0, max: 65535 }), peerPort: fc.integer({ min: 0, max: 65535 }),
        rack: fc.option(fc.string({ maxLength: 20 }), { nil: null }), fenced: fc.boolean(),
      }),
    );
    fc.assert(fc.property(arb, (r) => {
      expect(decodeRecord(encodeRecord(r as MetadataRecord))).to.deep.equal(r);
    }), { numRuns: 300 });
  });

  it('throws CORRUPT (and nothing else) on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      let decoded: MetadataRecord;
      try {
        decoded = decodeRecord(bytes);
      } catch (err) {
        expect(isFlotillaError(err, 'CORRUPT'), String(err)).to.equal(true);
        return;
      }
      // Should random bytes ever form a valid record, it must re-encode to a valid record.
      expect(decodeRecord(encodeRecord(decoded))).to.deep.equal(decoded);
    }), { numRuns: 2000 });
  });

  it('throws CORRUPT on every byte-truncation of a valid record', () => {
    for (const r of samples) {
      const bytes = encodeRecord(r);
      for (let n = 0; n < bytes.length; n++) expectCorrupt(() => decodeRecord(bytes.subarray(0, n)));
    }
  });

  it('rejects malformed envelopes and bodies with CORRUPT naming the problem', () => {
    const topic = { topicId: uuidOf(1), name: 'orders', replicationFactor: 3 };
    expectCorrupt(() => decodeRecord(metadataPackr.pack({ a: 1 })), /not \[tag, version, body\]/);
    expectCorrupt(() => decodeRecord(raw(999, 0, {})), /unknown record tag 999/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Topic, 2, topic)), /unknown version 2/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Partition, 1, { topicId: uuidOf(1), partition: 0, replicas: [1] })), /Partition: unknown version 1/);
    // Version 1 of Topic carries offsetLayout (1 or 2); version 0 may not.
    expectCorrupt(() => decodeRecord(raw(RecordTags.Topic, 1, topic)), /Topic\.offsetLayout is missing/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Topic, 1, { ...topic, offsetLayout: 3 })), /Topic\.offsetLayout/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Topic, 0, { ...topic, offsetLayout: 2 })), /Topic\.offsetLayout is not a known field/);
    expect(decodeRecord(raw(RecordTags.Topic, 1, { ...topic, offsetLayout: 2 }))).to.deep.equal({ type: 'Topic', ...topic, offsetLayout: 2 });
    expect(decodeRecord(raw(RecordTags.Topic, 0, topic))).to.deep.equal({ type: 'Topic', ...topic });
    expectCorrupt(() => decodeRecord(raw(RecordTags.Topic, 0, [1, 2])), /body is not a map/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Topic, 0, { ...topic, extra: 1 })), /Topic\.extra is not a known field/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Topic, 0, { name: 'orders', replicationFactor: 3 })), /Topic\.topicId is missing/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Topic, 0, { ...topic, topicId: 'not-a-uuid' })), /Topic\.topicId is not a UUID/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Topic, 0, { ...topic, name: '..' })), /Topic\.name/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Topic, 0, { ...topic, replicationFactor: 0 })), /replicationFactor/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Topic, 0, { ...topic, replicationFactor: 1.5 })), /replicationFactor/);
    const part = { topicId: uuidOf(1), partition: 0, replicas: [1, 2] };
    expectCorrupt(() => decodeRecord(raw(RecordTags.Partition, 0, { ...part, replicas: [1, 1] })), /names node 1 twice/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Partition, 0, { ...part, replicas: [] })), /replicas/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Partition, 0, { ...part, replicas: [1, -2] })), /not a node id/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Partition, 0, { ...part, partition: -1 })), /partition/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.BrokerFencing, 0, { brokerId: 1, fenced: 'yes' })), /fenced is not a boolean/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.Config, 0, { resourceType: 'group', resourceName: 'x', key: 'k', value: 'v' })), /resourceType/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.ClientQuota, 0, { entityType: 'user', entityName: null, key: 'producer_byte_rate', value: -1 })), /value/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.ClientQuota, 0, { entityType: 'user', entityName: null, key: 'k', value: 1 })), /ClientQuota\.key/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.ClientQuota, 0, { entityType: 'ip', entityName: null, key: 'producer_byte_rate', value: 1 })), /entityType/);
    const quota = { entity: [{ type: 'user', name: 'a' }], key: 'producer_byte_rate', value: 1 };
    expectCorrupt(() => decodeRecord(raw(RecordTags.ClientQuota, 1, { ...quota, entity: [] })), /entity is empty/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.ClientQuota, 1, { ...quota, entity: [{ type: 'user', name: 'a' }, { type: 'user', name: 'b' }] })), /twice/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.ClientQuota, 1, { ...quota, entity: [{ type: 'ip', name: '1.2.3.4' }, { type: 'user', name: 'b' }] })), /ip entity cannot be combined/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.ClientQuota, 1, { ...quota, entity: [{ type: 'group', name: 'a' }] })), /unknown entity type/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.ClientQuota, 1, { ...quota, entity: [{ type: 'user', name: 'a', extra: 1 }] })), /not \{type, name\}/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.ClientQuota, 1, { ...quota, value: Number.NaN })), /value/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.ClientQuota, 2, quota)), /unknown version 2/);
    expectCorrupt(() => decodeRecord(raw(RecordTags.ProducerIds, 0, { brokerId: 1, nextProducerId: 2 ** 60 })), /nextProducerId/);
  });

  it('ClientQuota: writes version 1 (an entity list in canonical order) and still reads version 0 (one entityType/entityName)', () => {
    const v1 = metadataPackr.unpack(encodeRecord({ type: 'ClientQuota', entity: [{ type: 'client-id', name: 'app' }, { type: 'user', name: null }], key: 'producer_byte_rate', value: 1000 }));
    expect(v1).to.deep.equal([RecordTags.ClientQuota, 1, { entity: [{ type: 'client-id', name: 'app' }, { type: 'user', name: null }], key: 'producer_byte_rate', value: 1000 }]);
    // Decoding puts the parts in canonical order (user before client-id).
    expect(decodeRecord(raw(RecordTags.ClientQuota, 1, { entity: [{ type: 'client-id', name: 'app' }, { type: 'user', name: null }], key: 'producer_byte_rate', value: 1000 }))).to.deep.equal({
      type: 'ClientQuota', entity: [{ type: 'user', name: null }, { type: 'client-id', name: 'app' }], key: 'producer_byte_rate', value: 1000,
    });
    expect(decodeRecord(raw(RecordTags.ClientQuota, 0, { entityType: 'client-id', entityName: 'app', key: 'consumer_byte_rate', value: 2048 }))).to.deep.equal({
      type: 'ClientQuota', entity: [{ type: 'client-id', name: 'app' }], key: 'consumer_byte_rate', value: 2048,
    });
    expect(decodeRecord(raw(RecordTags.ClientQuota, 0, { entityType: 'user', entityName: null, key: 'request_percentage', value: null }))).to.deep.equal({
      type: 'ClientQuota', entity: [{ type: 'user', name: null }], key: 'request_percentage', value: null,
    });
  });

  it('refuses to encode a record over recordBytesMax', () => {
    const big: MetadataRecord = { type: 'Config', resourceType: 'topic', resourceName: 'x'.repeat(1024), key: 'k', value: 'v'.repeat(2_000_000) };
    expect(() => encodeRecord(big)).to.throw(FlotillaError, /TOO_LARGE/);
  });

  it("knows Kafka's topic name rules", () => {
    for (const ok of ['a', 'orders', 'A.b_c-D9', '...', 'x'.repeat(249), '.hidden']) expect(topicNameProblem(ok), ok).to.equal(null);
    for (const bad of ['', '.', '..', 'x'.repeat(250), 'a b', 'a/b', 'ü', 'a:b', 'a\n']) expect(topicNameProblem(bad), bad).to.be.a('string');
  });
});
