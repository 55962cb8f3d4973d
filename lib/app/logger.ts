/**
 * Structured logs (pino): one JSON object per line on stdout, each carrying the node id, and,
 * through child loggers, the Raft group and term:
 *   {"level":"info","time":"2025-01-01T00:00:00.000Z","nodeId":1,"group":"orders-0","term":4,"msg":"became leader"}
 * Components below the composition root take a plain line logger `(line: string) => void`;
 * `lineLogger` adapts a Logger to that shape, with fixed or computed fields (a group's current term).
 */
import { pino } from 'pino';
import type { LogLevel } from './config.js';

export type Logger = pino.Logger;
export type { LogLevel } from './config.js';

export interface CreateLoggerOptions {
  readonly nodeId: number;
  readonly level?: LogLevel;
  /** Where lines go (default: stdout, written synchronously so nothing is lost at exit). */
  readonly destination?: pino.DestinationStream;
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const logOptions: pino.LoggerOptions = {
    level: options.level ?? 'info',
    base: { nodeId: options.nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  // stdout by synchronous writes: lines keep their order and none is lost at process.exit.
  return pino(logOptions, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

/** A logger that drops everything (for tests and tools that want no output). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export type LineLogger = (line: string) => void;

export interface LineLoggerOptions {
  /**
   * The level of every line, or 'auto' (default): lines that say FATAL go out at error, lines
   * that say failed/error/malformed/corrupt at warn, the rest at info.
   */
  readonly level?: LogLevel | 'auto';
}

/**
 * Adapts `logger` to a `(line) => void` for components that log lines. `fields` are added to every
 * line; pass a function to compute them at each line (e.g. `() => ({ group, term: node.term })`).
 */
export function lineLogger(
  logger: Logger,
  fields: Readonly<Record<string, unknown>> | (() => Readonly<Record<string, unknown>>) = {},
  options: LineLoggerOptions = {},
): LineLogger {
  const fixed = typeof fields === 'function' ? null : fields;
  const level = options.level ?? 'auto';
  return (line: string) => {
    const lineLevel = level === 'auto' ? levelOfLine(line) : level;
    if (!logger.isLevelEnabled(lineLevel)) return;
    const f = fixed ?? (fields as () => Readonly<Record<string, unknown>>)();
    logger[lineLevel](f, line);
  };
}

function levelOfLine(line: string): LogLevel {
  if (/\bFATAL\b/.test(line)) return 'error';
  if (/\b(failed|failure|error|malformed|corrupt|refused)\b/i.test(line)) return 'warn';
  return 'info';
}
