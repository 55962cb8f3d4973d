import { expect } from 'chai';
import { EntryType, type Message, MessageType } from '../../lib/raft/core/types.js';
import { WireBatch, decodeWire } from '../../lib/raft/wire.js';

function message(f: Partial<Message>): Message {
  return {
    type: MessageType.Heartbeat, from: 1, to: 2, term: 3, logTerm: 0, index: 0, commit: 0, entries: [], reject: false, hintIndex: 0, hintTerm: 0,
    context: 0, transfer: false, snapshot: null, chunkOffset: 0, chunk: null, chunkLast: false, quiesce: false, ...f,
  };
}

/** Encodes as the host does, then decodes as the receiving host does (blobs copied, as a wire would). */
function roundTrip(groups: [string, Message[]][]): [string, Message[]][] {
  const batch = new WireBatch();
  for (const [g, ms] of groups) for (const m of ms) batch.add(g, m);
  const payload = structuredClone(batch.payload);
  return decodeWire(1, 2, payload, batch.blobs.map((b) => Buffer.from(b)));
}

const plain = (ms: Message[]): unknown[] => ms.map((m) => ({ ...m, entries: m.entries.map((e) => ({ ...e, data: [...e.data] })), chunk: m.chunk && [...m.chunk] }));

describe('raft wire format', () => {
  it('round-trips every field of every message shape, entries and chunks as blobs, groups in order', () => {
    const data = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
    const groups: [string, Message[]][] = [
      ['t/a/0', [
        message({ type: MessageType.Append, term: 9, logTerm: 8, index: 2 ** 40, commit: 2 ** 40 - 5, entries: [
          { index: 2 ** 40 + 1, term: 8, type: EntryType.Normal, data: data('one') },
          { index: 2 ** 40 + 2, term: 9, type: EntryType.Noop, data: new Uint8Array(0) },
          { index: 2 ** 40 + 3, term: 9, type: EntryType.Config, data: data('conf') },
        ] }),
        message({ type: MessageType.AppendResponse, reject: true, index: 17, hintIndex: 12, hintTerm: 4 }),
      ]],
      ['t/b/1', [
        message({ type: MessageType.Snapshot, snapshot: { index: 100, term: 5, membership: { voters: [1, 2, 3], learners: [4] } }, chunkOffset: 4096, chunk: data('chunk'), chunkLast: true }),
        message({ type: MessageType.Vote, transfer: true, index: 7, logTerm: 6 }),
        message({ type: MessageType.Heartbeat, commit: 55, context: 77, quiesce: true }),
        message({ type: MessageType.ReadIndexResponse, context: 3, index: 99 }),
      ]],
    ];
    const back = roundTrip(groups);
    expect(back.map(([g]) => g)).to.deep.equal(['t/a/0', 't/b/1']);
    for (let i = 0; i < groups.length; i++) expect(plain(back[i]![1])).to.deep.equal(plain(groups[i]![1]));
  });

  it('a heartbeat costs a few bytes on the wire', () => {
    const batch = new WireBatch();
    batch.add('t/x/0', message({ commit: 1000, context: 12345 }));
    expect(JSON.stringify(batch.payload.g[0]![1]).length).to.be.lessThan(40);
    expect(batch.blobs.length).to.equal(0);
  });

  it('refuses malformed payloads and blobs that do not match what the messages name, as CORRUPT', () => {
    const batch = new WireBatch();
    batch.add('g', message({ type: MessageType.Append, index: 4, entries: [{ index: 5, term: 3, type: EntryType.Normal, data: new Uint8Array([1]) }] }));
    const good = structuredClone(batch.payload) as { g: [string, unknown[][]][] };
    const blob = [Buffer.from([1])];
    expect(() => decodeWire(1, 2, good, blob)).to.not.throw();
    const mutate = (f: (p: { g: [string, unknown[][]][] }) => void): unknown => {
      const p = structuredClone(good);
      f(p);
      return p;
    };
    const bad: [unknown, Buffer[]][] = [
      [null, []], [{}, []], [{ g: 'x' }, []], [{ g: [[1, []]] }, []],
      [good, []], // a named blob is missing
      [good, [...blob, Buffer.from([2])]], // a blob too many
      [mutate((p) => { p.g[0]![1][0]!.length = 12; }), blob],
      [mutate((p) => { p.g[0]![1][0]![0] = 99; }), blob], // unknown type
      [mutate((p) => { p.g[0]![1][0]![1] = -1; }), blob], // negative term
      [mutate((p) => { p.g[0]![1][0]![3] = 'x'; }), blob],
      [mutate((p) => { p.g[0]![1][0]![9] = [3]; }), blob], // odd entries spec
      [mutate((p) => { p.g[0]![1][0]![9] = [3, 9]; }), blob], // unknown entry type
      [mutate((p) => { p.g[0]![1][0]![10] = [1, 2, [1]]; }), blob], // snapshot meta
      [mutate((p) => { p.g[0]![1][0]![12] = 2; }), blob], // chunk flag
    ];
    for (const [payload, blobs] of bad) expect(() => decodeWire(1, 2, payload, blobs), JSON.stringify(payload)).to.throw(/CORRUPT/);
  });

  it('asserts that an append carries consecutive entries after its index', () => {
    const batch = new WireBatch();
    expect(() => batch.add('g', message({ type: MessageType.Append, index: 4, entries: [{ index: 6, term: 1, type: EntryType.Normal, data: new Uint8Array(0) }] }))).to.throw(/entry 6 is not at 5/);
  });
});
