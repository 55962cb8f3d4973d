/**
 * The chaos fault schedule (pure): the same seed gives the same schedule; consumer-group
 * coordinators are among the targets; disk-full is a process fault (its own track with
 * --overlap); --faults names expand and the ring is skipped, with a reason, below 5 nodes.
 */
import { expect } from 'chai';
import { Xoshiro128 } from '../../lib/base/prng.js';
import { cutLinks, parseFaults, planSchedule } from '../../lib/chaos/schedule.js';

const partitions = [0, 1, 2].map((partition) => ({ topic: 'chaos', partition }));

describe('chaos schedule', () => {
  it('is a function of the seed and the options', () => {
    const options = { nodes: 3, durationMs: 600_000, faults: parseFaults('all', 3).kinds, partitions, groups: ['g'] };
    expect(planSchedule(new Xoshiro128(7), options)).to.deep.equal(planSchedule(new Xoshiro128(7), options));
    expect(planSchedule(new Xoshiro128(7), options)).to.not.deep.equal(planSchedule(new Xoshiro128(8), options));
  });

  it('aims faults at the group coordinator: kill, pause, disk-full and partition-coordinator', () => {
    const schedule = planSchedule(new Xoshiro128(1), { nodes: 5, durationMs: 3_600_000, faults: parseFaults('kill,pause,disk-full,partition-coordinator', 5).kinds, partitions, groups: ['g'] });
    const aimed = schedule.filter((f) => f.target.kind === 'group-coordinator');
    expect(new Set(aimed.map((f) => f.kind))).to.deep.equal(new Set(['kill', 'pause', 'disk-full', 'partition-coordinator']));
    for (const f of schedule.filter((x) => x.kind === 'partition-coordinator')) {
      expect(f.target).to.deep.equal({ kind: 'group-coordinator', group: 'g' });
      expect(cutLinks(f, 2, 5)).to.have.length(8); // node 2 cut from the 4 others, both ways
    }
    // Without groups nothing aims at a coordinator.
    const none = planSchedule(new Xoshiro128(1), { nodes: 5, durationMs: 3_600_000, faults: parseFaults('kill,partition-coordinator', 5).kinds, partitions });
    expect(none.some((f) => f.target.kind === 'group-coordinator')).to.equal(false);
  });

  it('puts disk-full on the process track with --overlap, one fault at a time per track', () => {
    const schedule = planSchedule(new Xoshiro128(3), { nodes: 3, durationMs: 600_000, faults: parseFaults('disk-full,partition', 3).kinds, partitions, groups: ['g'], overlap: true });
    expect(new Set(schedule.filter((f) => f.kind === 'disk-full').map((f) => f.track))).to.deep.equal(new Set([0]));
    for (const track of [0, 1]) {
      const faults = schedule.filter((f) => f.track === track);
      for (let i = 1; i < faults.length; i++) expect(faults[i]!.atMs).to.be.greaterThan(faults[i - 1]!.atMs + faults[i - 1]!.durationMs);
    }
  });

  it('expands --faults names, names an unknown one, and skips the ring below 5 nodes (saying so only when asked for)', () => {
    expect(parseFaults('partition', 5).kinds).to.include.members(['partition-coordinator', 'partition-ring', 'partition-metadata']);
    expect(parseFaults('all', 3)).to.deep.equal({ kinds: parseFaults('all', 5).kinds.filter((k) => k !== 'partition-ring'), skipped: [] });
    expect(parseFaults('kill,partition-ring', 3).skipped).to.have.length(1);
    expect(() => parseFaults('kill,bogus', 3)).to.throw(/unknown fault "bogus"/);
  });
});
