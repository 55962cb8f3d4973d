/**
 * A small encoder for record batch v2: no compression, CreateTime timestamps. Storage uses it to
 * wrap Raft entries (opaque values and control batches); tests use it to build client-like
 * batches. Producers' batches on the produce path are never re-encoded.
 */
import { assert } from '../base/assert.js';
import {
  ATTRIBUTES_POS, Attributes, BASE_SEQUENCE_POS, BASE_TIMESTAMP_POS, BATCH_HEADER_BYTES, BATCH_LENGTH_POS,
  LAST_OFFSET_DELTA_POS, LOG_OVERHEAD_BYTES, MAGIC_POS, MAGIC_V2, MAX_TIMESTAMP_POS, PRODUCER_EPOCH_POS, PRODUCER_ID_POS,
  RECORD_COUNT_POS, ZERO_WIDTH_DELTA, setBaseOffset, setPartitionLeaderEpoch, updateBatchCrc, writeInt64,
} from './batch.js';
import { varlongSize, writeVarint, writeVarlong } from './varint.js';

export interface RecordInput {
  readonly key?: Uint8Array | null;
  readonly value?: Uint8Array | null;
  readonly headers?: readonly { readonly key: string; readonly value: Uint8Array | null }[];
  /** Defaults to the record's position in the batch. */
  readonly offsetDelta?: number;
  /** Milliseconds after baseTimestamp (default 0). */
  readonly timestampDelta?: number;
}

export interface BatchInput {
  readonly records: readonly RecordInput[];
  readonly baseOffset?: number;
  readonly partitionLeaderEpoch?: number;
  /** Extra attribute bits (Transactional, Control); compression is always none. */
  readonly attributes?: number;
  /** -1 (Kafka's NO_TIMESTAMP) by default, so encoding is deterministic. */
  readonly baseTimestamp?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
}

/** The largest batch `encodeBatch` builds (Kafka's own cap on a batchLength is int32). */
const ENCODE_BYTES_MAX = 2 ** 31 - 1;

function bytesFieldSize(b: Uint8Array | null | undefined): number {
  return b == null ? varlongSize(-1) : varlongSize(b.byteLength) + b.byteLength;
}

/** Encodes a batch; returns a fresh Buffer with a correct CRC. */
export function encodeBatch(input: BatchInput): Buffer {
  const records = input.records;
  assert(records.length > 0, 'a batch needs at least one record');
  assert(((input.attributes ?? 0) & Attributes.CompressionMask) === 0, 'encodeBatch does not compress');
  const headerKeys = records.map((r) => (r.headers ?? []).map((h) => Buffer.from(h.key, 'utf8')));
  const bodies: number[] = [];
  let total = BATCH_HEADER_BYTES;
  let lastOffsetDelta = 0;
  let maxTsDelta = 0;
  records.forEach((r, i) => {
    const offsetDelta = r.offsetDelta ?? i;
    const tsDelta = r.timestampDelta ?? 0;
    lastOffsetDelta = Math.max(lastOffsetDelta, offsetDelta);
    maxTsDelta = Math.max(maxTsDelta, tsDelta);
    let body = 1 + varlongSize(tsDelta) + varlongSize(offsetDelta) + bytesFieldSize(r.key) + bytesFieldSize(r.value);
    const headers = r.headers ?? [];
    body += varlongSize(headers.length);
    headers.forEach((h, j) => {
      body += bytesFieldSize(headerKeys[i]?.[j]) + bytesFieldSize(h.value);
    });
    bodies.push(body);
    total += varlongSize(body) + body;
  });
  assert(total <= ENCODE_BYTES_MAX, () => `batch of ${total} bytes is too large`);
  const buf = Buffer.alloc(total);
  const baseTimestamp = input.baseTimestamp ?? -1;
  setBaseOffset(buf, input.baseOffset ?? 0);
  buf.writeInt32BE(total - LOG_OVERHEAD_BYTES, BATCH_LENGTH_POS);
  setPartitionLeaderEpoch(buf, input.partitionLeaderEpoch ?? -1);
  buf.writeInt8(MAGIC_V2, MAGIC_POS);
  buf.writeInt16BE(input.attributes ?? 0, ATTRIBUTES_POS);
  buf.writeInt32BE(lastOffsetDelta, LAST_OFFSET_DELTA_POS);
  writeInt64(buf, BASE_TIMESTAMP_POS, baseTimestamp);
  writeInt64(buf, MAX_TIMESTAMP_POS, baseTimestamp === -1 ? -1 : baseTimestamp + maxTsDelta);
  writeInt64(buf, PRODUCER_ID_POS, input.producerId ?? -1);
  buf.writeInt16BE(input.producerEpoch ?? -1, PRODUCER_EPOCH_POS);
  buf.writeInt32BE(input.baseSequence ?? -1, BASE_SEQUENCE_POS);
  buf.writeInt32BE(records.length, RECORD_COUNT_POS);
  let pos = BATCH_HEADER_BYTES;
  const bytesField = (b: Uint8Array | null | undefined): void => {
    if (b == null) {
      pos = writeVarint(buf, pos, -1);
      return;
    }
    pos = writeVarint(buf, pos, b.byteLength);
    buf.set(b, pos);
    pos += b.byteLength;
  };
  records.forEach((r, i) => {
    pos = writeVarint(buf, pos, bodies[i] as number);
    buf[pos++] = 0;
    pos = writeVarlong(buf, pos, r.timestampDelta ?? 0);
    pos = writeVarint(buf, pos, r.offsetDelta ?? i);
    bytesField(r.key);
    bytesField(r.value);
    const headers = r.headers ?? [];
    pos = writeVarint(buf, pos, headers.length);
    headers.forEach((h, j) => {
      bytesField(headerKeys[i]?.[j]);
      bytesField(h.value);
    });
  });
  assert(pos === total, () => `encoded ${pos} bytes, planned ${total}`);
  updateBatchCrc(buf);
  return buf;
}

/**
 * The header of every one-record batch `encodeValueBatch` writes: attributes 0, lastOffsetDelta 0,
 * timestamps -1, no producer (-1s), one record. baseOffset, batchLength, partitionLeaderEpoch and
 * the CRC are filled in per batch.
 */
const VALUE_BATCH_HEADER: Buffer = (() => {
  const h = Buffer.alloc(BATCH_HEADER_BYTES);
  h.writeInt8(MAGIC_V2, MAGIC_POS);
  writeInt64(h, BASE_TIMESTAMP_POS, -1);
  writeInt64(h, MAX_TIMESTAMP_POS, -1);
  writeInt64(h, PRODUCER_ID_POS, -1);
  h.writeInt16BE(-1, PRODUCER_EPOCH_POS);
  h.writeInt32BE(-1, BASE_SEQUENCE_POS);
  h.writeInt32BE(1, RECORD_COUNT_POS);
  return h;
})();

/**
 * The bytes `encodeBatch({ records: [{ key: null, value }], baseOffset, partitionLeaderEpoch })`
 * returns, built without its per-record planning: one header copied from a template, one copy of
 * the value. The Raft library stores every entry this way ('opaque' format), so it is on the
 * propose path of every node.
 */
export function encodeValueBatch(value: Uint8Array, baseOffset: number, partitionLeaderEpoch: number): Buffer {
  // Record body: attributes, timestampDelta 0, offsetDelta 0, key null (-1), value, 0 headers.
  const body = 1 + 1 + 1 + 1 + varlongSize(value.byteLength) + value.byteLength + 1;
  const total = BATCH_HEADER_BYTES + varlongSize(body) + body;
  assert(total <= ENCODE_BYTES_MAX, () => `batch of ${total} bytes is too large`);
  const buf = Buffer.allocUnsafe(total);
  VALUE_BATCH_HEADER.copy(buf, 0);
  setBaseOffset(buf, baseOffset);
  buf.writeInt32BE(total - LOG_OVERHEAD_BYTES, BATCH_LENGTH_POS);
  setPartitionLeaderEpoch(buf, partitionLeaderEpoch);
  let pos = writeVarint(buf, BATCH_HEADER_BYTES, body);
  buf[pos++] = 0; // attributes
  buf[pos++] = 0; // timestampDelta 0
  buf[pos++] = 0; // offsetDelta 0
  buf[pos++] = 1; // key length -1 (zigzag)
  pos = writeVarint(buf, pos, value.byteLength);
  buf.set(value, pos);
  pos += value.byteLength;
  buf[pos++] = 0; // no headers
  assert(pos === total, () => `encoded ${pos} bytes, planned ${total}`);
  updateBatchCrc(buf);
  return buf;
}

/** Flotilla's control record types (Kafka's own use 0..6 and -1). */
export const ControlType = {
  /** Kafka transaction markers. */
  Abort: 0,
  Commit: 1,
  /** A Raft no-op (a new leader's first entry). */
  RaftNoop: 0x7f01,
  /** A Raft membership change. */
  RaftConfig: 0x7f02,
  /** A partition's log start offset moves (DeleteRecords, retention): the value is the int64 offset. */
  LogStart: 0x7f03,
  /** The leader orders a cleaning pass (compacted topics): value int16 version, int64 x, h, time. */
  Clean: 0x7f04,
  /**
   * A batch whose every record compaction removed: it keeps its baseOffset, lastOffsetDelta, term
   * and producer fields; its one record sits at the batch's last offset, so clients move past it.
   */
  Compacted: 0x7f05,
  /**
   * Served in place of a stored entry clients must not see (a duplicate or refused idempotent
   * batch that reached the log): one record at the entry's last offset, so clients move past it.
   */
  Skipped: 0x7f06,
} as const;
export type ControlType = (typeof ControlType)[keyof typeof ControlType];

/** The key of a control record: int16 version 0, int16 type. */
export function controlKey(type: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeUInt16BE(type, 2);
  return key;
}

/**
 * A control batch of one record: key = [version 0, type], value = `value`. `zeroWidth`: the batch
 * takes no Kafka offset (lastOffsetDelta -1, batch.ts ZERO_WIDTH_DELTA; internal types only).
 */
export function encodeControlBatch(type: number, value: Uint8Array, baseOffset: number, partitionLeaderEpoch: number, zeroWidth = false): Buffer {
  const batch = encodeBatch({
    records: [{ key: controlKey(type), value }],
    baseOffset,
    partitionLeaderEpoch,
    attributes: Attributes.Control,
  });
  if (zeroWidth) {
    batch.writeInt32BE(ZERO_WIDTH_DELTA, LAST_OFFSET_DELTA_POS);
    updateBatchCrc(batch);
  }
  return batch;
}
