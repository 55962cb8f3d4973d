/**
 * examples/lock: the state machine of a replicated lock service with leases and fencing tokens
 * (the classic use of Chubby, etcd and Consul), its sequential model and a simulator workload.
 *
 * A lock is held by one client until it releases it or its lease runs out. Every grant to a new
 * holder takes the next fencing token of that lock: tokens increase with each grant and are never
 * given twice, so a resource that remembers the highest token it has seen refuses a holder whose
 * lease ran out while it was paused (Kleppmann, "How to do distributed locking", 2016). The
 * lease is the client's promise to stop; the token is what makes a late one harmless.
 *
 * Time: `apply` must be deterministic, so it never reads a clock. Each command carries `now`, the
 * time its proposer stamped (the server that proposed it, from its wall clock), and each lock keeps
 * `clock`, the highest `now` its commands carried: a lease has run out when that clock reaches its
 * `expiresAt`. A stamp older than the lock's clock (a new leader whose clock is behind) does not
 * turn the lock's time back. Clocks that differ between servers move when a lease ends, never who
 * gets which token.
 *
 * Commands (JSON):
 *   acquire {lock, client, ttlMs, now} -> {ok: true, token, expiresAt} (a grant; a holder that
 *           asks again, e.g. a retry after a timeout, keeps its token and gets its lease extended)
 *           | {ok: false, holder, token, expiresAt} (held by another client whose lease runs)
 *   renew   {lock, client, token?, ttlMs, now} -> {ok: true, token, expiresAt} | {ok: false}
 *           (the holder, with its token when given, before its lease ran out)
 *   release {lock, client, token?, now} -> {ok: boolean} (the holder, with its token when given)
 * Reads: get(lock) -> {holder, token, expiresAt, clock} | null (no grant yet).
 *
 * Uses only the library's public entry.
 */
import type { Model, Prng, SimulatedMachine, Workload, WorkloadOperation } from '../../lib/index.js';

export type LockCommand =
  | { readonly op: 'acquire'; readonly lock: string; readonly client: string; readonly ttlMs: number; readonly now: number }
  | { readonly op: 'renew'; readonly lock: string; readonly client: string; readonly token?: number; readonly ttlMs: number; readonly now: number }
  | { readonly op: 'release'; readonly lock: string; readonly client: string; readonly token?: number; readonly now: number };

export type LockInput = LockCommand | { readonly op: 'get'; readonly lock: string };

export type LockResult =
  | { readonly ok: true; readonly token: number; readonly expiresAt: number }
  | { readonly ok: false; readonly holder?: string; readonly token?: number; readonly expiresAt?: number }
  | { readonly ok: boolean };

export interface LockState {
  /** The holder, or '' when free (released, or never granted). */
  readonly holder: string;
  /** The token of the latest grant (0: none yet). */
  readonly token: number;
  readonly expiresAt: number;
  /** The highest `now` of this lock's commands. */
  readonly clock: number;
}

export type LockView = LockState | null;

const FREE: LockState = { holder: '', token: 0, expiresAt: 0, clock: 0 };

/** Longest lease granted (a client asking more gets this). */
export const MAX_TTL_MS = 60_000;

/**
 * The rules, shared by the machine and the model (the model is the machine's sequential
 * specification; a bug planted in the machine is one the model does not share).
 */
export function step(state: LockState, c: LockCommand, bug: LockBug = null): { state: LockState; output: LockResult } {
  const clock = Math.max(state.clock, c.now);
  const ttl = Math.max(1, Math.min(MAX_TTL_MS, Math.floor(c.op === 'release' ? 0 : c.ttlMs)));
  const live = state.holder !== '' && clock < state.expiresAt;
  switch (c.op) {
    case 'acquire': {
      if (live && state.holder !== c.client) {
        return { state: { ...state, clock }, output: { ok: false, holder: state.holder, token: state.token, expiresAt: state.expiresAt } };
      }
      // The holder asking again keeps its token (a retried acquire must not look like a new grant).
      const same = live && state.holder === c.client;
      const token = same || bug === 'reuse-token' ? Math.max(1, state.token) : state.token + 1;
      const next: LockState = { holder: c.client, token, expiresAt: clock + ttl, clock };
      return { state: next, output: { ok: true, token, expiresAt: next.expiresAt } };
    }
    case 'renew': {
      if (!live || state.holder !== c.client || (c.token !== undefined && c.token !== state.token)) return { state: { ...state, clock }, output: { ok: false } };
      const next: LockState = { ...state, expiresAt: clock + ttl, clock };
      return { state: next, output: { ok: true, token: state.token, expiresAt: next.expiresAt } };
    }
    case 'release': {
      if (state.holder !== c.client || (c.token !== undefined && c.token !== state.token)) return { state: { ...state, clock }, output: { ok: false } };
      return { state: { ...state, holder: '', expiresAt: 0, clock }, output: { ok: true } };
    }
  }
}

/** Bugs planted in the machine for the simulator to find (examples/lock/sim-*.ts, spec/examples). */
export type LockBug = 'wall-clock' | 'reuse-token' | null;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class LockMachine implements SimulatedMachine<LockResult> {
  private locks = new Map<string, LockState>();
  private readonly bug: LockBug;

  constructor(options: { readonly bug?: LockBug } = {}) {
    this.bug = options.bug ?? null;
  }

  apply(command: Uint8Array): LockResult {
    const c = decodeLockCommand(command);
    // The planted clock bug: lease expiry judged by the applying replica's own clock.
    const stamped = this.bug === 'wall-clock' ? { ...c, now: Date.now() } : c;
    const { state, output } = step(this.locks.get(c.lock) ?? FREE, stamped, this.bug);
    this.locks.set(c.lock, state);
    return output;
  }

  get(lock: string): LockView {
    const s = this.locks.get(lock);
    return s === undefined || s.token === 0 ? null : { ...s };
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify([...this.locks]));
  }

  restore(data: Uint8Array): void {
    this.locks = data.byteLength === 0 ? new Map() : new Map(JSON.parse(decoder.decode(data)) as [string, LockState][]);
  }

  digest(): string {
    return JSON.stringify([...this.locks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

export function encodeLockCommand(c: LockCommand): Uint8Array {
  return encoder.encode(JSON.stringify(c));
}

/** Parses and checks a command (a malformed one is refused with a clear error, never applied half). */
export function decodeLockCommand(bytes: Uint8Array): LockCommand {
  const c = JSON.parse(decoder.decode(bytes)) as Record<string, unknown>;
  const str = (k: string): boolean => typeof c[k] === 'string' && (c[k] as string).length > 0 && (c[k] as string).length <= 256;
  const num = (k: string): boolean => typeof c[k] === 'number' && Number.isFinite(c[k]);
  const ok = str('lock') && str('client') && num('now') && (c.op === 'release' || num('ttlMs')) && (c.token === undefined || num('token'));
  if (!ok || (c.op !== 'acquire' && c.op !== 'renew' && c.op !== 'release')) throw new Error(`lock: malformed command ${JSON.stringify(c).slice(0, 200)}`);
  return c as unknown as LockCommand;
}

/** The sequential specification, lock by lock: what a correct lock service answers. */
export const lockModel: Model<LockState, LockInput, LockResult | LockView> = {
  init: () => FREE,
  step(state, input) {
    if (input.op === 'get') return { state, output: state.token === 0 ? null : { ...state } };
    return step(state, input);
  },
  partition: (input) => input.lock,
  describe: (input, output) => {
    const out = output === undefined ? '?' : JSON.stringify(output);
    if (input.op === 'get') return `get(${input.lock}) -> ${out}`;
    return `${input.op}(${input.lock}, ${input.client}${'token' in input && input.token !== undefined ? ` #${input.token}` : ''}${input.op === 'release' ? '' : `, ttl ${input.ttlMs}`}, now ${input.now}) -> ${out}`;
  },
};

const LOCKS = ['a', 'b'];

/**
 * Three clients contend for two locks: acquire (short leases, so they run out under pauses and
 * partitions), renew, release, and reads through ReadIndex. Each command is stamped with the
 * client's clock (in the simulator: its node's virtual clock).
 */
export function lockWorkload(): Workload<LockInput, LockMachine> {
  return {
    clients: 3,
    next(prng: Prng, client: number): WorkloadOperation<LockInput, LockMachine> {
      const lock = LOCKS[prng.int(0, LOCKS.length - 1)]!;
      const who = `c${client}`;
      const r = prng.next();
      const ttlMs = prng.int(20, 200);
      let input: LockCommand;
      if (r < 0.45) input = { op: 'acquire', lock, client: who, ttlMs, now: Date.now() };
      else if (r < 0.65) input = { op: 'renew', lock, client: who, ttlMs, now: Date.now() };
      else if (r < 0.8) input = { op: 'release', lock, client: who, now: Date.now() };
      else return { input: { op: 'get', lock }, read: (m) => m.get(lock) };
      return { input, command: encodeLockCommand(input) };
    },
  };
}
