/**
 * DiskGroupStorage: the GroupStorage (lib/raft/group-store.ts) of a node that hosts many Raft
 * groups on disk, as the broker hosts its partitions:
 *
 *   <dir>/state/             one LevelDB for the node, behind a KvBatcher: the hard states of every
 *                            group touched in a host cycle land in one synced write
 *   <dir>/groups/<group id>/ each group's DiskGroupStore (log/ and snapshots/), the id
 *                            percent-encoded (dots too, so no id names `.` or `..`)
 *
 * A group exists once its Raft state is in the KV (`list()` reads the KV, not the directories).
 * `destroy` deletes the state first (one synced write), then the directory: a crash in between
 * leaves a directory without state, which `open` of the same id starts afresh and `list` ignores.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../base/assert.js';
import type { Clock } from '../base/clock.js';
import { FlotillaError } from '../base/errors.js';
import type { Membership } from '../raft/core/types.js';
import type { GroupStorage } from '../raft/group-store.js';
import { type DiskGroupStore, openDiskGroupStore } from './disk-group-store.js';
import { KvBatcher } from './kv-batcher.js';
import { LevelKv } from './level-kv.js';
import { RaftStateStore } from './raft-state-store.js';

export interface DiskGroupStorageOptions {
  /** The node's data directory. */
  readonly dir: string;
  /** fsync before acknowledging (default true). */
  readonly fsync?: boolean;
  /** For segment ages (pass the system clock). */
  readonly clock: Clock;
  /** Settings of each group's segment log (lib/storage/segment-log.ts). */
  readonly logSettings?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
}

/** Longest group id accepted (it becomes a directory name and a KV key segment). */
const MAX_GROUP_ID_LENGTH = 200;

export class DiskGroupStorage implements GroupStorage {
  private readonly options: DiskGroupStorageOptions;
  private readonly kv: KvBatcher;
  /** Stores opened through this storage (closed or not), so destroy can reuse them. */
  private readonly stores = new Map<string, DiskGroupStore>();
  private closed = false;

  private constructor(options: DiskGroupStorageOptions, kv: KvBatcher) {
    this.options = options;
    this.kv = kv;
  }

  static async open(options: DiskGroupStorageOptions): Promise<DiskGroupStorage> {
    const kv = new KvBatcher(await LevelKv.open(join(options.dir, 'state')));
    return new DiskGroupStorage(options, kv);
  }

  async open(groupId: string, bootstrap: Membership): Promise<DiskGroupStore> {
    this.check(groupId);
    const store = await openDiskGroupStore({
      dir: this.groupDir(groupId),
      bootstrap,
      fsync: this.options.fsync ?? true,
      kv: this.kv,
      group: groupId,
      clock: this.options.clock,
      logSettings: this.options.logSettings,
      logger: this.options.logger ? (line) => this.options.logger?.(`group ${groupId}: ${line}`) : undefined,
    });
    this.stores.set(groupId, store);
    return store;
  }

  async list(): Promise<string[]> {
    assert(!this.closed, 'disk group storage: list after close');
    return RaftStateStore.listGroups(this.kv);
  }

  async destroy(groupId: string): Promise<void> {
    this.check(groupId);
    // A group not opened since the start (or never created) is opened to reach its state.
    const store = this.stores.get(groupId) ?? (await this.open(groupId, { voters: [], learners: [] }));
    this.stores.delete(groupId);
    await store.destroy(this.groupDir(groupId));
    await rm(this.groupDir(groupId), { recursive: true, force: true });
  }

  /** Closes the node's KV (after every group's store was closed: their RaftNodes first). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const store of this.stores.values()) await store.close();
    this.stores.clear();
    await this.kv.close();
  }

  private groupDir(groupId: string): string {
    return join(this.options.dir, 'groups', encodeURIComponent(groupId).replaceAll('.', '%2E'));
  }

  private check(groupId: string): void {
    if (this.closed) throw new FlotillaError('CLOSED', 'the group storage is closed');
    if (groupId.length === 0 || groupId.length > MAX_GROUP_ID_LENGTH) {
      throw new FlotillaError('INVALID_REQUEST', `group id must be 1 to ${MAX_GROUP_ID_LENGTH} characters, got ${groupId.length}`);
    }
  }
}

export function openDiskGroupStorage(options: DiskGroupStorageOptions): Promise<DiskGroupStorage> {
  return DiskGroupStorage.open(options);
}
