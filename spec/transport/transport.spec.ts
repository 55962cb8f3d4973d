import { expect } from 'chai';
import { isFlotillaError } from '../../lib/base/errors.js';
import { Xoshiro128 } from '../../lib/base/prng.js';
import {
  FrameKind, FrameReader, decodeFrame, encodeDataFrame, encodeFrame, reconnectDelayMs, validateTransportSettings,
} from '../../lib/transport/transport.js';

describe('transport frames', () => {
  it('encodes u32 length | kind | msgpack body, and a ping as five fixed bytes', () => {
    const f = encodeFrame(FrameKind.Data, { a: 1 }, 1024);
    expect(f.readUInt32BE(0)).to.equal(f.length - 4);
    expect(f[4]).to.equal(FrameKind.Data);
    expect(decodeFrame(f.subarray(4))).to.deep.equal({ kind: FrameKind.Data, body: { a: 1 } });
    expect([...encodeFrame(FrameKind.Ping, null, 1024)]).to.deep.equal([0, 0, 0, 1, FrameKind.Ping]);
  });

  it('refuses to encode a frame over the limit with TOO_LARGE', () => {
    let caught: unknown;
    try {
      encodeFrame(FrameKind.Data, Buffer.alloc(2000), 1024);
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'TOO_LARGE')).to.equal(true);
  });

  it('decoding rejects an unknown kind, an empty body, a ping with a body and bad msgpack', () => {
    for (const bytes of [[9, 0x80], [FrameKind.Data], [FrameKind.Ping, 1], [FrameKind.Data, 0xc1], [FrameKind.Data, 0x92, 1], [FrameKind.Hello, 1, 2]]) {
      expect(() => decodeFrame(Buffer.from(bytes))).to.throw(/CORRUPT/);
    }
  });

  it('reassembles frames split at every byte boundary, and several in one chunk', () => {
    const frames = [encodeFrame(FrameKind.Data, { n: 1, s: 'x'.repeat(300) }, 4096), encodeFrame(FrameKind.Ping, null, 4096), encodeFrame(FrameKind.Data, [1, 2, 3], 4096)];
    const stream = Buffer.concat(frames);
    for (let cut1 = 0; cut1 <= stream.length; cut1 += 7) {
      for (const cut2 of [cut1, Math.min(stream.length, cut1 + 1), Math.min(stream.length, cut1 + 3)]) {
        const reader = new FrameReader(4096);
        const out: Buffer[] = [];
        for (const part of [stream.subarray(0, cut1), stream.subarray(cut1, cut2), stream.subarray(cut2)]) {
          reader.push(part);
          out.push(...reader.drain());
        }
        expect(out.map((c) => decodeFrame(c))).to.deep.equal([
          { kind: FrameKind.Data, body: { n: 1, s: 'x'.repeat(300) } }, { kind: FrameKind.Ping }, { kind: FrameKind.Data, body: [1, 2, 3] },
        ]);
        expect(reader.bufferedBytes).to.equal(0);
      }
    }
  });

  it('a BLOBS frame leaves as parts (the blobs themselves, not copies) and decodes to views of each blob', () => {
    const blobs = [Buffer.from('first'), new Uint8Array(0), new Uint8Array([9, 8, 7])];
    const f = encodeDataFrame({ g: 1 }, blobs, 4096);
    expect(f.parts.length).to.equal(3); // header + the two non-empty blobs
    expect(f.parts[1]).to.equal(blobs[0]);
    expect(f.parts[2]!.buffer).to.equal(blobs[2]!.buffer);
    const wire = Buffer.concat(f.parts);
    expect(wire.length).to.equal(f.bytes);
    expect(wire.readUInt32BE(0)).to.equal(f.bytes - 4);
    expect(wire[4]).to.equal(FrameKind.Blobs);
    const d = decodeFrame(wire.subarray(4)) as { kind: number; body: unknown; blobs: Buffer[] };
    expect(d.kind).to.equal(FrameKind.Data);
    expect(d.body).to.deep.equal({ g: 1 });
    expect(d.blobs.map((b) => [...b])).to.deep.equal(blobs.map((b) => [...b]));
    expect(d.blobs[0]!.buffer).to.equal(wire.buffer);
    // Without blobs: a plain DATA frame.
    const plain = encodeDataFrame({ g: 1 }, [], 4096);
    expect(plain.parts.length).to.equal(1);
    expect(plain.parts[0]![4]).to.equal(FrameKind.Data);
    let caught: unknown;
    try {
      encodeDataFrame({ g: 1 }, [Buffer.alloc(5000)], 4096);
    } catch (err) {
      caught = err;
    }
    expect(isFlotillaError(caught, 'TOO_LARGE')).to.equal(true);
  });

  it('decoding a BLOBS frame checks every length against the frame', () => {
    const good = Buffer.concat(encodeDataFrame([1], [Buffer.from('abc'), Buffer.from('de')], 4096).parts).subarray(4);
    expect(() => decodeFrame(good)).to.not.throw();
    const cases: Buffer[] = [
      good.subarray(0, good.length - 1), // the last blob is short
      Buffer.concat([good, Buffer.from([0])]), // a byte after the last blob
      Buffer.from([FrameKind.Blobs, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]), // empty payload
      Buffer.from([FrameKind.Blobs, 0, 0, 0, 1, 0x91, 0, 0, 0, 0]), // no blobs (BLOBS needs some)
      Buffer.from([FrameKind.Blobs, 0, 0, 0, 1, 0x91, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), // a count past the frame
      Buffer.from([FrameKind.Blobs, 0xff, 0, 0, 0, 0x91]), // a payload size past the frame
      Buffer.from([FrameKind.Blobs, 0, 0, 0, 1, 0xc1, 0, 0, 0, 1, 0, 0, 0, 0]), // undecodable payload
    ];
    for (const c of cases) expect(() => decodeFrame(c), c.toString('hex')).to.throw(/CORRUPT/);
  });

  it('reassembles a BLOBS frame split at every byte boundary into one buffer of its length', () => {
    const f = encodeDataFrame({ n: 7 }, [Buffer.from('x'.repeat(200)), Buffer.from('yz')], 4096);
    const stream = Buffer.concat([...f.parts, encodeFrame(FrameKind.Ping, null, 4096)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new FrameReader(4096);
      reader.push(stream.subarray(0, cut));
      const out = reader.drain();
      reader.push(stream.subarray(cut));
      out.push(...reader.drain());
      expect(out.length).to.equal(2);
      expect(out[0]!.length).to.equal(f.bytes - 4);
      const d = decodeFrame(out[0]!) as unknown as { body: unknown; blobs: Buffer[] };
      expect(d.body).to.deep.equal({ n: 7 });
      expect(d.blobs.map((b) => b.toString())).to.deep.equal(['x'.repeat(200), 'yz']);
      expect(decodeFrame(out[1]!)).to.deep.equal({ kind: FrameKind.Ping });
      expect(reader.bufferedBytes).to.equal(0);
    }
  });

  it('throws CORRUPT on a length over the limit as soon as the prefix is read, and on length 0', () => {
    const reader = new FrameReader(100);
    reader.push(Buffer.from([0, 0, 0, 101]));
    expect(() => reader.next()).to.throw(/exceeds the limit of 100/);
    const zero = new FrameReader(100);
    zero.push(Buffer.from([0, 0, 0, 0]));
    expect(() => zero.next()).to.throw(/length 0/);
    // Byte by byte too: the prefix is judged as soon as it is whole, before any body arrives.
    const slow = new FrameReader(100);
    for (const b of [0, 0, 1]) {
      slow.push(Buffer.from([b]));
      expect(slow.next()).to.equal(null);
    }
    slow.push(Buffer.from([0]));
    expect(() => slow.next()).to.throw(/exceeds/);
  });

  it('applies the limit frame by frame, so it can be raised between two frames of one chunk', () => {
    const small = encodeFrame(FrameKind.Hello, { hi: 1 }, 4096);
    const big = encodeFrame(FrameKind.Data, Buffer.alloc(10_000), 1 << 20);
    const reader = new FrameReader(4096);
    reader.push(Buffer.concat([small, big]));
    expect(decodeFrame(reader.next()!)).to.deep.equal({ kind: FrameKind.Hello, body: { hi: 1 } });
    reader.maxFrameBytes = 1 << 20;
    expect((decodeFrame(reader.next()!) as { body: Buffer }).body.length).to.equal(10_000);
    expect(reader.next()).to.equal(null);
  });
});

describe('transport settings and back-off', () => {
  it('checks relations between settings, naming the setting', () => {
    expect(() => validateTransportSettings({ reconnectMinMs: 100, reconnectMaxMs: 50 })).to.throw(/transport\.reconnectMaxMs/);
    expect(() => validateTransportSettings({ maxFrameBytes: 1 << 20, maxQueuedBytes: 1 << 19 })).to.throw(/transport\.maxQueuedBytes/);
    expect(() => validateTransportSettings({ maxQueuedFrames: 10, maxQueuedFramesOffline: 20 })).to.throw(/transport\.maxQueuedFramesOffline/);
    expect(() => validateTransportSettings({ pingIntervalMs: 100, idleTimeoutMs: 150 })).to.throw(/transport\.idleTimeoutMs/);
    expect(() => validateTransportSettings({ maxFrameBytes: 1024 })).to.throw(/transport\.maxHelloBytes/);
    expect(() => validateTransportSettings({ nope: 1 })).to.throw(/transport\.nope is not a known setting/);
    expect(validateTransportSettings().maxFrameBytes).to.equal(64 * 1024 * 1024);
  });

  it('reconnect delays double from the minimum with equal jitter, capped at the maximum, replayable by seed', () => {
    const settings = { reconnectMinMs: 10, reconnectMaxMs: 1000 };
    const run = (seed: number): number[] => {
      const prng = new Xoshiro128(seed);
      return Array.from({ length: 12 }, (_, attempt) => reconnectDelayMs(attempt, settings, prng));
    };
    const delays = run(7);
    delays.forEach((d, attempt) => {
      const base = Math.min(1000, 10 * 2 ** attempt);
      expect(d, `attempt ${attempt}`).to.be.within(base / 2, base);
    });
    expect(run(7)).to.deep.equal(delays);
    expect(run(8)).to.not.deep.equal(delays);
    expect(reconnectDelayMs(10_000, settings, new Xoshiro128(1))).to.be.within(500, 1000);
  });
});
