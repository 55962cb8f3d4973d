/**
 * Time as an input. Pure layers count ticks and never read the clock; the I/O layers take a Clock
 * so tests and the simulator can drive time. Only the composition root builds `systemClock`.
 */
export interface Clock {
  /** Milliseconds on a monotonic clock (not wall time). */
  nowMs(): number;
  /** Milliseconds since the Unix epoch (wall time: for timestamps, never for timeouts). */
  wallMs(): number;
}
