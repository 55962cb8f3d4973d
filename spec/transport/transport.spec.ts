import { expect } from 'chai';
import { isFlotillaError } from '../../lib/base/errors.js';
import { Xoshiro128 } from '../../lib/base/prng.js';
import {
  FrameKind, FrameReader, decodeFrame, encodeFrame, reconnectDelayMs, validateTransportSettings,
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
