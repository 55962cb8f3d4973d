import { expect } from 'chai';
import {
  BATCHES_PER_PRODUCER, PRODUCERS_MAX, type ProducerBatch, ProducerStateTable, lastSequenceOf, verdictFor,
} from '../../lib/broker/producer-state.js';

function b(producerId: number, producerEpoch: number, baseSequence: number, count = 1, transactional = false): ProducerBatch {
  return { producerId, producerEpoch, baseSequence, lastSequence: lastSequenceOf(baseSequence, count - 1), transactional };
}

describe('producer state (pure): Kafka\'s sequence, epoch and transaction rules on the log order', () => {
  it('appends batches without a producer id, and an unknown producer at any sequence', () => {
    const t = new ProducerStateTable();
    expect(t.verdict({ producerId: -1, producerEpoch: 0, baseSequence: 0, lastSequence: 0, transactional: false }).kind).to.equal('append');
    expect(t.verdict(b(7, 0, 42)).kind).to.equal('append');
    expect(t.verdict({ producerId: -1, producerEpoch: -1, baseSequence: -1, lastSequence: -1, transactional: true })).to.include({ kind: 'reject', code: 'INVALID_RECORD' });
    expect(t.verdict({ producerId: 7, producerEpoch: 0, baseSequence: -1, lastSequence: -1, transactional: false })).to.include({ kind: 'reject', code: 'INVALID_RECORD' });
  });

  it('answers a retry of any of the last 5 batches with its offsets, and a gap or an older window with OUT_OF_ORDER_SEQUENCE', () => {
    const t = new ProducerStateTable();
    let offset = 100;
    const batches: { seq: number; offset: number }[] = [];
    for (let i = 0; i < 8; i++) {
      const x = b(1, 0, i * 10, 10);
      expect(t.verdict(x).kind).to.equal('append');
      t.append(x, offset, offset + 9, i + 1);
      batches.push({ seq: i * 10, offset });
      offset += 12;
    }
    expect(t.get(1)!.batches).to.have.length(BATCHES_PER_PRODUCER);
    for (const old of batches.slice(-5)) expect(t.verdict(b(1, 0, old.seq, 10))).to.deep.equal({ kind: 'duplicate', firstOffset: old.offset, lastOffset: old.offset + 9 });
    // Beyond the window, a partial overlap, a gap: out of order (never an error that bumps the epoch).
    expect(t.verdict(b(1, 0, 20, 10))).to.include({ kind: 'reject', code: 'OUT_OF_ORDER_SEQUENCE' });
    expect(t.verdict(b(1, 0, 70, 5))).to.include({ kind: 'reject', code: 'OUT_OF_ORDER_SEQUENCE' });
    expect(t.verdict(b(1, 0, 81, 1))).to.include({ kind: 'reject', code: 'OUT_OF_ORDER_SEQUENCE' });
    expect(t.verdict(b(1, 0, 80, 3)).kind).to.equal('append');
  });

  it('fences older epochs; a newer epoch restarts at sequence 0; sequences wrap at INT32_MAX', () => {
    const t = new ProducerStateTable();
    t.append(b(5, 3, 0, 2), 0, 1, 1);
    expect(t.verdict(b(5, 2, 2))).to.include({ kind: 'reject', code: 'INVALID_PRODUCER_EPOCH' });
    expect(t.verdict(b(5, 4, 2))).to.include({ kind: 'reject', code: 'OUT_OF_ORDER_SEQUENCE' });
    expect(t.verdict(b(5, 4, 0)).kind).to.equal('append');
    t.append(b(5, 4, 0), 2, 2, 2);
    expect(t.get(5)!.batches).to.have.length(1);
    const max = 2 ** 31 - 1;
    expect(lastSequenceOf(max - 1, 3)).to.equal(1);
    const w = new ProducerStateTable();
    w.append(b(9, 0, max - 1, 2), 0, 1, 1);
    expect(w.verdict(b(9, 0, 0)).kind).to.equal('append');
    expect(w.verdict(b(9, 0, 1))).to.include({ code: 'OUT_OF_ORDER_SEQUENCE' });
  });

  it('tracks open transactions for the last stable offset, and markers end them exactly once', () => {
    const t = new ProducerStateTable();
    t.append(b(1, 0, 0, 2, true), 10, 11, 1);
    t.append(b(2, 0, 0, 1, true), 12, 12, 2);
    t.append(b(1, 0, 2, 1, true), 13, 13, 3);
    expect(t.lastStableOffset(20)).to.equal(10);
    // A non-transactional write while the producer's transaction is open is refused.
    expect(t.verdict(b(1, 0, 3))).to.include({ code: 'INVALID_TXN_STATE' });
    expect(t.applyMarker({ producerId: 1, producerEpoch: 0, commit: true, coordinatorEpoch: 4, txn: 0 }, 14, 4).kind).to.equal('append');
    expect(t.lastStableOffset(20)).to.equal(12);
    // The same transaction's marker again (a delayed retry): a duplicate, which ends nothing.
    t.append(b(1, 0, 3, 1, true), 15, 15, 5);
    expect(t.applyMarker({ producerId: 1, producerEpoch: 0, commit: true, coordinatorEpoch: 4, txn: 0 }, 16, 6).kind).to.equal('duplicate');
    expect(t.lastStableOffset(20)).to.equal(12);
    // Stale epochs and coordinators are refused.
    expect(t.applyMarker({ producerId: 1, producerEpoch: 0, commit: false, coordinatorEpoch: 3, txn: 1 }, 16, 6)).to.include({ code: 'TRANSACTION_COORDINATOR_FENCED' });
    expect(t.applyMarker({ producerId: 2, producerEpoch: 0, commit: false, coordinatorEpoch: 4, txn: 7 }, 17, 7).kind).to.equal('append');
    expect(t.applyMarker({ producerId: 1, producerEpoch: 1, commit: false, coordinatorEpoch: 4, txn: 1 }, 18, 8).kind).to.equal('append');
    expect(t.lastStableOffset(20)).to.equal(20);
    expect(t.abortedIn(0, 100)).to.deep.equal([{ producerId: 2, firstOffset: 12, lastOffset: 17 }, { producerId: 1, firstOffset: 15, lastOffset: 18 }]);
    expect(t.abortedIn(18, 100)).to.deep.equal([{ producerId: 1, firstOffset: 15, lastOffset: 18 }]);
    expect(t.abortedIn(0, 13)).to.deep.equal([{ producerId: 2, firstOffset: 12, lastOffset: 17 }]);
    // The epoch bump of the abort marker fences the old epoch and restarts sequences.
    expect(t.verdict(b(1, 0, 4, 1, true))).to.include({ code: 'INVALID_PRODUCER_EPOCH' });
    expect(t.verdict(b(1, 1, 0, 1, true)).kind).to.equal('append');
    // A marker of a producer that wrote nothing here is recorded at its own offset.
    expect(t.applyMarker({ producerId: 3, producerEpoch: 0, commit: false, coordinatorEpoch: 4, txn: 0 }, 19, 9).kind).to.equal('append');
    expect(t.abortedIn(19, 100)).to.deep.equal([{ producerId: 3, firstOffset: 19, lastOffset: 19 }]);
  });

  it('round-trips through a checkpoint, hidden entries included; forgets idle producers beyond the bound, oldest first', () => {
    const t = new ProducerStateTable();
    for (let p = 0; p < PRODUCERS_MAX + 10; p++) t.append(b(p, 0, 0, 1, p === 3), p, p, p + 1);
    expect(t.size).to.equal(PRODUCERS_MAX);
    // The 10 oldest idle producers went; producer 3 has an open transaction and stays.
    expect(t.get(0)).to.equal(undefined);
    expect(t.get(3)?.txnFirstOffset).to.equal(3);
    expect(t.get(10)).to.equal(undefined);
    expect(t.get(11)).to.not.equal(undefined);
    t.hide(42);
    t.applyMarker({ producerId: 50, producerEpoch: 0, commit: false, coordinatorEpoch: 1, txn: 0 }, 99_999, 99_999);
    const copy = new ProducerStateTable();
    copy.restore(structuredClone(t.toCheckpoint()));
    expect(copy.toCheckpoint()).to.deep.equal(t.toCheckpoint());
    expect(copy.isHidden(42)).to.equal(true);
    expect(copy.lastStableOffset(1e9)).to.equal(3);
    expect(copy.verdict(b(12, 0, 0, 1))).to.deep.equal({ kind: 'duplicate', firstOffset: 12, lastOffset: 12 });
    copy.truncateBelow(100_000, 43);
    expect(copy.abortedCount).to.equal(0);
    expect(copy.hiddenCount).to.equal(0);
    expect(verdictFor(undefined, b(1, 0, 5)).kind).to.equal('append');
  });
});
