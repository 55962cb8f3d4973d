/**
 * The chaos checker: reads a client history and every replica's log files (history.ts) and
 * reports anomalies by name (../shared/research/reliability.md section 2, Jepsen's kafka names
 * where they exist). Pure: no I/O, no clock.
 *
 * From the client history (H):
 * - `lost-write`: an acknowledged value that no poll returned and no replica holds; or (Jepsen's
 *   form) a must-have-committed value (ok, or info but seen) at or below the highest offset polled
 *   on its partition that no poll returned.
 * - `inconsistent-offsets`: one (partition, offset) holding two values across H and the committed
 *   ranges of the replica files.
 * - `duplicate`: a value at two offsets, from an idempotent producer; from a plain producer it is
 *   counted as `duplicate-nonidempotent` (retries duplicate by design) and is not a safety anomaly.
 * - `nonmonotonic-send`: one process's successive acknowledged sends to a partition not at
 *   increasing offsets; `realtime-order`: a send acknowledged before another was invoked (any
 *   process) got a higher offset than it.
 * - `int-nonmonotonic-poll` / `int-poll-skip` within one poll, `nonmonotonic-poll` / `poll-skip`
 *   across the polls of one consumer session (assigned consumers): offsets go forward and no data
 *   record of the version order is skipped (gaps of control batches are fine).
 * - `G1a`: a poll returned a value whose send definitely failed; `phantom-read`: a poll returned a
 *   value nobody sent.
 * - `hw-backwards`: a node's high watermark for a partition went down within one process life.
 * - `dense-offsets`: on a partition of a topic without transactions or compaction (`denseTopics`),
 *   the final poll (from the beginning to the end) did not return every offset from the log start
 *   (0 for a new topic) up to the final high watermark: the broker's own entries (Raft no-ops,
 *   configuration changes) must not take offsets clients see as gaps.
 * - `unseen` (liveness): acknowledged values never polled.
 * From the consumer groups' records (joins, commits, OffsetFetch answers), per group and partition:
 * - `group-assignment-overlap`: one partition given to two members in one generation.
 * - `group-stale-commit`: a commit acknowledged for generation g although it was invoked after a
 *   member had completed a rebalance into a later generation (it must have been fenced).
 * - `group-commit-backwards`: an acknowledged commit lower than one acknowledged before it was
 *   invoked; `group-offset-backwards`: an OffsetFetch answer lower than a commit acknowledged, or
 *   an answer received, before it was invoked.
 * - `group-resume-behind`: a member's first poll of a partition after a rebalance starts below a
 *   commit acknowledged before the rebalance completed (the coordinator lost or hid it).
 * - `group-skip`: a record the group never polled below where a member resumed, or below the
 *   final committed offset (consumption must be at least once behind every commit).
 * - `group-behind` (liveness): the final committed offset short of the partition's last record.
 * Within one member's session (one generation) the poll checks above apply as for assigned
 * consumers; across sessions a member may be re-delivered records (at least once).
 * From the replica files (R):
 * - `divergent-replica`: a replica whose committed range (batches below the group's committed
 *   bound: the minimum high watermark over its voters; for the metadata log the minimum commit
 *   index + 1) is not byte-identical to the majority's, or misses part of it.
 * - `lost-write-replica`: an acknowledged value in fewer than a majority of its voters' files.
 * - `bad-crc`: a batch that fails its check with valid batches after it (below the recovery
 *   point); a bad tail is `torn-tail` (allowed after a crash).
 * - `file-offsets`: batches whose offsets are not contiguous and increasing; `file-epochs`: terms
 *   going down along a log.
 * From the runner: `node-crash`, a node process that stopped without being asked (an assertion or
 * a fatal error), other than while its disk was full.
 * And `recoverySeconds`: from the last heal to when every node served again and every partition
 * took a write invoked after the heal (measured by the runner, given as `recoveredMs`).
 */
import type { CommitOp, GroupJoinOp, HwSample, OffsetFetchOp, PollOp, ReplicaBatch, ReplicaLog, SendOp } from './history.js';
import { partitionKey } from './history.js';

/** Anomalies that mean the system broke its guarantees: any one makes the run fail. */
export const SAFETY_ANOMALIES = [
  'lost-write', 'lost-write-replica', 'inconsistent-offsets', 'duplicate', 'nonmonotonic-send', 'realtime-order',
  'int-nonmonotonic-poll', 'int-poll-skip', 'nonmonotonic-poll', 'poll-skip', 'G1a', 'phantom-read', 'hw-backwards',
  'divergent-replica', 'bad-crc', 'file-offsets', 'file-epochs', 'group-assignment-overlap', 'group-stale-commit',
  'group-commit-backwards', 'group-offset-backwards', 'group-resume-behind', 'group-skip', 'node-crash', 'dense-offsets',
] as const;

/** Reported, but not a safety failure (liveness, or allowed by the producer's settings). */
export const OTHER_ANOMALIES = [
  'duplicate-nonidempotent', 'unseen', 'torn-tail', 'not-recovered', 'slow-recovery', 'final-polls-incomplete', 'group-behind',
] as const;

export type AnomalyName = (typeof SAFETY_ANOMALIES)[number] | (typeof OTHER_ANOMALIES)[number];

/** Recovery within this many seconds of the last heal is the target (issue 9). */
export const RECOVERY_SECONDS_TARGET = 15;
const EXAMPLES_MAX = 8;

export interface CheckInput {
  readonly sends: readonly SendOp[];
  readonly polls: readonly PollOp[];
  readonly hw?: readonly HwSample[];
  /** Consumer groups: members' joins and commits, OffsetFetch answers. */
  readonly joins?: readonly GroupJoinOp[];
  readonly commits?: readonly CommitOp[];
  readonly offsetFetches?: readonly OffsetFetchOp[];
  /** Node processes that stopped by themselves (not killed, not stopped by the runner), other than on a full disk. */
  readonly crashes?: readonly { readonly node: number; readonly life: number; readonly code: number | null; readonly signal: string | null; readonly atMs: number }[];
  readonly replicas?: readonly ReplicaLog[];
  /** Per group (`topic-partition` or `metadata`): batches whose lastOffset is below this are committed on every voter. */
  readonly committed?: Readonly<Record<string, number>>;
  /** Per group: the voters whose files must hold the committed range (default: every replica read). */
  readonly voters?: Readonly<Record<string, readonly number[]>>;
  readonly lastHealMs?: number | null;
  /** When every partition took a write again after the last heal. */
  readonly recoveredMs?: number | null;
  /** False when the final polls could not read every partition to its end. */
  readonly finalPollsComplete?: boolean;
  /** Topics without transactions or compaction: their offsets must be dense (`dense-offsets`). */
  readonly denseTopics?: readonly string[];
  /** Per partition (`topic-partition`): the final high watermark (the dense range's end). */
  readonly highWatermarks?: Readonly<Record<string, number>>;
  /** Per partition: the log start offset (default 0: a topic created for the run). */
  readonly logStartOffsets?: Readonly<Record<string, number>>;
}

export interface ChaosReport {
  readonly acknowledged: number;
  readonly indeterminate: number;
  readonly failed: number;
  readonly polled: number;
  /** Consumer groups: rebalances completed by members, acknowledged commits. */
  readonly groupJoins: number;
  readonly groupCommits: number;
  readonly lost: number;
  readonly unseen: number;
  /** Duplicates from idempotent producers (safety). */
  readonly duplicates: number;
  /** Duplicates from plain producers (counted apart: retries duplicate by design). */
  readonly duplicatesNonIdempotent: number;
  /** Replicas (group, node) whose committed range differs from the majority's. */
  readonly divergentReplicas: number;
  readonly badCrc: number;
  readonly replicasRead: number;
  readonly batchesCompared: number;
  readonly recoverySeconds: number | null;
  /** Count by anomaly name (only names that occurred). */
  readonly anomalies: Record<string, number>;
  /** A few examples per anomaly name. */
  readonly examples: Record<string, string[]>;
  /** Names of the safety anomalies found. */
  readonly safetyAnomalies: string[];
  readonly safe: boolean;
}

class Tally {
  readonly counts: Record<string, number> = {};
  readonly examples: Record<string, string[]> = {};

  add(name: AnomalyName, example: string, n = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + n;
    const list = (this.examples[name] ??= []);
    if (list.length < EXAMPLES_MAX) list.push(example);
  }
}

/** offset -> values seen there, per partition. */
type VersionOrder = Map<string, Map<number, Set<string>>>;

function note(order: VersionOrder, key: string, offset: number, value: string): void {
  let m = order.get(key);
  if (!m) order.set(key, (m = new Map()));
  let s = m.get(offset);
  if (!s) m.set(offset, (s = new Set()));
  s.add(value);
}

/** GAPS_MAX gaps per partition are reported one by one; the rest in one line. */
const GAPS_MAX = 20;

/**
 * `dense-offsets`: per partition of a dense topic, the offsets of its last final poll (which read
 * from the beginning to the end) must be exactly [log start, high watermark).
 */
function checkDenseOffsets(t: Tally, input: CheckInput): void {
  const dense = new Set(input.denseTopics ?? []);
  if (dense.size === 0) return;
  const finals = new Map<string, PollOp>();
  for (const p of [...input.polls].sort((a, b) => a.timeMs - b.timeMs)) {
    if (p.final === true && dense.has(p.topic)) finals.set(partitionKey(p.topic, p.partition), p);
  }
  for (const [key, p] of finals) {
    const start = input.logStartOffsets?.[key] ?? 0;
    const offsets = [...new Set(p.records.map(([o]) => o))].sort((a, b) => a - b);
    const last = offsets.length > 0 ? offsets[offsets.length - 1]! : start - 1;
    const end = Math.max(input.highWatermarks?.[key] ?? last + 1, last + 1);
    const gaps: [number, number][] = []; // [from, to) missing
    let next = start;
    for (const o of offsets) {
      if (o < start) continue;
      if (o > next) gaps.push([next, o]);
      next = o + 1;
    }
    if (next < end) gaps.push([next, end]);
    gaps.slice(0, GAPS_MAX).forEach(([from, to]) => {
      t.add('dense-offsets', `${key}: ${to - from === 1 ? `offset ${from}` : `offsets ${from}..${to - 1}`} missing between the log start ${start} and the high watermark ${end}`);
    });
    if (gaps.length > GAPS_MAX) t.add('dense-offsets', `${key}: ${gaps.length - GAPS_MAX} more gaps`, gaps.length - GAPS_MAX);
  }
}

/**
 * The batches below `bound` that hold offsets. Zero-width batches (a layout-2 topic's Raft and
 * broker entries: lastOffset = baseOffset - 1) share their baseOffset with the next batch and hold
 * no record: they are not compared by offset (the batches around them are).
 */
function committedBatches(log: ReplicaLog, bound: number | undefined): readonly ReplicaBatch[] {
  if (bound === undefined) return [];
  return log.batches.filter((b) => b.lastOffset < bound && b.lastOffset >= b.baseOffset);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export function check(input: CheckInput): ChaosReport {
  const t = new Tally();
  const replicas = input.replicas ?? [];
  const committed = input.committed ?? {};
  const sends = input.sends;
  const polls = input.polls;

  // ---- who sent what --------------------------------------------------------------------------
  const sendOf = new Map<string, SendOp>();
  let acknowledged = 0;
  let indeterminate = 0;
  let failed = 0;
  for (const s of sends) {
    for (const v of s.values) sendOf.set(v, s);
    if (s.type === 'ok') acknowledged += s.values.length;
    else if (s.type === 'info') indeterminate += s.values.length;
    else failed += s.values.length;
  }

  // ---- the version order: H (ok sends, every poll) and the committed ranges of R ---------------
  const order: VersionOrder = new Map();
  for (const s of sends) {
    if (s.type !== 'ok' || !s.offsets) continue;
    s.values.forEach((v, i) => note(order, partitionKey(s.topic, s.partition), s.offsets![i]!, v));
  }
  const polledValues = new Set<string>();
  let polled = 0;
  for (const p of polls) {
    for (const [offset, value] of p.records) {
      note(order, partitionKey(p.topic, p.partition), offset, value);
      polledValues.add(value);
      polled++;
    }
  }
  const inReplicas = new Map<string, Set<number>>(); // value -> nodes whose file holds it (any position)
  const replicaAt = new Map<string, Map<number, Map<number, string>>>(); // group -> node -> offset -> value
  for (const log of replicas) {
    if (log.topic === null) continue;
    const byOffset = new Map<number, string>();
    replicaAt.set(log.group, (replicaAt.get(log.group) ?? new Map()).set(log.node, byOffset));
    const bound = committed[log.group];
    for (const b of log.batches) {
      for (const [offset, value] of b.records) {
        byOffset.set(offset, value);
        let nodes = inReplicas.get(value);
        if (!nodes) inReplicas.set(value, (nodes = new Set()));
        nodes.add(log.node);
        if (bound !== undefined && b.lastOffset < bound) note(order, log.group, offset, value);
      }
    }
  }

  // inconsistent offsets and duplicates
  const offsetsOf = new Map<string, Set<string>>(); // value -> `${key}@${offset}`
  for (const [key, m] of order) {
    for (const [offset, values] of m) {
      if (values.size > 1) t.add('inconsistent-offsets', `${key}@${offset}: ${[...values].join(', ')}`);
      for (const v of values) {
        let o = offsetsOf.get(v);
        if (!o) offsetsOf.set(v, (o = new Set()));
        o.add(`${key}@${offset}`);
      }
    }
  }
  let duplicates = 0;
  let duplicatesNonIdempotent = 0;
  for (const [v, where] of offsetsOf) {
    if (where.size < 2) continue;
    const example = `${v} at ${[...where].join(', ')}`;
    if (sendOf.get(v)?.idempotent === true) {
      duplicates++;
      t.add('duplicate', example);
    } else {
      duplicatesNonIdempotent++;
      t.add('duplicate-nonidempotent', example);
    }
  }

  // ---- lost and unseen ------------------------------------------------------------------------
  const highestPolled = new Map<string, number>();
  for (const p of polls) {
    const key = partitionKey(p.topic, p.partition);
    for (const [offset] of p.records) highestPolled.set(key, Math.max(highestPolled.get(key) ?? -1, offset));
  }
  const lost = new Set<string>();
  let unseen = 0;
  for (const s of sends) {
    if (s.type === 'fail') continue;
    const key = partitionKey(s.topic, s.partition);
    s.values.forEach((v, i) => {
      const seen = polledValues.has(v);
      const held = inReplicas.has(v);
      if (s.type === 'ok' && !seen && !held) {
        lost.add(v);
        t.add('lost-write', `${v} acknowledged at ${key}@${s.offsets?.[i]}: in no poll and no replica`);
        return;
      }
      if (seen) return;
      if (s.type === 'ok') {
        unseen++;
        t.add('unseen', `${v} acknowledged at ${key}@${s.offsets?.[i]}`);
      }
      // Jepsen's form: a must-have-committed value at or below the highest polled offset was polled.
      const mustHave = s.type === 'ok' || held;
      if (!mustHave) return;
      const where = offsetsOf.get(v);
      const offsets = [...(where ?? [])].map((w) => Number(w.slice(w.lastIndexOf('@') + 1)));
      const at = offsets.length > 0 ? Math.min(...offsets) : (s.offsets?.[i] ?? Number.POSITIVE_INFINITY);
      if (at <= (highestPolled.get(key) ?? -1) && !lost.has(v)) {
        lost.add(v);
        t.add('lost-write', `${v} at ${key}@${at}: below the highest polled offset ${highestPolled.get(key)}, never polled`);
      }
    });
  }

  // ---- sends: per process, and in real time across processes ----------------------------------
  const okSends = sends.filter((s) => s.type === 'ok' && s.offsets && s.offsets.length > 0);
  const lastByProcess = new Map<string, number>();
  for (const s of [...okSends].sort((a, b) => a.invokeMs - b.invokeMs)) {
    const k = `${s.process}/${partitionKey(s.topic, s.partition)}`;
    const first = Math.min(...s.offsets!);
    const prev = lastByProcess.get(k);
    if (prev !== undefined && first <= prev) t.add('nonmonotonic-send', `${k}: offset ${first} after ${prev}`);
    lastByProcess.set(k, Math.max(prev ?? -1, ...s.offsets!));
  }
  {
    // Sweep in time: at each send's invoke, remember the highest offset already acknowledged there.
    type Ev = { at: number; kind: 0 | 1; s: SendOp };
    const evs: Ev[] = [];
    for (const s of okSends) evs.push({ at: s.invokeMs, kind: 1, s }, { at: s.completeMs, kind: 0, s });
    // Completions at the same instant as an invoke do not count as "before" it (strict real time).
    evs.sort((a, b) => a.at - b.at || b.kind - a.kind);
    const ackedMax = new Map<string, { offset: number; value: string }>();
    const floor = new Map<SendOp, { offset: number; value: string }>();
    for (const e of evs) {
      const key = partitionKey(e.s.topic, e.s.partition);
      if (e.kind === 1) {
        const m = ackedMax.get(key);
        if (m) floor.set(e.s, m);
      } else {
        const hi = Math.max(...e.s.offsets!);
        const m = ackedMax.get(key);
        if (!m || hi > m.offset) ackedMax.set(key, { offset: hi, value: e.s.values[e.s.offsets!.indexOf(hi)] ?? '?' });
      }
    }
    for (const [s, f] of floor) {
      const lo = Math.min(...s.offsets!);
      if (lo <= f.offset) t.add('realtime-order', `${partitionKey(s.topic, s.partition)}: ${s.values[0]} at ${lo}, invoked after ${f.value} was acknowledged at ${f.offset}`);
    }
  }

  // ---- polls ----------------------------------------------------------------------------------
  const rank = new Map<string, Map<number, number>>();
  for (const [key, m] of order) {
    const offsets = [...m.keys()].sort((a, b) => a - b);
    rank.set(key, new Map(offsets.map((o, i) => [o, i])));
  }
  const cursor = new Map<string, { offset: number; rank: number }>();
  for (const p of [...polls].sort((a, b) => a.timeMs - b.timeMs)) {
    const key = partitionKey(p.topic, p.partition);
    const ranks = rank.get(key) ?? new Map<number, number>();
    const ck = `${p.process}#${p.session}/${key}`;
    let prev = cursor.get(ck);
    let first = true;
    for (const [offset, value] of p.records) {
      const s = sendOf.get(value);
      if (!s) t.add('phantom-read', `${ck} polled ${value} at ${offset}: never sent`);
      else if (s.type === 'fail') t.add('G1a', `${ck} polled ${value} at ${offset}: its send failed`);
      const r = ranks.get(offset) ?? -1;
      if (prev !== undefined) {
        if (offset <= prev.offset) t.add(first ? 'nonmonotonic-poll' : 'int-nonmonotonic-poll', `${ck}: ${offset} after ${prev.offset}`);
        else if (r > prev.rank + 1) t.add(first ? 'poll-skip' : 'int-poll-skip', `${ck}: from ${prev.offset} to ${offset}, skipping ${r - prev.rank - 1} record(s)`);
      }
      prev = { offset, rank: r };
      first = false;
    }
    if (prev) cursor.set(ck, prev);
  }

  // ---- high watermarks ------------------------------------------------------------------------
  const hwLast = new Map<string, HwSample>();
  for (const h of [...(input.hw ?? [])].sort((a, b) => a.timeMs - b.timeMs)) {
    const k = `${h.node}#${h.incarnation}/${partitionKey(h.topic, h.partition)}`;
    const prev = hwLast.get(k);
    if (prev && h.highWatermark < prev.highWatermark) {
      t.add('hw-backwards', `node ${h.node} (life ${h.incarnation}) ${partitionKey(h.topic, h.partition)}: ${prev.highWatermark} at ${prev.timeMs} ms -> ${h.highWatermark} at ${h.timeMs} ms`);
    }
    hwLast.set(k, h);
  }

  checkDenseOffsets(t, input);
  checkGroups(t, input, order);

  // ---- replica files --------------------------------------------------------------------------
  let badCrc = 0;
  for (const log of replicas) {
    for (const p of log.problems) {
      if (p.tail) t.add('torn-tail', `node ${log.node} ${log.group} ${p.file}@${p.position}: ${p.message}`);
      else {
        badCrc++;
        t.add('bad-crc', `node ${log.node} ${log.group} ${p.file}@${p.position}: ${p.problem}: ${p.message}`);
      }
    }
    let prev: ReplicaBatch | undefined;
    for (const b of log.batches) {
      if (prev && b.baseOffset !== prev.lastOffset + 1) t.add('file-offsets', `node ${log.node} ${log.group}: batch at ${b.baseOffset} after one ending at ${prev.lastOffset}`);
      if (prev && b.epoch < prev.epoch) t.add('file-epochs', `node ${log.node} ${log.group}: term ${b.epoch} at ${b.baseOffset} after term ${prev.epoch}`);
      prev = b;
    }
  }

  const groups = new Map<string, ReplicaLog[]>();
  for (const log of replicas) groups.set(log.group, [...(groups.get(log.group) ?? []), log]);
  let divergentReplicas = 0;
  let batchesCompared = 0;
  for (const [group, logs] of groups) {
    const bound = committed[group];
    if (bound === undefined) continue;
    const voters = input.voters?.[group];
    const members = voters ? logs.filter((l) => voters.includes(l.node)) : logs;
    if (voters) {
      for (const v of voters) {
        if (!logs.some((l) => l.node === v)) {
          divergentReplicas++;
          t.add('divergent-replica', `${group}: voter ${v} has no log files`);
        }
      }
    }
    // Majority bytes at each base offset.
    const votes = new Map<number, { bytes: Uint8Array; n: number }[]>();
    const ranges = members.map((l) => ({ log: l, batches: committedBatches(l, bound) }));
    for (const { batches } of ranges) {
      for (const b of batches) {
        const list = votes.get(b.baseOffset) ?? [];
        const same = list.find((x) => sameBytes(x.bytes, b.bytes));
        if (same) same.n++;
        else list.push({ bytes: b.bytes, n: 1 });
        votes.set(b.baseOffset, list);
      }
    }
    for (const { log, batches } of ranges) {
      let why: string | null = null;
      for (const b of batches) {
        batchesCompared++;
        const best = (votes.get(b.baseOffset) ?? []).reduce((a, x) => (x.n > a.n ? x : a), { bytes: new Uint8Array(0), n: 0 });
        if (!sameBytes(best.bytes, b.bytes)) {
          why ??= `batch at offset ${b.baseOffset} (term ${b.epoch}) differs from the majority's`;
        }
      }
      // It must hold the committed range from its first batch up to the bound (no gap, no short tail).
      const start = batches[0]?.baseOffset ?? log.batches[0]?.baseOffset;
      const half = members.length / 2;
      const wanted = [...votes].filter(([o, list]) => (start === undefined || o >= start) && list.some((x) => x.n > half)).map(([o]) => o);
      const have = new Set(batches.map((b) => b.baseOffset));
      const missing = wanted.filter((o) => !have.has(o));
      const end = batches.length > 0 ? batches[batches.length - 1]!.lastOffset + 1 : start ?? 0;
      if (why === null && missing.length > 0) why = `misses committed batch(es) at ${missing.slice(0, 5).join(', ')}`;
      if (why === null && log.topic !== null && end < bound) why = `its log ends at ${end}, below the committed bound ${bound}`;
      if (why !== null) {
        divergentReplicas++;
        t.add('divergent-replica', `${group} node ${log.node}: ${why}`);
      }
    }
  }

  // acknowledged values on a majority of their partition's voters' files
  for (const s of okSends) {
    const key = partitionKey(s.topic, s.partition);
    const byNode = replicaAt.get(key);
    if (!byNode) continue;
    const voters = input.voters?.[key] ?? [...byNode.keys()];
    const need = Math.floor(voters.length / 2) + 1;
    s.values.forEach((v, i) => {
      const offset = s.offsets![i]!;
      const holders = voters.filter((n) => byNode.get(n)?.get(offset) === v).length;
      if (holders < need) t.add('lost-write-replica', `${v} acknowledged at ${key}@${offset}: in ${holders} of ${voters.length} voters' files`);
    });
  }

  for (const c of input.crashes ?? []) t.add('node-crash', `node ${c.node} (life ${c.life}) stopped by itself at ${Math.round(c.atMs)} ms: exit code ${c.code}, signal ${c.signal} (see node-${c.node}.log)`);

  // ---- liveness -------------------------------------------------------------------------------
  if (input.finalPollsComplete === false) t.add('final-polls-incomplete', 'the final polls did not reach the end of every partition');
  let recoverySeconds: number | null = null;
  if (input.lastHealMs !== undefined && input.lastHealMs !== null) {
    if (input.recoveredMs === undefined || input.recoveredMs === null) t.add('not-recovered', 'some partition took no write after the last heal');
    else {
      recoverySeconds = Math.max(0, input.recoveredMs - input.lastHealMs) / 1000;
      if (recoverySeconds > RECOVERY_SECONDS_TARGET) t.add('slow-recovery', `${recoverySeconds.toFixed(1)} s after the last heal`);
    }
  }

  const safetyAnomalies = SAFETY_ANOMALIES.filter((n) => (t.counts[n] ?? 0) > 0);
  return {
    acknowledged,
    indeterminate,
    failed,
    polled,
    groupJoins: (input.joins ?? []).length,
    groupCommits: (input.commits ?? []).filter((c) => c.type === 'ok').length,
    lost: lost.size,
    unseen,
    duplicates,
    duplicatesNonIdempotent,
    divergentReplicas,
    badCrc,
    replicasRead: replicas.length,
    batchesCompared,
    recoverySeconds,
    anomalies: t.counts,
    examples: t.examples,
    safetyAnomalies: [...safetyAnomalies],
    safe: safetyAnomalies.length === 0,
  };
}

/** Highest offset at or before a time: points sorted by time, with a running maximum. */
class Floor {
  private readonly times: number[] = [];
  private readonly maxes: number[] = [];

  constructor(points: readonly { at: number; offset: number }[]) {
    let max = Number.NEGATIVE_INFINITY;
    for (const p of [...points].sort((a, b) => a.at - b.at)) {
      max = Math.max(max, p.offset);
      this.times.push(p.at);
      this.maxes.push(max);
    }
  }

  /** The highest offset among points strictly before `at` (-Infinity when none). */
  before(at: number): number {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? Number.NEGATIVE_INFINITY : this.maxes[lo - 1]!;
  }
}

function groupKey(group: string, topic: string, partition: number): string {
  return `${group}/${partitionKey(topic, partition)}`;
}

/** The consumer-group checks (see the top of the file). `order`: the version order (data records only). */
function checkGroups(t: Tally, input: CheckInput, order: VersionOrder): void {
  const joins = input.joins ?? [];
  const commits = input.commits ?? [];
  const fetches = input.offsetFetches ?? [];
  if (joins.length === 0 && commits.length === 0 && fetches.length === 0) return;

  // One owner per partition per generation.
  const owners = new Map<string, string>();
  for (const j of joins) {
    for (const [topic, partition] of j.assignment) {
      const k = `${j.group}#${j.generation}/${partitionKey(topic, partition)}`;
      const owner = owners.get(k);
      if (owner !== undefined && owner !== j.memberId) {
        t.add('group-assignment-overlap', `${j.group} generation ${j.generation}: ${partitionKey(topic, partition)} given to ${owner} and to ${j.memberId} (${j.process})`);
      } else owners.set(k, j.memberId);
    }
  }

  // Fencing: no commit of an older generation accepted once a later one was handed out.
  const generations = new Map<string, Floor>();
  for (const group of new Set(joins.map((j) => j.group))) {
    generations.set(group, new Floor(joins.filter((j) => j.group === group).map((j) => ({ at: j.timeMs, offset: j.generation }))));
  }
  const okCommits = commits.filter((c) => c.type === 'ok');
  for (const c of okCommits) {
    if (c.generation === null || c.generation < 0) continue;
    const newest = generations.get(c.group)?.before(c.invokeMs) ?? Number.NEGATIVE_INFINITY;
    if (newest > c.generation) {
      t.add('group-stale-commit', `${c.group} ${c.process}: commit of generation ${c.generation} invoked at ${c.invokeMs} ms, after generation ${newest} was handed out, was acknowledged`);
    }
  }

  // Acknowledged commits and fetched offsets per group partition, in real time.
  const commitPoints = new Map<string, { at: number; offset: number }[]>();
  for (const c of okCommits) {
    for (const o of c.offsets) {
      const k = groupKey(c.group, o.topic, o.partition);
      let points = commitPoints.get(k);
      if (!points) commitPoints.set(k, (points = []));
      points.push({ at: c.completeMs, offset: o.offset });
    }
  }
  const committedFloor = new Map([...commitPoints].map(([k, points]) => [k, new Floor(points)]));
  const committedBefore = (k: string, at: number): number => committedFloor.get(k)?.before(at) ?? Number.NEGATIVE_INFINITY;
  for (const c of okCommits) {
    for (const o of c.offsets) {
      const k = groupKey(c.group, o.topic, o.partition);
      const floor = committedBefore(k, c.invokeMs);
      if (o.offset < floor) t.add('group-commit-backwards', `${k}: ${c.process} committed ${o.offset} at ${c.completeMs} ms, after ${floor} had been acknowledged`);
    }
  }
  const fetchPoints = new Map<string, { at: number; offset: number }[]>();
  for (const f of fetches) {
    for (const o of f.offsets) {
      const k = groupKey(f.group, o.topic, o.partition);
      let points = fetchPoints.get(k);
      if (!points) fetchPoints.set(k, (points = []));
      points.push({ at: f.completeMs, offset: o.offset });
    }
  }
  const fetchedFloor = new Map([...fetchPoints].map(([k, points]) => [k, new Floor(points)]));
  for (const f of fetches) {
    for (const o of f.offsets) {
      const k = groupKey(f.group, o.topic, o.partition);
      const commit = committedBefore(k, f.invokeMs);
      const seen = fetchedFloor.get(k)?.before(f.invokeMs) ?? Number.NEGATIVE_INFINITY;
      if (o.offset < Math.max(commit, seen)) {
        t.add('group-offset-backwards', `${k}: OffsetFetch at ${f.invokeMs} ms answered ${o.offset}, below ${commit >= seen ? `the acknowledged commit ${commit}` : `the earlier answer ${seen}`}`);
      }
    }
  }

  // What each group polled (earliest time per offset), and where each member session started.
  const groupPolled = new Map<string, Map<number, number>>();
  const firstPoll = new Map<string, { offset: number; timeMs: number }>();
  for (const p of input.polls) {
    if (p.group === undefined || p.records.length === 0) continue;
    const k = groupKey(p.group, p.topic, p.partition);
    let m = groupPolled.get(k);
    if (!m) groupPolled.set(k, (m = new Map()));
    for (const [offset] of p.records) m.set(offset, Math.min(m.get(offset) ?? Number.POSITIVE_INFINITY, p.timeMs));
    const sk = `${p.process}#${p.session}/${partitionKey(p.topic, p.partition)}`;
    const first = firstPoll.get(sk);
    if (!first || p.timeMs < first.timeMs) firstPoll.set(sk, { offset: p.records[0]![0], timeMs: p.timeMs });
  }
  const dataOffsets = (topic: string, partition: number): number[] => [...(order.get(partitionKey(topic, partition))?.keys() ?? [])].sort((a, b) => a - b);
  /** Data offsets in [from, to) the group had not polled by `by` (ms). */
  const unpolled = (group: string, topic: string, partition: number, from: number, to: number, by: number): number[] => {
    const polled = groupPolled.get(groupKey(group, topic, partition));
    return dataOffsets(topic, partition).filter((o) => {
      const at = polled?.get(o);
      return o >= from && o < to && (at === undefined || at > by);
    });
  };
  for (const j of joins) {
    for (const [topic, partition] of j.assignment) {
      const first = firstPoll.get(`${j.process}#${j.session}/${partitionKey(topic, partition)}`);
      if (!first) continue;
      const k = groupKey(j.group, topic, partition);
      const committed = committedBefore(k, j.timeMs);
      if (first.offset < committed) {
        t.add('group-resume-behind', `${k}: ${j.process} (generation ${j.generation}) resumed at ${first.offset}, below the commit ${committed} acknowledged before its rebalance completed`);
        continue;
      }
      const skipped = unpolled(j.group, topic, partition, Math.max(committed, 0), first.offset, first.timeMs);
      if (skipped.length > 0) {
        t.add('group-skip', `${k}: ${j.process} (generation ${j.generation}) resumed at ${first.offset}; the group never polled ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', ...' : ''} (${skipped.length}) before it`, skipped.length);
      }
    }
  }

  // The final committed offsets: every record below them was polled by the group.
  for (const f of fetches) {
    if (!f.final) continue;
    for (const o of f.offsets) {
      const k = groupKey(f.group, o.topic, o.partition);
      const skipped = unpolled(f.group, o.topic, o.partition, 0, o.offset, Number.POSITIVE_INFINITY);
      if (skipped.length > 0) t.add('group-skip', `${k}: the group never polled ${skipped.slice(0, 5).join(', ')}${skipped.length > 5 ? ', ...' : ''} (${skipped.length}), below its final committed offset ${o.offset}`, skipped.length);
      const offsets = dataOffsets(o.topic, o.partition);
      const end = offsets.length > 0 ? offsets[offsets.length - 1]! + 1 : 0;
      if (o.offset < end) t.add('group-behind', `${k}: final committed offset ${o.offset}, the last record is at ${end - 1}`);
    }
  }
}
