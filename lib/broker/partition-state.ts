/**
 * The replicated state of a data partition beside its log, and its snapshot.
 *
 * Applying an entry reports where its batch landed (the log is the state), except for the
 * broker's own control batches, applied alike on every replica at the same point of the log:
 *   LogStart (0x7f03)  int64 offset: the log start offset moves up to it (DeleteRecords, retention)
 *   Clean    (0x7f04)  int16 version 0 | int64 x | int64 h | int64 leader time ms: clean every
 *                      offset below x, removing tombstones below h (compacted topics)
 *
 * Snapshot (a partition's snapshot sits at its log start: docs/design.md "Retention, compaction
 * and partition snapshots"): msgpack map { v: 1, nextOffset, logStartOffset, clean: { x, h,
 * history } }, where nextOffset is the Kafka offset after the snapshot's last entry (a follower's
 * log continues the offsets from there). Values stated "as of now" (above the snapshot's index)
 * are safe: every control batch above is re-applied after an install, and applying is idempotent
 * (maxima; history only grows with x).
 */
import { Packr } from 'msgpackr';
import { FlotillaError } from '../base/errors.js';
import { BatchHeader, decodeRecords, readInt64, writeInt64 } from '../records/batch.js';
import { controlTypeOf } from '../records/compaction.js';
import { ControlType, encodeControlBatch } from '../records/encode.js';
import type { StateMachine } from '../raft/state-machine.js';
import type { CleanCommand, CleanState } from './retention.js';

/** Recent Clean commands kept for the tombstone horizon. */
export const CLEAN_HISTORY_MAX = 64;

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true });

export interface PartitionSnapshot {
  readonly nextOffset: number;
  readonly logStartOffset: number;
  readonly clean: CleanState;
}

export function encodePartitionSnapshot(s: PartitionSnapshot): Uint8Array {
  return packr.pack({ v: 1, nextOffset: s.nextOffset, logStartOffset: s.logStartOffset, clean: { x: s.clean.x, h: s.clean.h, history: s.clean.history.map(([x, t]) => [x, t]) } });
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
  const o = v as { v?: unknown; nextOffset?: unknown; logStartOffset?: unknown; clean?: { x?: unknown; h?: unknown; history?: unknown } };
  const int = (n: unknown, what: string): number => (Number.isSafeInteger(n) && (n as number) >= 0 ? (n as number) : bad(`${what} is not an offset`));
  if (o === null || typeof o !== 'object' || o.v !== 1) bad('unknown version');
  const history = Array.isArray(o.clean?.history) ? o.clean.history : bad('no clean history');
  return {
    nextOffset: int(o.nextOffset, 'nextOffset'),
    logStartOffset: int(o.logStartOffset, 'logStartOffset'),
    clean: {
      x: int(o.clean?.x, 'clean.x'),
      h: int(o.clean?.h, 'clean.h'),
      history: history.map((e: unknown) => (Array.isArray(e) && e.length === 2 ? [int(e[0], 'history x'), int(e[1], 'history time')] as const : bad('a history entry is not [x, time]'))),
    },
  };
}

export function encodeLogStartBatch(offset: number): Buffer {
  const value = Buffer.alloc(8);
  writeInt64(value, 0, offset);
  return encodeControlBatch(ControlType.LogStart, value, 0, 0);
}

export function encodeCleanBatch(cmd: CleanCommand, timeMs: number): Buffer {
  const value = Buffer.alloc(26);
  value.writeInt16BE(0, 0);
  writeInt64(value, 2, cmd.x);
  writeInt64(value, 10, cmd.h);
  writeInt64(value, 18, Math.max(0, Math.floor(timeMs)));
  return encodeControlBatch(ControlType.Clean, value, 0, 0);
}

/** The value of the one record of a (tiny, uncompressed) control batch. */
function controlValue(batch: Uint8Array): Uint8Array | null {
  return decodeRecords(batch, 1)[0]?.value ?? null;
}

export class PartitionState implements StateMachine<number> {
  logStartOffset = 0;
  clean: CleanState = { x: 0, h: 0, history: [] };

  apply(command: Uint8Array): number {
    const header = new BatchHeader(command);
    if (!header.isControl) return header.baseOffset;
    const type = controlTypeOf(command);
    const value = type === ControlType.LogStart || type === ControlType.Clean ? controlValue(command) : null;
    if (type === ControlType.LogStart && value && value.byteLength === 8) {
      this.logStartOffset = Math.max(this.logStartOffset, readInt64(value, 0));
      return this.logStartOffset;
    }
    if (type === ControlType.Clean && value && value.byteLength === 26 && Buffer.from(value).readInt16BE(0) === 0) {
      this.applyClean({ x: readInt64(value, 2), h: readInt64(value, 10) }, readInt64(value, 18));
    }
    return header.baseOffset;
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
  }

  /** The snapshot data for a snapshot whose last entry is followed by Kafka offset `nextOffset`. */
  snapshotData(nextOffset: number): Uint8Array {
    return encodePartitionSnapshot({ nextOffset, logStartOffset: this.logStartOffset, clean: this.clean });
  }
}
