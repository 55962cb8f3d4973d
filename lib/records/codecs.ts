/**
 * The four Kafka codecs of a record batch's records section, for log compaction (the produce and
 * fetch paths never decompress). Pure: each function is a computation on bytes.
 *
 * Decoding accepts every form Kafka clients write: gzip (node:zlib); snappy raw (librdkafka,
 * KafkaJS) or xerial-framed (Java); lz4 frames with independent or linked blocks, with or without
 * content size and checksums (Java, librdkafka); zstd frames with or without a content size
 * (fzstd). `maxBytes` bounds the decompressed size: a batch that inflates past it throws CORRUPT
 * before it is allocated.
 *
 * Encoding must give the same bytes on every replica (they clean the same batch independently and
 * must hold identical logs), so each codec is written by one deterministic implementation: a pure
 * JavaScript one (snappyjs, lz4js's block compressor) or WebAssembly (zstd's reference C library
 * compiled to wasm by @bokuweb/zstd-wasm), whose output depends only on the input and the
 * library's version, never on the CPU. The versions are pinned exactly in package.json: a new
 * version that compresses differently is a change of the on-disk format (replicas on two versions
 * would clean the same batch to different, equally valid, bytes). gzip is node:zlib at level 6 —
 * Node's bundled zlib, deterministic for a given Node release. The written form follows Kafka's
 * Java producer: xerial framing with 32 KiB blocks when the input was xerial-framed (raw snappy
 * otherwise: the form is the input's, so identical inputs give identical outputs); lz4 frames
 * of independent 64 KiB blocks, no checksums beyond the header's (the batch CRC covers all);
 * zstd level 3.
 *
 * Every client Flotilla is tested with reads every form: librdkafka and Java read raw and xerial
 * snappy and any valid lz4/zstd frame; kafka-python checks for the xerial header.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { compress as zstdCompress, init as zstdInit } from '@bokuweb/zstd-wasm';
import { Decompress as ZstdDecompress } from 'fzstd';
import lz4 from 'lz4js';
import xxh32 from 'lz4js/xxh32.js';
import snappy from 'snappyjs';
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';

export const Codec = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const;

const CODEC_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** The codec's name (Kafka's compression.type spelling), or `codec <n>` for an unknown one. */
export function codecName(codec: number): string {
  return CODEC_NAMES[codec] ?? `codec ${codec}`;
}

/** Whether `codec` is one of Kafka's four (or none). */
export function isKnownCodec(codec: number): boolean {
  return codec >= Codec.None && codec <= Codec.Zstd;
}

let zstdReady: Promise<void> | null = null;
let zstdLoaded = false;

/** Loads the zstd compressor (a WebAssembly module); `compressRecords(Zstd)` needs it done. */
export function codecsReady(): Promise<void> {
  zstdReady ??= zstdInit().then(() => {
    zstdLoaded = true;
  });
  return zstdReady;
}

/** The records section of a batch, decompressed. Bad or oversized input throws CORRUPT. */
export function decompressRecords(codec: number, body: Uint8Array, maxBytes: number): Uint8Array {
  if (codec === Codec.None) return body;
  try {
    switch (codec) {
      case Codec.Gzip: return gunzipSync(body, { maxOutputLength: maxBytes });
      case Codec.Snappy: return snappyDecode(body, maxBytes);
      case Codec.Lz4: return lz4Decode(body, maxBytes);
      case Codec.Zstd: return zstdDecode(body, maxBytes);
      default: throw new Error('unknown codec');
    }
  } catch (err) {
    if (err instanceof FlotillaError) throw err;
    throw new FlotillaError('CORRUPT', `${codecName(codec)} records do not decompress within ${maxBytes} bytes: ${(err as Error).message}`);
  }
}

/**
 * `records` compressed with `codec`, deterministically (see the file comment). `like` is the
 * batch's original compressed section: snappy keeps its framing.
 */
export function compressRecords(codec: number, records: Uint8Array, like: Uint8Array): Uint8Array {
  switch (codec) {
    case Codec.None: return records;
    case Codec.Gzip: return gzipSync(records, { level: 6 });
    case Codec.Snappy: return isXerial(like) ? xerialEncode(records) : snappy.compress(Buffer.from(records.buffer, records.byteOffset, records.byteLength));
    case Codec.Lz4: return lz4Encode(records);
    case Codec.Zstd:
      assert(zstdLoaded, 'codecsReady() must have resolved before zstd compression');
      return zstdCompress(records, ZSTD_LEVEL);
    default: throw new FlotillaError('CORRUPT', `unknown codec ${codec}`);
  }
}

// --- snappy ---------------------------------------------------------------------------------

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** magic, version 1, compatible version 1. */
const XERIAL_HEADER_BYTES = 16;
const XERIAL_BLOCK_BYTES = 32 * 1024;

function isXerial(body: Uint8Array): boolean {
  return body.byteLength >= XERIAL_HEADER_BYTES && Buffer.compare(body.subarray(0, 8), XERIAL_MAGIC) === 0;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function snappyDecode(body: Uint8Array, maxBytes: number): Uint8Array {
  const buf = asBuffer(body);
  if (!isXerial(buf)) return snappy.uncompress(buf, maxBytes);
  const parts: Buffer[] = [];
  let total = 0;
  for (let pos = XERIAL_HEADER_BYTES; pos < buf.length;) {
    if (pos + 4 > buf.length) throw new Error('xerial block length runs past the data');
    const n = buf.readInt32BE(pos);
    pos += 4;
    if (n < 0 || pos + n > buf.length) throw new Error('xerial block runs past the data');
    const part = snappy.uncompress(buf.subarray(pos, pos + n), maxBytes - total);
    total += part.length;
    parts.push(part);
    pos += n;
  }
  return Buffer.concat(parts, total);
}

function xerialEncode(records: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(XERIAL_HEADER_BYTES);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  parts.push(header);
  const src = asBuffer(records);
  for (let pos = 0; pos < src.length; pos += XERIAL_BLOCK_BYTES) {
    const block = snappy.compress(src.subarray(pos, Math.min(src.length, pos + XERIAL_BLOCK_BYTES)));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

// --- lz4 (frame format) ---------------------------------------------------------------------

const LZ4_MAGIC = 0x184d2204;
const LZ4_FLG_VERSION = 0x40;
const LZ4_FLG_BLOCK_INDEPENDENT = 0x20;
const LZ4_FLG_BLOCK_CHECKSUM = 0x10;
const LZ4_FLG_CONTENT_SIZE = 0x08;
const LZ4_FLG_CONTENT_CHECKSUM = 0x04;
const LZ4_FLG_DICT_ID = 0x01;
const LZ4_BLOCK_UNCOMPRESSED = 0x80000000;
const LZ4_BLOCK_MAX: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };
/** Kafka's Java producer writes 64 KiB blocks (BD 4). */
const LZ4_WRITE_BD = 4;
const LZ4_HASH_ENTRIES = 1 << 16;

function lz4Decode(body: Uint8Array, maxBytes: number): Uint8Array {
  const src = asBuffer(body);
  if (src.length < 7 || src.readUInt32LE(0) !== LZ4_MAGIC) throw new Error('not an lz4 frame');
  const flg = src[4] as number;
  const bd = src[5] as number;
  if ((flg & 0xc0) !== LZ4_FLG_VERSION) throw new Error(`lz4 frame version ${(flg & 0xc0) >> 6}`);
  const blockMax = LZ4_BLOCK_MAX[(bd >> 4) & 7];
  if (blockMax === undefined) throw new Error(`lz4 block size id ${(bd >> 4) & 7}`);
  let pos = 6 + ((flg & LZ4_FLG_CONTENT_SIZE) !== 0 ? 8 : 0) + ((flg & LZ4_FLG_DICT_ID) !== 0 ? 4 : 0) + 1;
  const blockChecksum = (flg & LZ4_FLG_BLOCK_CHECKSUM) !== 0;
  // First pass: the blocks' bounds, so the output is allocated once, within maxBytes.
  const blocks: { start: number; size: number; raw: boolean }[] = [];
  let bound = 0;
  for (;;) {
    if (pos + 4 > src.length) throw new Error('lz4 frame has no end mark');
    const word = src.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const raw = (word & LZ4_BLOCK_UNCOMPRESSED) !== 0;
    const size = word & ~LZ4_BLOCK_UNCOMPRESSED;
    if (size > blockMax || pos + size > src.length) throw new Error('lz4 block runs past the frame');
    blocks.push({ start: pos, size, raw });
    bound += raw ? size : blockMax;
    if (bound > maxBytes + blockMax) throw new Error(`lz4 frame inflates past ${maxBytes} bytes`);
    pos += size + (blockChecksum ? 4 : 0);
  }
  if ((flg & LZ4_FLG_CONTENT_CHECKSUM) !== 0) pos += 4;
  if (pos > src.length) throw new Error('lz4 frame runs past the data');
  // One contiguous output: linked blocks refer back into earlier ones.
  const dst = new Uint8Array(bound);
  let out = 0;
  for (const b of blocks) {
    if (b.raw) {
      dst.set(src.subarray(b.start, b.start + b.size), out);
      out += b.size;
    } else {
      const next = lz4.decompressBlock(src, dst, b.start, b.size, out);
      if (!(next >= out && next - out <= blockMax)) throw new Error('lz4 block decodes past its size');
      out = next;
    }
    if (out > maxBytes) throw new Error(`lz4 frame inflates past ${maxBytes} bytes`);
  }
  return dst.subarray(0, out);
}

function lz4Encode(records: Uint8Array): Buffer {
  const blockMax = LZ4_BLOCK_MAX[LZ4_WRITE_BD] as number;
  const header = Buffer.alloc(7);
  header.writeUInt32LE(LZ4_MAGIC, 0);
  header[4] = LZ4_FLG_VERSION | LZ4_FLG_BLOCK_INDEPENDENT;
  header[5] = LZ4_WRITE_BD << 4;
  header[6] = (xxh32.hash(0, header, 4, 2) >>> 8) & 0xff;
  const parts: Buffer[] = [header];
  const scratch = new Uint8Array(lz4.compressBound(blockMax));
  const table = new Uint32Array(LZ4_HASH_ENTRIES);
  const src = asBuffer(records);
  for (let pos = 0; pos < src.length; pos += blockMax) {
    const size = Math.min(blockMax, src.length - pos);
    // A cleared table per block: no match reaches into an earlier block (independent blocks).
    table.fill(0);
    const n = lz4.compressBlock(src, scratch, pos, size, table);
    const word = Buffer.alloc(4);
    if (n === 0 || n >= size) {
      word.writeUInt32LE((LZ4_BLOCK_UNCOMPRESSED | size) >>> 0, 0);
      parts.push(word, Buffer.from(src.subarray(pos, pos + size)));
    } else {
      word.writeUInt32LE(n, 0);
      parts.push(word, Buffer.from(scratch.subarray(0, n)));
    }
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts);
}

// --- zstd -----------------------------------------------------------------------------------

/** Kafka's default zstd level. */
const ZSTD_LEVEL = 3;

/**
 * fzstd allocates a frame's declared content size, or its window when it declares none, before it
 * decodes a byte: a 20-byte frame declaring 2 GiB would take the node's memory. So every frame's
 * header is read first (walking the block headers to the next frame), and a frame that declares
 * more than `maxBytes` of content, or a window above max(maxBytes, 8 MiB) (real encoders use at
 * most 8 MiB below level 20; Java's default level 3, 2 MiB), is refused.
 */
const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_WINDOW_FLOOR = 8 * 1024 * 1024;

function zstdCheckFrames(src: Buffer, maxBytes: number): void {
  let pos = 0;
  while (pos < src.length) {
    if (pos + 8 > src.length) throw new Error('zstd frame header runs past the data');
    const magic = src.readUInt32LE(pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) { // skippable frame
      pos += 8 + src.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new Error('not a zstd frame');
    const fhd = src[pos + 4] as number;
    const fcsFlag = fhd >> 6;
    const single = (fhd & 0x20) !== 0;
    if ((fhd & 0x08) !== 0) throw new Error('zstd frame header reserved bit set');
    let p = pos + 5;
    let window = 0;
    if (!single) {
      const wd = src[p++] as number;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    p += [0, 1, 2, 4][fhd & 3] as number;
    const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : 1 << fcsFlag;
    if (p + fcsBytes > src.length) throw new Error('zstd frame header runs past the data');
    let contentSize = -1;
    if (fcsBytes === 1) contentSize = src[p] as number;
    else if (fcsBytes === 2) contentSize = src.readUInt16LE(p) + 256;
    else if (fcsBytes === 4) contentSize = src.readUInt32LE(p);
    else if (fcsBytes === 8) contentSize = src.readUInt32LE(p) + src.readUInt32LE(p + 4) * 2 ** 32;
    p += fcsBytes;
    if (contentSize > maxBytes) throw new Error(`zstd frame declares ${contentSize} bytes, above ${maxBytes}`);
    if (contentSize < 0 && window > Math.max(maxBytes, ZSTD_WINDOW_FLOOR)) throw new Error(`zstd frame declares a window of ${window} bytes`);
    // The blocks, to the next frame.
    for (let last = false; !last;) {
      if (p + 3 > src.length) throw new Error('zstd block header runs past the data');
      const h = src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16);
      last = (h & 1) === 1;
      const type = (h >> 1) & 3;
      if (type === 3) throw new Error('zstd block of the reserved type');
      p += 3 + (type === 1 ? 1 : h >>> 3);
    }
    pos = p + ((fhd & 0x04) !== 0 ? 4 : 0);
  }
}

function zstdDecode(body: Uint8Array, maxBytes: number): Uint8Array {
  zstdCheckFrames(asBuffer(body), maxBytes);
  const parts: Uint8Array[] = [];
  let total = 0;
  const d = new ZstdDecompress((chunk) => {
    total += chunk.byteLength;
    if (total > maxBytes) throw new Error(`zstd frame inflates past ${maxBytes} bytes`);
    parts.push(chunk);
  });
  d.push(body, true);
  return Buffer.concat(parts, total);
}
