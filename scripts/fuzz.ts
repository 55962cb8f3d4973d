/**
 * `npm run fuzz` (node dist/scripts/fuzz.js [--frames N] [--seed S] [--api NAME]): the server's
 * parse + dispatch fuzz (spec/server/fuzz.spec.ts) at 100,000 frames per served API — about 15 s
 * per API on the reference machine, so minutes for the whole table; the test suite runs the
 * same spec at 4,000 frames per API to stay near 20 s. Prints each API's seed and outcome counts;
 * FUZZ_SEED (or --seed) replays a run. Exits with mocha's status.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const spec = join(root, 'dist', 'spec', 'server', 'fuzz.spec.js');
const api = arg('api');
const env: NodeJS.ProcessEnv = { ...process.env, FUZZ_FRAMES: arg('frames') ?? process.env['FUZZ_FRAMES'] ?? '100000' };
const seed = arg('seed');
if (seed !== undefined) env['FUZZ_SEED'] = seed;
const mochaArgs = [join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--no-config', '--timeout', '0', '--reporter', 'spec', '--enable-source-maps', spec];
if (api !== undefined) mochaArgs.push('--grep', `${api}:`);
const r = spawnSync(process.execPath, mochaArgs, { stdio: 'inherit', env });
process.exit(r.status ?? 1);
