/**
 * The `flotilla` command line (commander):
 *   start            one node
 *   local            a whole cluster on this machine, one process per node
 *   topic ...        create, list, describe, delete, alter-config
 *   cluster status   nodes, controller, partitions, each node's Raft detail
 *   produce          stdin lines -> records
 *   consume          records -> stdout
 *   groups ...       list, describe, reset-offsets, delete consumer groups
 *   partitions ...   reassign (with progress), elect-leaders
 *   log-dirs         each node's data directory and the bytes of its replicas
 *   producers        idempotent and transactional producers of each partition
 *   transactions ... list, describe, abort transactional ids
 *   user ...         add, list, remove SCRAM users
 *   quotas ...       set, list, remove client quotas
 * Exit codes: 0 done, 1 the operation failed, 2 bad usage or settings (see output.ts).
 */
import { readFileSync } from 'node:fs';
import { Command, type CommanderError } from 'commander';
import { registerClusterCommands, registerTopicCommands } from './admin.js';
import { registerConsume } from './consume.js';
import { registerGroupCommands } from './groups.js';
import { registerLocal } from './local.js';
import { registerPartitionCommands } from './partitions.js';
import { ExitCode } from './output.js';
import { registerProduce } from './produce.js';
import { registerSimulate } from './simulate.js';
import { registerStart } from './start.js';
import { registerTransactionCommands } from './transactions.js';
import { registerUserCommands } from './users.js';
import { registerAclCommands } from './acls.js';
import { registerQuotaCommands } from './quotas.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command()
    .name('flotilla')
    .description('Flotilla: a distributed commit log (Kafka wire protocol on Raft)')
    .version(pkg.version)
    .showHelpAfterError('(add --help for usage)')
    // Usage errors (unknown option, missing argument, bad option value) exit 2, like bad settings.
    .exitOverride((err: CommanderError) => {
      process.exit(err.exitCode === 0 ? 0 : ExitCode.usage);
    });
  registerStart(program);
  registerLocal(program);
  registerTopicCommands(program);
  registerClusterCommands(program);
  registerProduce(program);
  registerConsume(program);
  registerGroupCommands(program);
  registerPartitionCommands(program);
  registerTransactionCommands(program);
  registerSimulate(program);
  registerUserCommands(program);
  registerAclCommands(program);
  registerQuotaCommands(program);
  return program;
}

// `flotilla ... | head`: a reader that goes away ends the command quietly, as other tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(ExitCode.ok);
  throw err;
});

await buildProgram().parseAsync(process.argv);
