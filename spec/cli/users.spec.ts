// `flotilla user add | list | remove` as a real process against an in-process KafkaServer (the
// in-memory broker applies AlterUserScramCredentials with the controller's rules): the credential
// it writes logs in over SASL (SCRAM and PLAIN), list shows mechanism and iterations only, remove
// takes it away, errors exit 1 with Kafka's code; the password appears in no output.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KafkaConnection } from '../../lib/cli/kafka-connection.js';
import { saslLogin } from '../../lib/kafka/sasl-client.js';
import type { KafkaServer } from '../../lib/server/listener.js';
import { startServer } from '../server/helpers.js';
import { MemoryBroker } from '../server/memory-broker.js';

const bin = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));
const PASSWORD = 'cli-Secret-77';

function flotilla(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOTILLA_')));
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('cli: flotilla user', function () {
  this.timeout(30_000);
  let plain: KafkaServer;
  let sasl: KafkaServer;
  let dir: string;
  let pwFile: string;
  const outputs: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-users-'));
    pwFile = join(dir, 'pw');
    writeFileSync(pwFile, `${PASSWORD}\n`);
    const broker = new MemoryBroker();
    ({ server: plain } = await startServer({}, broker));
    // The same broker (credentials) behind a SASL listener, to log in with what the CLI wrote.
    ({ server: sasl } = await startServer({ listener: { name: 'SASL', securityProtocol: 'SASL_PLAINTEXT' }, sasl: { mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] } }, broker));
  });

  after(async () => {
    await plain?.close();
    await sasl?.close();
    rmSync(dir, { recursive: true, force: true });
    for (const o of outputs) expect(o).to.not.contain(PASSWORD);
  });

  async function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const r = await flotilla([...args, '-b', `127.0.0.1:${plain.address().port}`]);
    outputs.push(r.stdout, r.stderr);
    return r;
  }

  async function login(mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username: string, password: string): Promise<void> {
    const conn = await KafkaConnection.connect('127.0.0.1', sasl.address().port, 5000);
    try {
      await saslLogin(conn, { mechanism, username, password });
    } finally {
      conn.close();
    }
  }

  it('add, list, log in, remove', async () => {
    const added = await run(['user', 'add', 'alice', '--mechanism', 'SCRAM-SHA-512', '--password-file', pwFile]);
    expect(added.code, added.stderr).to.equal(0);
    expect(added.stdout).to.contain('user alice: SCRAM-SHA-512 credential set (8192 iterations)');
    const added256 = await run(['user', 'add', 'alice', '--mechanism', 'scram-sha-256', '--password-file', pwFile, '--iterations', '4096']);
    expect(added256.code, added256.stderr).to.equal(0);
    await login('SCRAM-SHA-512', 'alice', PASSWORD);
    await login('SCRAM-SHA-256', 'alice', PASSWORD);
    await login('PLAIN', 'alice', PASSWORD);
    const listed = await run(['user', 'list', '--json']);
    expect(JSON.parse(listed.stdout)).to.deep.equal([{ user: 'alice', error: null, credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }, { mechanism: 'SCRAM-SHA-512', iterations: 8192 }] }]);
    const table = await run(['user', 'list']);
    expect(table.stdout).to.match(/alice\s+SCRAM-SHA-512\s+8192/);
    const removed = await run(['user', 'remove', 'alice', '--mechanism', 'SCRAM-SHA-512']);
    expect(removed.code, removed.stderr).to.equal(0);
    await login('SCRAM-SHA-512', 'alice', PASSWORD).then(() => expect.fail('logged in after remove'), (err: Error) => expect(err.message).to.match(/SASL_AUTHENTICATION_FAILED/));
    await login('SCRAM-SHA-256', 'alice', PASSWORD);
  });

  it('errors: a missing credential, an unknown user, bad options', async () => {
    const missing = await run(['user', 'remove', 'nobody', '--mechanism', 'SCRAM-SHA-256']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('RESOURCE_NOT_FOUND');
    const unknown = await run(['user', 'list', 'nobody']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stdout).to.contain('RESOURCE_NOT_FOUND');
    const badMech = await run(['user', 'add', 'x', '--mechanism', 'PLAIN', '--password-file', pwFile]);
    expect(badMech.code).to.equal(2);
    const badIter = await run(['user', 'add', 'x', '--mechanism', 'SCRAM-SHA-256', '--password-file', pwFile, '--iterations', '100']);
    expect(badIter.code).to.equal(2);
    const noFile = await run(['user', 'add', 'x', '--mechanism', 'SCRAM-SHA-256', '--password-file', join(dir, 'none')]);
    expect(noFile.code).to.equal(2);
    expect(noFile.stderr).to.contain('ENOENT');
  });
});
