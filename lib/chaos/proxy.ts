/**
 * A fault-injecting TCP proxy on one peer link. Flotilla nodes keep one TCP connection per pair,
 * dialed by the higher id (lib/transport/tcp-transport.ts), so the proxy between a dialer and an
 * acceptor carries both directions of that pair's traffic; each direction can be cut on its own.
 *
 * Per direction: `pass`, `drop` (bytes are swallowed: a blackhole, TCP itself sees nothing wrong)
 * or `delay` (bytes are forwarded `delayMs` later, in order). `refuse` resets every connection and
 * every new one at once (a partition the nodes notice). Healing (`pass` both ways) resets every
 * connection that lost bytes, so the next one starts on a frame boundary, as after a real partition
 * where the idle timeout would have closed it anyway.
 */
import { type Server, type Socket, createConnection, createServer } from 'node:net';

export type DirectionMode = 'pass' | 'drop' | 'delay';

export interface LinkMode {
  /** Bytes from the dialer to the acceptor. */
  readonly toAcceptor: DirectionMode;
  /** Bytes from the acceptor to the dialer. */
  readonly toDialer: DirectionMode;
  /** Reset every connection and refuse new ones. */
  readonly refuse?: boolean;
  readonly delayMs?: number;
}

export const PASS: LinkMode = Object.freeze({ toAcceptor: 'pass', toDialer: 'pass' });

interface Pipe {
  readonly down: Socket;
  readonly up: Socket;
  /** Bytes were dropped: reset it on heal. */
  tainted: boolean;
}

/** Bytes held per direction while delaying; past this they are dropped (and the pipe tainted). */
const DELAY_BYTES_MAX = 64 * 1024 * 1024;

export class LinkProxy {
  readonly dialer: number;
  readonly acceptor: number;
  readonly listenPort: number;
  private readonly target: { host: string; port: number };
  private server: Server | null = null;
  private readonly pipes = new Set<Pipe>();
  private mode: LinkMode = PASS;
  /** Counters, for the run's record. */
  readonly stats = { connections: 0, refused: 0, droppedBytes: 0, forwardedBytes: 0 };

  constructor(options: { dialer: number; acceptor: number; listenPort: number; target: { host: string; port: number } }) {
    this.dialer = options.dialer;
    this.acceptor = options.acceptor;
    this.listenPort = options.listenPort;
    this.target = options.target;
  }

  start(): Promise<void> {
    const server = createServer((down) => this.accept(down));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  get current(): LinkMode {
    return this.mode;
  }

  set(mode: LinkMode): void {
    const healing = mode.toAcceptor === 'pass' && mode.toDialer === 'pass' && !mode.refuse;
    this.mode = mode;
    for (const p of [...this.pipes]) {
      if (mode.refuse || (healing && p.tainted)) this.reset(p);
    }
  }

  private accept(down: Socket): void {
    this.stats.connections++;
    if (this.mode.refuse) {
      this.stats.refused++;
      down.resetAndDestroy();
      return;
    }
    down.setNoDelay(true);
    const up = createConnection({ host: this.target.host, port: this.target.port });
    up.setNoDelay(true);
    const pipe: Pipe = { down, up, tainted: false };
    this.pipes.add(pipe);
    const end = (): void => this.reset(pipe);
    down.on('error', end);
    up.on('error', end);
    down.on('close', end);
    up.on('close', end);
    this.forward(pipe, down, up, 'toAcceptor');
    this.forward(pipe, up, down, 'toDialer');
  }

  private forward(pipe: Pipe, from: Socket, to: Socket, direction: 'toAcceptor' | 'toDialer'): void {
    let heldBytes = 0;
    let lastDueMs = 0;
    from.on('data', (chunk: Buffer) => {
      const mode = this.mode[direction];
      if (mode === 'drop' || (mode === 'delay' && heldBytes + chunk.length > DELAY_BYTES_MAX)) {
        pipe.tainted = true;
        this.stats.droppedBytes += chunk.length;
        return;
      }
      if (mode === 'delay') {
        heldBytes += chunk.length;
        const due = Math.max(Date.now() + (this.mode.delayMs ?? 0), lastDueMs);
        lastDueMs = due;
        setTimeout(() => {
          heldBytes -= chunk.length;
          if (!to.destroyed) this.write(from, to, chunk);
        }, Math.max(0, due - Date.now()));
        return;
      }
      this.write(from, to, chunk);
    });
  }

  private write(from: Socket, to: Socket, chunk: Buffer): void {
    this.stats.forwardedBytes += chunk.length;
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  }

  private reset(pipe: Pipe): void {
    if (!this.pipes.delete(pipe)) return;
    if (!pipe.down.destroyed) pipe.down.resetAndDestroy();
    if (!pipe.up.destroyed) pipe.up.resetAndDestroy();
  }

  async close(): Promise<void> {
    for (const p of [...this.pipes]) this.reset(p);
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
