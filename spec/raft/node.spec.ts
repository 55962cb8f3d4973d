import { expect } from 'chai';
import { isFlotillaError } from '../../lib/base/errors.js';
import { membershipOf } from '../../lib/raft/core/membership.js';
import { MemoryGroupStore } from '../../lib/raft/group-store.js';
import { type HostTransport, RaftHost } from '../../lib/raft/host.js';
import { RaftNode } from '../../lib/raft/node.js';
import type { StateMachine } from '../../lib/raft/state-machine.js';
import type { NodeId } from '../../lib/raft/core/types.js';

/** A register state machine: commands are "key=value"; apply returns the index. */
class KvMachine implements StateMachine<number> {
  map = new Map<string, string>();
  apply(command: Uint8Array, index: number): number {
    const [k, v] = Buffer.from(command).toString().split('=');
    this.map.set(k!, v!);
    return index;
  }
  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify([...this.map]));
  }
  restore(data: Uint8Array): void {
    this.map = new Map(JSON.parse(Buffer.from(data).toString()) as [string, string][]);
  }
}

/** In-process links delivering on a later turn; `down` cuts a node off. */
class LocalNet {
  handlers = new Map<NodeId, (from: NodeId, payload: unknown, blobs: readonly Buffer[]) => void>();
  down = new Set<NodeId>();
  transport(id: NodeId): HostTransport {
    return {
      send: (to, payload, blobs) => {
        if (this.down.has(id) || this.down.has(to)) return true;
        // Copies, as a wire would make: nothing is shared between the nodes.
        const copies = (blobs ?? []).map((b) => Buffer.from(b));
        setImmediate(() => {
          if (!this.down.has(to)) this.handlers.get(to)?.(id, structuredClone(payload), copies);
        });
        return true;
      },
      onReceive: (handler) => {
        this.handlers.set(id, handler);
      },
    };
  }
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('RaftNode on RaftHost', () => {
  const ids = [1, 2, 3];
  let net: LocalNet;
  let hosts: RaftHost[];
  let nodes: RaftNode<number>[];
  let machines: KvMachine[];

  beforeEach(async () => {
    net = new LocalNet();
    hosts = [];
    nodes = [];
    machines = [];
    for (const id of ids) {
      const host = new RaftHost({ nodeId: id, transport: net.transport(id), settings: { tickMs: 5 } });
      const sm = new KvMachine();
      const node = await RaftNode.create({
        host, groupId: 'g', store: new MemoryGroupStore(membershipOf(ids)), stateMachine: sm,
        node: { snapshotEntries: 50, snapshotTrailingEntries: 5 },
      });
      host.start();
      hosts.push(host);
      nodes.push(node);
      machines.push(sm);
    }
  });

  afterEach(async () => {
    for (const n of nodes) await n.close();
    for (const h of hosts) await h.close();
  });

  const leader = (): RaftNode<number> | undefined => nodes.find((n) => n.isLeader && !net.down.has(n.nodeId));

  it('elects a leader, applies proposals everywhere and answers with apply results', async () => {
    await until(() => leader() !== undefined);
    const l = leader()!;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => l.propose(Buffer.from(`k${i}=v${i}`))));
    expect(new Set(results).size).to.equal(20);
    await until(() => machines.every((m) => m.map.size === 20));
    const follower = nodes.find((n) => !n.isLeader)!;
    const v = await follower.read(() => machines[nodes.indexOf(follower)]!.map.get('k19'));
    expect(v).to.equal('v19');
  });

  it('refuses a proposal on a follower with the leader id', async () => {
    await until(() => leader() !== undefined);
    const follower = nodes.find((n) => !n.isLeader)!;
    try {
      await follower.propose(Buffer.from('a=b'));
      expect.fail('accepted');
    } catch (err) {
      expect(isFlotillaError(err, 'NOT_LEADER')).to.equal(true);
    }
  });

  it('fails over when the leader is cut off, and catches it up through a snapshot', async () => {
    await until(() => leader() !== undefined);
    const old = leader()!;
    await old.propose(Buffer.from('before=1'));
    net.down.add(old.nodeId);
    await until(() => leader() !== undefined && leader() !== old);
    const fresh = leader()!;
    for (let i = 0; i < 120; i++) await fresh.propose(Buffer.from(`x${i}=${i}`));
    net.down.clear();
    const oldSm = machines[nodes.indexOf(old)]!;
    await until(() => oldSm.map.get('x119') === '119');
    expect(oldSm.map.get('before')).to.equal('1');
  });

  it('an idle group quiesces (only host heartbeats cross the wire) and fails over once the host stops hearing the leader\'s node', async () => {
    await until(() => leader() !== undefined);
    const old = leader()!;
    await old.propose(Buffer.from('before=1'));
    // quiesceTicks 20 at 5 ms ticks: idle for 100 ms.
    await until(() => nodes.every((n) => n.status().quiesced));
    const received = hosts.map((h) => h.stats.messagesReceived);
    await new Promise((r) => setTimeout(r, 100));
    expect(hosts.map((h) => h.stats.messagesReceived), 'Raft messages while quiet').to.deep.equal(received);
    // The leader's node goes silent: after peerSilenceTicks the others wake and elect.
    net.down.add(old.nodeId);
    await until(() => leader() !== undefined && leader() !== old);
    expect(hosts.filter((h) => h.nodeId !== old.nodeId).every((h) => h.stats.wakes >= 1)).to.equal(true);
    await leader()!.propose(Buffer.from('after=2'));
    net.down.clear();
    const oldSm = machines[nodes.indexOf(old)]!;
    await until(() => oldSm.map.get('after') === '2');
  });

  it('transfers leadership', async () => {
    await until(() => leader() !== undefined);
    const l = leader()!;
    const target = nodes.find((n) => n !== l)!;
    await l.transferLeadership(target.nodeId);
    await until(() => target.isLeader);
  });
});

describe('RaftNode restart over a state machine that checkpoints its own applied index', () => {
  it('starts its commit index at that applied index, above the saved commit, and applies only what follows', async () => {
    const net = new LocalNet();
    const store = new MemoryGroupStore(membershipOf([1]));
    let host = new RaftHost({ nodeId: 1, transport: net.transport(1), settings: { tickMs: 5 } });
    const first = new KvMachine();
    let node = await RaftNode.create({ host, groupId: 'g', store, stateMachine: first });
    host.start();
    await until(() => node.isLeader);
    let last = 0;
    for (let i = 0; i < 5; i++) last = await node.propose(Buffer.from(`k${i}=v${i}`));
    expect(node.appliedIndex).to.equal(last);
    // A commit advance alone is not written: the saved hard state trails what was applied.
    expect(store.initialState().hardState.commit).to.be.below(last);
    await node.close();
    await host.close();

    // The state machine's checkpoint says `last` was applied: nothing up to there is applied again.
    const second = new KvMachine();
    const appliedIndexes: number[] = [];
    const apply = second.apply.bind(second);
    second.apply = (command, index) => {
      appliedIndexes.push(index);
      return apply(command, index);
    };
    host = new RaftHost({ nodeId: 1, transport: net.transport(1), settings: { tickMs: 5 } });
    node = await RaftNode.create({ host, groupId: 'g', store, stateMachine: second, appliedIndex: last });
    host.start();
    expect(node.appliedIndex).to.equal(last);
    await until(() => node.isLeader);
    const next = await node.propose(Buffer.from('k9=v9'));
    expect(next).to.be.above(last);
    expect(appliedIndexes.every((i) => i > last)).to.equal(true);
    expect(second.map.get('k9')).to.equal('v9');
    await node.close();
    await host.close();
  });
});
