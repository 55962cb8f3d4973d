/**
 * One process of an example server (examples/lock, examples/sharded-kv) for the e2e specs: the
 * `--id --data --cluster` command line of examples/common/process.ts, kill -9, and JSON over HTTP.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export class ExampleProcess {
  child: ChildProcess | null = null;
  stderr = '';
  readonly id: number;
  readonly dir: string;
  readonly peerPort: number;
  readonly httpPort: number;
  private readonly server: URL;

  constructor(server: URL, id: number, dir: string, basePort: number) {
    this.server = server;
    this.id = id;
    this.dir = dir;
    this.peerPort = basePort + id;
    this.httpPort = basePort + 100 + id;
  }

  get spec(): string {
    return `${this.id}=127.0.0.1:${this.peerPort}/${this.httpPort}`;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null;
  }

  start(cluster: string, extra: string[] = []): void {
    const args = [this.server.pathname, '--id', String(this.id), '--data', this.dir, '--cluster', cluster, '--tick-ms', '50', ...extra];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      if (this.stderr.length > 2_000_000) this.stderr = this.stderr.slice(-1_000_000);
    });
    this.child = child;
  }

  kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.on('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** JSON (a string body goes as it is) over HTTP: { status, body } (a body that is not JSON: { text }), or null when the process does not answer (down, timeout). */
  async call(method: string, path: string, body?: unknown, timeoutMs = 3000): Promise<{ status: number; body: Record<string, unknown> } | null> {
    if (!this.running) return null;
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}${path}`, {
        method, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs),
        ...(body === undefined ? {} : typeof body === 'string' ? { body } : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
      const text = await res.text();
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = { text };
      }
      return { status: res.status, body: parsed };
    } catch {
      return null;
    }
  }
}

export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
