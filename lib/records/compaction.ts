/**
 * Record-level surgery for log compaction. Pure (no I/O): decompressing and compressing
 * (lib/records/codecs.ts) are computations here.
 *
 * A cleaned batch keeps everything that identifies it — baseOffset, lastOffsetDelta,
 * partitionLeaderEpoch (the Raft term), attributes, baseTimestamp, maxTimestamp, producerId,
 * producerEpoch, baseSequence — and keeps the surviving records' bytes verbatim (their offset and
 * timestamp deltas stay valid): only recordCount, batchLength, the records section and the CRC
 * change. So cleaning is canonical: cleaning a batch twice, or in two passes, gives the bytes that
 * one pass gives, and replicas that clean the same batch alike hold the same bytes.
 *
 * A batch left with no record becomes a Flotilla control batch (ControlType.Compacted) with the
 * same offsets, term and producer fields, whose one record sits at the batch's LAST offset. Kafka
 * keeps such batches empty (recordCount 0), but KafkaJS 2.2.4 resumes a fetch at the last record
 * it saw + 1, and jumps to the high watermark when a fetch answer holds no record at all: a run of
 * empty batches longer than one fetch would make it skip live records. A control record at the
 * last offset moves every client past the batch (KafkaJS, librdkafka and Java skip control
 * records of unknown types: docs/design.md).
 *
 * Codecs: all four are decoded, and a cleaned batch is written in the batch's own codec by the
 * deterministic encoders of codecs.ts, so replicas that clean the same batch hold the same bytes
 * (zstd needs `codecsReady()` first). Only a batch of an unknown codec (attribute values 5-7,
 * which no client writes) is left whole (`canDecodeRecords` false).
 */
import { FlotillaError } from '../base/errors.js';
import {
  Attributes, BATCH_HEADER_BYTES, BATCH_LENGTH_POS, BatchHeader, LOG_OVERHEAD_BYTES, RECORD_COUNT_POS,
  updateBatchCrc,
} from './batch.js';
import { Codec, compressRecords, decompressRecords, isKnownCodec } from './codecs.js';
import { ControlType, controlKey, encodeBatch } from './encode.js';
import { readVarint, readVarlong } from './varint.js';

export { Codec, codecsReady } from './codecs.js';

/** One record of a batch, located: its offset, key, whether it is a tombstone, its bytes. */
export interface RawRecord {
  readonly offset: number;
  readonly key: Uint8Array | null;
  /** A null value: a delete marker in a compacted topic. */
  readonly tombstone: boolean;
  /** The record as stored (its length varint included). */
  readonly raw: Uint8Array;
}

/** Whether the cleaner can read this batch's records (a known codec: none, gzip, snappy, lz4, zstd). */
export function canDecodeRecords(batch: Uint8Array): boolean {
  return isKnownCodec(new BatchHeader(batch).compression);
}

/**
 * The records of a valid batch, decompressed; `maxBytes` bounds the decompressed size. Bad bytes
 * throw FlotillaError CORRUPT.
 */
export function rawRecords(batch: Uint8Array, maxBytes: number): RawRecord[] {
  const header = new BatchHeader(batch);
  let body: Uint8Array;
  try {
    body = decompressRecords(header.compression, batch.subarray(BATCH_HEADER_BYTES, header.sizeBytes), maxBytes);
  } catch (err) {
    throw new FlotillaError('CORRUPT', `the batch at ${header.baseOffset}: ${(err as Error).message}`);
  }
  const out: RawRecord[] = [];
  let pos = 0;
  const end = body.byteLength;
  for (let i = 0; i < header.recordCount; i++) {
    const length = readVarint(body, pos, end);
    const recordEnd = length.next + length.value;
    if (length.value < 0 || recordEnd > end) throw new FlotillaError('CORRUPT', `record ${i} of the batch at ${header.baseOffset} runs past it`);
    let p = length.next + 1; // attributes
    p = readVarlong(body, p, recordEnd).next; // timestampDelta
    const od = readVarint(body, p, recordEnd);
    p = od.next;
    const kl = readVarint(body, p, recordEnd);
    p = kl.next;
    let key: Uint8Array | null = null;
    if (kl.value >= 0) {
      if (p + kl.value > recordEnd) throw new FlotillaError('CORRUPT', `record ${i} key runs past it`);
      key = body.subarray(p, p + kl.value);
      p += kl.value;
    }
    const vl = readVarint(body, p, recordEnd);
    out.push({ offset: header.baseOffset + od.value, key, tombstone: vl.value < 0, raw: body.subarray(pos, recordEnd) });
    pos = recordEnd;
  }
  if (pos !== end) throw new FlotillaError('CORRUPT', `the batch at ${header.baseOffset} has ${end - pos} bytes after its ${header.recordCount} records`);
  return out;
}

/**
 * The batch with only `kept` (a subsequence of its records, as `rawRecords` gave them): the same
 * buffer when nothing was removed, a Compacted control batch when nothing is left.
 */
export function rebuildBatch(batch: Buffer, kept: readonly RawRecord[]): Buffer {
  const header = new BatchHeader(batch);
  if (kept.length === header.recordCount) return batch;
  if (kept.length === 0) return compactedBatch(batch);
  const records = compressRecords(header.compression, Buffer.concat(kept.map((r) => r.raw)), batch.subarray(BATCH_HEADER_BYTES, header.sizeBytes));
  const out = Buffer.alloc(BATCH_HEADER_BYTES + records.byteLength);
  batch.copy(out, 0, 0, BATCH_HEADER_BYTES);
  out.set(records, BATCH_HEADER_BYTES);
  out.writeInt32BE(out.length - LOG_OVERHEAD_BYTES, BATCH_LENGTH_POS);
  out.writeInt32BE(kept.length, RECORD_COUNT_POS);
  updateBatchCrc(out);
  return out;
}

/** The Compacted control batch that stands for `batch` once all its records are gone. */
export function compactedBatch(batch: Uint8Array): Buffer {
  const h = new BatchHeader(batch);
  return encodeBatch({
    records: [{ key: controlKey(ControlType.Compacted), value: null, offsetDelta: h.lastOffsetDelta }],
    baseOffset: h.baseOffset,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    attributes: Attributes.Control | (h.attributes & Attributes.TimestampTypeLogAppend),
    baseTimestamp: h.maxTimestamp,
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
  });
}

/** The Flotilla control type of a control batch (its first record's key), or null. */
export function controlTypeOf(batch: Uint8Array): number | null {
  const h = new BatchHeader(batch);
  if (!h.isControl || h.compression !== Codec.None) return null;
  const [rec] = rawRecords(batch, h.sizeBytes);
  const key = rec?.key;
  if (!key || key.byteLength < 4) return null;
  return (key[2] as number) * 256 + (key[3] as number);
}
