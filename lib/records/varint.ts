/**
 * Kafka's signed varints (record fields): zigzag, then base-128 little-endian groups with the high
 * bit as continuation. varint = int32 (at most 5 bytes), varlong = int64 (at most 10 bytes).
 *
 * 64-bit values are `number`s guarded to be safe integers (see README: one decision for the whole
 * project); values whose zigzag form needs more than 31 bits go through BigInt, which is exact.
 * Decoders throw FlotillaError CORRUPT on malformed input: these bytes come from the wire or disk.
 */
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Bytes that `writeVarlong(n)` takes (also valid for varints). */
export function varlongSize(n: number): number {
  assert(Number.isSafeInteger(n), () => `varlong ${n} is not a safe integer`);
  if (n >= -SMALL && n < SMALL) {
    let z = n >= 0 ? n * 2 : -n * 2 - 1;
    let size = 1;
    while (z >= 128) {
      z = Math.floor(z / 128);
      size++;
    }
    return size;
  }
  let z = zigzagBig(n);
  let size = 1;
  while (z >= 128n) {
    z >>= 7n;
    size++;
  }
  return size;
}

/** Below this magnitude the zigzag value fits in 31 bits and plain numbers are exact. */
const SMALL = 2 ** 30;

/** Zigzag of a large safe integer: 2|n| can exceed 2^53, so go through BigInt (rare: offsets in deltas are small). */
function zigzagBig(n: number): bigint {
  const b = BigInt(n);
  return b >= 0n ? b << 1n : (-b << 1n) - 1n;
}

/** Writes `n` as a zigzag varlong at `pos`; returns the position after it. */
export function writeVarlong(buf: Uint8Array, pos: number, n: number): number {
  assert(Number.isSafeInteger(n), () => `varlong ${n} is not a safe integer`);
  if (n >= -SMALL && n < SMALL) {
    let z = n >= 0 ? n * 2 : -n * 2 - 1;
    while (z >= 128) {
      buf[pos++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    buf[pos++] = z;
    return pos;
  }
  let z = zigzagBig(n);
  while (z >= 128n) {
    buf[pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  buf[pos++] = Number(z);
  return pos;
}

/** Writes an int32 as a zigzag varint; same encoding as varlong for values in range. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  assert(Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX, () => `varint ${n} is not an int32`);
  return writeVarlong(buf, pos, n);
}

export interface Decoded {
  readonly value: number;
  /** Position after the varint. */
  readonly next: number;
}

/** Reads a zigzag varlong at `pos`, not past `end`. */
export function readVarlong(buf: Uint8Array, pos: number, end: number = buf.length, maxBytes = 10): Decoded {
  // Up to 4 bytes (28 bits: every length and delta in practice) in plain numbers, then BigInt.
  let small = 0;
  for (let i = 0; i < 4; i++) {
    if (pos >= end) throw new FlotillaError('CORRUPT', `varint runs past its end at ${pos}`);
    const b = buf[pos++] as number;
    small |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) === 0) return { value: (small >>> 1) ^ -(small & 1), next: pos };
  }
  let z = BigInt(small);
  let shift = 28n;
  for (let i = 4; i < maxBytes; i++) {
    if (pos >= end) throw new FlotillaError('CORRUPT', `varint runs past its end at ${pos}`);
    const b = buf[pos++] as number;
    z |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      const value = Number((z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n));
      if (!Number.isSafeInteger(value)) throw new FlotillaError('CORRUPT', 'varlong beyond 2^53');
      return { value, next: pos };
    }
    shift += 7n;
  }
  throw new FlotillaError('CORRUPT', `varint longer than ${maxBytes} bytes`);
}

/** Reads a zigzag varint (int32) at `pos`. */
export function readVarint(buf: Uint8Array, pos: number, end: number = buf.length): Decoded {
  const d = readVarlong(buf, pos, end, 5);
  if (d.value < INT32_MIN || d.value > INT32_MAX) throw new FlotillaError('CORRUPT', `varint ${d.value} out of int32 range`);
  return d;
}
