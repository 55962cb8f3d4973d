/**
 * `flotilla produce --topic T [--key K | --key-separator S] [--partition P] [--acks all|1|0]`:
 * each line of stdin becomes one record (KafkaJS producer); prints the partition and offset of each
 * acknowledged record (acks=0: nothing is acknowledged, only the count sent).
 *
 * Lines are sent in batches of up to --batch-records records, one batch in flight at a time, so
 * records keep their order. Reading stdin pauses while --batch-records * 4 lines wait (the bound).
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { Partitioners, type Message, type Producer, type RecordMetadata } from 'kafkajs';
import { addClientOptions, createClient, describeClientError, type ClientOptions } from './client.js';
import { CliError, ExitCode, intOption, printJson, printLine, reportFailure } from './output.js';

interface ProduceOptions extends ClientOptions {
  topic: string;
  key?: string;
  keySeparator?: string;
  partition?: number;
  acks: string;
  batchRecords: number;
  quiet?: boolean;
}

export function parseAcks(text: string): -1 | 0 | 1 {
  switch (text) {
    case 'all':
    case '-1':
      return -1;
    case '1':
      return 1;
    case '0':
      return 0;
    default:
      throw new CliError(`invalid --acks ${JSON.stringify(text)}: all, 1 or 0`, ExitCode.usage);
  }
}

/** One acknowledged record. */
export interface Ack {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/**
 * The offset of each message from the per-partition base offsets: the messages of one partition
 * are written in the order sent, so the i-th message of partition p has offset base(p) + i.
 */
export function acksOf(topic: string, messages: readonly Message[], partitionOf: (m: Message) => number | undefined, results: readonly RecordMetadata[]): Ack[] {
  const next = new Map<number, bigint>();
  for (const r of results) {
    const base = r.baseOffset ?? r.offset;
    if (base !== undefined && r.errorCode === 0) next.set(r.partition, BigInt(base));
  }
  const acks: Ack[] = [];
  for (const m of messages) {
    const p = partitionOf(m);
    if (p === undefined) continue;
    const offset = next.get(p);
    if (offset === undefined) continue;
    acks.push({ topic, partition: p, offset: offset.toString() });
    next.set(p, offset + 1n);
  }
  return acks;
}

export function toMessage(line: string, opts: { key?: string; keySeparator?: string; partition?: number }): Message {
  let key: string | null = opts.key ?? null;
  let value = line;
  if (opts.keySeparator !== undefined && opts.keySeparator !== '') {
    const at = line.indexOf(opts.keySeparator);
    if (at >= 0) {
      key = line.slice(0, at);
      value = line.slice(at + opts.keySeparator.length);
    }
  }
  return opts.partition === undefined ? { key, value } : { key, value, partition: opts.partition };
}

export function registerProduce(program: Command): void {
  addClientOptions(program.command('produce'))
    .description('send each line of stdin as a record')
    .requiredOption('-t, --topic <topic>', 'topic to write to')
    .option('-k, --key <key>', 'key of every record')
    .option('-K, --key-separator <sep>', 'each line is KEY<sep>VALUE')
    .option('-P, --partition <n>', 'write every record to this partition', intOption('--partition', 0, 1_000_000))
    .option('-a, --acks <acks>', 'all, 1 or 0', 'all')
    .option('--batch-records <n>', 'records per request at most', intOption('--batch-records', 1, 100_000), 500)
    .option('-q, --quiet', 'print only a summary at the end')
    .action(async (opts: ProduceOptions) => {
      let producer: Producer | undefined;
      try {
        const acks = parseAcks(opts.acks);
        const partitions = new WeakMap<Message, number>();
        const kafka = createClient(opts);
        producer = kafka.producer({
          // The default partitioner, wrapped to learn each message's partition (for its offset).
          createPartitioner: () => {
            const inner = Partitioners.DefaultPartitioner();
            return (args) => {
              const p = inner(args);
              partitions.set(args.message, p);
              return p;
            };
          },
          allowAutoTopicCreation: true,
          maxInFlightRequests: 1,
        });
        await producer.connect();
        const p = producer;
        const sent = await produceLines(opts, async (messages) => {
          for (const m of messages) if (m.partition !== undefined) partitions.set(m, m.partition);
          const results = await p.send({ topic: opts.topic, messages, acks, timeout: opts.timeoutMs });
          if (acks === 0) return;
          const list = acksOf(opts.topic, messages, (m) => partitions.get(m), results);
          if (opts.quiet) return;
          for (const a of list) {
            if (opts.json) process.stdout.write(`${JSON.stringify(a)}\n`);
            else printLine(`${a.topic}-${a.partition}@${a.offset}`);
          }
        });
        if (opts.json && opts.quiet) printJson({ topic: opts.topic, records: sent, acks: opts.acks });
        else if (!opts.json) process.stderr.write(`sent ${sent} record${sent === 1 ? '' : 's'} to ${opts.topic}${acks === 0 ? ' (acks=0: not acknowledged)' : ''}\n`);
      } catch (err) {
        reportFailure('produce', err, (e) => describeClientError(e, opts.bootstrap));
      } finally {
        await producer?.disconnect().catch(() => undefined);
      }
    });
}

/** Reads stdin lines into bounded batches and sends them one at a time; returns the count sent. */
async function produceLines(opts: ProduceOptions, send: (messages: Message[]) => Promise<void>): Promise<number> {
  const queueMax = opts.batchRecords * 4;
  const queue: Message[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let paused = false;
  rl.on('line', (line) => {
    queue.push(toMessage(line, opts));
    // pause() stops reading; lines already read from the current chunk still arrive, so the queue
    // can pass queueMax by at most one chunk's lines.
    if (queue.length >= queueMax && !paused) {
      paused = true;
      rl.pause();
    }
    wake?.();
  });
  rl.on('close', () => {
    ended = true;
    wake?.();
  });
  let sent = 0;
  for (;;) {
    if (queue.length === 0) {
      if (ended) break;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = null;
      continue;
    }
    const batch = queue.splice(0, opts.batchRecords);
    if (paused && queue.length < queueMax / 2) {
      paused = false;
      rl.resume();
    }
    await send(batch);
    sent += batch.length;
  }
  return sent;
}
