/**
 * ACLs of a running cluster, with kafka-acls' options (CreateAcls, DescribeAcls, DeleteAcls v2
 * with Flotilla's own codecs, one-request.ts):
 *   flotilla acl add --allow-principal User:alice --operation Read --topic orders
 *                    [--group G] [--cluster] [--transactional-id T] [--resource-pattern-type prefixed]
 *                    [--deny-principal P] [--host H] [--allow-host H] [--deny-host H]
 *       one ACL per (principal, host, operation, resource), as kafka-acls --add
 *   flotilla acl list [--topic T ...] [--resource-pattern-type any|match|literal|prefixed] [--principal P]
 *       the ACLs matching the filter (default: every ACL), grouped by resource
 *   flotilla acl remove [--topic T ...] [--allow-principal P | --deny-principal P | --principal P]
 *                       [--operation OP] [--host H] [--resource-pattern-type ...]
 *       the ACLs matching the filter; at least one resource or principal must be named
 * Operations are Kafka's names in any case (Read, DESCRIBE_CONFIGS, describe-configs, All).
 */
import type { Command } from 'commander';
import {
  CLUSTER_RESOURCE, type AclOperation, type PatternType, type ResourceType, OperationCode, PatternTypeCode, PermissionCode, ResourceTypeCode,
  operationCode, operationName, patternTypeCode, permissionCode, resourceTypeCode,
} from '../auth/acl.js';
import { AclOperations } from '../metadata/records.js';
import { createAclsApi } from '../kafka/create-acls.js';
import { deleteAclsApi } from '../kafka/delete-acls.js';
import { describeAclsApi } from '../kafka/describe-acls.js';
import { errorName } from '../kafka/errors.js';
import { addClientOptions, type ClientOptions, describeClientError } from './client.js';
import { oneRequest } from './one-request.js';
import { CliError, ExitCode, collect, formatTable, printJson, printLine, reportFailure } from './output.js';

const VERSION = 2;

interface AclCliOptions extends ClientOptions {
  readonly allowPrincipal?: string[];
  readonly denyPrincipal?: string[];
  readonly principal?: string[];
  readonly operation?: string[];
  readonly host?: string[];
  readonly allowHost?: string[];
  readonly denyHost?: string[];
  readonly topic?: string[];
  readonly group?: string[];
  readonly cluster?: boolean;
  readonly transactionalId?: string[];
  readonly resourcePatternType?: string;
}

function kafkaError(code: number, message?: string | null): string {
  return `${errorName(code) ?? `error ${code}`}${message === null || message === undefined ? '' : `: ${message}`}`;
}

/** An operation as typed ("Read", "DESCRIBE_CONFIGS", "describe-configs") → the record's name. */
export function parseOperation(text: string): AclOperation {
  const key = text.toLowerCase().replace(/[-_ ]/g, '');
  const found = AclOperations.find((o) => o.replace(/-/g, '') === key);
  if (found === undefined) {
    throw new CliError(`unknown --operation ${JSON.stringify(text)}: one of ${AclOperations.map(operationName).join(', ')}`, ExitCode.usage);
  }
  return found;
}

function parsePatternType(text: string | undefined, fallback: PatternType | 'any' | 'match'): PatternType | 'any' | 'match' {
  if (text === undefined) return fallback;
  const t = text.toLowerCase();
  if (t === 'literal' || t === 'prefixed' || t === 'any' || t === 'match') return t;
  throw new CliError(`unknown --resource-pattern-type ${JSON.stringify(text)}: literal, prefixed, any or match`, ExitCode.usage);
}

function checkPrincipal(p: string): string {
  const at = p.indexOf(':');
  if (at <= 0 || at === p.length - 1) throw new CliError(`invalid principal ${JSON.stringify(p)}: write Type:name (User:alice, User:*)`, ExitCode.usage);
  return p;
}

/** The resources named by --topic, --group, --cluster, --transactional-id. */
function resources(opts: AclCliOptions): { type: ResourceType; name: string }[] {
  return [
    ...(opts.topic ?? []).map((name) => ({ type: 'topic' as const, name })),
    ...(opts.group ?? []).map((name) => ({ type: 'group' as const, name })),
    ...(opts.cluster === true ? [{ type: 'cluster' as const, name: CLUSTER_RESOURCE }] : []),
    ...(opts.transactionalId ?? []).map((name) => ({ type: 'transactional-id' as const, name })),
  ];
}

const patternCode = (p: PatternType | 'any' | 'match'): number => (p === 'any' ? PatternTypeCode.ANY : p === 'match' ? PatternTypeCode.MATCH : patternTypeCode(p));

function addOptions(cmd: Command, forAdd: boolean): Command {
  const c = addClientOptions(cmd)
    .option('--allow-principal <principal>', 'principal given ALLOW (User:alice; repeatable)', collect)
    .option('--deny-principal <principal>', 'principal given DENY (repeatable)', collect)
    .option('--operation <op>', 'Read, Write, Create, Delete, Alter, Describe, ClusterAction, DescribeConfigs, AlterConfigs, IdempotentWrite, All (repeatable)', collect)
    .option('--host <ip>', 'client address the ACL applies to (default *; repeatable)', collect)
    .option('--allow-host <ip>', 'as --host, for the --allow-principal ACLs (repeatable)', collect)
    .option('--deny-host <ip>', 'as --host, for the --deny-principal ACLs (repeatable)', collect)
    .option('--topic <name>', 'a topic resource (repeatable)', collect)
    .option('--group <name>', 'a consumer group resource (repeatable)', collect)
    .option('--cluster', 'the cluster resource')
    .option('--transactional-id <id>', 'a transactional id resource (repeatable)', collect)
    .option('--resource-pattern-type <type>', forAdd ? 'literal (default) or prefixed' : 'literal, prefixed, any (default) or match');
  return forAdd ? c : c.option('--principal <principal>', 'only ACLs of this principal, either permission (repeatable)', collect);
}

interface Binding {
  readonly resourceType: ResourceType;
  readonly resourceName: string;
  readonly patternType: PatternType;
  readonly principal: string;
  readonly host: string;
  readonly operation: AclOperation;
  readonly permission: 'allow' | 'deny';
}

/** The ACLs `acl add` creates: every (permission principal, host, operation, resource). */
export function bindingsToAdd(opts: AclCliOptions): Binding[] {
  const res = resources(opts);
  if (res.length === 0) throw new CliError('name a resource: --topic, --group, --cluster or --transactional-id', ExitCode.usage);
  const ops = (opts.operation ?? []).map(parseOperation);
  if (ops.length === 0) throw new CliError('give --operation (Read, Write, ..., All)', ExitCode.usage);
  const pattern = parsePatternType(opts.resourcePatternType, 'literal');
  if (pattern === 'any' || pattern === 'match') throw new CliError('an ACL is --resource-pattern-type literal or prefixed', ExitCode.usage);
  const who = [
    ...(opts.allowPrincipal ?? []).map((p) => ({ principal: checkPrincipal(p), permission: 'allow' as const, hosts: opts.allowHost ?? opts.host ?? ['*'] })),
    ...(opts.denyPrincipal ?? []).map((p) => ({ principal: checkPrincipal(p), permission: 'deny' as const, hosts: opts.denyHost ?? opts.host ?? ['*'] })),
  ];
  if (who.length === 0) throw new CliError('give --allow-principal or --deny-principal', ExitCode.usage);
  const out: Binding[] = [];
  for (const r of res) {
    for (const w of who) {
      for (const host of w.hosts) {
        for (const operation of ops) out.push({ resourceType: r.type, resourceName: r.name, patternType: pattern, principal: w.principal, host, operation, permission: w.permission });
      }
    }
  }
  return out;
}

interface WireFilter {
  resourceTypeFilter: number; resourceNameFilter: string | null; patternTypeFilter: number; principalFilter: string | null;
  hostFilter: string | null; operation: number; permissionType: number;
}

/** The filters `acl list` / `acl remove` send: one per (resource or any) × (principal or any) × (operation or any) × (host or any). */
export function filtersOf(opts: AclCliOptions): WireFilter[] {
  const pattern = patternCode(parsePatternType(opts.resourcePatternType, 'any'));
  const res: { type: number; name: string | null }[] = resources(opts).map((r) => ({ type: resourceTypeCode(r.type), name: r.name }));
  if (res.length === 0) res.push({ type: ResourceTypeCode.ANY, name: null });
  const who: { principal: string | null; permission: number }[] = [
    ...(opts.allowPrincipal ?? []).map((p) => ({ principal: checkPrincipal(p), permission: PermissionCode.ALLOW })),
    ...(opts.denyPrincipal ?? []).map((p) => ({ principal: checkPrincipal(p), permission: PermissionCode.DENY })),
    ...(opts.principal ?? []).map((p) => ({ principal: checkPrincipal(p), permission: PermissionCode.ANY })),
  ];
  if (who.length === 0) who.push({ principal: null, permission: PermissionCode.ANY });
  const ops = (opts.operation ?? []).map((o) => operationCode(parseOperation(o)));
  if (ops.length === 0) ops.push(OperationCode.ANY);
  const hosts: (string | null)[] = opts.host ?? [null];
  const out: WireFilter[] = [];
  for (const r of res) {
    for (const w of who) {
      for (const operation of ops) {
        for (const host of hosts) {
          out.push({
            resourceTypeFilter: r.type, resourceNameFilter: r.name, patternTypeFilter: pattern, principalFilter: w.principal, hostFilter: host,
            operation, permissionType: w.permission,
          });
        }
      }
    }
  }
  return out;
}

const resourceTypeNames = new Map<number, string>(Object.entries(ResourceTypeCode).map(([k, v]) => [v, k]));
const patternNames = new Map<number, string>(Object.entries(PatternTypeCode).map(([k, v]) => [v, k]));
const operationNames = new Map<number, string>(Object.entries(OperationCode).map(([k, v]) => [v, k]));
const permissionNames = new Map<number, string>(Object.entries(PermissionCode).map(([k, v]) => [v, k]));

interface AclRow {
  readonly resourceType: string;
  readonly resourceName: string;
  readonly patternType: string;
  readonly principal: string;
  readonly host: string;
  readonly operation: string;
  readonly permission: string;
}

function row(r: { resourceType: number; resourceName: string; patternType: number; principal: string; host: string; operation: number; permissionType: number }): AclRow {
  return {
    resourceType: resourceTypeNames.get(r.resourceType) ?? String(r.resourceType), resourceName: r.resourceName,
    patternType: patternNames.get(r.patternType) ?? String(r.patternType), principal: r.principal, host: r.host,
    operation: operationNames.get(r.operation) ?? String(r.operation), permission: permissionNames.get(r.permissionType) ?? String(r.permissionType),
  };
}

function printRows(rows: readonly AclRow[], empty: string): void {
  printLine(rows.length === 0 ? empty : formatTable(
    ['RESOURCE TYPE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'],
    rows.map((r) => [r.resourceType, r.resourceName, r.patternType, r.principal, r.host, r.operation, r.permission]),
  ));
}

async function listAcls(opts: AclCliOptions): Promise<AclRow[]> {
  const rows = new Map<string, AclRow>();
  for (const f of filtersOf(opts)) {
    const res = await oneRequest(opts, describeAclsApi, VERSION, f, opts.timeoutMs);
    if (res.errorCode !== 0) throw new CliError(`listing ACLs failed: ${kafkaError(res.errorCode, res.errorMessage)}`);
    for (const r of res.resources) {
      for (const a of r.acls) {
        const x = row({ ...r, ...a });
        rows.set(JSON.stringify(x), x);
      }
    }
  }
  return [...rows.values()];
}

export function registerAclCommands(program: Command): void {
  const acl = program.command('acl').description('access control lists (the authorizer must be on: --authorizer)');

  addOptions(acl.command('add'), true)
    .description('add ACLs: each --allow-principal/--deny-principal × --host × --operation × resource (CreateAcls)')
    .action(async (opts: AclCliOptions) => {
      try {
        const bindings = bindingsToAdd(opts);
        const res = await oneRequest(opts, createAclsApi, VERSION, {
          creations: bindings.map((b) => ({
            resourceType: resourceTypeCode(b.resourceType), resourceName: b.resourceName, resourcePatternType: patternTypeCode(b.patternType),
            principal: b.principal, host: b.host, operation: operationCode(b.operation), permissionType: permissionCode(b.permission),
          })),
        }, opts.timeoutMs);
        const failed = res.results.map((r, i) => ({ r, b: bindings[i]! })).filter(({ r }) => r.errorCode !== 0);
        const rows = bindings.map((b) => row({
          resourceType: resourceTypeCode(b.resourceType), resourceName: b.resourceName, patternType: patternTypeCode(b.patternType), principal: b.principal,
          host: b.host, operation: operationCode(b.operation), permissionType: permissionCode(b.permission),
        }));
        if (opts.json) printJson({ added: rows.filter((_r, i) => res.results[i]?.errorCode === 0), errors: failed.map(({ r }) => kafkaError(r.errorCode, r.errorMessage)) });
        else if (failed.length === 0) printRows(rows, 'no ACLs');
        if (failed.length > 0) {
          throw new CliError(failed.map(({ r, b }) => `${b.principal} ${operationName(b.operation)} on ${b.resourceType} ${b.resourceName}: ${kafkaError(r.errorCode, r.errorMessage)}`).join('; '));
        }
      } catch (err) {
        reportFailure('acl add', err, (e) => describeClientError(e, opts.bootstrap));
      }
    });

  addOptions(acl.command('list'), false)
    .description('list the ACLs matching the filter; every ACL when none is given (DescribeAcls)')
    .action(async (opts: AclCliOptions) => {
      try {
        const rows = await listAcls(opts);
        if (opts.json) printJson({ acls: rows });
        else printRows(rows, 'no ACLs');
      } catch (err) {
        reportFailure('acl list', err, (e) => describeClientError(e, opts.bootstrap));
      }
    });

  addOptions(acl.command('remove'), false)
    .description('remove the ACLs matching the filter (DeleteAcls); name at least a resource or a principal')
    .action(async (opts: AclCliOptions) => {
      try {
        if (resources(opts).length === 0 && (opts.allowPrincipal ?? opts.denyPrincipal ?? opts.principal ?? []).length === 0) {
          throw new CliError('name a resource (--topic, --group, --cluster, --transactional-id) or a principal: remove never removes every ACL at once', ExitCode.usage);
        }
        const res = await oneRequest(opts, deleteAclsApi, VERSION, { filters: filtersOf(opts) }, opts.timeoutMs);
        const rows: AclRow[] = [];
        const errors: string[] = [];
        for (const f of res.filterResults) {
          if (f.errorCode !== 0) errors.push(kafkaError(f.errorCode, f.errorMessage));
          for (const m of f.matchingAcls) {
            if (m.errorCode !== 0) errors.push(kafkaError(m.errorCode, m.errorMessage));
            else rows.push(row(m));
          }
        }
        if (opts.json) printJson({ removed: rows, errors });
        else printRows(rows, 'no ACL matched');
        if (errors.length > 0) throw new CliError(errors.join('; '));
      } catch (err) {
        reportFailure('acl remove', err, (e) => describeClientError(e, opts.bootstrap));
      }
    });
}
