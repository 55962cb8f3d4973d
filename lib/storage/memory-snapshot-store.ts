/**
 * MemorySnapshotStore: the in-memory twin of FileSnapshotStore, passing the same conformance suite
 * (spec/storage/snapshot-store-conformance.ts): same rules for offsets, limits, "not newer is
 * discarded", one incoming snapshot at a time. `crashImage()` returns what a crash would leave:
 * the latest installed snapshot, no incoming one.
 */
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import type { SnapshotMeta } from '../raft/core/types.js';
import {
  type IncomingState, type SnapshotSettings, type SnapshotStore, plainMeta, validateSnapshotSettings,
} from './snapshot-store.js';

interface Held {
  readonly meta: SnapshotMeta;
  readonly data: Uint8Array;
}

export class MemorySnapshotStore implements SnapshotStore {
  readonly settings: SnapshotSettings;
  private current: Held | null;
  private writing: { meta: SnapshotMeta; parts: Uint8Array[]; accepted: number } | null = null;
  private closed = false;

  constructor(settings?: Readonly<Record<string, unknown>>, current: Held | null = null) {
    this.settings = validateSnapshotSettings(settings);
    this.current = current;
  }

  latest(): SnapshotMeta | null {
    return this.current?.meta ?? null;
  }

  size(): number {
    return this.current?.data.byteLength ?? 0;
  }

  read(offset: number, maxBytes: number): Uint8Array {
    this.checkOpen();
    const cur = this.current;
    assert(cur !== null, 'snapshot: read with no snapshot');
    assert(Number.isSafeInteger(offset) && offset >= 0 && offset <= cur.data.byteLength, () => `snapshot: read at ${offset} outside 0..${cur.data.byteLength}`);
    assert(Number.isSafeInteger(maxBytes) && maxBytes >= 1 && maxBytes <= this.settings.readBytesMax, () => `snapshot: read of ${maxBytes} bytes outside 1..${this.settings.readBytesMax}`);
    return Buffer.from(cur.data.subarray(offset, offset + maxBytes));
  }

  async *chunks(chunkBytes = 1024 * 1024): AsyncGenerator<Uint8Array> {
    this.checkOpen();
    const cur = this.current;
    if (cur === null) return;
    const step = Math.min(chunkBytes, this.settings.readBytesMax);
    for (let offset = 0; offset < cur.data.byteLength; offset += step) yield Buffer.from(cur.data.subarray(offset, offset + step));
  }

  async readAll(): Promise<Uint8Array> {
    this.checkOpen();
    const size = this.size();
    if (size > this.settings.readAllBytesMax) throw new FlotillaError('TOO_LARGE', `snapshot of ${size} bytes exceeds readAllBytesMax ${this.settings.readAllBytesMax}`);
    return Buffer.from(this.current?.data ?? new Uint8Array(0));
  }

  incoming(): IncomingState | null {
    const w = this.writing;
    return w === null ? null : { meta: w.meta, offset: w.accepted };
  }

  async beginIncoming(meta: SnapshotMeta): Promise<void> {
    this.checkOpen();
    assert(Number.isSafeInteger(meta.index) && meta.index >= 0 && Number.isSafeInteger(meta.term) && meta.term >= 0, () => `snapshot: bad meta ${meta.index}/${meta.term}`);
    this.writing = { meta: plainMeta(meta), parts: [], accepted: 0 };
  }

  /** Not async, like the file store's: a wrong offset throws at once (a programmer error). */
  writeChunk(offset: number, bytes: Uint8Array): Promise<void> {
    this.checkOpen();
    const w = this.writing;
    assert(w !== null, 'snapshot: writeChunk with no incoming snapshot');
    assert(offset === w.accepted, () => `snapshot: chunk at offset ${offset}, expected ${w.accepted}`);
    if (w.accepted + bytes.byteLength > this.settings.snapshotBytesMax) {
      return Promise.reject(new FlotillaError('TOO_LARGE', `snapshot exceeds snapshotBytesMax ${this.settings.snapshotBytesMax}`));
    }
    w.parts.push(Buffer.from(bytes));
    w.accepted += bytes.byteLength;
    return Promise.resolve();
  }

  async finishIncoming(): Promise<boolean> {
    this.checkOpen();
    const w = this.writing;
    assert(w !== null, 'snapshot: finishIncoming with no incoming snapshot');
    this.writing = null;
    return this.install(w.meta, Buffer.concat(w.parts));
  }

  async abortIncoming(): Promise<void> {
    this.writing = null;
  }

  async writeLocal(meta: SnapshotMeta, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<boolean> {
    this.checkOpen();
    assert(Number.isSafeInteger(meta.index) && meta.index >= 0 && Number.isSafeInteger(meta.term) && meta.term >= 0, () => `snapshot: bad meta ${meta.index}/${meta.term}`);
    const parts: Uint8Array[] = [];
    let bytes = 0;
    for await (const part of data instanceof Uint8Array ? [data] : data) {
      bytes += part.byteLength;
      if (bytes > this.settings.snapshotBytesMax) throw new FlotillaError('TOO_LARGE', `snapshot exceeds snapshotBytesMax ${this.settings.snapshotBytesMax}`);
      parts.push(Buffer.from(part));
    }
    return this.install(plainMeta(meta), Buffer.concat(parts));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.writing = null;
  }

  /** A new store holding what a crash now would leave: the latest snapshot, nothing incoming. */
  crashImage(): MemorySnapshotStore {
    return new MemorySnapshotStore(this.settings, this.current);
  }

  private install(meta: SnapshotMeta, data: Uint8Array): boolean {
    if (this.current !== null && meta.index <= this.current.meta.index) return false;
    this.current = { meta, data };
    return true;
  }

  private checkOpen(): void {
    if (this.closed) throw new FlotillaError('CLOSED', 'snapshot store is closed');
  }
}
