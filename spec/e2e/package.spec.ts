/**
 * Packaging: what a library user gets from `npm install flotilla`.
 *
 * - `npm pack` of the project (dist/ as built), installed into an empty folder with npm
 *   (`--offline` from npm's cache when it holds every dependency, else `--prefer-offline`, which
 *   fetches what is missing from the registry); a program there imports the public entry by the
 *   package name, is type-checked with tsc against the installed types, starts a 3-node in-memory
 *   cluster and commits an entry. A module hook records every module it loads: none of the broker
 *   (lib/kafka, lib/server, lib/broker, lib/cli, ...) nor its Kafka-side dependencies (kafkajs).
 * - The same rule statically, on the repository's own build: the import graph of
 *   dist/lib/index.js.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FILES = join(ROOT, 'spec/e2e/package');
/** Parts of the project a library user must not load (the broker and its front ends). */
const BROKER_DIRS = ['app', 'broker', 'chaos', 'cli', 'cluster', 'group', 'kafka', 'metadata', 'server', 'txn'];
const BROKER_PACKAGES = ['kafkajs', 'commander', 'pino', 'prom-client', '@bokuweb/zstd-wasm', 'fzstd', 'lz4js', 'snappyjs'];

/** Relative imports of a module (static and dynamic), and its package imports. */
function importsOf(file: string): { local: string[]; packages: string[] } {
  const src = readFileSync(file, 'utf8');
  const local: string[] = [];
  const packages: string[] = [];
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) {
    const spec = (m[1] ?? m[2] ?? m[3])!;
    if (spec.startsWith('.')) local.push(resolve(dirname(file), spec));
    else packages.push(spec);
  }
  return { local, packages };
}

function packageName(spec: string): string {
  return spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
}

describe('packaging: the library entry', function () {
  this.timeout(180_000);

  it('dist/lib/index.js imports no broker module and no broker dependency (static import graph)', () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const { local, packages: p } = importsOf(file);
      for (const spec of p) packages.add(packageName(spec));
      for (const f of local) walk(f);
    };
    walk(join(ROOT, 'dist/lib/index.js'));
    // lib/app/system-clock.js (the real Clock, a leaf module) is the one file of lib/app the entry exports.
    const files = [...seen].map((f) => relative(join(ROOT, 'dist/lib'), f)).filter((f) => f !== 'app/system-clock.js');
    expect(importsOf(join(ROOT, 'dist/lib/app/system-clock.js')).local).to.deep.equal([]);
    expect(files.filter((f) => BROKER_DIRS.includes(f.split('/')[0]!)), 'broker modules reached from the entry').to.deep.equal([]);
    expect([...packages].filter((p) => BROKER_PACKAGES.includes(p)), 'broker packages reached from the entry').to.deep.equal([]);
    // Every package the entry needs is a declared dependency (not only a devDependency).
    const declared = Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
    expect([...packages].filter((p) => !p.startsWith('node:') && !declared.includes(p)), 'undeclared packages').to.deep.equal([]);
  });

  it('npm pack installs into an empty folder; a typed program imports flotilla, commits on a 3-node cluster and loads no broker code', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-package-'));
    try {
      const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').at(-1)!;
      const tarball = join(dir, packed);
      const app = join(dir, 'app');
      execFileSync('mkdir', [app]);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'flotilla-user', version: '1.0.0', private: true, type: 'module' }));
      const npmInstall = (mode: string) => spawnSync('npm', ['install', mode, '--no-audit', '--no-fund', '--ignore-scripts', '--fetch-retries=1', tarball], { cwd: app, encoding: 'utf8', timeout: 150_000 });
      let install = npmInstall('--offline');
      let mode = 'offline';
      if (install.status !== 0) {
        // The cache lacks a dependency: fetch what is missing (CI has the registry).
        install = npmInstall('--prefer-offline');
        mode = 'prefer-offline';
      }
      expect(install.status, `npm install (${mode}): ${install.stderr}`).to.equal(0);
      const installed = readdirSync(join(app, 'node_modules'));
      expect(installed).to.include('flotilla');
      console.log(`      npm install --${mode}: ${installed.length} packages in node_modules`);

      // Type-check and compile the user's program against the installed package's .d.ts files.
      copyFileSync(join(FILES, 'consumer.ts.txt'), join(app, 'consumer.ts'));
      const tsc = spawnSync(process.execPath, [
        join(ROOT, 'node_modules/typescript/bin/tsc'), '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
        '--skipLibCheck', 'false', '--typeRoots', join(ROOT, 'node_modules/@types'), '--types', 'node', 'consumer.ts',
      ], { cwd: app, encoding: 'utf8' });
      expect(tsc.status, `tsc: ${tsc.stdout}${tsc.stderr}`).to.equal(0);

      // Run it with a hook that records every module loaded.
      copyFileSync(join(FILES, 'hooks.mjs'), join(app, 'hooks.mjs'));
      copyFileSync(join(FILES, 'register.mjs'), join(app, 'register.mjs'));
      const log = join(app, 'loaded.txt');
      writeFileSync(log, '');
      const run = spawnSync(process.execPath, ['--import', './register.mjs', 'consumer.js'], { cwd: app, encoding: 'utf8', timeout: 30_000, env: { ...process.env, LOADED_LOG: log } });
      expect(run.status, `consumer: ${run.stdout}${run.stderr}`).to.equal(0);
      const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { leader: number; result: number; replicas: number[]; refused: string; isRaftNode: boolean };
      expect(out.result).to.equal(42);
      expect(out.replicas).to.deep.equal([42, 42, 42]);
      expect(out.refused).to.equal('NOT_LEADER');
      expect(out.isRaftNode).to.equal(true);

      const loaded = readFileSync(log, 'utf8').split('\n').filter(Boolean);
      const ours = loaded.filter((u) => u.includes('/node_modules/flotilla/'));
      expect(ours.length, 'modules of the package loaded').to.be.greaterThan(10);
      const broker = ours.filter((u) => !u.endsWith('/dist/lib/app/system-clock.js') && BROKER_DIRS.some((d) => u.includes(`/node_modules/flotilla/dist/lib/${d}/`)));
      expect(broker, 'broker modules loaded').to.deep.equal([]);
      const deps = loaded.filter((u) => BROKER_PACKAGES.some((p) => u.includes(`/node_modules/${p}/`)));
      expect(deps, 'broker dependencies loaded').to.deep.equal([]);
      console.log(`      ${loaded.length} modules loaded (${ours.length} of flotilla); none of the broker`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
