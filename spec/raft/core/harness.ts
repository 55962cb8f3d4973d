/**
 * A small synchronous harness for unit tests of RaftCore: each node's durable state is a
 * MemoryGroupStore (the library's in-memory GroupStore, which follows the Ready contract), and a
 * network delivers messages when asked. The simulator's richer transcript harness is
 * lib/sim/harness.ts; this one keeps the core's API tests short.
 */
import { Xoshiro128 } from '../../../lib/base/prng.js';
import { RaftCore } from '../../../lib/raft/core/raft.js';
import { membershipOf } from '../../../lib/raft/core/membership.js';
import { type Entry, EntryType, type Membership, type Message, type NodeId, type Ready } from '../../../lib/raft/core/types.js';
import { MemoryGroupStore } from '../../../lib/raft/group-store.js';

export interface TestNode {
  id: NodeId;
  core: RaftCore;
  storage: MemoryGroupStore;
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
    const storage = new MemoryGroupStore(membership);
    const node: TestNode = { id, storage, applied: [], reads: [], dropped: [], core: this.makeCore(id, storage, settings) };
    this.nodes.set(id, node);
    return node;
  }

  private makeCore(id: NodeId, storage: MemoryGroupStore, settings: Record<string, unknown>): RaftCore {
    return new RaftCore({
      id, log: storage, prng: new Xoshiro128(this.seed++ * 7919 + id),
      initial: storage.initialState(),
      settings: { electionTicksMin: 10, electionTicksMax: 20, ...settings },
    });
  }

  /** Restarts a node from its durable storage (volatile state lost). */
  restart(id: NodeId, settings: Record<string, unknown> = {}): void {
    const n = this.node(id);
    n.core = this.makeCore(id, n.storage, settings);
    n.applied = n.applied.filter((e) => e.index <= n.storage.snapshotMeta().index);
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
    n.storage.stage(rd);
    if (rd.snapshot) {
      const data = n.storage.readSnapshot(0, n.storage.snapshotSize());
      n.applied = [{ index: rd.snapshot.index, term: rd.snapshot.term, type: EntryType.Noop, data }];
    }
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
