/**
 * The library's StateMachine interface: what a user of Flotilla's Raft implements to build a
 * replicated state machine (a key-value store, a lock service, Flotilla's own metadata).
 *
 * Lifecycle: on start the node restores the latest snapshot (if any) with `restore`, then applies
 * every committed entry after it, in order, with `apply`. Every replica applies the same entries
 * in the same order, so `apply` must be deterministic: no clock, no randomness, no I/O whose result
 * can differ between replicas. `snapshot` captures the state as of the last applied entry; it is
 * called between two applies, never concurrently with one.
 */
export interface StateMachine<Result = unknown> {
  /** Applies one committed command; the result settles the `propose()` that proposed it. */
  apply(command: Uint8Array, index: number): Result | Promise<Result>;
  /** The whole state as bytes, as of the last applied entry. */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replaces the whole state with a snapshot's bytes. */
  restore(data: Uint8Array): void | Promise<void>;
}
