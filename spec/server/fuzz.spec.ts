// Fuzzing the server's parse + dispatch path in-process (what a connection runs for each frame):
// for every served API, 4,000 frames in the suite (the whole file near 20 s) and 100,000 with
// `npm run fuzz` (scripts/fuzz.ts, minutes) — schema-generated requests of every version (fast-check)
// and seeded mutations of them and of the frames real clients sent (bit flips, boundary values,
// truncation, extension, splices, header damage). Every frame must end cleanly: a response, no
// response (acks=0) or "close the connection"; never a rejection, never a handler failure, and
// every response must decode. Seeds are printed; set FUZZ_SEED to replay, FUZZ_FRAMES to scale.
import { Authorizer } from '../../lib/auth/authorizer.js';
import { AuditLog } from '../../lib/server/audit.js';
import { expect } from 'chai';
import fc from 'fast-check';
import { Xoshiro128 } from '../../lib/base/prng.js';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { apis, encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { encodeBatch } from '../../lib/records/encode.js';
import { type DispatchEnv, handlers, parseFrame, processFrame } from '../../lib/server/dispatch.js';
import { ServerMetrics } from '../../lib/server/metrics.js';
import { messageArb } from '../kafka/schema-arbitrary.js';
import { readFixtures } from './golden.js';
import { MemoryBroker } from './memory-broker.js';

const FRAMES_PER_API = Number(process.env['FUZZ_FRAMES'] ?? 4_000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20240605);
const GENERATED_PER_VERSION = 300;

function freshBroker(): MemoryBroker {
  const b = new MemoryBroker({ fetchWaitMaxMs: 0, partitionsMax: 8 });
  for (const t of ['t', 'kjs-a', 'kjs-p', 'kc-plain', 'kc-meta', 'kc-gzip']) b.addTopic(t, 2);
  b.autoCreate = false;
  return b;
}

/** Frames to mutate for one API: generated ones for each version, client captures, hand-made. */
function corpus(api: ApiDefinition<unknown, unknown>, seed: number): Buffer[] {
  const out: Buffer[] = [];
  for (let v = api.minVersion; v <= api.maxVersion; v++) {
    const bodies = fc.sample(messageArb(api.request, v), { numRuns: GENERATED_PER_VERSION, seed: seed + v });
    bodies.forEach((body, i) => out.push(encodeRequestFrame(api, v, i, i % 2 === 0 ? 'fuzz' : null, body).subarray(4)));
  }
  for (const f of readFixtures()) if (f.frame.readInt16BE(0) === api.apiKey) out.push(f.frame);
  if (api.apiKey === 0) {
    const batch = encodeBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('value') }, { value: null }] });
    for (const acks of [-1, 0, 1, 2]) {
      out.push(encodeRequestFrame(api, 7, 1, 'x', {
        transactionalId: null, acks, timeoutMs: 100, topics: [{ name: 't', partitions: [{ partitionIndex: 0, records: batch }, { partitionIndex: 1, records: batch }] }],
      } as never).subarray(4));
    }
  }
  return out;
}

const BOUNDARY_INT32 = [0, -1, 1, 0x7fffffff, -0x80000000, 0x7ffffffe, 255, 0x10000];

function mutate(base: Buffer, rnd: Xoshiro128): Buffer {
  const f = Buffer.from(base);
  // Mostly damage the body (to get past the header); sometimes the header too.
  const from = rnd.chance(0.15) || f.length <= 8 ? 0 : 8;
  const pos = (): number => rnd.int(from, Math.max(from, f.length - 1));
  const op = rnd.int(0, 6);
  switch (op) {
    case 0: { // bit flips
      const n = rnd.int(1, 4);
      for (let i = 0; i < n && f.length > 0; i++) { const p = pos(); f[p] = (f[p] ?? 0) ^ (1 << rnd.int(0, 7)); }
      return f;
    }
    case 1: { // boundary byte
      if (f.length > 0) f[pos()] = [0x00, 0xff, 0x7f, 0x80, 0x01][rnd.int(0, 4)]!;
      return f;
    }
    case 2: { // boundary int32 / int16 (lengths and counts)
      const p = pos();
      const v = BOUNDARY_INT32[rnd.int(0, BOUNDARY_INT32.length - 1)]!;
      if (p + 4 <= f.length && rnd.chance(0.5)) f.writeInt32BE(v, p);
      else if (p + 2 <= f.length) f.writeInt16BE(((v % 0x8000) + 0x8000) % 0x8000 - (v < 0 ? 0x8000 : 0), p);
      return f;
    }
    case 3: // truncate
      return f.subarray(0, rnd.int(0, f.length));
    case 4: { // extend with random bytes
      const extra = Buffer.alloc(rnd.int(1, 16));
      for (let i = 0; i < extra.length; i++) extra[i] = rnd.int(0, 255);
      return Buffer.concat([f, extra]);
    }
    case 5: { // splice: repeat or drop a range
      const a = pos();
      const b = Math.min(f.length, a + rnd.int(1, 24));
      return rnd.chance(0.5) ? Buffer.concat([f.subarray(0, b), f.subarray(a, b), f.subarray(b)]) : Buffer.concat([f.subarray(0, a), f.subarray(b)]);
    }
    default: { // random version in the header (in and out of range), body kept
      if (f.length >= 4) f.writeInt16BE(rnd.int(-1, 20), 2);
      return f;
    }
  }
}

describe('fuzz: server parse + dispatch (in-process)', function () {
  this.timeout(120_000);
  const served = [...handlers.keys()].sort((a, b) => a - b);
  // Most fuzzed requests fail (unknown topics, bad batches): FlotillaErrors by the million, whose
  // stack traces are most of the cost and are never read here.
  let stackTraceLimit = Error.stackTraceLimit;
  before(() => { stackTraceLimit = Error.stackTraceLimit; Error.stackTraceLimit = 0; });
  after(() => { Error.stackTraceLimit = stackTraceLimit; });

  for (const apiKey of served) {
    const api = apis.get(apiKey) as unknown as ApiDefinition<unknown, unknown>;
    it(`${api.name}: ${FRAMES_PER_API} generated and mutated frames end cleanly`, async () => {
      const seed = SEED + apiKey;
      const started = performance.now();
      const base = corpus(api, seed);
      const rnd = new Xoshiro128(seed);
      const metrics = new ServerMetrics();
      let env: DispatchEnv = { broker: freshBroker(), metrics, responseBytesMax: 16 * 1024 * 1024 };
      const outcomes = { response: 0, none: 0, close: 0 };
      for (let i = 0; i < FRAMES_PER_API; i++) {
        // Every other block of frames runs with the authorizer on and no ACL: every check denies
        // (the refusal paths, and their audit lines), for the principal of a plaintext session.
        if (i % 2000 === 0) {
          const broker = freshBroker();
          const authorizer = (i / 2000) % 2 === 1 ? new Authorizer({ superUsers: [], allowEveryoneIfNoAclFound: false }, () => broker.image().acls) : undefined;
          env = { ...env, broker, authorizer, audit: authorizer === undefined ? undefined : new AuditLog(() => undefined) };
        }
        const source = base[rnd.int(0, base.length - 1)]!;
        // A quarter of the frames are unmutated generated requests (the handlers' full paths).
        const frame = rnd.chance(0.25) ? source : mutate(source, rnd);
        let outcome;
        try {
          outcome = await processFrame(frame, env);
        } catch (err) {
          throw new Error(`seed ${seed} frame ${i} (${frame.toString('hex').slice(0, 400)}) rejected: ${String(err)}`);
        }
        outcomes[outcome.kind]++;
        if (outcome.kind === 'response' && i % 16 === 0) {
          // Responses must be well-formed frames of the request's API and version.
          const p = parseFrame(frame, metrics);
          expect(outcome.frame.readInt32BE(0)).to.equal(outcome.frame.length - 4);
          if (p.kind === 'request') {
            // A mutation may have turned the key into another served API's: parse as that one.
            const answered = (apis.get(p.header.apiKey) ?? api) as unknown as ApiDefinition<unknown, unknown>;
            const r = parseResponse(answered, p.header.apiVersion, outcome.frame.subarray(4));
            expect(r.correlationId).to.equal(p.header.correlationId);
          }
        }
      }
      expect(metrics.handlerFailures, `seed ${seed}: handler failures`).to.equal(0);
      expect(outcomes.response + outcomes.none + outcomes.close).to.equal(FRAMES_PER_API);
      // Both kinds of path are exercised: answered requests and rejected frames.
      expect(outcomes.response, 'answered').to.be.greaterThan(FRAMES_PER_API / 10);
      expect(outcomes.close, 'closed').to.be.greaterThan(FRAMES_PER_API / 10);
      const ms = performance.now() - started;
      console.log(`      ${api.name}: seed ${seed}, ${base.length} corpus frames, ${JSON.stringify(outcomes)}, ${ms.toFixed(0)} ms`);
    });
  }
});
