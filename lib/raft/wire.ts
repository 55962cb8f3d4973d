/**
 * The Raft host's wire format: the messages of every group bound for one peer, in one payload,
 * with the entries' bytes beside it as the transport's blobs (lib/transport: raw bytes, never
 * copied into msgpack nor on the way out, views onto the received frame on the way in).
 *
 *   payload = { g: [[groupId, [message, ...]], ...] }      (msgpack, through the transport)
 *   message = [type, term, logTerm, index, commit, flags, hintIndex, hintTerm, context,
 *              entries, snapshot, chunkOffset, chunk]
 *     flags    = reject 1 | transfer 2 | chunkLast 4 | quiesce 8
 *     entries  = 0 (none) or [term, type, term, type, ...]: entry i has index `index + 1 + i`
 *                (an append carries consecutive entries after its prevIndex); its data is the
 *                next blob
 *     snapshot = null or [index, term, voters, learners]
 *     chunk    = 0 (none) or 1: the chunk's bytes are the next blob
 *   blobs, in the order the messages name them: entry data, snapshot chunks.
 *
 * `from` and `to` are not on the wire: the link gives them. Positional arrays keep a heartbeat to
 * about 15 bytes; 3,000 groups' heartbeats to one peer are one small frame. Decoding checks every
 * field's type and that the blobs named are the blobs received; anything else is CORRUPT (the host
 * drops the whole payload: Raft resends what matters).
 */
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import { type Entry, EntryType, type Message, MessageType, type NodeId, type SnapshotMeta } from './core/types.js';

/** One peer's payload under construction: per group, its messages; the blobs they name. */
export class WireBatch {
  readonly groups: [string, unknown[]][] = [];
  readonly blobs: Uint8Array[] = [];
  private readonly byGroup = new Map<string, unknown[]>();

  add(groupId: string, m: Message): void {
    let list = this.byGroup.get(groupId);
    if (!list) {
      list = [];
      this.byGroup.set(groupId, list);
      this.groups.push([groupId, list]);
    }
    list.push(encodeMessage(m, this.blobs));
  }

  get payload(): { readonly g: readonly [string, unknown[]][] } {
    return { g: this.groups };
  }
}

const FLAG_REJECT = 1;
const FLAG_TRANSFER = 2;
const FLAG_CHUNK_LAST = 4;
const FLAG_QUIESCE = 8;
const FIELDS = 13;

function encodeMessage(m: Message, blobs: Uint8Array[]): unknown[] {
  let entries: number[] | 0 = 0;
  if (m.entries.length > 0) {
    entries = new Array<number>(2 * m.entries.length);
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i]!;
      assert(e.index === m.index + 1 + i, () => `wire: entry ${e.index} is not at ${m.index + 1 + i} (entries follow the message's index)`);
      entries[2 * i] = e.term;
      entries[2 * i + 1] = e.type;
      blobs.push(e.data);
    }
  }
  let chunk = 0;
  if (m.chunk !== null) {
    chunk = 1;
    blobs.push(m.chunk);
  }
  const s = m.snapshot;
  const flags = (m.reject ? FLAG_REJECT : 0) | (m.transfer ? FLAG_TRANSFER : 0) | (m.chunkLast ? FLAG_CHUNK_LAST : 0) | (m.quiesce ? FLAG_QUIESCE : 0);
  return [
    m.type, m.term, m.logTerm, m.index, m.commit, flags, m.hintIndex, m.hintTerm, m.context, entries,
    s === null ? null : [s.index, s.term, s.membership.voters, s.membership.learners], m.chunkOffset, chunk,
  ];
}

function corrupt(why: string): never {
  throw new FlotillaError('CORRUPT', `raft wire: ${why}`);
}

function nat(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) corrupt(`${what} is not a non-negative integer`);
  return v;
}

function nodeIds(v: unknown, what: string): NodeId[] {
  if (!Array.isArray(v)) corrupt(`${what} is not a list`);
  for (const id of v) nat(id, what);
  return v as NodeId[];
}

const MESSAGE_TYPES = new Set<number>(Object.values(MessageType));
const ENTRY_TYPES = new Set<number>(Object.values(EntryType));
const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/**
 * Decodes one payload from `from` to `to`, calling `onGroup(groupId, messages)` per group in order.
 * Throws CORRUPT on anything malformed (before any group is handed up, so a bad payload is
 * dropped whole).
 */
export function decodeWire(from: NodeId, to: NodeId, payload: unknown, blobs: readonly Buffer[]): [string, Message[]][] {
  const groups = (payload as { g?: unknown } | null)?.g;
  if (!Array.isArray(groups)) corrupt('payload without groups');
  const out: [string, Message[]][] = [];
  let blob = 0;
  const nextBlob = (): Buffer => {
    const b = blobs[blob++];
    if (b === undefined) corrupt(`a message names blob ${blob - 1} of ${blobs.length}`);
    return b;
  };
  for (const item of groups) {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string' || !Array.isArray(item[1])) corrupt('malformed group item');
    const messages: Message[] = [];
    for (const raw of item[1] as unknown[]) {
      if (!Array.isArray(raw) || raw.length !== FIELDS) corrupt('malformed message');
      const f = raw as unknown[];
      const type = nat(f[0], 'type');
      if (!MESSAGE_TYPES.has(type)) corrupt(`unknown message type ${type}`);
      const index = nat(f[3], 'index');
      const flags = nat(f[5], 'flags');
      let entries: readonly Entry[] = NO_ENTRIES;
      if (f[9] !== 0) {
        const spec = f[9];
        if (!Array.isArray(spec) || spec.length === 0 || spec.length % 2 !== 0) corrupt('malformed entries');
        const list: Entry[] = new Array<Entry>(spec.length / 2);
        for (let i = 0; i < list.length; i++) {
          const entryType = nat(spec[2 * i + 1], 'entry type');
          if (!ENTRY_TYPES.has(entryType)) corrupt(`unknown entry type ${entryType}`);
          list[i] = { index: index + 1 + i, term: nat(spec[2 * i], 'entry term'), type: entryType as EntryType, data: nextBlob() };
        }
        entries = list;
      }
      let snapshot: SnapshotMeta | null = null;
      if (f[10] !== null) {
        const s = f[10];
        if (!Array.isArray(s) || s.length !== 4) corrupt('malformed snapshot meta');
        snapshot = { index: nat(s[0], 'snapshot index'), term: nat(s[1], 'snapshot term'), membership: { voters: nodeIds(s[2], 'voters'), learners: nodeIds(s[3], 'learners') } };
      }
      const chunkFlag = nat(f[12], 'chunk');
      if (chunkFlag > 1) corrupt('malformed chunk flag');
      messages.push({
        type: type as MessageType, from, to, term: nat(f[1], 'term'), logTerm: nat(f[2], 'logTerm'), index, commit: nat(f[4], 'commit'),
        entries, reject: (flags & FLAG_REJECT) !== 0, hintIndex: nat(f[6], 'hintIndex'), hintTerm: nat(f[7], 'hintTerm'),
        context: nat(f[8], 'context'), transfer: (flags & FLAG_TRANSFER) !== 0, snapshot, chunkOffset: nat(f[11], 'chunkOffset'),
        chunk: chunkFlag === 1 ? nextBlob() : null, chunkLast: (flags & FLAG_CHUNK_LAST) !== 0, quiesce: (flags & FLAG_QUIESCE) !== 0,
      });
    }
    out.push([item[0] as string, messages]);
  }
  if (blob !== blobs.length) corrupt(`${blobs.length} blobs received, ${blob} named`);
  return out;
}
