import { expect } from 'chai';
import { isFlotillaError } from '../../lib/base/errors.js';
import type {
  AllocateProducerIdsResponse, AlterConfigsResponse, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse, DecommissionResponse,
  DeleteTopicsResponse, MetadataChangeResult, QuorumDescription, VoterChangeResponse,
} from '../../lib/metadata/controller-api.js';
import { ControllerMethods } from '../../lib/metadata/controller-api.js';
import { imagesEqual } from '../../lib/metadata/image.js';
import { isDecommissioned } from '../../lib/metadata/placement.js';
import { MetadataStateMachine } from '../../lib/metadata/state-machine.js';
import { Quorum, type TestNode, until } from './controller-harness.js';
import { uuidOf } from './helpers.js';

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

function create(name: string, partitions: number, replicationFactor: number, configs: Record<string, string> = {}): CreateTopicsRequest {
  return { topics: [{ name, partitions, replicationFactor, assignments: null, configs }], validateOnly: false };
}

function replicaCounts(n: TestNode): Map<number, number> {
  const counts = new Map<number, number>();
  for (const t of n.sm.image().topicsById.values()) for (const p of t.partitions) for (const r of p.replicas) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => expect.fail('expected a rejection'), (e: unknown) => e);
}

describe('metadata/controller (3 controllers + 1 observer over a memory network)', function () {
  this.timeout(30_000);
  let q: Quorum;

  beforeEach(async () => {
    q = await Quorum.start([1, 2, 3, 4], [1, 2, 3]);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(q.logs.slice(-40).join('\n'));
    await q.close();
  });

  it('elects a controller, registers every node, makes the observer a learner whose image matches', async () => {
    const leader = await q.activeLeader();
    const follower = q.nodes.find((n) => n.controller !== null && n !== leader)!;
    const refused = await rejection(follower.rpc.call(follower.id, ControllerMethods.createTopics, create('x', 1, 1)));
    expect(isFlotillaError(refused, 'NOT_CONTROLLER')).to.equal(true);
    expect((refused as { details: { leaderId: number } }).details.leaderId).to.equal(leader.id);

    await q.registerAll();
    await until(() => leader.raft.membership.learners.includes(4), 'node 4 a learner');
    expect(leader.raft.membership.voters).to.deep.equal([1, 2, 3]);
    const res = await q.node(4).client.call<CreateTopicsResponse>(ControllerMethods.createTopics, create('orders', 6, 3), { waitForMetadata: true });
    expect(res.results[0]?.error).to.equal(null);
    expect(q.node(4).sm.image().topicsByName.get('orders')?.partitions).to.have.length(6);
    await until(() => q.nodes.every((n) => n.sm.appliedIndex >= res.metadataIndex), 'everyone applied the create');
    for (const n of q.nodes) expect(imagesEqual(n.sm.image(), leader.sm.image()), `image of node ${n.id}`).to.equal(true);
    expect(q.node(4).sm.image().brokers.get(4)).to.include({ host: 'node4', clientPort: 9004, peerPort: 19004, fenced: false });
  });

  it('describes the quorum from the leader (asked through any node): voters, the observer, match index, last heard and caught up', async () => {
    const leader = await q.activeLeader();
    await q.registerAll();
    await until(() => leader.raft.membership.learners.includes(4), 'node 4 a learner');
    const follower = q.nodes.find((n) => n.controller !== null && n !== leader)!;
    const refused = await rejection(Promise.resolve().then(() => follower.controller!.describeQuorum()));
    expect(isFlotillaError(refused, 'NOT_CONTROLLER')).to.equal(true);
    // Let every follower catch up (a tick samples it) before asking.
    await until(() => [...leader.raft.followerActivity().values()].every((a) => a.caughtUpAgoMs >= 0), 'every follower caught up once');
    const before = Date.now();
    const d = await q.node(4).client.call<QuorumDescription>(ControllerMethods.describeQuorum, {});
    expect(d).to.include({ leaderId: leader.id, term: leader.raft.term });
    expect(d.highWatermark).to.be.at.least(1);
    expect(d.voters.map((v) => v.nodeId)).to.deep.equal([1, 2, 3]);
    expect(d.observers.map((v) => v.nodeId)).to.deep.equal([4]);
    for (const r of [...d.voters, ...d.observers]) {
      expect(r.directoryId, `node ${r.nodeId}`).to.equal(uuidOf(5000 + r.nodeId));
      expect(r.logEndIndex, `node ${r.nodeId}`).to.be.within(1, leader.raft.status().lastIndex);
      expect(r.lastFetchMs, `node ${r.nodeId}`).to.be.within(before - 5_000, Date.now());
      expect(r.lastCaughtUpMs, `node ${r.nodeId}`).to.be.within(before - 5_000, Date.now());
    }
    expect(d.voters.find((v) => v.nodeId === leader.id)!.logEndIndex).to.equal(leader.raft.status().lastIndex);
    expect(d.nodes).to.deep.equal([1, 2, 3].map((id) => ({ nodeId: id, host: `node${id}`, port: 19000 + id })));
  });

  it('replaces a voter whose data directory was wiped (KIP-853): the node comes back under a new id, is added, the old id removed; metadata writable throughout', async () => {
    const leader0 = await q.activeLeader();
    await q.registerAll();
    // A voter that is not the leader loses its disk: it is gone for good under its id.
    const lost = [1, 2, 3].find((id) => id !== leader0.id)!;
    await q.removeNode(lost);
    const writes: Promise<unknown>[] = [];
    let n = 0;
    const write = (): Promise<unknown> => q.node(4).client.call<CreateTopicsResponse>(ControllerMethods.createTopics, create(`during-${n++}`, 1, 1)).then((r) => {
      expect(r.results[0]?.error, 'a create during the change').to.equal(null);
    });
    writes.push(write());
    // It returns with an empty directory under a new id, registers and is an observer (learner).
    const fresh = await q.addNode(5);
    await fresh.lifecycle.start();
    const leader = await q.activeLeader();
    await until(() => leader.raft.membership.learners.includes(5), 'node 5 a learner');
    writes.push(write());
    // Not registered, already a voter, not a voter: refused with Kafka's errors.
    expect(isFlotillaError(await rejection(fresh.client.call(ControllerMethods.addVoter, { nodeId: 9, directoryId: ZERO_UUID })), 'INVALID_REQUEST')).to.equal(true);
    expect(isFlotillaError(await rejection(fresh.client.call(ControllerMethods.addVoter, { nodeId: leader.id, directoryId: ZERO_UUID })), 'DUPLICATE_VOTER')).to.equal(true);
    expect(isFlotillaError(await rejection(fresh.client.call(ControllerMethods.removeVoter, { nodeId: 4, directoryId: ZERO_UUID })), 'VOTER_NOT_FOUND')).to.equal(true);
    expect(isFlotillaError(await rejection(fresh.client.call(ControllerMethods.addVoter, { nodeId: 5, directoryId: uuidOf(77) })), 'INVALID_REQUEST')).to.equal(true);
    // AddRaftVoter: promoted once caught up; then RemoveRaftVoter of the lost id.
    const added = await fresh.client.call<VoterChangeResponse>(ControllerMethods.addVoter, { nodeId: 5, directoryId: uuidOf(5005) });
    expect(added.voters).to.deep.equal([1, 2, 3, 5]);
    writes.push(write());
    const removed = await fresh.client.call<VoterChangeResponse>(ControllerMethods.removeVoter, { nodeId: lost, directoryId: ZERO_UUID });
    const voters = [1, 2, 3, 5].filter((x) => x !== lost);
    expect(removed.voters).to.deep.equal(voters);
    writes.push(write());
    await Promise.all(writes);
    // Every live node's Raft agrees; the quorum description shows the new voters and observer 4.
    await until(() => q.nodes.every((x) => [...x.raft.membership.voters].sort((a, b) => a - b).join() === voters.join()), 'every node knows the new voters');
    // The old id is still registered, so the controller makes it a learner again (asynchronously).
    await until(() => q.leader()?.raft.membership.learners.includes(lost) === true, 'the old id an observer');
    const d = await q.node(4).client.call<QuorumDescription>(ControllerMethods.describeQuorum, {});
    expect(d.voters.map((v) => v.nodeId)).to.deep.equal(voters);
    // The old id is still registered (until it is decommissioned and unregistered): an observer
    // that never answers, as Kafka lists a gone observer until it expires.
    expect(d.observers.map((v) => v.nodeId)).to.deep.equal([lost, 4].sort((x, y) => x - y));
    // The new voter counts: with another old voter stopped, 2 of the 3 (one of them node 5) still commit.
    const other = [1, 2, 3].find((id) => id !== lost && id !== q.leader()?.id);
    if (other !== undefined) {
      await q.removeNode(other);
      await q.activeLeader();
      const r = await q.node(4).client.call<CreateTopicsResponse>(ControllerMethods.createTopics, create('after', 1, 1));
      expect(r.results[0]?.error).to.equal(null);
    }
  });

  it('creates topics with replicas and preferred leaders spread, refuses duplicates, deletes', async () => {
    await q.activeLeader();
    await q.registerAll();
    const c = q.node(4).client;
    // Two creates of one name at once: exactly one wins.
    const both = await Promise.all([c.call<CreateTopicsResponse>(ControllerMethods.createTopics, create('a', 8, 2)), c.call<CreateTopicsResponse>(ControllerMethods.createTopics, create('a', 8, 2))]);
    const errors = both.map((r) => r.results[0]?.error?.code ?? null).sort();
    expect(errors).to.deep.equal([null, 'TOPIC_EXISTS'].sort());
    const res = await c.call<CreateTopicsResponse>(ControllerMethods.createTopics, {
      topics: [
        { name: 'b', partitions: -1, replicationFactor: -1, assignments: null, configs: { 'retention.ms': '1000' } },
        { name: 'bad name!', partitions: 1, replicationFactor: 1, assignments: null, configs: {} },
        { name: 'c', partitions: 1, replicationFactor: 1, assignments: null, configs: { 'retention.ms': 'soon' } },
        { name: 'd', partitions: 1, replicationFactor: 5, assignments: null, configs: {} },
        { name: 'e', partitions: -1, replicationFactor: -1, assignments: [[4, 1], [1, 2]], configs: {} },
        { name: 'g', partitions: 1, replicationFactor: 2, assignments: [[2, 3]], configs: {} },
        { name: 'h', partitions: 1, replicationFactor: 3, assignments: [[2, 3]], configs: {} },
        { name: 'i', partitions: -1, replicationFactor: -1, assignments: [[2, 3], [1]], configs: {} },
        { name: 'j', partitions: -1, replicationFactor: -1, assignments: [[2, 9]], configs: {} },
      ],
      validateOnly: false,
    }, { waitForMetadata: true });
    expect(res.results.map((r) => r.error?.code ?? null)).to.deep.equal([
      null, 'INVALID_TOPIC', 'INVALID_TOPIC_CONFIG', 'NOT_ENOUGH_NODES', null, null, 'INVALID_REQUEST', 'INVALID_REQUEST', 'INVALID_REQUEST',
    ]);
    expect(res.results[2]?.error?.message).to.contain('retention.ms');
    const image = q.node(4).sm.image();
    // Defaults: num.partitions 1, default.replication.factor 3 (4 nodes: not capped).
    expect(res.results[0]).to.include({ partitions: 1, replicationFactor: 3 });
    expect(image.topicConfig('b').get('retention.ms')).to.equal('1000');
    expect(image.topicsByName.get('e')?.partitions.map((p) => p.replicas)).to.deep.equal([[4, 1], [1, 2]]);
    // Topic a: 8 partitions x 2 replicas over 4 nodes: 4 replicas and 2 preferred leaderships each.
    const a = image.topicsByName.get('a')!;
    const replicas = new Map<number, number>();
    const preferred = new Map<number, number>();
    for (const p of a.partitions) {
      for (const r of p.replicas) replicas.set(r, (replicas.get(r) ?? 0) + 1);
      preferred.set(p.replicas[0]!, (preferred.get(p.replicas[0]!) ?? 0) + 1);
    }
    expect([...replicas.values()]).to.deep.equal([4, 4, 4, 4]);
    expect([...preferred.values()]).to.deep.equal([2, 2, 2, 2]);
    // validateOnly changes nothing.
    const dry = await c.call<CreateTopicsResponse>(ControllerMethods.createTopics, { ...create('dry', 1, 1), validateOnly: true });
    expect(dry.metadataIndex).to.equal(0);
    expect(dry.results[0]?.error).to.equal(null);
    expect(q.leader()!.sm.image().topicsByName.has('dry')).to.equal(false);
    // Grow a, delete b and an unknown one.
    const grown = await c.call<CreatePartitionsResponse>(ControllerMethods.createPartitions, { topics: [{ name: 'a', count: 10, assignments: null }, { name: 'a', count: 3, assignments: null }], validateOnly: false });
    expect(grown.results.map((r) => r.error?.code ?? null)).to.deep.equal([null, 'INVALID_TOPIC']);
    const del = await c.call<DeleteTopicsResponse>(ControllerMethods.deleteTopics, { names: ['b', 'nope'] }, { waitForMetadata: true });
    expect(del.results.map((r) => r.error?.code ?? null)).to.deep.equal([null, 'UNKNOWN_TOPIC']);
    expect(q.node(4).sm.image().topicsByName.has('b')).to.equal(false);
    expect(q.node(4).sm.image().topicsByName.get('a')?.partitions).to.have.length(10);
  });

  it('fences a node that stops heartbeating and unfences it when it returns; fences at once on shutdown', async () => {
    const leader = await q.activeLeader();
    await q.registerAll();
    const n4 = q.node(4);
    n4.lifecycle.stop();
    await until(() => leader.sm.image().brokers.get(4)?.fenced === true, 'node 4 fenced');
    // No replicas go to a fenced node; the replication factor default is capped by the 3 live nodes.
    const res = await q.node(1).client.call<CreateTopicsResponse>(ControllerMethods.createTopics, create('f', 6, -1), { waitForMetadata: true });
    expect(res.results[0]).to.include({ replicationFactor: 3 });
    expect(replicaCounts(q.node(1)).get(4) ?? 0).to.equal(0);
    // It returns (same incarnation): registers again, catches up, is unfenced.
    n4.lifecycle = q.lifecycle(n4, uuidOf(5004));
    await n4.lifecycle.start();
    await n4.lifecycle.waitUntilUnfenced();
    await until(() => leader.sm.image().brokers.get(4)?.fenced === false, 'node 4 unfenced');
    // A clean shutdown fences at once.
    const before = leader.controller!.stats.fenced;
    await n4.lifecycle.shutdown();
    expect(leader.sm.image().brokers.get(4)?.fenced).to.equal(true);
    expect(leader.controller!.stats.fenced).to.equal(before + 1);
  });

  it('keeps working across a metadata leader change (transfer, then create a topic from the observer)', async () => {
    const old = await q.activeLeader();
    await q.registerAll();
    const target = q.nodes.find((n) => n.controller !== null && n !== old)!;
    await old.raft.transferLeadership(target.id);
    await until(() => target.controller!.isActive, 'the new leader active');
    expect(old.controller!.isActive).to.equal(false);
    const res = await q.node(4).client.call<CreateTopicsResponse>(ControllerMethods.createTopics, create('after', 3, 3), { waitForMetadata: true });
    expect(res.results[0]?.error).to.equal(null);
    expect(q.node(4).sm.image().topicsByName.get('after')?.partitions).to.have.length(3);
    // Nobody is fenced by the change of leader (each got a fresh session).
    await new Promise((r) => setTimeout(r, 100));
    expect([...target.sm.image().brokers.values()].every((b) => !b.fenced)).to.equal(true);
  });

  it('records newer leadership reports only, reassigns, alters configs, allocates producer ids', async () => {
    const leader = await q.activeLeader();
    await q.registerAll();
    const c = q.node(2).client;
    const created = await c.call<CreateTopicsResponse>(ControllerMethods.createTopics, create('t', 2, 3), { waitForMetadata: true });
    const topicId = created.results[0]!.topicId!;
    const p0 = leader.sm.image().topicsById.get(topicId)!.partitions[0]!;
    const reports = [{ topicId, partition: 0, leaderId: p0.replicas[1]!, leaderEpoch: 5 }];
    const r1 = await c.call<MetadataChangeResult>(ControllerMethods.partitionLeader, { reports });
    expect(r1.metadataIndex).to.be.greaterThan(0);
    const stale = await c.call<MetadataChangeResult>(ControllerMethods.partitionLeader, { reports: [{ ...reports[0]!, leaderId: p0.replicas[0]!, leaderEpoch: 4 }] });
    expect(stale.metadataIndex).to.equal(0);
    expect(leader.sm.image().topicsById.get(topicId)!.partitions[0]).to.include({ leaderId: p0.replicas[1], leaderEpoch: 5 });

    const moveTo = [1, 2, 3, 4].filter((id) => !p0.replicas.includes(id));
    const newReplicas = [moveTo[0]!, p0.replicas[1]!, p0.replicas[2]!];
    await c.call(ControllerMethods.reassign, { topic: 't', partition: 0, replicas: newReplicas }, { waitForMetadata: true });
    expect(q.node(2).sm.image().topicsById.get(topicId)!.partitions[0]!.replicas).to.deep.equal(newReplicas);
    // A move that drops the leader leaves the term without one; moving back, the same term's report is taken again.
    const dropLeader = [moveTo[0]!, p0.replicas[0]!, p0.replicas[2]!];
    await c.call(ControllerMethods.reassign, { topic: 't', partition: 0, replicas: dropLeader }, { waitForMetadata: true });
    expect(q.node(2).sm.image().topicsById.get(topicId)!.partitions[0]).to.include({ leaderId: -1, leaderEpoch: 5 });
    await c.call(ControllerMethods.reassign, { topic: 't', partition: 0, replicas: newReplicas }, { waitForMetadata: true });
    const again = await c.call<MetadataChangeResult>(ControllerMethods.partitionLeader, { reports });
    expect(again.metadataIndex).to.be.greaterThan(0);
    expect(leader.sm.image().topicsById.get(topicId)!.partitions[0]).to.include({ leaderId: p0.replicas[1], leaderEpoch: 5 });
    expect((await c.call<MetadataChangeResult>(ControllerMethods.partitionLeader, { reports })).metadataIndex).to.equal(0);
    const badReassign = await rejection(c.call(ControllerMethods.reassign, { topic: 't', partition: 0, replicas: [1, 1] }));
    expect(isFlotillaError(badReassign, 'INVALID_REQUEST')).to.equal(true);

    const alter = await c.call<AlterConfigsResponse>(ControllerMethods.alterConfigs, {
      resources: [
        { type: 'topic', name: 't', configs: [{ key: 'retention.ms', value: '10' }, { key: 'cleanup.policy', value: 'compact' }], incremental: true },
        { type: 'topic', name: 'nope', configs: [{ key: 'retention.ms', value: '10' }], incremental: true },
        { type: 'topic', name: 't', configs: [{ key: 'segment.bytes', value: '1' }], incremental: true },
      ],
      validateOnly: false,
    }, { waitForMetadata: true });
    expect(alter.results.map((r) => r.error?.code ?? null)).to.deep.equal([null, 'UNKNOWN_TOPIC', 'INVALID_TOPIC_CONFIG']);
    expect([...q.node(2).sm.image().topicConfig('t')]).to.deep.equal([['cleanup.policy', 'compact'], ['retention.ms', '10']]);
    // Not incremental: the given set replaces everything.
    await c.call<AlterConfigsResponse>(ControllerMethods.alterConfigs, {
      resources: [{ type: 'topic', name: 't', configs: [{ key: 'segment.ms', value: '5000' }], incremental: false }], validateOnly: false,
    }, { waitForMetadata: true });
    expect([...q.node(2).sm.image().topicConfig('t')]).to.deep.equal([['segment.ms', '5000']]);
    // IncrementalAlterConfigs' list operations: APPEND to the default, SUBTRACT, and refusals.
    const ops = async (configs: unknown[]): Promise<string | null> => (await c.call<AlterConfigsResponse>(ControllerMethods.alterConfigs, {
      resources: [{ type: 'topic', name: 't', configs, incremental: true }], validateOnly: false,
    }, { waitForMetadata: true })).results[0]!.error?.code ?? null;
    expect(await ops([{ key: 'cleanup.policy', value: 'compact', op: 'append' }])).to.equal(null);
    expect(q.node(2).sm.image().topicConfig('t').get('cleanup.policy')).to.equal('delete,compact');
    expect(await ops([{ key: 'cleanup.policy', value: 'delete', op: 'subtract' }, { key: 'segment.ms', value: null, op: 'delete' }])).to.equal(null);
    expect([...q.node(2).sm.image().topicConfig('t')]).to.deep.equal([['cleanup.policy', 'compact']]);
    expect(await ops([{ key: 'retention.ms', value: '5', op: 'append' }])).to.equal('INVALID_TOPIC_CONFIG');
    expect(await ops([{ key: 'cleanup.policy', value: 'compact', op: 'subtract' }])).to.equal('INVALID_TOPIC_CONFIG');

    // Cluster-wide topic defaults: broker-level names on the broker resource "", validated as the
    // topic key they stand for; not on a node's own resource.
    const cluster = async (name: string, configs: unknown[], incremental = true): Promise<string | null> => (await c.call<AlterConfigsResponse>(ControllerMethods.alterConfigs, {
      resources: [{ type: 'broker', name, configs, incremental }], validateOnly: false,
    }, { waitForMetadata: true })).results[0]!.error?.code ?? null;
    expect(await cluster('', [{ key: 'log.retention.ms', value: '60000' }, { key: 'log.cleanup.policy', value: 'delete' }])).to.equal(null);
    expect(await cluster('', [{ key: 'log.cleanup.policy', value: 'compact', op: 'append' }])).to.equal(null);
    expect([...q.node(2).sm.image().configs.get('broker:')!]).to.deep.equal([['log.cleanup.policy', 'delete,compact'], ['log.retention.ms', '60000']]);
    expect(await cluster('', [{ key: 'log.retention.ms', value: '-5' }])).to.equal('INVALID_TOPIC_CONFIG');
    expect(await cluster('', [{ key: 'retention.ms', value: '5' }])).to.equal('INVALID_TOPIC_CONFIG');
    expect(await cluster('2', [{ key: 'log.retention.ms', value: '5' }])).to.equal('INVALID_TOPIC_CONFIG');
    expect(await cluster('', [{ key: 'log.retention.ms', value: '1000' }], false)).to.equal(null);
    expect([...q.node(2).sm.image().configs.get('broker:')!]).to.deep.equal([['log.retention.ms', '1000']]);

    const ids1 = await c.call<AllocateProducerIdsResponse>(ControllerMethods.allocateProducerIds, { brokerId: 2 });
    const ids2 = await c.call<AllocateProducerIdsResponse>(ControllerMethods.allocateProducerIds, { brokerId: 3 });
    expect([ids1.firstProducerId, ids1.count, ids2.firstProducerId]).to.deep.equal([0, 1000, 1000]);
  });

  it('decommissions a node: every replica moves off it and it gets no new ones', async () => {
    const leader = await q.activeLeader();
    await q.registerAll();
    const c = q.node(1).client;
    await c.call(ControllerMethods.createTopics, create('d1', 8, 3));
    await c.call(ControllerMethods.createTopics, create('d2', 4, 2));
    expect(replicaCounts(leader).get(4) ?? 0).to.be.greaterThan(0);
    const res = await c.call<DecommissionResponse>(ControllerMethods.decommission, { brokerId: 4 }, { waitForMetadata: true });
    expect(res.moved).to.be.greaterThan(0);
    const image = q.node(1).sm.image();
    expect(replicaCounts(q.node(1)).get(4) ?? 0).to.equal(0);
    expect(isDecommissioned(image, 4)).to.equal(true);
    for (const t of image.topicsById.values()) for (const p of t.partitions) expect(new Set(p.replicas).size).to.equal(p.replicas.length);
    await c.call(ControllerMethods.createTopics, create('d3', 6, 3), { waitForMetadata: true });
    expect(replicaCounts(q.node(1)).get(4) ?? 0).to.equal(0);
    // Still a registered, unfenced node (it serves clients while its replicas move).
    expect(image.brokers.get(4)?.fenced).to.equal(false);
    // Once it holds nothing it may leave for good: unregistered and out of the metadata group.
    await until(() => leader.raft.membership.learners.includes(4), 'node 4 a learner');
    q.node(4).lifecycle.stop();
    const refused = await rejection(c.call(ControllerMethods.unregister, { brokerId: 3 }));
    expect(isFlotillaError(refused, 'POLICY_VIOLATION')).to.equal(true);
    await c.call(ControllerMethods.unregister, { brokerId: 4 }, { waitForMetadata: true });
    expect(q.node(1).sm.image().brokers.has(4)).to.equal(false);
    await until(() => !leader.raft.membership.learners.includes(4), 'node 4 removed from the metadata group');
  });

  it('balances leadership by asking current leaders to transfer', async () => {
    const leader = await q.activeLeader();
    await q.registerAll();
    const c = q.node(1).client;
    const created = await c.call<CreateTopicsResponse>(ControllerMethods.createTopics, create('lb', 8, 2));
    const topicId = created.results[0]!.topicId!;
    // Node 1 reports itself leader of every partition it holds: too many for one node.
    const t = leader.sm.image().topicsById.get(topicId)!;
    const reports = t.partitions.filter((p) => p.replicas.includes(1)).map((p) => ({ topicId, partition: p.partition, leaderId: 1, leaderEpoch: 1 }));
    await c.call(ControllerMethods.partitionLeader, { reports });
    const moves = await leader.controller!.balanceLeadersNow();
    expect(moves.length).to.be.greaterThan(0);
    expect(moves.every((m) => m.fromNode === 1)).to.equal(true);
    await until(() => q.node(1).transfers.length === moves.length, 'node 1 asked to transfer');
    expect(q.node(1).transfers.map((x) => x.partition).sort()).to.deep.equal(moves.map((m) => m.partition).sort());
  });

  it("snapshots the metadata group and restores an equal image (the observer catches up by snapshot)", async () => {
    const leader = await q.activeLeader();
    await q.registerAll();
    const c = q.node(1).client;
    for (let i = 0; i < 12; i++) await c.call(ControllerMethods.createTopics, create(`s${i}`, 2, 2));
    await leader.raft.snapshot();
    const fresh = new MetadataStateMachine();
    fresh.restore(leader.sm.snapshot());
    expect(imagesEqual(fresh.image(), leader.sm.image())).to.equal(true);
    expect(fresh.appliedIndex).to.equal(leader.sm.appliedIndex);
    // A cut-off observer falls behind past the snapshot and catches up.
    q.network.isolate(4);
    for (let i = 0; i < 50; i++) await c.call(ControllerMethods.createTopics, create(`late${i}`, 1, 1));
    await leader.raft.snapshot();
    q.network.heal();
    await until(() => q.node(4).sm.appliedIndex >= leader.sm.appliedIndex, 'the observer caught up');
    expect(imagesEqual(q.node(4).sm.image(), leader.sm.image())).to.equal(true);
    expect(q.node(4).sm.stats.restores).to.be.greaterThan(0);
  });
});
