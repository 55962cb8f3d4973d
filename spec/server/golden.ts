// Golden bytes: a request frame a real client sent must decode and re-encode to the same bytes.
import { expect } from 'chai';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { encodeRequestFrame, parseRequest } from '../../lib/kafka/apis.js';

/** Checks one request frame (without its size prefix); returns "<Api> v<N>". */
export function checkRoundTrip(frame: Buffer): string {
  const parsed = parseRequest(frame);
  if (parsed.kind !== 'request') throw new Error(`unsupported request: key ${parsed.apiKey} v${parsed.apiVersion}`);
  const api = parsed.api as unknown as ApiDefinition<unknown, unknown>;
  const h = parsed.header;
  const again = encodeRequestFrame(api, h.apiVersion, h.correlationId, h.clientId, parsed.body).subarray(4);
  const name = `${api.name} v${h.apiVersion}`;
  expect(again.toString('hex'), name).to.equal(frame.toString('hex'));
  return name;
}
