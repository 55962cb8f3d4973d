/**
 * A small schema language for Kafka messages, and one interpreter that encodes and decodes every
 * version of every message from it. Each API module writes its request and response as data
 * transcribed from Apache Kafka's message JSON (`clients/src/main/resources/common/message/`):
 * field name, type, the versions that carry it, the versions where it may be null, the tag of a
 * tagged field and its default. The TypeScript type of a decoded message is inferred from the same
 * data, so the codec and its types cannot drift apart.
 *
 * Rules, as in Kafka's generator:
 * - A field is on the wire only in its versions. Decoding a version that lacks a field yields the
 *   field's default; encoding such a version leaves the field out (values there are ignored).
 * - In flexible versions strings, bytes and arrays are compact, and every struct ends with a
 *   tagged-field section. A tagged field is written only when it differs from its default; unknown
 *   tags are skipped when reading.
 * - `records` is bytes on the wire; the record set stays a raw Buffer (a view into the frame).
 *
 * Decoders throw FlotillaError('CORRUPT') on malformed input; encoders assert (bad values from our
 * own code are programmer errors).
 */
import { assert } from '../base/assert.js';
import { FlotillaError } from '../base/errors.js';
import { type Reader, Writer, ZERO_UUID } from './primitives.js';

/** An inclusive version range; `max` Infinity for "N+". */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/** Parses Kafka's version notation: "3+", "0-5", "7", or "none". */
export function versions(spec: string): VersionRange {
  if (spec === 'none') return { min: 1, max: 0 };
  const plus = /^(\d+)\+$/.exec(spec);
  if (plus) return { min: Number(plus[1]), max: Infinity };
  const range = /^(\d+)-(\d+)$/.exec(spec);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  assert(/^\d+$/.test(spec), () => `bad version spec ${spec}`);
  return { min: Number(spec), max: Number(spec) };
}

export function inRange(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}

type Kind =
  | 'int8' | 'int16' | 'int32' | 'int64' | 'uint16' | 'uint32' | 'float64' | 'bool' | 'uuid'
  | 'string' | 'bytes' | 'records' | 'array' | 'struct';

/** A wire type. `T` is phantom: the TypeScript type of its decoded value. */
export interface TypeDef<T> {
  readonly kind: Kind;
  readonly items?: TypeDef<unknown>;
  readonly fields?: readonly FieldDef<string, unknown>[];
  /** Phantom, never set. */
  readonly __value?: T;
}

export interface FieldDef<N extends string, T> {
  readonly name: N;
  readonly type: TypeDef<T>;
  readonly versions: VersionRange;
  readonly nullable: VersionRange | null;
  /** Tag number for a tagged field (tagged in all of `versions`), else null. */
  readonly tag: number | null;
  readonly default: T;
}

export const int8: TypeDef<number> = { kind: 'int8' };
export const int16: TypeDef<number> = { kind: 'int16' };
export const int32: TypeDef<number> = { kind: 'int32' };
export const int64: TypeDef<number> = { kind: 'int64' };
export const uint16: TypeDef<number> = { kind: 'uint16' };
export const uint32: TypeDef<number> = { kind: 'uint32' };
export const float64: TypeDef<number> = { kind: 'float64' };
export const bool: TypeDef<boolean> = { kind: 'bool' };
export const uuid: TypeDef<string> = { kind: 'uuid' };
export const string: TypeDef<string> = { kind: 'string' };
export const bytes: TypeDef<Buffer> = { kind: 'bytes' };
/** A record set: bytes on the wire, kept raw (never decoded here). */
export const records: TypeDef<Buffer> = { kind: 'records' };

export function array<T>(items: TypeDef<T>): TypeDef<T[]> {
  return { kind: 'array', items };
}

export type StructValue<Fs extends readonly FieldDef<string, unknown>[]> = {
  [F in Fs[number] as F['name']]: F extends FieldDef<string, infer T> ? T : never;
};

export function struct<const Fs extends readonly FieldDef<string, unknown>[]>(fields: Fs): TypeDef<StructValue<Fs>> {
  const names = new Set<string>();
  const tags = new Set<number>();
  for (const f of fields) {
    assert(!names.has(f.name), () => `duplicate field ${f.name}`);
    names.add(f.name);
    if (f.tag !== null) {
      assert(!tags.has(f.tag), () => `duplicate tag ${f.tag}`);
      tags.add(f.tag);
    }
  }
  return { kind: 'struct', fields };
}

export type ValueOf<D> = D extends TypeDef<infer T> ? T : never;

interface FieldOptions<T> {
  /** Default when the field is absent from a version (and for tagged fields, when not sent). */
  readonly default?: T;
  /** Tag number: a tagged field in all its versions (which must all be flexible). */
  readonly tag?: number;
}

/** A non-nullable field present in `versionSpec`. */
export function field<N extends string, T>(name: N, type: TypeDef<T>, versionSpec: string, options: FieldOptions<T> = {}): FieldDef<N, T> {
  return {
    name,
    type,
    versions: versions(versionSpec),
    nullable: null,
    tag: options.tag ?? null,
    default: options.default !== undefined ? options.default : typeDefault(type),
  };
}

/** A field that may be null in `nullableSpec` (a subset of its versions). Default: null unless given. */
export function nullableField<N extends string, T>(
  name: N,
  type: TypeDef<T>,
  versionSpec: string,
  nullableSpec: string,
  options: FieldOptions<T | null> = {},
): FieldDef<N, T | null> {
  return {
    name,
    type: type as TypeDef<T | null>,
    versions: versions(versionSpec),
    nullable: versions(nullableSpec),
    tag: options.tag ?? null,
    default: options.default !== undefined ? options.default : null,
  };
}

/** The value of a type when nothing was sent: 0, false, '', empty bytes, [], zero UUID, struct of defaults. */
function typeDefault<T>(type: TypeDef<T>): T {
  return defaultOf(type as TypeDef<unknown>) as T;
}

function defaultOf(type: TypeDef<unknown>): unknown {
  switch (type.kind) {
    case 'bool': return false;
    case 'uuid': return ZERO_UUID;
    case 'string': return '';
    case 'bytes':
    case 'records': return Buffer.alloc(0);
    case 'array': return [];
    case 'struct': {
      const out: Record<string, unknown> = {};
      for (const f of type.fields ?? []) out[f.name] = cloneDefault(f.default);
      return out;
    }
    default: return 0;
  }
}

/** Defaults are shared by every decoded message, so mutable ones (arrays, structs) are copied. */
function cloneDefault(v: unknown): unknown {
  if (Array.isArray(v)) return [];
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = cloneDefault(x);
    return out;
  }
  return v;
}

/** One message (request or response body) of one API. */
export interface MessageSchema<T> {
  readonly name: string;
  readonly type: TypeDef<T>;
  /** First flexible version (Infinity: none). */
  readonly flexibleFrom: number;
}

export function message<T>(name: string, flexibleFrom: number, type: TypeDef<T>): MessageSchema<T> {
  assert(type.kind === 'struct', 'a message is a struct');
  return { name, type, flexibleFrom };
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface Ctx {
  readonly version: number;
  readonly flexible: boolean;
}

export function decodeMessage<T>(schema: MessageSchema<T>, r: Reader, version: number): T {
  const ctx = { version, flexible: version >= schema.flexibleFrom };
  return decodeValue(schema.type as TypeDef<unknown>, r, ctx, false, schema.name) as T;
}

function decodeValue(type: TypeDef<unknown>, r: Reader, ctx: Ctx, nullable: boolean, path: string): unknown {
  switch (type.kind) {
    case 'int8': return r.int8();
    case 'int16': return r.int16();
    case 'int32': return r.int32();
    case 'int64': return r.int64();
    case 'uint16': return r.uint16();
    case 'uint32': return r.uint32();
    case 'float64': return r.float64();
    case 'bool': return r.bool();
    case 'uuid': return r.uuid();
    case 'string': {
      const s = ctx.flexible ? r.compactNullableString() : r.nullableString();
      if (s === null && !nullable) throw new FlotillaError('CORRUPT', `${path}: null in a non-nullable string`);
      return s;
    }
    case 'bytes':
    case 'records': {
      const b = ctx.flexible ? r.compactNullableBytes() : r.nullableBytes();
      if (b === null && !nullable) throw new FlotillaError('CORRUPT', `${path}: null in non-nullable bytes`);
      return b;
    }
    case 'array': {
      const items = type.items;
      assert(items !== undefined, 'array without item type');
      const a = r.array(ctx.flexible, minBytes(items, ctx), (ir) => decodeValue(items, ir, ctx, false, path));
      if (a === null && !nullable) throw new FlotillaError('CORRUPT', `${path}: null in a non-nullable array`);
      return a;
    }
    case 'struct': {
      // A nullable struct (Kafka's generator): an int8 marker first, -1 null, 1 present.
      if (nullable) {
        const marker = r.int8();
        if (marker === -1) return null;
        if (marker !== 1) throw new FlotillaError('CORRUPT', `${path}: nullable struct marker ${marker}`);
      }
      return decodeStruct(type.fields ?? [], r, ctx, path);
    }
  }
}

function decodeStruct(fields: readonly FieldDef<string, unknown>[], r: Reader, ctx: Ctx, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.tag !== null || !inRange(f.versions, ctx.version)) {
      out[f.name] = cloneDefault(f.default);
      continue;
    }
    const nullable = f.nullable !== null && inRange(f.nullable, ctx.version);
    out[f.name] = decodeValue(f.type, r, ctx, nullable, `${path}.${f.name}`);
  }
  if (ctx.flexible) {
    r.taggedFields((tag, fr) => {
      const f = fields.find((x) => x.tag === tag && inRange(x.versions, ctx.version));
      if (f === undefined) return false;
      const nullable = f.nullable !== null && inRange(f.nullable, ctx.version);
      out[f.name] = decodeValue(f.type, fr, ctx, nullable, `${path}.${f.name}`);
      return true;
    });
  }
  return out;
}

/** The fewest bytes one value of `type` takes on the wire (bounds array counts before allocating). */
function minBytes(type: TypeDef<unknown>, ctx: Ctx): number {
  switch (type.kind) {
    case 'int8':
    case 'bool': return 1;
    case 'int16':
    case 'uint16': return 2;
    case 'int32':
    case 'uint32': return 4;
    case 'int64':
    case 'float64': return 8;
    case 'uuid': return 16;
    case 'string': return ctx.flexible ? 1 : 2;
    case 'bytes':
    case 'records': return ctx.flexible ? 1 : 4;
    case 'array': return ctx.flexible ? 1 : 4;
    case 'struct': {
      let n = ctx.flexible ? 1 : 0;
      for (const f of type.fields ?? []) {
        if (f.tag === null && inRange(f.versions, ctx.version)) n += minBytes(f.type, ctx);
      }
      // A struct with no fields in this version takes no bytes; count it as one so that a count
      // is still bounded by the frame (no schema here has such an array element).
      return Math.max(1, n);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

export function encodeMessage<T>(schema: MessageSchema<T>, value: T, w: Writer, version: number): void {
  const ctx = { version, flexible: version >= schema.flexibleFrom };
  encodeValue(schema.type as TypeDef<unknown>, value, w, ctx, false, schema.name);
}

function encodeValue(type: TypeDef<unknown>, v: unknown, w: Writer, ctx: Ctx, nullable: boolean, path: string): void {
  if (v === null) {
    assert(nullable, () => `${path}: null in a non-nullable field at version ${ctx.version}`);
    assert(type.kind === 'string' || type.kind === 'bytes' || type.kind === 'records' || type.kind === 'array' || type.kind === 'struct',
      () => `${path}: a ${type.kind} cannot be null`);
  }
  switch (type.kind) {
    case 'int8': w.int8(v as number); return;
    case 'int16': w.int16(v as number); return;
    case 'int32': w.int32(v as number); return;
    case 'int64': w.int64(v as number); return;
    case 'uint16': w.uint16(v as number); return;
    case 'uint32': w.uint32(v as number); return;
    case 'float64': w.float64(v as number); return;
    case 'bool': w.bool(v as boolean); return;
    case 'uuid': w.uuid(v as string); return;
    case 'string':
      assert(v === null || typeof v === 'string', () => `${path}: not a string`);
      if (ctx.flexible) w.compactNullableString(v);
      else w.nullableString(v);
      return;
    case 'bytes':
    case 'records':
      assert(v === null || v instanceof Uint8Array, () => `${path}: not bytes`);
      if (ctx.flexible) w.compactNullableBytes(v);
      else w.nullableBytes(v);
      return;
    case 'array': {
      const items = type.items;
      assert(items !== undefined, 'array without item type');
      if (v === null) {
        w.arrayLength(ctx.flexible, -1);
        return;
      }
      assert(Array.isArray(v), () => `${path}: not an array`);
      w.arrayLength(ctx.flexible, v.length);
      for (const item of v as unknown[]) encodeValue(items, item, w, ctx, false, path);
      return;
    }
    case 'struct':
      if (nullable) {
        w.int8(v === null ? -1 : 1);
        if (v === null) return;
      }
      assert(v !== null && typeof v === 'object', () => `${path}: not an object`);
      encodeStruct(type.fields ?? [], v as Record<string, unknown>, w, ctx, path);
      return;
  }
}

function encodeStruct(fields: readonly FieldDef<string, unknown>[], v: Record<string, unknown>, w: Writer, ctx: Ctx, path: string): void {
  const tagged: FieldDef<string, unknown>[] = [];
  for (const f of fields) {
    if (!inRange(f.versions, ctx.version)) continue;
    if (f.tag !== null) {
      if (!isDefault(v[f.name], f.default)) tagged.push(f);
      continue;
    }
    const nullable = f.nullable !== null && inRange(f.nullable, ctx.version);
    encodeValue(f.type, v[f.name], w, ctx, nullable, `${path}.${f.name}`);
  }
  if (!ctx.flexible) return;
  tagged.sort((a, b) => (a.tag as number) - (b.tag as number));
  w.uvarint(tagged.length);
  for (const f of tagged) {
    const nullable = f.nullable !== null && inRange(f.nullable, ctx.version);
    w.uvarint(f.tag as number);
    // The size precedes the body: encode the body into its own writer first (tagged fields are small).
    const body = new Writer(64, TAGGED_FIELD_BYTES_MAX);
    encodeValue(f.type, v[f.name], body, ctx, nullable, `${path}.${f.name}`);
    const bytes = body.finish();
    w.uvarint(bytes.length).raw(bytes);
  }
}

/** Tagged-field bodies are bounded: they carry small optional facts, never record data. */
const TAGGED_FIELD_BYTES_MAX = 1024 * 1024;

function isDefault(v: unknown, d: unknown): boolean {
  if (v === d) return true;
  if (v === undefined) return true;
  if (v === null || d === null) return false;
  if (Buffer.isBuffer(v) && Buffer.isBuffer(d)) return v.equals(d);
  if (Array.isArray(v) && Array.isArray(d)) return v.length === 0 && d.length === 0;
  if (typeof v === 'object' && typeof d === 'object') {
    const vo = v as Record<string, unknown>;
    const dobj = d as Record<string, unknown>;
    return Object.keys(dobj).every((k) => isDefault(vo[k], dobj[k]));
  }
  return false;
}
