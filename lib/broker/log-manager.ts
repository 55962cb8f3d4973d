/**
 * LogManager: the node's log maintenance — retention, cleaning, trimming and the flush policy of
 * every data partition replica hosted here (Kafka's LogManager and LogCleaner, in one loop each).
 *
 *   every `checkIntervalMs`, per replica:
 *     - its topic's config (topic values over the cluster defaults) sets its rolling and flush policy;
 *     - on the leader: retention moves the log start (a LogStart batch), and a compacted topic's
 *       cleaning is ordered when due (a Clean batch);
 *     - on every replica: whole segments below the log start go behind a snapshot (trimLog), and
 *       flush.ms is applied between appends;
 *   the cleaner loop: one pass at a time, over the replicas whose last Clean command it has not
 *   carried out, bounded by the cleaner's memory and I/O settings (cleaner.ts).
 *
 * Everything that changes what clients see goes through the log; this loop only decides when.
 */
import type { Clock } from '../base/clock.js';
import { type SettingsOf, validateSettings } from '../base/settings.js';
import type { TopicConfig } from '../metadata/topic-config.js';
import { LogCleaner } from './cleaner.js';
import type { Partition } from './partition.js';

export const logManagerSettings = {
  checkIntervalMs: { type: 'int', default: 1_000, min: 10, max: 3_600_000, unit: 'ms', doc: 'how often retention, trimming, cleaning orders and flush.ms are checked for every partition' },
  cleanerBackoffMs: { type: 'int', default: 15_000, min: 0, max: 3_600_000, unit: 'ms', doc: "least time between two cleaning passes ordered for a partition (Kafka's log.cleaner.backoff.ms)" },
  proposeTimeoutMs: { type: 'int', default: 30_000, min: 100, max: 3_600_000, unit: 'ms', doc: 'how long a LogStart or Clean batch may take to commit' },
  cleanerEnabled: { type: 'bool', default: true, doc: "whether this node cleans compacted topics (Kafka's log.cleaner.enable)" },
} as const;

export type LogManagerSettings = SettingsOf<typeof logManagerSettings>;

export interface LogManagerOptions {
  /** The data partition replicas hosted here now. */
  readonly partitions: () => readonly Partition[];
  /** The effective config of a topic (undefined: the topic is gone). */
  readonly topicConfig: (topic: string) => TopicConfig | undefined;
  readonly clock: Clock;
  readonly settings?: Readonly<Record<string, unknown>>;
  readonly cleaner?: Readonly<Record<string, unknown>>;
  readonly logger?: (line: string) => void;
}

export class LogManager {
  readonly settings: LogManagerSettings;
  readonly cleaner: LogCleaner;
  readonly stats = { retentionMoves: 0, cleansOrdered: 0, trims: 0, errors: 0 };
  private readonly options: LogManagerOptions;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private cleanerTimer: ReturnType<typeof setTimeout> | null = null;
  private cleaning: Promise<void> = Promise.resolve();
  private closed = false;
  /** Replicas whose maintenance round is under way, and those rounds. */
  private readonly busy = new Set<Partition>();
  private readonly running = new Set<Promise<void>>();

  constructor(options: LogManagerOptions) {
    this.options = options;
    this.settings = validateSettings(logManagerSettings, options.settings, 'logs');
    this.cleaner = new LogCleaner({ settings: options.cleaner, logger: options.logger });
  }

  start(): void {
    this.schedule();
    if (this.settings.cleanerEnabled) this.scheduleCleaner(this.settings.checkIntervalMs);
  }

  /**
   * One maintenance round over every replica now (tests; the timer calls it too). Replicas are
   * maintained side by side: one whose LogStart or Clean batch is slow to commit holds up only
   * itself (a replica still busy from the last round is skipped).
   */
  async tick(): Promise<void> {
    const now = this.options.clock.wallMs();
    const rounds: Promise<void>[] = [];
    for (const p of this.options.partitions()) {
      if (this.closed) break;
      if (p.isClosed || this.busy.has(p)) continue;
      const cfg = this.options.topicConfig(p.topic);
      if (cfg === undefined) continue;
      p.configure(cfg);
      // Most replicas have nothing to do: no promise, no bookkeeping for them.
      if (!p.maintenanceDue(now, this.settings.cleanerBackoffMs)) continue;
      this.busy.add(p);
      const round = this.maintain(p, now).finally(() => {
        this.busy.delete(p);
        this.running.delete(round);
      });
      this.running.add(round);
      rounds.push(round);
    }
    await Promise.all(rounds);
  }

  private async maintain(p: Partition, now: number): Promise<void> {
    await this.step(p, 'retention', async () => {
      if ((await p.enforceRetention(now, this.settings.proposeTimeoutMs)) !== null) this.stats.retentionMoves++;
    });
    await this.step(p, 'clean order', async () => {
      if (await p.orderCleaning(now, this.settings.cleanerBackoffMs, this.settings.proposeTimeoutMs)) this.stats.cleansOrdered++;
    });
    await this.step(p, 'trim', async () => {
      if (await p.trimLog()) this.stats.trims++;
    });
    await this.step(p, 'flush', () => p.syncIfDue());
  }

  /** Cleaning passes until no replica has one due (tests; the cleaner loop calls it too). */
  async cleanAll(): Promise<number> {
    let passes = 0;
    for (let again = true; again && !this.closed;) {
      again = false;
      for (const p of this.options.partitions()) {
        if (this.closed || p.isClosed || !p.topicConfig?.cleanupPolicy.compact) continue;
        try {
          const report = await this.cleaner.clean(p);
          if (report !== null) {
            passes++;
            // A pass that covered part of its range (the map budget) goes on at once; one that
            // stopped (a segment not applied yet) waits for the next round.
            if (!report.stopped && (await this.cleaner.due(p))) again = true;
          }
        } catch (err) {
          this.stats.errors++;
          this.log(`${p.topic}-${p.partition}: cleaning failed: ${errText(err)}`);
        }
      }
    }
    return passes;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.cleanerTimer) clearTimeout(this.cleanerTimer);
    await this.cleaning;
    await Promise.all([...this.running]);
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      // The next round does not wait for this one: a replica still busy is skipped then.
      this.tick().catch((err: unknown) => this.log(`log maintenance failed: ${errText(err)}`));
      this.schedule();
    }, this.settings.checkIntervalMs);
    this.timer.unref?.();
  }

  private scheduleCleaner(ms: number): void {
    if (this.closed) return;
    this.cleanerTimer = setTimeout(() => {
      this.cleaning = this.cleanAll().then(
        (passes) => this.scheduleCleaner(passes > 0 ? 0 : this.settings.checkIntervalMs),
        (err: unknown) => {
          this.log(`cleaner failed: ${errText(err)}`);
          this.scheduleCleaner(this.settings.checkIntervalMs);
        },
      );
    }, ms);
    this.cleanerTimer.unref?.();
  }

  private async step(p: Partition, what: string, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
    } catch (err) {
      // Not leader any more, a timeout, a closed replica: the next round tries again.
      if (!p.isClosed && !this.closed) {
        this.stats.errors++;
        this.log(`${p.topic}-${p.partition}: ${what}: ${errText(err)}`);
      }
    }
  }

  private log(line: string): void {
    this.options.logger?.(line);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
