/**
 * `node dist/scripts/settings-table.js` prints every settings table as Markdown: the source of the
 * README's configuration section (config is data: one table feeds validation and the docs).
 */
import { nodeSettingsMarkdown } from '../lib/app/config.js';
import { settingsMarkdown } from '../lib/base/settings.js';
import { cleanerSettings } from '../lib/broker/cleaner.js';
import { logManagerSettings } from '../lib/broker/log-manager.js';
import { groupCoordinatorSettings } from '../lib/group/settings.js';
import { controllerSettings } from '../lib/metadata/controller.js';
import { kafkaServerSettings } from '../lib/server/listener.js';
import { saslSettings } from '../lib/server/sasl/options.js';
import { raftSettings } from '../lib/raft/core/config.js';
import { hostSettings } from '../lib/raft/host.js';
import { nodeSettings } from '../lib/raft/node.js';
import { batcherSettings, kvSettings } from '../lib/storage/kv.js';
import { segmentLogSettings } from '../lib/storage/segment-log.js';
import { snapshotSettings } from '../lib/storage/snapshot-store.js';
import { transportSettings } from '../lib/transport/transport.js';
import { txnCoordinatorSettings } from '../lib/txn/settings.js';

console.log(`#### \`flotilla start\` (flag, FLOTILLA_* environment variable, or config file key)\n\n${nodeSettingsMarkdown()}\n`);
const tables: [string, string, Parameters<typeof settingsMarkdown>[0]][] = [
  ['server', 'Kafka client listener (per node)', kafkaServerSettings],
  ['sasl', 'SASL login on a SASL_PLAINTEXT / SASL_SSL listener (flags above)', saslSettings],
  ['controller', 'Controller (the metadata leader)', controllerSettings],
  ['groups', 'Group coordinator (per node)', groupCoordinatorSettings],
  ['transactions', 'Transaction coordinator (per node)', txnCoordinatorSettings],
  ['raft', 'The Raft core (per group; time in ticks)', raftSettings],
  ['node', 'RaftNode (per group)', nodeSettings],
  ['host', 'RaftHost (per process)', hostSettings],
  ['transport', 'Node-to-node transport', transportSettings],
  ['log', 'Segment log (per group)', segmentLogSettings],
  ['logs', 'Log maintenance: retention, trimming, cleaning orders (per node; flags above)', logManagerSettings],
  ['cleaner', 'Log cleaner (per node; flags above)', cleanerSettings],
  ['snapshot', 'Snapshot files (per group)', snapshotSettings],
  ['kv', 'LevelDB (per node)', kvSettings],
  ['batcher', 'LevelDB group commit (per node)', batcherSettings],
];
for (const [scope, title, table] of tables) {
  console.log(`#### ${title}\n\n${settingsMarkdown(table, scope)}\n`);
}
