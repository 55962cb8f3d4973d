/**
 * DiskGroupStore: the durable GroupStore of one Raft group (lib/raft/group-store.ts) on a real
 * disk, composed of the three stores of this folder:
 *
 *   <dir>/log/        SegmentLogStore: the Raft log as Kafka record batch v2 segments
 *   <dir>/snapshots/  FileSnapshotStore: the latest snapshot (atomic install, CRC-checked)
 *   KV (LevelDB)      RaftStateStore: hard state, config entries, snapshot meta
 *                     (one LevelDB per node, shared by its groups through a KvBatcher, so the hard
 *                     states of every group touched in a cycle land in one synced write)
 *
 * The Ready contract's writes happen in `flush()`, in an order that a crash at any point leaves
 * consistent:
 *   1. snapshot chunks into the incoming file; on install: the snapshot file is made durable and
 *      atomically renamed FIRST, then its meta saved, then the log reset to start after it;
 *   2. entries appended to the log, and at the same time the hard state and config entries saved
 *      to the KV (term and vote with a synced write); both awaited before `flush` resolves.
 * Because the log's fsync and the KV write run in parallel, a crash may leave a commit index
 * above the durable log: `open` clamps it to the log's last index (the commit index is volatile
 * state in Raft; persisting it only saves work).
 *
 * A snapshot the node takes itself (`saveSnapshot`) is written and renamed first, then its meta
 * saved, then whole log segments below `keepFrom` deleted.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../base/assert.js';
import type { Clock } from '../base/clock.js';
import { decodeConfigEntry } from '../raft/core/membership.js';
import { type ConfigAt, type Entry, EntryType, type InitialState, type Membership, type Ready, type SnapshotMeta } from '../raft/core/types.js';
import type { GroupStore } from '../raft/group-store.js';
import { KvBatcher } from './kv-batcher.js';
import type { KvStore } from './kv.js';
import { LevelKv } from './level-kv.js';
import { RaftStateStore } from './raft-state-store.js';
import { type RecoveryReport, SegmentLogStore } from './segment-log.js';
import { FileSnapshotStore } from './snapshot-store.js';

export interface DiskGroupStoreOptions {
  /** The group's directory (log/ and snapshots/ go below it). */
  readonly dir: string;
  /** The initial membership, recorded when the group is created (empty for a node that joins). */
  readonly bootstrap: Membership;
  /** fsync before acknowledging (default true); false leaves flushing to the OS, as Kafka does. */
  readonly fsync?: boolean;
  /** The node's KV; default: a LevelDB at <dir>/state owned by this store. */
  readonly kv?: KvStore;
  /** The group's id within the KV (default "raft"). */
  readonly group?: string;
  /** 'opaque' for the Raft library, 'batch' for Kafka partitions. */
  readonly format?: 'opaque' | 'batch';
  /** For segment ages (the composition root passes the system clock). */
  readonly clock: Clock;
  readonly logSettings?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
  /**
   * 'batch' format: the Kafka offset after a snapshot's last entry, read from the snapshot's data
   * (the partition's state machine defines it). A log reset to the snapshot continues the offsets
   * from there, so entries received afterwards get the offsets the leader gave them.
   */
  readonly snapshotNextOffset?: (data: Uint8Array) => number;
  /** Runs before a snapshot received from the leader is installed (its meta saved, the log reset). */
  readonly beforeInstall?: (meta: SnapshotMeta) => Promise<void>;
}

export async function openDiskGroupStore(options: DiskGroupStoreOptions): Promise<DiskGroupStore> {
  const fsync = options.fsync ?? true;
  const log = (line: string): void => options.logger?.(line);
  const ownsKv = options.kv === undefined;
  const kv = options.kv ?? new KvBatcher(await LevelKv.open(join(options.dir, 'state')));
  const state = await RaftStateStore.open(kv, options.group ?? 'raft', options.bootstrap);
  const snapshots = await FileSnapshotStore.open(join(options.dir, 'snapshots'));
  const segments = await SegmentLogStore.open({
    dir: join(options.dir, 'log'),
    clock: options.clock,
    settings: { format: options.format ?? 'opaque', fsync, ...options.logSettings },
    onRecovery: (report: RecoveryReport) => {
      for (const cut of report.cuts) {
        log(`log recovery: truncated ${cut.bytesCut} bytes of ${cut.file} at position ${cut.position} (${cut.reason}: ${cut.message})`);
      }
    },
  });
  const store = new DiskGroupStore(segments, state, snapshots, ownsKv ? kv : null, log, { snapshotNextOffset: options.snapshotNextOffset, beforeInstall: options.beforeInstall });
  await store.reconcile();
  return store;
}

export class DiskGroupStore implements GroupStore {
  private readonly log: SegmentLogStore;
  private readonly state: RaftStateStore;
  private readonly snapshots: FileSnapshotStore;
  private readonly ownedKv: KvStore | null;
  private readonly report: (line: string) => void;
  private staged: Ready[] = [];
  private closed = false;
  private readonly hooks: Pick<DiskGroupStoreOptions, 'snapshotNextOffset' | 'beforeInstall'>;

  constructor(
    log: SegmentLogStore, state: RaftStateStore, snapshots: FileSnapshotStore, ownedKv: KvStore | null, report: (line: string) => void,
    hooks: Pick<DiskGroupStoreOptions, 'snapshotNextOffset' | 'beforeInstall'> = {},
  ) {
    this.log = log;
    this.state = state;
    this.snapshots = snapshots;
    this.ownedKv = ownedKv;
    this.report = report;
    this.hooks = hooks;
  }

  /** Where a log reset to the latest snapshot continues the Kafka offsets (undefined: index + 1). */
  private async nextOffsetAfterSnapshot(): Promise<number | undefined> {
    if (!this.hooks.snapshotNextOffset || !this.snapshots.latest()) return undefined;
    return this.hooks.snapshotNextOffset(await this.snapshots.readAll());
  }

  /**
   * After a crash the three stores may disagree at their edges; bring them back in line:
   * a snapshot file newer than the recorded meta is adopted (the crash fell between the rename
   * and the meta save); a log that ends before the snapshot, or does not reach it, is reset.
   */
  async reconcile(): Promise<void> {
    const file = this.snapshots.latest();
    const recorded = this.state.load().snapshotMeta;
    if (file && file.index > recorded.index) {
      this.report(`snapshot ${file.index} found newer than its recorded meta ${recorded.index}: adopting it`);
      await this.hooks.beforeInstall?.(file);
      await this.state.save({ snapshotMeta: file, truncateConfigFrom: 1 }, { sync: true });
    }
    const snap = this.snapshotMeta();
    if (snap.index > 0 && (this.log.lastIndex() < snap.index || this.log.firstIndex() > snap.index + 1)) {
      this.report(`log [${this.log.firstIndex()}, ${this.log.lastIndex()}] does not reach snapshot ${snap.index}: resetting it`);
      await this.hooks.beforeInstall?.(snap);
      this.log.reset(snap.index, snap.term, await this.nextOffsetAfterSnapshot());
      await this.log.flush();
    }
  }

  // ---- LogReader ------------------------------------------------------------------------------

  firstIndex(): number {
    return this.log.firstIndex();
  }

  lastIndex(): number {
    return this.log.lastIndex();
  }

  term(index: number): number {
    const snap = this.snapshotMeta();
    if (index === snap.index && index < this.log.firstIndex() - 1) return snap.term;
    return this.log.term(index);
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.log.entries(lo, hi, maxBytes);
  }

  snapshotMeta(): SnapshotMeta {
    // The file is the truth for what readSnapshot serves; the recorded meta covers the bootstrap.
    return this.snapshots.latest() ?? this.state.load().snapshotMeta;
  }

  snapshotSize(): number {
    return this.snapshots.latest() ? this.snapshots.size() : 0;
  }

  readSnapshot(offset: number, maxBytes: number): Uint8Array {
    return this.snapshots.read(offset, maxBytes);
  }

  // ---- GroupStore -----------------------------------------------------------------------------

  initialState(): InitialState {
    const s = this.state.load();
    const last = this.log.lastIndex();
    const hardState = s.hardState.commit > last ? { ...s.hardState, commit: Math.max(last, this.snapshotMeta().index) } : s.hardState;
    return { hardState, configEntries: s.configEntries.filter((c) => c.index <= last), applied: this.snapshotMeta().index };
  }

  async snapshotData(): Promise<Uint8Array> {
    return this.snapshots.latest() ? this.snapshots.readAll() : new Uint8Array(0);
  }

  logBytes(): number {
    return this.log.logBytes();
  }

  stage(rd: Ready): void {
    assert(!this.closed, 'disk store: stage after close');
    // The leader's new entries get their Kafka offsets before the host sends them ('batch' format).
    if (rd.snapshot === null && this.staged.length === 0) this.log.assignOffsets(rd.entries);
    this.staged.push(rd);
  }

  async flush(): Promise<void> {
    const readies = this.staged;
    this.staged = [];
    for (const rd of readies) await this.write(rd);
  }

  private async write(rd: Ready): Promise<void> {
    for (const c of rd.snapshotChunks) {
      if (c.offset === 0) await this.snapshots.beginIncoming(c.meta);
      await this.snapshots.writeChunk(c.offset, c.data);
    }
    if (rd.snapshot) {
      const installed = await this.snapshots.finishIncoming();
      assert(installed || this.snapshots.latest()?.index === rd.snapshot.index, () => `disk store: snapshot ${rd.snapshot!.index} not installed`);
      await this.hooks.beforeInstall?.(rd.snapshot);
      await this.state.save({ snapshotMeta: rd.snapshot, truncateConfigFrom: 1 }, { sync: true });
      this.log.reset(rd.snapshot.index, rd.snapshot.term, await this.nextOffsetAfterSnapshot());
    }
    const change: { hardState?: typeof rd.hardState; truncateConfigFrom?: number; configAppends?: ConfigAt[] } = {};
    if (rd.entries.length > 0) {
      this.log.append(rd.entries);
      const first = rd.entries[0]!.index;
      if (first <= this.lastConfigIndex()) change.truncateConfigFrom = first;
      const configs: ConfigAt[] = [];
      for (const e of rd.entries) {
        if (e.type === EntryType.Config) configs.push({ index: e.index, term: e.term, membership: decodeConfigEntry(e.data).membership });
      }
      if (configs.length > 0) change.configAppends = configs;
    }
    if (rd.hardState) change.hardState = rd.hardState;
    const saves: Promise<void>[] = [];
    if (rd.entries.length > 0 || rd.snapshot) saves.push(this.log.flush());
    if (change.hardState || change.truncateConfigFrom !== undefined || change.configAppends) {
      saves.push(this.state.save({
        ...(change.hardState ? { hardState: change.hardState } : {}),
        ...(change.truncateConfigFrom !== undefined ? { truncateConfigFrom: change.truncateConfigFrom } : {}),
        ...(change.configAppends ? { configAppends: change.configAppends } : {}),
      }, { sync: change.configAppends !== undefined || change.truncateConfigFrom !== undefined }));
      // (Term and vote changes are always synced by the state store itself.)
    }
    await Promise.all(saves);
  }

  private lastConfigIndex(): number {
    const configs = this.state.load().configEntries;
    return configs.length > 0 ? configs[configs.length - 1]!.index : 0;
  }

  async saveSnapshot(meta: SnapshotMeta, data: Uint8Array, keepFrom: number): Promise<void> {
    if (meta.index <= this.snapshotMeta().index) return;
    const written = await this.snapshots.writeLocal(meta, data);
    if (!written) return;
    await this.state.save({ snapshotMeta: meta }, { sync: true });
    this.log.compact(Math.min(keepFrom - 1, meta.index));
  }

  /** The segment log itself (partitions read Kafka offsets and raw batches from it). */
  get logStore(): SegmentLogStore {
    return this.log;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.log.close();
    await this.snapshots.close();
    if (this.ownedKv) await this.ownedKv.close();
  }

  /**
   * Closes the store and deletes the group for good: its Raft state in the KV (one synced write)
   * first, then its directory. A crash in between leaves a directory without state, which the
   * owner deletes as an orphan at its next start.
   */
  async destroy(dir: string): Promise<void> {
    await this.state.destroy();
    await this.close();
    await rm(dir, { recursive: true, force: true });
  }
}
