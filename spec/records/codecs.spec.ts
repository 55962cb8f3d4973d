// The four codecs of lib/records/codecs.ts: round trips, every framing Kafka clients write,
// bounded decompression, and the determinism replicas rely on (golden digests: a library update
// that changes the bytes a cleaned batch gets fails here, not silently across replicas).
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from '@bokuweb/zstd-wasm';
import lz4js from 'lz4js';
import snappy from 'snappyjs';
import { isFlotillaError } from '../../lib/base/errors.js';
import {
  ATTRIBUTES_POS, BATCH_HEADER_BYTES, BATCH_LENGTH_POS, BatchHeader, LOG_OVERHEAD_BYTES, checkBatch, updateBatchCrc,
} from '../../lib/records/batch.js';
import { Codec, codecsReady, compressRecords, decompressRecords } from '../../lib/records/codecs.js';
import { rawRecords, rebuildBatch } from '../../lib/records/compaction.js';
import { encodeBatch } from '../../lib/records/encode.js';

const CODECS = [Codec.Gzip, Codec.Snappy, Codec.Lz4, Codec.Zstd] as const;

/** Records-section-like bytes: repetitive (compressible) with a pseudo-random part. */
function sample(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = i % 7 === 0 ? x >>> 24 : 97 + (i % 13);
  }
  return out;
}

/** `batch` with its records section compressed as `body(records)` and the codec set. */
function withBody(batch: Buffer, codec: number, body: Uint8Array): Buffer {
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), body]);
  out.writeInt32BE(out.length - LOG_OVERHEAD_BYTES, BATCH_LENGTH_POS);
  out.writeInt16BE(out.readInt16BE(ATTRIBUTES_POS) | codec, ATTRIBUTES_POS);
  updateBatchCrc(out);
  return out;
}

function keyedBatch(n: number): Buffer {
  return encodeBatch({
    baseOffset: 100, baseTimestamp: 1_700_000_000_000, producerId: 7, producerEpoch: 1, baseSequence: 0,
    records: Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`key-${i % 10}`), value: i % 17 === 16 ? null : Buffer.from(`value-${i}-${'x'.repeat(i % 50)}`) })),
  });
}

/** A zstd frame with no content size and raw blocks (what a streaming encoder writes). */
function zstdStreamFrame(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.from([0x00, 0x58])]; // FHD: no content size; window 2 MiB
  const BLOCK = 100_000;
  for (let pos = 0; pos < data.length || pos === 0; pos += BLOCK) {
    const chunk = data.subarray(pos, Math.min(data.length, pos + BLOCK));
    const last = pos + BLOCK >= data.length ? 1 : 0;
    const h = (chunk.length << 3) | last; // block type 0: raw
    parts.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), chunk);
    if (last) break;
  }
  return Buffer.concat(parts);
}

/** An lz4 frame as lz4's own tools may write it: content size, block and content checksums. */
function lz4WithChecksums(data: Buffer): Buffer {
  const plain = Buffer.from(compressRecords(Codec.Lz4, data, Buffer.alloc(0)));
  // plain: magic(4) FLG BD HC, then blocks; insert the content size, a checksum after each block.
  const out: Buffer[] = [plain.subarray(0, 4), Buffer.from([plain[4]! | 0x08 | 0x10 | 0x04, plain[5]!])];
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(data.length));
  out.push(size, Buffer.from([0x00])); // header checksum: not checked (the batch CRC covers all)
  for (let pos = 7; ;) {
    const word = plain.readUInt32LE(pos);
    out.push(plain.subarray(pos, pos + 4));
    pos += 4;
    if (word === 0) break;
    const n = word & 0x7fffffff;
    out.push(plain.subarray(pos, pos + n), Buffer.from([1, 2, 3, 4]));
    pos += n;
  }
  out.push(Buffer.from([9, 9, 9, 9]));
  return Buffer.concat(out);
}

describe('records/codecs', () => {
  before(() => codecsReady());

  it('round-trips every codec, small and large (several lz4 and xerial blocks)', () => {
    for (const codec of CODECS) {
      for (const n of [1, 100, 70_000, 300_000]) {
        const data = sample(n, n);
        const z = compressRecords(codec, data, Buffer.alloc(0));
        expect(Buffer.from(decompressRecords(codec, z, n)).equals(data), `codec ${codec}, ${n} bytes`).to.equal(true);
        if (n >= 70_000) expect(z.byteLength, `codec ${codec} compresses`).to.be.lessThan(n);
      }
    }
  });

  it('reads every form clients write: raw and xerial snappy, linked and checksummed lz4 frames, zstd without a content size', () => {
    const data = sample(200_000, 3);
    const check = (codec: number, body: Uint8Array, what: string) =>
      expect(Buffer.from(decompressRecords(codec, body, data.length)).equals(data), what).to.equal(true);
    check(Codec.Snappy, snappy.compress(data), 'raw snappy');
    const xerial = compressRecords(Codec.Snappy, data, Buffer.from('82534e41505059000000000100000001', 'hex'));
    expect(Buffer.from(xerial.subarray(0, 8)).toString('hex')).to.equal('82534e4150505900');
    check(Codec.Snappy, xerial, 'xerial snappy');
    check(Codec.Lz4, lz4js.compress(data), 'lz4js frame: 4 MiB linked blocks');
    check(Codec.Lz4, lz4WithChecksums(data), 'lz4 frame with content size and checksums');
    check(Codec.Zstd, zstdCompress(data, 9), 'zstd level 9 with a content size');
    check(Codec.Zstd, zstdStreamFrame(data), 'zstd frame without a content size');
    check(Codec.Gzip, gzipSync(data, { level: 1 }), 'gzip level 1');
  });

  it('keeps the input snappy framing: raw stays raw, xerial stays xerial', () => {
    const data = sample(50_000);
    const raw = compressRecords(Codec.Snappy, data, snappy.compress(data));
    expect(Buffer.from(raw.subarray(0, 8)).toString('hex')).to.not.equal('82534e4150505900');
    expect(Buffer.from(raw).equals(snappy.compress(data))).to.equal(true);
  });

  it('refuses to inflate past maxBytes, and bad bytes, with CORRUPT', () => {
    const big = Buffer.alloc(1 << 20, 0x61);
    for (const codec of CODECS) {
      const z = compressRecords(codec, big, Buffer.alloc(0));
      expect(z.byteLength, `codec ${codec}`).to.be.lessThan(64 * 1024);
      expect(() => decompressRecords(codec, z, 1000), `codec ${codec}`).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
      expect(() => decompressRecords(codec, Buffer.from('definitely not compressed at all'), 1 << 20), `codec ${codec} garbage`)
        .to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
      const cut = z.subarray(0, Math.floor(z.byteLength / 2));
      expect(() => decompressRecords(codec, cut, 1 << 20), `codec ${codec} truncated`).to.throw().that.satisfies((e: unknown) => isFlotillaError(e, 'CORRUPT'));
    }
  });

  it('refuses a zstd frame that declares a huge content size or window before allocating it', () => {
    // FHD: 8-byte content size (flag 3), single segment; content size 2^31; one empty raw last block.
    const huge = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0]), Buffer.from([0, 0, 0, 0x80, 0, 0, 0, 0]), Buffer.from([0x01, 0, 0])]);
    expect(() => decompressRecords(Codec.Zstd, huge, 1 << 20)).to.throw(/declares 2147483648 bytes/);
    // No content size, window descriptor 0xf8: 2^41... capped by the format at 3.75 TiB; refused.
    const window = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x01, 0, 0]);
    expect(() => decompressRecords(Codec.Zstd, window, 1 << 20)).to.throw(/window/);
    // A second frame behind a valid one is checked too.
    const ok = Buffer.from(compressRecords(Codec.Zstd, sample(1000), Buffer.alloc(0)));
    expect(() => decompressRecords(Codec.Zstd, Buffer.concat([ok, huge]), 1 << 20)).to.throw(/declares/);
    expect(Buffer.from(decompressRecords(Codec.Zstd, Buffer.concat([ok, ok]), 1 << 20)).equals(Buffer.concat([sample(1000), sample(1000)]))).to.equal(true);
  });

  it('cleans a compressed batch in its own codec, deterministically: the same input gives the same bytes, pinned by digest', () => {
    const golden: Record<number, string> = {};
    const digests: Record<number, string> = {};
    for (const codec of CODECS) {
      const plain = keyedBatch(200);
      const batch = withBody(plain, codec, compressRecords(codec, plain.subarray(BATCH_HEADER_BYTES), Buffer.alloc(0)));
      const records = rawRecords(batch, 1 << 20);
      expect(records.length).to.equal(200);
      expect(records.map((r) => r.offset)).to.deep.equal(Array.from({ length: 200 }, (_, i) => 100 + i));
      const kept = records.filter((_, i) => i >= 190 || i % 3 === 0);
      const once = rebuildBatch(batch, kept);
      const twice = rebuildBatch(Buffer.from(batch), rawRecords(Buffer.from(batch), 1 << 20).filter((_, i) => i >= 190 || i % 3 === 0));
      expect(once.equals(twice), `codec ${codec}`).to.equal(true);
      expect(checkBatch(once)).to.equal(null);
      const h = new BatchHeader(once);
      expect(h.compression).to.equal(codec);
      expect(h.recordCount).to.equal(kept.length);
      expect(h.baseOffset).to.equal(100);
      expect(h.lastOffset).to.equal(299);
      expect(rawRecords(once, 1 << 20).map((r) => Buffer.from(r.raw).toString('hex'))).to.deep.equal(kept.map((r) => Buffer.from(r.raw).toString('hex')));
      // Cleaning the cleaned batch with the same survivors changes nothing.
      expect(rebuildBatch(once, rawRecords(once, 1 << 20))).to.equal(once);
      digests[codec] = createHash('sha256').update(once).digest('hex').slice(0, 16);
    }
    // The bytes every replica writes today. A change here is a change of on-disk format: replicas
    // on two versions would clean the same batch differently (lib/records/README.md).
    golden[Codec.Gzip] = digests[Codec.Gzip]!; // node:zlib: fixed per Node release, not pinned here
    expect(digests).to.deep.equal({ ...golden, ...GOLDEN });
  });
});

/** sha256 prefixes of the cleaned batches above (snappyjs 0.7.0, lz4js 0.2.0, @bokuweb/zstd-wasm 0.0.27). */
const GOLDEN: Record<number, string> = {
  [Codec.Snappy]: '56e5e2c02e237ef5',
  [Codec.Lz4]: '86805b553d999a8d',
  [Codec.Zstd]: '6fb22514f8453d79',
};
