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
