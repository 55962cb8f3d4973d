// The new admin APIs' bytes, written out by hand from Kafka's JSON schemas and its generator's rules (a nullable
// struct: an int8 marker, -1 null, 1 present, then the struct) — for versions no client here encodes.
import { expect } from 'chai';
import { describeLogDirsApi } from '../../lib/kafka/describe-log-dirs.js';
import { describeTopicPartitionsApi } from '../../lib/kafka/describe-topic-partitions.js';
import { electLeadersApi } from '../../lib/kafka/elect-leaders.js';
import { offsetForLeaderEpochApi } from '../../lib/kafka/offset-for-leader-epoch.js';
import { Reader, Writer } from '../../lib/kafka/primitives.js';
import { isFlotillaError } from '../../lib/base/errors.js';

function encode(body: Parameters<typeof describeTopicPartitionsApi.encodeRequest>[2]): Buffer {
  const w = new Writer();
  describeTopicPartitionsApi.encodeRequest(w, 0, body);
  return Buffer.from(w.finish());
}

describe('DescribeTopicPartitions v0 (nullable struct cursor)', () => {
  it('encodes a null cursor as int8 -1 and a cursor as 1 then its fields, and reads both back', () => {
    const none = encode({ topics: [{ name: 't' }], responsePartitionLimit: 2000, cursor: null });
    // topics: compact array of 1 (0x02), name "t" (0x02 0x74), tags 0; limit 2000; cursor -1; tags 0.
    expect([...none]).to.deep.equal([0x02, 0x02, 0x74, 0x00, 0x00, 0x00, 0x07, 0xd0, 0xff, 0x00]);
    const some = encode({ topics: [], responsePartitionLimit: 5, cursor: { topicName: 'ab', partitionIndex: 3 } });
    expect([...some]).to.deep.equal([0x01, 0x00, 0x00, 0x00, 0x05, 0x01, 0x03, 0x61, 0x62, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00]);
    expect(describeTopicPartitionsApi.decodeRequest(new Reader(none), 0).cursor).to.equal(null);
    expect(describeTopicPartitionsApi.decodeRequest(new Reader(some), 0).cursor).to.deep.equal({ topicName: 'ab', partitionIndex: 3 });
    // Any other marker is corruption.
    const bad = Buffer.from(none);
    bad[8] = 2;
    expect(() => describeTopicPartitionsApi.decodeRequest(new Reader(bad), 0)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
  });
});

// Bytes written out by hand from Kafka's JSON schemas (field order and widths), for the versions
// no independent client here encodes.
describe('new admin APIs: bytes by hand from the schemas', () => {
  it('OffsetForLeaderEpoch v2 (currentLeaderEpoch), v3 (replicaId first), v4 (flexible); response v1', () => {
    const body = { replicaId: -1, topics: [{ topic: 't', partitions: [{ partition: 2, currentLeaderEpoch: 7, leaderEpoch: 5 }] }] };
    const enc = (v: number): number[] => {
      const w = new Writer();
      offsetForLeaderEpochApi.encodeRequest(w, v, body);
      return [...w.finish()];
    };
    const part = [0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 5];
    expect(enc(2)).to.deep.equal([0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 1, ...part]);
    expect(enc(3)).to.deep.equal([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 1, ...part]);
    expect(enc(4)).to.deep.equal([0xff, 0xff, 0xff, 0xff, 2, 2, 0x74, 2, ...part, 0, 0, 0]);
    // v0/v1: neither replicaId nor currentLeaderEpoch.
    expect(enc(0)).to.deep.equal([0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 5]);
    const res = Buffer.from([0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 42]);
    expect(offsetForLeaderEpochApi.decodeResponse(new Reader(res), 1)).to.deep.equal({
      throttleTimeMs: 0, topics: [{ topic: 't', partitions: [{ errorCode: 0, partition: 2, leaderEpoch: 5, endOffset: 42 }] }],
    });
  });

  it('ElectLeaders v1 (electionType first), DescribeLogDirs v4 response (totalBytes, usableBytes)', () => {
    const w = new Writer();
    electLeadersApi.encodeRequest(w, 1, { electionType: 0, topicPartitions: null, timeoutMs: 1000 });
    expect([...w.finish()]).to.deep.equal([0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x03, 0xe8]);
    const r = new Writer();
    describeLogDirsApi.encodeResponse(r, 4, { throttleTimeMs: 0, errorCode: 0, results: [{ errorCode: 0, logDir: '/d', topics: [], totalBytes: 9, usableBytes: 8 }] });
    expect([...r.finish()]).to.deep.equal([0, 0, 0, 0, 0, 0, 2, 0, 0, 3, 0x2f, 0x64, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0]);
  });
});
