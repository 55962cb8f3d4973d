import { expect } from 'chai';
import fc from 'fast-check';
import { isFlotillaError } from '../../lib/base/errors.js';
import type { PartitionLeadership, PlacementLoad, PlacementNode } from '../../lib/metadata/placement.js';
import { assignReplicas, balanceLeaders, loadOf, planDecommission } from '../../lib/metadata/placement.js';
import { uuidOf } from './helpers.js';

function counts(assignment: readonly (readonly number[])[], nodes: readonly PlacementNode[]): { replicas: number[]; leaders: number[] } {
  const replicas = nodes.map((n) => assignment.filter((r) => r.includes(n.id)).length);
  const leaders = nodes.map((n) => assignment.filter((r) => r[0] === n.id).length);
  return { replicas, leaders };
}

/** Every count within one of the mean. */
function expectNearMean(values: readonly number[], what: string): void {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  for (const v of values) expect(Math.abs(v - mean), `${what} ${values.join(',')}`).to.be.at.most(1);
}

/** Stronger: max - min <= 1 (so every count is within one of the mean too). */
function expectBalanced(values: readonly number[], what: string): void {
  expectNearMean(values, what);
  expect(Math.max(...values) - Math.min(...values), `${what} ${values.join(',')}`).to.be.at.most(1);
}

function racksOf(replicas: readonly number[], nodes: readonly PlacementNode[]): (string | null)[] {
  return replicas.map((id) => nodes.find((n) => n.id === id)?.rack ?? null);
}

function asPartitions(assignment: readonly (readonly number[])[]): PartitionLeadership[] {
  return assignment.map((replicas, partition) => ({ topicId: uuidOf(1), partition, replicas, leaderId: replicas[0] ?? -1 }));
}

describe('metadata/placement', () => {
  describe('assignReplicas', () => {
    it('balances replicas and preferred leaders across nodes without racks (property)', () => {
      fc.assert(fc.property(
        fc.uniqueArray(fc.nat(50), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 5 }),
        (ids, partitionCount, rfRaw) => {
          const nodes = ids.map((id) => ({ id, rack: null }));
          const replicationFactor = Math.min(rfRaw, nodes.length);
          const assignment = assignReplicas({ nodes, partitionCount, replicationFactor });
          expect(assignment).to.have.length(partitionCount);
          for (const r of assignment) {
            expect(r).to.have.length(replicationFactor);
            expect(new Set(r).size).to.equal(replicationFactor);
            for (const id of r) expect(ids).to.include(id);
          }
          const c = counts(assignment, nodes);
          expectBalanced(c.replicas, 'replicas');
          expectBalanced(c.leaders, 'leaders');
        },
      ), { numRuns: 300 });
    });

    it('keeps the cluster balanced topic after topic, counting existing load (property)', () => {
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 10 }), fc.array(fc.record({ p: fc.integer({ min: 1, max: 20 }), rf: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 6 }),
        (n, topics) => {
          const nodes = Array.from({ length: n }, (_, id) => ({ id, rack: null }));
          const all: number[][] = [];
          for (const t of topics) {
            const load: PlacementLoad = loadOf(asPartitions(all));
            all.push(...assignReplicas({ nodes, partitionCount: t.p, replicationFactor: Math.min(t.rf, n), load }));
          }
          const c = counts(all, nodes);
          expectBalanced(c.replicas, 'replicas');
          // Replica balance comes first, and the leader of a replication-factor-1 partition has no
          // choice, so preferred leaders across topics are best effort (balanceLeaders evens out
          // the actual leaders); the count is still right.
          expect(c.leaders.reduce((a, b) => a + b, 0)).to.equal(all.length);
        },
      ), { numRuns: 200 });
    });

    it('spreads replicas across racks: never two in one rack while racks suffice (property)', () => {
      fc.assert(fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5 }),
        (rackSizes, partitionCount, rfRaw) => {
          const nodes: PlacementNode[] = [];
          rackSizes.forEach((size, r) => {
            for (let i = 0; i < size; i++) nodes.push({ id: nodes.length * 3 + 1, rack: `r${r}` });
          });
          const replicationFactor = Math.min(rfRaw, nodes.length);
          const assignment = assignReplicas({ nodes, partitionCount, replicationFactor });
          for (const r of assignment) {
            const racks = racksOf(r, nodes);
            const distinct = new Set(racks).size;
            // As many distinct racks as the replication factor allows...
            expect(distinct, `${r.join(',')} on ${racks.join(',')}`).to.equal(Math.min(replicationFactor, rackSizes.length));
            // ...and when there are fewer racks than replicas, each rack holds its share, give or take one.
            const perRack = [...new Set(racks)].map((rack) => racks.filter((x) => x === rack).length);
            if (rackSizes.every((s) => s === rackSizes[0])) expect(Math.max(...perRack) - Math.min(...perRack)).to.be.at.most(1);
          }
          // Racks of equal size that suffice constrain nothing: the balance holds too.
          if (rackSizes.every((s) => s === rackSizes[0]) && replicationFactor <= rackSizes.length) {
            const c = counts(assignment, nodes);
            expectBalanced(c.replicas, 'replicas');
            expectBalanced(c.leaders, 'leaders');
          }
        },
      ), { numRuns: 300 });
    });

    it('validates the replication factor against the eligible nodes, and the counts', () => {
      const nodes = [{ id: 1, rack: null }, { id: 2, rack: null }];
      const err = (fn: () => unknown): unknown => {
        try {
          fn();
        } catch (e) {
          return e;
        }
        return undefined;
      };
      const tooMany = err(() => assignReplicas({ nodes, partitionCount: 1, replicationFactor: 3 }));
      expect(isFlotillaError(tooMany, 'NOT_ENOUGH_NODES')).to.equal(true);
      expect(String(tooMany)).to.match(/replication factor 3 exceeds the 2 eligible/);
      expect(isFlotillaError(err(() => assignReplicas({ nodes: [], partitionCount: 1, replicationFactor: 1 })), 'NOT_ENOUGH_NODES')).to.equal(true);
      expect(isFlotillaError(err(() => assignReplicas({ nodes, partitionCount: 0, replicationFactor: 1 })), 'INVALID_TOPIC')).to.equal(true);
      expect(isFlotillaError(err(() => assignReplicas({ nodes, partitionCount: 1, replicationFactor: 0 })), 'INVALID_TOPIC')).to.equal(true);
      expect(isFlotillaError(err(() => assignReplicas({ nodes: [...nodes, nodes[0] ?? { id: 1, rack: null }], partitionCount: 1, replicationFactor: 1 })), 'INVALID_CONFIG')).to.equal(true);
    });

    it('is deterministic and independent of the order nodes are listed in', () => {
      const nodes = [{ id: 5, rack: 'x' }, { id: 2, rack: 'y' }, { id: 9, rack: 'x' }, { id: 1, rack: 'z' }];
      const a = assignReplicas({ nodes, partitionCount: 12, replicationFactor: 3 });
      const b = assignReplicas({ nodes: [...nodes].reverse(), partitionCount: 12, replicationFactor: 3 });
      expect(a).to.deep.equal(b);
    });
  });

  describe('balanceLeaders', () => {
    /** Applies rounds of at most `maxMoves` moves until none is proposed; returns the leaders. */
    function converge(partitions: PartitionLeadership[], live: number[], maxMoves: number): { leaders: number[]; rounds: number } {
      let current = partitions;
      for (let rounds = 0; rounds < 10_000; rounds++) {
        const moves = balanceLeaders({ partitions: current, liveNodes: live, maxMoves });
        expect(moves.length).to.be.at.most(maxMoves);
        if (moves.length === 0) return { leaders: current.map((p) => p.leaderId), rounds };
        const next = [...current];
        for (const m of moves) {
          const at = next.findIndex((p) => p.partition === m.partition);
          const p = next[at];
          if (p === undefined) throw new Error('unknown partition');
          expect(p.leaderId).to.equal(m.fromNode);
          expect(p.replicas).to.include(m.toNode);
          expect(live).to.include(m.toNode);
          next[at] = { ...p, leaderId: m.toNode };
        }
        current = next;
      }
      throw new Error('did not converge');
    }

    it('proposes nothing when leaders are the balanced preferred leaders', () => {
      const nodes = Array.from({ length: 5 }, (_, id) => ({ id, rack: null }));
      const partitions = asPartitions(assignReplicas({ nodes, partitionCount: 23, replicationFactor: 3 }));
      expect(balanceLeaders({ partitions, liveNodes: [0, 1, 2, 3, 4], maxMoves: 100 })).to.deep.equal([]);
    });

    it('gives leadership back to a node that returns', () => {
      const nodes = Array.from({ length: 4 }, (_, id) => ({ id, rack: null }));
      const preferred = asPartitions(assignReplicas({ nodes, partitionCount: 16, replicationFactor: 3 }));
      // Node 0 was down: its partitions elected other replicas.
      const without0 = preferred.map((p) => (p.leaderId === 0 ? { ...p, leaderId: p.replicas[1] ?? -1 } : p));
      const spread = converge(without0, [1, 2, 3], 3).leaders;
      expect(spread).to.not.include(0);
      const settled = without0.map((p, i) => ({ ...p, leaderId: spread[i] ?? -1 }));
      const { leaders } = converge(settled, [0, 1, 2, 3], 2);
      expect(leaders.filter((l) => l === 0).length).to.be.greaterThan(0);
      expectBalanced([0, 1, 2, 3].map((n) => leaders.filter((l) => l === n).length), 'leaders');
    });

    it('converges from any leaders, in bounded rounds, to a state where no live replica leads two fewer (property)', () => {
      fc.assert(fc.property(
        fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 4 }), fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), fc.integer({ min: 1, max: 10 }),
        (n, partitionCount, rfRaw, picks, down, maxMoves) => {
          const nodes = Array.from({ length: n }, (_, id) => ({ id, rack: null }));
          const rf = Math.min(rfRaw, n);
          const live = nodes.map((x) => x.id).filter((id) => !(down[id] ?? false));
          const partitions = asPartitions(assignReplicas({ nodes, partitionCount, replicationFactor: rf })).map((p, i) => ({
            ...p, leaderId: p.replicas[(picks[i] ?? 0) % p.replicas.length] ?? -1,
          }));
          const { leaders } = converge(partitions, live, maxMoves);
          const count = (id: number): number => leaders.filter((l) => l === id).length;
          partitions.forEach((p, i) => {
            const leader = leaders[i] ?? -1;
            if (!live.includes(leader)) return;
            for (const r of p.replicas) if (live.includes(r)) expect(count(r), `replica ${r} of ${i}`).to.be.at.least(count(leader) - 1);
          });
          // With every node in every replica set, that is global balance.
          if (rf === n && live.length === n) expectBalanced(nodes.map((x) => count(x.id)), 'leaders');
        },
      ), { numRuns: 200 });
    });
  });

  describe('planDecommission', () => {
    it('moves every replica off the node, keeping rack spread and balance', () => {
      const nodes = [0, 1, 2, 3, 4, 5].map((id) => ({ id, rack: `r${id % 3}` }));
      const partitions = asPartitions(assignReplicas({ nodes, partitionCount: 30, replicationFactor: 3 }));
      const plan = planDecommission({ nodeId: 4, partitions, nodes });
      const moved = new Map(plan.map((p) => [p.partition, p.replicas]));
      expect(plan.length).to.equal(partitions.filter((p) => p.replicas.includes(4)).length);
      const after = partitions.map((p) => moved.get(p.partition) ?? p.replicas);
      for (const [i, r] of after.entries()) {
        expect(r).to.not.include(4);
        expect(r).to.have.length(3);
        expect(new Set(racksOf(r, nodes)).size, `partition ${i}`).to.equal(3);
        // A replaced preferred leader is replaced in place.
        if (partitions[i]?.replicas[0] === 4) expect(r[0]).to.equal(moved.get(i)?.[0]);
      }
      // Node 4's replicas go to node 1 (its rack's only other node): rack spread comes first.
      const remaining = [0, 1, 2, 3, 5].map((id) => after.filter((r) => r.includes(id)).length);
      expect(remaining.reduce((a, b) => a + b)).to.equal(90);
      expect(remaining[1]).to.equal(30);
    });

    it('balances by load when racks do not constrain, and says when no node can take a replica', () => {
      const nodes = [0, 1, 2, 3, 4].map((id) => ({ id, rack: null }));
      const partitions = asPartitions(assignReplicas({ nodes, partitionCount: 20, replicationFactor: 2 }));
      const plan = planDecommission({ nodeId: 0, partitions, nodes });
      const moved = new Map(plan.map((p) => [p.partition, p.replicas]));
      const after = partitions.map((p) => moved.get(p.partition) ?? p.replicas);
      expectBalanced([1, 2, 3, 4].map((id) => after.filter((r) => r.includes(id)).length), 'replicas');
      const tight = asPartitions([[0, 1]]);
      let caught: unknown;
      try {
        planDecommission({ nodeId: 0, partitions: tight, nodes: [{ id: 0, rack: null }, { id: 1, rack: null }] });
      } catch (e) {
        caught = e;
      }
      expect(isFlotillaError(caught, 'NOT_ENOUGH_NODES')).to.equal(true);
    });
  });
});
