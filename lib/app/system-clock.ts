/**
 * The real clock, built only here at the composition root; every other layer takes a Clock.
 */
import type { Clock } from '../base/clock.js';

export const systemClock: Clock = Object.freeze({
  nowMs: () => performance.now(),
  wallMs: () => Date.now(),
});
