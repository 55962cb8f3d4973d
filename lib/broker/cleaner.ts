/**
 * LogCleaner: log compaction of one replica's segments, off the hot path, bounded in memory (a
 * key -> offset map under a byte budget, Kafka's dedupe buffer) and in I/O (a rate, with a yield
 * to the event loop after every chunk).
 *
 * What to clean is replicated, how is local: the leader orders a pass with a Clean batch (x, h);
 * every replica, once it has applied it, makes its log satisfy, for every record at offset o < x
 * with key K:
 *
 *   kept  iff  no record with key K lies in (o, x)   and not (it is a tombstone and o < h)
 *
 * (records without a key are kept; control batches are never touched; a batch the cleaner cannot
 * decode — an unknown codec, or records that do not decompress within `decompressedBytesMax` — is
 * kept whole, and a tombstone is kept while such a batch precedes it, since an older value of its
 * key may hide there). Batches of every Kafka codec are cleaned and written back in their own
 * codec (lib/records/codecs.ts: deterministic encoders, so replicas agree byte for byte). That result depends only on the log's content,
 * which Raft makes identical on every replica, and on (x, h): replicas converge on the same
 * bytes whatever their map budget and segment boundaries, because cleaning a batch is canonical
 * (lib/records/compaction.ts) and several partial passes give what one pass gives.
 *
 * A pass, starting from the checkpoint `cleanedThrough` (offsets below it are clean: the log
 * there was rewritten with a map that covered them):
 *   1. map the keys of [cleanedThrough, m) to their last offset, m <= x as far as the budget goes;
 *   2. rewrite, oldest first, every segment holding offsets in [log start, m) (the active one is
 *      rolled first, once all its entries are applied), each swapped in atomically
 *      (SegmentLogStore.commitRewrite); a segment the pass leaves unchanged is not written;
 *   3. save the checkpoint { cleanedThrough: m, h } in LevelDB (`compaction/<group>`).
 * kill -9 anywhere leaves whole old or whole new segments; the pass simply runs again from the
 * checkpoint and rewrites to the same bytes. A snapshot install (the log replaced by the
 * leader's) deletes the checkpoint first (Partition.open's beforeInstall), and a pass that saw
 * the install happen does not save.
 */
import { type SettingsOf, validateSettings } from '../base/settings.js';
import { BatchHeader } from '../records/batch.js';
import { type RawRecord, canDecodeRecords, codecsReady, rawRecords, rebuildBatch } from '../records/compaction.js';
import type { KvStore } from '../storage/kv.js';
import type { SegmentLogStore } from '../storage/segment-log.js';
import type { CleanState } from './retention.js';

const MiB = 1024 * 1024;
/** Bytes counted per map entry beside its key (the Map's own overhead, roughly). */
const MAP_ENTRY_OVERHEAD_BYTES = 64;

export const cleanerSettings = {
  dedupeBytesMax: { type: 'int', default: 128 * MiB, min: 1024, max: 2 ** 40, unit: 'bytes', doc: "memory for the key -> offset map of one cleaning pass (Kafka's log.cleaner.dedupe.buffer.size); a pass whose keys do not fit cleans a prefix and the next one goes on" },
  ioBytesPerSecond: { type: 'int', default: 64 * MiB, min: 1024, max: 2 ** 40, unit: 'bytes/s', doc: "bytes the cleaner reads and writes per second (Kafka's log.cleaner.io.max.bytes.per.second)" },
  chunkBytes: { type: 'int', default: 1 * MiB, min: 1024, max: 256 * MiB, unit: 'bytes', doc: 'bytes the cleaner reads between two yields to the event loop' },
  decompressedBytesMax: { type: 'int', default: 64 * MiB, min: 1024, max: 1024 * MiB, unit: 'bytes', doc: 'largest decompressed records section of one batch the cleaner accepts (larger: the batch is kept whole)' },
} as const;

export type CleanerSettings = SettingsOf<typeof cleanerSettings>;

/** What the cleaner needs of a partition replica (Partition provides it). */
export interface Cleanable {
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
  readonly segmentLog: SegmentLogStore;
  readonly appliedIndex: number;
  readonly isClosed: boolean;
  /** Bumped whenever the log is replaced by a snapshot install. */
  readonly installs: number;
  readonly stateKv: KvStore;
  readonly checkpointKey: string;
  logStartOffset(): number;
  cleanState(): CleanState;
}

export interface CleanerCheckpoint {
  /** Offsets below it are clean. */
  readonly cleanedThrough: number;
  /** The tombstone horizon the last complete pass applied. */
  readonly h: number;
  readonly passes: number;
}

export interface CleanReport {
  readonly groupId: string;
  /** The map covered [from, to). */
  readonly from: number;
  readonly to: number;
  readonly keys: number;
  readonly segmentsRewritten: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** The map reached the Clean command's x (else the next pass goes on from `to`). */
  readonly complete: boolean;
  /** The pass stopped early (a segment not yet applied, the log changed): it runs again later. */
  readonly stopped: boolean;
}

export interface LogCleanerOptions {
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
  /** For tests: called before each segment swap (a crash point). */
  readonly beforeSwap?: (p: Cleanable, base: number) => Promise<void> | void;
}

export class LogCleaner {
  readonly settings: CleanerSettings;
  readonly stats = { passes: 0, segmentsRewritten: 0, bytesRead: 0, bytesWritten: 0, bytesSaved: 0 };
  private readonly options: LogCleanerOptions;
  private readonly checkpoints = new Map<string, CleanerCheckpoint>();
  private ioBytes = 0;
  private ioStartMs = 0;

  constructor(options: LogCleanerOptions = {}) {
    this.options = options;
    this.settings = validateSettings(cleanerSettings, options.settings, 'cleaner');
  }

  async checkpoint(p: Cleanable): Promise<CleanerCheckpoint> {
    const v = (await p.stateKv.get(p.checkpointKey)) as Partial<CleanerCheckpoint> | undefined;
    const cp: CleanerCheckpoint = v && Number.isSafeInteger(v.cleanedThrough) && Number.isSafeInteger(v.h)
      ? { cleanedThrough: v.cleanedThrough as number, h: v.h as number, passes: Number(v.passes) || 0 }
      : { cleanedThrough: 0, h: 0, passes: 0 };
    this.checkpoints.set(p.groupId, cp);
    return cp;
  }

  /** Whether the replica has a Clean command it has not carried out yet. */
  async due(p: Cleanable): Promise<boolean> {
    const target = p.cleanState();
    if (target.x === 0 && target.h === 0) return false;
    const cp = this.checkpoints.get(p.groupId) ?? (await this.checkpoint(p));
    return Math.max(cp.cleanedThrough, p.logStartOffset()) < target.x || cp.h < target.h;
  }

  /** Runs one pass over `p` (see the file comment); null when nothing is due. */
  async clean(p: Cleanable): Promise<CleanReport | null> {
    if (p.isClosed || !(await this.due(p))) return null;
    await codecsReady();
    const installs = p.installs;
    const cp = this.checkpoints.get(p.groupId) ?? (await this.checkpoint(p));
    const target = p.cleanState();
    const log = p.segmentLog;
    const logStart = p.logStartOffset();
    const from = Math.max(cp.cleanedThrough, logStart);
    this.ioStartMs = performance.now();
    this.ioBytes = 0;

    // 1. The map: key -> last offset over [from, m).
    const map = new Map<string, number>();
    let mapBytes = 0;
    let m = from;
    if (from < target.x) {
      let index = log.indexOfOffset(from);
      scan: while (index <= p.appliedIndex && !p.isClosed) {
        const batches = log.readBatches(index, p.appliedIndex, this.settings.chunkBytes);
        for (const b of batches) {
          const h = new BatchHeader(b);
          if (h.baseOffset >= target.x) break scan;
          const records = this.recordsOf(b);
          if (records !== null) {
            let cost = 0;
            for (const r of records) if (r.key !== null && r.offset >= from && r.offset < target.x) cost += r.key.byteLength + MAP_ENTRY_OVERHEAD_BYTES;
            if (map.size > 0 && mapBytes + cost > this.settings.dedupeBytesMax) break scan;
            for (const r of records) {
              if (r.key === null || r.offset < from || r.offset >= target.x) continue;
              const k = keyString(r.key);
              if (!map.has(k)) mapBytes += r.key.byteLength + MAP_ENTRY_OVERHEAD_BYTES;
              map.set(k, r.offset);
            }
          }
          m = Math.min(h.lastOffset + 1, target.x);
          index++;
          await this.throttle(b.length);
        }
        if (batches.length === 0) break;
      }
    }
    const complete = m >= target.x;

    // 2. Rewrite the segments holding offsets in [logStart, m), oldest first.
    let rewritten = 0;
    let bytesBefore = 0;
    let bytesAfter = 0;
    let opaqueSeen = false;
    let stopped = false;
    for (const info of log.segmentInfos()) {
      if (info.baseOffset >= m || p.isClosed || p.installs !== installs) break;
      if (info.nextOffset <= logStart || info.last < info.base) continue;
      if (info.last > p.appliedIndex) {
        stopped = true;
        break;
      }
      if (info.active) log.roll();
      const rw = log.beginRewrite(info.base);
      if (rw === null) {
        stopped = true;
        break;
      }
      let changed = false;
      let before = 0;
      let after = 0;
      try {
        for (let got = log.readRewrite(rw, this.settings.chunkBytes); got.length > 0; got = log.readRewrite(rw, this.settings.chunkBytes)) {
          for (const { index, batch } of got) {
            const h = new BatchHeader(batch);
            let out = batch;
            if (!h.isControl && h.lastOffset >= logStart) {
              if (!canDecodeRecords(batch)) {
                opaqueSeen = true;
              } else if (h.baseOffset < m) {
                const records = this.recordsOf(batch);
                if (records === null) {
                  opaqueSeen = true;
                } else {
                  const tombstonesGo = !opaqueSeen;
                  const kept = records.filter((r) => keep(r, map, m, target.h, tombstonesGo));
                  out = rebuildBatch(batch, kept);
                }
              }
            }
            if (out !== batch) changed = true;
            before += batch.length;
            after += out.length;
            log.putRewrite(rw, index, batch, out);
            await this.throttle(batch.length + out.length);
          }
          if (p.isClosed || p.installs !== installs) throw new CleanAbort();
        }
        if (!changed) {
          log.abortRewrite(rw);
          continue;
        }
        await this.options.beforeSwap?.(p, info.base);
        if (!(await log.commitRewrite(rw))) {
          stopped = true;
          break;
        }
        rewritten++;
        bytesBefore += before;
        bytesAfter += after;
        this.stats.bytesWritten += after;
      } catch (err) {
        log.abortRewrite(rw);
        if (err instanceof CleanAbort) {
          stopped = true;
          break;
        }
        throw err;
      }
    }
    this.stats.segmentsRewritten += rewritten;
    this.stats.bytesSaved += bytesBefore - bytesAfter;
    const report: CleanReport = { groupId: p.groupId, from, to: m, keys: map.size, segmentsRewritten: rewritten, bytesBefore, bytesAfter, complete, stopped };
    if (stopped || p.isClosed || p.installs !== installs) return { ...report, stopped: true };

    // 3. The checkpoint.
    const next: CleanerCheckpoint = { cleanedThrough: m, h: complete ? target.h : cp.h, passes: cp.passes + 1 };
    await p.stateKv.batch([{ type: 'put', key: p.checkpointKey, value: { ...next } }], { sync: false });
    if (p.installs !== installs) {
      // An install raced the write: forget what this pass did.
      await p.stateKv.batch([{ type: 'del', key: p.checkpointKey }], { sync: true });
      this.checkpoints.delete(p.groupId);
      return { ...report, stopped: true };
    }
    this.checkpoints.set(p.groupId, next);
    this.stats.passes++;
    this.options.logger?.(`${p.topic}-${p.partition}: cleaned [${from}, ${m}) with ${map.size} keys: ${rewritten} segments rewritten, ${bytesBefore} -> ${bytesAfter} bytes`);
    return report;
  }

  /** Forgets a replica's cached checkpoint (closed, deleted, or its log replaced). */
  forget(groupId: string): void {
    this.checkpoints.delete(groupId);
  }

  /** The records of a batch the cleaner can read, or null (control, other codec, too large). */
  private recordsOf(batch: Buffer): RawRecord[] | null {
    const h = new BatchHeader(batch);
    if (h.isControl || !canDecodeRecords(batch)) return null;
    try {
      return rawRecords(batch, this.settings.decompressedBytesMax);
    } catch {
      return null;
    }
  }

  /** Keeps the cleaner's I/O under its rate, and yields to the event loop after every chunk. */
  private async throttle(bytes: number): Promise<void> {
    this.ioBytes += bytes;
    this.stats.bytesRead += bytes;
    const before = this.ioBytes - bytes;
    if (Math.floor(before / this.settings.chunkBytes) === Math.floor(this.ioBytes / this.settings.chunkBytes)) return;
    const dueMs = (this.ioBytes / this.settings.ioBytesPerSecond) * 1000 - (performance.now() - this.ioStartMs);
    await new Promise<void>((resolve) => (dueMs > 1 ? setTimeout(resolve, dueMs) : setImmediate(resolve)));
  }
}

class CleanAbort extends Error {}

/** A key's bytes as a Map key (latin1 keeps every byte distinct). */
function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/** The cleaner's rule for one record below m (see the file comment). */
function keep(r: RawRecord, map: ReadonlyMap<string, number>, m: number, h: number, tombstonesGo: boolean): boolean {
  if (r.offset >= m || r.key === null) return true;
  const latest = map.get(keyString(r.key));
  if (latest !== undefined && latest > r.offset) return false;
  if (r.tombstone && r.offset < h && tombstonesGo) return false;
  return true;
}
