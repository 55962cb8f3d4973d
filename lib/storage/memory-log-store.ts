/**
 * MemoryLogStore: the in-memory twin of SegmentLogStore. Same contract (the conformance suite runs
 * against both), durable for the life of the object; `flush` resolves at once. `compact` drops
 * entries in steps of `compactStep` to mimic segment boundaries (1: exact).
 */
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import { type Entry, entryBytes } from '../raft/core/types.js';
import { type LogStore, checkAppend } from './log-store.js';

export class MemoryLogStore implements LogStore {
  private log: Entry[] = [];
  private start = 1;
  private prevTerm = 0;
  private closed = false;
  private readonly compactStep: number;

  constructor(options: { compactStep?: number } = {}) {
    this.compactStep = options.compactStep ?? 1;
    assert(Number.isInteger(this.compactStep) && this.compactStep >= 1, 'compactStep must be a positive integer');
  }

  firstIndex(): number {
    return this.start;
  }

  lastIndex(): number {
    return this.start + this.log.length - 1;
  }

  term(index: number): number {
    this.checkOpen();
    if (index === this.start - 1) return this.prevTerm;
    assert(index >= this.start && index <= this.lastIndex(), () => `term(${index}) outside [${this.start - 1}, ${this.lastIndex()}]`);
    return (this.log[index - this.start] as Entry).term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    this.checkOpen();
    assert(lo >= this.start && hi <= this.lastIndex() + 1 && lo <= hi, () => `entries(${lo}, ${hi}) outside [${this.start}, ${this.lastIndex() + 1}]`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.log[i - this.start] as Entry;
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  append(entries: readonly Entry[]): void {
    this.checkOpen();
    const problem = checkAppend(this, entries);
    assert(problem === null, () => `MemoryLogStore.append: ${problem}`);
    const first = entries[0];
    if (first === undefined) return;
    this.log.length = first.index - this.start;
    for (const e of entries) this.log.push({ index: e.index, term: e.term, type: e.type, data: e.data });
  }

  flush(): Promise<void> {
    this.checkOpen();
    return Promise.resolve();
  }

  compact(upToIndex: number): void {
    this.checkOpen();
    const last = Math.min(upToIndex, this.lastIndex());
    const drop = Math.floor((last - this.start + 1) / this.compactStep) * this.compactStep;
    if (drop <= 0) return;
    this.prevTerm = (this.log[drop - 1] as Entry).term;
    this.log = this.log.slice(drop);
    this.start += drop;
  }

  reset(index: number, term: number): void {
    this.checkOpen();
    assert(Number.isInteger(index) && index >= 0 && Number.isInteger(term) && term >= 0, () => `reset(${index}, ${term})`);
    this.log = [];
    this.start = index + 1;
    this.prevTerm = term;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new FlotillaError('CLOSED', 'the log store is closed');
  }
}
