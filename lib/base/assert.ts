/**
 * Assertions for programmer errors and violated invariants. A failed assertion means the process
 * can no longer trust its own state: it throws an AssertionFailure, which nothing in lib/ catches,
 * so the node stops loudly rather than corrupting data. Operating errors (not leader, timeout, bad
 * frame, disk full) are FlotillaErrors instead: see errors.ts.
 */
export class AssertionFailure extends Error {
  override readonly name = 'AssertionFailure';
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionFailure(typeof message === 'function' ? message() : message);
  }
}

/** Marks a branch the type system says cannot be reached. */
export function unreachable(value: never, what = 'value'): never {
  throw new AssertionFailure(`unreachable: unexpected ${what} ${String(value)}`);
}
