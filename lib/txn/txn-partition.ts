/**
 * TxnPartition: one replica of the internal `__transaction_state` topic — a StatePartition
 * (lib/broker/state-partition.ts) whose entries are batches of transaction records (records.ts).
 * LevelDB view, under `txns/<group>/`: `.../t/<transactional id>` the id's metadata,
 * `.../applied` the Raft index the view reflects.
 */
import { FlotillaError } from '../base/errors.js';
import { StatePartition, type StatePartitionOptions, type StateSpec } from '../broker/state-partition.js';
import { type KvOp, KvPrefix, keySegment, scan } from '../storage/kv.js';
import { type TxnMetadata, type TxnRecord, type TxnState, applyTxnRecord, emptyTxnState, txnStates } from './records.js';

/** The internal topic's name (Kafka's). */
export const TXN_STATE_TOPIC = '__transaction_state';

function decodeMetadata(v: unknown): TxnMetadata {
  const m = v as TxnMetadata;
  const ok = typeof m === 'object' && m !== null && typeof m.transactionalId === 'string' && Number.isSafeInteger(m.producerId)
    && Number.isInteger(m.producerEpoch) && (txnStates as readonly string[]).includes(m.state) && Array.isArray(m.partitions)
    && Array.isArray(m.offsetsPartitions) && Number.isSafeInteger(m.txn);
  if (!ok) throw new FlotillaError('CORRUPT', 'a transaction-state record is malformed');
  return m;
}

export const txnStateSpec: StateSpec<TxnRecord, TxnState> = {
  domain: KvPrefix.txns,
  decode(value: unknown): TxnRecord {
    const r = value as { type?: unknown; value?: unknown };
    if (typeof r !== 'object' || r === null || r.type !== 'txn') throw new FlotillaError('CORRUPT', 'a transaction-state entry holds an unknown record');
    return { type: 'txn', value: decodeMetadata(r.value) };
  },
  apply(state, record, prefix): KvOp[] {
    applyTxnRecord(state, record);
    return [{ type: 'put', key: `${prefix}t/${keySegment(record.value.transactionalId)}`, value: record.value }];
  },
  snapshot: (state) => [...state.txns.values()],
  restore(state, value, prefix) {
    state.txns.clear();
    const ops: KvOp[] = [];
    for (const v of value as unknown[]) {
      const m = decodeMetadata(v);
      state.txns.set(m.transactionalId, m);
      ops.push({ type: 'put', key: `${prefix}t/${keySegment(m.transactionalId)}`, value: m });
    }
    return ops;
  },
  async load(kv, prefix) {
    const state = emptyTxnState();
    for await (const [, value] of scan(kv, { prefix: `${prefix}t/` }, 1000)) {
      const m = decodeMetadata(value);
      state.txns.set(m.transactionalId, m);
    }
    return state;
  },
  describe: (state) => ({ transactionalIds: state.txns.size }),
};

export class TxnPartition extends StatePartition<TxnRecord, TxnState> {
  static open(options: StatePartitionOptions): Promise<TxnPartition> {
    return StatePartition.openWith(txnStateSpec, options, (node, store, state, prefix) => new TxnPartition(txnStateSpec, options, node, store, state, prefix));
  }
}
