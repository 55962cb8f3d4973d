/**
 * CLI output and failure: human tables by default, JSON with `--json`; failures are one line on
 * stderr (no stack trace unless FLOTILLA_DEBUG is set) and an exit code.
 *   exit 0: done; 1: the operation failed (cluster unreachable, refused); 2: bad usage or settings.
 */
import { InvalidArgumentError } from 'commander';

export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;

/** An error the CLI reports as one line and an exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, exitCode: number = ExitCode.failed) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Prints the error as `flotilla <command>: <message>` and sets the exit code. */
export function reportFailure(command: string, err: unknown, describe: (err: unknown) => string = String): void {
  const message = err instanceof CliError ? err.message : describe(err);
  process.stderr.write(`flotilla ${command}: ${message}\n`);
  if (process.env.FLOTILLA_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  process.exitCode = err instanceof CliError ? err.exitCode : ExitCode.failed;
}

/** Aligns rows under headers, two spaces between columns. */
export function formatTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [headers.map(String), ...rows.map((r) => headers.map((_h, i) => cellText(r[i])))];
  const widths = headers.map((_h, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd())
    .join('\n');
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (Array.isArray(value)) return value.map(cellText).join(',');
  if (typeof value === 'object') return JSON.stringify(value, jsonReplacer);
  return String(value);
}

export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
}

export function printLine(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Commander helper: collects a repeatable option into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Parses a non-negative integer option or fails with a usage error naming it. */
export function intOption(name: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
    }
    return Number(value);
  };
}
