/**
 * Timeouts as an input, so that the coordinator's session, rebalance and retention timers run on
 * a test's virtual time. `systemTimers` is the real one (unref'd: a pending session timeout never
 * keeps the process alive).
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Timers {
  /** Calls `fn` once after `delayMs` (>= 0) unless cancelled first. */
  schedule(delayMs: number, fn: () => void): TimerHandle;
}

export const systemTimers: Timers = {
  schedule(delayMs: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, delayMs));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
