// The `flotilla` command as a real process (bin/flotilla.js -> dist/lib/cli/main.js), for what needs
// no running cluster: help, bad settings, usage errors, an unreachable cluster.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagOf, nodeSettings } from '../../lib/app/config.js';

const bin = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function flotilla(args: string[], env: Record<string, string> = {}, stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    // A clean environment: no FLOTILLA_* settings leak in from the shell running the tests.
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOTILLA_')));
    const child = spawn(process.execPath, [bin, ...args], { env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** A TCP port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const valid = ['--node-id', '1', '--data-dir', '/tmp/flotilla-never-created', '--controllers', '1@127.0.0.1:19092'];

describe('cli: flotilla as a process', function () {
  this.timeout(20_000);

  it('--help lists the commands; --version prints the version', async () => {
    const help = await flotilla(['--help']);
    expect(help.code).to.equal(0);
    for (const cmd of ['start', 'local', 'topic', 'cluster', 'produce', 'consume']) expect(help.stdout).to.match(new RegExp(`^  ${cmd}\\b`, 'm'));
    const version = await flotilla(['--version']);
    expect(version.code).to.equal(0);
    expect(version.stdout.trim()).to.match(/^\d+\.\d+\.\d+/);
  });

  it('start --help has a flag for every node setting', async () => {
    const help = await flotilla(['start', '--help']);
    expect(help.code).to.equal(0);
    for (const name of Object.keys(nodeSettings)) expect(help.stdout, name).to.contain(flagOf(name));
    expect(help.stdout).to.contain('--config <file>');
    expect(help.stdout).to.contain('--no-fsync');
    expect(help.stdout).to.not.contain('--stop-with-stdin');
  });

  it('topic, cluster, local, produce and consume have help', async () => {
    for (const args of [['topic', '--help'], ['topic', 'create', '--help'], ['topic', 'alter-config', '--help'], ['cluster', 'status', '--help'], ['cluster', 'config', '--help'], ['local', '--help'], ['produce', '--help'], ['consume', '--help']]) {
      const r = await flotilla(args);
      expect(r.code, args.join(' ')).to.equal(0);
      expect(r.stdout).to.match(/^Usage: flotilla /);
    }
  });

  it('start with a bad setting exits 2 with one line naming the setting', async () => {
    const r = await flotilla(['start', '--node-id', 'x', '--data-dir', '/tmp/x', '--controllers', '1@127.0.0.1:19092']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal('flotilla start: invalid setting --node-id: must be an integer, got "x"\n');
    expect(r.stdout).to.equal('');
  });

  it('start names the bad setting whatever its source', async () => {
    const listen = await flotilla(['start', ...valid, '--listen', 'abc']);
    expect([listen.code, listen.stderr]).to.deep.equal([2, 'flotilla start: invalid setting --listen: "abc" is not HOST:PORT\n']);

    const env = await flotilla(['start', ...valid], { FLOTILLA_TICK_MS: '0' });
    expect([env.code, env.stderr]).to.deep.equal([2, 'flotilla start: invalid setting --tick-ms (env FLOTILLA_TICK_MS): must be between 1 and 60000 ms, got 0\n']);

    const missing = await flotilla(['start', '--node-id', '1', '--data-dir', '/tmp/x']);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.match(/^flotilla start: invalid setting --controllers: is required/);

    const dir = mkdtempSync(join(tmpdir(), 'flotilla-cli-'));
    try {
      const file = join(dir, 'node.json');
      writeFileSync(file, JSON.stringify({ nodeId: 1, dataDir: dir, controllers: '1@127.0.0.1:19092', 'log-level': 'chatty' }));
      const fromFile = await flotilla(['start', '--config', file]);
      expect(fromFile.code).to.equal(2);
      expect(fromFile.stderr).to.contain(`invalid setting --log-level (config file ${file}, key "log-level"): must be one of`);
      const flagWins = await flotilla(['start', '--config', file, '--log-level', 'warn', '--controllers', '1@127.0.0.1:1']);
      expect(flagWins.code).to.equal(2);
      expect(flagWins.stderr).to.contain('invalid setting --controllers: lists this node (1) at port 1, but --peer-listen is 127.0.0.1:19092');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('usage errors exit 2', async () => {
    const unknown = await flotilla(['start', '--no-such-flag']);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.contain("unknown option '--no-such-flag'");
    const badInt = await flotilla(['topic', 'create', 't', '--partitions', 'many']);
    expect(badInt.code).to.equal(2);
    expect(badInt.stderr).to.contain('--partitions must be an integer');
    const noTopic = await flotilla(['produce']);
    expect(noTopic.code).to.equal(2);
    expect(noTopic.stderr).to.contain("required option '-t, --topic <topic>' not specified");
    const nodes = await flotilla(['local', '--nodes', '0']);
    expect(nodes.code).to.equal(2);
    expect(nodes.stderr).to.contain('--nodes must be an integer in 1..64');
    const bootstrap = await flotilla(['topic', 'list', '--bootstrap', 'nohostport']);
    expect(bootstrap.code).to.equal(2);
    expect(bootstrap.stderr).to.equal('flotilla topic list: invalid --bootstrap: "nohostport" is not HOST:PORT\n');
  });

  it('an unreachable cluster is one clean line and exit 1 (no stack trace)', async () => {
    const port = await closedPort();
    const commands = [['topic', 'list'], ['cluster', 'status'], ['topic', 'describe', 'x'], ['produce', '--topic', 't']];
    const runs = await Promise.all(commands.map((args) => flotilla([...args, '--bootstrap', `127.0.0.1:${port}`], {}, 'a line\n')));
    for (const [i, args] of commands.entries()) {
      const r = runs[i] as Run;
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' ')).to.match(new RegExp(`^flotilla ${args[0]}( \\w+)?: cannot reach the cluster at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\n$`));
      expect(r.stderr).to.not.match(/\n\s+at /);
    }
  });
});
