/**
 * SegmentLogStore: the Raft log of one group on disk, in Kafka's segment format.
 *
 * Format (see segment-files.ts for the small files):
 * - One directory per log. Segment files `<first Raft index, 20 digits>.log` hold record batches
 *   v2 back to back, exactly ONE batch per Raft entry; Raft indexes are consecutive within and
 *   across segments, so the index of a batch is the segment's base index plus its ordinal. The Raft
 *   term rides in `partitionLeaderEpoch`. How an entry becomes a batch ('opaque' for the Raft
 *   library, 'batch' for Flotilla partitions; control batches 0x7f01/0x7f02 for no-op/config):
 *   segment-codec.ts.
 * - Beside each sealed segment a sparse `.index` (one entry per `indexIntervalBytes`: Raft index ->
 *   file position + the batch's Kafka baseOffset, plus the segment's term runs), always rebuildable
 *   from the segment. `log-start.checkpoint` remembers the entry before the log (index, term, and
 *   the Kafka offset after it), written on compact and reset.
 *
 * In memory: per segment its entry count, sparse index and term runs (terms change rarely, so a
 * run list is compact); a bounded cache of the newest entries (`cacheBytesMax`); and the batches
 * appended but not yet written (`pendingBytesMax`). Older reads are positioned `readSync`s of the
 * segment file, in chunks of `readChunkBytes`; every batch read is CRC-checked before it is
 * served, and a bad one throws FlotillaError CORRUPT.
 *
 * Writes: `append` encodes the batches and queues them (visible to reads at once, from the cache);
 * `flush` writes each segment's queue with one positioned writev and then fdatasyncs every segment
 * touched (and the directory when files came or went) when `fsync` is on. Past `pendingBytesMax`,
 * `append` writes the queue at once (to the OS, no fsync): memory stays bounded and nothing fails.
 * Conflict truncation ftruncates the segment holding the first replaced entry and deletes later
 * segments (last first, so a crash leaves a prefix of the log). A new segment starts when the
 * active one would exceed `segmentBytesMax` or is older than `segmentAgeMsMax` (by the Clock);
 * `setPolicy` changes both (and the flush policy) at run time: a topic's segment.bytes/segment.ms.
 * `roll()` seals the active segment now (the cleaner rolls a segment it must rewrite).
 *
 * Flush policy with `fsync` off (Kafka's flush.messages / flush.ms): `flush` fsyncs only once
 * `flushMessages` records were appended since the last fsync, or the oldest unsynced append is
 * `flushIntervalMs` old; `syncIfDue()` applies the time rule between appends. With `fsync` on,
 * every flush fsyncs and the policy adds nothing.
 *
 * Rewrites (log compaction): `beginRewrite(base)` streams the batches of a sealed segment
 * (`readRewrite`), takes a replacement for each (`putRewrite`: same index, baseOffset,
 * lastOffset and term; only the records may differ) into `<segment>.log.clean.tmp`, and
 * `commitRewrite` fsyncs that file, deletes the index, renames it over the segment (atomic) and
 * fsyncs the directory: a crash leaves either the old or the new segment, never a mix, and the
 * tmp file is removed at open. A rewrite whose segment changed meanwhile (retention deleted it, a
 * snapshot reset the log) is abandoned.
 *
 * Recovery on open: leftover tmp files go; every sealed segment's index is loaded and checked
 * against the segment's size, else the segment is scanned; the last segment is always scanned.
 * A scan verifies each batch (length, magic, CRC, header, baseOffset in 'opaque', terms never
 * decreasing) and truncates a torn or corrupt tail to the last valid batch; a cut inside a sealed
 * segment also drops every later segment (the log must stay contiguous). Everything cut is
 * reported in `recovery` (and to `onRecovery`): file, position, bytes cut, reason.
 *
 * Errors: a failed write or fsync leaves the store failed (every later call throws that error):
 * after a failed fsync the page cache may have dropped the data, so only a restart and recovery
 * can say what is on disk. Programmer errors (append with a gap, read out of range) are assertions.
 */
import {
  closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, readdirSync,
  renameSync, rmSync, writeSync, writevSync,
} from 'node:fs';
import { join } from 'node:path';
import { assert } from '../base/assert.js';
import type { Clock } from '../base/clock.js';
import { FlotillaError, isFlotillaError } from '../base/errors.js';
import { type SettingsOf, validateSettings } from '../base/settings.js';
import {
  BATCH_HEADER_BYTES, BatchHeader, type BatchProblem, LOG_OVERHEAD_BYTES, MAX_TIMESTAMP_POS, assertValidBatch, batchSizeAt, checkBatch, isUnassigned, readInt64,
} from '../records/batch.js';
import { type Entry, EntryType, entryBytes } from '../raft/core/types.js';
import { type LogStore, checkAppend } from './log-store.js';
import { LogFormat, type OffsetLayout, assignOffsets, decodeEntry, encodeEntry } from './segment-codec.js';
import {
  CHECKPOINT_FILE, type Checkpoint, INDEX_SUFFIX, LAYOUT_FILE, SEGMENT_SUFFIX, type SparseEntry, TMP_SUFFIX, type TermRun,
  decodeCheckpoint, decodeIndex, encodeCheckpoint, encodeIndex, fsyncDirSync, parseSegmentName, replaceFileSync,
  segmentName,
} from './segment-files.js';

const MiB = 1024 * 1024;
/** The file a segment rewrite is written to, beside the segment (a tmp file: removed at open). */
const REWRITE_SUFFIX = '.clean' + TMP_SUFFIX;

export const segmentLogSettings = {
  format: { type: 'enum', default: 'opaque', values: ['opaque', 'batch'], doc: "'opaque': a Normal entry's data is wrapped as one record (the Raft library); 'batch': it is a record batch v2, stored verbatim (partitions)" },
  offsetLayout: { type: 'int', default: 1, min: 1, max: 2, doc: "'batch' format: 1 = Raft no-op and config entries take one Kafka offset each, 2 = none (segment-codec.ts); fixed per topic, checked against the log's offset-layout file" },
  fsync: { type: 'bool', default: true, doc: 'flush() fsyncs the segments (and the directory); off: flush() only writes to the OS' },
  segmentBytesMax: { type: 'int', default: 64 * MiB, min: 1024, max: 1024 * MiB, unit: 'bytes', doc: 'a new segment starts when the active one would grow past this' },
  segmentAgeMsMax: { type: 'int', default: 7 * 24 * 3600 * 1000, min: 1, max: 365 * 24 * 3600 * 1000, unit: 'ms', doc: 'a new segment starts when the active one is older than this' },
  indexIntervalBytes: { type: 'int', default: 4096, min: 1, max: 16 * MiB, unit: 'bytes', doc: 'bytes of segment between two sparse index entries' },
  cacheBytesMax: { type: 'int', default: 8 * MiB, min: 0, max: 2 ** 40, unit: 'bytes', doc: 'newest entries kept in memory for reads (beyond what waits to be written)' },
  pendingBytesMax: { type: 'int', default: 16 * MiB, min: 1024, max: 1024 * MiB, unit: 'bytes', doc: 'appended bytes queued before append writes them itself (without fsync)' },
  batchBytesMax: { type: 'int', default: 16 * MiB, min: 1024, max: 1024 * MiB, unit: 'bytes', doc: 'largest batch (one entry) accepted or read back; larger lengths on disk are corruption' },
  openSegmentsMax: { type: 'int', default: 16, min: 2, max: 65_536, unit: 'files', doc: 'segment files kept open for reads (least recently used closed first)' },
  readChunkBytes: { type: 'int', default: 64 * 1024, min: 4096, max: 64 * MiB, unit: 'bytes', doc: 'size of one positioned read from an older segment' },
  flushMessages: { type: 'int', default: Number.MAX_SAFE_INTEGER, min: 1, max: Number.MAX_SAFE_INTEGER, unit: 'records', doc: "with fsync off: fsync once this many records were appended since the last fsync (Kafka's flush.messages; a topic's value overrides it)" },
  flushIntervalMs: { type: 'int', default: Number.MAX_SAFE_INTEGER, min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'ms', doc: "with fsync off: fsync once the oldest unsynced append is this old (Kafka's flush.ms; a topic's value overrides it)" },
} as const;

/** What may change while the log is open (a topic's segment and flush configs). */
export interface LogPolicy {
  readonly segmentBytesMax: number;
  readonly segmentAgeMsMax: number;
  readonly flushMessages: number;
  readonly flushIntervalMs: number;
}

/** One segment as retention and the cleaner see it. */
export interface SegmentInfo {
  /** First and last Raft index (last = base - 1 when empty). */
  readonly base: number;
  readonly last: number;
  /** Kafka offset of its first batch, and after its last. */
  readonly baseOffset: number;
  readonly nextOffset: number;
  readonly bytes: number;
  /** Largest batch maxTimestamp in it (-1 when none). */
  readonly maxTimestamp: number;
  /** The segment appends go to. */
  readonly active: boolean;
}

/** A rewrite of one sealed segment under way (opaque to the caller). */
export interface SegmentRewrite {
  readonly base: number;
  readonly last: number;
}

/** One batch of a segment being rewritten, as read. */
export interface RewriteBatch {
  readonly index: number;
  readonly batch: Buffer;
}

export type SegmentLogSettings = SettingsOf<typeof segmentLogSettings>;

export function validateSegmentLogSettings(input?: Readonly<Record<string, unknown>>): SegmentLogSettings {
  return validateSettings(segmentLogSettings, input, 'log', (s, fail) => {
    // File positions are u32 in the index: segmentBytesMax + batchBytesMax < 2^32 by their ranges.
    if (s.indexIntervalBytes > s.segmentBytesMax) fail('indexIntervalBytes', `must be at most segmentBytesMax (${s.segmentBytesMax})`);
  });
}

/** Why recovery cut bytes: a batch problem, or the log's shape (gap between segments, stale files). */
export type RecoveryReason = BatchProblem | 'term' | 'gap' | 'stale';

export interface RecoveryCut {
  readonly file: string;
  /** Where the file was cut (0 with the whole file deleted). */
  readonly position: number;
  readonly bytesCut: number;
  readonly reason: RecoveryReason;
  readonly message: string;
}

export interface RecoveryReport {
  readonly segments: number;
  /** Segments scanned batch by batch (the last one, and any without a valid index). */
  readonly scanned: readonly string[];
  readonly cuts: readonly RecoveryCut[];
}

export interface SegmentLogOptions {
  readonly dir: string;
  /** For segment age; the store never reads the system clock itself. */
  readonly clock: Clock;
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly onRecovery?: (report: RecoveryReport) => void;
}

interface Segment {
  readonly base: number;
  count: number;
  /** Logical size: written + pending. */
  bytes: number;
  /** Bytes in the file. */
  written: number;
  pending: Buffer[];
  pendingBytes: number;
  sparse: SparseEntry[];
  terms: TermRun[];
  /** Kafka offset after the last batch (the previous segment's when empty). */
  nextOffset: number;
  fd: number | null;
  /** fdatasyncs in flight on `fd` (it may not be closed until they finish). */
  syncing: number;
  /** Written or truncated since the last fsync. */
  dirty: boolean;
  /** Its .index file is up to date (sealed segments). */
  indexSaved: boolean;
  retired: boolean;
  createdMs: number;
  /** Largest batch maxTimestamp (-1 when empty); null when unknown (found by scanning headers). */
  maxTimestamp: number | null;
}

interface RewriteState extends SegmentRewrite {
  readonly seg: Segment;
  /** The segment's size and entry count when the rewrite began (a change abandons it). */
  readonly sourceBytes: number;
  readonly tmpPath: string;
  tmpFd: number | null;
  readIndex: number;
  readPos: number;
  /** Index of the next replacement expected. */
  putIndex: number;
  writePos: number;
  pending: Buffer[];
  pendingBytes: number;
  sparse: SparseEntry[];
  /** Replacements of entries that may sit in the read cache. */
  cached: Map<number, Buffer>;
  done: boolean;
}

/** Reads a segment file in chunks: a window over the file, refilled on demand. */
class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  /** Bytes of `buf` read from the file (the rest is stale). */
  private valid = 0;

  private readonly fd: number;
  private readonly size: number;
  private readonly chunkBytes: number;

  constructor(fd: number, size: number, chunkBytes: number) {
    this.fd = fd;
    this.size = size;
    this.chunkBytes = chunkBytes;
  }

  /** `len` bytes at `pos` (fewer at the end of the file), valid until the next call. */
  at(pos: number, len: number): Buffer {
    if (pos < this.start || pos + len > this.start + this.valid) {
      const want = Math.min(Math.max(len, this.chunkBytes), this.size - pos);
      if (this.buf.length < want) this.buf = Buffer.allocUnsafe(Math.max(want, this.chunkBytes));
      let got = 0;
      while (got < want) {
        const n = readSync(this.fd, this.buf, got, want - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      this.start = pos;
      this.valid = got;
      return this.buf.subarray(0, Math.min(len, got));
    }
    return this.buf.subarray(pos - this.start, pos - this.start + len);
  }
}

export class SegmentLogStore implements LogStore {
  readonly settings: SegmentLogSettings;
  readonly dir: string;
  /** What recovery found and cut when the store opened. */
  recovery: RecoveryReport = { segments: 0, scanned: [], cuts: [] };
  private readonly clock: Clock;
  private readonly format: LogFormat;
  private readonly layout: OffsetLayout;
  private segments: Segment[] = [];
  private prev: Checkpoint = { prevIndex: 0, prevTerm: 0, nextOffset: 0 };
  /** Newest entries, contiguous, ending at lastIndex: cache[i] is entry cacheStart + i. */
  private cache: Entry[] = [];
  /** The stored batch of each cached entry (cacheRaw[i] belongs to cache[i]). */
  private cacheRaw: Buffer[] = [];
  private cacheStart = 1;
  private cacheBytes = 0;
  private pendingBytes = 0;
  private dirDirty = false;
  private syncChain: Promise<void> = Promise.resolve();
  /** Segments with an open fd, least recently used first. */
  private readonly open = new Set<Segment>();
  private closed = false;
  private failure: Error | null = null;
  private policy: LogPolicy;
  /** Records appended since the last fsync, and when the oldest of them was (fsync off). */
  private unsyncedRecords = 0;
  private unsyncedSinceMs: number | null = null;
  private readonly rewrites = new Set<RewriteState>();
  /** Counters for tests and metrics. */
  readonly stats = { syncs: 0, rolls: 0, rewrites: 0, rewritesAbandoned: 0 };

  private constructor(options: SegmentLogOptions) {
    this.settings = validateSegmentLogSettings(options.settings);
    this.dir = options.dir;
    this.clock = options.clock;
    this.format = this.settings.format;
    this.layout = this.settings.offsetLayout as OffsetLayout;
    this.policy = {
      segmentBytesMax: this.settings.segmentBytesMax,
      segmentAgeMsMax: this.settings.segmentAgeMsMax,
      flushMessages: this.settings.flushMessages,
      flushIntervalMs: this.settings.flushIntervalMs,
    };
  }

  /**
   * Changes the rolling and flush policy (a topic's segment.bytes, segment.ms, flush.messages,
   * flush.ms). Values are clamped to what the format allows: a segment never exceeds the u32
   * positions of its index, and holds at least one batch whatever its size limit.
   */
  setPolicy(policy: Partial<LogPolicy>): void {
    const clamp = (v: number | undefined, lo: number, hi: number, dflt: number): number => (v === undefined || !Number.isFinite(v) ? dflt : Math.min(Math.max(Math.floor(v), lo), hi));
    this.policy = {
      segmentBytesMax: clamp(policy.segmentBytesMax, 1, 2 ** 31 - 1, this.policy.segmentBytesMax),
      segmentAgeMsMax: clamp(policy.segmentAgeMsMax, 1, Number.MAX_SAFE_INTEGER, this.policy.segmentAgeMsMax),
      flushMessages: clamp(policy.flushMessages, 1, Number.MAX_SAFE_INTEGER, this.policy.flushMessages),
      flushIntervalMs: clamp(policy.flushIntervalMs, 0, Number.MAX_SAFE_INTEGER, this.policy.flushIntervalMs),
    };
  }

  get currentPolicy(): LogPolicy {
    return this.policy;
  }

  /** Opens (creating if needed) the log in `options.dir`, recovering it. */
  static open(options: SegmentLogOptions): Promise<SegmentLogStore> {
    const store = new SegmentLogStore(options);
    store.recover();
    options.onRecovery?.(store.recovery);
    return Promise.resolve(store);
  }

  // ---- LogReader ------------------------------------------------------------------------------

  firstIndex(): number {
    return this.prev.prevIndex + 1;
  }

  lastIndex(): number {
    const last = this.segments.at(-1);
    return last ? last.base + last.count - 1 : this.prev.prevIndex;
  }

  term(index: number): number {
    this.checkUsable();
    if (index === this.prev.prevIndex) return this.prev.prevTerm;
    assert(index > this.prev.prevIndex && index <= this.lastIndex(), () => `term(${index}) outside [${this.prev.prevIndex}, ${this.lastIndex()}]`);
    const seg = this.segmentOf(index);
    return (floorBy(seg.terms, index, (t) => t.index) as TermRun).term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    this.checkUsable();
    assert(lo >= this.firstIndex() && hi <= this.lastIndex() + 1 && lo <= hi, () => `entries(${lo}, ${hi}) outside [${this.firstIndex()}, ${this.lastIndex() + 1}]`);
    const out: Entry[] = [];
    const budget = { bytes: 0, max: maxBytes };
    let i = lo;
    while (i < hi && i < this.cacheStart) {
      const n = this.readFromDisk(i, Math.min(hi, this.cacheStart), out, budget);
      if (n === 0) return out;
      i += n;
    }
    for (; i < hi; i++) {
      const e = this.cache[i - this.cacheStart] as Entry;
      const size = entryBytes(e);
      if (out.length > 0 && budget.bytes + size > maxBytes) break;
      budget.bytes += size;
      out.push(e);
    }
    return out;
  }

  // ---- writes ---------------------------------------------------------------------------------

  append(entries: readonly Entry[]): void {
    this.checkUsable();
    const problem = checkAppend(this, entries);
    assert(problem === null, () => `SegmentLogStore.append: ${problem}`);
    const first = entries[0];
    if (first === undefined) return;
    // Encode (and validate) everything before changing anything.
    const truncating = first.index <= this.lastIndex();
    if (truncating) this.truncateFrom(first.index);
    let nextOffset = this.segments.at(-1)?.nextOffset ?? this.prev.nextOffset;
    const encoded = entries.map((e) => {
      const enc = encodeEntry(e, this.format, nextOffset, this.settings.batchBytesMax, this.layout);
      nextOffset = enc.nextOffset;
      return enc;
    });
    for (const enc of encoded) {
      const seg = this.activeFor(enc.entry.index, enc.batch.length);
      const position = seg.bytes;
      const lastSparse = seg.sparse.at(-1);
      if (!lastSparse || position - lastSparse.position >= this.settings.indexIntervalBytes) {
        seg.sparse.push({ index: enc.entry.index, position, baseOffset: new BatchHeader(enc.batch).baseOffset });
      }
      if (seg.terms.at(-1)?.term !== enc.entry.term) seg.terms.push({ index: enc.entry.index, term: enc.entry.term });
      seg.count++;
      seg.bytes += enc.batch.length;
      seg.pending.push(enc.batch);
      seg.pendingBytes += enc.batch.length;
      seg.nextOffset = enc.nextOffset;
      const header = new BatchHeader(enc.batch);
      if (seg.maxTimestamp !== null) seg.maxTimestamp = Math.max(seg.maxTimestamp, header.maxTimestamp);
      this.unsyncedRecords += header.recordCount;
      this.unsyncedSinceMs ??= this.clock.nowMs();
      this.pendingBytes += enc.batch.length;
      this.cache.push(enc.entry);
      this.cacheRaw.push(enc.batch);
      this.cacheBytes += entryBytes(enc.entry);
    }
    if (this.pendingBytes > this.settings.pendingBytesMax) this.writePending();
  }

  /**
   * 'batch' format: gives the unassigned entries of `entries` (about to be appended, after no
   * snapshot install) their offsets now, in place (segment-codec.ts assignOffsets). Entries that
   * do not continue this log are left to append.
   */
  assignOffsets(entries: readonly Entry[]): void {
    const first = entries[0];
    // Only layout 2 marks proposals; a follower's entries carry offsets already (nothing to read).
    if (this.format !== LogFormat.Batch || this.layout !== 2 || first === undefined) return;
    if (!entries.some((e) => e.type === EntryType.Normal && isUnassigned(e.data))) return;
    this.checkUsable();
    const prev = first.index - 1;
    if (prev < this.prev.prevIndex || prev > this.lastIndex()) return;
    // A leader appends at the end: the offset after it is known without reading a header.
    assignOffsets(entries, prev === this.lastIndex() ? this.nextOffset() : this.offsetAfter(prev), this.layout);
  }

  flush(): Promise<void> {
    this.checkUsable();
    this.writePending();
    if (!this.settings.fsync && !this.syncDue()) return this.syncChain;
    this.unsyncedRecords = 0;
    this.unsyncedSinceMs = null;
    this.stats.syncs++;
    const syncs: Promise<void>[] = [this.syncChain];
    for (const seg of this.segments) {
      if (!seg.dirty) continue;
      seg.dirty = false;
      syncs.push(this.syncSegment(seg));
    }
    if (this.dirDirty) {
      this.dirDirty = false;
      syncs.push(new Promise<void>((resolve, reject) => {
        try {
          fsyncDirSync(this.dir);
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      }));
    }
    const done = Promise.all(syncs).then(() => undefined, (err: unknown) => {
      this.fail(err);
      throw err;
    });
    this.syncChain = done.catch(() => undefined);
    return done;
  }

  /** Whether `syncIfDue()` would flush now (fsync off and the flush policy asks for it). */
  flushDue(): boolean {
    return !this.settings.fsync && !this.closed && this.failure === null && this.syncDue();
  }

  /** With fsync off: whether the flush policy asks for an fsync now. */
  private syncDue(): boolean {
    if (this.unsyncedRecords >= this.policy.flushMessages) return true;
    return this.unsyncedSinceMs !== null && this.clock.nowMs() - this.unsyncedSinceMs >= this.policy.flushIntervalMs;
  }

  /**
   * The time half of the flush policy between appends (fsync off; flush.ms): flushes and fsyncs
   * when the oldest unsynced append is `flushIntervalMs` old. A no-op with fsync on (every flush
   * already synced).
   */
  syncIfDue(): Promise<void> {
    this.checkUsable();
    if (this.settings.fsync || !this.syncDue()) return this.syncChain;
    return this.flush();
  }

  /** Seals the active segment now (when it holds entries): the next append starts a new one. */
  roll(): void {
    this.checkUsable();
    const active = this.segments.at(-1);
    if (!active || active.count === 0) return;
    const seg = this.newSegment(this.lastIndex() + 1, active.nextOffset);
    seg.maxTimestamp = -1;
    this.fdOf(seg, 'w+');
    this.segments.push(seg);
    this.dirDirty = true;
    this.stats.rolls++;
    this.writePending();
  }

  compact(upToIndex: number): void {
    this.checkUsable();
    // Whole sealed segments only: never the active (last) one.
    let n = 0;
    while (n < this.segments.length - 1) {
      const seg = this.segments[n] as Segment;
      if (seg.base + seg.count - 1 > upToIndex) break;
      n++;
    }
    if (n === 0) return;
    const keep = this.segments[n] as Segment;
    const last = this.segments[n - 1] as Segment;
    const cp: Checkpoint = { prevIndex: keep.base - 1, prevTerm: this.term(keep.base - 1), nextOffset: last.nextOffset };
    // Checkpoint first: a crash before the deletions leaves files below it, which open deletes.
    replaceFileSync(this.dir, CHECKPOINT_FILE, encodeCheckpoint(cp), this.settings.fsync);
    const gone = this.segments.splice(0, n);
    for (const seg of gone) this.retire(seg);
    this.prev = cp;
    if (this.cacheStart <= cp.prevIndex) {
      const drop = Math.min(cp.prevIndex + 1 - this.cacheStart, this.cache.length);
      for (const e of this.cache.splice(0, drop)) this.cacheBytes -= entryBytes(e);
      this.cacheRaw.splice(0, drop);
      this.cacheStart += drop;
    }
  }

  reset(index: number, term: number, nextOffset: number = index + 1): void {
    this.checkUsable();
    assert(Number.isSafeInteger(index) && index >= 0 && Number.isSafeInteger(term) && term >= 0, () => `reset(${index}, ${term})`);
    assert(Number.isSafeInteger(nextOffset) && nextOffset >= 0, () => `reset nextOffset ${nextOffset}`);
    for (const r of [...this.rewrites]) this.abortRewrite(r);
    // Delete last to first (a crash leaves a prefix of the old log under the old checkpoint), make
    // the deletions durable, and only then move the checkpoint: never stale entries after it.
    try {
      for (const seg of this.segments.reverse()) this.retire(seg);
      this.segments = [];
      if (this.settings.fsync) fsyncDirSync(this.dir);
      this.prev = { prevIndex: index, prevTerm: term, nextOffset };
      replaceFileSync(this.dir, CHECKPOINT_FILE, encodeCheckpoint(this.prev), this.settings.fsync);
    } catch (err) {
      this.fail(err);
      throw err;
    }
    this.dirDirty = false;
    this.cache = [];
    this.cacheRaw = [];
    this.cacheBytes = 0;
    this.cacheStart = index + 1;
    this.pendingBytes = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.failure === null) await this.flush();
    await this.syncChain;
    this.closed = true;
    for (const r of [...this.rewrites]) this.abortRewrite(r);
    for (const seg of this.segments) this.closeFd(seg);
    this.cache = [];
    this.cacheRaw = [];
  }

  // ---- introspection (tests, metrics) ---------------------------------------------------------

  /** Base indexes of the segments, oldest first. */
  segmentBases(): number[] {
    return this.segments.map((s) => s.base);
  }

  /** Bytes of entries held (segments, written or queued). */
  logBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.bytes, 0);
  }

  /** Bytes held by the read cache and by the write queue. */
  memoryBytes(): { cache: number; pending: number } {
    return { cache: this.cacheBytes, pending: this.pendingBytes };
  }

  /** The Kafka offset the next control batch would take ('batch' format). */
  nextOffset(): number {
    return this.segments.at(-1)?.nextOffset ?? this.prev.nextOffset;
  }

  /** Every segment, oldest first, as retention and the cleaner see it. */
  segmentInfos(): SegmentInfo[] {
    this.checkUsable();
    return this.segments.map((seg, i) => ({
      base: seg.base,
      last: seg.base + seg.count - 1,
      baseOffset: i === 0 ? this.prev.nextOffset : (this.segments[i - 1] as Segment).nextOffset,
      nextOffset: seg.nextOffset,
      bytes: seg.bytes,
      maxTimestamp: this.maxTimestampOf(seg),
      active: i === this.segments.length - 1,
    }));
  }

  /** A segment's largest timestamp, scanning its batch headers once when unknown. */
  private maxTimestampOf(seg: Segment): number {
    if (seg.maxTimestamp !== null) return seg.maxTimestamp;
    if (seg.pendingBytes > 0) this.writePending();
    const reader = new ChunkReader(this.fdOf(seg), seg.written, this.settings.readChunkBytes);
    let max = -1;
    let pos = 0;
    for (let i = 0; i < seg.count; i++) {
      const head = reader.at(pos, BATCH_HEADER_BYTES);
      if (head.length < BATCH_HEADER_BYTES) this.corrupt(seg, pos, 'short', 'segment ends inside a batch header');
      max = Math.max(max, readInt64(head, MAX_TIMESTAMP_POS));
      pos += batchSizeAt(head);
    }
    seg.maxTimestamp = max;
    return max;
  }

  // ---- rewrites (log compaction) --------------------------------------------------------------

  /**
   * Starts rewriting the sealed segment whose base index is `base`; null when there is no such
   * sealed segment (it is the active one: roll it first). Nothing changes until `commitRewrite`.
   */
  beginRewrite(base: number): SegmentRewrite | null {
    this.checkUsable();
    const i = this.segments.findIndex((s) => s.base === base);
    const seg = this.segments[i];
    if (seg === undefined || i === this.segments.length - 1 || seg.count === 0) return null;
    if (seg.pendingBytes > 0) this.writePending();
    const tmpPath = this.path(seg, SEGMENT_SUFFIX + REWRITE_SUFFIX);
    const state: RewriteState = {
      base, last: seg.base + seg.count - 1, seg, sourceBytes: seg.written, tmpPath, tmpFd: openSync(tmpPath, 'w'),
      readIndex: seg.base, readPos: 0, putIndex: seg.base, writePos: 0, pending: [], pendingBytes: 0, sparse: [], cached: new Map(), done: false,
    };
    this.rewrites.add(state);
    return state;
  }

  /** The next batches of the segment being rewritten (about `maxBytes`, at least one); [] at the end. */
  readRewrite(handle: SegmentRewrite, maxBytes: number): RewriteBatch[] {
    const h = this.liveRewrite(handle);
    const seg = h.seg;
    const out: RewriteBatch[] = [];
    if (h.readIndex > h.last) return out;
    const reader = new ChunkReader(this.fdOf(seg), seg.written, Math.max(this.settings.readChunkBytes, Math.min(maxBytes, 64 * MiB)));
    let bytes = 0;
    while (h.readIndex <= h.last) {
      const head = reader.at(h.readPos, LOG_OVERHEAD_BYTES);
      if (head.length < LOG_OVERHEAD_BYTES) this.corrupt(seg, h.readPos, 'short', 'segment ends inside a batch header');
      const size = batchSizeAt(head);
      if (size < BATCH_HEADER_BYTES || size > this.settings.batchBytesMax) this.corrupt(seg, h.readPos, 'length', `batch length ${size}`);
      if (out.length > 0 && bytes + size > maxBytes) break;
      const view = reader.at(h.readPos, size);
      const problem = checkBatch(view, 0, this.settings.batchBytesMax);
      if (problem) this.corrupt(seg, h.readPos, problem.problem, problem.message);
      out.push({ index: h.readIndex, batch: Buffer.from(view) });
      bytes += size;
      h.readPos += size;
      h.readIndex++;
    }
    return out;
  }

  /**
   * The replacement of entry `index` (in order, every entry once): a valid batch with the same
   * baseOffset, lastOffset and term as the original — the Raft entry and the Kafka offsets stay.
   */
  putRewrite(handle: SegmentRewrite, index: number, original: Buffer, replacement: Buffer): void {
    const h = this.liveRewrite(handle);
    assert(index === h.putIndex && index < h.readIndex, () => `putRewrite of ${index}, expected ${h.putIndex}`);
    assertValidBatch(replacement, 0, this.settings.batchBytesMax, `rewrite of entry ${index}`);
    const a = new BatchHeader(original);
    const b = new BatchHeader(replacement);
    assert(b.sizeBytes === replacement.length, () => `rewrite of entry ${index}: more than one batch`);
    assert(a.baseOffset === b.baseOffset && a.lastOffset === b.lastOffset && a.partitionLeaderEpoch === b.partitionLeaderEpoch,
      () => `rewrite of entry ${index} changes its offsets or term`);
    const lastSparse = h.sparse.at(-1);
    if (!lastSparse || h.writePos - lastSparse.position >= this.settings.indexIntervalBytes) h.sparse.push({ index, position: h.writePos, baseOffset: b.baseOffset });
    h.pending.push(replacement);
    h.pendingBytes += replacement.length;
    h.writePos += replacement.length;
    if (index >= this.cacheStart) h.cached.set(index, replacement);
    h.putIndex++;
    if (h.pendingBytes >= this.settings.readChunkBytes) this.writeRewritePending(h);
  }

  /**
   * Makes the rewrite durable and swaps it in atomically; false (and nothing changed) when the
   * segment changed or went away meanwhile. Reads see the new bytes at once.
   */
  async commitRewrite(handle: SegmentRewrite): Promise<boolean> {
    const h = this.liveRewrite(handle);
    assert(h.putIndex === h.last + 1, () => `commitRewrite before every entry was replaced (${h.putIndex} of ${h.last})`);
    this.writeRewritePending(h);
    const fd = h.tmpFd as number;
    await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    const seg = h.seg;
    const unchanged = !seg.retired && !this.closed && this.failure === null && this.segments.includes(seg) && seg !== this.segments.at(-1)
      && seg.count === h.last - h.base + 1 && seg.written === h.sourceBytes && seg.pendingBytes === 0 && seg.syncing === 0;
    if (!unchanged || h.done) {
      this.abortRewrite(h);
      this.stats.rewritesAbandoned++;
      return false;
    }
    h.done = true;
    this.rewrites.delete(h);
    closeSync(fd);
    h.tmpFd = null;
    try {
      // The index first (a stale one must not describe the new file), then the atomic rename.
      rmSync(this.path(seg, INDEX_SUFFIX), { force: true });
      renameSync(h.tmpPath, this.path(seg, SEGMENT_SUFFIX));
      if (this.settings.fsync) fsyncDirSync(this.dir);
    } catch (err) {
      this.fail(err);
      throw err;
    }
    this.closeFd(seg);
    // The new file was fdatasynced before the rename (even with fsync off: a rewrite must never
    // put committed records at risk that were safe before it).
    seg.dirty = false;
    seg.bytes = seg.written = h.writePos;
    seg.sparse = h.sparse;
    seg.indexSaved = false;
    this.saveIndex(seg);
    for (const [index, batch] of h.cached) {
      if (index < this.cacheStart || index > this.lastIndex()) continue;
      const k = index - this.cacheStart;
      const old = this.cache[k] as Entry;
      const entry = decodeEntry(batch, index, this.format);
      this.cacheBytes += entryBytes(entry) - entryBytes(old);
      this.cache[k] = entry;
      this.cacheRaw[k] = batch;
    }
    this.stats.rewrites++;
    return true;
  }

  /** Abandons a rewrite: its tmp file goes, the segment stays as it was. */
  abortRewrite(handle: SegmentRewrite): void {
    const h = handle as RewriteState;
    if (!this.rewrites.has(h)) return;
    this.rewrites.delete(h);
    h.done = true;
    if (h.tmpFd !== null) closeSync(h.tmpFd);
    h.tmpFd = null;
    rmSync(h.tmpPath, { force: true });
  }

  private liveRewrite(handle: SegmentRewrite): RewriteState {
    const h = handle as RewriteState;
    assert(this.rewrites.has(h) && !h.done, 'segment rewrite already finished');
    this.checkUsable();
    return h;
  }

  private writeRewritePending(h: RewriteState): void {
    if (h.pendingBytes === 0) return;
    const buf = Buffer.concat(h.pending, h.pendingBytes);
    let done = 0;
    const start = h.writePos - h.pendingBytes;
    while (done < buf.length) done += writeSync(h.tmpFd as number, buf, done, buf.length - done, start + done);
    h.pending = [];
    h.pendingBytes = 0;
  }

  // ---- internals: segments --------------------------------------------------------------------

  // ---- Kafka offsets ('batch' format: partitions) ----------------------------------------------

  /** The Kafka offset after entry `index` (its batch's lastOffset + 1); `firstIndex() - 1` allowed. */
  offsetAfter(index: number): number {
    this.checkUsable();
    if (index === this.prev.prevIndex) return this.prev.nextOffset;
    assert(index > this.prev.prevIndex && index <= this.lastIndex(), () => `offsetAfter(${index}) outside [${this.prev.prevIndex}, ${this.lastIndex()}]`);
    return this.headerOf(index).lastOffset + 1;
  }

  /**
   * The first entry whose batch holds `offset` or starts after it (offsets have gaps after
   * compaction); lastIndex() + 1 when `offset` is at or past the end of the log.
   */
  indexOfOffset(offset: number): number {
    this.checkUsable();
    if (offset < this.prev.nextOffset) return this.firstIndex();
    const segIdx = firstBy(this.segments, (s) => s.nextOffset > offset);
    const seg = this.segments[segIdx];
    if (seg === undefined) return this.lastIndex() + 1;
    // Binary search over the entries of the segment (headers from the cache or the file).
    let lo = Math.max(seg.base, this.firstIndex());
    let hi = seg.base + seg.count - 1;
    const start = floorBy(seg.sparse, offset, (s) => s.baseOffset);
    if (start && start.index > lo && lo < this.cacheStart) lo = start.index;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.headerOf(mid).lastOffset >= offset) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * The stored batches of entries [lo, hi], control batches included, back to back: at most
   * `maxBytes` but always at least the first (so a large batch still makes progress, as Kafka does).
   */
  readBatches(lo: number, hi: number, maxBytes: number): Buffer[] {
    this.checkUsable();
    assert(lo >= this.firstIndex() && hi <= this.lastIndex(), () => `readBatches(${lo}, ${hi}) outside [${this.firstIndex()}, ${this.lastIndex()}]`);
    const out: Buffer[] = [];
    let bytes = 0;
    let i = lo;
    while (i <= hi && i < this.cacheStart) {
      const seg = this.segmentOf(i);
      const end = Math.min(hi, seg.base + seg.count - 1, this.cacheStart - 1);
      let pos = this.positionOf(seg, i);
      const reader = new ChunkReader(this.fdOf(seg), seg.written, this.settings.readChunkBytes);
      for (; i <= end; i++) {
        const head = reader.at(pos, LOG_OVERHEAD_BYTES);
        if (head.length < LOG_OVERHEAD_BYTES) this.corrupt(seg, pos, 'short', 'segment ends inside a batch header');
        const size = batchSizeAt(head);
        if (size < 61 || size > this.settings.batchBytesMax) this.corrupt(seg, pos, 'length', `batch length ${size}`);
        if (out.length > 0 && bytes + size > maxBytes) return out;
        const view = reader.at(pos, size);
        const problem = checkBatch(view, 0, this.settings.batchBytesMax);
        if (problem) this.corrupt(seg, pos, problem.problem, problem.message);
        out.push(Buffer.from(view));
        bytes += size;
        pos += size;
      }
    }
    for (; i <= hi; i++) {
      const batch = this.cacheRaw[i - this.cacheStart] as Buffer;
      if (out.length > 0 && bytes + batch.length > maxBytes) return out;
      out.push(batch);
      bytes += batch.length;
    }
    return out;
  }

  /** The header of entry `index`'s stored batch. */
  private headerOf(index: number): BatchHeader {
    if (index >= this.cacheStart) return new BatchHeader(this.cacheRaw[index - this.cacheStart] as Buffer);
    const seg = this.segmentOf(index);
    const pos = this.positionOf(seg, index);
    const head = new ChunkReader(this.fdOf(seg), seg.written, 64).at(pos, 61);
    if (head.length < 61) this.corrupt(seg, pos, 'short', 'segment ends inside a batch header');
    return new BatchHeader(Buffer.from(head));
  }

  private path(seg: { base: number }, suffix: string): string {
    return join(this.dir, segmentName(seg.base) + suffix);
  }

  private segmentOf(index: number): Segment {
    const seg = floorBy(this.segments, index, (s) => s.base);
    assert(seg !== undefined && index < seg.base + seg.count, () => `no segment holds index ${index}`);
    return seg;
  }

  /** The segment the entry at `index` goes to, rolling when the active one is full or old. */
  private activeFor(index: number, size: number): Segment {
    const active = this.segments.at(-1);
    if (active) {
      assert(active.base + active.count === index, () => `append of ${index} after ${active.base + active.count - 1}`);
      const full = active.bytes + size > this.policy.segmentBytesMax;
      const old = this.clock.nowMs() - active.createdMs >= this.policy.segmentAgeMsMax;
      if (active.count === 0 || (!full && !old)) return active;
    } else {
      assert(index === this.firstIndex(), () => `first append at ${index}, log starts at ${this.firstIndex()}`);
    }
    const seg = this.newSegment(index, active?.nextOffset ?? this.prev.nextOffset);
    seg.maxTimestamp = -1;
    this.fdOf(seg, 'w+');
    this.segments.push(seg);
    this.dirDirty = true;
    return seg;
  }

  private newSegment(base: number, nextOffset: number): Segment {
    return {
      base, count: 0, bytes: 0, written: 0, pending: [], pendingBytes: 0, sparse: [], terms: [], nextOffset,
      fd: null, syncing: 0, dirty: false, indexSaved: false, retired: false, createdMs: this.clock.nowMs(), maxTimestamp: null,
    };
  }

  /** The segment's fd, opened on demand ('w+' creates the file). */
  private fdOf(seg: Segment, flags: 'r+' | 'w+' = 'r+'): number {
    assert(!seg.retired, () => `segment ${seg.base} was deleted`);
    if (seg.fd === null) {
      seg.fd = openSync(this.path(seg, SEGMENT_SUFFIX), flags);
      // Bound open files: close the least recently used that nothing is using.
      if (this.open.size >= this.settings.openSegmentsMax) {
        for (const other of this.open) {
          if (other.syncing === 0 && !other.dirty && other !== this.segments.at(-1)) {
            this.closeFd(other);
            break;
          }
        }
      }
    } else {
      this.open.delete(seg);
    }
    this.open.add(seg);
    return seg.fd;
  }

  private closeFd(seg: Segment): void {
    if (seg.fd === null) return;
    if (seg.syncing > 0) return; // closed by syncSegment once the fdatasync is done
    closeSync(seg.fd);
    seg.fd = null;
    this.open.delete(seg);
  }

  /** Deletes a segment's files; its fd closes once no fdatasync uses it. */
  private retire(seg: Segment): void {
    seg.retired = true;
    this.pendingBytes -= seg.pendingBytes;
    seg.pending = [];
    seg.pendingBytes = 0;
    seg.dirty = false;
    rmSync(this.path(seg, SEGMENT_SUFFIX), { force: true });
    rmSync(this.path(seg, INDEX_SUFFIX), { force: true });
    this.dirDirty = true;
    this.closeFd(seg);
  }

  private syncSegment(seg: Segment): Promise<void> {
    const fd = this.fdOf(seg);
    seg.syncing++;
    return new Promise<void>((resolve, reject) => {
      fdatasync(fd, (err) => {
        seg.syncing--;
        if (seg.retired || this.closed) this.closeFd(seg);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /** Writes every queued batch: one positioned writev per segment (the batches are not copied). */
  private writePending(): void {
    if (this.pendingBytes > 0) {
      try {
        for (const seg of this.segments) {
          if (seg.pendingBytes === 0) continue;
          writeAllAt(this.fdOf(seg), seg.pending, seg.pendingBytes, seg.written);
          seg.written += seg.pendingBytes;
          seg.pending = [];
          seg.pendingBytes = 0;
          seg.dirty = true;
        }
      } catch (err) {
        this.fail(err);
        throw err;
      }
      this.pendingBytes = 0;
    }
    // Sealed segments get their index once their bytes are written (it is checked against the size).
    for (let i = 0; i < this.segments.length - 1; i++) {
      const seg = this.segments[i] as Segment;
      if (!seg.indexSaved) this.saveIndex(seg);
    }
    this.evictCache();
  }

  private saveIndex(seg: Segment): void {
    const bytes = encodeIndex(seg.base, { segmentBytes: seg.written, entryCount: seg.count, nextOffset: seg.nextOffset, sparse: seg.sparse, terms: seg.terms });
    // No fsync: a stale or missing index is detected (size check, CRC) and rebuilt on open.
    replaceFileSync(this.dir, segmentName(seg.base) + INDEX_SUFFIX, bytes, false);
    seg.indexSaved = true;
  }

  /** Drops the oldest cached entries past cacheBytesMax (only written ones: queued ones stay readable). */
  private evictCache(): void {
    if (this.pendingBytes > 0 || this.cacheBytes <= this.settings.cacheBytesMax) return;
    let drop = 0;
    while (drop < this.cache.length && this.cacheBytes > this.settings.cacheBytesMax) {
      this.cacheBytes -= entryBytes(this.cache[drop] as Entry);
      drop++;
    }
    this.cache.splice(0, drop);
    this.cacheRaw.splice(0, drop);
    this.cacheStart += drop;
  }

  /** Drops every entry >= index (Raft conflict truncation). */
  private truncateFrom(index: number): void {
    assert(index >= this.firstIndex() && index <= this.lastIndex(), () => `truncate at ${index}`);
    this.writePending(); // everything on file: truncation is then only ftruncate and unlink
    const seg = this.segmentOf(index);
    while (this.segments.at(-1) !== seg) this.retire(this.segments.pop() as Segment);
    const position = this.positionOf(seg, index);
    try {
      ftruncateSync(this.fdOf(seg), position);
    } catch (err) {
      this.fail(err);
      throw err;
    }
    seg.written = position;
    seg.bytes = position;
    seg.count = index - seg.base;
    seg.dirty = true;
    seg.sparse = seg.sparse.filter((s) => s.index < index);
    seg.terms = seg.terms.filter((t) => t.index < index);
    seg.maxTimestamp = seg.count === 0 ? -1 : null;
    if (seg.count === 0) {
      seg.nextOffset = this.segments.at(-2)?.nextOffset ?? this.prev.nextOffset;
    } else {
      const lastPos = this.positionOf(seg, index - 1);
      const reader = new ChunkReader(this.fdOf(seg), seg.written, 64);
      seg.nextOffset = new BatchHeader(reader.at(lastPos, 61)).lastOffset + 1;
    }
    if (seg.indexSaved) {
      rmSync(this.path(seg, INDEX_SUFFIX), { force: true });
      seg.indexSaved = false;
    }
    if (index < this.cacheStart) {
      this.cache = [];
      this.cacheRaw = [];
      this.cacheBytes = 0;
      this.cacheStart = index;
    } else {
      for (const e of this.cache.splice(index - this.cacheStart)) this.cacheBytes -= entryBytes(e);
      this.cacheRaw.splice(index - this.cacheStart);
    }
  }

  /** File position of the batch of `index` in `seg` (which is written up to it). */
  private positionOf(seg: Segment, index: number): number {
    const start = floorBy(seg.sparse, index, (s) => s.index) as SparseEntry;
    let pos = start.position;
    const reader = new ChunkReader(this.fdOf(seg), seg.written, this.settings.readChunkBytes);
    for (let i = start.index; i < index; i++) {
      const head = reader.at(pos, LOG_OVERHEAD_BYTES);
      if (head.length < LOG_OVERHEAD_BYTES) this.corrupt(seg, pos, 'short', 'segment ends inside a batch header');
      const size = batchSizeAt(head);
      if (size < 61 || size > this.settings.batchBytesMax) this.corrupt(seg, pos, 'length', `batch length ${size}`);
      pos += size;
    }
    return pos;
  }

  /**
   * Reads entries [lo, hi) of one segment from its file (lo's segment), CRC-checking each batch,
   * within the byte budget. Returns how many it added.
   */
  private readFromDisk(lo: number, hi: number, out: Entry[], budget: { bytes: number; max: number }): number {
    const seg = this.segmentOf(lo);
    const end = Math.min(hi, seg.base + seg.count);
    let pos = this.positionOf(seg, lo);
    const reader = new ChunkReader(this.fdOf(seg), seg.written, this.settings.readChunkBytes);
    let n = 0;
    for (let i = lo; i < end; i++) {
      const head = reader.at(pos, LOG_OVERHEAD_BYTES);
      if (head.length < LOG_OVERHEAD_BYTES) this.corrupt(seg, pos, 'short', 'segment ends inside a batch header');
      const size = batchSizeAt(head);
      if (size < 61 || size > this.settings.batchBytesMax) this.corrupt(seg, pos, 'length', `batch length ${size}`);
      const view = reader.at(pos, size);
      const problem = checkBatch(view, 0, this.settings.batchBytesMax);
      if (problem) this.corrupt(seg, pos, problem.problem, problem.message);
      // A copy: the reader's window is reused, the entry's data must not be.
      let entry: Entry;
      try {
        entry = decodeEntry(Buffer.from(view), i, this.format);
      } catch (err) {
        if (isFlotillaError(err, 'CORRUPT')) this.corrupt(seg, pos, 'header', err.message);
        throw err;
      }
      if (entry.term !== this.term(i)) this.corrupt(seg, pos, 'term', `batch of index ${i} has term ${entry.term}, the log says ${this.term(i)}`);
      const bytes = entryBytes(entry);
      if (out.length > 0 && budget.bytes + bytes > budget.max) return n;
      budget.bytes += bytes;
      out.push(entry);
      n++;
      pos += size;
    }
    return n;
  }

  private corrupt(seg: Segment, position: number, problem: RecoveryReason, message: string): never {
    const file = this.path(seg, SEGMENT_SUFFIX);
    throw new FlotillaError('CORRUPT', `${file} at ${position}: ${message}`, { file, position, problem });
  }

  private fail(err: unknown): void {
    if (this.failure === null) this.failure = err instanceof Error ? err : new Error(String(err));
  }

  private checkUsable(): void {
    if (this.closed) throw new FlotillaError('CLOSED', 'the log store is closed');
    if (this.failure !== null) throw this.failure;
  }

  // ---- recovery -------------------------------------------------------------------------------

  private recover(): void {
    mkdirSync(this.dir, { recursive: true });
    const cuts: RecoveryCut[] = [];
    const scanned: string[] = [];
    const files = readdirSync(this.dir);
    for (const f of files) if (f.endsWith(TMP_SUFFIX)) rmSync(join(this.dir, f), { force: true });
    const bases = files.map((f) => parseSegmentName(f, SEGMENT_SUFFIX)).filter((b): b is number => b !== null).sort((a, b) => a - b);
    const baseSet = new Set(bases);
    for (const f of files) {
      const b = parseSegmentName(f, INDEX_SUFFIX);
      if (b !== null && !baseSet.has(b)) rmSync(join(this.dir, f), { force: true });
    }

    let checkpoint: Checkpoint | null = null;
    if (files.includes(CHECKPOINT_FILE)) {
      checkpoint = decodeCheckpoint(readFileSync(join(this.dir, CHECKPOINT_FILE)));
      if (checkpoint === null) throw new FlotillaError('CORRUPT', `${join(this.dir, CHECKPOINT_FILE)} is not a valid checkpoint`);
    } else if (bases.length > 0 && bases[0] !== 1) {
      throw new FlotillaError('CORRUPT', `${this.dir}: no ${CHECKPOINT_FILE}, and the log does not start at index 1`);
    }
    this.checkLayout(checkpoint === null && bases.length === 0);
    if (checkpoint === null) {
      checkpoint = { prevIndex: 0, prevTerm: 0, nextOffset: 0 };
      replaceFileSync(this.dir, CHECKPOINT_FILE, encodeCheckpoint(checkpoint), this.settings.fsync);
    }
    this.prev = checkpoint;

    const dropFile = (base: number, reason: RecoveryReason, message: string): void => {
      const file = join(this.dir, segmentName(base) + SEGMENT_SUFFIX);
      let size = 0;
      try {
        const fd = openSync(file, 'r');
        size = fstatSync(fd).size;
        closeSync(fd);
      } catch { /* already gone */ }
      rmSync(file, { force: true });
      rmSync(join(this.dir, segmentName(base) + INDEX_SUFFIX), { force: true });
      cuts.push({ file, position: 0, bytesCut: size, reason, message });
    };

    for (let k = 0; k < bases.length; k++) {
      const base = bases[k] as number;
      const next = bases[k + 1];
      // Leftovers of an interrupted compaction: wholly below the checkpoint.
      if (next !== undefined && next <= checkpoint.prevIndex + 1) {
        rmSync(join(this.dir, segmentName(base) + SEGMENT_SUFFIX), { force: true });
        rmSync(join(this.dir, segmentName(base) + INDEX_SUFFIX), { force: true });
        continue;
      }
      const prevSeg = this.segments.at(-1);
      const expected = prevSeg ? prevSeg.base + prevSeg.count : checkpoint.prevIndex + 1;
      if (base !== expected) {
        // A gap (lost or cut segment before it) or stale files from before a reset: the log ends here.
        for (const b of bases.slice(k)) dropFile(b, prevSeg ? 'gap' : 'stale', `segment ${b} does not start at index ${expected}`);
        break;
      }
      const seg = this.newSegment(base, prevSeg?.nextOffset ?? checkpoint.nextOffset);
      const fd = this.fdOf(seg);
      const size = fstatSync(fd).size;
      const isLast = k === bases.length - 1;
      let loaded = false;
      if (!isLast) {
        let indexBytes: Buffer | null = null;
        try {
          indexBytes = readFileSync(this.path(seg, INDEX_SUFFIX));
        } catch { /* missing: scan */ }
        const index = indexBytes && decodeIndex(base, indexBytes);
        if (index && index.segmentBytes === size && index.entryCount > 0 && (index.terms[0]?.term ?? 0) >= this.lastTermOr(checkpoint.prevTerm)) {
          seg.count = index.entryCount;
          seg.bytes = seg.written = size;
          seg.sparse = [...index.sparse];
          seg.terms = [...index.terms];
          seg.nextOffset = index.nextOffset;
          seg.indexSaved = true;
          loaded = true;
        }
      }
      if (!loaded) {
        scanned.push(this.path(seg, SEGMENT_SUFFIX));
        const cut = this.scan(seg, fd, size, this.lastTermOr(checkpoint.prevTerm));
        if (cut) {
          cuts.push(cut);
          this.segments.push(seg);
          for (const b of bases.slice(k + 1)) dropFile(b, 'gap', `segment ${b} follows a cut in segment ${base}`);
          break;
        }
        if (!isLast) this.saveIndex(seg);
      }
      this.segments.push(seg);
    }
    // A segment emptied by a cut, or created just before a crash, is dropped unless it is the only
    // place the log continues (then it is harmless: the active segment, empty).
    const last = this.segments.at(-1);
    if (last && last.count === 0) {
      this.closeFd(last);
      rmSync(this.path(last, SEGMENT_SUFFIX), { force: true });
      rmSync(this.path(last, INDEX_SUFFIX), { force: true });
      this.segments.pop();
    }
    const active = this.segments.at(-1);
    if (active) {
      active.createdMs = this.clock.nowMs();
      // The active segment grows: its index is written when it is sealed, never before.
      if (active.indexSaved) {
        rmSync(this.path(active, INDEX_SUFFIX), { force: true });
        active.indexSaved = false;
      }
    }
    this.cacheStart = this.lastIndex() + 1;
    if (cuts.length > 0 && this.settings.fsync) {
      // Recovery runs once, before any use: make the cuts durable synchronously.
      for (const seg of this.segments) if (seg.fd !== null) fdatasyncSync(seg.fd);
      fsyncDirSync(this.dir);
    }
    this.recovery = { segments: this.segments.length, scanned, cuts };
  }

  /**
   * 'batch' format: a new log records its offset layout (before its checkpoint, so a log with a
   * checkpoint and no layout file was made before layouts existed: layout 1); an existing log must
   * have the layout it is opened with, else its offsets would be extended by another rule.
   */
  private checkLayout(fresh: boolean): void {
    if (this.format !== LogFormat.Batch) return;
    const file = join(this.dir, LAYOUT_FILE);
    if (fresh) {
      replaceFileSync(this.dir, LAYOUT_FILE, Buffer.from(`${this.layout}\n`), this.settings.fsync);
      return;
    }
    let found = 1;
    try {
      const text = readFileSync(file, 'utf8').trim();
      found = text === '1' ? 1 : text === '2' ? 2 : Number.NaN;
      if (Number.isNaN(found)) throw new FlotillaError('CORRUPT', `${file} holds "${text.slice(0, 20)}", not an offset layout`);
    } catch (err) {
      if (isFlotillaError(err)) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (found !== this.layout) {
      throw new FlotillaError('CORRUPT', `${this.dir}: the log has offset layout ${found}, opened with layout ${this.layout}: refusing to extend it`);
    }
  }

  private lastTermOr(prevTerm: number): number {
    return this.segments.at(-1)?.terms.at(-1)?.term ?? prevTerm;
  }

  /**
   * Scans a segment batch by batch, building its sparse index and term runs. On the first invalid
   * batch it truncates the file there and returns what it cut.
   */
  private scan(seg: Segment, fd: number, size: number, prevTerm: number): RecoveryCut | null {
    const reader = new ChunkReader(fd, size, this.settings.readChunkBytes);
    let pos = 0;
    let term = prevTerm;
    seg.maxTimestamp = -1;
    let cut: { reason: RecoveryReason; message: string } | null = null;
    while (pos < size) {
      const head = reader.at(pos, LOG_OVERHEAD_BYTES);
      if (head.length < LOG_OVERHEAD_BYTES) {
        cut = { reason: 'short', message: `${head.length} bytes, fewer than a batch's log overhead` };
        break;
      }
      const announced = batchSizeAt(head);
      const view = reader.at(pos, Math.max(Math.min(announced, this.settings.batchBytesMax, size - pos), LOG_OVERHEAD_BYTES));
      const problem = checkBatch(view, 0, this.settings.batchBytesMax);
      if (problem) {
        cut = { reason: problem.problem, message: problem.message };
        break;
      }
      const header = new BatchHeader(view);
      const index = seg.base + seg.count;
      if (this.format === LogFormat.Opaque && header.baseOffset !== index) {
        cut = { reason: 'header', message: `baseOffset ${header.baseOffset} is not the Raft index ${index}` };
        break;
      }
      if (header.partitionLeaderEpoch < term) {
        cut = { reason: 'term', message: `term ${header.partitionLeaderEpoch} at index ${index} is below the previous ${term}` };
        break;
      }
      const lastSparse = seg.sparse.at(-1);
      if (!lastSparse || pos - lastSparse.position >= this.settings.indexIntervalBytes) {
        seg.sparse.push({ index, position: pos, baseOffset: header.baseOffset });
      }
      if (seg.terms.at(-1)?.term !== header.partitionLeaderEpoch) seg.terms.push({ index, term: header.partitionLeaderEpoch });
      term = header.partitionLeaderEpoch;
      seg.count++;
      seg.nextOffset = header.lastOffset + 1;
      seg.maxTimestamp = Math.max(seg.maxTimestamp ?? -1, header.maxTimestamp);
      pos += announced;
    }
    seg.bytes = seg.written = pos;
    if (cut === null) return null;
    ftruncateSync(fd, pos);
    seg.dirty = true;
    return { file: this.path(seg, SEGMENT_SUFFIX), position: pos, bytesCut: size - pos, reason: cut.reason, message: cut.message };
  }

  // ---- leader epochs (OffsetForLeaderEpoch) ----------------------------------------------------

  /**
   * The last entry whose term is at most `term`, or `firstIndex() - 1` when every entry in the log
   * has a larger term. Terms never decrease along the log, so this is the entry before the first
   * term run above `term`: a binary search over the segments' term runs, no batch is read.
   */
  lastIndexOfTermAtMost(term: number): number {
    this.checkUsable();
    // Only the active (last) segment can be empty: it counts as above every term.
    const maxTerm = (s: Segment): number => s.terms.at(-1)?.term ?? Number.POSITIVE_INFINITY;
    const seg = this.segments[firstBy(this.segments, (s) => maxTerm(s) > term)];
    if (seg === undefined) return this.lastIndex();
    const run = seg.terms[firstBy(seg.terms, (t) => t.term > term)];
    return run === undefined ? seg.base - 1 : run.index - 1;
  }
}

/** Writes `buffers` (`bytes` in all) at `position`, with positioned writevs until all is written. */
function writeAllAt(fd: number, buffers: readonly Buffer[], bytes: number, position: number): void {
  let done = writevSync(fd, buffers, position);
  if (done === bytes) return;
  // A short write (rare): go on from the first byte not written.
  const rest: Buffer[] = [];
  let skip = done;
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length;
      continue;
    }
    rest.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  while (done < bytes) {
    const n = writevSync(fd, rest, position + done);
    assert(n > 0, () => `writev wrote nothing at ${position + done} with ${bytes - done} bytes to go`);
    done += n;
    let k = n;
    while (k > 0 && rest.length > 0) {
      const b = rest[0] as Buffer;
      if (k >= b.length) {
        k -= b.length;
        rest.shift();
      } else {
        rest[0] = b.subarray(k);
        k = 0;
      }
    }
  }
}

/** The index of the first element for which `pred` holds (pred is monotonic); length if none. */
function firstBy<T>(items: readonly T[], pred: (t: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pred(items[mid] as T)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The last element whose key is <= `key` in an array sorted by key (binary search). */
function floorBy<T>(items: readonly T[], key: number, keyOf: (t: T) => number): T | undefined {
  let lo = 0;
  let hi = items.length - 1;
  let found: T | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const item = items[mid] as T;
    if (keyOf(item) <= key) {
      found = item;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
