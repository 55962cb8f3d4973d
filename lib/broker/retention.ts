/**
 * Retention and cleaning decisions: pure functions of a partition's segment summaries, its topic
 * config, the time and its offsets. The leader takes them and replicates the outcome through the
 * log (a LogStart or a Clean control batch), so every replica applies the same operation at the
 * same point of the log; segment boundaries differ between replicas (rolling is local), so every
 * outcome is an offset, never a file.
 *
 *   retentionTarget   the log start offset that retention.ms / retention.bytes ask for: the end of
 *                     the oldest sealed segments that are too old, or beyond the size limit
 *                     (Kafka's rules, segment by segment), never past the high watermark
 *   trimBoundary      on any replica: the last Raft index of the whole segments wholly below the
 *                     log start offset and applied — where a snapshot goes and the log is cut
 *   cleanCommand      whether to clean, and to where: the cleanable point (high watermark, last
 *                     stable offset, min.compaction.lag.ms), the dirty ratio against
 *                     min.cleanable.dirty.ratio, max.compaction.lag.ms, and the tombstone horizon
 *                     that delete.retention.ms allows, below what every replica holds
 */
import type { SegmentInfo } from '../storage/segment-log.js';

export interface RetentionConfig {
  readonly delete: boolean;
  /** -1: forever. */
  readonly retentionMs: number;
  /** -1: no limit. */
  readonly retentionBytes: number;
}

/**
 * The log start offset retention asks for, or null when it stays. Only sealed segments wholly
 * below the high watermark go, oldest first: by time while their newest batch is older than
 * `retentionMs`, by size while the rest of the log still holds `retentionBytes`.
 */
export function retentionTarget(segments: readonly SegmentInfo[], cfg: RetentionConfig, nowMs: number, highWatermark: number, logStartOffset: number): number | null {
  if (!cfg.delete) return null;
  const live = segments.filter((s) => s.nextOffset > logStartOffset && s.last >= s.base);
  const deletable = live.filter((s) => !s.active && s.nextOffset <= highWatermark);
  let target = logStartOffset;
  if (cfg.retentionMs >= 0) {
    for (const s of deletable) {
      if (s.maxTimestamp >= nowMs - cfg.retentionMs) break;
      target = Math.max(target, s.nextOffset);
    }
  }
  if (cfg.retentionBytes >= 0) {
    let size = live.reduce((n, s) => n + s.bytes, 0);
    for (const s of deletable) {
      if (size - s.bytes < cfg.retentionBytes) break;
      size -= s.bytes;
      target = Math.max(target, s.nextOffset);
    }
  }
  target = Math.min(target, highWatermark);
  return target > logStartOffset ? target : null;
}

/**
 * The last Raft index of the sealed segments whose every batch lies below `logStartOffset` and
 * is applied: a snapshot there lets the log drop them. Null when no whole segment qualifies.
 */
export function trimBoundary(segments: readonly SegmentInfo[], logStartOffset: number, appliedIndex: number): number | null {
  let boundary: number | null = null;
  for (const s of segments) {
    if (s.active || s.last < s.base || s.nextOffset > logStartOffset || s.last > appliedIndex) break;
    boundary = s.last;
  }
  return boundary;
}

export interface CleanConfig {
  readonly compact: boolean;
  readonly minCleanableDirtyRatio: number;
  readonly minCompactionLagMs: number;
  readonly maxCompactionLagMs: number;
  readonly deleteRetentionMs: number;
}

/** The replicated cleaning state of a partition (partition-state.ts). */
export interface CleanState {
  /** Offsets below it were ordered cleaned (the latest Clean command). */
  readonly x: number;
  /** Tombstones below it may be removed. */
  readonly h: number;
  /** Recent commands: [x, leader's time in ms], oldest first. */
  readonly history: readonly (readonly [number, number])[];
}

export interface CleanInput {
  readonly segments: readonly SegmentInfo[];
  readonly cfg: CleanConfig;
  readonly nowMs: number;
  readonly highWatermark: number;
  /** The first offset of an open transaction (= the high watermark without transactions). */
  readonly lastStableOffset: number;
  readonly logStartOffset: number;
  readonly state: CleanState;
  /** Least time between two Clean commands. */
  readonly backoffMs: number;
  /**
   * The offset below which every replica holds the log (the leader's log start when it does not
   * know a replica's position): tombstones go only below it.
   */
  readonly replicatedOffset: number;
}

/** A Clean command: clean every offset below `x`, removing tombstones below `h`. */
export interface CleanCommand {
  readonly x: number;
  readonly h: number;
}

/** The Clean command the leader should propose now, or null. */
export function cleanCommand(input: CleanInput): CleanCommand | null {
  const { cfg, state, nowMs, segments } = input;
  if (!cfg.compact) return null;
  const lastMs = state.history.at(-1)?.[1];
  if (lastMs !== undefined && nowMs - lastMs < input.backoffMs) return null;
  let end = Math.min(input.highWatermark, input.lastStableOffset);
  if (cfg.minCompactionLagMs > 0) {
    const young = segments.find((s) => s.last >= s.base && s.maxTimestamp > nowMs - cfg.minCompactionLagMs);
    if (young) end = Math.min(end, young.baseOffset);
  }
  end = Math.max(end, state.x);
  // Tombstones may go once the pass that first cleaned them is delete.retention.ms old, and only
  // once every replica holds them: a replica that lacks a tombstone would receive the leader's
  // cleaned log without it (and without the values it superseded) and keep its own older value of
  // the key for ever. Only tombstones need this: the latest record of any other key stays.
  let h = state.h;
  for (const [x, t] of state.history) if (t <= nowMs - cfg.deleteRetentionMs) h = Math.max(h, x);
  h = Math.max(state.h, Math.min(h, state.x, input.replicatedOffset));
  // Bytes in [lo, hi): whole segments, and the share of the offsets of a segment that straddles.
  const bytesIn = (lo: number, hi: number): number => segments.reduce((n, s) => {
    const a = Math.max(lo, s.baseOffset);
    const b = Math.min(hi, s.nextOffset);
    return s.last < s.base || b <= a ? n : n + (s.bytes * (b - a)) / (s.nextOffset - s.baseOffset);
  }, 0);
  const dirty = bytesIn(Math.max(state.x, input.logStartOffset), end);
  const total = bytesIn(input.logStartOffset, end);
  const hasDirty = end > state.x && dirty > 0;
  const ratioDue = hasDirty && total > 0 && dirty / total >= cfg.minCleanableDirtyRatio;
  const lagDue = hasDirty && cfg.maxCompactionLagMs < Number.MAX_SAFE_INTEGER && nowMs - (lastMs ?? 0) >= cfg.maxCompactionLagMs;
  const tombstonesDue = h > state.h;
  if (!ratioDue && !lagDue && !tombstonesDue) return null;
  return { x: ratioDue || lagDue ? end : state.x, h };
}
