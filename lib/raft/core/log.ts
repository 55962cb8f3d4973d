/**
 * RaftLog: the core's view of the log. The durable part is read through the host's LogReader;
 * entries appended since the last advanced Ready (and a received snapshot not yet installed) are
 * held here, in `unstable`, until the host reports them durable. Never does the core read from the
 * LogReader an index above `stableIndex`: the reader may hold stale bytes there mid-write.
 *
 *   reader: [firstIndex ........ stableIndex]
 *   unstable:                          [unstableOffset .......... lastIndex]
 *   (unstableOffset == stableIndex + 1, except while a received snapshot waits to be installed:
 *    then the log logically starts after the snapshot and unstable follows it)
 */
import { assert } from '../../base/assert.js';
import type { Entry, LogReader, SnapshotMeta } from './types.js';
import { entryBytes } from './types.js';

export class RaftLog {
  /** Entries not yet durable, from `unstableOffset`. */
  private unstable: Entry[] = [];
  private unstableOffset: number;
  /** A snapshot received from the leader, to be installed by the host (via Ready). */
  pendingSnapshot: SnapshotMeta | null = null;
  /** Whether pendingSnapshot is in the Ready now in flight. */
  pendingSnapshotHanded = false;
  /** Last index known durable through the reader. */
  stableIndex: number;
  /** Last index handed to the host in the Ready in flight (-1: none may become stable). */
  handedUpTo: number;
  committed: number;
  applied: number;

  readonly reader: LogReader;

  constructor(reader: LogReader, committed: number, applied: number) {
    this.reader = reader;
    this.stableIndex = reader.lastIndex();
    this.unstableOffset = this.stableIndex + 1;
    this.handedUpTo = this.stableIndex;
    const snapIndex = reader.firstIndex() - 1;
    assert(committed <= this.stableIndex, () => `log: committed ${committed} above the durable last index ${this.stableIndex}`);
    // What was applied (a snapshot's index) was committed: the durable commit index may lag it,
    // since a commit-only change is not persisted.
    this.applied = Math.max(applied, snapIndex);
    this.committed = Math.max(committed, this.applied);
    assert(this.applied <= this.stableIndex, () => `log: applied ${this.applied} above the durable last index ${this.stableIndex}`);
  }

  firstIndex(): number {
    return this.pendingSnapshot ? this.pendingSnapshot.index + 1 : this.reader.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.unstableOffset + this.unstable.length - 1;
    if (this.pendingSnapshot) return this.pendingSnapshot.index;
    return this.stableIndex;
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** The term of `index`, or -1 when it is compacted away or beyond the log. */
  term(index: number): number {
    if (index >= this.unstableOffset && this.unstable.length > 0) {
      const e = this.unstable[index - this.unstableOffset];
      if (e) return e.term;
      return -1;
    }
    if (this.pendingSnapshot) {
      return index === this.pendingSnapshot.index ? this.pendingSnapshot.term : -1;
    }
    if (index > this.stableIndex) return -1;
    if (index < this.reader.firstIndex() - 1) return -1;
    return this.reader.term(index);
  }

  matchTerm(index: number, term: number): boolean {
    const t = this.term(index);
    return t >= 0 && t === term;
  }

  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Entries [lo, hi) within maxBytes (at least one when lo < hi), or null when lo is compacted.
   */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | null {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) return null;
    assert(hi <= this.lastIndex() + 1, () => `log: slice [${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    const out: Entry[] = [];
    let bytes = 0;
    if (!this.pendingSnapshot && lo <= this.stableIndex) {
      const stableHi = Math.min(hi, this.stableIndex + 1);
      const fromReader = this.reader.entries(lo, stableHi, maxBytes);
      assert(fromReader.length > 0, () => `log reader returned no entries for [${lo}, ${stableHi})`);
      for (const e of fromReader) {
        assert(e.index === lo + out.length, () => `log reader returned index ${e.index}, expected ${lo + out.length}`);
        out.push(e);
        bytes += entryBytes(e);
      }
      if (out.length < stableHi - lo || stableHi === hi) return out;
    }
    const start = Math.max(lo, this.unstableOffset);
    for (let i = start; i < hi; i++) {
      const e = this.unstable[i - this.unstableOffset];
      assert(e !== undefined, () => `log: unstable entry ${i} missing`);
      const size = entryBytes(e);
      if (out.length > 0 && bytes + size > maxBytes) break;
      out.push(e);
      bytes += size;
    }
    return out;
  }

  /** Appends entries whose first index is at most lastIndex + 1, replacing any suffix from it. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    assert(first > this.committed, () => `log: append at ${first} would overwrite committed ${this.committed}`);
    assert(first <= this.lastIndex() + 1, () => `log: append at ${first} leaves a gap after ${this.lastIndex()}`);
    this.truncateFrom(first);
    for (const e of entries) this.unstable.push(e);
  }

  /** Drops every entry >= index (not yet committed ones only). */
  private truncateFrom(index: number): void {
    if (index >= this.unstableOffset) {
      this.unstable.length = Math.max(0, index - this.unstableOffset);
    } else {
      // The conflict reaches into durable entries: the next Ready rewrites from `index`, and
      // entries handed in the Ready now in flight from `index` on must not become stable.
      assert(!this.pendingSnapshot, 'log: truncation below a pending snapshot');
      this.unstable = [];
      this.unstableOffset = index;
      this.stableIndex = index - 1;
    }
    if (this.handedUpTo >= index) this.handedUpTo = index - 1;
  }

  /** The unstable entries to hand to the host now (all of them: one Ready at a time). */
  unstableEntries(): readonly Entry[] {
    return this.unstable;
  }

  /** Replaces the whole log by a snapshot received from the leader (installed through Ready). */
  restore(snapshot: SnapshotMeta): void {
    this.pendingSnapshot = snapshot;
    this.pendingSnapshotHanded = false;
    this.unstable = [];
    this.unstableOffset = snapshot.index + 1;
    this.handedUpTo = -1;
    this.committed = snapshot.index;
  }

  /** Called when the host has made a Ready durable. */
  stableTo(lastHanded: number, snapshot: SnapshotMeta | null): void {
    if (snapshot && this.pendingSnapshot === snapshot) {
      this.pendingSnapshot = null;
      this.pendingSnapshotHanded = false;
      this.stableIndex = snapshot.index;
      if (this.applied < snapshot.index) this.applied = snapshot.index;
    } else if (snapshot) {
      // A newer snapshot replaced it while in flight; that one is handed next.
      this.stableIndex = snapshot.index;
    }
    if (this.pendingSnapshot) return;
    const upTo = Math.min(lastHanded, this.handedUpTo);
    if (upTo >= this.unstableOffset) {
      const n = upTo - this.unstableOffset + 1;
      this.unstable.splice(0, n);
      this.unstableOffset = upTo + 1;
      this.stableIndex = upTo;
    }
    this.handedUpTo = this.stableIndex;
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), () => `log: commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (the conflict hint of a rejection), and
   * that term. Stops at the start of the log.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    const floor = this.firstIndex() - 1;
    let i = Math.min(index, this.lastIndex());
    for (; i > floor; i--) {
      const t = this.term(i);
      if (t >= 0 && t <= term) return { index: i, term: t };
    }
    const t = this.term(floor);
    return { index: floor, term: t < 0 ? 0 : t };
  }

  /** Index of the first entry of `entries` that conflicts with (or extends) the log, or 0. */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }
}
