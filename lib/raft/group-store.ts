/**
 * GroupStore: everything one Raft group keeps durable — its log, hard state, configuration entries
 * and latest snapshot — behind the one interface the host needs. It is the core's LogReader, and
 * it carries out the write half of the Ready contract: `stage(rd)` applies a Ready's writes so that
 * reads see them at once, and `flush()` makes everything staged durable. The host stages the
 * Readies of every group touched in an event-loop turn, then flushes them together (group commit).
 *
 * Two implementations pass one conformance suite (spec/raft/group-store-conformance.ts):
 * `MemoryGroupStore` below (tests, examples) and the disk store (lib/storage/disk-group-store.ts:
 * segment files + LevelDB + snapshot files).
 *
 * `GroupStorage` is where a node keeps the stores of all its groups, so that a RaftHost can
 * create and remove groups at run time (`host.createGroup`, `host.removeGroup`):
 * `MemoryGroupStorage` below, `DiskGroupStorage` in lib/storage/disk-group-storage.ts (one LevelDB
 * per node shared by every group, one directory per group).
 */
import { assert } from '../base/assert.js';
import { decodeConfigEntry } from './core/membership.js';
import {
  type ConfigAt, type Entry, EntryType, type HardState, type InitialState, type LogReader, type Membership,
  type Ready, type SnapshotMeta, entryBytes,
} from './core/types.js';

export interface GroupStore extends LogReader {
  /** What the core is built from: hard state, config entries above the snapshot, applied index. */
  initialState(): InitialState;
  /** The latest snapshot's data as a whole (for restoring the state machine). */
  snapshotData(): Promise<Uint8Array>;
  /** Applies a Ready's writes (chunks, snapshot install, entries, hard state); visible at once. */
  stage(rd: Ready): void;
  /** Makes everything staged so far durable. */
  flush(): Promise<void>;
  /** Stores a snapshot the node took itself, then discards the log up to `keepFrom - 1`. */
  saveSnapshot(meta: SnapshotMeta, data: Uint8Array, keepFrom: number): Promise<void>;
  /** Bytes of log entries held (for automatic snapshots by size). */
  logBytes(): number;
  close(): Promise<void>;
}

/** The stores of every group of one node, by group id. */
export interface GroupStorage {
  /**
   * Opens the store of `groupId`; a group with no state yet is created with `bootstrap` as its
   * membership (empty for a replica that joins an existing group: it learns it from the leader).
   * The bootstrap is ignored for a group that exists.
   */
  open(groupId: string, bootstrap: Membership): Promise<GroupStore>;
  /** The ids of every group with state here (to reopen them after a restart). */
  list(): Promise<string[]>;
  /** Deletes a group's state for good. Its store must be closed (its RaftNode closed) first. */
  destroy(groupId: string): Promise<void>;
  close(): Promise<void>;
}

/** The in-memory GroupStorage: a group's store outlives its RaftNode (a "restart" reopens it). */
export class MemoryGroupStorage implements GroupStorage {
  private readonly stores = new Map<string, MemoryGroupStore>();

  async open(groupId: string, bootstrap: Membership): Promise<GroupStore> {
    let store = this.stores.get(groupId);
    if (!store) {
      store = new MemoryGroupStore(bootstrap);
      this.stores.set(groupId, store);
    }
    return store;
  }

  async list(): Promise<string[]> {
    return [...this.stores.keys()].sort();
  }

  async destroy(groupId: string): Promise<void> {
    this.stores.delete(groupId);
  }

  async close(): Promise<void> {}
}

/**
 * The in-memory twin: durable for the life of the object. The log may keep a tail of entries
 * below the latest snapshot (so a follower just behind it needs no snapshot): it holds
 * [start, last], and remembers the term of start - 1.
 */
export class MemoryGroupStore implements GroupStore {
  private log: Entry[] = [];
  private start = 1;
  private prevTerm = 0;
  private bytes = 0;
  private snap: SnapshotMeta;
  private snapBytes: Uint8Array = new Uint8Array(0);
  private hard: HardState = { term: 0, vote: 0, commit: 0 };
  private configs: ConfigAt[] = [];
  private incoming: Uint8Array[] = [];
  private incomingMeta: SnapshotMeta | null = null;

  constructor(bootstrap: Membership) {
    this.snap = { index: 0, term: 0, membership: bootstrap };
  }

  /** The durable hard state (tests and the simulator check against it). */
  get hardState(): HardState {
    return this.hard;
  }

  initialState(): InitialState {
    return {
      hardState: this.hard,
      configEntries: this.configs.filter((c) => c.index > this.snap.index),
      applied: this.snap.index,
    };
  }

  async snapshotData(): Promise<Uint8Array> {
    return this.snapBytes;
  }

  firstIndex(): number {
    return this.start;
  }

  lastIndex(): number {
    return this.start + this.log.length - 1;
  }

  term(index: number): number {
    if (index === this.start - 1) return this.prevTerm;
    const e = this.log[index - this.start];
    assert(e !== undefined, () => `memory store: no term for index ${index}`);
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    assert(lo >= this.start && hi <= this.lastIndex() + 1, () => `memory store: entries [${lo}, ${hi}) out of range`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.log[i - this.start]!;
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshotMeta(): SnapshotMeta {
    return this.snap;
  }

  snapshotSize(): number {
    return this.snapBytes.byteLength;
  }

  readSnapshot(offset: number, maxBytes: number): Uint8Array {
    return this.snapBytes.subarray(offset, offset + maxBytes);
  }

  logBytes(): number {
    return this.bytes;
  }

  stage(rd: Ready): void {
    for (const c of rd.snapshotChunks) {
      if (c.offset === 0) {
        this.incoming = [];
        this.incomingMeta = c.meta;
      }
      assert(this.incomingMeta !== null && this.incomingMeta.index === c.meta.index, 'memory store: chunk of an unknown snapshot');
      this.incoming.push(c.data);
    }
    if (rd.snapshot) {
      assert(this.incomingMeta !== null && this.incomingMeta.index === rd.snapshot.index, 'memory store: install without its chunks');
      this.snap = rd.snapshot;
      this.snapBytes = Buffer.concat(this.incoming);
      this.incoming = [];
      this.incomingMeta = null;
      this.log = [];
      this.start = rd.snapshot.index + 1;
      this.prevTerm = rd.snapshot.term;
      this.bytes = 0;
      this.configs = [];
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      assert(first >= this.start && first <= this.lastIndex() + 1, () => `memory store: append at ${first} out of range`);
      for (const e of this.log.splice(first - this.start)) this.bytes -= entryBytes(e);
      while (this.configs.length > 0 && this.configs[this.configs.length - 1]!.index >= first) this.configs.pop();
      for (const e of rd.entries) {
        this.log.push(e);
        this.bytes += entryBytes(e);
        if (e.type === EntryType.Config) this.configs.push({ index: e.index, term: e.term, membership: decodeConfigEntry(e.data).membership });
      }
    }
    if (rd.hardState) this.hard = rd.hardState;
  }

  async flush(): Promise<void> {}

  async saveSnapshot(meta: SnapshotMeta, data: Uint8Array, keepFrom: number): Promise<void> {
    assert(meta.index <= this.lastIndex() && meta.index >= this.start - 1, 'memory store: snapshot outside the log');
    if (meta.index <= this.snap.index) return;
    this.snap = meta;
    this.snapBytes = data;
    const newStart = Math.max(this.start, Math.min(keepFrom, meta.index + 1));
    if (newStart > this.start) {
      this.prevTerm = this.term(newStart - 1);
      for (const e of this.log.splice(0, newStart - this.start)) this.bytes -= entryBytes(e);
      this.start = newStart;
    }
    // Configs at or below the snapshot are covered by its membership.
    this.configs = this.configs.filter((c) => c.index > meta.index);
  }

  async close(): Promise<void> {}
}
