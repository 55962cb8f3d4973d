/**
 * Admin commands against a running cluster, through KafkaJS's admin client (the Kafka wire
 * protocol, like every other client):
 *   flotilla topic create NAME [--partitions N] [--replication-factor R] [--config KEY=VALUE ...]
 *   flotilla topic list | describe NAME | delete NAME
 *   flotilla topic alter-config NAME [--set KEY=VALUE ...] [--delete KEY ...]
 *   flotilla cluster status
 *   flotilla cluster config [--set KEY=VALUE ...] [--delete KEY ...]
 *   flotilla cluster quorum
 * `cluster quorum` describes the metadata Raft group (DescribeQuorum, with Flotilla's own codec:
 * KafkaJS lacks it): leader, term, commit index, and each voter and observer with its log end
 * (Raft index), lag, last fetch and last caught-up time; `cluster quorum add-voter ID` /
 * `remove-voter ID` send AddRaftVoter / RemoveRaftVoter (KIP-853). To replace a controller whose
 * disk was lost: start the replacement under a new node id (it joins as an observer), add-voter
 * it, then remove-voter the old id.
 * `cluster config` shows or changes the cluster-wide topic defaults (Kafka's broker-level names,
 * `log.retention.ms` ...), which every topic takes for a key it does not set itself.
 * `cluster status` adds each node's Raft detail from the /status JSON at its metrics address
 * (client port + 2000 by default) when that answers.
 */
import type { Command } from 'commander';
import kafkajs, { type Admin, type ConfigEntries, type ITopicMetadata } from 'kafkajs';
import { metricsPortOffset } from '../app/config.js';
import { alterConfigsApi } from '../kafka/alter-configs.js';
import { describeConfigsApi } from '../kafka/describe-configs.js';
import { addRaftVoterApi } from '../kafka/add-raft-voter.js';
import { describeQuorumApi, type QuorumReplicaState } from '../kafka/describe-quorum.js';
import { ZERO_UUID } from '../kafka/primitives.js';
import { removeRaftVoterApi } from '../kafka/remove-raft-voter.js';
import { errorName } from '../kafka/errors.js';
import { CLUSTER_DEFAULT_RESOURCE, clusterDefaultKeys, isClusterDefaultKey } from '../metadata/topic-config.js';
import { addClientOptions, createClient, describeClientError, type ClientOptions } from './client.js';
import { oneRequest } from './one-request.js';
import { CliError, ExitCode, collect, formatTable, intOption, printJson, printLine, reportFailure } from './output.js';

const TOPIC_RESOURCE = kafkajs.ConfigResourceTypes.TOPIC;
const BROKER_RESOURCE = kafkajs.ConfigResourceTypes.BROKER;
/** ConfigSource.TOPIC_CONFIG: a value set on the topic itself (not a default). */
const TOPIC_CONFIG_SOURCE = 1;
/** ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG: a cluster-wide default (`flotilla cluster config`). */
const CLUSTER_DEFAULT_SOURCE = 3;

export async function withAdmin<T>(command: string, options: ClientOptions, fn: (admin: Admin) => Promise<T>): Promise<void> {
  let admin: Admin | undefined;
  try {
    admin = createClient(options).admin();
    await admin.connect();
    await fn(admin);
  } catch (err) {
    reportFailure(command, err, (e) => describeClientError(e, options.bootstrap));
  } finally {
    await admin?.disconnect().catch(() => undefined);
  }
}

/** KEY=VALUE -> [KEY, VALUE]; a usage error otherwise. */
export function parseConfigPair(text: string, option: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new CliError(`invalid ${option} ${JSON.stringify(text)}: expected KEY=VALUE`, ExitCode.usage);
  return [text.slice(0, eq).trim(), text.slice(eq + 1)];
}

async function requireTopic(admin: Admin, name: string): Promise<void> {
  // Describing an unknown topic by name could create it where auto-creation is on: list first.
  const topics = await admin.listTopics();
  if (!topics.includes(name)) throw new CliError(`unknown topic ${JSON.stringify(name)}`);
}

async function topicConfigs(admin: Admin, name: string): Promise<ConfigEntries[]> {
  const res = await admin.describeConfigs({ resources: [{ type: TOPIC_RESOURCE, name }], includeSynonyms: false });
  const resource = res.resources[0];
  if (resource === undefined) return [];
  if (resource.errorCode !== 0) throw new CliError(`describe configs of ${JSON.stringify(name)} failed: ${resource.errorMessage || `error code ${resource.errorCode}`}`);
  return [...resource.configEntries].sort((a, b) => a.configName.localeCompare(b.configName));
}

interface PartitionRow {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly offlineReplicas: readonly number[];
  readonly logStartOffset: string | null;
  readonly highWatermark: string | null;
  readonly error: number;
}

async function partitionRows(admin: Admin, topic: ITopicMetadata): Promise<PartitionRow[]> {
  let offsets: Array<{ partition: number; high: string; low: string }> = [];
  try {
    offsets = await admin.fetchTopicOffsets(topic.name);
  } catch {
    // No leader for some partition right now: show the metadata without offsets.
  }
  return [...topic.partitions]
    .sort((a, b) => a.partitionId - b.partitionId)
    .map((p) => {
      const o = offsets.find((x) => x.partition === p.partitionId);
      return {
        partition: p.partitionId,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
        offlineReplicas: p.offlineReplicas ?? [],
        logStartOffset: o?.low ?? null,
        highWatermark: o?.high ?? null,
        error: p.partitionErrorCode,
      };
    });
}

function partitionTable(rows: readonly PartitionRow[], topic?: string): string {
  const headers = [...(topic === undefined ? [] : ['TOPIC']), 'PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'LOG START', 'HIGH WATERMARK'];
  return formatTable(headers, rows.map((r) => [...(topic === undefined ? [] : [topic]), r.partition, r.leader < 0 ? 'none' : r.leader, r.replicas, r.isr, r.logStartOffset, r.highWatermark]));
}

export function registerTopicCommands(program: Command): void {
  const topic = program.command('topic').description('create, list, describe, delete and configure topics');

  addClientOptions(topic.command('create').argument('<name>', 'topic name'))
    .description('create a topic')
    .option('-p, --partitions <n>', 'partition count (default: the cluster default)', intOption('--partitions', 1, 100_000))
    .option('-r, --replication-factor <n>', 'replicas per partition (default: the cluster default)', intOption('--replication-factor', 1, 15))
    .option('-c, --config <key=value>', 'topic config (repeatable)', collect)
    .action(async (name: string, opts: ClientOptions & { partitions?: number; replicationFactor?: number; config?: string[] }) => {
      await withAdmin('topic create', opts, async (admin) => {
        const configEntries = (opts.config ?? []).map((c) => parseConfigPair(c, '--config')).map(([k, v]) => ({ name: k, value: v }));
        const created = await admin.createTopics({
          topics: [{ topic: name, numPartitions: opts.partitions, replicationFactor: opts.replicationFactor, configEntries }],
          waitForLeaders: true,
          timeout: opts.timeoutMs,
        });
        if (!created) throw new CliError(`topic ${JSON.stringify(name)} already exists`);
        if (opts.json) printJson({ topic: name, created: true });
        else printLine(`created topic ${name}`);
      });
    });

  addClientOptions(topic.command('list'))
    .description('list topics')
    .action(async (opts: ClientOptions) => {
      await withAdmin('topic list', opts, async (admin) => {
        const { topics } = await admin.fetchTopicMetadata();
        const rows = topics.map((t) => ({ name: t.name, partitions: t.partitions.length, replicationFactor: Math.max(0, ...t.partitions.map((p) => p.replicas.length)) }))
          .sort((a, b) => a.name.localeCompare(b.name));
        if (opts.json) printJson(rows);
        else if (rows.length === 0) printLine('no topics');
        else printLine(formatTable(['TOPIC', 'PARTITIONS', 'REPLICATION FACTOR'], rows.map((r) => [r.name, r.partitions, r.replicationFactor])));
      });
    });

  addClientOptions(topic.command('describe').argument('<name>', 'topic name'))
    .description('partitions (leader, replicas, ISR, offsets) and configs of a topic')
    .option('--all-configs', 'show every config, defaults too')
    .action(async (name: string, opts: ClientOptions & { allConfigs?: boolean }) => {
      await withAdmin('topic describe', opts, async (admin) => {
        await requireTopic(admin, name);
        const { topics } = await admin.fetchTopicMetadata({ topics: [name] });
        const meta = topics.find((t) => t.name === name);
        if (meta === undefined) throw new CliError(`unknown topic ${JSON.stringify(name)}`);
        const partitions = await partitionRows(admin, meta);
        const configs = await topicConfigs(admin, name);
        const shown = opts.allConfigs ? configs : configs.filter((c) => c.configSource === TOPIC_CONFIG_SOURCE || c.configSource === CLUSTER_DEFAULT_SOURCE);
        if (opts.json) {
          printJson({
            topic: name,
            partitions,
            configs: Object.fromEntries(configs.map((c) => [c.configName, { value: c.isSensitive ? null : c.configValue, isDefault: c.isDefault, source: c.configSource, readOnly: c.readOnly }])),
          });
          return;
        }
        const rf = Math.max(0, ...partitions.map((p) => p.replicas.length));
        printLine(`Topic ${name}: ${partitions.length} partition${partitions.length === 1 ? '' : 's'}, replication factor ${rf}`);
        printLine(shown.length === 0 ? (opts.allConfigs ? 'Configs: none' : 'Configs: all defaults (--all-configs to list them)') : 'Configs:');
        for (const c of shown) printLine(`  ${c.configName}=${c.isSensitive ? '(sensitive)' : c.configValue}${c.configSource === CLUSTER_DEFAULT_SOURCE ? '  (cluster-wide default)' : ''}`);
        printLine(partitionTable(partitions));
      });
    });

  addClientOptions(topic.command('delete').argument('<name>', 'topic name'))
    .description('delete a topic and its data')
    .action(async (name: string, opts: ClientOptions) => {
      await withAdmin('topic delete', opts, async (admin) => {
        await requireTopic(admin, name);
        await admin.deleteTopics({ topics: [name], timeout: opts.timeoutMs });
        if (opts.json) printJson({ topic: name, deleted: true });
        else printLine(`deleted topic ${name}`);
      });
    });

  addClientOptions(topic.command('alter-config').argument('<name>', 'topic name'))
    .description('set or remove topic configs (others are kept)')
    .option('-s, --set <key=value>', 'set a config (repeatable)', collect)
    .option('-d, --delete <key>', 'remove a config, back to its default (repeatable)', collect)
    .action(async (name: string, opts: ClientOptions & { set?: string[]; delete?: string[] }) => {
      await withAdmin('topic alter-config', opts, async (admin) => {
        const sets = (opts.set ?? []).map((s) => parseConfigPair(s, '--set'));
        const deletes = opts.delete ?? [];
        if (sets.length === 0 && deletes.length === 0) throw new CliError('give --set KEY=VALUE or --delete KEY', ExitCode.usage);
        await requireTopic(admin, name);
        // AlterConfigs replaces the topic's whole config set: start from the values set on the
        // topic now, apply the changes, send the result.
        const current = new Map((await topicConfigs(admin, name))
          .filter((c) => !c.isDefault && c.configSource === TOPIC_CONFIG_SOURCE && !c.isSensitive)
          .map((c) => [c.configName, c.configValue]));
        for (const key of deletes) current.delete(key);
        for (const [key, value] of sets) current.set(key, value);
        await admin.alterConfigs({
          validateOnly: false,
          resources: [{ type: TOPIC_RESOURCE, name, configEntries: [...current].map(([k, v]) => ({ name: k, value: v })) }],
        });
        const result = Object.fromEntries(current);
        if (opts.json) printJson({ topic: name, configs: result });
        else {
          printLine(`altered configs of topic ${name}`);
          for (const [k, v] of current) printLine(`  ${k}=${v}`);
        }
      });
    });
}

/** The /status JSON of one node, or why it could not be read. */
export interface NodeStatus {
  readonly nodeId: number;
  readonly url: string;
  readonly status?: unknown;
  readonly error?: string;
}

export async function fetchStatus(nodeId: number, host: string, port: number, timeoutMs: number): Promise<NodeStatus> {
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/status`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return { nodeId, url, error: `HTTP ${res.status}` };
    return { nodeId, url, status: (await res.json()) as unknown };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { nodeId, url, error: cause ?? (err as Error).message };
  }
}

/**
 * Whether a cluster of `nodeIds` is ready for clients: every node answers its /status serving
 * (unfenced, its Kafka listener open), and every node's metadata lists all of them registered and
 * unfenced — so a topic of replication factor N can be placed whichever node a client asks.
 */
export function clusterReady(statuses: readonly NodeStatus[], nodeIds: readonly number[]): boolean {
  return nodeIds.every((id) => {
    const s = statuses.find((x) => x.nodeId === id)?.status as { serving?: unknown; fenced?: unknown; unfencedNodes?: unknown } | undefined;
    return s !== undefined && s.serving === true && s.fenced === false
      && Array.isArray(s.unfencedNodes) && nodeIds.every((other) => (s.unfencedNodes as unknown[]).includes(other));
  });
}

/** Renders a node's /status: a table of its `groups` when it has such an array, else indented JSON. */
export function renderNodeStatus(status: unknown): string {
  if (status !== null && typeof status === 'object' && !Array.isArray(status)) {
    const record = status as Record<string, unknown>;
    const lines: string[] = [];
    const scalars = Object.entries(record).filter(([, v]) => v === null || typeof v !== 'object');
    if (scalars.length > 0) lines.push(scalars.map(([k, v]) => `${k}=${String(v)}`).join('  '));
    for (const [key, value] of Object.entries(record)) {
      if (value === null || typeof value !== 'object') continue;
      const items = Array.isArray(value) ? value : null;
      if (items !== null && items.length > 0 && items.every((i) => i !== null && typeof i === 'object' && !Array.isArray(i))) {
        const columns = [...new Set(items.flatMap((i) => Object.keys(i as object)))];
        lines.push(`${key}:`);
        lines.push(formatTable(columns.map((c) => c.toUpperCase()), items.map((i) => columns.map((c) => (i as Record<string, unknown>)[c]))).replace(/^/gm, '  '));
      } else {
        lines.push(`${key}: ${JSON.stringify(value)}`);
      }
    }
    return lines.join('\n');
  }
  return JSON.stringify(status, null, 2);
}

export function registerClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('the cluster as a whole');
  addClientOptions(cluster.command('status'))
    .description('nodes, controller, partitions with leader, replicas and high watermark, and each node\'s Raft detail')
    .option('--metrics-port-offset <n>', 'each node\'s metrics port is its client port plus this', intOption('--metrics-port-offset', 0, 65535), metricsPortOffset)
    .option('--no-node-status', 'do not read each node\'s /status')
    .option('--internal', 'also list the partitions of internal topics (__consumer_offsets)')
    .action(async (opts: ClientOptions & { metricsPortOffset: number; nodeStatus: boolean; internal?: boolean }) => {
      await withAdmin('cluster status', opts, async (admin) => {
        const cl = await admin.describeCluster();
        const { topics } = await admin.fetchTopicMetadata();
        const brokers = [...cl.brokers].sort((a, b) => a.nodeId - b.nodeId);
        const partitions: Array<PartitionRow & { topic: string }> = [];
        const shown = opts.internal === true ? topics : topics.filter((t) => !t.name.startsWith('__'));
        for (const t of [...shown].sort((a, b) => a.name.localeCompare(b.name))) {
          for (const row of await partitionRows(admin, t)) partitions.push({ topic: t.name, ...row });
        }
        const statuses = opts.nodeStatus
          ? await Promise.all(brokers.map((b) => fetchStatus(b.nodeId, b.host, b.port + opts.metricsPortOffset, Math.min(opts.timeoutMs, 2000))))
          : [];
        if (opts.json) {
          printJson({ clusterId: cl.clusterId, controller: cl.controller, brokers, partitions, nodes: statuses });
          return;
        }
        const leaders = new Map<number, number>();
        for (const p of partitions) if (p.leader >= 0) leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1);
        // The Metadata answer names a live broker that forwards admin calls; the metadata Raft
        // group's leader (the active controller) is in the nodes' /status.
        const metadataLeader = statuses
          .map((x) => (x.status as { metadata?: { leader?: number } } | undefined)?.metadata?.leader ?? 0)
          .find((l) => l > 0);
        printLine(`Cluster ${cl.clusterId}: ${brokers.length} node${brokers.length === 1 ? '' : 's'}, metadata leader (active controller) ${metadataLeader ?? 'unknown'}`);
        printLine(formatTable(['NODE', 'ADDRESS', 'LEADS', 'STATUS'], brokers.map((b) => {
          const s = statuses.find((x) => x.nodeId === b.nodeId);
          return [b.nodeId, `${b.host}:${b.port}`, leaders.get(b.nodeId) ?? 0, s === undefined ? '-' : s.error === undefined ? 'ok' : `unreachable (${s.error})`];
        })));
        printLine();
        printLine(partitions.length === 0 ? 'no topics' : formatTable(
          ['TOPIC', 'PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'HIGH WATERMARK'],
          partitions.map((p) => [p.topic, p.partition, p.leader < 0 ? 'none' : p.leader, p.replicas, p.isr, p.highWatermark]),
        ));
        for (const s of statuses) {
          if (s.status === undefined) continue;
          printLine();
          printLine(`Node ${s.nodeId} (${s.url}):`);
          printLine(renderNodeStatus(s.status).replace(/^/gm, '  '));
        }
      });
    });

  addClientOptions(cluster.command('quorum'))
    .description('the metadata Raft group (controller quorum): leader, term, commit index; voters and observers with log end, lag, last fetch and last caught up; '
      + '`add-voter ID` makes a registered node (an observer) a voter once it has caught up, `remove-voter ID` makes a voter leave (KIP-853)')
    .argument('[action]', 'add-voter or remove-voter (none: describe)')
    .argument('[node-id]', 'the node to add or remove')
    .action(async (action: string | undefined, nodeId: string | undefined, opts: ClientOptions) => {
      try {
        if (action === undefined) return await showQuorum(opts);
        if (action !== 'add-voter' && action !== 'remove-voter') throw new CliError(`unknown action ${JSON.stringify(action)}: add-voter or remove-voter`, ExitCode.usage);
        const id = intOption('node-id', 0, 2 ** 31 - 1)(nodeId ?? '');
        await changeVoters(opts, action, id);
        if (opts.json) return printJson({ action, nodeId: id, done: true });
        printLine(action === 'add-voter' ? `node ${id} is a metadata voter` : `node ${id} is no longer a metadata voter`);
        await showQuorum(opts);
      } catch (err) {
        reportFailure('cluster quorum', err, (e) => describeClientError(e, opts.bootstrap));
      }
    });

  addClientOptions(cluster.command('config'))
    .description(`show or change the cluster-wide topic defaults (${Object.keys(clusterDefaultKeys).length} keys: log.retention.ms, log.segment.bytes, ...); topics that set a key themselves keep their value`)
    .option('-s, --set <key=value>', 'set a cluster-wide default (repeatable)', collect)
    .option('-d, --delete <key>', "remove a cluster-wide default, back to Kafka's (repeatable)", collect)
    .action(async (opts: ClientOptions & { set?: string[]; delete?: string[] }) => {
      try {
        // The broker resource "" holds them (Kafka's entity default); KafkaJS cannot address it,
        // so these two requests go out with Flotilla's own codecs (one-request.ts). AlterConfigs
        // replaces the whole set: read, change, send.
        const sets = (opts.set ?? []).map((x) => parseConfigPair(x, '--set'));
        const deletes = opts.delete ?? [];
        const describe = await oneRequest(opts, describeConfigsApi, 2, {
          resources: [{ resourceType: BROKER_RESOURCE, resourceName: CLUSTER_DEFAULT_RESOURCE, configurationKeys: null }], includeSynonyms: false, includeDocumentation: false,
        }, opts.timeoutMs);
        const found = describe.results[0];
        if (found === undefined || found.errorCode !== 0) throw new CliError(`describe the cluster-wide defaults failed: ${found?.errorMessage ?? `error code ${found?.errorCode ?? 'none'}`}`);
        const current = new Map(found.configs.map((c) => [c.name, c.value ?? '']));
        if (sets.length > 0 || deletes.length > 0) {
          for (const key of deletes) current.delete(key);
          for (const [key, value] of sets) current.set(key, value);
          const altered = await oneRequest(opts, alterConfigsApi, 1, {
            resources: [{ resourceType: BROKER_RESOURCE, resourceName: CLUSTER_DEFAULT_RESOURCE, configs: [...current].map(([name, value]) => ({ name, value })) }],
            validateOnly: false,
          }, opts.timeoutMs);
          const r = altered.responses[0];
          if (r === undefined || r.errorCode !== 0) throw new CliError(`cluster config: ${r?.errorMessage ?? `error code ${r?.errorCode ?? 'none'}`}`);
        }
        const sorted = [...current].sort(([a], [b]) => a.localeCompare(b));
        if (opts.json) {
          printJson({ clusterDefaults: Object.fromEntries(sorted) });
          return;
        }
        printLine(sorted.length === 0 ? "Cluster-wide topic defaults: none set (Kafka's defaults apply)" : 'Cluster-wide topic defaults:');
        for (const [k, v] of sorted) printLine(`  ${k}=${v}  (topic key ${isClusterDefaultKey(k) ? clusterDefaultKeys[k] : '?'})`);
      } catch (err) {
        reportFailure('cluster config', err, (e) => describeClientError(e, opts.bootstrap));
      }
    });
}

/** "3.2s ago" for a wall-clock time in ms; '-' when unknown (-1). */
function ago(ms: number, now: number): string {
  if (ms < 0) return '-';
  const s = Math.max(0, now - ms) / 1000;
  return s < 10 ? `${s.toFixed(1)}s ago` : s < 120 ? `${Math.round(s)}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

/** DescribeQuorum v2 to any node (the node forwards it to the metadata leader). */
async function showQuorum(opts: ClientOptions): Promise<void> {
  const res = await oneRequest(opts, describeQuorumApi, 2, { topics: [{ topicName: '__cluster_metadata', partitions: [{ partitionIndex: 0 }] }] }, opts.timeoutMs);
  const p = res.topics[0]?.partitions[0];
  if (res.errorCode !== 0) throw new CliError(`describe quorum: ${errorName(res.errorCode) ?? `error ${res.errorCode}`}${res.errorMessage === null ? '' : `: ${res.errorMessage}`}`);
  if (p === undefined) throw new CliError('describe quorum: the answer names no partition');
  if (p.errorCode !== 0) throw new CliError(`describe quorum: ${errorName(p.errorCode) ?? `error ${p.errorCode}`}${p.errorMessage === null ? '' : `: ${p.errorMessage}`}`);
  const row = (role: string) => (r: QuorumReplicaState) => ({
    nodeId: r.replicaId, role: r.replicaId === p.leaderId ? 'leader' : role, directoryId: r.replicaDirectoryId,
    logEndIndex: r.logEndOffset, lag: r.logEndOffset < 0 ? null : Math.max(0, p.highWatermark - r.logEndOffset),
    lastFetchMs: r.lastFetchTimestamp, lastCaughtUpMs: r.lastCaughtUpTimestamp,
  });
  const rows = [...p.currentVoters.map(row('voter')), ...p.observers.map(row('observer'))];
  const endpoints = new Map(res.nodes.map((n) => [n.nodeId, n.listeners.map((l) => `${l.host}:${l.port}`).join(',')]));
  if (opts.json) {
    printJson({ leaderId: p.leaderId, term: p.leaderEpoch, highWatermark: p.highWatermark, replicas: rows.map((r) => ({ ...r, endpoint: endpoints.get(r.nodeId) ?? null })) });
    return;
  }
  const now = Date.now();
  printLine(`Metadata quorum: leader ${p.leaderId}, term ${p.leaderEpoch}, commit index (high watermark) ${p.highWatermark}, ${p.currentVoters.length} voters, ${p.observers.length} observers`);
  printLine(formatTable(
    ['NODE', 'ROLE', 'PEER ENDPOINT', 'LOG END', 'LAG', 'LAST FETCH', 'LAST CAUGHT UP', 'DIRECTORY ID'],
    rows.map((r) => [r.nodeId, r.role, endpoints.get(r.nodeId) ?? '-', r.logEndIndex < 0 ? '-' : r.logEndIndex, r.lag ?? '-', ago(r.lastFetchMs, now), ago(r.lastCaughtUpMs, now), r.directoryId]),
  ));
}

/** AddRaftVoter / RemoveRaftVoter v0 (any node forwards it to the metadata leader). */
async function changeVoters(opts: ClientOptions, action: 'add-voter' | 'remove-voter', nodeId: number): Promise<void> {
  const res = action === 'add-voter'
    ? await oneRequest(opts, addRaftVoterApi, 0, { clusterId: null, timeoutMs: opts.timeoutMs, voterId: nodeId, voterDirectoryId: ZERO_UUID, listeners: [] }, opts.timeoutMs + 35_000)
    : await oneRequest(opts, removeRaftVoterApi, 0, { clusterId: null, voterId: nodeId, voterDirectoryId: ZERO_UUID }, opts.timeoutMs + 35_000);
  if (res.errorCode !== 0) throw new CliError(`${action} ${nodeId}: ${errorName(res.errorCode) ?? `error ${res.errorCode}`}${res.errorMessage === null ? '' : `: ${res.errorMessage}`}`);
}
