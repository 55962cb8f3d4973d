/**
 * Test your own state machine in Flotilla's deterministic simulator (public: exported from the
 * package entry). You give a factory for your `StateMachine`, a workload (the operations clients
 * propose and the reads they make, drawn from a seeded PRNG) and, optionally, a sequential model
 * of what the machine should do; `simulate()` runs each seed on a simulated cluster of RaftCore
 * nodes with the simulator's faults (lib/sim/simulation.ts: message loss, duplication, delay and
 * reordering, partitions, crashes that lose what is not durable, pauses, skewed clocks,
 * membership changes, snapshots) and reports every failing seed with a trace; `simulateSeed()`
 * replays one seed exactly.
 *
 * Checked, per seed (an exception thrown by the user's code, other than in `apply`, fails the
 * seed as `exception`; an `apply` that throws answers `{ error: message }`, as in RaftNode the
 * proposal is rejected):
 * - every Raft invariant the simulator checks (election safety, log matching, leader
 *   completeness, durability before acknowledgement, ...; see lib/sim/README.md);
 * - every replica applied the same commands in the same order (a hash chain over the applied
 *   entries) and got the same result from each `apply`, and, if the machine has `digest()`, the
 *   same state after each index (also after restoring a snapshot): `replicas-diverge`,
 *   `replicas-converge`, `snapshot-restore`;
 * - liveness: once faults heal a leader is elected and every replica converges;
 * - with a model, the history of the clients' operations (call and return times, outputs; an
 *   operation whose client gave up has no return) is linearizable (lib/sim/linearizability.ts).
 *
 * Determinism: the run is synchronous and driven by the seed. While a seed runs, `Date.now()`,
 * `new Date()` and `Math.random()` are replaced: the clock reads the virtual clock of the node
 * whose code is running (each node's clock has its own rate and offset, as real ones do) and
 * `Math.random` is seeded; so a machine that consults them diverges between replicas, and the
 * seed still replays exactly. `apply`, `snapshot` and `restore` must return synchronously here
 * (a Promise is refused with an error). Each call of the factory must return an independent
 * machine (no state shared between instances).
 */
import { type Prng, Xoshiro128 } from '../base/prng.js';
import type { StateMachine } from '../raft/state-machine.js';
import { type CheckOptions, type CheckResult, type HistoryOperation, type Model, canonical, checkLinearizable } from './linearizability.js';
import { type FaultMix, type SimApp, type SimAppOp, type SimReplica, type Violation, Simulation } from './simulation.js';

/** A state machine under test; `digest` (optional) lets the simulator compare replicas' states. */
export interface SimulatedMachine<Result = unknown> extends StateMachine<Result> {
  /** A value equal on two replicas exactly when their states are equal (a hash, a canonical dump). */
  digest?(): string | number | bigint | Uint8Array;
}

/** One operation of a client: a write (proposed, answered with `apply`'s result) or a read. */
export type WorkloadOperation<Input, Machine> =
  | { readonly input: Input; readonly command: Uint8Array }
  | {
    readonly input: Input;
    /** Runs against a replica's machine once the read may be served; its return value is the output. */
    readonly read: (machine: Machine) => unknown;
    /**
     * true: serve it at once from the replica of a node picked at random, without ReadIndex (a
     * follower's state may be stale: this is how a stale-read bug looks). Default: ReadIndex,
     * linearizable.
     */
    readonly local?: boolean;
  };

export interface Workload<Input, Machine> {
  /** Concurrent clients, each with one operation outstanding (default: drawn per seed, 1-3). */
  readonly clients?: number;
  /** The next operation of `client`: draw every choice from `prng` (never Math.random) so a seed replays. */
  next(prng: Prng, client: number): WorkloadOperation<Input, Machine>;
}

export interface MachineSimOptions<Machine extends StateMachine, Input = unknown, Output = unknown, State = unknown> {
  /** Returns a fresh, empty machine; called once per replica and again on every restart. */
  readonly machine: () => Machine;
  readonly workload: Workload<Input, Machine>;
  /** The sequential model to check the history against (linearizability); none: not checked. */
  readonly model?: Model<State, Input, Output>;
  /** Seeds to run (default 100), from `firstSeed` (default 1). */
  readonly seeds?: number;
  readonly firstSeed?: number;
  /** Nodes in the cluster at the start (default 3; membership changes may add and remove some). */
  readonly nodes?: number;
  /** Events in each seed's faulty phase (default 1,000); the liveness phase follows. */
  readonly steps?: number;
  /** Fault families to turn off; each is on by default, with a mix drawn per seed. */
  readonly faults?: FaultMix;
  /** Stop the sweep at the first failing seed (default false). */
  readonly stopAtFirst?: boolean;
  /** The linearizability checker's bounds. */
  readonly check?: CheckOptions;
  /** Record the trace of every seed (default: only failing seeds get one, from a replay). */
  readonly trace?: boolean;
  /** Lines of trace kept per failing seed, the last ones (default 400). */
  readonly traceLines?: number;
}

export interface SeedReport {
  readonly seed: number;
  readonly ok: boolean;
  /** Events run (both phases). */
  readonly steps: number;
  /** Every violation, the first first: Raft invariants, divergence, liveness, `linearizability`. */
  readonly violations: readonly Violation[];
  /** The checker's verdict on the history ('unchecked' without a model). */
  readonly linearizability: CheckResult<unknown, unknown>['result'] | 'unchecked';
  /** Operations answered, never answered (outcome unknown), certainly without effect. */
  readonly operations: { readonly answered: number; readonly unknown: number; readonly discarded: number };
  /** The run's events and operations, one per line, with virtual time and step (failing seeds, or `trace`). */
  readonly trace: readonly string[];
  /** For a linearizability failure: the failing key's history and the operation nothing explains. */
  readonly history?: readonly string[];
}

export interface SimulationReport {
  readonly ok: boolean;
  readonly seeds: number;
  readonly steps: number;
  readonly failures: readonly SeedReport[];
  /** Seeds whose history was beyond the checker's bounds (not counted as failures). */
  readonly inconclusive: readonly number[];
}

/** Virtual epoch of `Date.now()` in a simulated run: 2026-01-01T00:00:00Z. */
const EPOCH_MS = Date.UTC(2026, 0, 1);

/** Runs the sweep; see the module comment. Returns the report (throws only on misuse). */
export function simulate<M extends StateMachine, I, O, S>(options: MachineSimOptions<M, I, O, S>): SimulationReport {
  validate(options);
  const first = options.firstSeed ?? 1;
  const count = options.seeds ?? 100;
  const failures: SeedReport[] = [];
  const inconclusive: number[] = [];
  let steps = 0;
  let seeds = 0;
  for (let seed = first; seed < first + count; seed++) {
    let r = runOne(options, seed, options.trace === true);
    seeds++;
    steps += r.steps;
    if (r.linearizability === 'unknown') inconclusive.push(seed);
    if (r.ok) continue;
    if (options.trace !== true) {
      // Replay the failing seed with its trace: the same violations must come back.
      const again = runOne(options, seed, true);
      if (canonical(again.violations) !== canonical(r.violations)) {
        again.violations.push({ kind: 'nondeterministic', step: 0, time: 0, detail: 'replaying this seed gave other violations: the machine or workload depends on something outside the simulation (I/O, state shared between instances, a timer)' });
      }
      r = again;
    }
    failures.push(r);
    if (options.stopAtFirst) break;
  }
  return { ok: failures.length === 0, seeds, steps, failures, inconclusive };
}

/** Runs (replays) one seed with its trace. */
export function simulateSeed<M extends StateMachine, I, O, S>(options: MachineSimOptions<M, I, O, S>, seed: number): SeedReport {
  validate(options);
  return runOne(options, seed, true);
}

function validate<M extends StateMachine, I, O, S>(options: MachineSimOptions<M, I, O, S>): void {
  if (typeof options.machine !== 'function') throw new TypeError('simulate: `machine` must be a function returning a fresh StateMachine');
  if (!options.workload || typeof options.workload.next !== 'function') throw new TypeError('simulate: `workload.next(prng, client)` is required');
  const nodes = options.nodes ?? 3;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 7) throw new RangeError(`simulate: nodes must be 1 to 7, got ${nodes}`);
  const steps = options.steps ?? 1000;
  if (!Number.isInteger(steps) || steps < 1 || steps > 10_000_000) throw new RangeError(`simulate: steps must be 1 to 10,000,000, got ${steps}`);
  const clients = options.workload.clients ?? 0;
  if (!Number.isInteger(clients) || clients < 0 || clients > 64) throw new RangeError(`simulate: workload.clients must be 0 to 64, got ${clients}`);
}

interface Op {
  readonly id: number;
  readonly client: number;
  readonly input: unknown;
  readonly kind: 'write' | 'read';
  readonly read: ((machine: never) => unknown) | null;
  /** Logical times for the checker (every call and answer gets the next tick: no ties). */
  readonly call: number;
  ret: number | undefined;
  readonly callTime: number;
  returnTime: number | undefined;
  output: unknown;
  discarded: boolean;
}

/**
 * The global clock and randomness the user's code sees during a run (see the module comment).
 * Replacing the globals, and putting them back, is what keeps the user's code deterministic: the
 * simulator itself never reads them.
 */
/* eslint-disable no-restricted-properties */
class Virtualised {
  nowMs = EPOCH_MS;
  private readonly realNow = Date.now;
  private readonly realRandom = Math.random;
  private readonly RealDate = Date;

  install(prng: Prng): void {
    const clock = (): number => this.nowMs;
    Date.now = clock;
    Math.random = () => prng.next();
    const RealDate = this.RealDate;
    globalThis.Date = new Proxy(RealDate, {
      construct(target, args: unknown[]) {
        return args.length === 0 ? new target(clock()) : Reflect.construct(target, args) as object;
      },
      apply() {
        return new RealDate(clock()).toString();
      },
    });
  }

  uninstall(): void {
    globalThis.Date = this.RealDate;
    Date.now = this.realNow;
    Math.random = this.realRandom;
  }
}
/* eslint-enable no-restricted-properties */

function runOne<M extends StateMachine, I, O, S>(options: MachineSimOptions<M, I, O, S>, seed: number, tracing: boolean): SeedReport & { violations: Violation[] } {
  const trace: string[] = [];
  const keep = options.traceLines ?? 400;
  const line = tracing ? (text: string): void => {
    trace.push(text);
    if (trace.length > keep * 2) trace.splice(0, trace.length - keep);
  } : null;
  const ops: Op[] = [];
  let clock = 0;
  const virt = new Virtualised();
  const describe = (op: Op): string => (options.model?.describe
    ? options.model.describe(op.input as I, op.ret === undefined ? undefined : op.output as O)
    : `${canonical(op.input)} -> ${op.ret === undefined ? '?' : canonical(op.output)}`);

  const replica = (): SimReplica => {
    const m = options.machine() as M & SimulatedMachine;
    const sync = <T>(what: string, value: T | Promise<T>): T => {
      if (value instanceof Promise) {
        value.catch(() => undefined);
        throw new TypeError(`simulate: ${what} returned a Promise; the simulator runs state machines synchronously`);
      }
      return value;
    };
    return Object.assign(Object.create(null) as object, {
      machine: m,
      apply(command: Uint8Array, index: number, nodeTimeMs: number): unknown {
        virt.nowMs = EPOCH_MS + nodeTimeMs;
        try {
          return sync('apply', m.apply(command, index));
        } catch (err) {
          if (err instanceof TypeError && err.message.startsWith('simulate:')) throw err;
          return { error: err instanceof Error ? err.message : String(err) };
        }
      },
      snapshot(nodeTimeMs: number): Uint8Array {
        virt.nowMs = EPOCH_MS + nodeTimeMs;
        return sync('snapshot', m.snapshot());
      },
      restore(data: Uint8Array, nodeTimeMs: number): void {
        virt.nowMs = EPOCH_MS + nodeTimeMs;
        sync('restore', m.restore(data));
      },
      digest(): string | null {
        if (typeof m.digest !== 'function') return null;
        const d = m.digest();
        return typeof d === 'string' ? d : canonical(d);
      },
    }) as SimReplica & { machine: M };
  };

  const app: SimApp = {
    clients: options.workload.clients ?? 0,
    replica,
    invoke(prng, client, time) {
      virt.nowMs = EPOCH_MS + time;
      const w = options.workload.next(prng, client);
      const isWrite = 'command' in w;
      const op: Op = {
        id: ops.length, client, input: w.input, kind: isWrite ? 'write' : 'read', read: isWrite ? null : w.read as (m: never) => unknown,
        call: ++clock, ret: undefined, callTime: time, returnTime: undefined, output: undefined, discarded: false,
      };
      ops.push(op);
      const what: SimAppOp = isWrite ? { kind: 'write', command: w.command } : { kind: 'read', local: w.local === true };
      line?.(`t=${time} client ${client} invokes #${op.id} ${op.kind}${!isWrite && w.local ? ' (local)' : ''} ${canonical(w.input)}`);
      return { id: op.id, op: what };
    },
    query(id, rep, nodeTimeMs) {
      virt.nowMs = EPOCH_MS + nodeTimeMs;
      return ops[id]!.read!((rep as SimReplica & { machine: M }).machine as never);
    },
    answer(id, output, time, node) {
      const op = ops[id]!;
      op.ret = ++clock;
      op.returnTime = time;
      op.output = output;
      line?.(`t=${time} client ${op.client} #${id} answered by node ${node}: ${describe(op)}`);
    },
    discard(id, why, time) {
      ops[id]!.discarded = true;
      line?.(`t=${time} client ${ops[id]!.client} #${id} had no effect: ${why}`);
    },
    timeout(id, time) {
      line?.(`t=${time} client ${ops[id]!.client} #${id} timed out: outcome unknown`);
    },
  };

  const steps = options.steps ?? 1000;
  const nodes = options.nodes ?? 3;
  line?.(`seed ${seed}: ${nodes} nodes, ${steps} steps`);
  virt.install(new Xoshiro128((seed ^ 0x6d2b79f5) >>> 0));
  let result: { steps: number; violations: readonly Violation[] };
  try {
    const sim = new Simulation({ seed, steps, app, nodes, faults: options.faults, trace: line ?? undefined, debug: line ?? undefined });
    if (line) line(`profile ${canonical(sim.profile)}`);
    result = sim.run(steps);
  } catch (err) {
    // Misuse (a Promise from apply) stops the sweep; anything else the user's code threw
    // (restore, snapshot, a read's query, the workload) fails this seed, with its trace.
    if (err instanceof TypeError && err.message.startsWith('simulate:')) throw err;
    const text = err instanceof Error ? (err.stack ?? err.message).split('\n').slice(0, 6).join('\n') : String(err);
    result = { steps: 0, violations: [{ kind: 'exception', step: 0, time: 0, detail: `the machine or workload threw: ${text}` }] };
  } finally {
    virt.uninstall();
  }
  const violations = result.violations.slice();
  let verdict: SeedReport['linearizability'] = 'unchecked';
  let history: string[] | undefined;
  if (options.model) {
    const h: HistoryOperation<I, O>[] = ops.filter((o) => !o.discarded).map((o) => ({
      client: o.client, input: o.input as I, call: o.call, return: o.ret, output: o.output as O,
    }));
    const res = checkLinearizable(options.model, h, options.check);
    verdict = res.result;
    if (res.result === 'illegal') {
      // Map the checker's operations back to ours, to show virtual times.
      const model = options.model;
      const byCall = new Map(ops.map((o) => [o.call, o]));
      const bad = res.failure!.unexplained[0];
      const badOp = bad ? byCall.get(bad.call) : undefined;
      violations.push({
        kind: 'linearizability', step: result.steps, time: badOp?.returnTime ?? 0,
        detail: `the history${res.partition ? ` of key ${res.partition}` : ''} is not linearizable: no order of the operations explains ${badOp ? `client ${badOp.client}'s #${badOp.id} ${describe(badOp)} [t=${badOp.callTime}..${badOp.returnTime}]` : 'it'} (${res.failure!.linearized.length} operations linearized before it)`,
      });
      const inPartition = ops.filter((o) => !o.discarded && (!model.partition || String(model.partition(o.input as I)) === res.partition));
      history = inPartition.slice(0, 300).map((o) => `client ${o.client} #${o.id} [t=${o.callTime}..${o.returnTime ?? 'never'}] ${describe(o)}${o === badOp ? '   <- unexplained' : ''}`);
      if (inPartition.length > 300) history.push(`... ${inPartition.length - 300} more`);
    }
  }
  for (const v of violations) line?.(`VIOLATION ${v.kind} at step ${v.step}: ${v.detail}`);
  const unknown = ops.filter((o) => !o.discarded && o.ret === undefined).length;
  const discarded = ops.filter((o) => o.discarded).length;
  return {
    seed, ok: violations.length === 0, steps: result.steps, violations, linearizability: verdict,
    operations: { answered: ops.length - unknown - discarded, unknown, discarded },
    trace: trace.slice(-keep), ...(history ? { history } : {}),
  };
}

export type { FaultMix, Violation } from './simulation.js';
export type { Model, HistoryOperation, CheckOptions, CheckResult } from './linearizability.js';
export { checkLinearizable } from './linearizability.js';
