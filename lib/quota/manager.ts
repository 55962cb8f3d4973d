/**
 * QuotaManager: the per-node client quotas of issue 19 (Kafka's ClientQuotaManager,
 * ClientRequestQuotaManager, ControllerMutationQuotaManager and the per-IP connection rate of
 * KIP-612), as pure arithmetic over an injected clock. The listener asks it how long to throttle
 * a client; it never sleeps, never sets a timer, never does I/O.
 *
 * - Entries come from `entries()` (the metadata image's quotas at run time), re-read at most once
 *   per window (`refresh`, also driven by the server's timer), so a quota set or removed applies
 *   within a window.
 * - Resolution, per quota key, the most specific entity with that key wins, Kafka's order:
 *   (user, client-id) → (user, default client-id) → user → (default user, client-id) →
 *   (default user, default client-id) → default user → client-id → default client-id; `ip` then
 *   default ip for connection_creation_rate. A default entity is a per-instance default: every
 *   user (client id) it matches gets its own budget; all connections of one instance share it.
 * - Rates: `windowNum` samples of `windowSizeMs` (Kafka's quota.window.num = 11,
 *   quota.window.size.seconds = 1, SampledStat + Rate: a sample starts at the first record after the
 *   previous one is full; the elapsed time counts at least windowNum - 1 full windows).
 *   throttle = (observed − bound) / bound × elapsed window (QuotaUtils.throttleTime).
 * - request_percentage (single-threaded node): the time a client's requests spend on the event
 *   loop (parsing, the handler's synchronous work, encoding; waits for disk, Raft or a long poll
 *   are not counted) as a percentage of one core over the window: 100 = the whole loop. The
 *   throttle is bounded by one window, as Kafka bounds request throttles.
 * - controller_mutation_rate: Kafka's TokenBucket (burst = windowNum × windowSize × rate,
 *   starts full); strict (CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+) refuses a
 *   topic once the bucket is negative, permissive accepts and throttles.
 * - Bounded state: a sensor with no traffic for windowNum windows, or whose quota is gone, is
 *   dropped on refresh; the resolution cache is cleared when the entries change or grow large.
 */
import { type SettingsOf, validateSettings } from '../base/settings.js';
import type { QuotaEntityPart, QuotaEntry, QuotaKey } from './entries.js';

export const quotaSettings = {
  windowNum: {
    type: 'int', default: 11, min: 2, max: 120,
    doc: 'samples kept per quota rate (Kafka quota.window.num)',
  },
  windowSizeMs: {
    type: 'int', default: 1000, min: 10, max: 60_000, unit: 'ms',
    doc: 'length of one quota sample (Kafka quota.window.size.seconds)',
  },
} as const;

export type QuotaSettings = SettingsOf<typeof quotaSettings>;

/** Quota keys measured per (user, client id). */
export type ClientQuotaKey = Exclude<QuotaKey, 'connection_creation_rate'>;

const RESOLUTION_CACHE_MAX = 10_000;
const DEFAULT = '<default>';

/** The canonical string of an entity ("user=alice/client-id=<default>"); names URI-encoded. */
export function entityString(parts: readonly QuotaEntityPart[]): string {
  const order = { user: 0, 'client-id': 1, ip: 2 } as const;
  return [...parts].sort((a, b) => order[a.type] - order[b.type])
    .map((p) => `${p.type}=${p.name === null ? DEFAULT : encodeURIComponent(p.name)}`).join('/');
}

/** Kafka's SampledStat windows with Rate's measure. */
export class WindowedRate {
  private readonly starts: number[] = [];
  private readonly values: number[] = [];
  private current = 0;
  private readonly windowNum: number;
  private readonly windowMs: number;

  constructor(windowNum: number, windowMs: number) {
    this.windowNum = windowNum;
    this.windowMs = windowMs;
  }

  record(value: number, now: number): void {
    this.purge(now);
    if (this.starts.length === 0) {
      this.starts.push(now);
      this.values.push(0);
      this.current = 0;
    } else if (now >= (this.starts[this.current] as number) + this.windowMs) {
      this.current = (this.current + 1) % this.windowNum;
      if (this.current >= this.starts.length) {
        this.starts.push(now);
        this.values.push(0);
      } else {
        this.starts[this.current] = now;
        this.values[this.current] = 0;
      }
    }
    this.values[this.current] = (this.values[this.current] as number) + value;
  }

  /** Samples older than the whole span are reset (Kafka purgeObsoleteSamples). */
  private purge(now: number): void {
    const span = this.windowNum * this.windowMs;
    for (let i = 0; i < this.starts.length; i++) {
      if (now - (this.starts[i] as number) >= span) {
        this.starts[i] = now;
        this.values[i] = 0;
      }
    }
  }

  /** The elapsed time the rate divides by (Rate.windowSize): at least windowNum − 1 full windows. */
  windowSize(now: number): number {
    this.purge(now);
    const oldest = this.starts.length === 0 ? now : Math.min(...this.starts);
    let elapsed = now - oldest;
    const full = Math.floor(elapsed / this.windowMs);
    const minFull = this.windowNum - 1;
    if (full < minFull) elapsed += (minFull - full) * this.windowMs;
    return elapsed;
  }

  /** Per second. */
  measure(now: number): number {
    const size = this.windowSize(now);
    let total = 0;
    for (const v of this.values) total += v;
    return total / (size / 1000);
  }

  /** The last activity (the newest sample's start), or -Infinity. */
  lastStart(): number {
    return this.starts.length === 0 ? -Infinity : Math.max(...this.starts);
  }
}

/** Kafka's TokenBucket (KIP-599): tokens refill at `rate`/s up to a burst; a record takes them. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly rate: number;
  private readonly burst: number;

  constructor(rate: number, burst: number, now: number) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.last = now;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + this.rate * Math.max(0, now - this.last) / 1000);
    this.last = now;
  }

  measure(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  record(value: number, now: number): void {
    this.refill(now);
    this.tokens = Math.min(this.burst, this.tokens - value);
  }

  /** Time until the bucket is back to zero (ControllerMutationQuotaManager.throttleTimeMs). */
  throttleMs(now: number): number {
    const t = this.measure(now);
    return t >= 0 ? 0 : Math.round(-t / this.rate * 1000);
  }

  lastUse(): number {
    return this.last;
  }
}

/** One quota instance being measured: an entity (user, client id or ip) and one key. */
export interface Sensor {
  readonly key: QuotaKey;
  /** The entity the quota was found on (canonical string, as configured: may name a default). */
  readonly source: string;
  /** The instance measured: user and client id ('' where the matched entity has no such part), or ip. */
  readonly user: string;
  readonly clientId: string;
  readonly ip: string;
  bound: number;
  /** The observed rate (for a mutation quota: partitions accepted per second, shown beside its limit). */
  readonly rate: WindowedRate;
  /** controller_mutation_rate only: the token bucket that decides. */
  bucket: TokenBucket | null;
  /** Throttle time handed out (ms) and how many requests were throttled. */
  throttleTimeMs: number;
  throttled: number;
  lastUsedMs: number;
}

/** The quota sensors that apply to one (user, client id): null for a key without a quota. */
export type ClientQuotas = { readonly [K in ClientQuotaKey]: Sensor | null };

/** A mutation quota for the duration of one request (Kafka's Strict/PermissiveControllerMutationQuota). */
export interface MutationQuota {
  /** Takes `permits` (partitions); false: refused (strict only, the bucket was already negative). */
  tryRecord(permits: number): boolean;
  /** The throttle for this request so far (ms). */
  throttleMs(): number;
}

/** One configured entity with its limits and the live rates of the instances it covers (/status). */
export interface QuotaStatus {
  readonly entity: readonly QuotaEntityPart[];
  readonly limits: Readonly<Partial<Record<QuotaKey, number>>>;
  readonly rates: Readonly<Partial<Record<QuotaKey, number>>>;
  readonly throttleTimeMs: number;
  readonly throttledRequests: number;
}

export interface QuotaManagerOptions {
  readonly entries: () => readonly QuotaEntry[];
  readonly now: () => number;
  readonly settings?: Readonly<Record<string, unknown>>;
}

const clientKeys: readonly ClientQuotaKey[] = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'controller_mutation_rate'];
const NONE: ClientQuotas = Object.freeze({ producer_byte_rate: null, consumer_byte_rate: null, request_percentage: null, controller_mutation_rate: null });

export class QuotaManager {
  readonly settings: QuotaSettings;
  private readonly entries: () => readonly QuotaEntry[];
  readonly now: () => number;
  /** Canonical entity → its entry. */
  private index = new Map<string, QuotaEntry>();
  private lastEntries: readonly QuotaEntry[] | null = null;
  private lastRefreshMs = -Infinity;
  /** Any quota configured at all: false keeps the hot path to this one check. */
  private enabled = false;
  private hasConnectionQuota = false;
  /** `${user}\0${clientId}` → the resolved sensors. */
  private readonly resolved = new Map<string, ClientQuotas>();
  /** `${key}\0${source}\0${instance}` → sensor. */
  private readonly sensors = new Map<string, Sensor>();

  constructor(options: QuotaManagerOptions) {
    this.entries = options.entries;
    this.now = options.now;
    this.settings = validateSettings(quotaSettings, options.settings, 'quota');
    this.refresh();
  }

  /** True when some quota is configured (as of the last refresh). */
  active(): boolean {
    return this.enabled;
  }

  /**
   * Re-reads the entries (at most once per window unless `force`), and drops the sensors whose
   * quota is gone or that saw no traffic for the whole span. Cheap when nothing changed.
   */
  refresh(force = false): void {
    const now = this.now();
    if (!force && now - this.lastRefreshMs < this.settings.windowSizeMs) return;
    this.lastRefreshMs = now;
    const list = this.entries();
    if (list !== this.lastEntries) {
      this.lastEntries = list;
      const index = new Map<string, QuotaEntry>();
      for (const e of list) if (e.values.size > 0) index.set(entityString(e.entity), e);
      if (!sameIndex(index, this.index)) {
        this.index = index;
        this.resolved.clear();
      }
      this.enabled = this.index.size > 0;
      this.hasConnectionQuota = [...this.index.values()].some((e) => e.values.has('connection_creation_rate'));
    }
    const span = this.settings.windowNum * this.settings.windowSizeMs;
    for (const [k, s] of this.sensors) {
      const bound = this.index.get(s.source)?.values.get(s.key);
      if (bound === undefined || now - s.lastUsedMs >= span) this.sensors.delete(k);
      else if (bound !== s.bound) {
        s.bound = bound;
        if (s.bucket !== null) s.bucket = this.bucket(bound, now);
      }
    }
  }

  /**
   * The quotas of a client: null when none applies (the hot path: one flag, then one cached map
   * lookup). `user` is the principal's name (ANONYMOUS before login), `clientId` the header's.
   */
  client(user: string, clientId: string): ClientQuotas | null {
    if (!this.enabled) return null;
    this.refresh();
    if (!this.enabled) return null;
    const k = `${user}\u0000${clientId}`;
    let r = this.resolved.get(k);
    if (r === undefined) {
      r = this.resolve(user, clientId);
      if (this.resolved.size >= RESOLUTION_CACHE_MAX) this.resolved.clear();
      this.resolved.set(k, r);
    }
    return r === NONE ? null : r;
  }

  /** Does the sensor's quota still exist (a muted client is released when it does not)? */
  stillLimited(sensor: Sensor): boolean {
    this.refresh();
    return this.index.get(sensor.source)?.values.has(sensor.key) === true;
  }

  /** Which entity (and its sensor instance) holds `key` for this client, in Kafka's precedence. */
  private resolve(user: string, clientId: string): ClientQuotas {
    const u = (name: string | null): QuotaEntityPart => ({ type: 'user', name });
    const c = (name: string | null): QuotaEntityPart => ({ type: 'client-id', name });
    // [entity, instance user, instance client id]
    const order: [string, string, string][] = [
      [entityString([u(user), c(clientId)]), user, clientId],
      [entityString([u(user), c(null)]), user, clientId],
      [entityString([u(user)]), user, ''],
      [entityString([u(null), c(clientId)]), user, clientId],
      [entityString([u(null), c(null)]), user, clientId],
      [entityString([u(null)]), user, ''],
      [entityString([c(clientId)]), '', clientId],
      [entityString([c(null)]), '', clientId],
    ];
    let any = false;
    const out: Record<ClientQuotaKey, Sensor | null> = { producer_byte_rate: null, consumer_byte_rate: null, request_percentage: null, controller_mutation_rate: null };
    for (const key of clientKeys) {
      for (const [source, iu, ic] of order) {
        const bound = this.index.get(source)?.values.get(key);
        if (bound === undefined) continue;
        out[key] = this.sensor(key, source, iu, ic, '', bound);
        any = true;
        break;
      }
    }
    return any ? out : NONE;
  }

  private bucket(bound: number, now: number): TokenBucket {
    return new TokenBucket(bound, this.settings.windowNum * (this.settings.windowSizeMs / 1000) * bound, now);
  }

  private sensor(key: QuotaKey, source: string, user: string, clientId: string, ip: string, bound: number): Sensor {
    const id = `${key}\u0000${source}\u0000${user}\u0000${clientId}\u0000${ip}`;
    let s = this.sensors.get(id);
    if (s === undefined) {
      const now = this.now();
      const bucketed = key === 'controller_mutation_rate';
      s = {
        key, source, user, clientId, ip, bound,
        rate: new WindowedRate(this.settings.windowNum, this.settings.windowSizeMs),
        bucket: bucketed ? this.bucket(bound, now) : null,
        throttleTimeMs: 0, throttled: 0, lastUsedMs: now,
      };
      this.sensors.set(id, s);
    }
    return s;
  }

  /**
   * Records `value` on a rate sensor and returns the throttle (ms, 0 within the quota), as Kafka's
   * recordAndGetThrottleTimeMs: record first, then compare the rate with the bound.
   */
  private recordRate(s: Sensor, value: number, maxThrottleMs = Infinity): number {
    const now = this.now();
    this.keep(s, now);
    const rate = s.rate;
    rate.record(value, now);
    const observed = rate.measure(now);
    if (observed <= s.bound) return 0;
    const t = Math.min(maxThrottleMs, Math.round((observed - s.bound) / s.bound * rate.windowSize(now)));
    return Math.max(0, t);
  }

  /** A sensor dropped by refresh (idle) but still held by a cached resolution comes back. */
  private keep(s: Sensor, now: number): void {
    s.lastUsedMs = now;
    const id = `${s.key}\u0000${s.source}\u0000${s.user}\u0000${s.clientId}\u0000${s.ip}`;
    if (!this.sensors.has(id)) this.sensors.set(id, s);
  }

  /** Produce: the request's bytes; returns the throttle (ms). */
  recordProduce(q: ClientQuotas, bytes: number): number {
    return q.producer_byte_rate === null ? 0 : this.recordRate(q.producer_byte_rate, bytes);
  }

  /** Fetch: the response's bytes; returns the throttle (ms). A throttled fetch then `unrecordFetch`s them. */
  recordFetch(q: ClientQuotas, bytes: number): number {
    return q.consumer_byte_rate === null ? 0 : this.recordRate(q.consumer_byte_rate, bytes);
  }

  /** Takes back bytes recorded for a fetch answered without them (throttled: no records). */
  unrecordFetch(q: ClientQuotas, bytes: number): void {
    const s = q.consumer_byte_rate;
    if (s === null) return;
    s.rate.record(-bytes, this.now());
  }

  /**
   * The most a fetch may return without being throttled for certain (getMaxValueInQuotaWindow):
   * bound × (windowNum − 1) × window; Infinity without a consumer quota.
   */
  maxFetchBytes(q: ClientQuotas | null): number {
    const s = q?.consumer_byte_rate ?? null;
    if (s === null) return Infinity;
    return Math.max(1, Math.floor(s.bound * (this.settings.windowNum - 1) * this.settings.windowSizeMs / 1000));
  }

  /** The request's event-loop time (ms) as percent of one core; throttle bounded by one window. */
  recordRequestTime(q: ClientQuotas, ms: number): number {
    const s = q.request_percentage;
    if (s === null) return 0;
    return this.recordRate(s, ms / 10, this.settings.windowSizeMs);
  }

  /** The mutation quota of one request; strict per KIP-599's request versions. */
  mutation(q: ClientQuotas | null, strict: boolean): MutationQuota {
    const s = q?.controller_mutation_rate ?? null;
    if (s === null) return { tryRecord: () => true, throttleMs: () => 0 };
    let throttle = 0;
    return {
      tryRecord: (permits: number): boolean => {
        const now = this.now();
        this.keep(s, now);
        const bucket = s.bucket as TokenBucket;
        if (strict && bucket.measure(now) < 0) {
          throttle = Math.max(throttle, bucket.throttleMs(now));
          return false;
        }
        bucket.record(permits, now);
        s.rate.record(permits, now);
        if (!strict) throttle = Math.max(throttle, bucket.throttleMs(now));
        return true;
      },
      throttleMs: () => throttle,
    };
  }

  /** Counts a throttle handed to a client (metrics). */
  throttled(s: Sensor | null, ms: number): void {
    if (s === null || ms <= 0) return;
    s.throttleTimeMs += ms;
    s.throttled++;
  }

  /**
   * A new connection from `ip`: the throttle (ms) when the ip's connection_creation_rate (or the
   * default ip's) is exceeded, else 0. Only recorded where such a quota exists.
   */
  recordConnection(ip: string): number {
    if (!this.enabled || !this.hasConnectionQuota) return 0;
    this.refresh();
    for (const source of [entityString([{ type: 'ip', name: ip }]), entityString([{ type: 'ip', name: null }])]) {
      const bound = this.index.get(source)?.values.get('connection_creation_rate');
      if (bound === undefined) continue;
      const s = this.sensor('connection_creation_rate', source, '', '', ip, bound);
      const t = this.recordRate(s, 1);
      this.throttled(s, t);
      return t;
    }
    return 0;
  }

  /** The live sensors (metrics). */
  liveSensors(): readonly Sensor[] {
    return [...this.sensors.values()];
  }

  /** Observed rate of a sensor now, per second (for a mutation quota: partitions accepted). */
  observed(s: Sensor): number {
    return s.rate.measure(this.now());
  }

  /** Each configured entity with its limits and the summed live rates of the instances it covers. */
  status(): QuotaStatus[] {
    this.refresh();
    const out: QuotaStatus[] = [];
    for (const [source, e] of this.index) {
      const rates: Partial<Record<QuotaKey, number>> = {};
      let throttleTimeMs = 0;
      let throttledRequests = 0;
      for (const s of this.sensors.values()) {
        if (s.source !== source) continue;
        rates[s.key] = (rates[s.key] ?? 0) + this.observed(s);
        throttleTimeMs += s.throttleTimeMs;
        throttledRequests += s.throttled;
      }
      out.push({ entity: e.entity, limits: Object.fromEntries(e.values), rates, throttleTimeMs, throttledRequests });
    }
    return out;
  }
}

function sameIndex(a: ReadonlyMap<string, QuotaEntry>, b: ReadonlyMap<string, QuotaEntry>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, e] of a) {
    const o = b.get(k);
    if (o === undefined || o.values.size !== e.values.size) return false;
    for (const [key, v] of e.values) if (o.values.get(key) !== v) return false;
  }
  return true;
}
