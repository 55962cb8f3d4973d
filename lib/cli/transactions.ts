/**
 * Idempotent producers and transactions of a running cluster, through Kafka's own admin APIs
 * (what `kafka-transactions` sends; KafkaJS lacks them, so they go out with Flotilla's codecs,
 * one-request.ts, to the broker each must reach):
 *   flotilla producers [--topic T]                 DescribeProducers to each partition leader: id,
 *                                                  epoch, last sequence and timestamp, coordinator
 *                                                  epoch, first offset of its open transaction
 *   flotilla transactions list [--state S]         ListTransactions to every node (each lists the
 *                                                  ids it coordinates), then DescribeTransactions
 *                                                  to that node for their epoch, timeout, partitions
 *   flotilla transactions describe ID              FindCoordinator (transaction) + DescribeTransactions
 *   flotilla transactions abort ID                 fences the id's producer and aborts its open
 *                                                  transaction, as a new instance of it would
 *   flotilla transactions abort-partition --topic T --partition P --producer-id N
 *            [--producer-epoch E --coordinator-epoch C]
 *                                                  WriteTxnMarkers (ABORT) to the partition's leader:
 *                                                  ends a hanging transaction there, as
 *                                                  `kafka-transactions abort` does; the epochs are
 *                                                  read with DescribeProducers when not given
 * `abort` is an InitProducerId for the id (through KafkaJS's transactional producer), which makes
 * the coordinator bump the epoch (the old producer is fenced everywhere) and abort with markers the
 * transaction it left open, before it answers. `abort-partition` is the last resort for a
 * transaction whose coordinator lost track of it: it writes the ABORT marker on one partition only,
 * and the coordinator knows nothing of it.
 */
import type { Command } from 'commander';
import type { Admin } from 'kafkajs';
import { describeProducersApi } from '../kafka/describe-producers.js';
import { describeTransactionsApi, type DescribeTransactionsResponse } from '../kafka/describe-transactions.js';
import { errorName } from '../kafka/errors.js';
import { findCoordinatorApi } from '../kafka/find-coordinator.js';
import { listTransactionsApi } from '../kafka/list-transactions.js';
import { writeTxnMarkersApi } from '../kafka/write-txn-markers.js';
import { kafkaTxnStates } from '../txn/records.js';
import { withAdmin } from './admin.js';
import { addClientOptions, createClient, describeClientError, type ClientOptions } from './client.js';
import { oneRequest } from './one-request.js';
import { CliError, ExitCode, formatTable, intOption, printJson, printLine, reportFailure } from './output.js';

const OFFSETS_TOPIC = '__consumer_offsets';

interface TxnRow {
  readonly transactionalId: string;
  readonly coordinator: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly state: string;
  readonly timeoutMs: number;
  /** -1 before its first transaction. */
  readonly startMs: number;
  readonly partitions: readonly { topic: string; partition: number }[];
  readonly offsetsPartitions: readonly number[];
}

interface ProducerRow {
  readonly topic: string;
  readonly partition: number;
  readonly leader: number;
  readonly producerId: number;
  readonly epoch: number;
  readonly lastSequence: number;
  readonly lastTimestamp: number;
  readonly coordinatorEpoch: number;
  readonly txnFirstOffset: number;
}

interface Node {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
}

function kafkaError(code: number, message?: string | null): string {
  return `${errorName(code) ?? `error ${code}`}${message === null || message === undefined ? '' : `: ${message}`}`;
}

function age(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

/** Kafka's state name for what the user typed (any case); a usage error for an unknown one. */
function stateName(text: string): string {
  const found = kafkaTxnStates.find((s) => s.toLowerCase() === text.toLowerCase());
  if (found === undefined) throw new CliError(`unknown --state ${JSON.stringify(text)}: one of ${kafkaTxnStates.join(', ')}`, ExitCode.usage);
  return found;
}

/** A DescribeTransactions answer as rows (failed ids are left out, with their errors). */
function txnRows(node: number, res: DescribeTransactionsResponse): { rows: TxnRow[]; errors: { transactionalId: string; error: string }[] } {
  const rows: TxnRow[] = [];
  const errors: { transactionalId: string; error: string }[] = [];
  for (const t of res.transactionStates) {
    if (t.errorCode !== 0) {
      errors.push({ transactionalId: t.transactionalId, error: kafkaError(t.errorCode) });
      continue;
    }
    rows.push({
      transactionalId: t.transactionalId, coordinator: node, producerId: t.producerId, producerEpoch: t.producerEpoch, state: t.transactionState,
      timeoutMs: t.transactionTimeoutMs, startMs: t.transactionStartTimeMs,
      partitions: t.topics.filter((x) => x.topic !== OFFSETS_TOPIC).flatMap((x) => x.partitions.map((partition) => ({ topic: x.topic, partition }))),
      offsetsPartitions: t.topics.filter((x) => x.topic === OFFSETS_TOPIC).flatMap((x) => x.partitions),
    });
  }
  return { rows, errors };
}

const address = (n: Node): string => `${n.host}:${n.port}`;

/** ListTransactions on every node, then DescribeTransactions on each for the ids it listed. */
async function listAll(admin: Admin, opts: ClientOptions, states: string[]): Promise<{ rows: TxnRow[]; errors: string[] }> {
  const cl = await admin.describeCluster();
  const rows: TxnRow[] = [];
  const errors: string[] = [];
  await Promise.all(cl.brokers.map(async (b) => {
    try {
      const listed = await oneRequest({ ...opts, bootstrap: address(b) }, listTransactionsApi, 1, { stateFilters: states, producerIdFilters: [], durationFilter: -1, transactionalIdPattern: null }, opts.timeoutMs);
      if (listed.errorCode !== 0) throw new CliError(kafkaError(listed.errorCode));
      const ids = listed.transactionStates.map((t) => t.transactionalId);
      if (ids.length === 0) return;
      const described = txnRows(b.nodeId, await oneRequest({ ...opts, bootstrap: address(b) }, describeTransactionsApi, 0, { transactionalIds: ids }, opts.timeoutMs));
      rows.push(...described.rows);
      // An id that moved between the two requests is listed by its new coordinator instead.
      errors.push(...described.errors.filter((e) => !/NOT_COORDINATOR/.test(e.error)).map((e) => `node ${b.nodeId}: ${e.transactionalId}: ${e.error}`));
    } catch (err) {
      errors.push(`node ${b.nodeId}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }));
  return { rows: rows.sort((a, b) => a.transactionalId.localeCompare(b.transactionalId)), errors };
}

/** The coordinator of `id` (FindCoordinator, key type 1) and its DescribeTransactions answer; retried while the coordinator moves. */
async function describeOne(opts: ClientOptions, id: string): Promise<TxnRow> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const found = await oneRequest(opts, findCoordinatorApi, 3, { key: id, keyType: 1, coordinatorKeys: [] }, opts.timeoutMs);
    let failure: string;
    if (found.errorCode === 0) {
      const res = await oneRequest({ ...opts, bootstrap: `${found.host}:${found.port}` }, describeTransactionsApi, 0, { transactionalIds: [id] }, opts.timeoutMs);
      const t = res.transactionStates[0];
      if (t === undefined) throw new CliError('DescribeTransactions answered no id');
      if (t.errorCode === 0) return txnRows(found.nodeId, res).rows[0]!;
      if (errorName(t.errorCode) === 'TRANSACTIONAL_ID_NOT_FOUND') throw new CliError(`no transactional id ${JSON.stringify(id)}`);
      failure = kafkaError(t.errorCode);
      if (!['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS'].includes(errorName(t.errorCode) ?? '')) throw new CliError(failure);
    } else {
      failure = kafkaError(found.errorCode, found.errorMessage);
      if (!['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS'].includes(errorName(found.errorCode) ?? '')) throw new CliError(failure);
    }
    if (Date.now() > deadline) throw new CliError(`the coordinator of ${JSON.stringify(id)} did not answer in ${opts.timeoutMs} ms (${failure})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** DescribeProducers on each partition's leader (metadata through KafkaJS). */
async function producerRows(admin: Admin, opts: ClientOptions, topic: string | undefined): Promise<{ rows: ProducerRow[]; errors: string[] }> {
  const names = await admin.listTopics();
  if (topic !== undefined && !names.includes(topic)) throw new CliError(`unknown topic ${JSON.stringify(topic)}`);
  const wanted = topic !== undefined ? [topic] : names.filter((n) => !n.startsWith('__'));
  if (wanted.length === 0) return { rows: [], errors: [] };
  const [{ topics }, cl] = await Promise.all([admin.fetchTopicMetadata({ topics: wanted }), admin.describeCluster()]);
  const nodes = new Map(cl.brokers.map((b) => [b.nodeId, b]));
  const byLeader = new Map<number, Map<string, number[]>>();
  const errors: string[] = [];
  for (const t of topics) {
    for (const p of t.partitions) {
      if (!nodes.has(p.leader)) {
        errors.push(`${t.name}-${p.partitionId}: no leader`);
        continue;
      }
      const m = byLeader.get(p.leader) ?? new Map<string, number[]>();
      m.set(t.name, [...(m.get(t.name) ?? []), p.partitionId]);
      byLeader.set(p.leader, m);
    }
  }
  const rows: ProducerRow[] = [];
  await Promise.all([...byLeader].map(async ([leader, parts]) => {
    try {
      const res = await oneRequest({ ...opts, bootstrap: address(nodes.get(leader)!) }, describeProducersApi, 0, {
        topics: [...parts].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
      }, opts.timeoutMs);
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== 0) {
            errors.push(`${t.name}-${p.partitionIndex} on node ${leader}: ${kafkaError(p.errorCode, p.errorMessage)}`);
            continue;
          }
          for (const a of p.activeProducers) {
            rows.push({
              topic: t.name, partition: p.partitionIndex, leader, producerId: a.producerId, epoch: a.producerEpoch, lastSequence: a.lastSequence,
              lastTimestamp: a.lastTimestamp, coordinatorEpoch: a.coordinatorEpoch, txnFirstOffset: a.currentTxnStartOffset,
            });
          }
        }
      }
    } catch (err) {
      errors.push(`node ${leader}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }));
  rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.producerId - b.producerId);
  return { rows, errors };
}

interface AbortPartitionOptions extends ClientOptions {
  readonly topic: string;
  readonly partition: number;
  readonly producerId: number;
  readonly producerEpoch?: number;
  readonly coordinatorEpoch?: number;
}

/** WriteTxnMarkers (ABORT) for one producer on one partition, at its leader; epochs from DescribeProducers unless given. */
async function abortPartition(admin: Admin, opts: AbortPartitionOptions): Promise<{ producerEpoch: number; coordinatorEpoch: number; leader: number }> {
  if ((opts.producerEpoch === undefined) !== (opts.coordinatorEpoch === undefined)) {
    throw new CliError('give both --producer-epoch and --coordinator-epoch, or neither (then they are read from the partition leader)', ExitCode.usage);
  }
  if (!(await admin.listTopics()).includes(opts.topic)) throw new CliError(`unknown topic ${JSON.stringify(opts.topic)}`);
  const [{ topics }, cl] = await Promise.all([admin.fetchTopicMetadata({ topics: [opts.topic] }), admin.describeCluster()]);
  const leader = topics[0]?.partitions.find((p) => p.partitionId === opts.partition)?.leader;
  if (leader === undefined) throw new CliError(`unknown partition ${opts.topic}-${opts.partition}`);
  const node = cl.brokers.find((b) => b.nodeId === leader);
  if (node === undefined) throw new CliError(`${opts.topic}-${opts.partition} has no leader right now`);
  let producerEpoch = opts.producerEpoch;
  let coordinatorEpoch = opts.coordinatorEpoch;
  if (producerEpoch === undefined || coordinatorEpoch === undefined) {
    const res = await oneRequest({ ...opts, bootstrap: address(node) }, describeProducersApi, 0, { topics: [{ name: opts.topic, partitionIndexes: [opts.partition] }] }, opts.timeoutMs);
    const p = res.topics[0]?.partitions[0];
    if (p === undefined || p.errorCode !== 0) throw new CliError(`describe producers of ${opts.topic}-${opts.partition}: ${p === undefined ? 'no answer' : kafkaError(p.errorCode, p.errorMessage)}`);
    const state = p.activeProducers.find((a) => a.producerId === opts.producerId);
    if (state === undefined) throw new CliError(`producer ${opts.producerId} is not active on ${opts.topic}-${opts.partition}`);
    if (state.currentTxnStartOffset < 0) throw new CliError(`producer ${opts.producerId} has no open transaction on ${opts.topic}-${opts.partition}`);
    producerEpoch = state.producerEpoch;
    coordinatorEpoch = Math.max(0, state.coordinatorEpoch);
  }
  const res = await oneRequest({ ...opts, bootstrap: address(node) }, writeTxnMarkersApi, 1, {
    markers: [{ producerId: opts.producerId, producerEpoch, transactionResult: false, coordinatorEpoch, topics: [{ name: opts.topic, partitionIndexes: [opts.partition] }] }],
  }, opts.timeoutMs);
  const code = res.markers[0]?.topics[0]?.partitions[0]?.errorCode;
  if (code === undefined) throw new CliError('WriteTxnMarkers answered no partition');
  if (code !== 0) throw new CliError(`abort on ${opts.topic}-${opts.partition} refused: ${kafkaError(code)}`);
  return { producerEpoch, coordinatorEpoch, leader };
}

function warn(errors: readonly string[]): void {
  for (const e of errors) process.stderr.write(`warning: ${e}\n`);
}

export function registerTransactionCommands(program: Command): void {
  addClientOptions(program.command('producers'))
    .description('idempotent and transactional producers known to each partition leader (DescribeProducers)')
    .option('--topic <name>', 'only this topic')
    .action(async (opts: ClientOptions & { topic?: string }) => {
      await withAdmin('producers', opts, async (admin) => {
        const { rows, errors } = await producerRows(admin, opts, opts.topic);
        if (opts.json) return printJson({ producers: rows, errors });
        warn(errors);
        printLine(rows.length === 0 ? 'no producers' : formatTable(
          ['TOPIC', 'PARTITION', 'LEADER', 'PRODUCER ID', 'EPOCH', 'LAST SEQUENCE', 'LAST TIMESTAMP', 'COORDINATOR EPOCH', 'OPEN TRANSACTION FROM'],
          rows.map((r) => [
            r.topic, r.partition, r.leader, r.producerId, r.epoch, r.lastSequence, r.lastTimestamp < 0 ? '-' : new Date(r.lastTimestamp).toISOString(),
            r.coordinatorEpoch < 0 ? '-' : r.coordinatorEpoch, r.txnFirstOffset < 0 ? '-' : r.txnFirstOffset,
          ]),
        ));
      });
    });

  const txns = program.command('transactions').description('transactional ids and their transactions');
  addClientOptions(txns.command('list'))
    .description('every transactional id, with its coordinator, producer, state and open partitions (ListTransactions, DescribeTransactions)')
    .option('--state <state>', `only this state (${kafkaTxnStates.join(', ')})`)
    .action(async (opts: ClientOptions & { state?: string }) => {
      await withAdmin('transactions list', opts, async (admin) => {
        const { rows, errors } = await listAll(admin, opts, opts.state === undefined ? [] : [stateName(opts.state)]);
        if (opts.json) return printJson({ transactions: rows, errors });
        warn(errors);
        printLine(rows.length === 0 ? 'no transactional ids' : formatTable(
          ['TRANSACTIONAL ID', 'COORDINATOR', 'PRODUCER ID', 'EPOCH', 'STATE', 'TIMEOUT MS', 'PARTITIONS', 'AGE'],
          rows.map((r) => [r.transactionalId, r.coordinator, r.producerId, r.producerEpoch, r.state, r.timeoutMs, r.partitions.length + r.offsetsPartitions.length, r.state === 'Ongoing' && r.startMs >= 0 ? age(r.startMs) : '-']),
        ));
      });
    });

  addClientOptions(txns.command('describe').argument('<transactional-id>'))
    .description('one transactional id: producer, epoch, state, timeout, the partitions of its open transaction (DescribeTransactions at its coordinator)')
    .action(async (id: string, opts: ClientOptions) => {
      try {
        const row = await describeOne(opts, id);
        if (opts.json) return printJson(row);
        printLine(`Transactional id ${row.transactionalId}: ${row.state}, producer ${row.producerId} epoch ${row.producerEpoch}`);
        printLine(`Coordinator: node ${row.coordinator}; timeout ${row.timeoutMs} ms${row.state === 'Ongoing' && row.startMs >= 0 ? `; open for ${age(row.startMs)}` : ''}`);
        const parts = [...row.partitions.map((p) => [p.topic, p.partition]), ...row.offsetsPartitions.map((p) => [OFFSETS_TOPIC, p])];
        printLine(parts.length === 0 ? 'no open partitions' : formatTable(['TOPIC', 'PARTITION'], parts));
      } catch (err) {
        reportFailure('transactions describe', err, (e) => describeClientError(e, opts.bootstrap));
      }
    });

  addClientOptions(txns.command('abort-partition'))
    .description('write an ABORT marker for a producer\'s hanging transaction on one partition (WriteTxnMarkers, as kafka-transactions abort)')
    .requiredOption('--topic <name>', 'the topic')
    .requiredOption('--partition <n>', 'the partition', intOption('--partition', 0, 2 ** 31 - 1))
    .requiredOption('--producer-id <id>', 'the producer whose transaction to abort', intOption('--producer-id', 0, Number.MAX_SAFE_INTEGER))
    .option('--producer-epoch <e>', 'its epoch (default: as the partition leader knows it)', intOption('--producer-epoch', 0, 32_767))
    .option('--coordinator-epoch <e>', 'the coordinator epoch to write (default: as the partition leader knows it)', intOption('--coordinator-epoch', 0, 2 ** 31 - 1))
    .action(async (opts: AbortPartitionOptions) => {
      await withAdmin('transactions abort-partition', opts, async (admin) => {
        const r = await abortPartition(admin, opts);
        if (opts.json) return printJson({ topic: opts.topic, partition: opts.partition, producerId: opts.producerId, ...r, aborted: true });
        printLine(`${opts.topic}-${opts.partition}: the transaction of producer ${opts.producerId} (epoch ${r.producerEpoch}) is aborted (marker written by node ${r.leader}, coordinator epoch ${r.coordinatorEpoch})`);
      });
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
