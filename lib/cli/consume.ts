/**
 * `flotilla consume --topic T [--partition P] [--from-beginning] [--group G]`: prints each record's
 * value (or JSON with --json) through KafkaJS's consumer. KafkaJS consumes only as a member of a
 * consumer group, so this needs the group APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
 * OffsetCommit/Fetch); until the cluster has them it fails with a message saying which API is
 * missing. Without --group a fresh group id is made up, so it starts at the end (or the beginning
 * with --from-beginning). --partition filters the records of one partition; with --offset it seeks
 * there.
 */
import type { Command } from 'commander';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { addClientOptions, createClient, describeClientError, type ClientOptions } from './client.js';
import { CliError, ExitCode, intOption, reportFailure } from './output.js';

interface ConsumeOptions extends ClientOptions {
  topic: string;
  partition?: number;
  offset?: number;
  fromBeginning?: boolean;
  group?: string;
  maxMessages?: number;
  printKey?: boolean;
}

/** One record as --json prints it. */
export function recordJson(topic: string, partition: number, m: KafkaMessage): Record<string, unknown> {
  return {
    topic,
    partition,
    offset: m.offset,
    timestamp: m.timestamp,
    key: m.key === null || m.key === undefined ? null : m.key.toString('utf8'),
    value: m.value === null ? null : m.value.toString('utf8'),
    headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : v === undefined ? null : String(v)])),
  };
}

/** A client error in one line, with a hint when the cluster has no consumer groups (yet). */
export function describeConsumeError(err: unknown, bootstrap: string): string {
  const text = describeClientError(err, bootstrap);
  const noGroups = /group coordinator|COORDINATOR_NOT_AVAILABLE|does not support (FindCoordinator|JoinGroup|SyncGroup|Heartbeat|OffsetCommit|OffsetFetch)/i.test(text);
  return noGroups ? `${text} (KafkaJS consumes as a consumer group member: the cluster must serve the group APIs)` : text;
}

export function registerConsume(program: Command): void {
  addClientOptions(program.command('consume'))
    .description('print the records of a topic (as a consumer group member, through KafkaJS)')
    .requiredOption('-t, --topic <topic>', 'topic to read')
    .option('-P, --partition <n>', 'only this partition', intOption('--partition', 0, 1_000_000))
    .option('-o, --offset <n>', 'with --partition: start at this offset', intOption('--offset', 0, Number.MAX_SAFE_INTEGER))
    .option('--from-beginning', 'start at the beginning when the group has no committed offset')
    .option('-g, --group <group>', 'consumer group id (default: a new one)')
    .option('-m, --max-messages <n>', 'exit after this many records', intOption('--max-messages', 1, Number.MAX_SAFE_INTEGER))
    .option('--print-key', 'print KEY<tab>VALUE')
    .action(async (opts: ConsumeOptions) => {
      let consumer: Consumer | undefined;
      const done = async (code: number) => {
        await consumer?.disconnect().catch(() => undefined);
        process.exit(code);
      };
      try {
        if (opts.offset !== undefined && opts.partition === undefined) throw new CliError('--offset needs --partition', ExitCode.usage);
        const groupId = opts.group ?? `flotilla-cli-${process.pid}-${Date.now()}`;
        consumer = createClient(opts).consumer({
          groupId,
          allowAutoTopicCreation: false,
          retry: { retries: 3, restartOnFailure: () => Promise.resolve(false) },
        });
        const c = consumer;
        c.on(c.events.CRASH, (event) => {
          reportFailure('consume', event.payload.error, (e) => describeConsumeError(e, opts.bootstrap));
          void done(ExitCode.failed);
        });
        process.on('SIGINT', () => void done(ExitCode.ok));
        process.on('SIGTERM', () => void done(ExitCode.ok));
        await c.connect();
        await c.subscribe({ topics: [opts.topic], fromBeginning: opts.fromBeginning === true });
        let count = 0;
        await c.run({
          eachMessage: async ({ topic, partition, message }) => {
            if (opts.partition !== undefined && partition !== opts.partition) return;
            if (opts.maxMessages !== undefined && count >= opts.maxMessages) return;
            count++;
            if (opts.json) {
              process.stdout.write(`${JSON.stringify(recordJson(topic, partition, message))}\n`);
            } else {
              const value = message.value === null ? '' : message.value.toString('utf8');
              const key = message.key === null || message.key === undefined ? '' : message.key.toString('utf8');
              process.stdout.write(opts.printKey ? `${key}\t${value}\n` : `${value}\n`);
            }
            if (opts.maxMessages !== undefined && count >= opts.maxMessages) setImmediate(() => void done(ExitCode.ok));
          },
        });
        if (opts.partition !== undefined && opts.offset !== undefined) {
          c.seek({ topic: opts.topic, partition: opts.partition, offset: String(opts.offset) });
        }
      } catch (err) {
        reportFailure('consume', err, (e) => describeConsumeError(e, opts.bootstrap));
        await done(typeof process.exitCode === 'number' ? process.exitCode : ExitCode.failed);
      }
    });
}
