import { expect } from 'chai';
import fc from 'fast-check';
import { AssertionFailure } from '../../lib/base/assert.js';
import { isFlotillaError } from '../../lib/base/errors.js';
import { errorCode, errorName, isRetriable, KafkaErrors } from '../../lib/kafka/errors.js';
import { Reader, Writer } from '../../lib/kafka/primitives.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');
const write = (fn: (w: Writer) => void): string => {
  const w = new Writer(1);
  fn(w);
  return w.finish().toString('hex');
};

function corrupt(fn: () => unknown, pattern?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isFlotillaError(caught, 'CORRUPT'), String(caught)).to.equal(true);
  if (pattern) expect((caught as Error).message).to.match(pattern);
}

describe('kafka primitives', () => {
  it('writes big-endian integers, booleans and UUIDs', () => {
    expect(write((w) => w.int8(-1).int16(-2).int32(0x01020304).uint32(0xffffffff).bool(true).bool(false))).to.equal('fffffe01020304ffffffff0100');
    expect(write((w) => w.int64(-1).int64(2 ** 53 - 1))).to.equal('ffffffffffffffff001fffffffffffff');
    const id = '0123abcd-4567-89ef-0123-456789abcdef';
    expect(write((w) => w.uuid(id))).to.equal('0123abcd456789ef0123456789abcdef');
    expect(new Reader(hex('0123abcd456789ef0123456789abcdef')).uuid()).to.equal(id);
  });

  it('writes unsigned varints without zigzag (Kafka ByteUtils examples)', () => {
    expect(write((w) => w.uvarint(0))).to.equal('00');
    expect(write((w) => w.uvarint(127))).to.equal('7f');
    expect(write((w) => w.uvarint(128))).to.equal('8001');
    expect(write((w) => w.uvarint(300))).to.equal('ac02');
    expect(write((w) => w.uvarint(0xffffffff))).to.equal('ffffffff0f');
    expect(new Reader(hex('ffffffff0f')).uvarint()).to.equal(0xffffffff);
  });

  it('round-trips every primitive (property)', () => {
    fc.assert(fc.property(
      fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      fc.maxSafeInteger(),
      fc.nat({ max: 0xffffffff }),
      fc.option(fc.string({ unit: 'grapheme', maxLength: 20 }), { nil: null }),
      fc.option(fc.uint8Array({ maxLength: 20 }), { nil: null }),
      (i32, i64, u32, s, b) => {
        const w = new Writer(1);
        w.int32(i32).int64(i64).uvarint(u32).varint(i32).varlong(i64).nullableString(s).compactNullableString(s);
        w.nullableBytes(b).compactNullableBytes(b);
        const r = new Reader(Buffer.from(w.finish()));
        expect(r.int32()).to.equal(i32);
        expect(r.int64()).to.equal(i64);
        expect(r.uvarint()).to.equal(u32);
        expect(r.varint()).to.equal(i32);
        expect(r.varlong()).to.equal(i64);
        expect(r.nullableString()).to.equal(s);
        expect(r.compactNullableString()).to.equal(s);
        const want = b === null ? null : Buffer.from(b);
        expect(r.nullableBytes()).to.deep.equal(want);
        expect(r.compactNullableBytes()).to.deep.equal(want);
        expect(r.remaining).to.equal(0);
      },
    ), { seed: 42, numRuns: 300 });
  });

  it('reads null markers: int16 -1 string, int32 -1 bytes/array, compact 0', () => {
    expect(new Reader(hex('ffff')).nullableString()).to.equal(null);
    expect(new Reader(hex('ffffffff')).nullableBytes()).to.equal(null);
    expect(new Reader(hex('ffffffff')).array(false, 4, (r) => r.int32())).to.equal(null);
    expect(new Reader(hex('00')).array(true, 4, (r) => r.int32())).to.equal(null);
    expect(new Reader(hex('00')).compactNullableString()).to.equal(null);
    corrupt(() => new Reader(hex('ffff')).string(), /null/);
    corrupt(() => new Reader(hex('00')).compactBytes(), /null/);
  });

  it('takes any negative classic length as null, as Kafka\'s generated readers do (and null where not nullable is CORRUPT)', () => {
    expect(new Reader(hex('fffe')).nullableString()).to.equal(null);
    expect(new Reader(hex('8000')).nullableString()).to.equal(null);
    expect(new Reader(hex('fffffffe')).nullableBytes()).to.equal(null);
    expect(new Reader(hex('80000000')).nullableBytes()).to.equal(null);
    expect(new Reader(hex('fffffffe')).array(false, 1, (r) => r.int8())).to.equal(null);
    corrupt(() => new Reader(hex('fffe')).string(), /null/);
    corrupt(() => new Reader(hex('80000000')).bytes(), /null/);
  });

  it('rejects absurd lengths before allocating anything', () => {
    corrupt(() => new Reader(hex('7fff')).string(), /needs 32767 bytes/);
    corrupt(() => new Reader(hex('7fffffff00')).bytes(), /needs 2147483647 bytes/);
    corrupt(() => new Reader(hex('ffffffff0f')).compactBytes(), /needs 4294967294 bytes/);
    corrupt(() => new Reader(hex('7fffffff')).array(false, 1, (r) => r.int8()), /cannot fit/);
    corrupt(() => new Reader(hex('ffffffff0f')).array(true, 1, (r) => r.int8()), /cannot fit/);
    // Three int32 elements need 12 bytes; 11 remain.
    corrupt(() => new Reader(hex('00000003 0000000100000002000000')).array(false, 4, (r) => r.int32()), /cannot fit/);
  });

  it('rejects malformed varints and int64 beyond 2^53', () => {
    corrupt(() => new Reader(hex('ffffffffff')).uvarint(), /longer than 5 bytes/);
    corrupt(() => new Reader(hex('ffffffff1f')).uvarint(), /beyond 32 bits/);
    corrupt(() => new Reader(hex('80')).uvarint(), /needs 1 bytes/);
    corrupt(() => new Reader(hex('0020000000000000')).int64(), /beyond 2\^53/);
    corrupt(() => new Reader(hex('ffe0000000000000')).int64(), /beyond 2\^53/);
    expect(new Reader(hex('ffe0000000000001')).int64()).to.equal(-(2 ** 53) + 1);
  });

  it('skips unknown tagged fields and bounds known ones to their declared size', () => {
    const seen: number[] = [];
    const r = new Reader(hex('02 00 02 abcd 05 01 07 ff'));
    r.taggedFields((tag, f) => {
      seen.push(tag);
      if (tag !== 5) return false;
      expect(f.int8()).to.equal(7);
      return true;
    });
    expect(seen).to.deep.equal([0, 5]);
    expect(r.remaining).to.equal(1);
    // Kafka's readers accept tags out of order; so do we.
    const order: number[] = [];
    new Reader(hex('02 05 00 01 00')).taggedFields((tag) => (order.push(tag), false));
    expect(order).to.deep.equal([5, 1]);
    // Known field with a byte left over, a size past the end, an absurd count.
    corrupt(() => new Reader(hex('01 00 02 0707')).taggedFields((_t, f) => (f.int8(), true)), /trailing/);
    corrupt(() => new Reader(hex('01 00 09 00')).taggedFields(() => false), /needs 9 bytes/);
    corrupt(() => new Reader(hex('ffffffff0f')).taggedFields(() => false), /cannot fit/);
  });

  it('caps the writer at its limit (TOO_LARGE) and asserts on out-of-range values', () => {
    const w = new Writer(4, 8);
    w.int64(1);
    let caught: unknown;
    try {
      w.int8(1);
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'TOO_LARGE')).to.equal(true);
    expect(() => new Writer().int16(40000)).to.throw(AssertionFailure);
    expect(() => new Writer().int64(2 ** 53)).to.throw(AssertionFailure);
    expect(() => new Writer().uuid('not-a-uuid')).to.throw(AssertionFailure);
  });

  it('has one error table with unique codes and retriable flags', () => {
    const codes = Object.values(KafkaErrors).map((e) => e.code);
    expect(new Set(codes).size).to.equal(codes.length);
    expect(errorCode('NOT_LEADER_OR_FOLLOWER')).to.equal(6);
    expect(errorName(35)).to.equal('UNSUPPORTED_VERSION');
    expect(errorName(9999)).to.equal(undefined);
    expect(isRetriable(errorCode('NOT_ENOUGH_REPLICAS'))).to.equal(true);
    expect(isRetriable(errorCode('OFFSET_OUT_OF_RANGE'))).to.equal(false);
    expect(isRetriable(errorCode('UNKNOWN_TOPIC_ID'))).to.equal(true);
    expect(errorCode('PRODUCER_FENCED')).to.equal(90);
  });
});
