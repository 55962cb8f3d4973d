/**
 * A metadata quorum in one process for the controller specs: real RaftNodes on RaftHosts over a
 * MemoryNetwork with MemoryGroupStores, PeerRpc, a Controller on each voter, a ControllerClient
 * and a BrokerLifecycle on every node. Short ticks and sessions so tests run fast; every wait is
 * "until a condition holds", never a timed assertion.
 */
import type { MetadataRecord } from '../../lib/metadata/records.js';
import type { Clock } from '../../lib/base/clock.js';
import { Xoshiro128 } from '../../lib/base/prng.js';
import { PeerRpc } from '../../lib/cluster/rpc.js';
import { BrokerLifecycle } from '../../lib/metadata/broker-lifecycle.js';
import type { TransferLeaderRequest } from '../../lib/metadata/controller-api.js';
import { BrokerMethods } from '../../lib/metadata/controller-api.js';
import { ControllerClient } from '../../lib/metadata/controller-client.js';
import { Controller } from '../../lib/metadata/controller.js';
import type { MetadataApplyResult } from '../../lib/metadata/state-machine.js';
import { MetadataStateMachine } from '../../lib/metadata/state-machine.js';
import { membershipOf } from '../../lib/raft/core/membership.js';
import { MemoryGroupStore } from '../../lib/raft/group-store.js';
import { RaftHost } from '../../lib/raft/host.js';
import { RaftNode } from '../../lib/raft/node.js';
import { MemoryNetwork, type MemoryTransport } from '../../lib/transport/memory-transport.js';
import { uuidOf } from './helpers.js';

export const clock: Clock = { nowMs: () => performance.now(), wallMs: () => Date.now() };

export async function until(cond: () => boolean, what = 'condition', ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface TestNode {
  readonly id: number;
  readonly transport: MemoryTransport;
  readonly rpc: PeerRpc;
  readonly host: RaftHost;
  readonly sm: MetadataStateMachine;
  readonly raft: RaftNode<MetadataApplyResult>;
  readonly controller: Controller | null;
  readonly client: ControllerClient;
  lifecycle: BrokerLifecycle;
  /** transferLeader calls this node received. */
  readonly transfers: TransferLeaderRequest[];
}

export const controllerTestSettings = {
  brokerSessionTimeoutMs: 400,
  brokerHeartbeatIntervalMs: 40,
  livenessCheckIntervalMs: 20,
  leaderBalanceIntervalMs: 0,
  unfenceLagEntriesMax: 5,
};

export class Quorum {
  readonly network = new MemoryNetwork();
  readonly nodes: TestNode[] = [];
  readonly controllerIds: number[];
  readonly logs: string[] = [];

  constructor(controllerIds: number[]) {
    this.controllerIds = controllerIds;
  }

  static async start(ids: number[], controllerIds: number[], settings: Record<string, unknown> = {}, bootstrapCredentials: readonly MetadataRecord[] = []): Promise<Quorum> {
    const q = new Quorum(controllerIds);
    q.settings = settings;
    q.bootstrapCredentials = bootstrapCredentials;
    for (const id of ids) await q.addNode(id, ids);
    return q;
  }

  private settings: Record<string, unknown> = {};
  /** What every node's Controller is given as --add-scram credentials. */
  bootstrapCredentials: readonly MetadataRecord[] = [];

  /**
   * Starts node `id` (a configured voter when it is in controllerIds, else it joins empty, as an
   * observer); every node, and the new one, learn each other's addresses. Every node runs a
   * Controller: only the metadata leader's is active, and a node may become a voter later.
   */
  async addNode(id: number, peers: readonly number[] = [...this.nodes.map((n) => n.id), id]): Promise<TestNode> {
    const ids = [...new Set([...peers, ...this.nodes.map((n) => n.id), id])];
    const transport = this.network.transport(id);
    transport.setPeers(new Map(ids.filter((o) => o !== id).map((o) => [o, { host: 'mem', port: o }])));
    for (const n of this.nodes) n.transport.setPeers(new Map(ids.filter((o) => o !== n.id).map((o) => [o, { host: 'mem', port: o }])));
    await transport.start();
    const rpc = new PeerRpc({ nodeId: id, transport, timeoutMs: 500 });
    const host = new RaftHost({ nodeId: id, transport: rpc.raftTransport, settings: { tickMs: 5 } });
    const sm = new MetadataStateMachine({ logger: (l) => this.logs.push(l) });
    const voter = this.controllerIds.includes(id);
    const raft = await RaftNode.create<MetadataApplyResult>({
      host, groupId: '__cluster_metadata', store: new MemoryGroupStore(voter ? membershipOf(this.controllerIds) : membershipOf([])), stateMachine: sm,
      node: { snapshotEntries: 40, snapshotTrailingEntries: 5 },
      trackFollowers: true,
    });
    host.start();
    const controller = new Controller({
      nodeId: id, raft, stateMachine: sm, rpc, clock, prng: new Xoshiro128(id),
      settings: { ...controllerTestSettings, ...this.settings }, logger: (l) => this.logs.push(l), bootstrapCredentials: this.bootstrapCredentials,
    });
    controller.start();
    const client = new ControllerClient({
      nodeId: id, rpc, controllerIds: this.controllerIds, leaderHint: () => raft.leaderId, metadata: sm, clock, prng: new Xoshiro128(100 + id),
      attemptTimeoutMs: 300, deadlineMs: 10_000,
    });
    const transfers: TransferLeaderRequest[] = [];
    rpc.handle(BrokerMethods.transferLeader, (_from, body) => {
      transfers.push(body as TransferLeaderRequest);
      return null;
    });
    const node: TestNode = { id, transport, rpc, host, sm, raft, controller, client, transfers, lifecycle: null as unknown as BrokerLifecycle };
    node.lifecycle = this.lifecycle(node, uuidOf(5000 + id));
    this.nodes.push(node);
    return node;
  }

  /** Stops node `id` for good (its data is gone with it: a wiped node comes back under a new id). */
  async removeNode(id: number): Promise<void> {
    const n = this.node(id);
    this.nodes.splice(this.nodes.indexOf(n), 1);
    n.lifecycle.stop();
    n.controller?.close();
    n.client.close();
    await n.raft.close();
    await n.host.close();
    n.rpc.close();
    n.sm.close();
    n.transport.destroy();
  }

  lifecycle(n: TestNode, incarnationId: string): BrokerLifecycle {
    return new BrokerLifecycle({
      nodeId: n.id, incarnationId, host: `node${n.id}`, clientPort: 9000 + n.id, peerPort: 19000 + n.id, rack: null,
      controller: n.client, metadataApplied: () => n.raft.appliedIndex, heartbeatIntervalMs: controllerTestSettings.brokerHeartbeatIntervalMs,
      logger: (l) => this.logs.push(l),
    });
  }

  node(id: number): TestNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  leader(): TestNode | undefined {
    return this.nodes.find((n) => n.controller?.isActive === true);
  }

  async activeLeader(): Promise<TestNode> {
    await until(() => this.leader() !== undefined, 'an active controller');
    return this.leader()!;
  }

  /** Starts every lifecycle and waits until every node is registered and unfenced everywhere. */
  async registerAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.lifecycle.start()));
    await until(() => this.nodes.every((n) => !n.lifecycle.fenced), 'every node unfenced');
    await until(() => this.nodes.every((n) => this.nodes.every((m) => n.sm.image().brokers.get(m.id)?.fenced === false)), 'every image shows every node unfenced');
  }

  async close(): Promise<void> {
    for (const n of this.nodes) {
      n.lifecycle.stop();
      n.controller?.close();
      n.client.close();
    }
    for (const n of this.nodes) await n.raft.close();
    for (const n of this.nodes) {
      await n.host.close();
      n.rpc.close();
      n.sm.close();
      n.transport.destroy();
    }
  }
}
