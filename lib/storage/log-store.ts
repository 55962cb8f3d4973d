/**
 * LogStore: the Raft log of one group, as the node's storage layer holds it. It is the log half of
 * the core's LogReader (firstIndex, lastIndex, term, entries: synchronous, served from memory or
 * positioned reads) plus the write half of the Ready contract for entries. Snapshots are not its
 * business: the node composes a LogStore with a snapshot store.
 *
 * Contract (checked by spec/storage/log-store-conformance.ts for every implementation):
 * - The log holds [firstIndex, lastIndex]; empty when lastIndex == firstIndex - 1. The entry before
 *   the log (prevIndex = firstIndex - 1) is remembered by its term only (0 for a new log).
 * - `append` first drops every entry >= entries[0].index (Raft's conflict truncation), then appends;
 *   reads see the result at once. `flush` makes every append/truncate/compact/reset so far durable.
 * - `compact` is advisory: it may drop whole segments at or below `upToIndex`, never more.
 * - `reset(index, term)` installs a snapshot's position: the log is empty and starts at index + 1.
 *
 * Two implementations: SegmentLogStore (segment-log.ts: files) and MemoryLogStore (the twin).
 */
import type { Entry } from '../raft/core/types.js';

export interface LogStore {
  /** First entry held (prevIndex + 1 when empty). */
  firstIndex(): number;
  /** Last entry held (== firstIndex - 1 when empty). */
  lastIndex(): number;
  /** Term of `index`, for firstIndex - 1 ..lastIndex (firstIndex - 1: the entry before the log). */
  term(index: number): number;
  /** Entries [lo, hi): at least one if lo < hi, then as many as fit in `maxBytes` (by entryBytes). */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** entries[0].index <= lastIndex + 1, consecutive indexes, terms not decreasing. */
  append(entries: readonly Entry[]): void;
  /** Durable: every append/truncate so far (fsync when the store's `fsync` is on). */
  flush(): Promise<void>;
  /** May drop whole segments whose entries are all <= upToIndex; firstIndex moves to a boundary. */
  compact(upToIndex: number): void;
  /**
   * After a snapshot install: drop everything; the log starts at index + 1, term(index) == term.
   * `nextOffset` (batch format only) is the Kafka offset a control batch takes when no batch
   * precedes it; default index + 1.
   */
  reset(index: number, term: number, nextOffset?: number): void;
  close(): Promise<void>;
}

/** Checks shared by both implementations: the arguments of append are a programmer's promise. */
export function checkAppend(store: LogStore, entries: readonly Entry[]): string | null {
  const first = entries[0];
  if (first === undefined) return null;
  if (first.index < store.firstIndex()) return `append at ${first.index} below firstIndex ${store.firstIndex()}`;
  if (first.index > store.lastIndex() + 1) return `append at ${first.index} leaves a gap after lastIndex ${store.lastIndex()}`;
  let prevTerm = store.term(first.index - 1);
  let prevIndex = first.index - 1;
  for (const e of entries) {
    if (e.index !== prevIndex + 1) return `entry ${e.index} follows ${prevIndex}: indexes must be consecutive`;
    if (!Number.isInteger(e.term) || e.term < prevTerm) return `entry ${e.index} has term ${e.term} below the previous ${prevTerm}`;
    prevIndex = e.index;
    prevTerm = e.term;
  }
  return null;
}
