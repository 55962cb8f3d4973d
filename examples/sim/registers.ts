/**
 * The simulator example's state machine: versioned registers (a tiny key-value store with
 * compare-and-set), with the bugs people plant in real ones, each behind an option:
 *
 * - `bug: 'clock'`: `apply` stamps each write with `Date.now()`. Every replica applies the entry
 *   at another moment, so the replicas' states differ (the simulator sees it in `digest()`).
 *   The fix: the client stamps the command before proposing it; `apply` uses the stamp.
 * - `bug: 'random'`: `apply` gives each write a random version. Replicas disagree on the result.
 *   The fix: the version is a counter in the state (or the Raft index).
 * - the workload's `staleReads`: reads are served from a random node's machine at once, without
 *   ReadIndex: a follower that is behind answers with an old value (the linearizability check
 *   sees it). The fix: reads go through ReadIndex (the default: RaftNode.read()).
 *
 * Commands are JSON (small and readable in traces): put {key, value, at} -> {version};
 * cas {key, expect, value, at} -> {ok, version}. Reads: get(key) -> {value, version} | null.
 * Uses only the library's public entry.
 */
import type { Model, Prng, SimulatedMachine, Workload, WorkloadOperation } from '../../lib/index.js';

export type RegisterCommand =
  | { readonly op: 'put'; readonly key: string; readonly value: number; readonly at: number }
  | { readonly op: 'cas'; readonly key: string; readonly expect: number; readonly value: number; readonly at: number };

export type RegisterInput = RegisterCommand | { readonly op: 'get'; readonly key: string };

export type RegisterOutput = { readonly version: number } | { readonly ok: boolean; readonly version: number } | { readonly value: number; readonly version: number } | null;

interface Cell {
  value: number;
  version: number;
  /** When the value was written (ms since the epoch). */
  modifiedAt: number;
}

export interface RegistersOptions {
  readonly bug?: 'clock' | 'random' | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Registers implements SimulatedMachine<RegisterOutput> {
  private cells = new Map<string, Cell>();
  private readonly bug: 'clock' | 'random' | null;

  constructor(options: RegistersOptions = {}) {
    this.bug = options.bug ?? null;
  }

  apply(command: Uint8Array): RegisterOutput {
    const c = JSON.parse(decoder.decode(command)) as RegisterCommand;
    const cell = this.cells.get(c.key);
    if (c.op === 'cas' && (cell?.value ?? 0) !== c.expect) return { ok: false, version: cell?.version ?? 0 };
    const version = this.bug === 'random' ? Math.floor(Math.random() * 1e9) : (cell?.version ?? 0) + 1;
    const modifiedAt = this.bug === 'clock' ? Date.now() : c.at;
    this.cells.set(c.key, { value: c.value, version, modifiedAt });
    return c.op === 'cas' ? { ok: true, version } : { version };
  }

  get(key: string): RegisterOutput {
    const cell = this.cells.get(key);
    return cell ? { value: cell.value, version: cell.version } : null;
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify([...this.cells]));
  }

  restore(data: Uint8Array): void {
    this.cells = new Map(JSON.parse(decoder.decode(data)) as [string, Cell][]);
  }

  /** The whole state, keys in order: equal on two replicas exactly when their states are. */
  digest(): string {
    return JSON.stringify([...this.cells].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

export function encodeRegisterCommand(command: RegisterCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/** The sequential specification: one register per key (checked key by key). */
export const registersModel: Model<{ readonly value: number; readonly version: number }, RegisterInput, RegisterOutput> = {
  init: () => ({ value: 0, version: 0 }),
  step(state, input) {
    switch (input.op) {
      case 'get':
        return { state, output: state.version === 0 ? null : { value: state.value, version: state.version } };
      case 'put': {
        const next = { value: input.value, version: state.version + 1 };
        return { state: next, output: { version: next.version } };
      }
      case 'cas': {
        if (state.value !== input.expect) return { state, output: { ok: false, version: state.version } };
        const next = { value: input.value, version: state.version + 1 };
        return { state: next, output: { ok: true, version: next.version } };
      }
    }
  },
  partition: (input) => input.key,
  describe: (input, output) => `${input.op}(${input.key}${input.op === 'get' ? '' : input.op === 'cas' ? `, ${input.expect} -> ${input.value}` : `, ${input.value}`}) -> ${output === undefined ? '?' : JSON.stringify(output)}`,
};

const KEYS = ['a', 'b', 'c'];

/** Three clients: puts, compare-and-sets and gets on three keys; `staleReads` plants the stale-read bug. */
export function registersWorkload(options: { readonly staleReads?: boolean } = {}): Workload<RegisterInput, Registers> {
  return {
    clients: 3,
    next(prng: Prng): WorkloadOperation<RegisterInput, Registers> {
      const key = KEYS[prng.int(0, KEYS.length - 1)]!;
      const r = prng.next();
      if (r < 0.35) {
        // The client stamps the write: every replica applies the same time.
        const input: RegisterCommand = { op: 'put', key, value: prng.int(1, 9), at: Date.now() };
        return { input, command: encodeRegisterCommand(input) };
      }
      if (r < 0.55) {
        const input: RegisterCommand = { op: 'cas', key, expect: prng.int(0, 9), value: prng.int(1, 9), at: Date.now() };
        return { input, command: encodeRegisterCommand(input) };
      }
      return { input: { op: 'get', key }, read: (m) => m.get(key), local: options.staleReads === true };
    },
  };
}
