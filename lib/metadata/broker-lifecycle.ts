/**
 * BrokerLifecycle: this node's membership in the cluster, on every node.
 *
 *   const life = new BrokerLifecycle({ ... });
 *   await life.start();               // registers (retried until it succeeds), then heartbeats
 *   await life.waitUntilUnfenced();   // the controller unfences a node once it has caught up
 *   life.fenced; life.on('fenced', (fenced) => ...);
 *   await life.shutdown();            // a last heartbeat with shuttingDown: fenced at once
 *
 * Every `heartbeatIntervalMs` it sends a heartbeat with the metadata index this node has applied
 * (`metadataApplied()`: the metadata RaftNode's applied index). The answer says whether the node
 * is fenced. A heartbeat the controller refuses with details.reregister (the controller does not
 * know this incarnation: a wiped metadata log, an unregistered node) makes it register again.
 * A failed heartbeat is only logged: the next one retries, and the controller's session timeout
 * decides.
 */
import { EventEmitter } from 'node:events';
import { isFlotillaError } from '../base/errors.js';
import type { HeartbeatRequest, HeartbeatResponse, RegisterRequest, RegisterResponse } from './controller-api.js';
import type { BrokerListener } from './records.js';
import { ControllerMethods } from './controller-api.js';

export interface BrokerLifecycleOptions {
  readonly nodeId: number;
  /** A UUID kept on this node's disk; a new one after the disk was wiped. */
  readonly incarnationId: string;
  /** Advertised client endpoint and peer port, and the rack (or null). */
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly rack: string | null;
  /** Every client listener with its advertised address (RegisterBroker version 1); absent: host:clientPort as PLAINTEXT. */
  readonly listeners?: readonly BrokerListener[];
  /** The controller client (ControllerClient fits). */
  readonly controller: { call<T>(method: string, body: unknown, options?: { deadlineMs?: number }): Promise<T> };
  /** The metadata index this node has applied. */
  readonly metadataApplied: () => number;
  /** Default 1500 ms (controller setting brokerHeartbeatIntervalMs). */
  readonly heartbeatIntervalMs?: number;
  readonly logger?: (line: string) => void;
}

export class BrokerLifecycle extends EventEmitter {
  readonly nodeId: number;
  private readonly options: BrokerLifecycleOptions;
  private readonly intervalMs: number;
  private isFenced = true;
  private registered = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private beating: Promise<void> | null = null;
  private unfencedWaiters: (() => void)[] = [];
  readonly stats = { registrations: 0, heartbeats: 0, heartbeatFailures: 0 };

  constructor(options: BrokerLifecycleOptions) {
    super();
    this.nodeId = options.nodeId;
    this.options = options;
    this.intervalMs = options.heartbeatIntervalMs ?? 1500;
  }

  /** True until the controller unfences this node (and again after a fencing). */
  get fenced(): boolean {
    return this.isFenced;
  }

  /** Registers (retrying until it succeeds or the lifecycle stops), then starts heartbeating. */
  async start(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.register();
        break;
      } catch (err) {
        this.log(`registration failed, retrying: ${errText(err)}`);
        await sleep(Math.min(this.intervalMs, 1000));
      }
    }
    if (this.stopped) return;
    this.schedule(0);
  }

  /** Settles once this node is unfenced. */
  waitUntilUnfenced(): Promise<void> {
    if (!this.isFenced) return Promise.resolve();
    return new Promise((resolve) => this.unfencedWaiters.push(resolve));
  }

  /** Stops heartbeating and tells the controller this node goes away (fenced at once). */
  async shutdown(timeoutMs = 3000): Promise<void> {
    this.stop();
    // A heartbeat under way may be retrying against a quorum that is gone (every node stopping
    // at once): wait for it only within the same bound as the final one.
    const started = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.beating?.catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const left = timeoutMs - (Date.now() - started);
    if (!this.registered || left <= 0) return;
    try {
      await this.options.controller.call<HeartbeatResponse>(ControllerMethods.heartbeat, this.request(true), { deadlineMs: left });
      this.setFenced(true);
    } catch (err) {
      this.log(`final heartbeat failed: ${errText(err)}`);
    }
  }

  /** Stops heartbeating without telling the controller (its session will expire). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async register(): Promise<void> {
    const o = this.options;
    const req: RegisterRequest = {
      brokerId: o.nodeId, incarnationId: o.incarnationId, host: o.host, clientPort: o.clientPort, peerPort: o.peerPort, rack: o.rack,
      ...(o.listeners === undefined ? {} : { listeners: o.listeners }),
    };
    const res = await o.controller.call<RegisterResponse>(ControllerMethods.register, req);
    this.stats.registrations++;
    this.registered = true;
    this.setFenced(res.fenced);
    this.log(`registered at metadata index ${res.metadataIndex}`);
  }

  private request(shuttingDown: boolean): HeartbeatRequest {
    return { brokerId: this.nodeId, incarnationId: this.options.incarnationId, metadataApplied: this.options.metadataApplied(), shuttingDown };
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.beating = this.beat().finally(() => {
        this.beating = null;
        this.schedule(this.intervalMs);
      });
    }, delayMs);
    this.timer.unref?.();
  }

  private async beat(): Promise<void> {
    try {
      // One attempt per interval: the next heartbeat is the retry.
      const res = await this.options.controller.call<HeartbeatResponse>(ControllerMethods.heartbeat, this.request(false), { deadlineMs: this.intervalMs });
      this.stats.heartbeats++;
      if (!this.stopped) this.setFenced(res.fenced);
    } catch (err) {
      this.stats.heartbeatFailures++;
      if (isFlotillaError(err) && err.details.reregister === true && !this.stopped) {
        this.log('the controller does not know this incarnation: registering again');
        try {
          await this.register();
        } catch (e) {
          this.log(`registration failed: ${errText(e)}`);
        }
        return;
      }
      this.log(`heartbeat failed: ${errText(err)}`);
    }
  }

  private setFenced(fenced: boolean): void {
    if (fenced === this.isFenced) return;
    this.isFenced = fenced;
    this.log(fenced ? 'fenced' : 'unfenced');
    this.emit('fenced', fenced);
    if (!fenced) {
      const waiters = this.unfencedWaiters;
      this.unfencedWaiters = [];
      for (const w of waiters) w();
    }
  }

  private log(line: string): void {
    this.options.logger?.(`node ${this.nodeId} lifecycle: ${line}`);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}
