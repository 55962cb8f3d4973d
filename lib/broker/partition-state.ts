/**
 * The replicated state of a data partition beside its log, and its snapshot.
 *
 * Applying an entry reports where its batch landed (the log is the state), except for the
 * broker's own control batches, applied alike on every replica at the same point of the log:
 *   LogStart (0x7f03)  int64 offset: the log start offset moves up to it (DeleteRecords, retention)
 *   Clean    (0x7f04)  int16 version 0 | int64 x | int64 h | int64 leader time ms: clean every
 *                      offset below x, removing tombstones below h (compacted topics)
 * and it keeps the producer state (producer-state.ts) of idempotent and transactional batches and
 * of COMMIT/ABORT markers: the verdict on each (appended, a duplicate with the original offsets,
 * or refused; the last two hide the entry) is taken here, on the log order.
 *
 * Snapshot (a partition's snapshot sits at its log start: docs/design.md "Retention, compaction
 * and partition snapshots"): msgpack map { v: 1, nextOffset, offsetLayout? (2; absent = 1), logStartOffset, clean: { x, h,
 * history }, producers? (ProducerCheckpoint) }, where nextOffset is the Kafka offset after the snapshot's last entry (a follower's
 * log continues the offsets from there). Values stated "as of now" (above the snapshot's index)
 * are safe: every control batch above is re-applied after an install, and applying is idempotent
 * (maxima; history only grows with x; producer entries at or below a producer's last applied
 * offset are recognised as already in the state).
 */
import { Packr } from 'msgpackr';
import { FlotillaError } from '../base/errors.js';
import { Attributes, BatchHeader, decodeRecords, readInt64, writeInt64 } from '../records/batch.js';
import { controlTypeOf } from '../records/compaction.js';
import { ControlType, controlKey, encodeBatch, encodeControlBatch } from '../records/encode.js';
import type { StateMachine } from '../raft/state-machine.js';
import type { OffsetLayout } from '../storage/segment-codec.js';
import { type MarkerFacts, type ProducerBatch, type ProducerCheckpoint, ProducerStateTable, type RejectCode, lastSequenceOf } from './producer-state.js';
import type { CleanCommand, CleanState } from './retention.js';

/** Recent Clean commands kept for the tombstone horizon. */
export const CLEAN_HISTORY_MAX = 64;

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export interface PartitionSnapshot {
  readonly nextOffset: number;
  /** The offset layout of the log it continues (absent: 1, snapshots taken before layouts). */
  readonly offsetLayout?: OffsetLayout;
  readonly logStartOffset: number;
  readonly clean: CleanState;
  /** The producer state (absent in snapshots taken before idempotence). */
  readonly producers?: ProducerCheckpoint;
}

export function encodePartitionSnapshot(s: PartitionSnapshot): Uint8Array {
  return packr.pack({
    v: 1, nextOffset: s.nextOffset, ...(s.offsetLayout === 2 ? { offsetLayout: 2 } : {}), logStartOffset: s.logStartOffset, clean: { x: s.clean.x, h: s.clean.h, history: s.clean.history.map(([x, t]) => [x, t]) },
    ...(s.producers ? { producers: s.producers } : {}),
  });
}

export function decodePartitionSnapshot(data: Uint8Array): PartitionSnapshot {
  const bad = (why: string): never => {
    throw new FlotillaError('CORRUPT', `partition snapshot: ${why}`);
  };
  let v: unknown;
  try {
    v = packr.unpack(data);
  } catch (err) {
    bad(`not msgpack (${(err as Error).message})`);
  }
  const o = v as { v?: unknown; nextOffset?: unknown; offsetLayout?: unknown; logStartOffset?: unknown; clean?: { x?: unknown; h?: unknown; history?: unknown }; producers?: unknown };
  const int = (n: unknown, what: string): number => (Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : bad(`${what} is not an offset`));
  if (o === null || typeof o !== 'object' || o.v !== 1) bad('unknown version');
  const history = Array.isArray(o.clean?.history) ? o.clean.history : bad('no clean history');
  if (o.offsetLayout !== undefined && o.offsetLayout !== 1 && o.offsetLayout !== 2) bad('offsetLayout is not 1 or 2');
  return {
    nextOffset: int(o.nextOffset, 'nextOffset'),
    ...(o.offsetLayout === 2 ? { offsetLayout: 2 as const } : {}),
    logStartOffset: int(o.logStartOffset, 'logStartOffset'),
    clean: {
      x: int(o.clean?.x, 'clean.x'),
      h: int(o.clean?.h, 'clean.h'),
      history: history.map((e: unknown) => (Array.isArray(e) && e.length === 2 ? [int(e[0], 'history x'), int(e[1], 'history time')] as const : bad('a history entry is not [x, time]'))),
    },
    ...(o.producers !== undefined ? { producers: o.producers as ProducerCheckpoint } : {}),
  };
}

/** What applying one partition entry tells its proposer. */
export type PartitionApplied =
  | { readonly kind: 'appended'; readonly offset: number }
  /** A retry of a batch already in the log: `offset` is the original's (this entry is hidden). */
  | { readonly kind: 'duplicate'; readonly offset: number }
  /** Refused on the log order (this entry is hidden). */
  | { readonly kind: 'rejected'; readonly code: RejectCode; readonly message: string };

/** What a partition keeps in LevelDB beside its log (`producers/<group>`): its state as of `applied`. */
export interface SavedPartitionState {
  readonly applied: number;
  readonly term: number;
  readonly logStartOffset: number;
  readonly clean: CleanState;
  readonly producers: ProducerCheckpoint;
}

/** The facts producer state reads of a data batch's header. */
export function producerBatchOf(h: BatchHeader): ProducerBatch {
  return {
    producerId: h.producerId,
    producerEpoch: h.producerEpoch,
    baseSequence: h.baseSequence,
    lastSequence: h.baseSequence < 0 ? h.baseSequence : lastSequenceOf(h.baseSequence, h.lastOffsetDelta),
    transactional: h.isTransactional,
    maxTimestamp: h.maxTimestamp,
  };
}

/**
 * The value of a COMMIT/ABORT marker record: Kafka's EndTransactionMarker v0 (int16 version 0,
 * int32 coordinatorEpoch) followed by Flotilla's int64 transaction number (readers of v0 read the
 * first six bytes only), which names exactly the transaction the marker ends.
 */
export function encodeMarkerValue(coordinatorEpoch: number, txn: number): Buffer {
  const v = Buffer.alloc(14);
  v.writeInt16BE(0, 0);
  v.writeInt32BE(coordinatorEpoch, 2);
  writeInt64(v, 6, txn);
  return v;
}

/** A COMMIT or ABORT control batch of one producer (Kafka's layout, research 2.4). */
export function encodeMarkerBatch(m: MarkerFacts): Buffer {
  return encodeBatch({
    records: [{ key: controlKey(m.commit ? ControlType.Commit : ControlType.Abort), value: encodeMarkerValue(m.coordinatorEpoch, m.txn) }],
    attributes: Attributes.Control | Attributes.Transactional,
    producerId: m.producerId,
    producerEpoch: m.producerEpoch,
    baseSequence: -1,
  });
}

/** A marker's facts, or null when the control batch is not a well-formed COMMIT/ABORT marker. */
function markerOf(command: Uint8Array, header: BatchHeader): MarkerFacts | null {
  if (!header.isTransactional || header.producerId < 0) return null;
  const [record] = decodeRecords(command, 1);
  const key = record?.key;
  const value = record?.value;
  if (!key || key.byteLength < 4 || !value || value.byteLength < 6) return null;
  const k = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  const type = k.readInt16BE(2);
  if (k.readInt16BE(0) !== 0 || (type !== ControlType.Abort && type !== ControlType.Commit)) return null;
  const v = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return {
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    commit: type === ControlType.Commit,
    coordinatorEpoch: v.readInt32BE(2),
    txn: v.byteLength >= 14 ? readInt64(v, 6) : -1,
  };
}

/**
 * The value of the one control record served for a run of entries that hold offsets but no client
 * record (the fetch tail rule, Partition.read): [int16 0, int32 -1], the shape of Kafka's
 * EndTransactionMarker, because Sarama before 1.29 decodes every control record's value that way
 * and loses records of the same answer when it is shorter.
 */
const GAP_VALUE = Buffer.from([0, 0, 0xff, 0xff, 0xff, 0xff]);

/**
 * What an entry that holds offsets but no client record (hidden by producer state, emptied by
 * compaction, or an internal entry of a layout-1 topic) is served as when a fetch answer would
 * otherwise hold no record: one Flotilla control record (0x7f06) at the entry's last offset, so
 * every client moves past it.
 */
export function skippedBatch(stored: Buffer): Buffer {
  const h = new BatchHeader(stored);
  return encodeBatch({
    records: [{ key: controlKey(ControlType.Skipped), value: GAP_VALUE, offsetDelta: h.lastOffsetDelta }],
    baseOffset: h.baseOffset,
    partitionLeaderEpoch: h.partitionLeaderEpoch,
    attributes: Attributes.Control,
  });
}

/** A LogStart control batch; zero-width (no Kafka offset) in a layout-2 partition. */
export function encodeLogStartBatch(offset: number, layout: OffsetLayout = 1): Buffer {
  const value = Buffer.alloc(8);
  writeInt64(value, 0, offset);
  return encodeControlBatch(ControlType.LogStart, value, 0, 0, layout === 2);
}

/** A Clean control batch; zero-width (no Kafka offset) in a layout-2 partition. */
export function encodeCleanBatch(cmd: CleanCommand, timeMs: number, layout: OffsetLayout = 1): Buffer {
  const value = Buffer.alloc(26);
  value.writeInt16BE(0, 0);
  writeInt64(value, 2, cmd.x);
  writeInt64(value, 10, cmd.h);
  writeInt64(value, 18, Math.max(0, Math.floor(timeMs)));
  return encodeControlBatch(ControlType.Clean, value, 0, 0, layout === 2);
}

/** The value of the one record of a (tiny, uncompressed) control batch. */
function controlValue(batch: Uint8Array): Uint8Array | null {
  return decodeRecords(batch, 1)[0]?.value ?? null;
}

export class PartitionState implements StateMachine<PartitionApplied> {
  logStartOffset = 0;
  clean: CleanState = { x: 0, h: 0, history: [] };
  readonly producers = new ProducerStateTable();

  apply(command: Uint8Array, index: number): PartitionApplied {
    const header = new BatchHeader(command);
    if (!header.isControl) return this.applyData(header, index);
    const marker = markerOf(command, header);
    if (marker !== null) return this.applyMarker(marker, header, index);
    const type = controlTypeOf(command);
    const value = type === ControlType.LogStart || type === ControlType.Clean ? controlValue(command) : null;
    if (type === ControlType.LogStart && value && value.byteLength === 8) {
      this.logStartOffset = Math.max(this.logStartOffset, readInt64(value, 0));
      return { kind: 'appended', offset: this.logStartOffset };
    }
    if (type === ControlType.Clean && value && value.byteLength === 26 && Buffer.from(value).readInt16BE(0) === 0) {
      this.applyClean({ x: readInt64(value, 2), h: readInt64(value, 10) }, readInt64(value, 18));
    }
    return { kind: 'appended', offset: header.baseOffset };
  }

  private applyData(header: BatchHeader, index: number): PartitionApplied {
    const appended: PartitionApplied = { kind: 'appended', offset: header.baseOffset };
    if (header.producerId < 0 && !header.isTransactional) return appended;
    if (this.producers.isReflected(header.producerId, header.baseOffset)) return appended;
    const batch = producerBatchOf(header);
    const verdict = this.producers.verdict(batch);
    if (verdict.kind === 'append') {
      this.producers.append(batch, header.baseOffset, header.lastOffset, index);
      return appended;
    }
    this.producers.hide(index);
    return verdict.kind === 'duplicate' ? { kind: 'duplicate', offset: verdict.firstOffset } : { kind: 'rejected', code: verdict.code, message: verdict.message };
  }

  private applyMarker(marker: MarkerFacts, header: BatchHeader, index: number): PartitionApplied {
    if (this.producers.isReflected(marker.producerId, header.baseOffset)) return { kind: 'appended', offset: header.baseOffset };
    const verdict = this.producers.applyMarker(marker, header.baseOffset, index);
    if (verdict.kind === 'append') return { kind: 'appended', offset: header.baseOffset };
    this.producers.hide(index);
    return verdict.kind === 'duplicate' ? { kind: 'duplicate', offset: header.baseOffset } : { kind: 'rejected', code: verdict.code, message: verdict.message };
  }

  private applyClean(cmd: CleanCommand, timeMs: number): void {
    const x = Math.max(this.clean.x, cmd.x);
    const h = Math.min(Math.max(this.clean.h, cmd.h), x);
    let history = this.clean.history;
    if (cmd.x > this.clean.x) history = [...history, [cmd.x, timeMs] as const].slice(-CLEAN_HISTORY_MAX);
    this.clean = { x, h, history };
  }

  snapshot(): Uint8Array {
    throw new Error('a partition snapshot is taken at its log start with snapshotAt (see Partition.trimLog)');
  }

  restore(data: Uint8Array): void {
    const s = decodePartitionSnapshot(data);
    this.logStartOffset = s.logStartOffset;
    this.clean = s.clean;
    if (s.producers) this.producers.restore(s.producers);
    else this.producers.clear();
  }

  /** The snapshot data for a snapshot whose last entry is followed by Kafka offset `nextOffset`. */
  snapshotData(nextOffset: number, offsetLayout: OffsetLayout = 1): Uint8Array {
    return encodePartitionSnapshot({ nextOffset, offsetLayout, logStartOffset: this.logStartOffset, clean: this.clean, producers: this.producers.toCheckpoint() });
  }

  /** The state as of applied index `applied` (whose entry has `term`), for LevelDB. */
  save(applied: number, term: number): SavedPartitionState {
    return { applied, term, logStartOffset: this.logStartOffset, clean: this.clean, producers: this.producers.toCheckpoint() };
  }

  load(saved: SavedPartitionState): void {
    this.logStartOffset = saved.logStartOffset;
    this.clean = saved.clean;
    this.producers.restore(saved.producers);
  }
}
