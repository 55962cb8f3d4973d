/**
 * RaftStateStore: what one Raft group keeps in the node's KV besides its log and snapshot data —
 * its HardState, the Config entries of its log above the snapshot, and the latest SnapshotMeta —
 * so a restarting node rebuilds the core's InitialState without scanning the log.
 *
 * Keys (kv.ts `KvPrefix.raft`, the group id percent-encoded so ids never share a key prefix):
 *   raft/<group>/hard                 HardState   { term, vote, commit }
 *   raft/<group>/snap                 SnapshotMeta { index, term, membership: { voters, learners } }
 *   raft/<group>/conf/<index:16 digits> ConfigAt   { index, term, membership }
 * Values are plain msgpack maps (kv.ts), checked field by field on load: a malformed one is CORRUPT.
 *
 * Durability rules (Raft's, enforced here rather than trusted to callers):
 * - A HardState whose term or vote changed is written with sync, whatever the caller asked: a
 *   node must never forget a vote it cast or a term it saw. A commit-only change follows the
 *   caller's `sync` (commit is recoverable from the leader).
 * - A new SnapshotMeta is written with sync: the snapshot file is already installed and the log
 *   below it may be discarded next, so the meta must not roll back.
 * - Config entries follow the caller's `sync`, like the log entries they mirror.
 * Every save is ONE KV batch, so a crash leaves all of it or none of it.
 *
 * Config entries, as the log changes (applied in this order within one save):
 * 1. `truncateConfigFrom: n` — the log was truncated from n (a conflicting suffix replaced): drop
 *    configs with index >= n. n must be above the snapshot index, except in the save that installs
 *    a new snapshot (the log is replaced wholesale: pass n = 1 to drop every config).
 * 2. `configAppends` — Config entries appended, in index order, above every config kept.
 * 3. `snapshotMeta` (index S) — the log is compacted to S: configs <= S are dropped, except the
 *    latest of them, kept as the base (the configuration in force at S; when none is left, the
 *    base is the snapshot meta's own membership).
 *
 * Bootstrap: `open(kv, group, bootstrap)` on a group with no keys writes HardState {0,0,0} and a
 * snapshot meta at index 0, term 0 naming `bootstrap` (the initial voters; an empty membership for
 * a node added later), synced. An existing group ignores `bootstrap`.
 *
 * Lifecycle: open -> load() / save() ... -> destroy() (deletes every key of the group; the
 * instance is unusable after) or simply dropped (it holds no resources; the KV is the caller's).
 * The in-memory twin is this class over a MemoryKv.
 */
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import type { ConfigAt, HardState, Membership, NodeId, SnapshotMeta } from '../raft/core/types.js';
import { type KvOp, type KvStore, KvPrefix, clearRange, keyIndex, keySegment, scan } from './kv.js';

export interface RaftState {
  readonly hardState: HardState;
  readonly snapshotMeta: SnapshotMeta;
  /** Config entries above the snapshot, in index order: InitialState.configEntries. */
  readonly configEntries: readonly ConfigAt[];
  /** The configuration in force at the snapshot index. */
  readonly baseConfig: ConfigAt;
}

export interface RaftStateChange {
  readonly hardState?: HardState;
  readonly truncateConfigFrom?: number;
  readonly configAppends?: readonly ConfigAt[];
  readonly snapshotMeta?: SnapshotMeta;
}

/** Most keys one group holds is small (hard, snap, a few configs); pages of this size keep scans bounded. */
const SCAN_PAGE = 1000;

function groupPrefix(group: string): string {
  return `${KvPrefix.raft}${keySegment(group)}/`;
}

const CONF = 'conf/';

function corrupt(key: string, what: string): never {
  throw new FlotillaError('CORRUPT', `raft state ${JSON.stringify(key)}: ${what}`, { key });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function nat(v: unknown, key: string, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) corrupt(key, `${field} is not a non-negative integer`);
  return v;
}

function nodeIds(v: unknown, key: string, field: string): NodeId[] {
  if (!Array.isArray(v)) corrupt(key, `${field} is not a list`);
  return v.map((id, i) => nat(id, key, `${field}[${i}]`));
}

function readMembership(v: unknown, key: string): Membership {
  if (!isObject(v)) corrupt(key, 'membership is not a map');
  return { voters: nodeIds(v.voters, key, 'voters'), learners: nodeIds(v.learners, key, 'learners') };
}

function readHardState(v: unknown, key: string): HardState {
  if (!isObject(v)) corrupt(key, 'not a map');
  return { term: nat(v.term, key, 'term'), vote: nat(v.vote, key, 'vote'), commit: nat(v.commit, key, 'commit') };
}

function readIndexed(v: unknown, key: string): ConfigAt {
  if (!isObject(v)) corrupt(key, 'not a map');
  return { index: nat(v.index, key, 'index'), term: nat(v.term, key, 'term'), membership: readMembership(v.membership, key) };
}

/** Plain copies for storage: only the fields of the type, whatever the caller's object carries. */
function plainMembership(m: Membership): Membership {
  return { voters: [...m.voters], learners: [...m.learners] };
}

export class RaftStateStore {
  readonly group: string;
  private readonly kv: KvStore;
  private readonly prefix: string;
  private hard: HardState;
  private snap: SnapshotMeta;
  /** Every stored config, index order: at most one at or below the snapshot index (the base). */
  private configs: ConfigAt[];
  private destroyed = false;

  private constructor(kv: KvStore, group: string, hard: HardState, snap: SnapshotMeta, configs: ConfigAt[]) {
    this.kv = kv;
    this.group = group;
    this.prefix = groupPrefix(group);
    this.hard = hard;
    this.snap = snap;
    this.configs = configs;
  }

  /** Opens `group`, creating it (bootstrap, synced) when it has no keys yet. */
  static async open(kv: KvStore, group: string, bootstrap: Membership): Promise<RaftStateStore> {
    const prefix = groupPrefix(group);
    const hardKey = `${prefix}hard`;
    const snapKey = `${prefix}snap`;
    const [rawHard, rawSnap] = await kv.getMany([hardKey, snapKey]);
    if (rawHard === undefined && rawSnap === undefined) {
      const hard: HardState = { term: 0, vote: 0, commit: 0 };
      const snap: SnapshotMeta = { index: 0, term: 0, membership: plainMembership(bootstrap) };
      const leftovers = await kv.range({ prefix, limit: 1 });
      if (leftovers.length > 0) corrupt(leftovers[0]![0], 'group has keys but no hard state or snapshot meta');
      await kv.batch([{ type: 'put', key: hardKey, value: hard }, { type: 'put', key: snapKey, value: snap }], { sync: true });
      return new RaftStateStore(kv, group, hard, snap, []);
    }
    if (rawHard === undefined) corrupt(hardKey, 'missing while the snapshot meta exists');
    if (rawSnap === undefined) corrupt(snapKey, 'missing while the hard state exists');
    const hard = readHardState(rawHard, hardKey);
    const snap = readIndexed(rawSnap, snapKey);
    const configs: ConfigAt[] = [];
    for await (const [key, value] of scan(kv, { prefix: `${prefix}${CONF}` }, SCAN_PAGE)) {
      const c = readIndexed(value, key);
      if (key !== `${prefix}${CONF}${keyIndex(c.index)}`) corrupt(key, `holds the config of index ${c.index}`);
      configs.push(c);
    }
    const below = configs.filter((c) => c.index <= snap.index).length;
    if (below > 1) corrupt(`${prefix}${CONF}`, `${below} configs at or below the snapshot index ${snap.index}`);
    return new RaftStateStore(kv, group, hard, snap, configs);
  }

  /** The ids of every group with state in `kv`, in key order. */
  static async listGroups(kv: KvStore): Promise<string[]> {
    const groups: string[] = [];
    for await (const [key] of scan(kv, { prefix: KvPrefix.raft }, SCAN_PAGE)) {
      const rest = key.slice(KvPrefix.raft.length);
      const slash = rest.indexOf('/');
      if (slash > 0 && rest.slice(slash + 1) === 'snap') groups.push(decodeURIComponent(rest.slice(0, slash)));
    }
    return groups;
  }

  /** The state as of the last save (saves are visible at once, durable when their promise resolves). */
  load(): RaftState {
    this.checkUsable();
    const base = this.configs[0] !== undefined && this.configs[0].index <= this.snap.index
      ? this.configs[0]
      : { index: this.snap.index, term: this.snap.term, membership: this.snap.membership };
    return {
      hardState: this.hard,
      snapshotMeta: this.snap,
      configEntries: this.configs.filter((c) => c.index > this.snap.index),
      baseConfig: base,
    };
  }

  /**
   * Applies `change` as one KV batch (see the module doc for the order and the sync rules). The
   * new state is visible to load() at once; the promise resolves when the batch is written.
   */
  save(change: RaftStateChange, options: { readonly sync: boolean }): Promise<void> {
    this.checkUsable();
    const ops: KvOp[] = [];
    let sync = options.sync;
    const confKey = (index: number): string => `${this.prefix}${CONF}${keyIndex(index)}`;

    if (change.hardState) {
      const h = change.hardState;
      const was = this.hard;
      assert(h.term >= was.term, () => `raft state ${this.group}: term went back from ${was.term} to ${h.term}`);
      assert(h.term > was.term || h.vote === was.vote || was.vote === 0, () => `raft state ${this.group}: vote changed from ${was.vote} to ${h.vote} within term ${h.term}`);
      assert(h.commit >= was.commit, () => `raft state ${this.group}: commit went back from ${was.commit} to ${h.commit}`);
      if (h.term !== was.term || h.vote !== was.vote) sync = true;
      this.hard = { term: h.term, vote: h.vote, commit: h.commit };
      ops.push({ type: 'put', key: `${this.prefix}hard`, value: this.hard });
    }

    const configs = this.configs;
    if (change.truncateConfigFrom !== undefined) {
      const n = change.truncateConfigFrom;
      assert(Number.isSafeInteger(n) && n >= 1, () => `raft state ${this.group}: truncateConfigFrom ${n}`);
      assert(n > this.snap.index || change.snapshotMeta !== undefined, () => `raft state ${this.group}: truncate from ${n} at or below the snapshot index ${this.snap.index} without installing a snapshot`);
      while (configs.length > 0 && configs[configs.length - 1]!.index >= n) ops.push({ type: 'del', key: confKey(configs.pop()!.index) });
    }

    for (const c of change.configAppends ?? []) {
      const last = configs[configs.length - 1];
      assert(Number.isSafeInteger(c.index) && c.index > this.snap.index && (last === undefined || c.index > last.index), () => `raft state ${this.group}: config at ${c.index} appended after ${last?.index ?? this.snap.index}`);
      const stored: ConfigAt = { index: c.index, term: c.term, membership: plainMembership(c.membership) };
      configs.push(stored);
      ops.push({ type: 'put', key: confKey(c.index), value: stored });
    }

    if (change.snapshotMeta) {
      const m = change.snapshotMeta;
      assert(m.index >= this.snap.index, () => `raft state ${this.group}: snapshot index went back from ${this.snap.index} to ${m.index}`);
      this.snap = { index: m.index, term: m.term, membership: plainMembership(m.membership) };
      ops.push({ type: 'put', key: `${this.prefix}snap`, value: this.snap });
      // Keep the latest config at or below the snapshot as the base; drop the older ones.
      let atOrBelow = 0;
      while (atOrBelow < configs.length && configs[atOrBelow]!.index <= m.index) atOrBelow++;
      for (const c of configs.splice(0, Math.max(0, atOrBelow - 1))) ops.push({ type: 'del', key: confKey(c.index) });
      sync = true;
    }

    return this.kv.batch(ops, { sync });
  }

  /** Deletes every key of the group (synced); the instance is unusable after. */
  async destroy(): Promise<void> {
    this.checkUsable();
    this.destroyed = true;
    await clearRange(this.kv, { prefix: this.prefix }, { sync: true }, SCAN_PAGE);
  }

  private checkUsable(): void {
    assert(!this.destroyed, () => `raft state ${this.group}: used after destroy()`);
  }
}
