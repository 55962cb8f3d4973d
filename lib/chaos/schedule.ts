/**
 * The fault schedule of a chaos run, drawn from a seeded Prng (lib/base/prng.ts): the same seed,
 * node count, duration and fault list give the same schedule. Faults run one after another, each
 * healed before the next starts; which node a leader-targeted fault hits is decided when it runs
 * (from the nodes' /status) and recorded then.
 *
 * Fault kinds (the `--faults` names; `partition` means every partition kind):
 * - `kill`: kill -9 a node (a random one, or the leader of a partition, the metadata leader, or
 *   the coordinator of a consumer group: the leader of its `__consumer_offsets` partition),
 *   restart it after the fault's duration.
 * - `kill-majority`: kill -9 a majority of the nodes at once (every acknowledged write must
 *   survive on the fsynced files), restart them after the duration.
 * - `pause`: SIGSTOP a node, SIGCONT after the duration.
 * - `partition-one`: isolate one node from every other.
 * - `partition-oneway`: one node's bytes to the others are dropped (or theirs to it), the other way works.
 * - `partition-majority`: a minority of nodes cut off from the majority.
 * - `partition-leader`: isolate the leader of a partition; `partition-metadata`: the metadata leader;
 *   `partition-coordinator`: a consumer group's coordinator.
 * - `partition-ring`: each node hears only its two neighbours (5+ nodes: each still sees a majority).
 * - `slow`: every link of one node delayed by 50-500 ms.
 * - `disk-full`: one node's file system (its data dir is a small tmpfs for the run) fills up: the
 *   node stops on its first failed write; after the fault the space is freed and the node, if it
 *   stopped, restarted.
 * Partitions are blackholes (bytes swallowed, connections kept) or resets (connections refused),
 * drawn per fault.
 */
import type { Prng } from '../base/prng.js';

export const FAULT_KINDS = [
  'kill', 'kill-majority', 'pause', 'partition-one', 'partition-oneway', 'partition-majority', 'partition-leader', 'partition-metadata',
  'partition-coordinator', 'partition-ring', 'slow', 'disk-full',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Names accepted by --faults that stand for several kinds. */
export const FAULT_FAMILIES: Readonly<Record<string, readonly FaultKind[]>> = {
  partition: ['partition-one', 'partition-oneway', 'partition-majority', 'partition-leader', 'partition-metadata', 'partition-coordinator', 'partition-ring'],
  all: FAULT_KINDS,
};

export type Target =
  | { readonly kind: 'node'; readonly node: number }
  | { readonly kind: 'partition-leader'; readonly topic: string; readonly partition: number }
  | { readonly kind: 'metadata-leader' }
  | { readonly kind: 'group-coordinator'; readonly group: string };

export interface PlannedFault {
  readonly index: number;
  /** Faults of one track run one after another; tracks run at once (`overlap`). */
  readonly track: number;
  readonly kind: FaultKind;
  readonly atMs: number;
  readonly durationMs: number;
  readonly target: Target;
  /** For kill-majority: the nodes killed. For partition-majority: the minority side; for partition-oneway: true when the target's outbound bytes are dropped. */
  readonly minority?: readonly number[];
  readonly nodes?: readonly number[];
  readonly outbound?: boolean;
  /** Partitions: swallow bytes (blackhole) or reset connections (refuse). */
  readonly style?: 'blackhole' | 'refuse';
  readonly delayMs?: number;
}

export interface ScheduleOptions {
  readonly nodes: number;
  readonly durationMs: number;
  readonly faults: readonly FaultKind[];
  readonly partitions: readonly { topic: string; partition: number }[];
  /** Consumer groups whose coordinators faults may target. */
  readonly groups?: readonly string[];
  /** Quiet time at the start, for the workload to warm up. */
  readonly warmupMs?: number;
  readonly faultMsMin?: number;
  readonly faultMsMax?: number;
  readonly gapMsMin?: number;
  readonly gapMsMax?: number;
}

/** Expands `kill,pause,partition` into kinds; throws an Error naming an unknown fault. */
export function parseFaults(text: string, nodes: number): { kinds: FaultKind[]; skipped: string[] } {
  const kinds = new Set<FaultKind>();
  const skipped: string[] = [];
  let ringAsked = false;
  for (const raw of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (raw === 'partition-ring') ringAsked = true;
    const family = FAULT_FAMILIES[raw];
    if (family) family.forEach((k) => kinds.add(k));
    else if ((FAULT_KINDS as readonly string[]).includes(raw)) kinds.add(raw as FaultKind);
    else throw new Error(`unknown fault "${raw}" (known: ${[...Object.keys(FAULT_FAMILIES), ...FAULT_KINDS].join(', ')})`);
  }
  // A ring on fewer than 5 nodes is full connectivity: nothing to inject.
  if (nodes < 5 && kinds.delete('partition-ring') && ringAsked) skipped.push('partition-ring needs 5 nodes (on fewer every node hears every other)');
  return { kinds: [...kinds], skipped };
}

function pick<T>(prng: Prng, items: readonly T[]): T {
  return items[prng.int(0, items.length - 1)]!;
}

function randomTarget(prng: Prng, nodes: number, partitions: ScheduleOptions['partitions'], groups: readonly string[]): Target {
  const r = prng.next();
  if (r < 0.35 || partitions.length === 0) return { kind: 'node', node: prng.int(1, nodes) };
  if (r < 0.7) {
    const p = pick(prng, partitions);
    return { kind: 'partition-leader', topic: p.topic, partition: p.partition };
  }
  if (r < 0.85 || groups.length === 0) return { kind: 'metadata-leader' };
  return { kind: 'group-coordinator', group: pick(prng, groups) };
}

function shuffled(prng: Prng, nodes: number): number[] {
  const ids = Array.from({ length: nodes }, (_, i) => i + 1);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = prng.int(0, i);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return ids;
}

/** Faults on processes (and their disks); the others are faults on links. */
export const PROCESS_FAULTS: readonly FaultKind[] = ['kill', 'kill-majority', 'pause', 'disk-full'];

/**
 * The schedule. Without `overlap`, one fault at a time. With it, two tracks run at once: one of
 * process faults (kill, pause) and one of link faults (partitions, slow links), each one fault at a
 * time, so a node may be killed in the middle of a partition.
 */
export function planSchedule(prng: Prng, options: ScheduleOptions & { readonly overlap?: boolean }): PlannedFault[] {
  if (!options.overlap) return planTrack(prng, options, options.faults, 0);
  const processKinds = options.faults.filter((k) => PROCESS_FAULTS.includes(k));
  const linkKinds = options.faults.filter((k) => !PROCESS_FAULTS.includes(k));
  const a = planTrack(prng.fork(), options, processKinds, 0);
  const b = planTrack(prng.fork(), options, linkKinds, 1);
  return [...a, ...b].sort((x, y) => x.atMs - y.atMs || x.track - y.track).map((f, index) => ({ ...f, index }));
}

function planTrack(prng: Prng, options: ScheduleOptions, kinds: readonly FaultKind[], track: number): PlannedFault[] {
  const out: PlannedFault[] = [];
  if (kinds.length === 0) return out;
  const faultMin = options.faultMsMin ?? 3_000;
  const faultMax = options.faultMsMax ?? 10_000;
  const gapMin = options.gapMsMin ?? 2_000;
  const gapMax = options.gapMsMax ?? 6_000;
  let t = options.warmupMs ?? 5_000;
  while (t + faultMin <= options.durationMs) {
    const kind = pick(prng, kinds);
    const durationMs = Math.min(prng.int(faultMin, faultMax), options.durationMs - t);
    const style = prng.chance(0.5) ? 'blackhole' as const : 'refuse' as const;
    const base = { index: out.length, track, kind, atMs: t, durationMs };
    const groups = options.groups ?? [];
    switch (kind) {
      case 'kill':
      case 'pause':
      case 'slow':
      case 'disk-full':
      case 'partition-one':
        out.push({ ...base, target: randomTarget(prng, options.nodes, options.partitions, groups), ...(kind === 'slow' ? { delayMs: prng.int(50, 500) } : {}), ...(kind === 'partition-one' ? { style } : {}) });
        break;
      case 'partition-oneway':
        out.push({ ...base, target: randomTarget(prng, options.nodes, options.partitions, groups), outbound: prng.chance(0.5), style: 'blackhole' });
        break;
      case 'kill-majority': {
        const killed = shuffled(prng, options.nodes).slice(0, Math.floor(options.nodes / 2) + 1).sort((a, b) => a - b);
        out.push({ ...base, target: { kind: 'node', node: killed[0]! }, nodes: killed });
        break;
      }
      case 'partition-majority': {
        const ids = shuffled(prng, options.nodes);
        const minority = ids.slice(0, Math.max(1, Math.floor((options.nodes - 1) / 2))).sort((a, b) => a - b);
        out.push({ ...base, target: { kind: 'node', node: minority[0]! }, minority, style });
        break;
      }
      case 'partition-leader': {
        const p = pick(prng, options.partitions);
        out.push({ ...base, target: { kind: 'partition-leader', topic: p.topic, partition: p.partition }, style });
        break;
      }
      case 'partition-metadata':
        out.push({ ...base, target: { kind: 'metadata-leader' }, style });
        break;
      case 'partition-coordinator':
        out.push({ ...base, target: groups.length > 0 ? { kind: 'group-coordinator', group: pick(prng, groups) } : { kind: 'metadata-leader' }, style });
        break;
      case 'partition-ring':
        out.push({ ...base, target: { kind: 'node', node: 1 }, style });
        break;
    }
    t += durationMs + prng.int(gapMin, gapMax);
  }
  return out;
}

/**
 * The directed links (from -> to: bytes from `from` to `to` are cut) a partition fault cuts, once
 * its target node is known. Empty for non-partition kinds.
 */
export function cutLinks(fault: PlannedFault, node: number, nodes: number): [number, number][] {
  const ids = Array.from({ length: nodes }, (_, i) => i + 1);
  const others = ids.filter((i) => i !== node);
  switch (fault.kind) {
    case 'partition-one':
    case 'partition-leader':
    case 'partition-metadata':
    case 'partition-coordinator':
      return others.flatMap((o) => [[node, o], [o, node]] as [number, number][]);
    case 'partition-oneway':
      return others.map((o) => (fault.outbound ? [node, o] : [o, node]) as [number, number]);
    case 'partition-majority': {
      const minority = fault.minority ?? [node];
      const majority = ids.filter((i) => !minority.includes(i));
      return minority.flatMap((a) => majority.flatMap((b) => [[a, b], [b, a]] as [number, number][]));
    }
    case 'partition-ring': {
      const out: [number, number][] = [];
      for (const a of ids) {
        for (const b of ids) {
          const d = Math.min(Math.abs(a - b), nodes - Math.abs(a - b));
          if (a !== b && d > 1) out.push([a, b]);
        }
      }
      return out;
    }
    default:
      return [];
  }
}
