// Golden bytes: a request frame a real client sent must decode and re-encode to the same bytes.
// Frames captured from KafkaJS and kcat are kept as hex under spec/server/fixtures/
// (`FLOTILLA_WRITE_FIXTURES=1` rewrites them from the client tests).
import { expect } from 'chai';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { encodeRequestFrame, parseRequest } from '../../lib/kafka/apis.js';

/** The fixtures folder in the source tree (these helpers run from dist/spec/server). */
export const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'spec', 'server', 'fixtures');

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

/** Writes the first frame of each API and version as fixtures/<client>-<api>-v<N>.hex. */
export function writeFixtures(client: string, frames: readonly Buffer[]): void {
  mkdirSync(fixturesDir, { recursive: true });
  const done = new Set<string>();
  for (const f of frames) {
    const p = parseRequest(f);
    if (p.kind !== 'request') continue;
    const name = `${client}-${p.api.name.toLowerCase()}-v${p.header.apiVersion}`;
    if (done.has(name)) continue;
    done.add(name);
    writeFileSync(join(fixturesDir, `${name}.hex`), `${f.toString('hex')}\n`);
  }
}

/** Every committed fixture: name (file name without .hex) and frame. */
export function readFixtures(): { name: string; frame: Buffer }[] {
  return readdirSync(fixturesDir).filter((f) => f.endsWith('.hex')).sort()
    .map((f) => ({ name: f.slice(0, -4), frame: Buffer.from(readFileSync(join(fixturesDir, f), 'utf8').trim(), 'hex') }));
}

/**
 * One fixture by its name relative to the fixtures folder, without .hex: a top-level capture
 * ("kcat-fetch-v11") or one under a subdirectory ("clients/librdkafka-2.12.0/Metadata-v9").
 */
export function readFixture(name: string): Buffer {
  const rel = normalize(name);
  if (rel.startsWith('..') || rel.startsWith(sep)) throw new Error(`fixture ${name}: not inside ${fixturesDir}`);
  return Buffer.from(readFileSync(join(fixturesDir, `${rel}.hex`), 'utf8').trim(), 'hex');
}
