/**
 * The quotas of one request (issue 19, KIP-219): what its handler recorded against the client's
 * quotas (lib/quota/manager.ts) and the throttle that results. Created by dispatch only when a
 * quota applies to the client; the handlers see it as `ctx.quota` (null otherwise, and then
 * nothing is measured). The response carries the throttle in `throttle_time_ms` and the
 * connection is muted for that long (listener.ts): the larger of the bandwidth, request-time and
 * mutation throttles, as Kafka applies the larger when several are exceeded.
 */
import type { ClientQuotas, MutationQuota, QuotaManager, Sensor } from '../quota/manager.js';

export class RequestQuota {
  private throttle = 0;
  private sensor: Sensor | null = null;
  /** Event-loop time (ms) of this request so far: parse and the handler's synchronous start. */
  loopMs = 0;
  private readonly mutations: MutationQuota[] = [];
  /** The throttle decided by `finish` (0 until then). */
  decided: { throttleMs: number; sensor: Sensor | null } = { throttleMs: 0, sensor: null };

  readonly manager: QuotaManager;
  readonly quotas: ClientQuotas;

  constructor(manager: QuotaManager, quotas: ClientQuotas) {
    this.manager = manager;
    this.quotas = quotas;
  }

  /** Is request time measured for this client (a request_percentage quota applies)? */
  get timed(): boolean {
    return this.quotas.request_percentage !== null;
  }

  private raise(ms: number, s: Sensor | null): void {
    if (ms > this.throttle) {
      this.throttle = ms;
      this.sensor = s;
    }
  }

  /** A Produce's request bytes. */
  produced(bytes: number): void {
    this.raise(this.manager.recordProduce(this.quotas, bytes), this.quotas.producer_byte_rate);
  }

  /** The most a Fetch may return (getMaxValueInQuotaWindow); Infinity without a consumer quota. */
  fetchCap(): number {
    return this.manager.maxFetchBytes(this.quotas);
  }

  /**
   * A Fetch's response bytes: true when the fetch is throttled, by its bandwidth or its request
   * time (recorded now, as Kafka's handleFetch records both before choosing the response), and
   * then its records must not be sent and its bytes are taken back (unrecordQuotaSensor).
   */
  fetched(bytes: number): boolean {
    this.recordRequestTime();
    const t = this.manager.recordFetch(this.quotas, bytes);
    if (t > 0) this.raise(t, this.quotas.consumer_byte_rate);
    if (this.throttle <= 0) return false;
    this.manager.unrecordFetch(this.quotas, bytes);
    return true;
  }

  private requestRecorded = false;

  private recordRequestTime(): void {
    if (!this.timed || this.requestRecorded) return;
    this.requestRecorded = true;
    this.raise(this.manager.recordRequestTime(this.quotas, this.loopMs), this.quotas.request_percentage);
  }

  /** The controller mutation quota of this request (strict: CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+). */
  mutation(strict: boolean): MutationQuota {
    const m = this.manager.mutation(this.quotas, strict);
    this.mutations.push(m);
    return m;
  }

  /**
   * Records the request time (when timed) and returns the throttle for the response; counted
   * once on the sensor that set it.
   */
  finish(): { throttleMs: number; sensor: Sensor | null } {
    this.recordRequestTime();
    for (const m of this.mutations) this.raise(m.throttleMs(), this.quotas.controller_mutation_rate);
    this.manager.throttled(this.sensor, this.throttle);
    this.decided = { throttleMs: this.throttle, sensor: this.sensor };
    return this.decided;
  }

  /** Time spent encoding the response: recorded after the fact (it weighs on the next requests). */
  encoded(ms: number): void {
    if (this.timed) this.manager.recordRequestTime(this.quotas, ms);
  }
}
