/**
 * `flotilla quotas set | list | remove`: client quotas (issue 19), kafka-configs' client quota
 * entities, with Flotilla's own codecs (one-request.ts: AlterClientQuotas / DescribeClientQuotas
 * v1, the command's security settings): no client library on this machine sends them.
 *
 *   quotas set    ENTITY --set producer_byte_rate=1048576[,k=v...] [--delete k1,k2] [--validate-only]
 *   quotas remove ENTITY --delete k1,k2
 *   quotas list   [ENTITY filter] [--any user,client-id,ip] [--strict] [--no-rates]
 *
 * ENTITY: `--user NAME`, `--client-id NAME`, `--ip ADDR`, and `--default TYPE[,TYPE]` for the
 * default entity of a type (kafka-configs' `--entity-default`): `--default client-id` is every
 * client id without a quota of its own, `--user alice --default client-id` is alice's clients
 * without one. An ip goes alone.
 *
 * `list` shows each entity's limits; where a node's /status (at its client port plus
 * --metrics-port-offset) reports live figures for the entity under `quotas` (an array of
 * {entity, rates, throttleTimeMs, throttledRequests}), its rate on that node is printed beside the
 * limit, one column per node: quotas are per node, as in Kafka.
 */
import type { Command } from 'commander';
import { metricsPortOffset } from '../app/config.js';
import { alterClientQuotasApi } from '../kafka/alter-client-quotas.js';
import { describeClientQuotasApi } from '../kafka/describe-client-quotas.js';
import { errorName } from '../kafka/errors.js';
import { metadataApi } from '../kafka/metadata.js';
import { QuotaMatchTypes } from '../metadata/client-quotas.js';
import {
  type QuotaEntityPart, type QuotaEntityType, formatQuotaEntity, isQuotaEntityType, quotaEntityKey, quotaEntityProblem, quotaKeys,
} from '../quota/entries.js';
import { fetchStatus } from './admin.js';
import { type ClientOptions, addClientOptions } from './client.js';
import { oneRequest } from './one-request.js';
import { CliError, ExitCode, collect, formatTable, intOption, printJson, printLine, reportFailure } from './output.js';

const VERSION = 1;

interface EntityOptions {
  readonly user?: string;
  readonly clientId?: string;
  readonly ip?: string;
  readonly default?: string[];
}

function kafkaError(code: number, message: string | null): string {
  return `${errorName(code) ?? `error ${code}`}${message === null ? '' : `: ${message}`}`;
}

/** "user,client-id" (repeatable) → the entity types; a usage error for an unknown one. */
function parseTypes(lists: readonly string[] | undefined, option: string): QuotaEntityType[] {
  const out: QuotaEntityType[] = [];
  for (const t of (lists ?? []).flatMap((l) => l.split(',')).map((s) => s.trim()).filter((s) => s !== '')) {
    if (!isQuotaEntityType(t)) throw new CliError(`unknown entity type ${JSON.stringify(t)} in ${option}: user, client-id or ip`, ExitCode.usage);
    if (out.includes(t)) throw new CliError(`${option} names ${t} twice`, ExitCode.usage);
    out.push(t);
  }
  return out;
}

/** The entity named by --user/--client-id/--ip/--default (parts may be missing: list filters). */
export function entityFromOptions(opts: EntityOptions): QuotaEntityPart[] {
  const parts: QuotaEntityPart[] = [];
  if (opts.user !== undefined) parts.push({ type: 'user', name: opts.user });
  if (opts.clientId !== undefined) parts.push({ type: 'client-id', name: opts.clientId });
  if (opts.ip !== undefined) parts.push({ type: 'ip', name: opts.ip });
  for (const t of parseTypes(opts.default, '--default')) {
    if (parts.some((p) => p.type === t)) throw new CliError(`--default ${t} and a ${t} name cannot go together`, ExitCode.usage);
    parts.push({ type: t, name: null });
  }
  return parts;
}

/** The entity of `set` / `remove`: at least one part, valid as Kafka's rules say (checked again by the controller). */
function requiredEntity(opts: EntityOptions): QuotaEntityPart[] {
  const entity = entityFromOptions(opts);
  if (entity.length === 0) throw new CliError('name the entity: --user NAME, --client-id NAME, --ip ADDR or --default TYPE', ExitCode.usage);
  const problem = quotaEntityProblem(entity);
  if (problem !== null) throw new CliError(problem, ExitCode.usage);
  return entity;
}

/** "k=v,k2=v2" (repeatable) → [key, number]; a usage error for text that is not a number ("NaN" goes on: the cluster refuses it). */
export function parseQuotaValues(lists: readonly string[] | undefined): [string, number][] {
  const out: [string, number][] = [];
  for (const item of (lists ?? []).flatMap((l) => l.split(',')).map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new CliError(`invalid --set ${JSON.stringify(item)}: expected KEY=NUMBER`, ExitCode.usage);
    const text = item.slice(eq + 1).trim();
    const value = Number(text);
    if (text === '' || (Number.isNaN(value) && text !== 'NaN')) throw new CliError(`invalid --set ${JSON.stringify(item)}: ${JSON.stringify(text)} is not a number`, ExitCode.usage);
    out.push([item.slice(0, eq).trim(), value]);
  }
  return out;
}

function parseKeys(lists: readonly string[] | undefined): string[] {
  return (lists ?? []).flatMap((l) => l.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

async function alter(opts: ClientOptions & EntityOptions & { set?: string[]; delete?: string[]; validateOnly?: boolean }, command: string): Promise<void> {
  const entity = requiredEntity(opts);
  const sets = parseQuotaValues(opts.set);
  const deletes = parseKeys(opts.delete);
  if (sets.length + deletes.length === 0) throw new CliError('nothing to change: give --set KEY=VALUE or --delete KEY', ExitCode.usage);
  const ops = [...sets.map(([key, value]) => ({ key, value, remove: false })), ...deletes.map((key) => ({ key, value: 0, remove: true }))];
  const res = await oneRequest(opts, alterClientQuotasApi, VERSION, {
    entries: [{ entity: entity.map((p) => ({ entityType: p.type, entityName: p.name })), ops }], validateOnly: opts.validateOnly === true,
  }, opts.timeoutMs);
  const r = res.entries[0];
  if (r === undefined) throw new CliError(`${command}: the answer holds no entry`);
  if (r.errorCode !== 0) throw new CliError(`${formatQuotaEntity(entity)}: ${kafkaError(r.errorCode, r.errorMessage)}`);
  const done = opts.validateOnly === true ? 'valid (nothing changed: --validate-only)' : 'done';
  if (opts.json) return printJson({ entity, set: Object.fromEntries(sets), removed: deletes, validateOnly: opts.validateOnly === true });
  printLine(`quotas of ${formatQuotaEntity(entity)}: ${[...sets.map(([k, v]) => `${k}=${v}`), ...deletes.map((k) => `${k} removed`)].join(', ')}: ${done}`);
}

/** One node's live quota figures from its /status (`quotas`), keyed by canonical entity key; null when it has none. */
export function liveRates(status: unknown): Map<string, Readonly<Record<string, number>>> | null {
  const quotas = (status as { quotas?: unknown } | undefined)?.quotas;
  if (!Array.isArray(quotas)) return null;
  const out = new Map<string, Readonly<Record<string, number>>>();
  for (const q of quotas as unknown[]) {
    const { entity, rates } = (q ?? {}) as { entity?: unknown; rates?: unknown };
    if (quotaEntityProblem(entity) !== null || typeof rates !== 'object' || rates === null) continue;
    out.set(quotaEntityKey(entity as QuotaEntityPart[]), rates as Record<string, number>);
  }
  return out;
}

/** A live rate as people read it: whole above 100, else at most two decimals. */
function formatRate(v: number): string {
  return String(v >= 100 ? Math.round(v) : Math.round(v * 100) / 100);
}

export function registerQuotaCommands(program: Command): void {
  const quotas = program.command('quotas').description('client quotas per user, client id or ip: set, list, remove (AlterClientQuotas / DescribeClientQuotas)');
  const entityOptions = (c: Command, what: string): Command => c
    .option('--user <name>', `${what} user (the principal's name)`)
    .option('--client-id <name>', `${what} client id`)
    .option('--ip <address>', `${what} client ip address (connection_creation_rate only)`)
    .option('--default <types>', `${what} default entity of these types (user, client-id, ip; comma-separated), as kafka-configs --entity-default`, collect);

  entityOptions(addClientOptions(quotas.command('set')), 'the')
    .description(`set quotas of an entity (keys: ${quotaKeys.join(', ')})`)
    .option('--set <k=v,...>', 'quota values to set, e.g. producer_byte_rate=1048576 (repeatable)', collect)
    .option('--delete <k,...>', 'quota keys to remove (repeatable)', collect)
    .option('--validate-only', 'check the change without making it')
    .action(async (opts: ClientOptions & EntityOptions & { set?: string[]; delete?: string[]; validateOnly?: boolean }) => {
      try {
        if ((opts.set ?? []).length === 0) throw new CliError('quotas set needs --set KEY=VALUE (use quotas remove to remove keys)', ExitCode.usage);
        await alter(opts, 'quotas set');
      } catch (err) {
        reportFailure('quotas set', err);
      }
    });

  entityOptions(addClientOptions(quotas.command('remove')), 'the')
    .description('remove quotas of an entity')
    .requiredOption('--delete <k,...>', 'quota keys to remove (repeatable)', collect)
    .action(async (opts: ClientOptions & EntityOptions & { delete: string[] }) => {
      try {
        await alter(opts, 'quotas remove');
      } catch (err) {
        reportFailure('quotas remove', err);
      }
    });

  entityOptions(addClientOptions(quotas.command('list')), 'only the')
    .description('entities with quotas and their limits, with each node\'s live rate when its /status reports it')
    .option('--any <types>', 'only entities with some name or the default for these types (Kafka\'s "any specified" match)', collect)
    .option('--strict', 'only entities of exactly the types filtered on')
    .option('--metrics-port-offset <n>', 'each node\'s metrics port is its client port plus this', intOption('--metrics-port-offset', 0, 65535), metricsPortOffset)
    .option('--no-rates', 'do not read the nodes\' /status for live rates')
    .action(async (opts: ClientOptions & EntityOptions & { any?: string[]; strict?: boolean; metricsPortOffset: number; rates: boolean }) => {
      try {
        const filter = entityFromOptions(opts);
        const any = parseTypes(opts.any, '--any');
        for (const t of any) if (filter.some((p) => p.type === t)) throw new CliError(`--any ${t} and another ${t} filter cannot go together`, ExitCode.usage);
        const components = [
          ...filter.map((p) => ({ entityType: p.type, matchType: p.name === null ? QuotaMatchTypes.default : QuotaMatchTypes.exact, match: p.name })),
          ...any.map((t) => ({ entityType: t, matchType: QuotaMatchTypes.specified, match: null })),
        ];
        const res = await oneRequest(opts, describeClientQuotasApi, VERSION, { components, strict: opts.strict === true }, opts.timeoutMs);
        if (res.errorCode !== 0) throw new CliError(kafkaError(res.errorCode, res.errorMessage));
        const entries = (res.entries ?? []).map((e) => {
          const entity = e.entity.map((p) => ({ type: p.entityType, name: p.entityName }) as QuotaEntityPart);
          return { entity, key: quotaEntityKey(entity), values: Object.fromEntries(e.values.map((v) => [v.key, v.value])) as Record<string, number> };
        }).sort((a, b) => formatQuotaEntity(a.entity).localeCompare(formatQuotaEntity(b.entity)));
        // Live rates: each node's /status, where the node reports its quotas (per node, as Kafka's).
        const nodes: { nodeId: number; rates: Map<string, Readonly<Record<string, number>>> }[] = [];
        if (opts.rates && entries.length > 0) {
          const md = await oneRequest(opts, metadataApi, 12, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }, opts.timeoutMs);
          const statuses = await Promise.all([...md.brokers].sort((a, b) => a.nodeId - b.nodeId)
            .map((b) => fetchStatus(b.nodeId, b.host, b.port + opts.metricsPortOffset, Math.min(opts.timeoutMs, 2000))));
          for (const s of statuses) {
            const rates = liveRates(s.status);
            if (rates !== null) nodes.push({ nodeId: s.nodeId, rates });
          }
        }
        if (opts.json) {
          return printJson(entries.map((e) => ({
            entity: e.entity, values: e.values,
            ...(nodes.length > 0 ? { rates: Object.fromEntries(nodes.map((n) => [n.nodeId, n.rates.get(e.key) ?? {}])) } : {}),
          })));
        }
        if (entries.length === 0) return printLine('no quotas');
        const headers = ['ENTITY', 'KEY', 'LIMIT', ...nodes.map((n) => `NODE ${n.nodeId} RATE`)];
        printLine(formatTable(headers, entries.flatMap((e) => quotaKeys.filter((k) => e.values[k] !== undefined).map((k) => [
          formatQuotaEntity(e.entity), k, String(e.values[k]!),
          ...nodes.map((n) => {
            const r = n.rates.get(e.key)?.[k];
            return typeof r === 'number' ? formatRate(r) : '-';
          }),
        ]))));
      } catch (err) {
        reportFailure('quotas list', err);
      }
    });
}
