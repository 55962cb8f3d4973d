/**
 * Consumer-group commands through KafkaJS's admin client:
 *   flotilla groups list
 *   flotilla groups describe GROUP        state, members and their partitions, committed offset,
 *                                         log end offset (high watermark) and lag per partition
 *   flotilla groups reset-offsets GROUP --topic T (--to-earliest | --to-latest | --to-offset N |
 *                                         --to-datetime ISO) [--dry-run]   (an Empty group only)
 *   flotilla groups delete GROUP
 *
 * Offsets are 64-bit: they stay decimal strings (as KafkaJS gives them) and are compared as bigint;
 * lag is a number (a count of records, never near 2^53).
 *
 * Members' assignments arrive as the consumer protocol's bytes (ConsumerProtocolAssignment
 * v0-v3, all versions laid out alike; later versions may only append fields):
 *   version int16, assigned_partitions [topic string (int16 length + UTF-8), partitions [int32]]
 *   (arrays: int32 count), user_data nullable bytes (int32 length, -1 = null).
 * decodeConsumerAssignment reads them here rather than through KafkaJS's AssignerProtocol, which
 * does not accept a missing user_data or a null array.
 */
import type { Command } from 'commander';
import type { Admin, GroupDescription } from 'kafkajs';
import { addClientOptions, createClient, describeClientError, type ClientOptions } from './client.js';
import { CliError, ExitCode, formatTable, printJson, printLine, reportFailure } from './output.js';

/** The partitions of one topic assigned to a member. */
export interface TopicAssignment {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface ConsumerAssignment {
  readonly version: number;
  readonly topics: readonly TopicAssignment[];
  /** Length of user_data, null when it is null or absent. */
  readonly userDataBytes: number | null;
}

/** Most topics and partitions read from one assignment (a guard against garbage counts). */
const ASSIGNMENT_ENTRIES_MAX = 1_000_000;
/** How long a reset may wait for KafkaJS's setOffsets (it joins the group as a consumer). */
const SET_OFFSETS_TIMEOUT_MS = 60_000;

/**
 * Decodes a member's assignment in the consumer protocol (see the file comment). Empty bytes
 * (a member that has no assignment yet) give null; malformed bytes throw an Error saying where.
 */
export function decodeConsumerAssignment(bytes: Uint8Array): ConsumerAssignment | null {
  if (bytes.length === 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > bytes.length) throw new Error(`assignment truncated at byte ${pos} reading ${what} (${bytes.length} bytes)`);
  };
  const int16 = (what: string): number => {
    need(2, what);
    const v = view.getInt16(pos);
    pos += 2;
    return v;
  };
  const int32 = (what: string): number => {
    need(4, what);
    const v = view.getInt32(pos);
    pos += 4;
    return v;
  };
  const count = (what: string, minBytesEach: number): number => {
    const n = int32(what);
    if (n < 0) return 0; // a null array: nothing assigned
    if (n > ASSIGNMENT_ENTRIES_MAX || pos + n * minBytesEach > bytes.length) throw new Error(`assignment ${what} count ${n} exceeds the ${bytes.length - pos} bytes left`);
    return n;
  };
  const version = int16('version');
  if (version < 0) throw new Error(`assignment version ${version} is negative`);
  const topics: TopicAssignment[] = [];
  const topicCount = count('topic', 6);
  for (let t = 0; t < topicCount; t++) {
    const length = int16('topic name length');
    if (length < 0) throw new Error('assignment has a null topic name');
    need(length, 'topic name');
    const topic = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(pos, pos + length));
    pos += length;
    const partitions: number[] = [];
    const partitionCount = count('partition', 4);
    for (let p = 0; p < partitionCount; p++) partitions.push(int32('partition'));
    topics.push({ topic, partitions });
  }
  let userDataBytes: number | null = null;
  if (pos + 4 <= bytes.length) {
    const length = int32('user data length');
    if (length >= 0) {
      need(length, 'user data');
      userDataBytes = length;
    }
  }
  return { version, topics, userDataBytes };
}

/** Where reset-offsets moves the group's offsets. */
export type ResetTarget =
  | { readonly kind: 'earliest' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'offset'; readonly offset: bigint }
  | { readonly kind: 'datetime'; readonly timestampMs: number };

export interface ResetOptions {
  readonly toEarliest?: boolean;
  readonly toLatest?: boolean;
  readonly toOffset?: string;
  readonly toDatetime?: string;
}

const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An ISO 8601 date or date-time -> epoch milliseconds. Without a zone it is UTC (a plain date
 * too), so the same text means the same instant on every machine.
 */
export function parseDatetime(text: string): number {
  const t = text.trim();
  const m = ISO_DATETIME.exec(t);
  if (m === null) throw new CliError(`invalid --to-datetime ${JSON.stringify(text)}: expected ISO 8601, e.g. 2024-05-01T12:00:00Z`, ExitCode.usage);
  const [y, mo, d] = t.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) {
    throw new CliError(`invalid --to-datetime ${JSON.stringify(text)}: no such day`, ExitCode.usage);
  }
  const withZone = m[1] === undefined ? `${t}T00:00:00Z` : m[4] === undefined ? `${t}Z` : t;
  const ms = Date.parse(withZone);
  if (!Number.isFinite(ms) || ms < 0) throw new CliError(`invalid --to-datetime ${JSON.stringify(text)}: not a date after 1970`, ExitCode.usage);
  return ms;
}

/** Exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime; a usage error otherwise. */
export function parseResetTarget(opts: ResetOptions): ResetTarget {
  const given = [opts.toEarliest === true, opts.toLatest === true, opts.toOffset !== undefined, opts.toDatetime !== undefined].filter(Boolean).length;
  if (given !== 1) throw new CliError('give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime ISO', ExitCode.usage);
  if (opts.toEarliest) return { kind: 'earliest' };
  if (opts.toLatest) return { kind: 'latest' };
  if (opts.toOffset !== undefined) {
    const text = opts.toOffset.trim();
    if (!/^\d{1,19}$/.test(text) || BigInt(text) > 2n ** 63n - 1n) throw new CliError(`invalid --to-offset ${JSON.stringify(opts.toOffset)}: expected an offset (a non-negative integer)`, ExitCode.usage);
    return { kind: 'offset', offset: BigInt(text) };
  }
  return { kind: 'datetime', timestampMs: parseDatetime(opts.toDatetime ?? '') };
}

/** One partition's offsets as the plan needs them. */
export interface PartitionOffsets {
  readonly partition: number;
  /** Log start offset. */
  readonly low: string;
  /** Log end offset (high watermark). */
  readonly high: string;
  /** For --to-datetime: the first offset at or after the time (the high watermark when none). */
  readonly byTime?: string;
}

export interface ResetPlanRow {
  readonly partition: number;
  /** The committed offset now, null when there is none. */
  readonly current: string | null;
  readonly target: string;
  /** Why the target differs from what was asked (clamped into the log), or null. */
  readonly note: string | null;
}

/**
 * New offset per partition. --to-offset is clamped into [log start, log end] as Kafka's tool
 * does (with a note saying so).
 */
export function planReset(target: ResetTarget, partitions: readonly PartitionOffsets[], committed: ReadonlyMap<number, string | null>): ResetPlanRow[] {
  return [...partitions].sort((a, b) => a.partition - b.partition).map((p) => {
    const current = committed.get(p.partition) ?? null;
    let offset: string;
    let note: string | null = null;
    switch (target.kind) {
      case 'earliest':
        offset = p.low;
        break;
      case 'latest':
        offset = p.high;
        break;
      case 'datetime':
        offset = p.byTime ?? p.high;
        break;
      case 'offset': {
        const low = BigInt(p.low);
        const high = BigInt(p.high);
        if (target.offset < low) {
          offset = p.low;
          note = `${target.offset} is before the log start: ${p.low}`;
        } else if (target.offset > high) {
          offset = p.high;
          note = `${target.offset} is past the log end: ${p.high}`;
        } else {
          offset = target.offset.toString();
        }
        break;
      }
    }
    return { partition: p.partition, current, target: offset, note };
  });
}

/** Records behind the log end; null without a committed offset (or a log end). */
export function lagOf(committed: string | null, logEnd: string | null): number | null {
  if (committed === null || logEnd === null || BigInt(committed) < 0n) return null;
  const lag = BigInt(logEnd) - BigInt(committed);
  return lag < 0n ? 0 : Number(lag);
}

/** KafkaJS reports "no committed offset" as -1. */
function committedOrNull(offset: string | undefined): string | null {
  return offset === undefined || offset === '' || BigInt(offset) < 0n ? null : offset;
}

export interface MemberRow {
  readonly memberId: string;
  readonly clientId: string;
  readonly clientHost: string;
  readonly assignment: readonly TopicAssignment[];
  /** Why the assignment could not be read, or null. */
  readonly assignmentError: string | null;
}

export interface OffsetRow {
  readonly topic: string;
  readonly partition: number;
  readonly committed: string | null;
  readonly logEnd: string | null;
  readonly lag: number | null;
  readonly memberId: string | null;
  readonly clientId: string | null;
}

export interface GroupReport {
  readonly groupId: string;
  readonly state: string;
  readonly protocolType: string;
  readonly protocol: string;
  readonly members: readonly MemberRow[];
  readonly offsets: readonly OffsetRow[];
  /** Sum of the lag of the partitions that have one. */
  readonly totalLag: number;
}

export function memberRows(group: GroupDescription): MemberRow[] {
  return group.members.map((m) => {
    let assignment: TopicAssignment[] = [];
    let assignmentError: string | null = null;
    if (group.protocolType === 'consumer') {
      try {
        assignment = (decodeConsumerAssignment(m.memberAssignment)?.topics ?? [])
          .map((t) => ({ topic: t.topic, partitions: [...t.partitions].sort((a, b) => a - b) }))
          .sort((a, b) => a.topic.localeCompare(b.topic));
      } catch (err) {
        assignmentError = (err as Error).message;
      }
    } else if (m.memberAssignment.length > 0) {
      assignmentError = `protocol type ${JSON.stringify(group.protocolType)}: not a consumer assignment`;
    }
    return { memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost, assignment, assignmentError };
  }).sort((a, b) => a.clientId.localeCompare(b.clientId) || a.memberId.localeCompare(b.memberId));
}

/** "t:0,1,2 u:3" */
export function assignmentText(assignment: readonly TopicAssignment[]): string {
  return assignment.length === 0 ? '-' : assignment.map((t) => `${t.topic}:${t.partitions.join(',')}`).join(' ');
}

export function describeText(report: GroupReport): string {
  const lines: string[] = [];
  const n = report.members.length;
  lines.push(`Group ${report.groupId}: state ${report.state}, protocol type ${report.protocolType || '-'}, protocol ${report.protocol || '-'}, ${n} member${n === 1 ? '' : 's'}, total lag ${report.totalLag}`);
  if (n > 0) {
    lines.push('');
    lines.push(formatTable(['MEMBER ID', 'CLIENT ID', 'HOST', 'ASSIGNMENT'], report.members.map((m) => [
      m.memberId, m.clientId, m.clientHost, m.assignmentError === null ? assignmentText(m.assignment) : `(unreadable: ${m.assignmentError})`,
    ])));
  }
  lines.push('');
  lines.push(report.offsets.length === 0 ? 'no committed offsets and no assigned partitions' : formatTable(
    ['TOPIC', 'PARTITION', 'COMMITTED', 'LOG END', 'LAG', 'CLIENT ID', 'MEMBER ID'],
    report.offsets.map((o) => [o.topic, o.partition, o.committed, o.logEnd, o.lag, o.clientId, o.memberId]),
  ));
  return lines.join('\n');
}

export function resetPlanText(groupId: string, topic: string, rows: readonly ResetPlanRow[], dryRun: boolean): string {
  const head = dryRun ? `Plan (dry run, nothing changed) for group ${groupId}, topic ${topic}:` : `Reset offsets of group ${groupId}, topic ${topic}:`;
  const table = formatTable(['PARTITION', 'CURRENT', 'NEW', 'NOTE'], rows.map((r) => [r.partition, r.current, r.target, r.note ?? '']));
  return `${head}\n${table}`;
}

/** Kafka errors that mean "ask FindCoordinator again": the group's coordinator moved or is loading. */
const COORDINATOR_MOVED = new Set(['NOT_COORDINATOR_FOR_GROUP', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']);

export function coordinatorMoved(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined; e !== undefined && e !== null; e = e.cause as typeof e) {
    if (typeof e.type === 'string' && COORDINATOR_MOVED.has(e.type)) return true;
  }
  return false;
}

/**
 * Runs a group command with an admin client. KafkaJS's admin looks a group's coordinator up once
 * per call and retries the same node, so a coordinator that moved (leader balancing moves
 * `__consumer_offsets` leaders) fails the call: the whole command runs again, with a fresh lookup,
 * until --timeout. Safe for every group command: a refused call changed nothing, a repeated reset
 * sets the same offsets, and each command prints only once it has its answer.
 */
async function withAdmin(command: string, options: ClientOptions, fn: (admin: Admin) => Promise<void>): Promise<void> {
  let admin: Admin | undefined;
  try {
    admin = createClient(options).admin();
    await admin.connect();
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
      try {
        await fn(admin);
        return;
      } catch (err) {
        if (!coordinatorMoved(err) || Date.now() >= deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  } catch (err) {
    reportFailure(command, err, (e) => describeGroupsError(e, options.bootstrap));
  } finally {
    await admin?.disconnect().catch(() => undefined);
  }
}

/** A client error in one line, naming the Kafka error where there is one. */
export function describeGroupsError(err: unknown, bootstrap: string): string {
  const text = describeClientError(err, bootstrap);
  const e = err as { name?: string; groups?: Array<{ groupId?: string; error?: { type?: string; message?: string } }> };
  if (e.name === 'KafkaJSDeleteGroupsError' && Array.isArray(e.groups)) {
    const parts = e.groups.map((g) => `${g.groupId ?? '?'}: ${g.error?.type ?? g.error?.message ?? 'failed'}`);
    if (parts.length > 0) return `${text}: ${parts.join(', ')}`;
  }
  return text;
}

async function describeOne(admin: Admin, groupId: string): Promise<GroupDescription> {
  const { groups } = await admin.describeGroups([groupId]);
  const group = groups.find((g) => g.groupId === groupId);
  if (group === undefined) throw new CliError(`the cluster did not describe group ${JSON.stringify(groupId)}`);
  const code = (group as { errorCode?: number }).errorCode;
  if (code !== undefined && code !== 0) throw new CliError(`describe group ${JSON.stringify(groupId)} failed: error code ${code}`);
  return group;
}

/** Log end and log start of every partition of a topic; null when they cannot be read now. */
async function topicOffsets(admin: Admin, topic: string): Promise<Map<number, { low: string; high: string }> | null> {
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, { low: o.low, high: o.high }]));
  } catch {
    return null;
  }
}

export async function groupReport(admin: Admin, groupId: string): Promise<GroupReport> {
  const group = await describeOne(admin, groupId);
  const members = memberRows(group);
  const owner = new Map<string, MemberRow>();
  for (const m of members) for (const t of m.assignment) for (const p of t.partitions) owner.set(`${t.topic}\u0000${p}`, m);
  // Committed offsets of every topic the group has committed (no topics = all of them), plus the
  // assigned topics (where nothing may be committed yet).
  const committed = new Map<string, string | null>();
  const topics = new Set<string>();
  for (const t of await admin.fetchOffsets({ groupId })) {
    topics.add(t.topic);
    for (const p of t.partitions) committed.set(`${t.topic}\u0000${p.partition}`, committedOrNull(p.offset));
  }
  for (const m of members) for (const t of m.assignment) topics.add(t.topic);
  if (group.state === 'Dead' && topics.size === 0) throw new CliError(`group ${JSON.stringify(groupId)} does not exist`);
  const rows: OffsetRow[] = [];
  for (const topic of [...topics].sort()) {
    const ends = await topicOffsets(admin, topic);
    const partitions = new Set<number>();
    for (const key of [...committed.keys(), ...owner.keys()]) {
      const [t, p] = key.split('\u0000');
      if (t === topic && p !== undefined) partitions.add(Number(p));
    }
    for (const partition of [...partitions].sort((a, b) => a - b)) {
      const key = `${topic}\u0000${partition}`;
      const c = committed.get(key) ?? null;
      const logEnd = ends?.get(partition)?.high ?? null;
      const m = owner.get(key);
      rows.push({ topic, partition, committed: c, logEnd, lag: lagOf(c, logEnd), memberId: m?.memberId ?? null, clientId: m?.clientId ?? null });
    }
  }
  return {
    groupId,
    state: group.state,
    protocolType: group.protocolType,
    protocol: group.protocol,
    members,
    offsets: rows,
    totalLag: rows.reduce((sum, r) => sum + (r.lag ?? 0), 0),
  };
}

/** A group can have its offsets reset or be deleted only with no members. */
function requireNoMembers(group: GroupDescription, rule: string): void {
  if (group.members.length > 0 || (group.state !== 'Empty' && group.state !== 'Dead')) {
    const n = group.members.length;
    throw new CliError(`group ${JSON.stringify(group.groupId)} is ${group.state} with ${n} member${n === 1 ? '' : 's'}: ${rule} (stop its consumers first)`);
  }
}

async function setOffsetsWithin(admin: Admin, groupId: string, topic: string, rows: readonly ResetPlanRow[]): Promise<void> {
  // KafkaJS commits by joining the group with a consumer that seeks and leaves; bound the wait.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new CliError(`committing the new offsets took longer than ${SET_OFFSETS_TIMEOUT_MS} ms`)), SET_OFFSETS_TIMEOUT_MS);
  });
  try {
    await Promise.race([admin.setOffsets({ groupId, topic, partitions: rows.map((r) => ({ partition: r.partition, offset: r.target })) }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface ResetCommandOptions extends ClientOptions, ResetOptions {
  readonly topic: string;
  readonly dryRun?: boolean;
}

export function registerGroupCommands(program: Command): void {
  const groups = program.command('groups').description('list, describe, reset the offsets of and delete consumer groups');

  addClientOptions(groups.command('list'))
    .description('consumer groups with their state, protocol type and member count')
    .action(async (opts: ClientOptions) => {
      await withAdmin('groups list', opts, async (admin) => {
        // ListGroups goes to every node (each lists the groups it coordinates): dedupe, then
        // DescribeGroups for the state and members.
        const ids = [...new Set((await admin.listGroups()).groups.map((g) => g.groupId))].sort();
        const described = ids.length === 0 ? [] : (await admin.describeGroups(ids)).groups;
        const rows = ids.map((id) => {
          const g = described.find((d) => d.groupId === id);
          return { groupId: id, state: g?.state ?? 'Unknown', protocolType: g?.protocolType ?? '', protocol: g?.protocol ?? '', members: g?.members.length ?? 0 };
        });
        if (opts.json) printJson(rows);
        else if (rows.length === 0) printLine('no groups');
        else printLine(formatTable(['GROUP', 'STATE', 'PROTOCOL TYPE', 'PROTOCOL', 'MEMBERS'], rows.map((r) => [r.groupId, r.state, r.protocolType || '-', r.protocol || '-', r.members])));
      });
    });

  addClientOptions(groups.command('describe').argument('<group>', 'group id'))
    .description('state, members and their partitions, committed offset, log end offset and lag per partition')
    .action(async (groupId: string, opts: ClientOptions) => {
      await withAdmin('groups describe', opts, async (admin) => {
        const report = await groupReport(admin, groupId);
        if (opts.json) printJson(report);
        else printLine(describeText(report));
      });
    });

  addClientOptions(groups.command('reset-offsets').argument('<group>', 'group id'))
    .description('move the committed offsets of an Empty group on one topic')
    .requiredOption('-t, --topic <topic>', 'topic whose offsets to reset (every partition)')
    .option('--to-earliest', 'to the log start offset')
    .option('--to-latest', 'to the log end offset (high watermark)')
    .option('--to-offset <n>', 'to this offset (clamped into the log)')
    .option('--to-datetime <iso>', 'to the first record at or after this time (ISO 8601; UTC without a zone)')
    .option('--dry-run', 'print the plan, change nothing')
    .action(async (groupId: string, opts: ResetCommandOptions) => {
      let target: ResetTarget;
      try {
        target = parseResetTarget(opts); // a usage error before any connection
      } catch (err) {
        reportFailure('groups reset-offsets', err);
        return;
      }
      await withAdmin('groups reset-offsets', opts, async (admin) => {
        if (!(await admin.listTopics()).includes(opts.topic)) throw new CliError(`unknown topic ${JSON.stringify(opts.topic)}`);
        requireNoMembers(await describeOne(admin, groupId), 'offsets can be reset only for an Empty group');
        const ends = await admin.fetchTopicOffsets(opts.topic);
        const byTime = target.kind === 'datetime'
          ? new Map((await admin.fetchTopicOffsetsByTimestamp(opts.topic, target.timestampMs)).map((o) => [o.partition, o.offset]))
          : new Map<number, string>();
        const committed = new Map<number, string | null>();
        for (const t of await admin.fetchOffsets({ groupId, topics: [opts.topic] })) {
          if (t.topic === opts.topic) for (const p of t.partitions) committed.set(p.partition, committedOrNull(p.offset));
        }
        const plan = planReset(target, ends.map((e) => ({ partition: e.partition, low: e.low, high: e.high, byTime: byTime.get(e.partition) })), committed);
        if (!opts.dryRun) {
          await setOffsetsWithin(admin, groupId, opts.topic, plan);
          // Read back what the coordinator now holds: the command reports only what took effect.
          const after = new Map<number, string | null>();
          for (const t of await admin.fetchOffsets({ groupId, topics: [opts.topic] })) {
            if (t.topic === opts.topic) for (const p of t.partitions) after.set(p.partition, committedOrNull(p.offset));
          }
          const wrong = plan.filter((r) => after.get(r.partition) !== r.target);
          if (wrong.length > 0) {
            throw new CliError(`the group's offsets did not take: ${wrong.map((r) => `partition ${r.partition} is ${after.get(r.partition) ?? 'none'}, not ${r.target}`).join('; ')}`);
          }
        }
        if (opts.json) printJson({ groupId, topic: opts.topic, dryRun: opts.dryRun === true, partitions: plan });
        else printLine(resetPlanText(groupId, opts.topic, plan, opts.dryRun === true));
      });
    });

  addClientOptions(groups.command('delete').argument('<group>', 'group id'))
    .description('delete an Empty group and its committed offsets')
    .action(async (groupId: string, opts: ClientOptions) => {
      await withAdmin('groups delete', opts, async (admin) => {
        const group = await describeOne(admin, groupId);
        requireNoMembers(group, 'only an Empty group can be deleted');
        if (group.state === 'Dead' && (await admin.fetchOffsets({ groupId })).length === 0) throw new CliError(`group ${JSON.stringify(groupId)} does not exist`);
        await admin.deleteGroups([groupId]);
        if (opts.json) printJson({ groupId, deleted: true });
        else printLine(`deleted group ${groupId}`);
      });
    });
}
