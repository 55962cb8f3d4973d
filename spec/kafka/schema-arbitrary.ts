// fast-check arbitraries from a message schema: a complete value for one version, where fields
// absent from that version hold their defaults (what the decoder yields), so that
// decode(encode(v)) must deep-equal v.
import fc from 'fast-check';
import type { FieldDef, MessageSchema, TypeDef } from '../../lib/kafka/schema.js';
import { inRange } from '../../lib/kafka/schema.js';

const smallString = fc.string({ unit: 'grapheme', maxLength: 6 });

function typeArb(type: TypeDef<unknown>, version: number): fc.Arbitrary<unknown> {
  switch (type.kind) {
    case 'int8': return fc.integer({ min: -128, max: 127 });
    case 'int16': return fc.integer({ min: -32768, max: 32767 });
    case 'int32': return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'int64': return fc.oneof(fc.integer({ min: -1, max: 1000 }), fc.maxSafeInteger(), fc.constant(Number.MIN_SAFE_INTEGER));
    case 'uint16': return fc.integer({ min: 0, max: 0xffff });
    case 'uint32': return fc.integer({ min: 0, max: 0xffffffff });
    case 'float64': return fc.double({ noNaN: true });
    case 'bool': return fc.boolean();
    case 'uuid': return fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => {
      const h = Buffer.from(b).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    });
    case 'string': return smallString;
    case 'bytes':
    case 'records': return fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b));
    case 'array': return fc.array(typeArb(type.items as TypeDef<unknown>, version), { maxLength: 3 });
    case 'struct': return structArb(type.fields ?? [], version);
  }
}

function structArb(fields: readonly FieldDef<string, unknown>[], version: number): fc.Arbitrary<unknown> {
  const rec: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) {
    if (!inRange(f.versions, version)) {
      rec[f.name] = fc.constant(f.default);
      continue;
    }
    const base = typeArb(f.type, version);
    rec[f.name] = f.nullable !== null && inRange(f.nullable, version) ? fc.option(base, { nil: null }) : base;
  }
  return fc.record(rec);
}

export function messageArb<T>(schema: MessageSchema<T>, version: number): fc.Arbitrary<T> {
  return typeArb(schema.type as TypeDef<unknown>, version) as fc.Arbitrary<T>;
}

// ---------------------------------------------------------------------------------------------
// Values at the limits of a schema (spec/server/limits.spec.ts): not random, one per mode.

/** The most negative / most positive value of each integer kind (int64: the 2^53 guard's). */
const INT_LIMITS: Record<string, [number, number]> = {
  int8: [-128, 127], int16: [-32768, 32767], int32: [-(2 ** 31), 2 ** 31 - 1], int64: [-(2 ** 53 - 1), 2 ** 53 - 1],
  uint16: [0, 0xffff], uint32: [0, 0xffffffff], float64: [-Number.MAX_VALUE, Number.MAX_VALUE],
};

/**
 * - `min`: every integer at its minimum, strings and bytes empty, arrays empty, false, the zero
 *   UUID; nullable fields not null.
 * - `max`: every integer at its maximum, true, the all-ones UUID; top-level strings of 32,767
 *   bytes (Kafka's string limit), nested strings short; arrays of `arrayItems` elements.
 * - `null`: every nullable field null, everything else as `max` with arrays of one element (so
 *   that nullable fields inside array elements are reached).
 */
export type LimitMode = 'min' | 'max' | 'null';

export function limitValue(type: TypeDef<unknown>, version: number, mode: LimitMode, arrayItems = 1, depth = 0): unknown {
  const hi = mode !== 'min';
  switch (type.kind) {
    case 'int8': case 'int16': case 'int32': case 'int64': case 'uint16': case 'uint32': case 'float64': {
      const [lo, top] = INT_LIMITS[type.kind]!;
      return hi ? top : lo;
    }
    case 'bool': return hi;
    case 'uuid': return hi ? 'ffffffff-ffff-ffff-ffff-ffffffffffff' : '00000000-0000-0000-0000-000000000000';
    case 'string': return !hi ? '' : depth === 0 && mode === 'max' ? 'x'.repeat(32767) : 't';
    case 'bytes':
    case 'records': return hi ? Buffer.alloc(8, 0xff) : Buffer.alloc(0);
    case 'array': {
      const n = !hi ? 0 : depth === 0 ? arrayItems : 1;
      const item = limitValue(type.items as TypeDef<unknown>, version, mode, 1, depth + 1);
      return Array.from({ length: n }, () => item);
    }
    case 'struct': {
      const out: Record<string, unknown> = {};
      for (const f of (type.fields ?? []) as readonly FieldDef<string, unknown>[]) {
        if (!inRange(f.versions, version)) {
          out[f.name] = f.default;
          continue;
        }
        const nullable = f.nullable !== null && inRange(f.nullable, version);
        // Top-level fields are depth 1 inside the message struct.
        out[f.name] = mode === 'null' && nullable ? null : limitValue(f.type, version, mode, arrayItems, depth === 0 ? 0 : depth + 1);
      }
      return out;
    }
  }
}

/**
 * The same schema with an extra tagged field (tag 4242, 16 bytes) in every struct: encoded with
 * it, a message carries a tag its reader does not know in every tagged-field section of a
 * flexible version (a non-flexible version has no tagged fields, so it is unchanged).
 */
export const UNKNOWN_TAG = 4242;

export function withUnknownTags<T>(type: TypeDef<T>): TypeDef<T> {
  return addUnknownTag(type as TypeDef<unknown>) as TypeDef<T>;
}

function addUnknownTag(type: TypeDef<unknown>): TypeDef<unknown> {
  if (type.kind === 'array') return { ...type, items: addUnknownTag(type.items as TypeDef<unknown>) };
  if (type.kind !== 'struct') return type;
  const fields = ((type.fields ?? []) as readonly FieldDef<string, unknown>[]).map((f) => ({ ...f, type: addUnknownTag(f.type) }));
  const extra: FieldDef<string, unknown> = {
    name: '__unknownTag', type: { kind: 'bytes' }, versions: { min: 0, max: Infinity }, nullable: null, tag: UNKNOWN_TAG, default: Buffer.alloc(0),
  };
  return { ...type, fields: [...fields, extra] };
}

/** Sets `__unknownTag` to 16 bytes in every struct of a value built for `withUnknownTags`. */
export function fillUnknownTags(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fillUnknownTags);
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = fillUnknownTags(x);
  out['__unknownTag'] = Buffer.alloc(16, 0xab);
  return out;
}
