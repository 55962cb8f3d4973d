/**
 * One chaos run: start a cluster of real processes behind link proxies, create the topics, run
 * producers, assigned consumers, a consumer group and the status sampler, inject the seeded fault
 * schedule, heal, wait for recovery and convergence and for the group to catch up, run the final
 * polls and the final OffsetFetch, stop the nodes, read every replica's files (data partitions,
 * `__consumer_offsets` partitions, the metadata log) and check it all (checker.ts).
 *
 * The run folder keeps: run.json (parameters, seed, the code's git version, the command that
 * repeats the run),
 * schedule.json (planned faults), faults.jsonl (faults as injected, with the nodes they hit),
 * history.jsonl (sends, polls, group joins / commits / fetched offsets, high watermark samples),
 * consumers.log (kcat's stderr), node-<id>.log, data/node-<id>/ (every node's data dir; copied
 * out of its tmpfs when the run had disk-full faults), final-status.json and report.json.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Xoshiro128 } from '../base/prng.js';
import { OFFSETS_TOPIC } from '../group/offsets-partition.js';
import { partitionFor } from '../group/records.js';
import { groupCoordinatorSettings } from '../group/settings.js';
import { type ChaosReport, check } from './checker.js';
import { ChaosCluster, type NodeStatus, probeDiskFaults } from './cluster.js';
import { partitionKey } from './history.js';
import { readNodeReplicas } from './replica-files.js';
import { type FaultKind, type PlannedFault, cutLinks, planSchedule } from './schedule.js';
import {
  AssignedConsumer, GroupMember, HistoryRecorder, OffsetObserver, ProducerWorkload, StatusSampler, type TopicPartition, type Workload,
  finalGroupOffsets, finalPolls, kafkaFor,
} from './workload.js';

/**
 * The code under test: `git describe --always --dirty` of the project's work tree as the run starts
 * (dist/ is built from it), or null outside a git work tree. A soak's runs can then be told apart
 * when the tree moved between them.
 */
function codeVersion(): string | null {
  try {
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    return execFileSync('git', ['describe', '--always', '--dirty'], { cwd: root, timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}

/** The consumer group of every run, and its size. */
const GROUP = 'chaos-group';
export const GROUP_MEMBERS_DEFAULT = 2;
export const PRODUCERS_DEFAULT = 4;
/** Each node's tmpfs when the run has disk-full faults (RAM is used only as the node fills it). */
const DISK_BYTES = 2 * 1024 ** 3;
/** A node that stopped by itself is restarted after this long. */
const CRASH_RESTART_MS = 1000;
/**
 * A node that met a full disk may still be stopping when the space comes back (a fatal stop
 * drains client requests and sends a last heartbeat, each bounded): its exit within this long
 * after the fault counts as the fault's, not as a crash.
 */
const DISK_FULL_STOP_GRACE_MS = 20_000;
/** The offsets partitions (the nodes run with the default). */
const OFFSETS_PARTITIONS = groupCoordinatorSettings.offsetsTopicPartitions.default;

export interface ChaosOptions {
  readonly nodes: number;
  readonly durationS: number;
  readonly faults: readonly FaultKind[];
  /** The --faults text as given (for the repeat command). */
  readonly faultsText: string;
  readonly seed: number;
  readonly runDir: string;
  readonly basePort: number;
  readonly producers?: number;
  /** Members of the consumer group (0: no group). */
  readonly groupMembers?: number;
  /** Two fault tracks at once: process faults during link faults. */
  readonly overlap?: boolean;
  /** Issue 18: peer mutual TLS, and every client over SASL_SSL (SCRAM-SHA-512) with the authorizer on (cluster.ts). */
  readonly secure?: boolean;
  readonly log?: (line: string) => void;
}

export interface ChaosResult {
  readonly report: ChaosReport;
  readonly runDir: string;
  readonly seed: number;
  readonly command: string;
  readonly faultsInjected: number;
  /** Faults asked for that this machine cannot inject, with the reason. */
  readonly skippedFaults: readonly string[];
}

interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(_what: string, timeoutMs: number, cond: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(250);
  }
  return false;
}

/** The command that repeats a run (settings at their defaults are left out). */
export function repeatCommand(o: Pick<ChaosOptions, 'nodes' | 'durationS' | 'faultsText' | 'seed' | 'overlap' | 'producers' | 'groupMembers' | 'secure'>): string {
  const producers = o.producers !== undefined && o.producers !== PRODUCERS_DEFAULT ? ` --producers ${o.producers}` : '';
  const members = o.groupMembers !== undefined && o.groupMembers !== GROUP_MEMBERS_DEFAULT ? ` --group-members ${o.groupMembers}` : '';
  return `npm run chaos -- --nodes ${o.nodes} --duration ${o.durationS} --faults ${o.faultsText} --seed ${o.seed}${o.overlap ? ' --overlap' : ''}${producers}${members}${o.secure ? ' --secure' : ''}`;
}

/**
 * The node a fault hits, now: a fixed node, or the current leader of a partition, of the metadata
 * group, or of a group's `__consumer_offsets` partition (its coordinator).
 */
function resolveTarget(fault: PlannedFault, statuses: readonly (NodeStatus | null)[], fallback: number): number {
  const t = fault.target;
  if (t.kind === 'node') return t.node;
  const tp = t.kind === 'partition-leader' ? t : t.kind === 'group-coordinator' ? { topic: OFFSETS_TOPIC, partition: partitionFor(t.group, OFFSETS_PARTITIONS) } : null;
  const votes = new Map<number, number>();
  for (const st of statuses) {
    if (!st) continue;
    if (tp === null) {
      if (st.metadata.role === 'leader') return st.nodeId;
      if (st.metadata.leader > 0) votes.set(st.metadata.leader, (votes.get(st.metadata.leader) ?? 0) + 1);
    } else {
      const p = st.partitions.find((x) => x.topic === tp.topic && x.partition === tp.partition);
      if (!p) continue;
      if (p.role === 'leader') return st.nodeId;
      if (p.leader > 0) votes.set(p.leader, (votes.get(p.leader) ?? 0) + 1);
    }
  }
  const best = [...votes].sort((a, b) => b[1] - a[1])[0];
  return best ? best[0] : fallback;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => {});
  const runDir = options.runDir;
  mkdirSync(runDir, { recursive: true });
  const command = repeatCommand(options);
  const durationMs = options.durationS * 1000;
  const topics: TopicSpec[] = [{ topic: 'chaos', partitions: options.nodes, replicationFactor: Math.min(3, options.nodes) }];
  if (options.nodes >= 5) topics.push({ topic: 'chaos-rf5', partitions: 2, replicationFactor: 5 });
  const partitions: TopicPartition[] = topics.flatMap((t) => Array.from({ length: t.partitions }, (_, partition) => ({ topic: t.topic, partition })));
  const groupMembers = options.groupMembers ?? GROUP_MEMBERS_DEFAULT;
  const groups = groupMembers > 0 ? [GROUP] : [];
  const skippedFaults: string[] = [];
  let faults = options.faults;
  if (faults.includes('disk-full')) {
    const why = probeDiskFaults(runDir);
    if (why !== null) {
      skippedFaults.push(why);
      faults = faults.filter((k) => k !== 'disk-full');
      log(`chaos: skipped: ${why}`);
    }
  }
  const diskFaults = faults.includes('disk-full');
  const prng = new Xoshiro128(options.seed);
  const schedule = planSchedule(prng.fork(), { nodes: options.nodes, durationMs, faults, partitions, groups, overlap: options.overlap === true });
  const code = codeVersion();
  writeFileSync(join(runDir, 'run.json'), `${JSON.stringify({ seed: options.seed, code, nodes: options.nodes, durationS: options.durationS, faults, skippedFaults, topics, groups, groupMembers, overlap: options.overlap === true, secure: options.secure === true, basePort: options.basePort, command, startedAt: new Date().toISOString() }, null, 2)}\n`);
  writeFileSync(join(runDir, 'schedule.json'), `${JSON.stringify(schedule, null, 2)}\n`);
  log(`chaos: seed ${options.seed}, ${options.nodes} nodes, ${options.durationS} s, ${schedule.length} faults planned; run folder ${runDir}`);

  const cluster = new ChaosCluster({
    size: options.nodes, runDir, basePort: options.basePort, ...(diskFaults ? { diskBytes: DISK_BYTES } : {}), ...(options.secure ? { secure: true } : {}),
  });
  const history = new HistoryRecorder(join(runDir, 'history.jsonl'), performance.now());
  const faultLog = createWriteStream(join(runDir, 'faults.jsonl'));
  const consumerLog = createWriteStream(join(runDir, 'consumers.log'));
  const workloads: Workload[] = [];
  let injected = 0;
  let shutDown = false;
  let supervising = true;
  const diskFull = new Set<number>();
  // KafkaJS lets some errors of its own stopping and restarting escape as unhandled rejections (a
  // LeaveGroup answered NOT_COORDINATOR while a crashed consumer restarts): the client's business,
  // not the run's. They are logged; any other unhandled rejection still ends the process.
  const onRejection = (reason: unknown): void => {
    if (!(reason instanceof Error && reason.name.startsWith('KafkaJS'))) throw reason;
    if (consumerLog.writable) consumerLog.write(`[client] unhandled KafkaJS rejection: ${reason.name}: ${reason.message}\n`);
  };
  process.on('unhandledRejection', onRejection);
  try {
    await cluster.start();
    const ready = await until('nodes serving', 60_000, async () => (await cluster.statuses()).every((s) => s?.serving === true));
    if (!ready) throw new Error('the cluster did not start serving within 60 s (see the node logs in the run folder)');
    const admin = kafkaFor(cluster, 'chaos-admin').admin();
    await admin.connect();
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.createTopics({ topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: t.replicationFactor })), waitForLeaders: true });
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
        await sleep(1000);
      }
    }
    await admin.disconnect();
    await until('partition leaders', 30_000, async () => {
      const st = await cluster.statuses();
      return partitions.every((tp) => st.some((s) => s?.partitions.some((p) => p.topic === tp.topic && p.partition === tp.partition && p.role === 'leader')));
    });
    log('chaos: cluster up, topics created; workload starts');

    // ---- supervisor: a node that stopped by itself is restarted (once its disk has space again) --
    for (const n of cluster.nodes) {
      n.onCrash = (life) => {
        const crash = n.crashes[n.crashes.length - 1]!;
        log(`chaos: node ${n.id} (life ${life}) stopped by itself (exit code ${crash.code}, signal ${crash.signal})${diskFull.has(n.id) ? '; restarted once its disk has space' : '; restarting it'}`);
        if (diskFull.has(n.id) || !supervising) return;
        setTimeout(() => {
          if (supervising && !diskFull.has(n.id) && !n.running) n.start();
        }, CRASH_RESTART_MS);
      };
    }

    // ---- workload -----------------------------------------------------------------------------
    const sampler = new StatusSampler({ cluster, history, topics: topics.map((t) => t.topic) });
    const consumers = partitions.map((tp) => new AssignedConsumer({ name: `c-${partitionKey(tp.topic, tp.partition)}`, cluster, history, tp, stderr: consumerLog }));
    const producers = Array.from({ length: options.producers ?? PRODUCERS_DEFAULT }, (_, i) => new ProducerWorkload({ name: `p${i}`, cluster, history, partitions, prng: prng.fork(), idempotent: i % 2 === 1 }));
    const topicNames = topics.map((t) => t.topic);
    const members = groups.flatMap((group) => Array.from({ length: groupMembers }, (_, i) => new GroupMember({ name: `${group}-m${i}`, group, cluster, history, topics: topicNames })));
    const observers = groups.map((group) => new OffsetObserver({ name: `${group}-observer`, group, cluster, history, topics: topicNames }));
    workloads.push(sampler, ...consumers, ...producers, ...members, ...observers);
    for (const w of workloads) w.start();

    // ---- faults -------------------------------------------------------------------------------
    const phaseStart = history.now();
    let lastHealMs: number | null = null;
    /** Where a node stopping by itself is expected: a life that met a full disk, until a while after the space came back. */
    const diskFullWindows: { node: number; life: number; fromMs: number; toMs: number }[] = [];
    const runFault = async (fault: PlannedFault): Promise<void> => {
      const wait = phaseStart + fault.atMs - history.now();
      if (wait > 0) await sleep(wait);
      const statuses = await cluster.statuses();
      const node = resolveTarget(fault, statuses, fault.target.kind === 'node' ? fault.target.node : 1);
      const links = cutLinks(fault, node, options.nodes);
      const startMs = history.now();
      const lifeBefore = cluster.node(node).incarnation;
      let ballastBytes: number | undefined;
      switch (fault.kind) {
        case 'kill':
          await cluster.node(node).stop('SIGKILL');
          break;
        case 'kill-majority':
          await Promise.all((fault.nodes ?? [node]).map((n) => cluster.node(n).stop('SIGKILL')));
          break;
        case 'pause':
          cluster.node(node).pause();
          break;
        case 'disk-full':
          diskFull.add(node);
          ballastBytes = cluster.fillDisk(node);
          break;
        case 'slow': {
          const all = cluster.nodes.filter((n) => n.id !== node).flatMap((n) => [[node, n.id], [n.id, node]] as [number, number][]);
          cluster.setLinks(all, 'delay', fault.delayMs ?? 100);
          break;
        }
        default:
          cluster.setLinks(links, fault.style ?? 'blackhole');
      }
      injected++;
      log(`chaos: fault ${fault.index} ${fault.kind} on node${fault.nodes ? `s ${fault.nodes.join(',')}` : ` ${node}`} for ${fault.durationMs} ms`);
      await sleep(fault.durationMs);
      switch (fault.kind) {
        case 'kill':
          cluster.node(node).start();
          break;
        case 'kill-majority':
          for (const n of fault.nodes ?? [node]) cluster.node(n).start();
          break;
        case 'pause':
          cluster.node(node).resume();
          break;
        case 'disk-full':
          cluster.freeDisk(node);
          diskFull.delete(node);
          break;
        default:
          cluster.healLinks();
      }
      const healMs = history.now();
      lastHealMs = Math.max(lastHealMs ?? 0, healMs);
      if (fault.kind === 'disk-full') {
        diskFullWindows.push({ node, life: lifeBefore, fromMs: startMs, toMs: healMs });
        // A node that stopped on the full disk comes back now there is space; one still stopping is restarted by the supervisor.
        if (!cluster.node(node).running) cluster.node(node).start();
      }
      faultLog.write(`${JSON.stringify({ ...fault, node, links, startMs, healMs, ...(ballastBytes !== undefined ? { ballastBytes } : {}) })}\n`);
    };
    const tracks = [...new Set(schedule.map((f) => f.track))];
    await Promise.all(tracks.map(async (track) => {
      for (const fault of schedule.filter((f) => f.track === track)) await runFault(fault);
    }));
    const rest = phaseStart + durationMs - history.now();
    if (rest > 0) await sleep(rest);

    // ---- recovery: every partition takes a write invoked after the last heal ------------------
    const healAt = lastHealMs ?? -1;
    const firstOkAfterHeal = (): Map<string, number> => {
      const m = new Map<string, number>();
      for (const s of history.sends) {
        if (s.type !== 'ok' || s.invokeMs < healAt) continue;
        const k = partitionKey(s.topic, s.partition);
        m.set(k, Math.min(m.get(k) ?? Number.POSITIVE_INFINITY, s.completeMs));
      }
      return m;
    };
    // ... and every node serves clients again (a restarted node has rejoined).
    let allServingMs: number | null = null;
    const recovered = await until('recovery', 60_000, async () => {
      if (allServingMs === null && (await cluster.statuses()).every((st) => st?.serving === true)) allServingMs = history.now();
      return allServingMs !== null && firstOkAfterHeal().size === partitions.length;
    });
    const recoveredMs = recovered ? Math.max(allServingMs ?? 0, ...firstOkAfterHeal().values()) : null;
    log(`chaos: ${recovered ? `recovered ${((recoveredMs! - healAt) / 1000).toFixed(1)} s after the last heal` : 'NOT recovered within 60 s of the last heal'}`);
    await sleep(2000);
    for (const p of producers) await p.stop();

    // ---- convergence: every voter at the same high watermark, twice in a row ------------------
    let last = '';
    let finalStatuses: (NodeStatus | null)[] = [];
    await until('convergence', 30_000, async () => {
      finalStatuses = await cluster.statuses();
      const key = JSON.stringify(partitions.map((tp) => finalStatuses.map((s) => s?.partitions.find((p) => p.topic === tp.topic && p.partition === tp.partition)?.highWatermark ?? null)));
      const converged = partitions.every((tp) => {
        const hws = finalStatuses.flatMap((s) => s?.partitions.filter((p) => p.topic === tp.topic && p.partition === tp.partition).map((p) => p.highWatermark) ?? []);
        return hws.length > 0 && hws.every((h) => h === hws[0]);
      });
      const stable = converged && key === last;
      last = key;
      if (!stable) await sleep(750);
      return stable;
    });
    const hwOf = (tp: TopicPartition): number => Math.max(0, ...finalStatuses.flatMap((s) => s?.partitions.filter((p) => p.topic === tp.topic && p.partition === tp.partition).map((p) => p.highWatermark) ?? []));
    await until('consumers caught up', 20_000, async () => consumers.every((c, i) => c.next >= hwOf(partitions[i]!) - 1));
    const ackedEnd = new Map<string, number>();
    for (const s of history.sends) {
      if (s.type !== 'ok' || !s.offsets) continue;
      const k = partitionKey(s.topic, s.partition);
      ackedEnd.set(k, Math.max(ackedEnd.get(k) ?? 0, ...s.offsets.map((o) => o + 1)));
    }
    // The group commits past every acknowledged record, then its members leave.
    const groupCaughtUp = await until('group caught up', 30_000, async () => groups.every((group) => partitions.every((tp) => {
      const committed = Math.max(0, ...history.commits.filter((c) => c.group === group && c.type === 'ok').flatMap((c) => c.offsets.filter((o) => o.topic === tp.topic && o.partition === tp.partition).map((o) => o.offset)));
      return committed >= (ackedEnd.get(partitionKey(tp.topic, tp.partition)) ?? 0);
    })));
    if (groups.length > 0) log(`chaos: consumer group ${groupCaughtUp ? 'caught up' : 'NOT caught up within 30 s'}`);
    for (const w of [...consumers, ...members, ...observers, sampler]) await w.stop();
    for (const group of groups) {
      if ((await finalGroupOffsets({ cluster, history, group, topics: topicNames })) === null) log(`chaos: the final OffsetFetch of ${group} got no answer`);
    }

    // ---- final polls --------------------------------------------------------------------------
    const finalComplete = await finalPolls({ cluster, history, partitions, stderr: consumerLog, atLeast: (tp) => ackedEnd.get(partitionKey(tp.topic, tp.partition)) ?? 0 });
    log(`chaos: final polls ${finalComplete ? 'complete' : 'INCOMPLETE'}`);

    // ---- committed bounds, then stop and read every replica -----------------------------------
    finalStatuses = await cluster.statuses();
    writeFileSync(join(runDir, 'final-status.json'), `${JSON.stringify(finalStatuses, null, 2)}\n`);
    const committed: Record<string, number> = {};
    const voters: Record<string, number[]> = {};
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition);
      const views = finalStatuses.flatMap((s) => s?.partitions.filter((p) => p.topic === tp.topic && p.partition === tp.partition).map((p) => ({ node: s.nodeId, p })) ?? []);
      const leader = views.find((v) => v.p.role === 'leader') ?? views[0];
      if (!leader) continue;
      voters[key] = leader.p.voters;
      const hws = leader.p.voters.map((v) => views.find((x) => x.node === v)?.p.highWatermark);
      // A voter we could not ask: compare nothing rather than guess a bound.
      if (hws.every((h) => h !== undefined)) committed[key] = Math.min(...(hws as number[]));
    }
    // The offsets partitions (opaque Raft entries: baseOffset is the Raft index, committed up to the commit index).
    const offsetsPartitions = new Set(finalStatuses.flatMap((s) => s?.partitions.filter((p) => p.topic === OFFSETS_TOPIC).map((p) => p.partition) ?? []));
    for (const partition of offsetsPartitions) {
      const key = partitionKey(OFFSETS_TOPIC, partition);
      const views = finalStatuses.flatMap((s) => s?.partitions.filter((p) => p.topic === OFFSETS_TOPIC && p.partition === partition).map((p) => ({ node: s.nodeId, p })) ?? []);
      const leader = views.find((v) => v.p.role === 'leader');
      if (!leader) continue;
      const commits = leader.p.voters.map((v) => views.find((x) => x.node === v)?.p.commitIndex);
      voters[key] = leader.p.voters;
      if (commits.every((c) => c !== undefined)) committed[key] = Math.min(...(commits as number[])) + 1;
    }
    const metaVoters = finalStatuses.find((s) => s?.metadata.role === 'leader')?.metadata.voters ?? [];
    const metaCommits = metaVoters.map((v) => finalStatuses.find((s) => s?.nodeId === v)?.metadata.commitIndex);
    if (metaVoters.length > 0 && metaCommits.every((c) => c !== undefined)) {
      committed.metadata = Math.min(...(metaCommits as number[])) + 1;
      voters.metadata = metaVoters;
    }
    supervising = false;
    await cluster.shutdown('SIGTERM');
    shutDown = true;
    cluster.releaseDisks();
    const replicas = cluster.nodes.flatMap((n) => readNodeReplicas(n.id, n.dataDir)).filter((r) => r.group === 'metadata' || committed[r.group] !== undefined || voters[r.group] !== undefined);
    // Nodes that stopped by themselves, other than on a full disk: each is a bug (an assertion or a fatal error).
    const crashes = cluster.nodes.flatMap((n) => n.crashes.map((c) => ({ node: n.id, life: c.life, code: c.code, signal: c.signal, atMs: history.at(c.atMs) })))
      .filter((c) => !diskFullWindows.some((w) => w.node === c.node && c.life === w.life && c.atMs >= w.fromMs && c.atMs <= w.toMs + DISK_FULL_STOP_GRACE_MS));
    const report = check({
      crashes,
      sends: history.sends, polls: history.polls, hw: history.hw, joins: history.joins, commits: history.commits,
      offsetFetches: history.offsetFetches, replicas, committed, voters, lastHealMs, recoveredMs, finalPollsComplete: finalComplete,
      // The run's topics have neither transactions nor compaction: their offsets must be dense.
      denseTopics: topics.map((t) => t.topic),
      highWatermarks: Object.fromEntries(partitions.map((tp) => [partitionKey(tp.topic, tp.partition), hwOf(tp)])),
    });
    writeFileSync(join(runDir, 'report.json'), `${JSON.stringify({ seed: options.seed, code, command, faultsInjected: injected, skippedFaults, ...report }, null, 2)}\n`);
    return { report, runDir, seed: options.seed, command, faultsInjected: injected, skippedFaults };
  } finally {
    supervising = false;
    for (const w of workloads) await w.stop().catch(() => {});
    if (!shutDown) await cluster.shutdown('SIGKILL').catch(() => {});
    try {
      cluster.releaseDisks();
    } catch (err) {
      log(`chaos: ${(err as Error).message}`);
    }
    await history.close();
    await new Promise<void>((r) => faultLog.end(() => r()));
    // Late rejections of clients being torn down arrive after this turn: keep the guard a while.
    setTimeout(() => process.off('unhandledRejection', onRejection), 10_000).unref();
    await new Promise<void>((r) => consumerLog.end(() => r()));
  }
}
