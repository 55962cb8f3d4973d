/**
 * `flotilla user add | list | remove`: SCRAM credentials (KIP-554), with Flotilla's own codecs
 * (one-request.ts): no client library on this machine sends AlterUserScramCredentials or
 * DescribeUserScramCredentials (research security.md 0.11).
 *
 *   user add NAME --mechanism SCRAM-SHA-512 --password-file F [--iterations 8192]
 *   user list [NAME...]
 *   user remove NAME --mechanism SCRAM-SHA-512
 *
 * `add` salts the password here (a random 16-byte salt, PBKDF2) and sends the salted password, as
 * Kafka's tools do; the password itself never leaves this process, and is read from a file (its
 * first line) so that it appears neither in the shell history nor in `ps`. A user may hold one
 * credential per mechanism; PLAIN logins are checked against them.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { alterUserScramCredentialsApi } from '../kafka/alter-user-scram-credentials.js';
import { describeUserScramCredentialsApi } from '../kafka/describe-user-scram-credentials.js';
import { errorName } from '../kafka/errors.js';
import {
  SCRAM_ITERATIONS_DEFAULT, SCRAM_ITERATIONS_MAX, SCRAM_ITERATIONS_MIN, type ScramMechanism, isScramMechanism, saltPassword, scramMechanismCodes, scramMechanismOfCode,
} from '../metadata/scram.js';
import { type ClientOptions, addClientOptions } from './client.js';
import { oneRequest } from './one-request.js';
import { CliError, ExitCode, formatTable, intOption, printJson, printLine, reportFailure } from './output.js';

function mechanismOption(value: string): ScramMechanism {
  const m = value.toUpperCase();
  if (!isScramMechanism(m)) throw new InvalidArgumentError(`${JSON.stringify(value)} is not SCRAM-SHA-256 or SCRAM-SHA-512`);
  return m;
}

/** The first line of a password file; refuses an empty one. */
export function readPasswordFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read --password-file ${JSON.stringify(path)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, ExitCode.usage);
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') throw new CliError(`--password-file ${JSON.stringify(path)}: the first line is empty`, ExitCode.usage);
  return password;
}

function describeError(code: number, message: string | null): string {
  return `${errorName(code) ?? `error ${code}`}${message === null ? '' : `: ${message}`}`;
}

async function alter(opts: ClientOptions, body: Parameters<typeof alterUserScramCredentialsApi.encodeRequest>[2], what: string): Promise<void> {
  const res = await oneRequest(opts, alterUserScramCredentialsApi, 0, body, opts.timeoutMs);
  const failed = res.results.filter((r) => r.errorCode !== 0);
  if (failed.length > 0) throw new CliError(`${what}: ${failed.map((r) => `${r.user}: ${describeError(r.errorCode, r.errorMessage)}`).join('; ')}`);
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('SCRAM users: add (or change the password), list, remove (AlterUserScramCredentials / DescribeUserScramCredentials)');

  addClientOptions(user.command('add'))
    .description('add a SCRAM credential for a user, or replace its password')
    .argument('<name>', 'the user name')
    .requiredOption('--mechanism <mechanism>', 'SCRAM-SHA-256 or SCRAM-SHA-512', mechanismOption)
    .requiredOption('--password-file <file>', 'file whose first line is the password')
    .option('--iterations <n>', `PBKDF2 iterations (${SCRAM_ITERATIONS_MIN}..${SCRAM_ITERATIONS_MAX})`, intOption('--iterations', SCRAM_ITERATIONS_MIN, SCRAM_ITERATIONS_MAX), SCRAM_ITERATIONS_DEFAULT)
    .action(async (name: string, opts: ClientOptions & { mechanism: ScramMechanism; passwordFile: string; iterations: number }) => {
      try {
        const password = readPasswordFile(opts.passwordFile);
        const salt = randomBytes(16);
        const saltedPassword = await saltPassword(opts.mechanism, password, salt, opts.iterations);
        await alter(opts, { deletions: [], upsertions: [{ name, mechanism: scramMechanismCodes[opts.mechanism], iterations: opts.iterations, salt, saltedPassword }] }, `user add ${name}`);
        if (opts.json) return printJson({ user: name, mechanism: opts.mechanism, iterations: opts.iterations });
        printLine(`user ${name}: ${opts.mechanism} credential set (${opts.iterations} iterations)`);
      } catch (err) {
        reportFailure('user add', err);
      }
    });

  addClientOptions(user.command('list'))
    .description('users with SCRAM credentials: mechanism and iterations (never salts or keys)')
    .argument('[names...]', 'only these users (default: all)')
    .action(async (names: string[], opts: ClientOptions) => {
      try {
        const res = await oneRequest(opts, describeUserScramCredentialsApi, 0, { users: names.length === 0 ? null : names.map((n) => ({ name: n })) }, opts.timeoutMs);
        if (res.errorCode !== 0) throw new CliError(`user list: ${describeError(res.errorCode, res.errorMessage)}`);
        const rows = res.results.map((r) => ({
          user: r.user,
          error: r.errorCode === 0 ? null : describeError(r.errorCode, r.errorMessage),
          credentials: r.credentialInfos.map((c) => ({ mechanism: scramMechanismOfCode(c.mechanism) ?? `mechanism ${c.mechanism}`, iterations: c.iterations })),
        }));
        if (opts.json) return printJson(rows);
        printLine(formatTable(['USER', 'MECHANISM', 'ITERATIONS'], rows.flatMap((r) => (r.error !== null
          ? [[r.user, '-', r.error]]
          : r.credentials.map((c) => [r.user, c.mechanism, c.iterations])))));
        if (rows.some((r) => r.error !== null)) process.exitCode = ExitCode.failed;
      } catch (err) {
        reportFailure('user list', err);
      }
    });

  addClientOptions(user.command('remove'))
    .description("remove one of a user's SCRAM credentials")
    .argument('<name>', 'the user name')
    .requiredOption('--mechanism <mechanism>', 'SCRAM-SHA-256 or SCRAM-SHA-512', mechanismOption)
    .action(async (name: string, opts: ClientOptions & { mechanism: ScramMechanism }) => {
      try {
        await alter(opts, { deletions: [{ name, mechanism: scramMechanismCodes[opts.mechanism] }], upsertions: [] }, `user remove ${name}`);
        if (opts.json) return printJson({ user: name, mechanism: opts.mechanism, removed: true });
        printLine(`user ${name}: ${opts.mechanism} credential removed`);
      } catch (err) {
        reportFailure('user remove', err);
      }
    });
}
