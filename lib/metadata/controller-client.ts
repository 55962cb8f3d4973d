/**
 * ControllerClient: how any node calls the controller (the metadata leader) over PeerRpc.
 *
 * `call(method, body)` sends to the node believed to lead the metadata group: the leader the
 * controller named in its last NOT_CONTROLLER answer, else the local metadata RaftNode's leader
 * (`leaderHint`), else each controller voter in turn. It retries NOT_CONTROLLER, NOT_READY,
 * TIMEOUT and BACKPRESSURE with jittered exponential backoff until `deadlineMs` has passed, then
 * throws the last error. Only a NOT_READY that names its sender as leader (a controller just
 * elected, catching up) sends the retry to the same node; any other NOT_READY (no connection to
 * it, a node starting or stopping) moves on like a timeout, so a controller that died for good
 * is not asked forever (a chaos run found every node heartbeating a dead node for minutes). Other errors (INVALID_REQUEST, POLICY_VIOLATION, ...) are the answer and
 * are thrown at once. A TIMEOUT retried may mean the change applied twice was refused the second
 * time (TOPIC_EXISTS after a create that did apply): the usual indeterminate outcome.
 *
 * With `waitForMetadata`, a call whose answer carries `metadataIndex` > 0 also waits until this
 * node's MetadataStateMachine applied that index (so its own image shows the change).
 */
import type { Clock } from '../base/clock.js';
import { FlotillaError, isFlotillaError } from '../base/errors.js';
import type { Prng } from '../base/prng.js';
import type { PeerRpc } from '../cluster/rpc.js';

export interface ControllerClientOptions {
  readonly nodeId: number;
  readonly rpc: Pick<PeerRpc, 'call'>;
  /** The controller quorum's voters. */
  readonly controllerIds: readonly number[];
  /** The metadata group's leader as this node knows it (RaftNode.leaderId; 0: unknown). */
  readonly leaderHint?: () => number;
  /** This node's metadata state machine, for `waitForMetadata`. */
  readonly metadata?: { waitForIndex(index: number, timeoutMs: number): Promise<void> };
  readonly clock: Clock;
  /** Jitter for the backoff. */
  readonly prng?: Prng;
  /** Time one attempt waits for its answer. Default 5000 ms. */
  readonly attemptTimeoutMs?: number;
  /** Time a call keeps retrying. Default 30000 ms. */
  readonly deadlineMs?: number;
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  readonly logger?: (line: string) => void;
}

export interface ControllerCallOptions {
  /** Overrides the client's deadline for this call. */
  readonly deadlineMs?: number;
  /** Wait until this node's metadata has applied the answer's metadataIndex. */
  readonly waitForMetadata?: boolean;
}

const RETRIABLE = new Set(['NOT_CONTROLLER', 'NOT_READY', 'TIMEOUT', 'BACKPRESSURE']);

export class ControllerClient {
  private readonly options: ControllerClientOptions;
  private readonly controllerIds: readonly number[];
  private knownLeader = 0;
  /** The node that just failed to answer: not asked again first while another may answer. */
  private avoid = 0;
  private rotation = 0;
  private closed = false;
  readonly stats = { calls: 0, attempts: 0, retries: 0 };

  constructor(options: ControllerClientOptions) {
    if (options.controllerIds.length === 0) throw new FlotillaError('INVALID_CONFIG', 'ControllerClient: no controller ids');
    this.options = options;
    this.controllerIds = [...options.controllerIds];
  }

  /**
   * The node the next call goes to first. A leader named by NOT_CONTROLLER or by the local Raft node
   * is taken even when it is not one of the configured controllers: voters change at run time
   * (KIP-853 AddRaftVoter/RemoveRaftVoter), and a voter added since start-up may lead. The configured
   * ids are only where to start when no leader is known.
   */
  target(): number {
    const ids = this.controllerIds;
    if (this.knownLeader > 0) return this.knownLeader;
    const hint = this.options.leaderHint?.() ?? 0;
    if (hint > 0 && hint !== this.avoid) return hint;
    let id = ids[this.rotation % ids.length] ?? 0;
    if (id === this.avoid && ids.length > 1) id = ids[++this.rotation % ids.length] ?? 0;
    return id;
  }

  async call<T>(method: string, body: unknown, callOptions: ControllerCallOptions = {}): Promise<T> {
    const clock = this.options.clock;
    const deadline = clock.nowMs() + (callOptions.deadlineMs ?? this.options.deadlineMs ?? 30_000);
    const attemptTimeoutMs = this.options.attemptTimeoutMs ?? 5_000;
    let backoff = this.options.backoffMinMs ?? 20;
    const backoffMax = this.options.backoffMaxMs ?? 1_000;
    this.stats.calls++;
    for (;;) {
      if (this.closed) throw new FlotillaError('CLOSED', 'controller client is closed');
      const to = this.target();
      this.stats.attempts++;
      let lastError: FlotillaError;
      try {
        const left = Math.max(1, Math.min(attemptTimeoutMs, deadline - clock.nowMs()));
        const result = await this.options.rpc.call<T>(to, method, body, left);
        this.knownLeader = to;
        this.avoid = 0;
        await this.maybeWait(result, callOptions, deadline);
        return result;
      } catch (err) {
        if (!isFlotillaError(err) || !RETRIABLE.has(err.code)) throw err;
        lastError = err;
        const named = typeof err.details.leaderId === 'number' ? err.details.leaderId : 0;
        if (err.code === 'NOT_CONTROLLER' && named > 0 && named !== to) {
          this.knownLeader = named; // go straight there
        } else if ((err.code === 'NOT_READY' && named === to) || err.code === 'BACKPRESSURE') {
          this.knownLeader = to; // the leader, busy or warming up: ask it again
        } else {
          this.knownLeader = 0;
          this.avoid = to; // no answer, or it knows no leader: try another voter
          this.rotation++;
        }
      }
      const wait = this.jitter(backoff);
      if (clock.nowMs() + wait >= deadline) throw lastError;
      this.stats.retries++;
      await sleep(wait);
      backoff = Math.min(backoffMax, backoff * 2);
    }
  }

  close(): void {
    this.closed = true;
  }

  private async maybeWait(result: unknown, callOptions: ControllerCallOptions, deadline: number): Promise<void> {
    if (callOptions.waitForMetadata !== true || this.options.metadata === undefined) return;
    const index = (result as { metadataIndex?: unknown } | null)?.metadataIndex;
    if (typeof index !== 'number' || index <= 0) return;
    await this.options.metadata.waitForIndex(index, Math.max(1, deadline - this.options.clock.nowMs()));
  }

  private jitter(ms: number): number {
    const r = this.options.prng?.next() ?? 0.5;
    return Math.max(1, Math.round(ms * (0.5 + r)));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}
