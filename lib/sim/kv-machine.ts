/**
 * The simulator's state machine: registers keyed by small integers, with client sessions for
 * exactly-once effects (dissertation §6.3): a command carries (client, seq); a seq at or below the
 * client's last applied one is a duplicate (a retry after a timeout) and changes nothing.
 *
 * Command bytes (all u32 BE): client | seq | key | value. The state also keeps a hash chain over
 * every applied entry (index, term, bytes), so replicas can be compared at equal applied indexes.
 */
export interface Register {
  value: number;
  /** Raft index of the write that set it. */
  version: number;
}

export function encodeCommand(client: number, seq: number, key: number, value: number): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setUint32(0, client);
  v.setUint32(4, seq);
  v.setUint32(8, key);
  v.setUint32(12, value);
  return out;
}

export function decodeCommand(data: Uint8Array): { client: number; seq: number; key: number; value: number } {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { client: v.getUint32(0), seq: v.getUint32(4), key: v.getUint32(8), value: v.getUint32(12) };
}

export class SimKv {
  registers = new Map<number, Register>();
  lastSeq = new Map<number, number>();
  applied = 0;
  hash = 0;
  /** Times each (client, seq) took effect: must be exactly one. */
  effects = 0;

  applyEntry(index: number, term: number, data: Uint8Array, normal: boolean): { duplicate: boolean } {
    this.applied = index;
    let h = this.hash ^ Math.imul(index, 0x9e3779b1) ^ Math.imul(term, 0x85ebca6b);
    for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
    this.hash = h >>> 0;
    if (!normal || data.byteLength !== 16) return { duplicate: false };
    const c = decodeCommand(data);
    const last = this.lastSeq.get(c.client) ?? 0;
    if (c.seq <= last) return { duplicate: true };
    this.lastSeq.set(c.client, c.seq);
    this.registers.set(c.key, { value: c.value, version: index });
    this.effects++;
    return { duplicate: false };
  }

  snapshot(): Uint8Array {
    const regs = [...this.registers];
    const seqs = [...this.lastSeq];
    const out = new Uint8Array(20 + regs.length * 12 + seqs.length * 8);
    const v = new DataView(out.buffer);
    v.setUint32(0, this.applied);
    v.setUint32(4, this.hash);
    v.setUint32(8, this.effects);
    v.setUint32(12, regs.length);
    v.setUint32(16, seqs.length);
    let at = 20;
    for (const [k, r] of regs) {
      v.setUint32(at, k);
      v.setUint32(at + 4, r.value);
      v.setUint32(at + 8, r.version);
      at += 12;
    }
    for (const [c, s] of seqs) {
      v.setUint32(at, c);
      v.setUint32(at + 4, s);
      at += 8;
    }
    return out;
  }

  static restore(data: Uint8Array): SimKv {
    const kv = new SimKv();
    if (data.byteLength === 0) return kv;
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    kv.applied = v.getUint32(0);
    kv.hash = v.getUint32(4);
    kv.effects = v.getUint32(8);
    const nRegs = v.getUint32(12);
    const nSeqs = v.getUint32(16);
    let at = 20;
    for (let i = 0; i < nRegs; i++, at += 12) kv.registers.set(v.getUint32(at), { value: v.getUint32(at + 4), version: v.getUint32(at + 8) });
    for (let i = 0; i < nSeqs; i++, at += 8) kv.lastSeq.set(v.getUint32(at), v.getUint32(at + 4));
    return kv;
  }
}
