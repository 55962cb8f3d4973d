// Virtual time for the group coordinator: a Clock and Timers driven by advance(ms).
import type { Clock } from '../../lib/base/clock.js';
import type { TimerHandle, Timers } from '../../lib/group/timers.js';

export class FakeTime implements Clock, Timers {
  private now = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  readonly wallBaseMs = 1_700_000_000_000;

  nowMs(): number { return this.now; }
  wallMs(): number { return this.wallBaseMs + this.now; }

  schedule(delayMs: number, fn: () => void): TimerHandle {
    const id = ++this.seq;
    this.pending.set(id, { at: this.now + Math.max(0, delayMs), fn });
    return { cancel: () => { this.pending.delete(id); } };
  }

  /** Runs every timer due within `ms`, in time order, then settles promise callbacks. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await flush();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= end && (next === undefined || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
      if (next === undefined) break;
      this.pending.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
    await flush();
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
