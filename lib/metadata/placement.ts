/**
 * Replica placement, pure: where the replicas of new partitions go, which leaderships to move to
 * spread leadership again, and where the replicas of a decommissioned node go.
 *
 * - `assignReplicas` places each new partition greedily: replica by replica it takes the eligible
 *   node whose rack this partition uses least (so no two replicas share a rack while racks
 *   suffice), then the fewest replicas, then the fewest preferred leaderships, then a rotation by
 *   partition index (so equal nodes take turns). The partition's preferred leader (`replicas[0]`) is
 *   the chosen node with the fewest preferred leaderships. Taking the least loaded nodes each time
 *   keeps every node within one replica of every other when racks do not constrain (and when racks
 *   are of equal size); existing load (other topics) is counted, so the cluster stays balanced
 *   topic after topic.
 * - `balanceLeaders` proposes leadership transfers (Raft leadership transfers of partition groups):
 *   a move from a to b is proposed when b (a live replica) leads at least two fewer partitions than
 *   a, or when b is the preferred leader and leads exactly one fewer. Every move lowers
 *   2 * (sum of squared leader counts) + (partitions not led by their preferred leader), so repeated
 *   rounds converge; each round returns at most `maxMoves` moves.
 * - `planDecommission` replaces a node in every replica set that holds it, keeping rack spread and
 *   taking the least loaded node, in the same position (so a preferred leader is replaced by the
 *   new preferred leader).
 *
 * Node ids, partitions and their order come in as data; no randomness: the same input always gives
 * the same plan.
 */
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import type { MetadataImage } from './image.js';
import { configResourceKey } from './image.js';
import { RecordLimits } from './records.js';

export interface PlacementNode {
  readonly id: number;
  /** null: no rack given; such a node counts as a rack of its own. */
  readonly rack: string | null;
}

/** Replicas and preferred leaderships per node already in the cluster. */
export interface PlacementLoad {
  readonly replicas: ReadonlyMap<number, number>;
  readonly leaders: ReadonlyMap<number, number>;
}

export interface PartitionReplicas {
  readonly topicId: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}

export interface PartitionLeadership extends PartitionReplicas {
  /** The current leader, -1 if none. */
  readonly leaderId: number;
}

export interface LeaderMove {
  readonly topicId: string;
  readonly partition: number;
  readonly fromNode: number;
  readonly toNode: number;
}

/**
 * The broker config key that keeps a node out of placement: the controller sets it to "true" when
 * it decommissions the node (removing it puts the node back into use).
 */
export const DECOMMISSIONED_KEY = 'flotilla.decommissioned';

export function isDecommissioned(image: MetadataImage, nodeId: number): boolean {
  return image.configs.get(configResourceKey('broker', String(nodeId)))?.get(DECOMMISSIONED_KEY) === 'true';
}

/** The nodes new replicas may go on: registered, unfenced and not decommissioned. */
export function placementNodes(image: MetadataImage): PlacementNode[] {
  return image.unfencedBrokers().filter((b) => !isDecommissioned(image, b.brokerId)).map((b) => ({ id: b.brokerId, rack: b.rack }));
}

/** Every partition's replicas in `image`, by topic name then partition. */
export function partitionsOf(image: MetadataImage): PartitionLeadership[] {
  const out: PartitionLeadership[] = [];
  for (const name of [...image.topicsByName.keys()].sort()) {
    for (const p of image.topicsByName.get(name)?.partitions ?? []) {
      out.push({ topicId: p.topicId, partition: p.partition, replicas: p.replicas, leaderId: p.leaderId });
    }
  }
  return out;
}

/** Replica and preferred-leader counts per node over `partitions`. */
export function loadOf(partitions: Iterable<PartitionReplicas>): PlacementLoad {
  const replicas = new Map<number, number>();
  const leaders = new Map<number, number>();
  for (const p of partitions) {
    for (const id of p.replicas) replicas.set(id, (replicas.get(id) ?? 0) + 1);
    const preferred = p.replicas[0];
    if (preferred !== undefined) leaders.set(preferred, (leaders.get(preferred) ?? 0) + 1);
  }
  return { replicas, leaders };
}

function rackOf(n: PlacementNode): string {
  // A node without a rack is a rack of its own; the prefix keeps it apart from named racks.
  return n.rack ?? `\u0000node-${n.id}`;
}

function checkNodes(nodes: readonly PlacementNode[]): void {
  const ids = new Set<number>();
  for (const n of nodes) {
    if (ids.has(n.id)) throw new FlotillaError('INVALID_CONFIG', `placement: node ${n.id} is listed twice`);
    ids.add(n.id);
  }
}

/**
 * Replica lists for `partitionCount` new partitions, replicas[0] the preferred leader. Throws
 * NOT_ENOUGH_NODES when the replication factor exceeds the eligible nodes, INVALID_TOPIC on a
 * partition count or replication factor out of range.
 */
export function assignReplicas(opts: {
  readonly nodes: readonly PlacementNode[];
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly load?: PlacementLoad;
}): number[][] {
  const { nodes, partitionCount, replicationFactor } = opts;
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > RecordLimits.partitionsMax) {
    throw new FlotillaError('INVALID_TOPIC', `partition count ${partitionCount} is not an integer in [1, ${RecordLimits.partitionsMax}]`);
  }
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > RecordLimits.replicasMax) {
    throw new FlotillaError('INVALID_TOPIC', `replication factor ${replicationFactor} is not an integer in [1, ${RecordLimits.replicasMax}]`);
  }
  checkNodes(nodes);
  if (replicationFactor > nodes.length) {
    throw new FlotillaError('NOT_ENOUGH_NODES', `replication factor ${replicationFactor} exceeds the ${nodes.length} eligible (registered, unfenced) nodes`, {
      replicationFactor, eligibleNodes: nodes.length,
    });
  }
  const sorted = [...nodes].sort((a, b) => a.id - b.id);
  const n = sorted.length;
  const replicaCount = sorted.map((x) => opts.load?.replicas.get(x.id) ?? 0);
  const leaderCount = sorted.map((x) => opts.load?.leaders.get(x.id) ?? 0);
  const racks = sorted.map(rackOf);
  // Phase 1: replica sets. Each replica goes to the node whose rack this partition uses least,
  // then whose rack holds the fewest replicas per node, then with the fewest replicas, then
  // leading the fewest; the rotation by partition index breaks ties so equal nodes
  // take turns. Taking the least loaded node every time keeps replica counts within one.
  const sets: number[][] = [];
  // Ties go to nodes leading fewer partitions already, so phase 2 has room to spread leaders.
  const priorLeaders = [...leaderCount];
  // Replicas per rack: the rack whose nodes hold fewest replicas each goes first, so with racks of
  // equal size rack loads stay within one and so do the nodes inside them.
  const rackLoad = new Map<string, number>();
  const rackSize = new Map<string, number>();
  racks.forEach((rack, i) => {
    rackLoad.set(rack, (rackLoad.get(rack) ?? 0) + (replicaCount[i] ?? 0));
    rackSize.set(rack, (rackSize.get(rack) ?? 0) + 1);
  });
  for (let p = 0; p < partitionCount; p++) {
    const chosen: number[] = [];
    const rackUse = new Map<string, number>();
    for (let j = 0; j < replicationFactor; j++) {
      let best = -1;
      let bestKey: readonly number[] = [];
      for (let i = 0; i < n; i++) {
        if (chosen.includes(i)) continue;
        const rack = racks[i] ?? '';
        const perNode = (rackLoad.get(rack) ?? 0) / (rackSize.get(rack) ?? 1);
        const key = [rackUse.get(rack) ?? 0, perNode, replicaCount[i] ?? 0, priorLeaders[i] ?? 0, rotation(i, p, chosen[0], n)];
        if (best === -1 || lessThan(key, bestKey)) {
          best = i;
          bestKey = key;
        }
      }
      chosen.push(best);
      rackUse.set(racks[best] ?? '', (rackUse.get(racks[best] ?? '') ?? 0) + 1);
      replicaCount[best] = (replicaCount[best] ?? 0) + 1;
      rackLoad.set(racks[best] ?? '', (rackLoad.get(racks[best] ?? '') ?? 0) + 1);
    }
    sets.push(chosen);
  }
  // Phase 2: preferred leaders. Greedily the member leading least, then augmenting paths
  // (a leads p where b is a replica, b leads p' where c is, ...) move one leadership from a most
  // loaded node to a node leading two fewer, until none is left: the optimal spread for these sets.
  const leaderAt = sets.map((set) => {
    let at = 0;
    for (let k = 1; k < set.length; k++) if ((leaderCount[set[k] ?? 0] ?? 0) < (leaderCount[set[at] ?? 0] ?? 0)) at = k;
    const leader = set[at] ?? 0;
    leaderCount[leader] = (leaderCount[leader] ?? 0) + 1;
    return at;
  });
  for (let rounds = 0; rounds < partitionCount * n && augmentLeaders(sets, leaderAt, leaderCount); rounds++);
  return sets.map((set, p) => {
    const at = leaderAt[p] ?? 0;
    const ordered = [set[at] ?? 0, ...set.filter((_, k) => k !== at)];
    return ordered.map((i) => sorted[i]?.id ?? -1);
  });
}

/**
 * The tie-break among equal nodes: the first replica walks round the nodes with the partition
 * index; the others start after the first at a shift that grows every round of n partitions (as
 * Kafka's assignment does), so the same pairs do not repeat and a lost node's replicas have many
 * different partners to recover from.
 */
function rotation(i: number, p: number, first: number | undefined, n: number): number {
  if (first === undefined) return (((i - p) % n) + n) % n;
  return (((i - first - 1 - Math.floor(p / n)) % n) + n) % n;
}

/**
 * One augmenting path from a node leading the most to a node leading at least two fewer, applied;
 * false when there is none (or the spread is already within one).
 */
function augmentLeaders(sets: readonly number[][], leaderAt: number[], leaderCount: number[]): boolean {
  const max = Math.max(...leaderCount);
  if (max - Math.min(...leaderCount) <= 1) return false;
  const ledBy = new Map<number, number[]>();
  sets.forEach((set, p) => {
    const leader = set[leaderAt[p] ?? 0] ?? 0;
    const list = ledBy.get(leader) ?? [];
    list.push(p);
    ledBy.set(leader, list);
  });
  for (let u = 0; u < leaderCount.length; u++) {
    if (leaderCount[u] !== max) continue;
    // BFS over nodes; via[v] = the partition whose leadership moves to v on the path.
    const via = new Map<number, number>([[u, -1]]);
    const queue = [u];
    for (let q = 0; q < queue.length; q++) {
      const a = queue[q] ?? 0;
      for (const p of ledBy.get(a) ?? []) {
        for (const b of sets[p] ?? []) {
          if (via.has(b)) continue;
          via.set(b, p);
          if ((leaderCount[b] ?? 0) <= max - 2) {
            // Walk back: each partition on the path passes its leadership one step on.
            let v = b;
            while (v !== u) {
              const pv = via.get(v) ?? -1;
              const set = sets[pv] ?? [];
              const from = set[leaderAt[pv] ?? 0] ?? 0;
              leaderAt[pv] = set.indexOf(v);
              v = from;
            }
            leaderCount[u] = (leaderCount[u] ?? 0) - 1;
            leaderCount[b] = (leaderCount[b] ?? 0) + 1;
            return true;
          }
          queue.push(b);
        }
      }
    }
  }
  return false;
}

function lessThan(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

/**
 * Leadership transfers that spread leadership over the live nodes (see the module doc), applied one
 * after another to a working copy, at most `maxMoves`. Partitions without a live leader are left
 * to their Raft group's election.
 */
export function balanceLeaders(opts: {
  readonly partitions: readonly PartitionLeadership[];
  readonly liveNodes: Iterable<number>;
  readonly maxMoves: number;
}): LeaderMove[] {
  assert(Number.isInteger(opts.maxMoves) && opts.maxMoves >= 0, () => `balanceLeaders: maxMoves ${opts.maxMoves} is not a count`);
  const live = new Set(opts.liveNodes);
  const leaders = opts.partitions.map((p) => p.leaderId);
  const count = new Map<number, number>();
  for (const id of live) count.set(id, 0);
  for (const id of leaders) if (live.has(id)) count.set(id, (count.get(id) ?? 0) + 1);
  const moves: LeaderMove[] = [];
  while (moves.length < opts.maxMoves) {
    let best: { at: number; to: number; gap: number; preferred: boolean } | undefined;
    opts.partitions.forEach((p, at) => {
      const from = leaders[at] ?? -1;
      if (!live.has(from)) return;
      const cFrom = count.get(from) ?? 0;
      for (const to of p.replicas) {
        if (to === from || !live.has(to)) continue;
        const gap = cFrom - (count.get(to) ?? 0);
        const preferred = to === p.replicas[0];
        if (gap < 2 && !(preferred && gap === 1)) continue;
        if (best === undefined || gap > best.gap || (gap === best.gap && preferred && !best.preferred)) best = { at, to, gap, preferred };
      }
    });
    if (best === undefined) break;
    const p = opts.partitions[best.at];
    const from = leaders[best.at] ?? -1;
    if (p === undefined) break;
    count.set(from, (count.get(from) ?? 0) - 1);
    count.set(best.to, (count.get(best.to) ?? 0) + 1);
    leaders[best.at] = best.to;
    moves.push({ topicId: p.topicId, partition: p.partition, fromNode: from, toNode: best.to });
  }
  return moves;
}

/**
 * New replica lists that take `nodeId` out of every partition holding it: the replacement is the
 * eligible node (of `nodes`, never `nodeId`) whose rack the partition's other replicas use least,
 * then the one with the fewest replicas. Throws NOT_ENOUGH_NODES when a partition has no candidate.
 */
export function planDecommission(opts: {
  readonly nodeId: number;
  readonly partitions: readonly PartitionReplicas[];
  readonly nodes: readonly PlacementNode[];
}): PartitionReplicas[] {
  checkNodes(opts.nodes);
  const targets = opts.nodes.filter((n) => n.id !== opts.nodeId).sort((a, b) => a.id - b.id);
  const rackById = new Map<number, string>();
  for (const n of opts.nodes) rackById.set(n.id, rackOf(n));
  const load = new Map(loadOf(opts.partitions).replicas);
  const out: PartitionReplicas[] = [];
  for (const p of opts.partitions) {
    const at = p.replicas.indexOf(opts.nodeId);
    if (at === -1) continue;
    const others = p.replicas.filter((id) => id !== opts.nodeId);
    const rackUse = new Map<string, number>();
    for (const id of others) {
      const rack = rackById.get(id) ?? `\u0000node-${id}`;
      rackUse.set(rack, (rackUse.get(rack) ?? 0) + 1);
    }
    let best: PlacementNode | undefined;
    let bestKey: readonly number[] = [];
    for (const n of targets) {
      if (others.includes(n.id)) continue;
      const key = [rackUse.get(rackOf(n)) ?? 0, load.get(n.id) ?? 0, n.id];
      if (best === undefined || lessThan(key, bestKey)) {
        best = n;
        bestKey = key;
      }
    }
    if (best === undefined) {
      throw new FlotillaError('NOT_ENOUGH_NODES', `no node can take node ${opts.nodeId}'s replica of partition ${p.partition} of topic ${p.topicId}`, {
        topicId: p.topicId, partition: p.partition,
      });
    }
    const replicas = [...p.replicas];
    replicas[at] = best.id;
    load.set(best.id, (load.get(best.id) ?? 0) + 1);
    load.set(opts.nodeId, (load.get(opts.nodeId) ?? 0) - 1);
    out.push({ topicId: p.topicId, partition: p.partition, replicas });
  }
  return out;
}
