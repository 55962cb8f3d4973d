/**
 * Kafka protocol primitives: a bounds-checked `Reader` and a growable, capped `Writer` over Buffer.
 *
 * Types (all big-endian): int8/16/32/64, uint16, uint32, float64, boolean (one byte, non-zero =
 * true), UUID (16 bytes, held as a lowercase 8-4-4-4-12 hex string), unsigned varint (no zigzag:
 * flexible lengths and tags), zigzag varint/varlong (lib/records/varint.ts), classic string
 * (int16 length, -1 = null), classic bytes (int32 length, -1 = null), classic arrays (int32
 * count, -1 = null), compact string/bytes/array (uvarint length+1, 0 = null) and tagged-field
 * sections (uvarint count, then {uvarint tag, uvarint size, bytes}).
 *
 * 64-bit integers are `number`s (lib/records/README.md): a value beyond 2^53 read from the wire is
 * CORRUPT; writing one is a programmer error (assertion).
 *
 * Every read checks the remaining bytes first, and every length is checked against the remaining
 * bytes *before* anything is allocated, so a hostile length cannot make us allocate. Malformed
 * input throws FlotillaError('CORRUPT'). Pure: no I/O.
 */
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import { readVarint, readVarlong, varlongSize, writeVarint, writeVarlong } from '../records/varint.js';

const INT32_MAX = 2 ** 31 - 1;
/** The largest Buffer a Writer grows to unless told otherwise (the server passes its frame limit). */
export const WRITER_BYTES_MAX_DEFAULT = 256 * 1024 * 1024;

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function corrupt(message: string): FlotillaError {
  return new FlotillaError('CORRUPT', message);
}

export class Reader {
  private readonly buf: Buffer;
  private pos: number;
  private readonly end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    assert(start >= 0 && start <= end && end <= buf.length, 'reader bounds outside the buffer');
    this.pos = start;
    this.end = end;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws CORRUPT unless at least `n` bytes remain; `what` names the field for the message. */
  need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw corrupt(`${what}: needs ${n} bytes at offset ${this.pos}, ${this.end - this.pos} remain`);
    }
  }

  /** Throws CORRUPT if bytes remain (a message must fill its frame exactly). */
  expectEnd(what: string): void {
    if (this.pos !== this.end) throw corrupt(`${what}: ${this.end - this.pos} trailing bytes at offset ${this.pos}`);
  }

  skip(n: number, what = 'skip'): void {
    this.need(n, what);
    this.pos += n;
  }

  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }

  bool(): boolean {
    this.need(1, 'boolean');
    return this.buf[this.pos++] !== 0;
  }

  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2, 'uint16');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4, 'uint32');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): number {
    this.need(8, 'int64');
    const v = Number(this.buf.readBigInt64BE(this.pos));
    if (!Number.isSafeInteger(v)) throw corrupt(`int64 at offset ${this.pos} is beyond 2^53`);
    this.pos += 8;
    return v;
  }

  float64(): number {
    this.need(8, 'float64');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  uuid(): string {
    this.need(16, 'uuid');
    const hex = this.buf.toString('hex', this.pos, this.pos + 16);
    this.pos += 16;
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** Unsigned varint, at most 5 bytes, value below 2^32 (Kafka's ByteUtils.readUnsignedVarint). */
  uvarint(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      this.need(1, 'unsigned varint');
      const b = this.buf[this.pos++] as number;
      value += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) {
        if (value > 0xffffffff) throw corrupt('unsigned varint beyond 32 bits');
        return value;
      }
    }
    throw corrupt('unsigned varint longer than 5 bytes');
  }

  varint(): number {
    const d = readVarint(this.buf, this.pos, this.end);
    this.pos = d.next;
    return d.value;
  }

  varlong(): number {
    const d = readVarlong(this.buf, this.pos, this.end);
    this.pos = d.next;
    return d.value;
  }

  private utf8(length: number, what: string): string {
    this.need(length, what);
    const s = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return s;
  }

  /** A view of the next `length` bytes, sharing memory with the frame (no copy). */
  private view(length: number, what: string): Buffer {
    this.need(length, what);
    const b = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return b;
  }

  /** Any negative length is null, as Kafka's generated readers take it (not only -1). */
  nullableString(): string | null {
    const length = this.int16();
    if (length < 0) return null;
    return this.utf8(length, 'string');
  }

  string(): string {
    const s = this.nullableString();
    if (s === null) throw corrupt('null in a non-nullable string');
    return s;
  }

  compactNullableString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.utf8(n - 1, 'compact string');
  }

  compactString(): string {
    const s = this.compactNullableString();
    if (s === null) throw corrupt('null in a non-nullable compact string');
    return s;
  }

  /** Any negative length is null, as in Kafka's generated readers. */
  nullableBytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    return this.view(length, 'bytes');
  }

  bytes(): Buffer {
    const b = this.nullableBytes();
    if (b === null) throw corrupt('null in non-nullable bytes');
    return b;
  }

  compactNullableBytes(): Buffer | null {
    const n = this.uvarint();
    if (n === 0) return null;
    return this.view(n - 1, 'compact bytes');
  }

  compactBytes(): Buffer {
    const b = this.compactNullableBytes();
    if (b === null) throw corrupt('null in non-nullable compact bytes');
    return b;
  }

  /**
   * Array count: classic int32 (negative = null: Kafka's generated readers take any negative
   * count as null, not only -1) or compact uvarint (count+1, 0 = null). Returns -1 for null. Every element takes at least `elementBytesMin` (≥ 1) bytes, so a count larger than the
   * remaining bytes allow is CORRUPT before any element (or array) is allocated.
   */
  arrayLength(compact: boolean, elementBytesMin: number): number {
    assert(elementBytesMin >= 1, 'array elements take at least one byte');
    let n: number;
    if (compact) {
      const raw = this.uvarint();
      n = raw - 1;
    } else {
      n = Math.max(-1, this.int32());
    }
    if (n > 0 && n * elementBytesMin > this.remaining) {
      throw corrupt(`array of ${n} elements cannot fit in the ${this.remaining} remaining bytes`);
    }
    return n;
  }

  array<T>(compact: boolean, elementBytesMin: number, read: (r: Reader) => T): T[] | null {
    const n = this.arrayLength(compact, elementBytesMin);
    if (n < 0) return null;
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(this));
    return out;
  }

  /**
   * A tagged-field section. `onTag(tag, reader)` gets a reader bounded to that field's bytes and
   * returns true if it knew the tag; unknown tags are skipped (forward compatibility). A known
   * field must fill its declared size exactly. Kafka writes tags in ascending order but its readers
   * do not insist, and neither do we (a repeated tag: the last one wins).
   */
  taggedFields(onTag: (tag: number, field: Reader) => boolean): void {
    const count = this.uvarint();
    // Each tagged field takes at least two bytes (tag and size).
    if (count * 2 > this.remaining) throw corrupt(`${count} tagged fields cannot fit in ${this.remaining} bytes`);
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      const size = this.uvarint();
      this.need(size, `tagged field ${tag}`);
      const field = new Reader(this.buf, this.pos, this.pos + size);
      if (onTag(tag, field)) field.expectEnd(`tagged field ${tag}`);
      this.pos += size;
    }
  }
}

/** A growable Buffer writer, capped at `bytesMax` (TOO_LARGE beyond it). */
export class Writer {
  private buf: Buffer;
  private pos = 0;
  private readonly bytesMax: number;

  constructor(initialBytes = 256, bytesMax = WRITER_BYTES_MAX_DEFAULT) {
    this.bytesMax = bytesMax;
    assert(initialBytes > 0 && initialBytes <= bytesMax, 'writer initial size outside (0, bytesMax]');
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get offset(): number {
    return this.pos;
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.buf.length) return;
    if (needed > this.bytesMax) {
      throw new FlotillaError('TOO_LARGE', `encoded message exceeds ${this.bytesMax} bytes`, { bytesMax: this.bytesMax });
    }
    const next = Buffer.allocUnsafe(Math.min(this.bytesMax, Math.max(needed, this.buf.length * 2)));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): this {
    assert(Number.isInteger(v) && v >= -128 && v <= 127, () => `int8 ${v} out of range`);
    this.ensure(1);
    this.buf.writeInt8(v, this.pos++);
    return this;
  }

  bool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
    return this;
  }

  int16(v: number): this {
    assert(Number.isInteger(v) && v >= -32768 && v <= 32767, () => `int16 ${v} out of range`);
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
    return this;
  }

  uint16(v: number): this {
    assert(Number.isInteger(v) && v >= 0 && v <= 0xffff, () => `uint16 ${v} out of range`);
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
    return this;
  }

  int32(v: number): this {
    assert(Number.isInteger(v) && v >= -(2 ** 31) && v <= INT32_MAX, () => `int32 ${v} out of range`);
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }

  /** Overwrites an int32 written earlier (frame sizes). */
  int32At(pos: number, v: number): this {
    assert(pos >= 0 && pos + 4 <= this.pos, 'int32At outside the written bytes');
    this.buf.writeInt32BE(v, pos);
    return this;
  }

  uint32(v: number): this {
    assert(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, () => `uint32 ${v} out of range`);
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
    return this;
  }

  int64(v: number): this {
    assert(Number.isSafeInteger(v), () => `int64 ${v} is not a safe integer`);
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(BigInt(v), this.pos);
    return this;
  }

  float64(v: number): this {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
    return this;
  }

  uuid(v: string): this {
    assert(UUID_RE.test(v), () => `uuid ${v} is not lowercase 8-4-4-4-12 hex`);
    this.ensure(16);
    this.pos += this.buf.write(v.replaceAll('-', ''), this.pos, 16, 'hex');
    return this;
  }

  uvarint(v: number): this {
    assert(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, () => `unsigned varint ${v} out of range`);
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  varint(v: number): this {
    this.ensure(5);
    this.pos = writeVarint(this.buf, this.pos, v);
    return this;
  }

  varlong(v: number): this {
    this.ensure(varlongSize(v));
    this.pos = writeVarlong(this.buf, this.pos, v);
    return this;
  }

  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  nullableString(v: string | null): this {
    if (v === null) return this.int16(-1);
    const n = Buffer.byteLength(v, 'utf8');
    assert(n <= 32767, () => `string of ${n} bytes exceeds int16`);
    this.int16(n).ensure(n);
    this.pos += this.buf.write(v, this.pos, n, 'utf8');
    return this;
  }

  compactNullableString(v: string | null): this {
    if (v === null) return this.uvarint(0);
    const n = Buffer.byteLength(v, 'utf8');
    this.uvarint(n + 1).ensure(n);
    this.pos += this.buf.write(v, this.pos, n, 'utf8');
    return this;
  }

  nullableBytes(v: Uint8Array | null): this {
    if (v === null) return this.int32(-1);
    return this.int32(v.length).raw(v);
  }

  compactNullableBytes(v: Uint8Array | null): this {
    if (v === null) return this.uvarint(0);
    return this.uvarint(v.length + 1).raw(v);
  }

  /** Array count: -1 (null) or n, classic int32 or compact uvarint n+1. */
  arrayLength(compact: boolean, n: number): this {
    assert(Number.isInteger(n) && n >= -1, () => `array length ${n}`);
    return compact ? this.uvarint(n + 1) : this.int32(n);
  }

  /** An empty tagged-field section. */
  emptyTaggedFields(): this {
    return this.uvarint(0);
  }
}
