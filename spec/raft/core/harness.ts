/**
 * A small synchronous harness for unit tests of RaftCore: in-memory durable storage per node that
 * follows the Ready contract, and a network that delivers messages when asked. (The full fault
 * simulator lives in lib/sim; this one keeps unit tests short and exact.)
 */
import { Xoshiro128 } from '../../../lib/base/prng.js';
import { RaftCore } from '../../../lib/raft/core/raft.js';
import { decodeConfigEntry, membershipOf } from '../../../lib/raft/core/membership.js';
import {
  type ConfigAt, type Entry, EntryType, type HardState, type LogReader, type Membership, type Message,
  type NodeId, type Ready, type SnapshotMeta,
} from '../../../lib/raft/core/types.js';

export class MemStorage implements LogReader {
  entriesList: Entry[] = [];
  snap: SnapshotMeta;
  snapData: Uint8Array = new Uint8Array(0);
  hard: HardState = { term: 0, vote: 0, commit: 0 };
  configs: ConfigAt[] = [];
  incoming: Uint8Array[] = [];

  constructor(membership: Membership) {
    this.snap = { index: 0, term: 0, membership };
  }

  firstIndex(): number { return this.snap.index + 1; }
  lastIndex(): number { return this.snap.index + this.entriesList.length; }
  term(index: number): number {
    if (index === this.snap.index) return this.snap.term;
    const e = this.entriesList[index - this.snap.index - 1];
    if (!e) throw new Error(`term(${index}) out of range`);
    return e.term;
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.entriesList[i - this.snap.index - 1];
      if (!e) throw new Error(`entries(${lo}, ${hi}) out of range at ${i}`);
      bytes += e.data.byteLength + 16;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }
  snapshotMeta(): SnapshotMeta { return this.snap; }
  snapshotSize(): number { return this.snapData.byteLength; }
  readSnapshot(offset: number, maxBytes: number): Uint8Array { return this.snapData.subarray(offset, offset + maxBytes); }

  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    this.entriesList.length = first - this.snap.index - 1;
    this.configs = this.configs.filter((c) => c.index < first);
    for (const e of entries) {
      this.entriesList.push(e);
      if (e.type === EntryType.Config) {
        this.configs.push({ index: e.index, term: e.term, membership: decodeConfigEntry(e.data).membership });
      }
    }
  }

  compact(meta: SnapshotMeta, data: Uint8Array): void {
    this.entriesList = this.entriesList.slice(meta.index - this.snap.index);
    this.snap = meta;
    this.snapData = data;
    this.configs = this.configs.filter((c) => c.index > meta.index);
  }
}

export interface TestNode {
  id: NodeId;
  core: RaftCore;
  storage: MemStorage;
  applied: Entry[];
  reads: { id: number; index: number }[];
  dropped: number[];
}

export class Cluster {
  readonly nodes = new Map<NodeId, TestNode>();
  inbox: Message[] = [];
  /** Links cut: "from->to". */
  readonly cut = new Set<string>();
  seed = 1;

  constructor(ids: NodeId[], settings: Record<string, unknown> = {}, membership = membershipOf(ids)) {
    for (const id of ids) this.add(id, membership, settings);
  }

  add(id: NodeId, membership: Membership, settings: Record<string, unknown> = {}): TestNode {
    const storage = new MemStorage(membership);
    const node: TestNode = { id, storage, applied: [], reads: [], dropped: [], core: this.makeCore(id, storage, settings) };
    this.nodes.set(id, node);
    return node;
  }

  private makeCore(id: NodeId, storage: MemStorage, settings: Record<string, unknown>): RaftCore {
    return new RaftCore({
      id, log: storage, prng: new Xoshiro128(this.seed++ * 7919 + id),
      initial: { hardState: storage.hard, configEntries: storage.configs, applied: storage.snap.index },
      settings: { electionTicksMin: 10, electionTicksMax: 20, ...settings },
    });
  }

  /** Restarts a node from its durable storage (volatile state lost). */
  restart(id: NodeId, settings: Record<string, unknown> = {}): void {
    const n = this.node(id);
    n.core = this.makeCore(id, n.storage, settings);
    n.applied = n.applied.filter((e) => e.index <= n.storage.snap.index);
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Processes every node's Ready once (write, send, apply, advance). */
  processReadies(): boolean {
    let any = false;
    for (const n of this.nodes.values()) {
      while (n.core.hasReady()) {
        any = true;
        this.handle(n, n.core.ready());
      }
    }
    return any;
  }

  private handle(n: TestNode, rd: Ready): void {
    this.inbox.push(...rd.messages);
    if (rd.snapshotChunks.length > 0) {
      for (const c of rd.snapshotChunks) {
        if (c.offset === 0) n.storage.incoming = [];
        n.storage.incoming.push(c.data);
      }
    }
    if (rd.snapshot) {
      const data = Buffer.concat(n.storage.incoming);
      n.storage.entriesList = [];
      n.storage.configs = [];
      n.storage.snap = rd.snapshot;
      n.storage.snapData = data;
      n.applied = [{ index: rd.snapshot.index, term: rd.snapshot.term, type: EntryType.Noop, data }];
    }
    n.storage.append(rd.entries);
    if (rd.hardState) n.storage.hard = rd.hardState;
    this.inbox.push(...rd.persistedMessages);
    for (const e of rd.committedEntries) n.applied.push(e);
    n.reads.push(...rd.readStates);
    n.dropped.push(...rd.droppedReads);
    n.core.advance(rd);
  }

  /** Delivers messages until the network is quiet (bounded). */
  deliverAll(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      this.processReadies();
      if (this.inbox.length === 0) return;
      const batch = this.inbox;
      this.inbox = [];
      for (const m of batch) {
        if (this.cut.has(`${m.from}->${m.to}`)) continue;
        this.nodes.get(m.to)?.core.step(m);
      }
    }
    throw new Error('network did not settle');
  }

  tick(times = 1, only?: NodeId[]): void {
    for (let i = 0; i < times; i++) {
      for (const n of this.nodes.values()) if (!only || only.includes(n.id)) n.core.tick();
      this.deliverAll();
    }
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((n) => n.core.role === 3).map((n) => n.id);
  }

  /** Ticks until exactly one leader exists among `among` (bounded). */
  electLeader(among?: NodeId[]): NodeId {
    for (let i = 0; i < 500; i++) {
      const ls = this.leaders().filter((l) => !among || among.includes(l));
      if (ls.length === 1 && this.node(ls[0]!).core.commit >= this.node(ls[0]!).core.status().lastIndex) return ls[0]!;
      this.tick();
    }
    throw new Error('no leader elected');
  }

  propose(leader: NodeId, text: string): number {
    const { firstIndex } = this.node(leader).core.propose([Buffer.from(text)]);
    this.deliverAll();
    return firstIndex;
  }

  appliedTexts(id: NodeId): string[] {
    return this.node(id).applied.filter((e) => e.type === EntryType.Normal).map((e) => Buffer.from(e.data).toString());
  }
}
