/**
 * The small files beside the segments, and the names of all files in a log directory. Pure codecs
 * (encode/decode) plus two tiny synchronous helpers for atomic replacement.
 *
 * Directory of one log:
 *   00000000000000000001.log     segment: record batches back to back, one per Raft entry,
 *                                named by the first Raft index it holds (20 digits)
 *   00000000000000000001.index   sparse offset index of a sealed segment (rebuildable)
 *   log-start.checkpoint         the entry before the log: prevIndex, prevTerm, nextOffset
 *   *.tmp                        a replacement being written (removed on open)
 *
 * Index file (big-endian), valid only if its CRC matches and `segmentBytes` equals the segment
 * file's size (otherwise it is rebuilt by scanning the segment):
 *   magic u32 'FLIX' | version u16 = 1 | segmentBytes u32 | entryCount u32 | nextOffset i64 |
 *   sparseCount u32 | termRunCount u32 |
 *   sparseCount x (indexDelta u32, position u32, baseOffset i64) |
 *   termRunCount x (indexDelta u32, term u32) | crc32c u32 over everything before it
 * A sparse entry is kept for the first batch and then for the first batch at least
 * `indexIntervalBytes` after the previous sparse entry. A term run starts where the term changes.
 *
 * Checkpoint file: magic u32 'FLCP' | version u16 = 1 | prevIndex i64 | prevTerm i64 |
 *   nextOffset i64 | crc32c u32. Written (tmp, fsync, rename, fsync dir) on compact and reset.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readInt64, writeInt64 } from '../records/batch.js';
import { crc32c } from '../records/crc32c.js';

export const SEGMENT_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const CHECKPOINT_FILE = 'log-start.checkpoint';
export const TMP_SUFFIX = '.tmp';
/**
 * A 'batch' log's offset layout guard (segment-codec.ts OffsetLayout): the ASCII digit, written
 * when the log is created; absent = 1 (logs created before layouts existed).
 */
export const LAYOUT_FILE = 'offset-layout';

const INDEX_MAGIC = 0x464c4958; // 'FLIX'
const CHECKPOINT_MAGIC = 0x464c4350; // 'FLCP'
const VERSION = 1;
const INDEX_HEADER_BYTES = 4 + 2 + 4 + 4 + 8 + 4 + 4;
const CHECKPOINT_BYTES = 4 + 2 + 8 + 8 + 8 + 4;

export function segmentName(base: number): string {
  return String(base).padStart(20, '0');
}

/** The base index of a segment or index file name, or null if the name is not one. */
export function parseSegmentName(file: string, suffix: string): number | null {
  if (!file.endsWith(suffix)) return null;
  const stem = file.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(stem)) return null;
  const n = Number(stem);
  return Number.isSafeInteger(n) ? n : null;
}

export interface SparseEntry {
  readonly index: number;
  readonly position: number;
  readonly baseOffset: number;
}

export interface TermRun {
  /** First index of the run. */
  readonly index: number;
  readonly term: number;
}

export interface SegmentIndexData {
  readonly segmentBytes: number;
  readonly entryCount: number;
  readonly nextOffset: number;
  readonly sparse: readonly SparseEntry[];
  readonly terms: readonly TermRun[];
}

export function encodeIndex(base: number, data: SegmentIndexData): Buffer {
  const size = INDEX_HEADER_BYTES + data.sparse.length * 16 + data.terms.length * 8 + 4;
  const buf = Buffer.alloc(size);
  let p = 0;
  buf.writeUInt32BE(INDEX_MAGIC, p); p += 4;
  buf.writeUInt16BE(VERSION, p); p += 2;
  buf.writeUInt32BE(data.segmentBytes, p); p += 4;
  buf.writeUInt32BE(data.entryCount, p); p += 4;
  writeInt64(buf, p, data.nextOffset); p += 8;
  buf.writeUInt32BE(data.sparse.length, p); p += 4;
  buf.writeUInt32BE(data.terms.length, p); p += 4;
  for (const s of data.sparse) {
    buf.writeUInt32BE(s.index - base, p); p += 4;
    buf.writeUInt32BE(s.position, p); p += 4;
    writeInt64(buf, p, s.baseOffset); p += 8;
  }
  for (const t of data.terms) {
    buf.writeUInt32BE(t.index - base, p); p += 4;
    buf.writeUInt32BE(t.term, p); p += 4;
  }
  buf.writeUInt32BE(crc32c(buf.subarray(0, p)), p);
  return buf;
}

/** Decodes an index file; null when it is not a valid one (then the segment is scanned). */
export function decodeIndex(base: number, buf: Buffer): SegmentIndexData | null {
  try {
    if (buf.length < INDEX_HEADER_BYTES + 4) return null;
    if (buf.readUInt32BE(0) !== INDEX_MAGIC || buf.readUInt16BE(4) !== VERSION) return null;
    const end = buf.length - 4;
    if (buf.readUInt32BE(end) !== crc32c(buf.subarray(0, end))) return null;
    let p = 6;
    const segmentBytes = buf.readUInt32BE(p); p += 4;
    const entryCount = buf.readUInt32BE(p); p += 4;
    const nextOffset = readInt64(buf, p); p += 8;
    const sparseCount = buf.readUInt32BE(p); p += 4;
    const termCount = buf.readUInt32BE(p); p += 4;
    if (INDEX_HEADER_BYTES + sparseCount * 16 + termCount * 8 !== end) return null;
    const sparse: SparseEntry[] = [];
    for (let i = 0; i < sparseCount; i++) {
      sparse.push({ index: base + buf.readUInt32BE(p), position: buf.readUInt32BE(p + 4), baseOffset: readInt64(buf, p + 8) });
      p += 16;
    }
    const terms: TermRun[] = [];
    for (let i = 0; i < termCount; i++) {
      terms.push({ index: base + buf.readUInt32BE(p), term: buf.readUInt32BE(p + 4) });
      p += 8;
    }
    // Sanity: what the store relies on without looking at the segment.
    if (entryCount > 0 && (sparse[0]?.index !== base || sparse[0].position !== 0 || terms[0]?.index !== base)) return null;
    for (let i = 1; i < sparse.length; i++) {
      const a = sparse[i - 1] as SparseEntry;
      const b = sparse[i] as SparseEntry;
      if (b.index <= a.index || b.position <= a.position || b.index >= base + entryCount || b.position >= segmentBytes) return null;
    }
    for (let i = 1; i < terms.length; i++) {
      const a = terms[i - 1] as TermRun;
      const b = terms[i] as TermRun;
      if (b.index <= a.index || b.term <= a.term || b.index >= base + entryCount) return null;
    }
    return { segmentBytes, entryCount, nextOffset, sparse, terms };
  } catch {
    return null;
  }
}

export interface Checkpoint {
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly nextOffset: number;
}

export function encodeCheckpoint(c: Checkpoint): Buffer {
  const buf = Buffer.alloc(CHECKPOINT_BYTES);
  buf.writeUInt32BE(CHECKPOINT_MAGIC, 0);
  buf.writeUInt16BE(VERSION, 4);
  writeInt64(buf, 6, c.prevIndex);
  writeInt64(buf, 14, c.prevTerm);
  writeInt64(buf, 22, c.nextOffset);
  buf.writeUInt32BE(crc32c(buf.subarray(0, 30)), 30);
  return buf;
}

export function decodeCheckpoint(buf: Buffer): Checkpoint | null {
  try {
    if (buf.length !== CHECKPOINT_BYTES) return null;
    if (buf.readUInt32BE(0) !== CHECKPOINT_MAGIC || buf.readUInt16BE(4) !== VERSION) return null;
    if (buf.readUInt32BE(30) !== crc32c(buf.subarray(0, 30))) return null;
    return { prevIndex: readInt64(buf, 6), prevTerm: readInt64(buf, 14), nextOffset: readInt64(buf, 22) };
  } catch {
    return null;
  }
}

/** fsync a directory, so that creations, renames and deletions in it are durable. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `dir/name` atomically: write a tmp file, fsync it (when `fsync`), rename, fsync the dir. */
export function replaceFileSync(dir: string, name: string, bytes: Uint8Array, fsync: boolean): void {
  const tmp = join(dir, name + TMP_SUFFIX);
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, bytes);
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  if (fsync) fsyncDirSync(dir);
}
