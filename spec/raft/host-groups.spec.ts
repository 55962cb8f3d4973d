/**
 * Many groups per process: RaftHost.createGroup / removeGroup / group / groupIds, each group with
 * its own membership, on three hosts over the in-memory transport, with memory and disk storage.
 * Everything through the package entry, as a library user would.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  type GroupStorage, MemoryGroupStorage, MemoryNetwork, type MemoryTransport, type NodeId, RaftHost, type RaftNode, type StateMachine,
  isFlotillaError, openDiskGroupStorage, systemClock,
} from '../../lib/index.js';

/** "key=value" commands; apply returns the index. */
class Kv implements StateMachine<number> {
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
    this.map = data.byteLength === 0 ? new Map() : new Map(JSON.parse(Buffer.from(data).toString()) as [string, string][]);
  }
}

async function until(cond: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function expectError(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(isFlotillaError(err), String(err)).to.equal(true);
    expect((err as { code: string }).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

const IDS: NodeId[] = [1, 2, 3];

describe('RaftHost: many groups per process', function () {
  this.timeout(30_000);
  let net: MemoryNetwork;
  let hosts: Map<NodeId, RaftHost>;
  let storages: Map<NodeId, GroupStorage>;
  let machines: Map<string, Kv>;
  let transports: Map<NodeId, MemoryTransport>;

  async function startHost(id: NodeId, storage: GroupStorage, settings: Record<string, unknown> = {}): Promise<RaftHost> {
    const transport = net.transport(id);
    transport.setPeers(new Map(IDS.filter((p) => p !== id).map((p) => [p, { host: 'memory', port: p }])));
    await transport.start();
    transports.set(id, transport);
    const host = new RaftHost({ nodeId: id, transport, storage, settings: { tickMs: 5, ...settings } });
    host.start();
    hosts.set(id, host);
    storages.set(id, storage);
    return host;
  }

  /** Creates group `g` on each node of `on`; a new group gets `members` as voters. */
  async function create(g: string, on: readonly NodeId[], members: readonly NodeId[] | undefined): Promise<RaftNode<number>[]> {
    return Promise.all(on.map(async (id) => {
      const sm = new Kv();
      machines.set(`${g}@${id}`, sm);
      return hosts.get(id)!.createGroup<number>({ groupId: g, stateMachine: sm, members, node: { snapshotEntries: 20, snapshotTrailingEntries: 2 } });
    }));
  }

  const leaderOf = (g: string): RaftNode<number> | undefined => {
    for (const h of hosts.values()) {
      const n = h.group<number>(g);
      if (n?.isLeader) return n;
    }
    return undefined;
  };

  beforeEach(() => {
    net = new MemoryNetwork();
    hosts = new Map();
    storages = new Map();
    machines = new Map();
    transports = new Map();
  });

  afterEach(async () => {
    for (const h of hosts.values()) await h.close();
    for (const s of storages.values()) await s.close();
    for (const t of transports.values()) await t.close();
  });

  it('creates groups at run time, each with its own membership, and commits in every one', async () => {
    for (const id of IDS) await startHost(id, new MemoryGroupStorage());
    // 30 groups over three hosts, on different member sets: all three, or two of them.
    const sets: NodeId[][] = [[1, 2, 3], [1, 2], [2, 3], [1, 3]];
    const groups = Array.from({ length: 30 }, (_, i) => ({ id: `shard-${i}`, members: sets[i % sets.length]! }));
    for (const g of groups) await create(g.id, g.members, g.members);
    for (const id of IDS) {
      expect(hosts.get(id)!.groupIds().sort()).to.deep.equal(groups.filter((g) => g.members.includes(id)).map((g) => g.id).sort());
    }
    for (const g of groups) await until(() => leaderOf(g.id) !== undefined, 10_000, `a leader of ${g.id}`);
    await Promise.all(groups.map(async (g) => {
      const leader = leaderOf(g.id)!;
      expect(leader.membership.voters.slice().sort()).to.deep.equal(g.members.slice().sort());
      for (let i = 0; i < 5; i++) await leader.propose(Buffer.from(`${g.id}-k${i}=v${i}`));
    }));
    for (const g of groups) {
      await until(() => g.members.every((id) => machines.get(`${g.id}@${id}`)!.map.size === 5), 5000, `${g.id} applied everywhere`);
      // A group's state is its own: nothing of another group reached it.
      for (const id of g.members) expect([...machines.get(`${g.id}@${id}`)!.map.keys()].every((k) => k.startsWith(`${g.id}-`))).to.equal(true);
    }
    // A host not in a group runs no replica of it.
    expect(hosts.get(3)!.group('shard-1')).to.equal(undefined);
  });

  it('refuses a duplicate group, one past host.maxGroups, one without storage, and after close', async () => {
    const host = await startHost(1, new MemoryGroupStorage(), { maxGroups: 2 });
    await expectError(host.createGroup({ groupId: 'x', stateMachine: new Kv(), members: [], learners: [2] }), 'INVALID_REQUEST');
    const a = host.createGroup({ groupId: 'a', stateMachine: new Kv(), members: [1] });
    await expectError(host.createGroup({ groupId: 'a', stateMachine: new Kv(), members: [1] }), 'INVALID_REQUEST'); // while being created
    await a;
    await expectError(host.createGroup({ groupId: 'a', stateMachine: new Kv(), members: [1] }), 'INVALID_REQUEST'); // running
    await host.createGroup({ groupId: 'b', stateMachine: new Kv(), members: [1] });
    await expectError(host.createGroup({ groupId: 'c', stateMachine: new Kv(), members: [1] }), 'BACKPRESSURE');
    expect(await host.removeGroup('b')).to.equal(true);
    expect(await host.removeGroup('b')).to.equal(false);
    await host.createGroup({ groupId: 'c', stateMachine: new Kv(), members: [1] });
    const bare = new RaftHost({ nodeId: 2, transport: net.transport(2) });
    await expectError(bare.createGroup({ groupId: 'a', stateMachine: new Kv(), members: [2] }), 'INVALID_CONFIG');
    await bare.close();
    const c = host.group('c')!;
    await host.close();
    await expectError(host.createGroup({ groupId: 'd', stateMachine: new Kv(), members: [1] }), 'CLOSED');
    // close() closed the groups still running.
    await expectError(c.propose(Buffer.from('k=v')), 'CLOSED');
    expect(host.groupIds()).to.deep.equal([]);
  });

  it('moves a group to another node: joins empty, is added and promoted, the old replica is removed and deleted', async () => {
    for (const id of IDS) await startHost(id, new MemoryGroupStorage());
    await create('moving', [1, 2], [1, 2]);
    await until(() => leaderOf('moving') !== undefined);
    for (let i = 0; i < 30; i++) await leaderOf('moving')!.propose(Buffer.from(`k${i}=v${i}`));
    // The new replica starts empty (no members): it learns the group from the leader.
    const [joiner] = await create('moving', [3], undefined);
    expect(joiner!.membership.voters).to.deep.equal([]);
    await leaderOf('moving')!.addLearner(3);
    await until(() => machines.get('moving@3')!.map.size === 30, 10_000, 'the learner caught up');
    await leaderOf('moving')!.promoteLearner(3);
    // Leadership off node 1 (if there), then node 1 out of the group, then its replica deleted.
    if (leaderOf('moving')!.nodeId === 1) await leaderOf('moving')!.transferLeadership(2);
    await leaderOf('moving')!.removeMember(1);
    expect(await hosts.get(1)!.removeGroup('moving')).to.equal(true);
    expect(hosts.get(1)!.group('moving')).to.equal(undefined);
    expect(await storages.get(1)!.list()).to.deep.equal([]);
    const leader = leaderOf('moving')!;
    expect(leader.membership.voters.slice().sort()).to.deep.equal([2, 3]);
    await leader.propose(Buffer.from('after=move'));
    await until(() => machines.get('moving@3')!.map.get('after') === 'move' && machines.get('moving@2')!.map.get('after') === 'move');
  });

  it('on disk: reopens every group after a restart from storage.list(), and removeGroup deletes a group for good', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-host-groups-'));
    try {
      const storage = await openDiskGroupStorage({ dir, clock: systemClock, fsync: false });
      const host = await startHost(1, storage);
      const names = ['orders', 'users.v2', 'a/b', '..'];
      for (const g of names) {
        const n = await host.createGroup({ groupId: g, stateMachine: new Kv(), members: [1] });
        await until(() => n.isLeader);
        for (let i = 0; i < 25; i++) await n.propose(Buffer.from(`${g}-${i}=${i}`)); // past a snapshot (every 20)
      }
      expect((await storage.list()).sort()).to.deep.equal([...names].sort());
      expect(await host.removeGroup('a/b')).to.equal(true);
      expect((await storage.list()).sort()).to.deep.equal(['..', 'orders', 'users.v2']);
      expect(readdirSync(join(dir, 'groups')).sort()).to.deep.equal(['%2E%2E', 'orders', 'users%2Ev2']);
      await host.close();
      await storage.close();
      hosts.clear();
      storages.clear();
      await transports.get(1)!.close();

      const reopened = await openDiskGroupStorage({ dir, clock: systemClock, fsync: false });
      const again = await startHost(1, reopened);
      for (const g of await reopened.list()) {
        const sm = new Kv();
        // The members are ignored for a group that exists: its state says who they are.
        const n = await again.createGroup({ groupId: g, stateMachine: sm, members: [1, 2, 3] });
        expect(n.membership.voters).to.deep.equal([1]);
        await until(() => sm.map.size === 25, 5000, `${g} restored`);
        expect(sm.map.get(`${g}-24`)).to.equal('24');
      }
      expect(again.groupIds().sort()).to.deep.equal(['..', 'orders', 'users.v2']);
    } finally {
      for (const h of hosts.values()) await h.close();
      for (const s of storages.values()) await s.close();
      hosts.clear();
      storages.clear();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
