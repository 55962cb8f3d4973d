// `flotilla start` and `flotilla local` as real processes over a stand-in node (fixtures/fake-node.ts,
// loaded through FLOTILLA_NODE_MODULE): start order, the metrics server, signals, a node that stops
// by itself, prefixed child output and an ordered stop. The real node is the integrator's e2e.
import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/flotilla.js', import.meta.url));
const fakeNode = fileURLToPath(new URL('./fixtures/fake-node.js', import.meta.url));

class Proc {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  readonly exit: Promise<number | null>;
  private waiters: Array<{ test: (l: string) => boolean; resolve: (l: string) => void }> = [];

  constructor(args: string[], env: Record<string, string> = {}) {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FLOTILLA_') && !k.startsWith('FAKE_NODE_')));
    this.child = spawn(process.execPath, [bin, ...args], { env: { ...base, FLOTILLA_NODE_MODULE: fakeNode, ...env } });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      });
    }
    this.exit = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** The first line (seen or to come) that passes `test`. */
  line(test: (l: string) => boolean): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  text(): string {
    return this.lines.join('\n');
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const msg = (m: string) => (l: string) => l.includes(`"msg":"${m}"`);

describe('cli: start and local over a stand-in node', function () {
  this.timeout(30_000);
  let dir: string;
  const procs: Proc[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-cli-life-'));
  });
  afterEach(() => {
    for (const p of procs.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  function start(extra: string[] = [], env: Record<string, string> = {}): Proc {
    const p = new Proc(['start', '--node-id', '1', '--data-dir', dir, '--listen', '127.0.0.1:0', '--peer-listen', '127.0.0.1:19092',
      '--controllers', '1@127.0.0.1:19092', '--metrics-listen', '127.0.0.1:0', ...extra], env);
    procs.push(p);
    return p;
  }

  it('start: logs JSON with the node id, serves /status and /metrics, stops cleanly on SIGTERM (exit 0)', async () => {
    const p = start();
    const started = JSON.parse(await p.line(msg('node started'))) as { nodeId: number; metrics: string };
    expect(started.nodeId).to.equal(1);
    const status = (await (await fetch(started.metrics.replace('/metrics', '/status'))).json()) as unknown;
    expect(status).to.deep.equal({ nodeId: 1, fake: true, controllers: 1, serving: true, fenced: false, unfencedNodes: [1] });
    const metrics = await (await fetch(started.metrics)).text();
    expect(metrics).to.contain('flotilla_raft_groups{node="1"} 1');
    p.child.kill('SIGTERM');
    expect(await p.exit).to.equal(0);
    const order = ['"msg":"starting"', '"msg":"fake node up"', '"msg":"node started"', '"msg":"stopping"', '"msg":"fake node closing"', '"msg":"stopped"'];
    const at = order.map((m) => p.lines.findIndex((l) => l.includes(m)));
    expect(at.every((i) => i >= 0), p.text()).to.equal(true);
    expect([...at].sort((a, b) => a - b), p.text()).to.deep.equal(at);
    for (const line of p.lines) expect(JSON.parse(line)).to.have.property('nodeId', 1);
  });

  it('start: SIGINT stops it too; --log-level filters', async () => {
    const port = await freePort();
    const p = start(['--log-level', 'warn', '--metrics-listen', `127.0.0.1:${port}`]);
    // Nothing is logged at warn: /healthz answering says the signal handlers are in place.
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    p.child.kill('SIGINT');
    expect(await p.exit).to.equal(0);
    expect(p.lines.filter((l) => l.includes('"level":"info"'))).to.deep.equal([]);
  });

  it('start: a node that stops by itself exits 1; a failed start exits 1 with one line on stderr', async () => {
    const self = start([], { FAKE_NODE_STOP_ITSELF: '1' });
    expect(await self.exit).to.equal(1);
    expect(self.text()).to.contain('the node stopped by itself');

    const failed = start([], { FAKE_NODE_FAIL_START: 'disk on fire' });
    expect(await failed.exit).to.equal(1);
    expect(failed.lines).to.include('flotilla start: disk on fire');
  });

  it('start: a taken metrics port fails the start', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const p = start(['--metrics-listen', `127.0.0.1:${port}`]);
      expect(await p.exit).to.equal(1);
      expect(p.text()).to.contain('EADDRINUSE');
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('local: starts N nodes with prefixed output, prints the bootstrap servers, stops them all on SIGTERM', async () => {
    const port = await freePort();
    const p = new Proc(['local', '--nodes', '2', '--data-dir', dir, '--port', String(port), '--stop-timeout-ms', '10000']);
    procs.push(p);
    const bootstrap = await p.line((l) => l.includes('bootstrap servers:'));
    expect(bootstrap).to.contain(`127.0.0.1:${port},127.0.0.1:${port + 1}`);
    await p.line((l) => l.startsWith('[node 1] ') && msg('node started')(l));
    await p.line((l) => l.startsWith('[node 2] ') && msg('node started')(l));
    p.child.kill('SIGTERM');
    expect(await p.exit).to.equal(0);
    expect(p.lines).to.include('flotilla local: stopped');
    for (const id of [1, 2]) {
      expect(p.lines.some((l) => l.startsWith(`[node ${id}] `) && msg('stopped')(l)), p.text()).to.equal(true);
    }
  });

  it('local --log-files: node output goes to DATA/node-i.log; a node that dies is reported, the others keep running', async () => {
    const port = await freePort();
    const p = new Proc(['local', '--nodes', '1', '--data-dir', dir, '--port', String(port), '--log-files'], { FAKE_NODE_STOP_ITSELF: '1' });
    procs.push(p);
    expect(await p.exit).to.equal(1);
    expect(p.lines).to.include('flotilla local: node 1 exited (code 1); the other nodes keep running');
    expect(p.lines).to.include('flotilla local: every node has exited');
    // Where the logs go is said at once, before the banner (which waits for the nodes to serve).
    expect(p.lines.some((l) => l.startsWith('flotilla local: starting 1 node') && l.includes(join(dir, 'node-<i>.log')))).to.equal(true);
    expect(readFileSync(join(dir, 'node-1.log'), 'utf8')).to.contain('the node stopped by itself');
  });
});
