import { expect } from 'chai';
import fc from 'fast-check';
import { AssertionFailure } from '../../lib/base/assert.js';
import { isFlotillaError } from '../../lib/base/errors.js';
import {
  Attributes, BATCH_HEADER_BYTES, BatchHeader, assertValidBatch, batchSizeAt, checkBatch, decodeRecords, readInt64,
  setBaseOffset, setPartitionLeaderEpoch, updateBatchCrc, writeInt64,
} from '../../lib/records/batch.js';
import { ControlType, encodeBatch, encodeControlBatch, encodeValueBatch } from '../../lib/records/encode.js';

/**
 * Golden bytes: a batch of one record (key "k", value "v", no headers) at baseOffset 0, epoch -1,
 * timestamp 0, no producer, laid out by hand from DefaultRecordBatch.java's header comment. The
 * CRC was computed independently (a bitwise CRC-32C in Python over bytes 21..end).
 */
const GOLDEN_HEX = [
  '0000000000000000', '0000003a', 'ffffffff', '02', 'fe917cab', '0000', '00000000',
  '0000000000000000', '0000000000000000', 'ffffffffffffffff', 'ffff', 'ffffffff', '00000001',
  '10', '00', '00', '00', '02', '6b', '02', '76', '00',
].join('');

describe('records/batch', () => {
  const batch = (): Buffer => encodeBatch({
    baseOffset: 1234, partitionLeaderEpoch: 7, baseTimestamp: 1_700_000_000_000, producerId: 42, producerEpoch: 3, baseSequence: 9,
    records: [
      { key: Buffer.from('k1'), value: Buffer.from('v1'), headers: [{ key: 'h', value: Buffer.from('x') }, { key: 'n', value: null }] },
      { key: null, value: Buffer.from('second'), timestampDelta: 5 },
      { key: Buffer.from('k3'), value: null },
    ],
  });

  it('reads every header field', () => {
    const b = batch();
    const h = new BatchHeader(b);
    expect(h.baseOffset).to.equal(1234);
    expect(h.sizeBytes).to.equal(b.length);
    expect(h.batchLength).to.equal(b.length - 12);
    expect(h.partitionLeaderEpoch).to.equal(7);
    expect(h.magic).to.equal(2);
    expect(h.attributes).to.equal(0);
    expect(h.isControl).to.equal(false);
    expect(h.lastOffsetDelta).to.equal(2);
    expect(h.lastOffset).to.equal(1236);
    expect(h.baseTimestamp).to.equal(1_700_000_000_000);
    expect(h.maxTimestamp).to.equal(1_700_000_000_005);
    expect(h.producerId).to.equal(42);
    expect(h.producerEpoch).to.equal(3);
    expect(h.baseSequence).to.equal(9);
    expect(h.recordCount).to.equal(3);
    expect(checkBatch(b)).to.equal(null);
  });

  it('encodes the golden bytes of a one-record batch', () => {
    const b = encodeBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('v') }], baseTimestamp: 0 });
    expect(b.toString('hex')).to.equal(GOLDEN_HEX);
    expect(new BatchHeader(b).crc).to.equal(0xfe917cab);
  });

  it('encodeValueBatch writes the bytes encodeBatch writes for one null-key record, at every varint size boundary', () => {
    // Value lengths around the 1-, 2- and 3-byte varint limits of the value and of the record body.
    const lengths = [0, 1, 57, 58, 63, 64, 65, 120, 121, 122, 8185, 8186, 8191, 8192, 8193, 300_000];
    const epochs = [-1, 0, 7, 2 ** 31 - 1];
    for (const [i, n] of lengths.entries()) {
      const value = Buffer.alloc(n, i + 1);
      const offset = i % 2 === 0 ? i : 2 ** 40 + i;
      const epoch = epochs[i % epochs.length]!;
      const fast = encodeValueBatch(value, offset, epoch);
      const slow = encodeBatch({ records: [{ key: null, value }], baseOffset: offset, partitionLeaderEpoch: epoch });
      expect(fast.equals(slow), `value of ${n} bytes`).to.equal(true);
      expect(checkBatch(fast)).to.equal(null);
    }
  });

  it('decodes the records it encoded', () => {
    const recs = decodeRecords(batch());
    expect(recs).to.have.length(3);
    expect(recs[0]?.offsetDelta).to.equal(0);
    expect(Buffer.from(recs[0]?.key ?? []).toString()).to.equal('k1');
    expect(recs[0]?.headers.map((h) => [h.key, h.value && Buffer.from(h.value).toString()])).to.deep.equal([['h', 'x'], ['n', null]]);
    expect(recs[1]?.key).to.equal(null);
    expect(recs[1]?.timestampDelta).to.equal(5);
    expect(Buffer.from(recs[1]?.value ?? []).toString()).to.equal('second');
    expect(recs[2]?.value).to.equal(null);
    expect(decodeRecords(batch(), 1)).to.have.length(1);
  });

  it('patches baseOffset and partitionLeaderEpoch in place without touching the CRC', () => {
    const b = batch();
    const crc = new BatchHeader(b).crc;
    setBaseOffset(b, 2 ** 40 + 5);
    setPartitionLeaderEpoch(b, 99);
    const h = new BatchHeader(b);
    expect(h.baseOffset).to.equal(2 ** 40 + 5);
    expect(h.partitionLeaderEpoch).to.equal(99);
    expect(h.crc).to.equal(crc);
    expect(checkBatch(b)).to.equal(null);
    expect(() => setBaseOffset(b, 2 ** 53)).to.throw(AssertionFailure);
    expect(() => setPartitionLeaderEpoch(b, 2 ** 31)).to.throw(AssertionFailure);
  });

  it('round-trips int64 safe integers and refuses the rest', () => {
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => {
      const b = new Uint8Array(8);
      writeInt64(b, 0, n);
      expect(readInt64(b, 0)).to.equal(n);
      expect(Buffer.from(b).readBigInt64BE(0)).to.equal(BigInt(n));
    }));
    const big = Buffer.alloc(8);
    big.writeBigInt64BE(2n ** 60n);
    expect(() => readInt64(big, 0)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
  });

  it('validates lengths, magic and CRC with a clear problem', () => {
    const b = batch();
    expect(checkBatch(b.subarray(0, 8))?.problem).to.equal('short');
    expect(checkBatch(b.subarray(0, 40))?.problem).to.equal('short');
    expect(checkBatch(b.subarray(0, b.length - 1))?.problem).to.equal('short');
    expect(checkBatch(b, 0, b.length - 1)?.problem).to.equal('length');
    const small = Buffer.from(b);
    small.writeInt32BE(10, 8);
    expect(checkBatch(small)?.problem).to.equal('length');
    const magic = Buffer.from(b);
    magic[16] = 1;
    expect(checkBatch(magic)?.problem).to.equal('magic');
    for (const pos of [21, 30, BATCH_HEADER_BYTES + 3, b.length - 1]) {
      const flipped = Buffer.from(b);
      flipped[pos] = (flipped[pos] as number) ^ 0x10;
      const problem = checkBatch(flipped);
      expect(problem?.problem, `flip at ${pos}`).to.equal('crc');
      expect(problem?.message).to.match(/CRC-32C mismatch/);
      expect(() => assertValidBatch(flipped, 0, 1 << 20, 'seg 1 @0')).to.throw(/CORRUPT: seg 1 @0: CRC-32C mismatch/);
    }
    const noRecords = Buffer.from(b);
    noRecords.writeInt32BE(0, 57);
    updateBatchCrc(noRecords);
    expect(checkBatch(noRecords)?.problem).to.equal('header');
  });

  it('finds batches back to back in one buffer', () => {
    const a = batch();
    const c = encodeControlBatch(ControlType.RaftNoop, new Uint8Array(0), 1237, 8);
    const both = Buffer.concat([a, c]);
    expect(batchSizeAt(both, 0)).to.equal(a.length);
    expect(assertValidBatch(both, a.length)).to.equal(c.length);
    const h = new BatchHeader(both.subarray(a.length));
    expect(h.isControl).to.equal(true);
    expect(h.attributes & Attributes.Control).to.equal(Attributes.Control);
    const [rec] = decodeRecords(both.subarray(a.length));
    expect([...(rec?.key ?? [])]).to.deep.equal([0, 0, 0x7f, 0x01]);
  });
});
