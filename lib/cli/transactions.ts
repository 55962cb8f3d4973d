/**
 * Idempotent producers and transactions of a running cluster:
 *   flotilla producers [--topic T]                 producers known to each partition leader: id,
 *                                                  epoch, last sequence and offset, open transaction
 *   flotilla transactions list [--state S]         every transactional id, from its coordinator
 *   flotilla transactions describe ID              one id: producer, epoch, state, partitions, age
 *   flotilla transactions abort ID                 fences the id's producer and aborts its open
 *                                                  transaction, as a new instance of it would
 * Producers and transaction state are read from each node's /status (as `cluster status` does:
 * KafkaJS has no DescribeProducers / ListTransactions); `abort` speaks the Kafka protocol: it is
 * an InitProducerId for the id (through KafkaJS's transactional producer), which makes the
 * coordinator bump the epoch (the old producer is fenced everywhere) and abort with markers the
 * transaction left open, before it answers.
 */
import type { Command } from 'commander';
import { metricsPortOffset } from '../app/config.js';
import { fetchStatus, withAdmin } from './admin.js';
import { addClientOptions, createClient, describeClientError, type ClientOptions } from './client.js';
import { CliError, formatTable, intOption, printJson, printLine, reportFailure } from './output.js';

interface TxnRow {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly state: string;
  readonly timeoutMs: number;
  readonly txn: number;
  readonly startMs: number;
  readonly updateMs: number;
  readonly partitions: readonly { topic: string; partition: number }[];
  readonly offsetsPartitions: readonly number[];
  readonly statePartition: number;
  readonly coordinatorEpoch: number;
  readonly coordinator: number;
}

interface ProducerRow {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number;
  readonly producerId: number;
  readonly epoch: number;
  readonly lastSequence: number;
  readonly lastOffset: number;
  readonly txnFirstOffset: number;
}

type StatusOptions = ClientOptions & { metricsPortOffset: number };

/** Every node's /status (the cluster's brokers through KafkaJS's admin). */
async function statuses(opts: StatusOptions): Promise<{ nodeId: number; status: Record<string, unknown> }[]> {
  let out: { nodeId: number; status: Record<string, unknown> }[] = [];
  await withAdmin('status', opts, async (admin) => {
    const cl = await admin.describeCluster();
    const all = await Promise.all(cl.brokers.map((b) => fetchStatus(b.nodeId, b.host, b.port + opts.metricsPortOffset, Math.min(opts.timeoutMs, 2000))));
    out = all.flatMap((s) => (s.status !== undefined && typeof s.status === 'object' ? [{ nodeId: s.nodeId, status: s.status as Record<string, unknown> }] : []));
  });
  return out;
}

async function transactionRows(opts: StatusOptions): Promise<TxnRow[]> {
  const rows: TxnRow[] = [];
  for (const { nodeId, status } of await statuses(opts)) {
    for (const t of (status['transactions'] as Omit<TxnRow, 'coordinator'>[] | undefined) ?? []) rows.push({ ...t, coordinator: nodeId });
  }
  return rows.sort((a, b) => a.transactionalId.localeCompare(b.transactionalId));
}

function age(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

const metricsOption = (cmd: Command): Command =>
  cmd.option('--metrics-port-offset <n>', 'each node\'s metrics port is its client port plus this', intOption('--metrics-port-offset', 0, 65535), metricsPortOffset);

export function registerTransactionCommands(program: Command): void {
  metricsOption(addClientOptions(program.command('producers')))
    .description('idempotent and transactional producers known to each partition leader')
    .option('--topic <name>', 'only this topic')
    .action(async (opts: StatusOptions & { topic?: string }) => {
      const rows: ProducerRow[] = [];
      for (const { nodeId, status } of await statuses(opts)) {
        for (const p of (status['producers'] as { topic: string; partition: number; producers: Omit<ProducerRow, 'topic' | 'partition' | 'leader'>[] }[] | undefined) ?? []) {
          if (opts.topic !== undefined && p.topic !== opts.topic) continue;
          for (const e of p.producers) rows.push({ topic: p.topic, partition: p.partition, leader: nodeId, ...e });
        }
      }
      rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.producerId - b.producerId);
      if (opts.json) return printJson({ producers: rows });
      printLine(rows.length === 0 ? 'no producers' : formatTable(
        ['TOPIC', 'PARTITION', 'LEADER', 'PRODUCER ID', 'EPOCH', 'LAST SEQUENCE', 'LAST OFFSET', 'OPEN TRANSACTION FROM'],
        rows.map((r) => [r.topic, r.partition, r.leader, r.producerId, r.epoch, r.lastSequence, r.lastOffset, r.txnFirstOffset < 0 ? '-' : r.txnFirstOffset]),
      ));
    });

  const txns = program.command('transactions').description('transactional ids and their transactions');
  metricsOption(addClientOptions(txns.command('list')))
    .description('every transactional id, with its coordinator, producer, state and open partitions')
    .option('--state <state>', 'only this state (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort)')
    .action(async (opts: StatusOptions & { state?: string }) => {
      const rows = (await transactionRows(opts)).filter((r) => opts.state === undefined || r.state.toLowerCase() === opts.state.toLowerCase());
      if (opts.json) return printJson({ transactions: rows });
      printLine(rows.length === 0 ? 'no transactional ids' : formatTable(
        ['TRANSACTIONAL ID', 'COORDINATOR', 'PRODUCER ID', 'EPOCH', 'STATE', 'TRANSACTION', 'PARTITIONS', 'AGE'],
        rows.map((r) => [r.transactionalId, r.coordinator, r.producerId, r.producerEpoch, r.state, r.txn, r.partitions.length + r.offsetsPartitions.length, r.state === 'Ongoing' ? age(r.startMs) : '-']),
      ));
    });

  metricsOption(addClientOptions(txns.command('describe').argument('<transactional-id>')))
    .description('one transactional id: producer, epoch, state, timeout, the partitions of its transaction')
    .action(async (id: string, opts: StatusOptions) => {
      try {
        const row = (await transactionRows(opts)).find((r) => r.transactionalId === id);
        if (row === undefined) throw new CliError(`no transactional id ${JSON.stringify(id)} (or its coordinator is unreachable)`);
        if (opts.json) return printJson(row);
        printLine(`Transactional id ${row.transactionalId}: ${row.state}, transaction ${row.txn}, producer ${row.producerId} epoch ${row.producerEpoch}`);
        printLine(`Coordinator: node ${row.coordinator} (transaction-state partition ${row.statePartition}, coordinator epoch ${row.coordinatorEpoch}); timeout ${row.timeoutMs} ms; ${row.state === 'Ongoing' ? `open for ${age(row.startMs)}` : `last change ${age(row.updateMs)} ago`}`);
        const parts = [...row.partitions.map((p) => [p.topic, p.partition]), ...row.offsetsPartitions.map((p) => ['__consumer_offsets', p])];
        printLine(parts.length === 0 ? 'no partitions' : formatTable(['TOPIC', 'PARTITION'], parts));
      } catch (err) {
        reportFailure('transactions describe', err, (e) => describeClientError(e, opts.bootstrap));
      }
    });

  addClientOptions(txns.command('abort').argument('<transactional-id>'))
    .description('fence the id\'s producer (a new epoch) and abort the transaction it left open')
    .action(async (id: string, opts: ClientOptions) => {
      const producer = createClient(opts).producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1 });
      try {
        await producer.connect();
        // The transactional InitProducerId: it returns once the open transaction is aborted.
        const t = await producer.transaction();
        await t.abort().catch(() => undefined);
        if (opts.json) printJson({ transactionalId: id, aborted: true });
        else printLine(`transactional id ${id}: its producer is fenced and no transaction of it is open`);
      } catch (err) {
        reportFailure('transactions abort', err, (e) => describeClientError(e, opts.bootstrap));
      } finally {
        await producer.disconnect().catch(() => undefined);
      }
    });
}
