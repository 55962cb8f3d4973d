/**
 * A log line per key at most once per interval: for client behaviour that is worth knowing about
 * but can repeat on every request (librdkafka 2.x pads requests with bytes Kafka ignores), so the
 * log shows that it happens and how often without one line per request. Lines held back are
 * counted and the next line for that key says how many.
 */
export class ThrottledLog {
  private readonly logger: (line: string) => void;
  private readonly intervalMs: number;
  private readonly now: () => number;
  /** Per key: when it last logged and how many lines were held back since. Bounded by `keysMax`. */
  private readonly keys = new Map<string, { lastMs: number; heldBack: number }>();
  private readonly keysMax: number;

  constructor(logger: (line: string) => void, intervalMs = 10_000, now: () => number = Date.now, keysMax = 1024) {
    this.logger = logger;
    this.intervalMs = intervalMs;
    this.now = now;
    this.keysMax = keysMax;
  }

  /** Logs `line()` unless `key` logged less than the interval ago; `line` is built only when logged. */
  log(key: string, line: () => string): boolean {
    const now = this.now();
    const k = this.keys.get(key);
    if (k !== undefined && now - k.lastMs < this.intervalMs) {
      k.heldBack++;
      return false;
    }
    const held = k?.heldBack ?? 0;
    if (k === undefined && this.keys.size >= this.keysMax) {
      // Callers use a bounded set of keys (API names); a full map is forgotten rather than grown.
      this.keys.clear();
    }
    this.keys.set(key, { lastMs: now, heldBack: 0 });
    this.logger(held > 0 ? `${line()} (${held} more like it since the last such line)` : line());
    return true;
  }
}
