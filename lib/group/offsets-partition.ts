/**
 * OffsetsPartition: one replica of the internal `__consumer_offsets` topic — a StatePartition
 * (lib/broker/state-partition.ts) whose entries are batches of group records (records.ts),
 * msgpack-encoded, one batch per entry.
 *
 * Every replica applies every committed batch to its in-memory state (`applyRecord`) and to
 * LevelDB beside it, under `offsets/<group>/`:
 *
 *   .../o/<consumer group>/<topic>/<partition>   a committed offset
 *   .../g/<consumer group>                       a group's last persisted metadata
 *   .../t/<producer id>                          offsets pending in its open transaction
 *   .../m/<producer id>                          the transaction number of its last marker
 *   .../applied                                  the Raft index the view reflects
 *
 * Snapshots are the whole state, so the log is compacted behind them like any RaftNode's; a
 * restart loads the view from LevelDB, then the RaftNode restores its snapshot and re-applies the
 * entries after it (idempotent: last writer wins per key, in log order).
 *
 * The replica that leads the group, once it has applied an entry of its own term (its state then
 * holds everything committed before), is the coordinator of the consumer groups that hash to this
 * partition: it emits 'coordinator' (true), and (false) when it loses the lead.
 */
import { StatePartition, type StatePartitionOptions, type StateSpec, encodeStateRecords } from '../broker/state-partition.js';
import { FlotillaError } from '../base/errors.js';
import { type KvOp, type KvStore, KvPrefix, keySegment, scan } from '../storage/kv.js';
import {
  type CommittedOffset, type GroupMetadataValue, type GroupRecord, type OffsetsPartitionState, type PendingTxnOffsets,
  applyRecord, emptyPartitionState,
} from './records.js';

/** The internal topic's name (Kafka's). */
export const OFFSETS_TOPIC = '__consumer_offsets';

export type OffsetsPartitionOptions = StatePartitionOptions;

export function encodeGroupRecords(records: readonly GroupRecord[]): Buffer {
  return encodeStateRecords(records);
}

/** msgpack gives binary back as Uint8Array (or Buffer): make the member blobs Buffers. */
function withBuffers(v: GroupMetadataValue): GroupMetadataValue {
  return { ...v, members: v.members.map((m) => ({ ...m, subscription: Buffer.from(m.subscription), assignment: Buffer.from(m.assignment) })) };
}

/** Pending transactional offsets as stored: [group, [offsetKey, offset][]][]. */
interface StoredPending {
  readonly producerEpoch: number;
  readonly offsets: [string, [string, CommittedOffset][]][];
}

interface SnapshotShape {
  readonly offsets: [string, [string, CommittedOffset][]][];
  readonly groups: [string, GroupMetadataValue][];
  readonly pending?: [number, StoredPending][];
  readonly lastTxn?: [number, number][];
}

function storePending(p: PendingTxnOffsets): StoredPending {
  return { producerEpoch: p.producerEpoch, offsets: [...p.offsets].map(([g, m]) => [g, [...m]]) };
}

function loadPending(p: StoredPending): PendingTxnOffsets {
  return { producerEpoch: p.producerEpoch, offsets: new Map(p.offsets.map(([g, entries]) => [g, new Map(entries)])) };
}

function offsetKeyIn(prefix: string, group: string, key: string): string {
  return `${prefix}o/${keySegment(group)}/${keySegment(key)}`;
}

function opsFor(prefix: string, r: Exclude<GroupRecord, { type: 'txn-offset-commit' | 'txn-marker' }>): KvOp[] {
  switch (r.type) {
    case 'offset-commit': {
      const key = offsetKeyIn(prefix, r.groupId, `${r.topic}\u0000${r.partition}`);
      return [{ type: 'put', key, value: {
        offset: r.offset, leaderEpoch: r.leaderEpoch, metadata: r.metadata, commitTimestampMs: r.commitTimestampMs,
        ...(r.expireTimestampMs !== undefined ? { expireTimestampMs: r.expireTimestampMs } : {}),
      } }];
    }
    case 'offset-tombstone':
      return [{ type: 'del', key: offsetKeyIn(prefix, r.groupId, `${r.topic}\u0000${r.partition}`) }];
    case 'group-metadata':
      return [{ type: 'put', key: `${prefix}g/${keySegment(r.groupId)}`, value: r.value }];
    case 'group-tombstone':
      return [{ type: 'del', key: `${prefix}g/${keySegment(r.groupId)}` }];
  }
}

/** Loads the LevelDB view of one offsets partition. */
async function loadView(kv: KvStore, prefix: string): Promise<OffsetsPartitionState> {
  const state = emptyPartitionState();
  for await (const [key, value] of scan(kv, { prefix: `${prefix}o/` }, 1000)) {
    const [group, k] = key.slice(prefix.length + 2).split('/').map((s) => decodeURIComponent(s)) as [string, string];
    let m = state.offsets.get(group);
    if (!m) {
      m = new Map();
      state.offsets.set(group, m);
    }
    m.set(k, value as CommittedOffset);
  }
  for await (const [key, value] of scan(kv, { prefix: `${prefix}g/` }, 1000)) {
    const group = decodeURIComponent(key.slice(prefix.length + 2));
    state.groups.set(group, withBuffers(value as GroupMetadataValue));
  }
  for await (const [key, value] of scan(kv, { prefix: `${prefix}t/` }, 1000)) state.pending.set(Number(key.slice(prefix.length + 2)), loadPending(value as StoredPending));
  for await (const [key, value] of scan(kv, { prefix: `${prefix}m/` }, 1000)) state.lastTxn.set(Number(key.slice(prefix.length + 2)), value as number);
  return state;
}

/** The offsets topic's kind of state partition. */
export const offsetsStateSpec: StateSpec<GroupRecord, OffsetsPartitionState> = {
  domain: KvPrefix.offsets,
  decode(value: unknown): GroupRecord {
    if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
      throw new FlotillaError('CORRUPT', 'an offsets entry holds something that is not a group record');
    }
    const r = value as GroupRecord;
    return r.type === 'group-metadata' ? { ...r, value: withBuffers(r.value) } : r;
  },
  apply(state, record, prefix) {
    if (record.type === 'txn-marker') {
      const pending = state.pending.get(record.producerId);
      const stale = (state.lastTxn.get(record.producerId) ?? -1) >= record.txn;
      applyRecord(state, record);
      if (stale) return [];
      const ops: KvOp[] = [{ type: 'del', key: `${prefix}t/${record.producerId}` }, { type: 'put', key: `${prefix}m/${record.producerId}`, value: record.txn }];
      if (record.commit && pending) for (const [g, m] of pending.offsets) for (const [k, o] of m) ops.push({ type: 'put', key: offsetKeyIn(prefix, g, k), value: o });
      return ops;
    }
    applyRecord(state, record);
    if (record.type === 'txn-offset-commit') {
      return [{ type: 'put', key: `${prefix}t/${record.producerId}`, value: storePending(state.pending.get(record.producerId)!) }];
    }
    return opsFor(prefix, record);
  },
  snapshot(state): SnapshotShape {
    return {
      offsets: [...state.offsets].map(([g, m]) => [g, [...m]]),
      groups: [...state.groups],
      pending: [...state.pending].map(([p, v]) => [p, storePending(v)]),
      lastTxn: [...state.lastTxn],
    };
  },
  restore(state, value, prefix) {
    const shape = value as SnapshotShape;
    state.offsets.clear();
    state.groups.clear();
    state.pending.clear();
    state.lastTxn.clear();
    for (const [g, entries] of shape.offsets) state.offsets.set(g, new Map(entries));
    for (const [g, v] of shape.groups) state.groups.set(g, withBuffers(v));
    for (const [p, v] of shape.pending ?? []) state.pending.set(p, loadPending(v));
    for (const [p, t] of shape.lastTxn ?? []) state.lastTxn.set(p, t);
    const ops: KvOp[] = [];
    for (const [g, m] of state.offsets) for (const [k, o] of m) ops.push({ type: 'put', key: offsetKeyIn(prefix, g, k), value: o });
    for (const [g, v] of state.groups) ops.push({ type: 'put', key: `${prefix}g/${keySegment(g)}`, value: v });
    for (const [p, v] of state.pending) ops.push({ type: 'put', key: `${prefix}t/${p}`, value: storePending(v) });
    for (const [p, t] of state.lastTxn) ops.push({ type: 'put', key: `${prefix}m/${p}`, value: t });
    return ops;
  },
  load: loadView,
  describe: (state) => ({ groups: state.groups.size }),
};

/** Its `log` is a GroupLog with the read barrier OffsetFetch passes (linearizable reads). */
export class OffsetsPartition extends StatePartition<GroupRecord, OffsetsPartitionState> {

  static open(options: OffsetsPartitionOptions): Promise<OffsetsPartition> {
    return StatePartition.openWith(offsetsStateSpec, options, (node, store, state, prefix) => new OffsetsPartition(offsetsStateSpec, options, node, store, state, prefix));
  }
}
