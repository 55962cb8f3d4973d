// Helpers of the partition specs: in-process links between RaftHosts, batches, fetch parsing.
import { expect } from 'chai';
import type { Clock } from '../../lib/base/clock.js';
import { BatchHeader, batchSizeAt, checkBatch, decodeRecords } from '../../lib/records/batch.js';
import { encodeBatch } from '../../lib/records/encode.js';
import type { NodeId } from '../../lib/raft/core/types.js';
import type { HostTransport } from '../../lib/raft/host.js';

export const clock: Clock = { nowMs: () => performance.now(), wallMs: () => Date.now() };

/** In-process links delivering on a later turn. */
export class LocalNet {
  handlers = new Map<NodeId, (from: NodeId, payload: unknown, blobs: readonly Buffer[]) => void>();
  down = new Set<NodeId>();
  transport(id: NodeId): HostTransport {
    return {
      send: (to, payload, blobs) => {
        if (this.down.has(id) || this.down.has(to)) return true;
        // Copies, as a wire would make: nothing is shared between the nodes.
        const copies = (blobs ?? []).map((b) => Buffer.from(b));
        setImmediate(() => {
          if (!this.down.has(to)) this.handlers.get(to)?.(id, structuredClone(payload), copies);
        });
        return true;
      },
      onReceive: (handler) => {
        this.handlers.set(id, handler);
      },
    };
  }
}

export async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function batchOf(n: number, tag: string, timestamp = 1_000): Buffer {
  return encodeBatch({ baseOffset: 0, baseTimestamp: timestamp, records: Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`${tag}-${i}`) })) });
}

/** Every batch in a fetch answer, with its records' values (control batches as 'control'). */
export function parse(records: Buffer | null): { base: number; last: number; values: string[] }[] {
  const out: { base: number; last: number; values: string[] }[] = [];
  if (!records) return out;
  for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) {
    const b = records.subarray(pos, pos + batchSizeAt(records, pos));
    expect(checkBatch(b)).to.equal(null);
    const h = new BatchHeader(b);
    out.push({ base: h.baseOffset, last: h.lastOffset, values: h.isControl ? ['control'] : decodeRecords(b).map((r) => Buffer.from(r.value ?? []).toString()) });
  }
  return out;
}

