/**
 * The CLI's Kafka client: KafkaJS (a maintained, pure-JavaScript client that our own end-to-end
 * tests also drive), so the admin, produce and consume commands speak the same Kafka wire protocol
 * as every other client. KafkaJS's own logging is off; its errors are turned into one-line
 * messages here, without stack traces.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { Command } from 'commander';
import { parseHostPort } from '../app/config.js';
import { type ClientSecurityFlags, addSecurityOptions, kafkaJsSecurity, resolveClientSecurity } from './client-security.js';
import { CliError, ExitCode, intOption } from './output.js';

/** A command's cluster options: where, how long, and the security flags (client-security.ts). */
export interface ClientOptions extends ClientSecurityFlags {
  readonly bootstrap: string;
  readonly json?: boolean;
  readonly timeoutMs: number;
}

/** Adds --bootstrap, --json, --timeout-ms and the security options (--command-config, ...) to a command that talks to a cluster. */
export function addClientOptions(cmd: Command): Command {
  return addSecurityOptions(cmd
    .option('-b, --bootstrap <host:port,...>', 'bootstrap servers of the cluster', 'localhost:9092')
    .option('--json', 'print JSON for machines instead of tables')
    .option('--timeout-ms <ms>', 'time limit of each request', intOption('--timeout-ms', 1, 3_600_000), 10_000));
}

export function parseBootstrap(text: string): string[] {
  const brokers = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (brokers.length === 0) throw new CliError('invalid --bootstrap: give HOST:PORT[,HOST:PORT...]', ExitCode.usage);
  for (const b of brokers) {
    if (parseHostPort(b) === null) throw new CliError(`invalid --bootstrap: ${JSON.stringify(b)} is not HOST:PORT`, ExitCode.usage);
  }
  return brokers;
}

export function createClient(options: ClientOptions, clientId = 'flotilla-cli'): Kafka {
  return new Kafka({
    clientId,
    brokers: parseBootstrap(options.bootstrap),
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(options.timeoutMs, 3000),
    requestTimeout: options.timeoutMs,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
    ...kafkaJsSecurity(resolveClientSecurity(options)),
  });
}

interface ErrorLike {
  name?: string;
  message?: string;
  type?: string;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
  apiName?: string;
  broker?: string;
}

/** A one-line description of a KafkaJS (or other) error. */
export function describeClientError(err: unknown, bootstrap?: string): string {
  const chain: ErrorLike[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (typeof e !== 'object') {
      chain.push({ message: String(e) });
      break;
    }
    const el = e as ErrorLike;
    chain.push(el);
    e = el.cause ?? el.originalError;
  }
  const names = chain.map((c) => c.name ?? '');
  const unsupported = chain.find((c) => c.name === 'KafkaJSServerDoesNotSupportApiKey');
  if (unsupported) return `the cluster does not support ${unsupported.apiName ?? 'this API'} yet (${unsupported.message ?? ''})`;
  const connection = names.some((n) => n.startsWith('KafkaJSConnection') || n === 'KafkaJSBrokerNotFound' || n === 'KafkaJSNoBrokerAvailableError')
    || chain.some((c) => /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection timeout/.test(c.message ?? ''));
  const messages: string[] = [];
  for (const c of chain) {
    const text = c.type !== undefined && !(c.message ?? '').includes(c.type) ? `${c.type}: ${c.message ?? ''}` : (c.message ?? '');
    if (text !== '' && !messages.includes(text)) messages.push(text);
    if (Array.isArray(c.errors)) {
      for (const sub of c.errors) {
        const s = sub as ErrorLike;
        const subText = s.type !== undefined ? `${s.type}: ${s.message ?? ''}` : (s.message ?? String(sub));
        if (!messages.includes(subText)) messages.push(subText);
      }
    }
  }
  const detail = messages.join(': ') || String(err);
  if (connection) return `cannot reach the cluster${bootstrap ? ` at ${bootstrap}` : ''}: ${detail}`;
  return detail;
}
