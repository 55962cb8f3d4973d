// The transaction coordinator on virtual time, against an in-memory log and marker sink: states,
// fencing by epoch, CONCURRENT_TRANSACTIONS while markers are written, markers naming their
// transaction, retries of a marker whose partition cannot take it, timeouts that abort, and a new
// coordinator resuming the markers of a transaction caught between its decision and completion.
import { expect } from 'chai';
import { FlotillaError, isFlotillaError } from '../../lib/base/errors.js';
import { type MarkerTarget, TxnCoordinator, type TxnMarker } from '../../lib/txn/coordinator.js';
import { type TxnRecord, applyTxnRecord, emptyTxnState } from '../../lib/txn/records.js';
import { partitionFor } from '../../lib/group/records.js';
import { FakeTime, flush } from '../group/fake-time.js';

function setup(options: { leaderEpoch?: number; failMarkers?: number } = {}) {
  const time = new FakeTime();
  const records: TxnRecord[] = [];
  const state = emptyTxnState();
  const markers: { target: MarkerTarget; marker: TxnMarker }[] = [];
  let failures = options.failMarkers ?? 0;
  let nextId = 100;
  const c = new TxnCoordinator({
    clock: time, timers: time,
    settings: { transactionStatePartitions: 1, transactionAbortCheckIntervalMs: 100 },
    offsetsTopicPartitions: 50,
    locate: () => ({ nodeId: 1, host: 'h', port: 9 }),
    producerIds: { next: async () => nextId++ },
    writeMarker: async (target, marker) => {
      await Promise.resolve();
      if (failures > 0) {
        failures--;
        throw new FlotillaError('NOT_LEADER', 'the partition is moving');
      }
      markers.push({ target, marker });
    },
    partitionExists: (topic) => topic !== 'nope',
  });
  const source = { log: { append: async (rs: readonly TxnRecord[]) => { await Promise.resolve(); records.push(...rs); } }, state, leaderEpoch: options.leaderEpoch ?? 7 };
  c.loadPartition(0, source);
  return { time, c, records, state, markers, source };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return isFlotillaError(err) ? err.code : String(err);
  }
  return 'none';
}

const tp = (topic: string, partition = 0) => ({ topic, partition });

describe('TxnCoordinator (virtual time)', () => {
  it('begins, commits and aborts transactions; markers name the producer, epoch, coordinator epoch and transaction', async () => {
    const { c, markers, state, time } = setup();
    const p = await c.initProducerId({ transactionalId: 'a', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    expect(p).to.deep.equal({ producerId: 100, producerEpoch: 0 });
    const who = { transactionalId: 'a', ...p };
    await c.addPartitions({ ...who, partitions: [tp('x'), tp('y', 1)] });
    await c.addOffsets({ ...who, groupId: 'g' });
    expect(state.txns.get('a')).to.include({ state: 'Ongoing', txn: 0 });
    await c.endTxn({ ...who, commit: true });
    await time.advance(10);
    expect(state.txns.get('a')?.state).to.equal('CompleteCommit');
    expect(markers.map((m) => m.target)).to.deep.equal([{ kind: 'partition', topic: 'x', partition: 0 }, { kind: 'partition', topic: 'y', partition: 1 }, { kind: 'offsets', partition: partitionFor('g', 50) }]);
    for (const m of markers) expect(m.marker).to.deep.equal({ producerId: 100, producerEpoch: 0, commit: true, coordinatorEpoch: 7, txn: 0 });
    // A retried EndTxn of a completed transaction is a success; the wrong decision is not.
    await c.endTxn({ ...who, commit: true });
    expect(await code(c.endTxn({ ...who, commit: false }))).to.equal('INVALID_TXN_STATE');
    // The next transaction has the next number.
    await c.addPartitions({ ...who, partitions: [tp('x')] });
    await c.endTxn({ ...who, commit: false });
    await time.advance(10);
    expect(markers.at(-1)!.marker).to.deep.include({ commit: false, txn: 1 });
    expect(state.txns.get('a')?.state).to.equal('CompleteAbort');
    // Unknown partitions fail the request, the others are not attempted.
    const r = await c.addPartitions({ ...who, partitions: [tp('nope'), tp('x')] });
    expect(r.map((x) => x.error?.code)).to.deep.equal(['UNKNOWN_TOPIC', 'INVALID_REQUEST']);
    expect(await code(c.initProducerId({ transactionalId: 'a', transactionTimeoutMs: 10_000_000, producerId: -1, producerEpoch: -1 }))).to.equal('INVALID_TRANSACTION_TIMEOUT');
  });

  it('fences zombies: a new instance bumps the epoch and aborts the open transaction first', async () => {
    const { c, markers, state, time } = setup();
    const old = await c.initProducerId({ transactionalId: 'z', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    await c.addPartitions({ transactionalId: 'z', ...old, partitions: [tp('x')] });
    const fresh = await c.initProducerId({ transactionalId: 'z', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    expect(fresh).to.deep.equal({ producerId: old.producerId, producerEpoch: 2 });
    // The abort went out with the bumped epoch 1, so partitions fence the old epoch too.
    expect(markers).to.deep.equal([{ target: { kind: 'partition', topic: 'x', partition: 0 }, marker: { producerId: old.producerId, producerEpoch: 1, commit: false, coordinatorEpoch: 7, txn: 0 } }]);
    expect(await code(c.addPartitions({ transactionalId: 'z', ...old, partitions: [tp('x')] }))).to.equal('PRODUCER_FENCED');
    expect(await code(c.endTxn({ transactionalId: 'z', ...old, commit: true }))).to.equal('PRODUCER_FENCED');
    expect(await code(c.addPartitions({ transactionalId: 'z', producerId: 999, producerEpoch: 2, partitions: [tp('x')] }))).to.equal('INVALID_PRODUCER_ID_MAPPING');
    await time.advance(10);
    expect(state.txns.get('z')).to.include({ state: 'CompleteAbort', producerEpoch: 2 });
  });

  it('retries a marker until its partition takes it, answering CONCURRENT_TRANSACTIONS meanwhile; a timed-out transaction is aborted', async () => {
    const { c, markers, state, time } = setup({ failMarkers: 3 });
    const p = await c.initProducerId({ transactionalId: 'r', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    const who = { transactionalId: 'r', ...p };
    await c.addPartitions({ ...who, partitions: [tp('x')] });
    await c.endTxn({ ...who, commit: true });
    expect(state.txns.get('r')?.state).to.equal('PrepareCommit');
    expect(await code(c.addPartitions({ ...who, partitions: [tp('x')] }))).to.equal('CONCURRENT_TRANSACTIONS');
    await time.advance(1_000);
    expect(markers).to.have.length(1);
    expect(state.txns.get('r')?.state).to.equal('CompleteCommit');
    expect(c.stats.markerRetries).to.equal(3);
    // Open past its timeout: aborted with a bumped epoch.
    const t = await c.initProducerId({ transactionalId: 't', transactionTimeoutMs: 500, producerId: -1, producerEpoch: -1 });
    await c.addPartitions({ transactionalId: 't', ...t, partitions: [tp('y')] });
    await time.advance(700);
    expect(state.txns.get('t')).to.include({ state: 'CompleteAbort', producerEpoch: 1 });
    expect(markers.at(-1)!.marker).to.deep.include({ commit: false, producerEpoch: 1, txn: 0 });
    expect(c.stats.timedOut).to.equal(1);
  });

  it('a new coordinator resumes the markers of a transaction it finds prepared, with its own epoch', async () => {
    const first = setup();
    const p = await first.c.initProducerId({ transactionalId: 'm', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    await first.c.addPartitions({ transactionalId: 'm', ...p, partitions: [tp('x'), tp('y')] });
    // The decision is replicated; the old coordinator dies before any marker.
    first.c.unloadPartition(0);
    const prepared = { ...first.state.txns.get('m')!, state: 'PrepareAbort' as const };
    const second = setup({ leaderEpoch: 9 });
    for (const r of [...first.records, { type: 'txn' as const, value: prepared }]) applyTxnRecord(second.state, r);
    second.c.unloadPartition(0);
    second.c.loadPartition(0, second.source);
    await flush();
    await second.time.advance(10);
    expect(second.markers.map((m) => m.marker)).to.deep.equal([
      { producerId: p.producerId, producerEpoch: 0, commit: false, coordinatorEpoch: 9, txn: 0 },
      { producerId: p.producerId, producerEpoch: 0, commit: false, coordinatorEpoch: 9, txn: 0 },
    ]);
    expect(second.state.txns.get('m')?.state).to.equal('CompleteAbort');
    expect(await code(first.c.endTxn({ transactionalId: 'm', ...p, commit: true }))).to.equal('NOT_COORDINATOR');
  });
});
