/**
 * Kafka record batch v2 (magic 2): the wire format, and byte for byte the segment format.
 *
 * Layout (big-endian; source: apache/kafka DefaultRecordBatch.java):
 *
 * | pos | size | field                | in CRC |
 * | --- | ---- | -------------------- | ------ |
 * |   0 |    8 | baseOffset int64     | no     |
 * |   8 |    4 | batchLength int32 = total size - 12 | no |
 * |  12 |    4 | partitionLeaderEpoch int32 (Flotilla: the Raft term) | no |
 * |  16 |    1 | magic int8 = 2       | no     |
 * |  17 |    4 | crc uint32, CRC-32C over pos 21..end | - |
 * |  21 |    2 | attributes int16     | yes    |
 * |  23 |    4 | lastOffsetDelta int32 | yes   |
 * |  27 |    8 | baseTimestamp int64  | yes    |
 * |  35 |    8 | maxTimestamp int64   | yes    |
 * |  43 |    8 | producerId int64     | yes    |
 * |  51 |    2 | producerEpoch int16  | yes    |
 * |  53 |    4 | baseSequence int32   | yes    |
 * |  57 |    4 | recordCount int32    | yes    |
 * |  61 |  ... | records (compressed as one block if codec != 0) | yes |
 *
 * baseOffset and partitionLeaderEpoch lie outside the CRC so a leader can assign both in place.
 * This module is pure: it reads and patches Buffers, it never does I/O.
 */
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import { crc32c } from './crc32c.js';
import { readVarint, readVarlong } from './varint.js';

export const BASE_OFFSET_POS = 0;
export const BATCH_LENGTH_POS = 8;
export const PARTITION_LEADER_EPOCH_POS = 12;
export const MAGIC_POS = 16;
export const CRC_POS = 17;
export const ATTRIBUTES_POS = 21;
export const LAST_OFFSET_DELTA_POS = 23;
export const BASE_TIMESTAMP_POS = 27;
export const MAX_TIMESTAMP_POS = 35;
export const PRODUCER_ID_POS = 43;
export const PRODUCER_EPOCH_POS = 51;
export const BASE_SEQUENCE_POS = 53;
export const RECORD_COUNT_POS = 57;
/** Size of the batch header (Kafka's RECORD_BATCH_OVERHEAD). */
export const BATCH_HEADER_BYTES = 61;
/** Bytes before batchLength's count starts: baseOffset + batchLength. */
export const LOG_OVERHEAD_BYTES = 12;
export const MAGIC_V2 = 2;

/** Attribute bits. */
export const Attributes = {
  CompressionMask: 0x07,
  TimestampTypeLogAppend: 0x08,
  Transactional: 0x10,
  Control: 0x20,
  DeleteHorizon: 0x40,
} as const;

const INT32_MAX = 2 ** 31 - 1;

/** Reads a big-endian int64 that must be a safe integer (the project's 64-bit decision). */
export function readInt64(buf: Uint8Array, pos: number): number {
  if (pos < 0 || pos + 8 > buf.byteLength) throw new FlotillaError('CORRUPT', `int64 at ${pos} lies beyond ${buf.byteLength} bytes`);
  const n = i32(buf, pos) * 2 ** 32 + u32(buf, pos + 4);
  if (!Number.isSafeInteger(n)) throw new FlotillaError('CORRUPT', `int64 at ${pos} is beyond 2^53`);
  return n;
}

/** Writes a safe integer as a big-endian int64. */
export function writeInt64(buf: Uint8Array, pos: number, n: number): void {
  assert(Number.isSafeInteger(n), () => `int64 ${n} is not a safe integer`);
  assert(pos >= 0 && pos + 8 <= buf.byteLength, () => `int64 at ${pos} lies beyond ${buf.byteLength} bytes`);
  const hi = Math.floor(n / 2 ** 32);
  setU32(buf, pos, hi >>> 0);
  setU32(buf, pos + 4, n - hi * 2 ** 32);
}

// Big-endian fields by byte arithmetic, with no view object allocated per access: these run for
// every batch on the produce, replication and fetch paths. Callers check lengths first (a read
// past the end would see zeros, not throw).

/** Big-endian int32 at `pos`. */
function i32(b: Uint8Array, pos: number): number {
  return (b[pos]! << 24) | (b[pos + 1]! << 16) | (b[pos + 2]! << 8) | b[pos + 3]!;
}

/** Big-endian uint32 at `pos`. */
function u32(b: Uint8Array, pos: number): number {
  return i32(b, pos) >>> 0;
}

/** Big-endian int16 at `pos`. */
function i16(b: Uint8Array, pos: number): number {
  return (((b[pos]! << 8) | b[pos + 1]!) << 16) >> 16;
}

/** Writes the low 32 bits of `n` big-endian at `pos` (int32 or uint32 alike). */
function setU32(b: Uint8Array, pos: number, n: number): void {
  b[pos] = n >>> 24;
  b[pos + 1] = n >>> 16;
  b[pos + 2] = n >>> 8;
  b[pos + 3] = n;
}

/**
 * A read-only view of a batch header over bytes that hold at least the 61-byte header. It copies
 * nothing; getters read the bytes each time, so an in-place patch is seen at once.
 */
export class BatchHeader {
  readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    assert(bytes.byteLength >= BATCH_HEADER_BYTES, () => `a batch header needs ${BATCH_HEADER_BYTES} bytes, got ${bytes.byteLength}`);
    this.bytes = bytes;
  }

  get baseOffset(): number { return readInt64(this.bytes, BASE_OFFSET_POS); }
  get batchLength(): number { return i32(this.bytes, BATCH_LENGTH_POS); }
  /** The whole batch's size in bytes (batchLength + 12). */
  get sizeBytes(): number { return this.batchLength + LOG_OVERHEAD_BYTES; }
  get partitionLeaderEpoch(): number { return i32(this.bytes, PARTITION_LEADER_EPOCH_POS); }
  get magic(): number { return (this.bytes[MAGIC_POS]! << 24) >> 24; }
  get crc(): number { return u32(this.bytes, CRC_POS); }
  get attributes(): number { return i16(this.bytes, ATTRIBUTES_POS); }
  get compression(): number { return this.attributes & Attributes.CompressionMask; }
  get isControl(): boolean { return (this.attributes & Attributes.Control) !== 0; }
  get isTransactional(): boolean { return (this.attributes & Attributes.Transactional) !== 0; }
  get lastOffsetDelta(): number { return i32(this.bytes, LAST_OFFSET_DELTA_POS); }
  /** baseOffset + lastOffsetDelta. */
  get lastOffset(): number { return this.baseOffset + this.lastOffsetDelta; }
  get baseTimestamp(): number { return readInt64(this.bytes, BASE_TIMESTAMP_POS); }
  get maxTimestamp(): number { return readInt64(this.bytes, MAX_TIMESTAMP_POS); }
  get producerId(): number { return readInt64(this.bytes, PRODUCER_ID_POS); }
  get producerEpoch(): number { return i16(this.bytes, PRODUCER_EPOCH_POS); }
  get baseSequence(): number { return i32(this.bytes, BASE_SEQUENCE_POS); }
  get recordCount(): number { return i32(this.bytes, RECORD_COUNT_POS); }
}

/** Sets baseOffset in place (outside the CRC: no recomputation). */
export function setBaseOffset(batch: Uint8Array, baseOffset: number): void {
  assert(baseOffset >= 0, () => `baseOffset ${baseOffset} is negative`);
  writeInt64(batch, BASE_OFFSET_POS, baseOffset);
}

/**
 * A batch whose baseOffset is all ones (int64 -1) carries no offset yet: its proposer marks it so
 * (a layout-2 partition's leader), and the log gives it one (segment-codec.ts). A batch that
 * arrives with an offset is one a leader's log already gave it: a follower checks it against its
 * own, and never silently replaces it.
 */
export function markUnassigned(batch: Uint8Array): void {
  assert(batch.byteLength >= LOG_OVERHEAD_BYTES, 'a batch to mark has a log overhead');
  batch.fill(0xff, BASE_OFFSET_POS, BASE_OFFSET_POS + 8);
}

/** True when the batch's baseOffset is the unassigned mark (markUnassigned). */
export function isUnassigned(batch: Uint8Array): boolean {
  if (batch.byteLength < LOG_OVERHEAD_BYTES) return false;
  for (let i = BASE_OFFSET_POS; i < BASE_OFFSET_POS + 8; i++) if (batch[i] !== 0xff) return false;
  return true;
}

/** Sets partitionLeaderEpoch in place (outside the CRC: no recomputation). */
export function setPartitionLeaderEpoch(batch: Uint8Array, epoch: number): void {
  assert(Number.isInteger(epoch) && epoch >= -1 && epoch <= INT32_MAX, () => `partitionLeaderEpoch ${epoch} is not an int32 >= -1`);
  setU32(batch, PARTITION_LEADER_EPOCH_POS, epoch);
}

/** CRC-32C of the covered part (attributes..end) of a complete batch. */
export function computeBatchCrc(batch: Uint8Array): number {
  return crc32c(batch.subarray(ATTRIBUTES_POS));
}

/** Recomputes and stores the CRC (after changing a covered field, e.g. maxTimestamp). */
export function updateBatchCrc(batch: Uint8Array): void {
  setU32(batch, CRC_POS, computeBatchCrc(batch));
}

/** Why a batch failed validation. */
export const BatchProblem = {
  /** Fewer bytes than the header or than batchLength announces (a torn write). */
  Short: 'short',
  /** batchLength is too small for a header, or larger than the allowed maximum. */
  Length: 'length',
  Magic: 'magic',
  Crc: 'crc',
  /** Header fields that contradict each other (record count, last offset delta, offsets). */
  Header: 'header',
} as const;
export type BatchProblem = (typeof BatchProblem)[keyof typeof BatchProblem];

export interface BatchCheck {
  readonly problem: BatchProblem;
  readonly message: string;
}

/**
 * Checks the batch that starts at `pos` of `buf`: lengths, magic 2, header sanity and CRC-32C.
 * Returns null when it is valid (its size is then `batchSizeAt(buf, pos)`), else the problem.
 * `maxBytes` bounds the size a batch may announce (guards against a garbage length).
 */
export function checkBatch(buf: Uint8Array, pos = 0, maxBytes = INT32_MAX): BatchCheck | null {
  const avail = buf.byteLength - pos;
  if (avail < LOG_OVERHEAD_BYTES) return { problem: 'short', message: `${avail} bytes, fewer than the ${LOG_OVERHEAD_BYTES}-byte log overhead` };
  const batchLength = i32(buf, pos + BATCH_LENGTH_POS);
  const size = batchLength + LOG_OVERHEAD_BYTES;
  if (size < BATCH_HEADER_BYTES) return { problem: 'length', message: `batchLength ${batchLength} is smaller than a header` };
  if (size > maxBytes) return { problem: 'length', message: `batch of ${size} bytes exceeds the maximum of ${maxBytes}` };
  if (avail < BATCH_HEADER_BYTES) return { problem: 'short', message: `${avail} bytes, fewer than the ${BATCH_HEADER_BYTES}-byte header` };
  const magic = (buf[pos + MAGIC_POS]! << 24) >> 24;
  if (magic !== MAGIC_V2) return { problem: 'magic', message: `magic ${magic}, expected ${MAGIC_V2}` };
  if (avail < size) return { problem: 'short', message: `batch announces ${size} bytes, only ${avail} present` };
  const stored = u32(buf, pos + CRC_POS);
  const actual = crc32c(buf.subarray(pos + ATTRIBUTES_POS, pos + size));
  if (stored !== actual) return { problem: 'crc', message: `CRC-32C mismatch: stored ${hex(stored)}, computed ${hex(actual)}` };
  const recordCount = i32(buf, pos + RECORD_COUNT_POS);
  const lastOffsetDelta = i32(buf, pos + LAST_OFFSET_DELTA_POS);
  if (recordCount <= 0) return { problem: 'header', message: `recordCount ${recordCount} must be positive` };
  const attributes = i16(buf, pos + ATTRIBUTES_POS);
  const compressed = (attributes & Attributes.CompressionMask) !== 0;
  // A zero-width batch (lastOffsetDelta -1: it takes no Kafka offset) is only ever one of
  // Flotilla's internal control batches, never data or a transaction marker (zeroWidthShapeOk).
  if (lastOffsetDelta === ZERO_WIDTH_DELTA) {
    return zeroWidthShapeOk(buf, pos, size, attributes, recordCount) ? checkBaseOffset(buf, pos) : { problem: 'header', message: 'lastOffsetDelta -1 on a batch that is not an internal control batch' };
  }
  // Compaction may remove records (keeping lastOffsetDelta), so only "at least" holds in general.
  if (lastOffsetDelta < recordCount - 1 && !compressed) return { problem: 'header', message: `lastOffsetDelta ${lastOffsetDelta} < recordCount - 1 (${recordCount - 1})` };
  return checkBaseOffset(buf, pos);
}

/** baseOffset must be a non-negative safe integer (checked on its high 32 bits). */
function checkBaseOffset(buf: Uint8Array, pos: number): BatchCheck | null {
  const hi = i32(buf, pos + BASE_OFFSET_POS);
  if (hi < 0 || hi >= 2 ** 21) return { problem: 'header', message: 'baseOffset is negative or beyond 2^53' };
  return null;
}

/**
 * lastOffsetDelta of a zero-width batch: one of Flotilla's internal entries (Raft no-op and
 * config, LogStart, Clean) in a partition whose offset layout is 2. It covers no Kafka offset:
 * lastOffset = baseOffset - 1, so the offset after it equals its baseOffset (the offset after the
 * previous batch). Such a batch is never served to a client (docs/design.md).
 */
export const ZERO_WIDTH_DELTA = -1;

/** The internal control types that may be zero-width (0x7f01 no-op .. 0x7f04 Clean). */
const ZERO_WIDTH_TYPE_MIN = 0x7f01;
const ZERO_WIDTH_TYPE_MAX = 0x7f04;

/**
 * A zero-width batch must be an uncompressed, non-transactional control batch of one record whose
 * key is [int16 0, int16 type] with an internal type. Reads the first record's key in place.
 */
function zeroWidthShapeOk(buf: Uint8Array, pos: number, size: number, attributes: number, recordCount: number): boolean {
  if ((attributes & Attributes.Control) === 0 || (attributes & (Attributes.Transactional | Attributes.CompressionMask)) !== 0 || recordCount !== 1) return false;
  const end = pos + size;
  try {
    let p = readVarint(buf, pos + BATCH_HEADER_BYTES, end).next; // record length
    p += 1; // record attributes
    p = readVarlong(buf, p, end).next; // timestampDelta
    p = readVarint(buf, p, end).next; // offsetDelta
    const keyLen = readVarint(buf, p, end);
    if (keyLen.value !== 4 || keyLen.next + 4 > end) return false;
    const k = keyLen.next;
    const type = ((buf[k + 2] as number) << 8) | (buf[k + 3] as number);
    return buf[k] === 0 && buf[k + 1] === 0 && type >= ZERO_WIDTH_TYPE_MIN && type <= ZERO_WIDTH_TYPE_MAX;
  } catch {
    return false;
  }
}

/** True when the batch (a valid one) takes no Kafka offset: see ZERO_WIDTH_DELTA. */
export function isZeroWidth(header: BatchHeader): boolean {
  return header.lastOffsetDelta === ZERO_WIDTH_DELTA;
}

/** Throws FlotillaError CORRUPT unless the batch at `pos` is valid; returns its size. */
export function assertValidBatch(buf: Uint8Array, pos = 0, maxBytes = INT32_MAX, where = 'batch'): number {
  const problem = checkBatch(buf, pos, maxBytes);
  if (problem) throw new FlotillaError('CORRUPT', `${where}: ${problem.message}`, { problem: problem.problem });
  return batchSizeAt(buf, pos);
}

/** The size announced by the batch at `pos` (requires 12 bytes there). */
export function batchSizeAt(buf: Uint8Array, pos = 0): number {
  if (pos < 0 || pos + LOG_OVERHEAD_BYTES > buf.byteLength) throw new FlotillaError('CORRUPT', `no batch length at ${pos} of ${buf.byteLength} bytes`);
  return i32(buf, pos + BATCH_LENGTH_POS) + LOG_OVERHEAD_BYTES;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** One decoded record (uncompressed batches only). Byte fields are views into the batch. */
export interface DecodedRecord {
  readonly offsetDelta: number;
  readonly timestampDelta: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: readonly RecordHeader[];
}

export interface RecordHeader {
  readonly key: string;
  readonly value: Uint8Array | null;
}

/**
 * Decodes the records of a valid, uncompressed batch, at most `limit` of them. Meant for tests,
 * control batches and the opaque wrapping, not for the produce/fetch path (which never decodes).
 */
export function decodeRecords(batch: Uint8Array, limit = Number.MAX_SAFE_INTEGER): DecodedRecord[] {
  const header = new BatchHeader(batch);
  if (header.compression !== 0) throw new FlotillaError('CORRUPT', `cannot decode records compressed with codec ${header.compression}`);
  const end = header.sizeBytes;
  const count = Math.min(header.recordCount, limit);
  const out: DecodedRecord[] = [];
  let pos = BATCH_HEADER_BYTES;
  const bytesField = (): Uint8Array | null => {
    const len = readVarint(batch, pos, end);
    pos = len.next;
    if (len.value < 0) return null;
    if (pos + len.value > end) throw new FlotillaError('CORRUPT', 'record field runs past the batch');
    const bytes = batch.subarray(pos, pos + len.value);
    pos += len.value;
    return bytes;
  };
  for (let i = 0; i < count; i++) {
    const length = readVarint(batch, pos, end);
    const recordEnd = length.next + length.value;
    if (length.value < 0 || recordEnd > end) throw new FlotillaError('CORRUPT', `record ${i} length ${length.value} runs past the batch`);
    pos = length.next + 1; // attributes int8, unused
    const ts = readVarlong(batch, pos, recordEnd);
    pos = ts.next;
    const od = readVarint(batch, pos, recordEnd);
    pos = od.next;
    const key = bytesField();
    const value = bytesField();
    const hc = readVarint(batch, pos, recordEnd);
    pos = hc.next;
    if (hc.value < 0) throw new FlotillaError('CORRUPT', `record ${i} has ${hc.value} headers`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < hc.value; h++) {
      const k = bytesField();
      if (k === null) throw new FlotillaError('CORRUPT', `record ${i} header ${h} has a null key`);
      headers.push({ key: Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('utf8'), value: bytesField() });
    }
    if (pos !== recordEnd) throw new FlotillaError('CORRUPT', `record ${i} length ${length.value} does not match its fields`);
    out.push({ offsetDelta: od.value, timestampDelta: ts.value, key, value, headers });
  }
  return out;
}
