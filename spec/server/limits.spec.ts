// Bad input at the limits, for every advertised (API, version), generated from the schema
// (spec/kafka/schema-arbitrary.ts limitValue): every field at its minimum (empty arrays and
// strings, most negative integers), at its maximum (most positive integers, 32,767-byte top-level
// strings, top-level arrays as long as a frame of LIMITS_FRAME_BYTES allows), null wherever the
// version allows null, and each of those again with an unknown tagged field in every struct of a
// flexible version. Each frame goes through parseRequest (it must decode to the values sent, the
// unknown tags skipped) and the real dispatch over the in-memory broker: it must be answered (a
// response our decoder reads, to its correlation id) with Kafka error codes the handler chose,
// never UNKNOWN_SERVER_ERROR, never a handler failure, never a closed connection.
// The group APIs reach a real GroupCoordinator; without a transaction coordinator the
// transactional APIs answer COORDINATOR_NOT_AVAILABLE.
import { expect } from 'chai';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { apis, parseRequest, parseResponse } from '../../lib/kafka/apis.js';
import { errorName } from '../../lib/kafka/errors.js';
import { encodeRequestHeader, requestHeaderVersion } from '../../lib/kafka/header.js';
import { Writer } from '../../lib/kafka/primitives.js';
import { type TypeDef, encodeMessage, message } from '../../lib/kafka/schema.js';
import { handlers, processFrame } from '../../lib/server/dispatch.js';
import { type LimitMode, fillUnknownTags, limitValue, withUnknownTags } from '../kafka/schema-arbitrary.js';
import { dispatchEnv } from './helpers.js';

/**
 * The frame cap the maximal arrays fill: 64 KiB in the suite (the file in ~15 s of CPU); a request
 * of n bytes can ask for a response 25 times larger (FindCoordinator v4 keys), so larger caps are
 * for a run of their own: LIMITS_FRAME_BYTES=1048576.
 */
const FRAME_BYTES = Number(process.env['LIMITS_FRAME_BYTES'] ?? 64 * 1024);

type AnyDef = ApiDefinition<unknown, unknown>;

/** A request frame without its size prefix, the body encoded with `type` (maybe the unknown-tag twin). */
function frameOf(api: AnyDef, version: number, correlationId: number, type: TypeDef<unknown>, body: unknown): Buffer {
  const w = new Writer(256, 64 * 1024 * 1024);
  encodeRequestHeader(w, { apiKey: api.apiKey, apiVersion: version, correlationId, clientId: 'limits' }, requestHeaderVersion(api.isFlexible(version)));
  encodeMessage(message(`${api.name}Request`, api.flexibleFrom, type), body, w, version);
  return Buffer.from(w.finish());
}

/** Top-level arrays as long as FRAME_BYTES allows (one element each when that is already too much). */
function maxArrayItems(api: AnyDef, version: number, mode: LimitMode): number {
  const type = api.request.type as TypeDef<unknown>;
  const one = frameOf(api, version, 0, type, limitValue(type, version, mode, 1)).length;
  const two = frameOf(api, version, 0, type, limitValue(type, version, mode, 2)).length;
  if (two === one) return 1; // no top-level array
  return Math.max(1, 1 + Math.floor((FRAME_BYTES - one) / (two - one)));
}

/** Every `errorCode` in a decoded response. */
function errorCodes(v: unknown, out: number[] = []): number[] {
  if (Array.isArray(v)) for (const x of v) errorCodes(x, out);
  else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'errorCode' && typeof x === 'number') out.push(x);
      else errorCodes(x, out);
    }
  }
  return out;
}

describe(`limits: every field at its limits, frames up to ${FRAME_BYTES} bytes (dispatch, in-memory broker)`, function () {
  this.timeout(60_000);
  for (const apiKey of [...handlers.keys()].sort((a, b) => a - b)) {
    const api = apis.get(apiKey) as unknown as AnyDef;
    for (let version = api.minVersion; version <= api.maxVersion; version++) {
      it(`${api.name} v${version}: min, max, null${api.isFlexible(version) ? ', each with unknown tags' : ''} are answered`, async () => {
        const plain = api.request.type as TypeDef<unknown>;
        const tagged = withUnknownTags(plain);
        let correlationId = 0;
        for (const mode of ['min', 'max', 'null'] as const) {
          const items = mode === 'max' ? maxArrayItems(api, version, mode) : 1;
          const body = limitValue(plain, version, mode, items);
          const plainBody = frameOf(api, version, 0, plain, body);
          const variants: [string, Buffer][] = [[mode, frameOf(api, version, ++correlationId, plain, body)]];
          if (api.isFlexible(version)) variants.push([`${mode} + unknown tags`, frameOf(api, version, ++correlationId, tagged, fillUnknownTags(body))]);
          for (const [what, frame] of variants) {
            const name = `${api.name} v${version} ${what} (${frame.length} bytes)`;
            const parsed = parseRequest(frame);
            if (parsed.kind !== 'request') throw new Error(`${name}: unsupported`);
            expect(parsed.trailingBytes, name).to.equal(0);
            // Decoded to the values sent (the unknown tags skipped): re-encoded, the plain frame's
            // bytes (cheaper than a deep comparison of arrays of tens of thousands of elements).
            const again = frameOf(api, version, 0, plain, parsed.body);
            expect(again.equals(plainBody), `${name}: decoded to other values`).to.equal(true);
            const e = dispatchEnv();
            let out;
            try {
              out = await processFrame(frame, e.env);
            } finally {
              e.close();
            }
            if (out.kind !== 'response') throw new Error(`${name}: ${out.kind}${out.kind === 'close' ? ` (${out.reason})` : ''}`);
            expect(e.env.metrics.handlerFailures, name).to.equal(0);
            const res = parseResponse(api, version, out.frame.subarray(4));
            expect(res.correlationId, name).to.equal(parsed.header.correlationId);
            for (const code of errorCodes(res.body)) {
              expect(errorName(code), `${name}: error code ${code}`).to.not.equal(undefined);
              expect(code, `${name}: UNKNOWN_SERVER_ERROR`).to.not.equal(-1);
            }
          }
        }
      });
    }
  }
});
