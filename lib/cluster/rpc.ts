/**
 * PeerRpc: request/response calls between the nodes of a cluster, over the same peer transport
 * (one TCP connection per peer pair) that carries Raft traffic. It multiplexes the transport:
 *
 *   { g: [[groupId, messages], ...] }       Raft (handed to the RaftHost through `raftTransport`, with
 *                                           the frame's blobs: lib/raft/wire.ts)
 *   { q: [callId, method, body] }           a request
 *   { a: [callId, ok (1|0), body] }         its answer; when ok is 0, body is { code, message, details }
 *
 * Calls are for the control plane (broker registration and heartbeats, admin requests forwarded
 * to the controller, leadership reports): small and infrequent. A call settles with the handler's
 * result, with the FlotillaError it threw (same code, message and details), or with TIMEOUT when
 * no answer came in time (lost frame, dead peer: the outcome is unknown). A call to this node
 * itself runs the handler directly. Pending calls are bounded (`maxPendingCalls`).
 */
import { FlotillaError, isFlotillaError, type ErrorCode, ErrorCodes } from '../base/errors.js';
import type { NodeId } from '../raft/core/types.js';
import type { HostTransport } from '../raft/host.js';

export type RpcHandler = (from: NodeId, body: unknown) => unknown;

/** The part of a Transport the RPC layer needs. */
export interface RpcTransport {
  send(to: NodeId, payload: unknown, blobs?: readonly Uint8Array[]): boolean;
  onReceive(handler: (from: NodeId, payload: unknown, blobs: readonly Buffer[]) => void): void;
}

export interface PeerRpcOptions {
  readonly nodeId: NodeId;
  readonly transport: RpcTransport;
  /** Default time a call waits for its answer. */
  readonly timeoutMs?: number;
  readonly maxPendingCalls?: number;
  readonly logger?: (line: string) => void;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  readonly to: NodeId;
}

export class PeerRpc {
  readonly nodeId: NodeId;
  /** Give this to the RaftHost: it sees only Raft payloads. */
  readonly raftTransport: HostTransport;
  private readonly transport: RpcTransport;
  private readonly handlers = new Map<string, RpcHandler>();
  private readonly pending = new Map<number, Pending>();
  private readonly timeoutMs: number;
  private readonly maxPendingCalls: number;
  private readonly logger: ((line: string) => void) | undefined;
  private raftHandler: ((from: NodeId, payload: unknown, blobs: readonly Buffer[]) => void) | null = null;
  private nextId = 1;
  private closed = false;
  readonly stats = { callsSent: 0, callsReceived: 0, timeouts: 0, malformed: 0 };

  constructor(options: PeerRpcOptions) {
    this.nodeId = options.nodeId;
    this.transport = options.transport;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxPendingCalls = options.maxPendingCalls ?? 10_000;
    this.logger = options.logger;
    this.raftTransport = {
      send: (to, payload, blobs) => this.transport.send(to, payload, blobs),
      onReceive: (handler) => {
        this.raftHandler = handler;
      },
    };
    this.transport.onReceive((from, payload, blobs) => this.receive(from, payload, blobs));
  }

  /** Registers the handler of `method` (one per method). */
  handle(method: string, handler: RpcHandler): void {
    if (this.handlers.has(method)) throw new Error(`rpc: a handler for ${method} is already registered`);
    this.handlers.set(method, handler);
  }

  /** Calls `method` on node `to`; settles with its result or its error (TIMEOUT: unknown outcome). */
  call<T = unknown>(to: NodeId, method: string, body: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    if (this.closed) return Promise.reject(new FlotillaError('CLOSED', 'rpc is closed'));
    if (to === this.nodeId) {
      // The handler runs here; the caller still waits no longer than for a remote answer.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new FlotillaError('TIMEOUT', `call ${method} to this node got no answer in ${timeoutMs} ms`)), timeoutMs);
        timer.unref?.();
      });
      return Promise.race([this.invoke(to, method, body) as Promise<T>, timeout]).finally(() => clearTimeout(timer));
    }
    if (this.pending.size >= this.maxPendingCalls) {
      return Promise.reject(new FlotillaError('BACKPRESSURE', `more than ${this.maxPendingCalls} peer calls pending`));
    }
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.stats.timeouts++;
        reject(new FlotillaError('TIMEOUT', `call ${method} to node ${to} got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref?.();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, to });
      this.stats.callsSent++;
      if (!this.transport.send(to, { q: [id, method, body] })) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new FlotillaError('NOT_READY', `no connection to node ${to} for ${method}`));
      }
    });
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new FlotillaError('CLOSED', 'rpc is closed'));
    }
    this.pending.clear();
  }

  private async invoke(from: NodeId, method: string, body: unknown): Promise<unknown> {
    const handler = this.handlers.get(method);
    if (!handler) throw new FlotillaError('INVALID_REQUEST', `node ${this.nodeId} has no rpc method ${method}`);
    return await handler(from, body);
  }

  private receive(from: NodeId, payload: unknown, blobs: readonly Buffer[]): void {
    if (payload === null || typeof payload !== 'object') {
      this.stats.malformed++;
      return;
    }
    const p = payload as { g?: unknown; q?: unknown; a?: unknown };
    if (p.g !== undefined) {
      this.raftHandler?.(from, payload, blobs);
      return;
    }
    if (Array.isArray(p.q) && p.q.length === 3 && typeof p.q[0] === 'number' && typeof p.q[1] === 'string') {
      const [id, method, body] = p.q as [number, string, unknown];
      this.stats.callsReceived++;
      this.invoke(from, method, body).then(
        (result) => this.transport.send(from, { a: [id, 1, result ?? null] }),
        (err: unknown) => {
          if (!isFlotillaError(err)) this.logger?.(`rpc ${method} from node ${from} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
          this.transport.send(from, { a: [id, 0, errorBody(err)] });
        },
      );
      return;
    }
    if (Array.isArray(p.a) && p.a.length === 3 && typeof p.a[0] === 'number') {
      const [id, ok, body] = p.a as [number, number, unknown];
      const pending = this.pending.get(id);
      if (!pending || pending.to !== from) return; // late answer after a timeout
      this.pending.delete(id);
      clearTimeout(pending.timer);
      if (ok === 1) pending.resolve(body);
      else pending.reject(errorFromBody(body));
      return;
    }
    this.stats.malformed++;
  }
}

function errorBody(err: unknown): { code: string; message: string; details: Record<string, unknown> } {
  if (isFlotillaError(err)) {
    return { code: err.code, message: err.message.replace(`${err.code}: `, ''), details: { ...err.details } };
  }
  return { code: 'INVALID_REQUEST', message: err instanceof Error ? err.message : String(err), details: {} };
}

function errorFromBody(body: unknown): FlotillaError {
  const b = (body ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
  const code = typeof b.code === 'string' && b.code in ErrorCodes ? (b.code as ErrorCode) : 'INVALID_REQUEST';
  const details = b.details !== null && typeof b.details === 'object' ? (b.details as Record<string, unknown>) : {};
  return new FlotillaError(code, typeof b.message === 'string' ? b.message : 'remote error', details);
}
