// `flotilla quotas set | list | remove` as a real process against an in-process KafkaServer (the
// in-memory broker applies AlterClientQuotas with the controller's rules): the entity options
// (--user, --client-id, --ip, --default TYPE), values set, listed with filters and removed; bad
// values refused by the cluster (exit 1, INVALID_REQUEST and its message), bad usage exit 2; and
// the live rate beside each limit when the node's /status reports `quotas` (a real HTTP server at
// the node's client port plus --metrics-port-offset serving the figures the enforcement reports).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { type Server, createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { KafkaServer } from '../../lib/server/listener.js';
import { startServer } from '../server/helpers.js';
import type { MemoryBroker } from '../server/memory-broker.js';

const bin = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));

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

/** An HTTP server answering /status with `body`, on the first free port above `from`. */
async function statusServer(from: number, body: unknown): Promise<{ server: Server; port: number }> {
  for (let port = from + 1; port < from + 50; port++) {
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/status' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) return { server, port };
  }
  throw new Error('no free port for the /status server');
}

describe('cli: flotilla quotas', function () {
  this.timeout(30_000);
  let server: KafkaServer;
  let broker: MemoryBroker;
  let port: number;
  let status: { server: Server; port: number };

  before(async () => {
    ({ server, broker, port } = await startServer());
    status = await statusServer(port, {
      quotas: [
        { entity: [{ type: 'client-id', name: 'app' }], limits: { producer_byte_rate: 1048576 }, rates: { producer_byte_rate: 524288.5 }, throttleTimeMs: 0, throttledRequests: 0 },
      ],
    });
  });

  after(async () => {
    await server?.close();
    await new Promise((r) => status?.server.close(r));
  });

  const run = (args: string[]) => flotilla([...args, '-b', `127.0.0.1:${port}`]);

  it('set, list (with the live rate from /status), filter, remove', async () => {
    const a = await run(['quotas', 'set', '--client-id', 'app', '--set', 'producer_byte_rate=1048576,consumer_byte_rate=2048']);
    expect(a.code, a.stderr).to.equal(0);
    expect(a.stdout).to.contain('quotas of client-id=app: producer_byte_rate=1048576, consumer_byte_rate=2048: done');
    expect((await run(['quotas', 'set', '--default', 'client-id', '--set', 'request_percentage=12.5'])).code).to.equal(0);
    expect((await run(['quotas', 'set', '--user', 'alice', '--default', 'client-id', '--set', 'controller_mutation_rate=2'])).code).to.equal(0);
    expect((await run(['quotas', 'set', '--ip', '10.0.0.1', '--set', 'connection_creation_rate=5'])).code).to.equal(0);
    const dry = await run(['quotas', 'set', '--user', 'bob', '--set', 'producer_byte_rate=1', '--validate-only']);
    expect(dry.stdout).to.contain('valid (nothing changed: --validate-only)');
    expect(broker.clientQuotas.size).to.equal(4);

    const list = await run(['quotas', 'list', '--metrics-port-offset', String(status.port - port)]);
    expect(list.code, list.stderr).to.equal(0);
    const lines = list.stdout.split('\n').map((l) => l.trim().split(/\s{2,}/));
    expect(lines[0]).to.deep.equal(['ENTITY', 'KEY', 'LIMIT', 'NODE 1 RATE']);
    expect(lines).to.deep.include(['client-id=app', 'producer_byte_rate', '1048576', '524289']);
    expect(lines).to.deep.include(['client-id=app', 'consumer_byte_rate', '2048', '-']);
    expect(lines).to.deep.include(['client-id=<default>', 'request_percentage', '12.5', '-']);
    expect(lines).to.deep.include(['user=alice, client-id=<default>', 'controller_mutation_rate', '2', '-']);
    expect(lines).to.deep.include(['ip=10.0.0.1', 'connection_creation_rate', '5', '-']);

    // Without /status (the default offset reaches no server here): the limits only.
    const plain = await run(['quotas', 'list', '--no-rates']);
    expect(plain.stdout.split('\n')[0]!.trim().split(/\s{2,}/)).to.deep.equal(['ENTITY', 'KEY', 'LIMIT']);

    const json = JSON.parse((await run(['quotas', 'list', '--client-id', 'app', '--strict', '--json', '--metrics-port-offset', String(status.port - port)])).stdout) as unknown[];
    expect(json).to.deep.equal([{
      entity: [{ type: 'client-id', name: 'app' }], values: { producer_byte_rate: 1048576, consumer_byte_rate: 2048 }, rates: { 1: { producer_byte_rate: 524288.5 } },
    }]);
    const defaults = JSON.parse((await run(['quotas', 'list', '--default', 'client-id', '--json', '--no-rates'])).stdout) as { entity: unknown }[];
    expect(defaults.map((d) => d.entity)).to.deep.equal([[{ type: 'client-id', name: null }], [{ type: 'user', name: 'alice' }, { type: 'client-id', name: null }]]);
    const anyUser = JSON.parse((await run(['quotas', 'list', '--any', 'user', '--json', '--no-rates'])).stdout) as { entity: unknown }[];
    expect(anyUser.map((d) => d.entity)).to.deep.equal([[{ type: 'user', name: 'alice' }, { type: 'client-id', name: null }]]);

    const removed = await run(['quotas', 'remove', '--client-id', 'app', '--delete', 'producer_byte_rate,consumer_byte_rate']);
    expect(removed.code, removed.stderr).to.equal(0);
    expect(removed.stdout).to.contain('producer_byte_rate removed, consumer_byte_rate removed');
    const after = JSON.parse((await run(['quotas', 'list', '--client-id', 'app', '--json', '--no-rates'])).stdout) as unknown[];
    expect(after).to.deep.equal([]);
  });

  it('bad values: the cluster refuses them (exit 1, INVALID_REQUEST with its message); bad usage exits 2', async () => {
    const before = broker.clientQuotas;
    for (const [value, message] of [['NaN', /must be a number/], ['-5', /greater than 0/], ['1e300', /above the largest allowed/]] as const) {
      const r = await run(['quotas', 'set', '--user', 'bob', '--set', `producer_byte_rate=${value}`]);
      expect(r.code, value).to.equal(1);
      expect(r.stderr).to.match(/flotilla quotas set: user=bob: INVALID_REQUEST: /);
      expect(r.stderr).to.match(message);
    }
    const unknown = await run(['quotas', 'set', '--user', 'bob', '--set', 'bytes_per_hour=5']);
    expect([unknown.code, unknown.stderr]).to.satisfy(([c, e]: [number, string]) => c === 1 && /unknown quota key "bytes_per_hour"/.test(e));
    const usage = [
      ['quotas', 'set', '--user', 'bob', '--set', 'producer_byte_rate=lots'],
      ['quotas', 'set', '--set', 'producer_byte_rate=5'],
      ['quotas', 'set', '--user', 'bob', '--ip', '1.2.3.4', '--set', 'connection_creation_rate=5'],
      ['quotas', 'set', '--user', 'bob', '--default', 'user', '--set', 'producer_byte_rate=5'],
      ['quotas', 'set', '--default', 'group', '--set', 'producer_byte_rate=5'],
      ['quotas', 'set', '--user', 'bob'],
    ];
    for (const args of usage) expect((await run(args)).code, args.join(' ')).to.equal(2);
    expect(broker.clientQuotas).to.equal(before);
  });
});
