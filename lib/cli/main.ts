/**
 * The `flotilla` command line (commander). Commands are added as the parts they drive land:
 * `start` and `local` with the cluster, `topics`, `groups`, `configs`, `status` after them.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('flotilla')
  .description('Flotilla: a distributed commit log (Kafka wire protocol on Raft)')
  .version(pkg.version);

await program.parseAsync(process.argv);
