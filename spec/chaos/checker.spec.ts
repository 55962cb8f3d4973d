/**
 * The chaos checker on doctored histories and replica files: a clean run passes; a lost write, a
 * duplicate, inconsistent offsets, a poll skip, real-time reordering, a high watermark going back,
 * a divergent replica and a bad CRC are each reported by name; so are the consumer-group anomalies
 * (overlapping assignment, a stale generation's commit accepted, commits and fetched offsets going
 * back, a member resuming below an acknowledged commit, records skipped behind a commit).
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check } from '../../lib/chaos/checker.js';
import type { CommitOp, GroupJoinOp, HwSample, OffsetFetchOp, PollOp, SendOp } from '../../lib/chaos/history.js';
import { readLogDir, readNodeReplicas } from '../../lib/chaos/replica-files.js';
import { ControlType, encodeBatch, encodeControlBatch } from '../../lib/records/encode.js';

const T = 'chaos';

function send(process: string, values: string[], offsets: number[] | null, at: number, extra: Partial<SendOp> = {}): SendOp {
  return {
    f: 'send', process, type: offsets ? 'ok' : 'info', invokeMs: at, completeMs: at + 5, topic: T, partition: 0, values,
    ...(offsets ? { offsets } : {}), idempotent: false, ...extra,
  };
}

function poll(process: string, records: [number, string][], at: number, session = 0): PollOp {
  return { f: 'poll', process, session, timeMs: at, topic: T, partition: 0, records };
}

/** A partition log as the nodes write it: a no-op control batch at 0, then one batch per send. */
function partitionBatches(values: string[][], term = 1): Buffer[] {
  const out: Buffer[] = [encodeControlBatch(ControlType.RaftNoop, Buffer.alloc(0), 0, term)];
  let next = 1;
  for (const vs of values) {
    out.push(encodeBatch({ records: vs.map((v) => ({ value: Buffer.from(v) })), baseOffset: next, partitionLeaderEpoch: term }));
    next += vs.length;
  }
  return out;
}

function writeNode(root: string, node: number, batches: Buffer[]): string {
  const dataDir = join(root, `node-${node}`);
  const logDir = join(dataDir, 'partitions', `${T}-0.AAAAAAAAAAAAAAAAAAAAAA`, 'log');
  mkdirSync(logDir, { recursive: true });
  writeFileSync(join(logDir, `${'0'.repeat(20)}.log`), Buffer.concat(batches));
  return dataDir;
}

describe('chaos checker', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'flotilla-checker-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  // A clean history: p1 sends a, b (offsets 1, 2), p2 sends c (3); a consumer polls all of them.
  const cleanSends = (): SendOp[] => [send('p1', ['p1-0'], [1], 0), send('p1', ['p1-1'], [2], 10), send('p2', ['p2-0'], [3], 20)];
  const cleanPolls = (): PollOp[] => [poll('c1', [[1, 'p1-0'], [2, 'p1-1']], 30), poll('c1', [[3, 'p2-0']], 40)];

  function replicasOf(perNode: string[][][]): ReturnType<typeof readNodeReplicas> {
    return perNode.flatMap((values, i) => readNodeReplicas(i + 1, writeNode(root, i + 1, partitionBatches(values))));
  }

  it('passes a clean history with identical replicas', () => {
    const values = [['p1-0'], ['p1-1'], ['p2-0']];
    const replicas = replicasOf([values, values, values]);
    const r = check({ sends: cleanSends(), polls: cleanPolls(), replicas, committed: { [`${T}-0`]: 4 }, voters: { [`${T}-0`]: [1, 2, 3] }, lastHealMs: 100, recoveredMs: 1100 });
    expect(r.safe, JSON.stringify(r.examples)).to.equal(true);
    expect(r.acknowledged).to.equal(3);
    expect(r.lost).to.equal(0);
    expect(r.divergentReplicas).to.equal(0);
    expect(r.batchesCompared).to.equal(12);
    expect(r.recoverySeconds).to.equal(1);
    expect(r.anomalies).to.deep.equal({});
  });

  describe('dense offsets', () => {
    // Sends at 0, 1, 2 (offsets as a broker whose own entries take none would give them).
    const sends = (): SendOp[] => [send('p1', ['p1-0'], [0], 0), send('p1', ['p1-1'], [1], 10), send('p2', ['p2-0'], [2], 20)];
    const final = (records: [number, string][], at = 100): PollOp => ({ ...poll('final', records, at, 7), final: true });

    it('passes a final poll that reads every offset from 0 to the high watermark', () => {
      const r = check({ sends: sends(), polls: [final([[0, 'p1-0'], [1, 'p1-1'], [2, 'p2-0']])], denseTopics: [T], highWatermarks: { [`${T}-0`]: 3 } });
      expect(r.anomalies, JSON.stringify(r.examples)).to.deep.equal({});
      expect(r.safe).to.equal(true);
    });

    it('reports a gap: an offset taken by something no client reads (a Raft no-op), and one at the start', () => {
      // As the log looked while Raft no-ops took offsets: the no-op at 0, another at 2 after an election.
      const s = [send('p1', ['p1-0'], [1], 0), send('p1', ['p1-1'], [3], 10), send('p2', ['p2-0'], [4], 20)];
      const r = check({ sends: s, polls: [final([[1, 'p1-0'], [3, 'p1-1'], [4, 'p2-0']])], denseTopics: [T], highWatermarks: { [`${T}-0`]: 5 } });
      expect(r.anomalies['dense-offsets']).to.equal(2);
      expect(r.examples['dense-offsets']).to.deep.equal([
        `${T}-0: offset 0 missing between the log start 0 and the high watermark 5`,
        `${T}-0: offset 2 missing between the log start 0 and the high watermark 5`,
      ]);
      expect(r.safetyAnomalies).to.include('dense-offsets');
      expect(r.safe).to.equal(false);
    });

    it('reports a tail short of the high watermark; counts from the log start; uses the last final poll', () => {
      const short = check({ sends: sends(), polls: [final([[0, 'p1-0'], [1, 'p1-1']])], denseTopics: [T], highWatermarks: { [`${T}-0`]: 4 } });
      expect(short.examples['dense-offsets']).to.deep.equal([`${T}-0: offsets 2..3 missing between the log start 0 and the high watermark 4`]);
      const fromStart = check({ sends: sends(), polls: [final([[1, 'p1-1'], [2, 'p2-0']])], denseTopics: [T], logStartOffsets: { [`${T}-0`]: 1 } });
      expect(fromStart.anomalies['dense-offsets']).to.equal(undefined);
      const retried = check({ sends: sends(), polls: [final([[0, 'p1-0']], 100), final([[0, 'p1-0'], [1, 'p1-1'], [2, 'p2-0']], 200)], denseTopics: [T], highWatermarks: { [`${T}-0`]: 3 } });
      expect(retried.anomalies['dense-offsets']).to.equal(undefined);
    });

    it('leaves topics with transactions or compaction alone (not in denseTopics), and non-final polls', () => {
      const gappy = [final([[1, 'p1-0'], [3, 'p1-1']])];
      expect(check({ sends: sends(), polls: gappy }).anomalies['dense-offsets']).to.equal(undefined);
      expect(check({ sends: sends(), polls: gappy, denseTopics: ['other'] }).anomalies['dense-offsets']).to.equal(undefined);
      expect(check({ sends: sends(), polls: [poll('c1', [[1, 'p1-0'], [3, 'p1-1']], 30)], denseTopics: [T] }).anomalies['dense-offsets']).to.equal(undefined);
    });
  });

  it('reports a lost write: acknowledged, in no poll and no replica', () => {
    const sends = [...cleanSends(), send('p2', ['p2-1'], [4], 30)];
    const values = [['p1-0'], ['p1-1'], ['p2-0']];
    const r = check({ sends, polls: cleanPolls(), replicas: replicasOf([values, values, values]), committed: { [`${T}-0`]: 4 } });
    expect(r.lost).to.equal(1);
    expect(r.anomalies['lost-write']).to.equal(1);
    expect(r.anomalies['lost-write-replica']).to.equal(1);
    expect(r.safe).to.equal(false);
    expect(r.safetyAnomalies).to.include('lost-write');
  });

  it("reports a lost write in Jepsen's form: below the highest polled offset, never polled", () => {
    const sends = [...cleanSends(), send('p2', ['p2-1'], [4], 30)];
    const polls = [...cleanPolls(), poll('c1', [[5, 'p1-2']], 50)];
    const r = check({ sends: [...sends, send('p1', ['p1-2'], [5], 40)], polls });
    expect(r.anomalies['lost-write']).to.equal(1);
    expect(r.examples['lost-write']![0]).to.contain('p2-1');
  });

  it('counts a duplicate from a plain producer apart, and flags one from an idempotent producer', () => {
    const polls = [...cleanPolls(), poll('c1', [[4, 'p1-1']], 50)];
    const plain = check({ sends: cleanSends(), polls });
    expect(plain.duplicates).to.equal(0);
    expect(plain.duplicatesNonIdempotent).to.equal(1);
    expect(plain.safe).to.equal(true);
    const idem = check({ sends: cleanSends().map((s) => ({ ...s, idempotent: true })), polls });
    expect(idem.duplicates).to.equal(1);
    expect(idem.anomalies.duplicate).to.equal(1);
    expect(idem.safe).to.equal(false);
  });

  it('reports inconsistent offsets, a poll skip and a non-monotonic poll', () => {
    const polls = [poll('c1', [[1, 'p1-0'], [3, 'p2-0']], 30), poll('c2', [[1, 'p1-0'], [2, 'p1-1']], 30), poll('c2', [[1, 'p1-0']], 40), poll('c3', [[2, 'p2-0']], 30)];
    const r = check({ sends: cleanSends(), polls });
    expect(r.anomalies['int-poll-skip']).to.equal(1);
    expect(r.anomalies['nonmonotonic-poll']).to.equal(1);
    expect(r.anomalies['inconsistent-offsets']).to.equal(1);
    expect(r.safe).to.equal(false);
  });

  it('reports offsets out of real-time order, a G1a read and a phantom read', () => {
    const sends = [send('p1', ['p1-0'], [5], 0), send('p2', ['p2-0'], [4], 20), send('p3', ['p3-0'], null, 30, { type: 'fail' })];
    const polls = [poll('c1', [[4, 'p2-0'], [5, 'p1-0'], [6, 'p3-0'], [7, 'zz-0']], 40)];
    const r = check({ sends, polls });
    expect(r.anomalies['realtime-order']).to.equal(1);
    expect(r.anomalies.G1a).to.equal(1);
    expect(r.anomalies['phantom-read']).to.equal(1);
  });

  it('reports a high watermark going backwards within one process life, not across a restart', () => {
    const hw = (incarnation: number, timeMs: number, highWatermark: number): HwSample => ({ f: 'hw', node: 1, incarnation, timeMs, topic: T, partition: 0, role: 'leader', term: 1, highWatermark });
    expect(check({ sends: [], polls: [], hw: [hw(0, 0, 5), hw(0, 10, 7), hw(1, 20, 0), hw(1, 30, 7)] }).safe).to.equal(true);
    const r = check({ sends: [], polls: [], hw: [hw(0, 0, 5), hw(0, 10, 7), hw(0, 20, 6)] });
    expect(r.anomalies['hw-backwards']).to.equal(1);
  });

  it('reports a divergent replica: a different committed batch on one voter', () => {
    const values = [['p1-0'], ['p1-1'], ['p2-0']];
    const replicas = replicasOf([values, values, [['p1-0'], ['XX-1'], ['p2-0']]]);
    const r = check({ sends: cleanSends(), polls: cleanPolls(), replicas, committed: { [`${T}-0`]: 4 }, voters: { [`${T}-0`]: [1, 2, 3] } });
    expect(r.divergentReplicas).to.equal(1);
    expect(r.examples['divergent-replica']![0]).to.contain('node 3');
    expect(r.safe).to.equal(false);
  });

  it('reports a divergent replica: a voter missing part of the committed range; beyond the bound they may differ', () => {
    const values = [['p1-0'], ['p1-1'], ['p2-0']];
    const short = check({ sends: cleanSends(), polls: cleanPolls(), replicas: replicasOf([values, values, values.slice(0, 2)]), committed: { [`${T}-0`]: 4 }, voters: { [`${T}-0`]: [1, 2, 3] } });
    expect(short.divergentReplicas).to.equal(1);
    rmSync(root, { recursive: true, force: true });
    // The same short replica when only offsets below 3 are committed: no divergence.
    const ok = check({ sends: cleanSends().slice(0, 2), polls: [], replicas: replicasOf([values, values, values.slice(0, 2)]), committed: { [`${T}-0`]: 3 } });
    expect(ok.divergentReplicas).to.equal(0);
  });

  it('reports the same term but different bytes (partitionLeaderEpoch is compared too)', () => {
    const a = partitionBatches([['p1-0']], 1);
    const b = partitionBatches([['p1-0']], 1);
    b[1]!.writeInt32BE(2, 12); // another term, same CRC (the epoch lies outside it)
    const replicas = [...readNodeReplicas(1, writeNode(root, 1, a)), ...readNodeReplicas(2, writeNode(root, 2, a)), ...readNodeReplicas(3, writeNode(root, 3, b))];
    const r = check({ sends: [send('p1', ['p1-0'], [1], 0)], polls: [], replicas, committed: { [`${T}-0`]: 2 } });
    expect(r.divergentReplicas).to.equal(1);
  });

  it('reads a bad CRC below the recovery point as bad-crc, a torn tail as torn-tail', () => {
    const batches = partitionBatches([['p1-0'], ['p1-1'], ['p2-0']]);
    const bad = Buffer.concat(batches);
    const at = batches[0]!.length + 70;
    bad[at] = bad[at]! ^ 0xff; // a record byte of the second batch
    const dir = join(root, 'bad');
    mkdirSync(dir);
    writeFileSync(join(dir, `${'0'.repeat(20)}.log`), bad);
    const read = readLogDir(dir);
    expect(read.problems).to.have.length(1);
    expect(read.problems[0]!.tail).to.equal(false);
    expect(read.batches).to.have.length(3);
    const torn = Buffer.concat(batches).subarray(0, Buffer.concat(batches).length - 5);
    writeFileSync(join(dir, `${'0'.repeat(20)}.log`), torn);
    const read2 = readLogDir(dir);
    expect(read2.problems.map((p) => p.tail)).to.deep.equal([true]);
    const r = check({ sends: [], polls: [], replicas: [{ node: 1, group: `${T}-0`, topic: T, partition: 0, ...read }, { node: 2, group: `${T}-0`, topic: T, partition: 0, ...read2 }] });
    expect(r.anomalies['bad-crc']).to.equal(1);
    expect(r.anomalies['torn-tail']).to.equal(1);
    expect(r.badCrc).to.equal(1);
  });

  it('reports slow or missing recovery as liveness, not safety', () => {
    const slow = check({ sends: [], polls: [], lastHealMs: 0, recoveredMs: 20_000 });
    expect(slow.recoverySeconds).to.equal(20);
    expect(slow.anomalies['slow-recovery']).to.equal(1);
    expect(slow.safe).to.equal(true);
    expect(check({ sends: [], polls: [], lastHealMs: 0, recoveredMs: null }).anomalies['not-recovered']).to.equal(1);
  });

  describe('consumer groups', () => {
    const G = 'g';
    const join = (process: string, generation: number, timeMs: number, session = 0, memberId = `${process}-id`): GroupJoinOp => ({
      f: 'join', group: G, process, session, memberId, generation, timeMs, assignment: [[T, 0]],
    });
    const gpoll = (process: string, session: number, generation: number, offsets: number[], timeMs: number): PollOp => ({
      ...poll(process, offsets.map((o) => [o, `p1-${o - 1}`]), timeMs, session), group: G, generation,
    });
    const commit = (process: string, generation: number, offset: number, invokeMs: number, session = 0): CommitOp => ({
      f: 'commit', group: G, process, session, type: 'ok', invokeMs, completeMs: invokeMs + 5, generation, offsets: [{ topic: T, partition: 0, offset }],
    });
    const fetched = (offset: number, invokeMs: number, final = false): OffsetFetchOp => ({
      f: 'offsets', group: G, process: 'observer', invokeMs, completeMs: invokeMs + 5, offsets: [{ topic: T, partition: 0, offset }], ...(final ? { final } : {}),
    });
    // p1 writes p1-0..p1-5 at offsets 1..6. m1 (generation 1) reads 1-3 and commits 4; m2 takes
    // over in generation 2, reads 4-6 and commits 7; the observer and the final fetch see 7.
    const sends = (): SendOp[] => [0, 1, 2, 3, 4, 5].map((i) => send('p1', [`p1-${i}`], [i + 1], i));
    const clean = () => ({
      sends: sends(),
      polls: [gpoll('m1', 0, 1, [1, 2, 3], 110), gpoll('m2', 0, 2, [4, 5], 210), gpoll('m2', 0, 2, [6], 215)],
      joins: [join('m1', 1, 100), join('m2', 2, 200)],
      commits: [commit('m1', 1, 4, 120), commit('m2', 2, 7, 220)],
      offsetFetches: [fetched(4, 150), fetched(7, 230), fetched(7, 400, true)],
    });

    it('passes a clean group history', () => {
      const r = check(clean());
      expect(r.anomalies, JSON.stringify(r.examples)).to.deep.equal({});
      expect(r.groupJoins).to.equal(2);
      expect(r.groupCommits).to.equal(2);
    });

    it('reports one partition given to two members in one generation', () => {
      const h = clean();
      const r = check({ ...h, joins: [...h.joins, join('m1', 2, 200, 1)] });
      expect(r.anomalies['group-assignment-overlap']).to.equal(1);
      expect(r.safe).to.equal(false);
    });

    it("reports an older generation's commit acknowledged after a later generation was handed out", () => {
      const h = clean();
      const r = check({ ...h, commits: [...h.commits, commit('m1', 1, 4, 205)] });
      expect(r.anomalies['group-stale-commit']).to.equal(1);
      expect(r.examples['group-stale-commit']![0]).to.contain('generation 1');
    });

    it('reports a commit going backwards, and an OffsetFetch answer below an acknowledged commit', () => {
      const h = clean();
      const back = check({ ...h, commits: [...h.commits, commit('m2', 2, 5, 240)] });
      expect(back.anomalies['group-commit-backwards']).to.equal(1);
      const stale = check({ ...h, offsetFetches: [...h.offsetFetches, fetched(4, 300)] });
      expect(stale.anomalies['group-offset-backwards']).to.equal(1);
      expect(stale.examples['group-offset-backwards']![0]).to.contain('acknowledged commit 7');
      const none = check({ ...h, offsetFetches: [fetched(-1, 300)] });
      expect(none.anomalies['group-offset-backwards']).to.equal(1);
    });

    it('reports a member resuming below the commit acknowledged before its rebalance', () => {
      const h = clean();
      const r = check({ ...h, polls: [h.polls[0]!, gpoll('m2', 0, 2, [3, 4, 5, 6], 210)] });
      expect(r.anomalies['group-resume-behind']).to.equal(1);
      expect(r.safe).to.equal(false);
    });

    it('reports records the group skipped: where a member resumed, and below the final committed offset', () => {
      const h = clean();
      const r = check({ ...h, polls: [h.polls[0]!, gpoll('m2', 0, 2, [5, 6], 210)] });
      // Offset 4 (p1-3) never reached the group: once at m2's resume, once below the final commit.
      expect(r.anomalies['group-skip']).to.equal(2);
      expect(r.examples['group-skip']![0]).to.contain('resumed at 5');
      expect(r.safe).to.equal(false);
      // Records polled by another member before the resume are not skipped.
      const handedOver = check({ ...h, polls: [gpoll('m1', 0, 1, [1, 2, 3, 4], 110), gpoll('m2', 0, 2, [5, 6], 210)] });
      expect(handedOver.anomalies['group-skip']).to.equal(undefined);
    });

    it('reports a group short of the end as liveness, not safety', () => {
      const h = clean();
      const r = check({ ...h, offsetFetches: [fetched(4, 150), fetched(4, 400, true)], commits: [h.commits[0]!], polls: [h.polls[0]!, poll('c1', [[4, 'p1-3'], [5, 'p1-4'], [6, 'p1-5']], 210)] });
      expect(r.anomalies['group-behind']).to.equal(1);
      expect(r.safe, JSON.stringify(r.examples)).to.equal(true);
    });
  });
});
