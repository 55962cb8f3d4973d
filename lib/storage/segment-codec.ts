/**
 * How one Raft entry becomes one Kafka record batch v2, and back. Pure (no I/O).
 *
 * The Raft term rides in `partitionLeaderEpoch`. Two formats:
 * - 'opaque' (the Raft library): a Normal entry's data is the value of a single record (null key),
 *   baseOffset = Raft index. Reads unwrap the value.
 * - 'batch' (Flotilla partitions): a Normal entry's data IS a complete record batch v2, stored
 *   verbatim except for two fields outside the CRC: baseOffset = the previous batch's last offset
 *   + 1 (the log assigns offsets, deterministically on every replica) and partitionLeaderEpoch =
 *   the term. Reads return the batch bytes.
 * Noop and Config entries, both formats: a control batch (attributes bit 5) of one record whose key
 * is [int16 version 0, int16 type] (0x7f01 no-op, 0x7f02 config) and whose value is the entry's
 * data. baseOffset = the Raft index ('opaque') or the previous batch's last offset + 1 ('batch'),
 * deterministic on every replica. Timestamps are -1 so the bytes are too.
 *
 * Offset layout ('batch' format; a per-topic fact every replica of the partition shares, since
 * each encodes its no-op and config entries itself):
 * - 1 (topics created before dense offsets): a no-op or config batch takes one Kafka offset.
 * - 2: it takes none (lastOffsetDelta -1, batch.ts ZERO_WIDTH_DELTA): stored at the offset after
 *   the previous batch, which the next batch also starts at. Kafka offsets then count only what
 *   clients wrote (and transaction markers).
 */
import { assert, unreachable } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import { BATCH_HEADER_BYTES, BatchHeader, assertValidBatch, decodeRecords, isUnassigned, setBaseOffset, setPartitionLeaderEpoch } from '../records/batch.js';
import { ControlType, encodeControlBatch, encodeValueBatch } from '../records/encode.js';
import { type Entry, EntryType } from '../raft/core/types.js';

export const LogFormat = { Opaque: 'opaque', Batch: 'batch' } as const;
export type LogFormat = (typeof LogFormat)[keyof typeof LogFormat];

/** How Raft's own entries take Kafka offsets in a 'batch' log: 1 = one each, 2 = none (above). */
export type OffsetLayout = 1 | 2;
export const OFFSET_LAYOUTS: readonly OffsetLayout[] = [1, 2];

export interface EncodedEntry {
  readonly batch: Buffer;
  /** The entry as reads will return it (in 'batch' format, data is the stored batch). */
  readonly entry: Entry;
  /** Kafka offset after this batch (lastOffset + 1). */
  readonly nextOffset: number;
}

/**
 * Encodes `entry`; `nextOffset` is the offset after the previous batch ('batch' format), `layout`
 * the log's offset layout ('batch' format no-op and config entries).
 */
export function encodeEntry(entry: Entry, format: LogFormat, nextOffset: number, batchBytesMax: number, layout: OffsetLayout = 1): EncodedEntry {
  let batch: Buffer;
  let out: Entry = entry;
  switch (entry.type) {
    case EntryType.Normal:
      if (format === LogFormat.Opaque) {
        batch = encodeValueBatch(entry.data, entry.index, entry.term);
      } else {
        // A proposal marked unassigned gets its offset here (or earlier, assignOffsets).
        if (isUnassigned(entry.data)) setBaseOffset(entry.data, nextOffset);
        assertValidBatch(entry.data, 0, batchBytesMax, `entry ${entry.index}`);
        const header = new BatchHeader(entry.data);
        if (header.sizeBytes !== entry.data.byteLength) {
          throw new FlotillaError('CORRUPT', `entry ${entry.index}: data holds more than one batch`);
        }
        // Layout 2: an entry that arrives with an offset got it from the leader's log; a replica
        // whose own log continues elsewhere disagrees on an entry's width (a layout mix-up or a
        // bug) and must stop rather than serve other offsets than its leader.
        if (layout === 2 && header.baseOffset !== nextOffset) {
          throw new FlotillaError('CORRUPT', `entry ${entry.index}: the leader gave it offset ${header.baseOffset}, this replica's log continues at ${nextOffset}`);
        }
        // The log assigns offsets: baseOffset = the offset after the previous batch, the same on
        // every replica (their logs match). Patched in place first (both fields lie outside the
        // CRC), so the proposer's and the Raft core's copy of the entry carry the stored bytes.
        setBaseOffset(entry.data, nextOffset);
        setPartitionLeaderEpoch(entry.data, entry.term);
        // A view, not a copy: the entry's bytes (the producer's request, or the frame a follower
        // received) are the stored batch, never changed again.
        batch = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
        assert(raftControlType(batch) === null, () => `entry ${entry.index}: a Normal entry's batch may not be a Raft control batch`);
        out = { index: entry.index, term: entry.term, type: entry.type, data: batch };
      }
      break;
    case EntryType.Noop:
    case EntryType.Config:
      batch = encodeControlBatch(
        entry.type === EntryType.Noop ? ControlType.RaftNoop : ControlType.RaftConfig,
        entry.data,
        format === LogFormat.Opaque ? entry.index : nextOffset,
        entry.term,
        format === LogFormat.Batch && layout === 2,
      );
      break;
    default:
      return unreachable(entry.type, 'entry type');
  }
  if (batch.length > batchBytesMax) {
    throw new FlotillaError('INVALID_CONFIG', `entry ${entry.index} takes ${batch.length} bytes, more than log.batchBytesMax (${batchBytesMax})`);
  }
  return { batch, entry: out, nextOffset: new BatchHeader(batch).lastOffset + 1 };
}

/**
 * 'batch' format: gives the entries marked unassigned (a leader's own proposals) the offsets their
 * append will give them, in place, before the leader sends them to its followers (the host sends a
 * Ready's messages before its store appends them): followers then receive the leader's offsets and
 * check them (encodeEntry). `nextOffset` is the offset after the entry before `entries[0]`.
 */
export function assignOffsets(entries: readonly Entry[], nextOffset: number, layout: OffsetLayout): void {
  let next = nextOffset;
  for (const e of entries) {
    if (e.type !== EntryType.Normal) {
      next += layout === 2 ? 0 : 1;
      continue;
    }
    // Not a batch: append refuses it, and nothing after it is appended either.
    if (e.data.byteLength < BATCH_HEADER_BYTES) return;
    if (isUnassigned(e.data)) setBaseOffset(e.data, next);
    next += new BatchHeader(e.data).lastOffsetDelta + 1;
  }
}

/** The Raft control type of a control batch (Noop/Config), or null for any other batch. */
export function raftControlType(batch: Uint8Array): EntryType | null {
  const header = new BatchHeader(batch);
  if (!header.isControl || header.compression !== 0) return null;
  const [record] = decodeRecords(batch, 1);
  const key = record?.key;
  if (!key || key.byteLength < 4) return null;
  const type = (key[2] as number) * 256 + (key[3] as number);
  if (type === ControlType.RaftNoop) return EntryType.Noop;
  if (type === ControlType.RaftConfig) return EntryType.Config;
  return null;
}

/**
 * Decodes a batch that already passed checkBatch back into the entry at `index`. The returned data
 * are views into `batch` (callers pass a buffer of their own).
 */
export function decodeEntry(batch: Uint8Array, index: number, format: LogFormat): Entry {
  const header = new BatchHeader(batch);
  const term = header.partitionLeaderEpoch;
  if (format === LogFormat.Opaque && header.baseOffset !== index) {
    throw new FlotillaError('CORRUPT', `batch at index ${index} has baseOffset ${header.baseOffset}`);
  }
  const control = raftControlType(batch);
  if (control !== null) {
    const [record] = decodeRecords(batch, 1);
    return { index, term, type: control, data: record?.value ?? new Uint8Array(0) };
  }
  if (format === LogFormat.Batch) return { index, term, type: EntryType.Normal, data: batch };
  if (header.isControl || header.recordCount !== 1) {
    throw new FlotillaError('CORRUPT', `batch at index ${index} is not an opaque entry (control ${header.isControl}, ${header.recordCount} records)`);
  }
  const [record] = decodeRecords(batch, 1);
  return { index, term, type: EntryType.Normal, data: record?.value ?? new Uint8Array(0) };
}
