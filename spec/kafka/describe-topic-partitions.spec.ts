// DescribeTopicPartitions v0 bytes, written out by hand from Kafka's schema and its generator's
// rule for a nullable struct (an int8 marker: -1 null, 1 present, then the struct).
import { expect } from 'chai';
import { describeTopicPartitionsApi } from '../../lib/kafka/describe-topic-partitions.js';
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
