import { expect } from 'chai';
import fc from 'fast-check';
import { AssertionFailure } from '../../lib/base/assert.js';
import { isFlotillaError } from '../../lib/base/errors.js';
import { readVarint, readVarlong, varlongSize, writeVarint, writeVarlong } from '../../lib/records/varint.js';

function enc(n: number): number[] {
  const buf = new Uint8Array(10);
  return [...buf.subarray(0, writeVarlong(buf, 0, n))];
}

describe('records/varint', () => {
  it('encodes zigzag varints as Kafka does', () => {
    expect(enc(0)).to.deep.equal([0x00]);
    expect(enc(-1)).to.deep.equal([0x01]);
    expect(enc(1)).to.deep.equal([0x02]);
    expect(enc(63)).to.deep.equal([0x7e]);
    expect(enc(-64)).to.deep.equal([0x7f]);
    expect(enc(64)).to.deep.equal([0x80, 0x01]);
    expect(enc(300)).to.deep.equal([0xd8, 0x04]);
    expect(enc(2 ** 31 - 1)).to.deep.equal([0xfe, 0xff, 0xff, 0xff, 0x0f]);
    expect(enc(-(2 ** 31))).to.deep.equal([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it('round-trips every safe integer, and sizes agree', () => {
    fc.assert(fc.property(fc.maxSafeInteger(), (n) => {
      const buf = new Uint8Array(10);
      const end = writeVarlong(buf, 0, n);
      expect(end).to.equal(varlongSize(n));
      expect(readVarlong(buf, 0)).to.deep.equal({ value: n, next: end });
    }));
    fc.assert(fc.property(fc.integer(), (n) => {
      const buf = new Uint8Array(5);
      const end = writeVarint(buf, 0, n);
      expect(readVarint(buf, 0)).to.deep.equal({ value: n, next: end });
    }));
  });

  it('rejects truncated, overlong and out-of-range input as CORRUPT', () => {
    const cases: [Uint8Array, (b: Uint8Array) => unknown][] = [
      [new Uint8Array([0x80, 0x80]), (b) => readVarlong(b, 0)],
      [new Uint8Array(11).fill(0x80), (b) => readVarlong(b, 0)],
      [new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), (b) => readVarint(b, 0)],
      [new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x10]), (b) => readVarint(b, 0)],
    ];
    for (const [bytes, read] of cases) {
      expect(() => read(bytes)).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
    }
    expect(() => writeVarint(new Uint8Array(5), 0, 2 ** 31)).to.throw(AssertionFailure);
    expect(() => writeVarlong(new Uint8Array(10), 0, 2 ** 53)).to.throw(AssertionFailure);
  });
});
