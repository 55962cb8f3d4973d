/**
 * The Kafka clients the e2e specs drive that live outside npm: node-rdkafka (today's librdkafka,
 * built by scripts/install-test-clients.sh) and Sarama 1.22.1 (Debian's Go sources, built here in
 * GOPATH mode), and what a spec does when the machine lacks one (missingClient).
 * Used by client-generations.spec.ts and security-clients.spec.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RDKAFKA_CHECK = new URL('./clients/rdkafka-check.js', import.meta.url).pathname;
const GO_DIR = new URL('../../../spec/e2e/go/', import.meta.url).pathname;
/** Debian's Go sources (golang-github-shopify-sarama-dev and its dependencies), built in GOPATH mode. */
const DEBIAN_GOPATH = '/usr/share/gocode';
export const INSTALL = 'bash scripts/install-test-clients.sh';

/** node-rdkafka's directory in the clients cache (scripts/install-test-clients.sh), or null. */
export function nodeRdkafka(): string | null {
  const dir = join(process.env.FLOTILLA_TEST_CLIENTS_DIR ?? '/var/cache/flotilla-test-clients', 'node-rdkafka-3.6.1', 'node_modules', 'node-rdkafka');
  return existsSync(join(dir, 'build', 'Release', 'node-librdkafka.node')) ? dir : null;
}

/**
 * A client this machine lacks: under CI (.ci/run installs every one) the test fails; elsewhere it
 * is skipped with the command that installs it, as the kcat and kafka-python tests are, so that
 * `npm test` passes on a fresh machine.
 */
export function missingClient(ctx: Mocha.Context, message: string): never {
  if (process.env['CI']) throw new Error(message);
  console.log(`      (skipped: ${message})`);
  ctx.skip();
}

/** Whether Debian's golang-github-xdg-go-scram-dev is installed (Sarama's SCRAM needs a client from outside Sarama). */
export function saramaScramInstalled(): boolean {
  return existsSync(join(DEBIAN_GOPATH, 'src', 'github.com', 'xdg-go', 'scram'));
}

/** Whether Go and Debian's Sarama sources are installed (buildSarama can build). */
export function saramaInstalled(): boolean {
  return existsSync(join(DEBIAN_GOPATH, 'src', 'github.com', 'Shopify', 'sarama')) && spawnSync('sh', ['-c', 'command -v go']).status === 0;
}

/**
 * Builds spec/e2e/go/sarama_check.go against Debian's Sarama 1.22.1 (GOPATH mode: nothing is
 * downloaded) into a new temporary directory; with `scram`, sarama_scram.go too (its SCRAM
 * client, which needs saramaScramInstalled()). Returns the binary's path.
 */
export function buildSarama(ctx: Mocha.Context, options: { scram?: boolean } = {}): string {
  if (!saramaInstalled()) {
    missingClient(ctx, 'Sarama is not installed: apt-get install golang-go golang-github-shopify-sarama-dev (.ci/run installs them)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-sarama-'));
  const bin = join(dir, 'sarama_check');
  const files = ['sarama_check.go', ...(options.scram === true ? ['sarama_scram.go'] : [])].map((f) => join(GO_DIR, f));
  execFileSync('go', ['build', '-o', bin, ...files], {
    env: { ...process.env, GO111MODULE: 'off', GOPATH: DEBIAN_GOPATH, GOCACHE: join(tmpdir(), 'flotilla-go-cache'), GOFLAGS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 240_000,
  });
  return bin;
}
