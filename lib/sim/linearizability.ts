/**
 * A linearizability checker for small histories: is there a sequential order of the operations,
 * consistent with their real-time order (an operation that answered before another began comes
 * first), in which the user's sequential model gives every observed output?
 *
 * Algorithm: Wing & Gong's backtracking search (1993) with Lowe's memoisation ("Testing for
 * linearizability", 2017), the algorithm of Porcupine (Athalye). The history becomes a list of
 * call and return events in time order; the search linearizes a pending call whose model output
 * matches, removes its two events from the list and starts over from the head; reaching a return
 * event whose call is not linearized means the choices so far are wrong: undo the last one, try
 * the next call. Lowe's cache remembers each (set of linearized operations, model state) already
 * explored, so no configuration is explored twice. With `partition`, operations on different keys
 * are checked apart (linearizability is compositional: Herlihy & Wing's locality).
 *
 * Operations without a response (the client timed out, its node crashed: the outcome is unknown)
 * get a return time after every other event and their output is not compared: each may take
 * effect at any point after its call, or never (being linearized after everything observed is the
 * same as never). Once every answered operation is linearized the history is linearizable.
 *
 * Limits: the worst case is exponential in the number of concurrent operations (the problem is
 * NP-complete, Gibbons & Korach 1997); the memoisation makes typical histories of a few hundred
 * operations per key take milliseconds, but a history with many overlapping operations can
 * explode. Bounds: `maxOperations` per partition (default 2,000: larger histories are refused as
 * 'unknown', never truncated) and `maxSteps` model steps over the whole check (default 2,000,000:
 * past it the answer is 'unknown'). The model must be deterministic and must not mutate a state
 * it was given (states are shared between branches of the search).
 */

/** A sequential specification of the object under test. */
export interface Model<State, Input, Output> {
  /** The initial state. */
  init(): State;
  /** Applies `input` to `state`: the next state and the output the specification gives. Pure. */
  step(state: State, input: Input): { state: State; output: Output };
  /** Whether an observed output is the one the specification gives (default: canonical JSON equality). */
  equal?(expected: Output, observed: Output, input: Input): boolean;
  /** The key an operation touches, to check each key apart (default: one partition). */
  partition?(input: Input): string | number;
  /** A string equal for equal states, for the memoisation (default: canonical JSON). */
  stateKey?(state: State): string;
  /** How to print an operation in a report (default: JSON). */
  describe?(input: Input, output: Output | undefined): string;
}

/** One operation of a history. Times are any increasing clock (only their order matters). */
export interface HistoryOperation<Input, Output> {
  readonly client: number;
  readonly input: Input;
  readonly call: number;
  /** The time the response arrived; undefined when it never did (outcome unknown). */
  readonly return?: number | undefined;
  /** The observed output (ignored when `return` is undefined). */
  readonly output?: Output | undefined;
}

export interface CheckOptions {
  readonly maxOperations?: number;
  readonly maxSteps?: number;
}

export interface CheckResult<Input, Output> {
  /** 'unknown': a bound was hit before an answer (see `reason`). */
  readonly result: 'ok' | 'illegal' | 'unknown';
  readonly reason?: string;
  /** Operations checked, partitions, model steps taken. */
  readonly operations: number;
  readonly partitions: number;
  readonly steps: number;
  /** For 'illegal': the partition that fails and a report of it. */
  readonly partition?: string;
  readonly failure?: {
    /** The longest linearizable prefix the search found, in its order. */
    readonly linearized: readonly HistoryOperation<Input, Output>[];
    /** The answered operation whose response no extension of that prefix explains. */
    readonly unexplained: readonly HistoryOperation<Input, Output>[];
    /** The partition's history as lines, in call order (bounded at 200 lines). */
    readonly history: readonly string[];
  };
}

interface Event {
  /** The operation's position in the partition; -1 for the list head. */
  readonly op: number;
  readonly isCall: boolean;
  /** For a call: its return event. */
  match: Event | null;
  prev: Event | null;
  next: Event | null;
}

class Bitset {
  readonly words: Uint32Array;
  constructor(size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32) || 1);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  key(): string {
    let s = '';
    for (const w of this.words) s += w.toString(36) + ',';
    return s;
  }
}

/** Canonical JSON: object keys sorted, Maps and Sets as arrays, bigints and byte arrays spelled out. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return `0x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
    if (v instanceof Map) return { $map: [...v.entries()] };
    if (v instanceof Set) return { $set: [...v.values()] };
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) out[k] = (v as Record<string, unknown>)[k];
      return out;
    }
    return v;
  }) ?? 'undefined';
}

/** Checks a history against a model; see the module comment for the algorithm and its limits. */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>, history: readonly HistoryOperation<I, O>[], options: CheckOptions = {},
): CheckResult<I, O> {
  const maxOperations = options.maxOperations ?? 2000;
  const budget = { steps: 0, max: options.maxSteps ?? 2_000_000 };
  const groups = new Map<string, HistoryOperation<I, O>[]>();
  for (const op of history) {
    const key = model.partition ? String(model.partition(op.input)) : '';
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(op);
  }
  let unknown: string | null = null;
  for (const [key, ops] of groups) {
    if (ops.length > maxOperations) {
      unknown ??= `partition ${JSON.stringify(key)} has ${ops.length} operations, above maxOperations ${maxOperations}`;
      continue;
    }
    const r = checkPartition(model, ops, budget);
    if (r === 'unknown') {
      unknown ??= `more than ${budget.max} model steps (maxSteps)`;
      break;
    }
    if (r !== 'ok') {
      return {
        result: 'illegal', operations: history.length, partitions: groups.size, steps: budget.steps, partition: key,
        failure: { linearized: r.linearized, unexplained: r.unexplained, history: describeHistory(model, ops) },
      };
    }
  }
  const base = { operations: history.length, partitions: groups.size, steps: budget.steps };
  return unknown === null ? { result: 'ok', ...base } : { result: 'unknown', reason: unknown, ...base };
}

type PartitionResult<I, O> = 'ok' | 'unknown' | { linearized: HistoryOperation<I, O>[]; unexplained: HistoryOperation<I, O>[] };

function checkPartition<S, I, O>(model: Model<S, I, O>, ops: readonly HistoryOperation<I, O>[], budget: { steps: number; max: number }): PartitionResult<I, O> {
  const n = ops.length;
  const equal = model.equal ?? ((a: O, b: O): boolean => canonical(a) === canonical(b));
  const stateKey = model.stateKey ?? canonical;
  // Events in time order; an operation without a response returns after everything else. At
  // equal times a call comes first (the operations are taken as concurrent: the lenient reading).
  const raw: { time: number; isCall: boolean; op: number }[] = [];
  let answered = 0;
  ops.forEach((op, i) => {
    raw.push({ time: op.call, isCall: true, op: i });
    const done = op.return !== undefined;
    if (done) answered++;
    raw.push({ time: done ? op.return! : Infinity, isCall: false, op: i });
  });
  raw.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Event = { op: -1, isCall: false, match: null, prev: null, next: null };
  const calls: (Event | undefined)[] = new Array<Event | undefined>(n);
  let tail = head;
  for (const r of raw) {
    const e: Event = { op: r.op, isCall: r.isCall, match: null, prev: tail, next: null };
    tail.next = e;
    tail = e;
    if (r.isCall) calls[r.op] = e;
    else calls[r.op]!.match = e;
  }
  const lift = (call: Event): void => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Event): void => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };

  const linearized = new Bitset(n);
  const cache = new Set<string>();
  const stack: { call: Event; state: S }[] = [];
  let state = model.init();
  let answeredLeft = answered;
  let best: number[] = [];
  let bestStuck: number[] = [];
  let entry = head.next;
  while (entry !== null) {
    if (answeredLeft === 0) return 'ok';
    if (entry.isCall) {
      const op = ops[entry.op]!;
      if (++budget.steps > budget.max) return 'unknown';
      const next = model.step(state, op.input);
      const done = op.return !== undefined;
      if (!done || equal(next.output, op.output as O, op.input)) {
        linearized.set(entry.op);
        const key = `${linearized.key()}|${stateKey(next.state)}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = next.state;
          if (done) answeredLeft--;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized.clear(entry.op);
      }
      entry = entry.next;
      continue;
    }
    // A return event whose call is not linearized: this prefix cannot go on.
    if (stack.length >= best.length) {
      best = stack.map((s) => s.call.op);
      bestStuck = [entry.op];
    }
    const top = stack.pop();
    if (!top) {
      return { linearized: best.map((i) => ops[i]!), unexplained: bestStuck.map((i) => ops[i]!) };
    }
    state = top.state;
    linearized.clear(top.call.op);
    if (ops[top.call.op]!.return !== undefined) answeredLeft++;
    unlift(top.call);
    entry = top.call.next;
  }
  return 'ok';
}

function describeHistory<S, I, O>(model: Model<S, I, O>, ops: readonly HistoryOperation<I, O>[]): string[] {
  const show = model.describe ?? ((input: I, output: O | undefined): string => `${canonical(input)} -> ${output === undefined ? '?' : canonical(output)}`);
  const sorted = ops.slice().sort((a, b) => a.call - b.call);
  const lines = sorted.slice(0, 200).map((op) => `client ${op.client} [${op.call}, ${op.return ?? 'never'}] ${show(op.input, op.return === undefined ? undefined : op.output)}`);
  if (sorted.length > 200) lines.push(`... ${sorted.length - 200} more`);
  return lines;
}
