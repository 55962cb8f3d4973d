/**
 * Partition administration and the nodes' data directories (what kafka-reassign-partitions,
 * kafka-leader-election and kafka-log-dirs do):
 *   flotilla partitions reassign (--plan FILE | --topics A,B --brokers 1,2,3) [--dry-run] [--no-wait]
 *   flotilla partitions elect-leaders [--topic T [--partition P]]
 *   flotilla log-dirs [--topic T]
 *
 * reassign: the plan is kafka-reassign-partitions' JSON (`{"version":1,"partitions":[{"topic",
 * "partition","replicas"}]}`), or generated for the named topics over the named brokers (each
 * partition keeps its replica count; replicas taken round-robin from the broker list, starting one
 * further for each partition, so preferred leaders spread). `--dry-run` prints the current and the
 * proposed assignment (both in the plan format, so the current one can be kept to move back).
 * Otherwise AlterPartitionReassignments, then once a second the partitions still moving
 * (ListPartitionReassignments), until none of the plan's is; `--no-wait` returns at once. The
 * topics' metadata comes through KafkaJS's admin; these two requests go out with Flotilla's own
 * codecs (one-request.ts, cross-checked against KafkaJS's encoders in spec/kafka): KafkaJS's admin
 * has both calls but refreshes the whole metadata before each, and under produce load one call
 * took 8-11 s in the e2e test — longer than a small move takes, so no progress would show.
 *
 * elect-leaders and log-dirs use Flotilla's codecs too: KafkaJS has neither ElectLeaders nor
 * DescribeLogDirs. log-dirs asks every broker (DescribeLogDirs answers for the node asked).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Admin } from 'kafkajs';
import { alterPartitionReassignmentsApi } from '../kafka/alter-partition-reassignments.js';
import { ElectionType, electLeadersApi } from '../kafka/elect-leaders.js';
import { describeLogDirsApi } from '../kafka/describe-log-dirs.js';
import { errorName } from '../kafka/errors.js';
import { listPartitionReassignmentsApi } from '../kafka/list-partition-reassignments.js';
import { withAdmin } from './admin.js';
import { addClientOptions, type ClientOptions } from './client.js';
import { oneRequest } from './one-request.js';
import { CliError, ExitCode, formatTable, intOption, printJson, printLine } from './output.js';

export interface PlanEntry {
  readonly topic: string;
  readonly partition: number;
  readonly replicas: readonly number[];
}

/** A kafka-reassign-partitions plan, validated (a usage error names what is wrong). */
export function parsePlan(text: string, source: string): PlanEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${source} is not JSON: ${(err as Error).message}`, ExitCode.usage);
  }
  const bad = (why: string): never => { throw new CliError(`${source}: ${why}`, ExitCode.usage); };
  if (typeof doc !== 'object' || doc === null) return bad('expected {"version":1,"partitions":[...]}');
  const d = doc as { version?: unknown; partitions?: unknown };
  if (d.version !== 1) bad('"version" must be 1');
  if (!Array.isArray(d.partitions) || d.partitions.length === 0) bad('"partitions" must be a non-empty list');
  const seen = new Set<string>();
  return (d.partitions as unknown[]).map((p, i) => {
    const e = p as { topic?: unknown; partition?: unknown; replicas?: unknown };
    if (typeof e?.topic !== 'string' || e.topic === '') bad(`partitions[${i}].topic must be a topic name`);
    if (!Number.isInteger(e.partition) || (e.partition as number) < 0) bad(`partitions[${i}].partition must be a partition number`);
    const r = e.replicas;
    if (!Array.isArray(r) || r.length === 0 || !r.every((x) => Number.isInteger(x) && x >= 0)) bad(`partitions[${i}].replicas must be a non-empty list of node ids`);
    if (new Set(r as number[]).size !== (r as number[]).length) bad(`partitions[${i}].replicas names a node twice`);
    const key = `${e.topic as string}-${e.partition as number}`;
    if (seen.has(key)) bad(`${key} appears twice`);
    seen.add(key);
    return { topic: e.topic as string, partition: e.partition as number, replicas: [...(r as number[])] };
  });
}

/**
 * Each partition of `current` over `brokers`: the same replica count, replicas round-robin from
 * the broker list, each partition starting one further (so preferred leaders spread).
 */
export function generatePlan(current: readonly PlanEntry[], brokers: readonly number[]): PlanEntry[] {
  return current.map((p, k) => {
    if (p.replicas.length > brokers.length) {
      throw new CliError(`${p.topic}-${p.partition} has ${p.replicas.length} replicas, more than the ${brokers.length} brokers given`, ExitCode.usage);
    }
    return { topic: p.topic, partition: p.partition, replicas: p.replicas.map((_r, j) => brokers[(k + j) % brokers.length] as number) };
  });
}

function planJson(entries: readonly PlanEntry[]): string {
  return JSON.stringify({ version: 1, partitions: entries.map((e) => ({ topic: e.topic, partition: e.partition, replicas: e.replicas })) });
}

function idList(text: string, option: string): number[] {
  const ids = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length === 0 || !ids.every((s) => /^\d+$/.test(s))) throw new CliError(`invalid ${option} ${JSON.stringify(text)}: expected ID,ID,...`, ExitCode.usage);
  if (new Set(ids).size !== ids.length) throw new CliError(`${option} names a node twice`, ExitCode.usage);
  return ids.map(Number);
}

/** The current assignment of the named topics (every partition), from the metadata. */
async function currentAssignment(admin: Admin, topics: readonly string[]): Promise<PlanEntry[]> {
  const known = new Set(await admin.listTopics());
  for (const t of topics) if (!known.has(t)) throw new CliError(`unknown topic ${JSON.stringify(t)}`);
  const md = await admin.fetchTopicMetadata({ topics: [...topics] });
  return md.topics.flatMap((t) => [...t.partitions].sort((a, b) => a.partitionId - b.partitionId)
    .map((p) => ({ topic: t.name, partition: p.partitionId, replicas: [...p.replicas] })));
}

interface ReassignOptions extends ClientOptions {
  plan?: string;
  topics?: string;
  brokers?: string;
  dryRun?: boolean;
  wait: boolean;
  waitTimeoutMs: number;
}

async function reassign(admin: Admin, opts: ReassignOptions): Promise<void> {
  if ((opts.plan === undefined) === (opts.topics === undefined)) throw new CliError('give either --plan FILE or --topics A,B with --brokers 1,2,3', ExitCode.usage);
  let plan: PlanEntry[];
  let current: PlanEntry[];
  if (opts.plan !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.plan, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read --plan ${opts.plan}: ${(err as Error).message}`, ExitCode.usage);
    }
    plan = parsePlan(text, opts.plan);
    const all = await currentAssignment(admin, [...new Set(plan.map((p) => p.topic))]);
    current = plan.map((p) => {
      const c = all.find((x) => x.topic === p.topic && x.partition === p.partition);
      if (c === undefined) throw new CliError(`${p.topic} has no partition ${p.partition}`);
      return c;
    });
  } else {
    if (opts.brokers === undefined) throw new CliError('--topics needs --brokers 1,2,3', ExitCode.usage);
    const topics = opts.topics!.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (topics.length === 0) throw new CliError('--topics names no topic', ExitCode.usage);
    current = await currentAssignment(admin, topics);
    plan = generatePlan(current, idList(opts.brokers, '--brokers'));
  }
  if (opts.dryRun) {
    if (opts.json) {
      printJson({ current: JSON.parse(planJson(current)), proposed: JSON.parse(planJson(plan)) });
      return;
    }
    printLine('Current partition replica assignment (keep it to move back):');
    printLine(planJson(current));
    printLine();
    printLine('Proposed partition reassignment configuration:');
    printLine(planJson(plan));
    return;
  }
  const byTopic = new Map<string, { partition: number; replicas: number[] }[]>();
  for (const p of plan) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), { partition: p.partition, replicas: [...p.replicas] }]);
  const altered = await oneRequest(opts, alterPartitionReassignmentsApi, 0, {
    timeoutMs: opts.timeoutMs, allowReplicationFactorChange: true,
    topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps.map((p) => ({ partitionIndex: p.partition, replicas: p.replicas })) })),
  }, opts.timeoutMs + 5000);
  if (altered.errorCode !== 0) throw new CliError(`AlterPartitionReassignments failed: ${altered.errorMessage ?? errorName(altered.errorCode) ?? altered.errorCode}`);
  const refused = altered.responses.flatMap((t) => t.partitions.filter((p) => p.errorCode !== 0).map((p) => `${t.name}-${p.partitionIndex}: ${errorName(p.errorCode) ?? p.errorCode}${p.errorMessage ? ` (${p.errorMessage})` : ''}`));
  if (refused.length > 0) throw new CliError(`refused: ${refused.join('; ')}`);
  if (!opts.json) printLine(`Started moving ${plan.length} partition(s).`);
  if (!opts.wait) {
    if (opts.json) printJson({ started: plan.length, moving: null });
    return;
  }
  const started = Date.now();
  const topics = [...byTopic].map(([name, ps]) => ({ name, partitionIndexes: ps.map((p) => p.partition) }));
  for (;;) {
    const res = await oneRequest(opts, listPartitionReassignmentsApi, 0, { timeoutMs: opts.timeoutMs, topics }, opts.timeoutMs);
    if (res.errorCode !== 0) throw new CliError(`listing the moves failed: ${res.errorMessage ?? errorName(res.errorCode) ?? res.errorCode}`);
    const moving = res.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas, adding: p.addingReplicas, removing: p.removingReplicas })));
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    if (moving.length === 0) {
      if (opts.json) printJson({ started: plan.length, moving: [], seconds: Number(secs) });
      else printLine(`Done: ${plan.length} partition(s) on their new replicas after ${secs} s.`);
      return;
    }
    if (!opts.json) {
      printLine(`[${secs} s] ${moving.length} of ${plan.length} moving: ${moving.map((m) => `${m.topic}-${m.partition} [${m.replicas.join(',')}]${m.adding.length > 0 ? ` +${m.adding.join(',')}` : ''}${m.removing.length > 0 ? ` -${m.removing.join(',')}` : ''}`).join('  ')}`);
    }
    if (Date.now() - started > opts.waitTimeoutMs) throw new CliError(`${moving.length} partition(s) still moving after ${secs} s (the move goes on; check with --dry-run or 'flotilla topic describe')`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

interface ElectOptions extends ClientOptions {
  topic?: string;
  partition?: number;
}

async function electLeaders(admin: Admin, opts: ElectOptions): Promise<void> {
  if (opts.partition !== undefined && opts.topic === undefined) throw new CliError('--partition needs --topic', ExitCode.usage);
  let topicPartitions: { topic: string; partitions: number[] }[] | null = null;
  if (opts.topic !== undefined) {
    const all = await currentAssignment(admin, [opts.topic]);
    const partitions = opts.partition === undefined ? all.map((p) => p.partition) : [opts.partition];
    if (opts.partition !== undefined && !all.some((p) => p.partition === opts.partition)) throw new CliError(`${opts.topic} has no partition ${opts.partition}`);
    topicPartitions = [{ topic: opts.topic, partitions }];
  }
  const res = await oneRequest(opts, electLeadersApi, 2, { electionType: ElectionType.preferred, topicPartitions, timeoutMs: opts.timeoutMs }, opts.timeoutMs + 5000);
  if (res.errorCode !== 0) throw new CliError(`ElectLeaders failed: ${errorName(res.errorCode) ?? res.errorCode}`);
  const rows = res.replicaElectionResults.flatMap((t) => t.partitionResult.map((p) => {
    const name = errorName(p.errorCode);
    const outcome = p.errorCode === 0 ? 'elected' : name === 'ELECTION_NOT_NEEDED' ? 'not needed (the preferred replica leads)' : `${name ?? p.errorCode}${p.errorMessage ? `: ${p.errorMessage}` : ''}`;
    return { topic: t.topic, partition: p.partitionId, errorCode: p.errorCode, outcome };
  }));
  if (opts.json) printJson({ results: rows });
  else if (rows.length === 0) printLine('Every partition is led by its preferred replica.');
  else printLine(formatTable(['TOPIC', 'PARTITION', 'OUTCOME'], rows.map((r) => [r.topic, r.partition, r.outcome])));
  const failed = rows.filter((r) => r.errorCode !== 0 && errorName(r.errorCode) !== 'ELECTION_NOT_NEEDED');
  if (failed.length > 0) process.exitCode = ExitCode.failed;
}

async function logDirs(admin: Admin, opts: ClientOptions & { topic?: string }): Promise<void> {
  const cluster = await admin.describeCluster();
  let topics: { topic: string; partitions: number[] }[] | null = null;
  if (opts.topic !== undefined) topics = [{ topic: opts.topic, partitions: (await currentAssignment(admin, [opts.topic])).map((p) => p.partition) }];
  const nodes = await Promise.all([...cluster.brokers].sort((a, b) => a.nodeId - b.nodeId).map(async (b) => {
    try {
      const r = await oneRequest({ ...opts, bootstrap: `${b.host}:${b.port}` }, describeLogDirsApi, 4, { topics }, opts.timeoutMs);
      return { nodeId: b.nodeId, error: null, dirs: r.results };
    } catch (err) {
      return { nodeId: b.nodeId, error: (err as Error).message, dirs: [] };
    }
  }));
  if (opts.json) {
    printJson({ nodes: nodes.map((n) => ({
      nodeId: n.nodeId, error: n.error,
      dirs: n.dirs.map((d) => ({ dir: d.logDir, totalBytes: d.totalBytes, usableBytes: d.usableBytes, partitions: d.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, bytes: p.partitionSize }))) })),
    })) });
    return;
  }
  const rows: unknown[][] = [];
  for (const n of nodes) {
    if (n.error !== null) {
      printLine(`node ${n.nodeId}: unreachable (${n.error})`);
      continue;
    }
    for (const d of n.dirs) {
      const bytes = d.topics.reduce((s, t) => s + t.partitions.reduce((x, p) => x + p.partitionSize, 0), 0);
      printLine(`node ${n.nodeId}: ${d.logDir}  ${bytes} bytes in ${d.topics.reduce((s, t) => s + t.partitions.length, 0)} replica(s); volume ${d.usableBytes} of ${d.totalBytes} bytes free`);
      for (const t of d.topics) for (const p of t.partitions) rows.push([n.nodeId, t.name, p.partitionIndex, p.partitionSize]);
    }
  }
  if (rows.length > 0) printLine(formatTable(['NODE', 'TOPIC', 'PARTITION', 'BYTES'], rows));
  if (nodes.some((n) => n.error !== null)) process.exitCode = ExitCode.failed;
}

export function registerPartitionCommands(program: Command): void {
  const partitions = program.command('partitions').description('move partitions between nodes, elect preferred leaders');
  addClientOptions(partitions.command('reassign'))
    .description('move partitions to other nodes (a kafka-reassign-partitions plan, or one generated for --topics over --brokers) and show progress until done')
    .option('--plan <file>', 'plan file: {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]}]}')
    .option('--topics <a,b>', 'generate a plan for every partition of these topics')
    .option('--brokers <1,2,3>', 'the nodes the generated plan spreads the replicas over')
    .option('--dry-run', 'print the current and the proposed assignment; change nothing')
    .option('--no-wait', 'start the moves and return')
    .option('--wait-timeout-ms <ms>', 'give up waiting (the moves go on) after this long', intOption('--wait-timeout-ms', 1, 86_400_000), 600_000)
    .action((opts: ReassignOptions) => withAdmin('partitions reassign', opts, (admin) => reassign(admin, opts)));
  addClientOptions(partitions.command('elect-leaders'))
    .description('move leadership to each partition\'s preferred replica (the first of its replicas): all partitions, a topic\'s, or one')
    .option('--topic <name>', 'only this topic')
    .option('--partition <n>', 'only this partition (with --topic)', intOption('--partition', 0, 2_147_483_647))
    .action((opts: ElectOptions) => withAdmin('partitions elect-leaders', opts, (admin) => electLeaders(admin, opts)));
  addClientOptions(program.command('log-dirs'))
    .description('each node\'s data directory: the bytes of every partition replica in it, and the volume\'s free space')
    .option('--topic <name>', 'only this topic\'s replicas')
    .action((opts: ClientOptions & { topic?: string }) => withAdmin('log-dirs', opts, (admin) => logDirs(admin, opts)));
}
