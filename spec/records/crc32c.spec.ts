import { expect } from 'chai';
import { crc32c } from '../../lib/records/crc32c.js';

describe('records/crc32c', () => {
  it('matches the published check value and known vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).to.equal(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).to.equal(0);
    // RFC 3720 (iSCSI) B.4 test vectors.
    expect(crc32c(Buffer.alloc(32, 0))).to.equal(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).to.equal(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).to.equal(0x46dd794e);
  });

  it('continues from a previous value and accepts a plain Uint8Array', () => {
    const all = Buffer.from('hello, flotilla');
    const split = crc32c(all.subarray(5), crc32c(all.subarray(0, 5)));
    expect(split).to.equal(crc32c(all));
    expect(crc32c(new Uint8Array(all))).to.equal(crc32c(all));
  });
});
