/**
 * `flotilla start`: one node. Settings come from flags, FLOTILLA_* environment variables and a
 * JSON config file (lib/app/config.ts); a bad one stops the node before it starts, with one line
 * on stderr naming the setting, and exit code 2. Logs are JSON lines on stdout.
 *
 * Lifecycle: load config -> logger and metrics -> metrics HTTP server (so /healthz answers while
 * the node starts) -> startNode(). SIGINT/SIGTERM close the node, then the metrics server, and
 * exit 0; a second signal exits at once (1). A node that stops by itself (fatal error) exits 1.
 */
import { pathToFileURL } from 'node:url';
import { Option, type Command } from 'commander';
import { formatHostPort, loadNodeConfig, nodeSettings, flagOf, envOf, requiredSettings, type NodeConfig } from '../app/config.js';
import { isFlotillaError } from '../base/errors.js';
import { createLogger, type Logger } from '../app/logger.js';
import { createNodeMetrics, serveMetrics, type MetricsServer, type NodeMetrics } from '../app/metrics.js';
import { ExitCode } from './output.js';
import { readTlsMaterial } from '../server/tls.js';

/** What `flotilla start` needs of lib/app/node.ts (loaded lazily so that `--help` stays fast). */
export interface FlotillaNodeLike {
  readonly nodeId: number;
  clientAddress(): { host: string; port: number };
  status(): unknown;
  readonly closed: Promise<void>;
  close(): Promise<void>;
}
export type StartNode = (config: NodeConfig, options?: { logger?: Logger; metrics?: NodeMetrics }) => Promise<FlotillaNodeLike>;

async function loadStartNode(): Promise<StartNode> {
  // FLOTILLA_NODE_MODULE (a file path) replaces lib/app/node.js: a seam for the CLI's own tests,
  // which run `start` and `local` as real processes over a stand-in node.
  const override = process.env.FLOTILLA_NODE_MODULE;
  const specifier = override === undefined || override === '' ? '../app/node.js' : pathToFileURL(override).href;
  const mod = (await import(specifier)) as { startNode?: StartNode };
  if (typeof mod.startNode !== 'function') throw new Error(`${specifier} does not export startNode`);
  return mod.startNode;
}

/** Adds one flag per node setting (no defaults in commander: precedence is handled by loadNodeConfig). */
export function addNodeSettingOptions(cmd: Command): Command {
  cmd.option('--config <file>', 'JSON config file with the same settings (camelCase or kebab-case keys); env FLOTILLA_CONFIG');
  for (const [name, spec] of Object.entries(nodeSettings)) {
    const required = (requiredSettings as readonly string[]).includes(name);
    const def = required ? ' (required)' : spec.default === '' ? '' : ` (default: ${String(spec.default)})`;
    const help = `${spec.doc}${def}; env ${envOf(name)}`;
    if (spec.type === 'bool') {
      cmd.option(`${flagOf(name)} [bool]`, help);
      cmd.option(`--no-${flagOf(name).slice(2)}`, `same as ${flagOf(name)} false`);
    } else {
      cmd.option(`${flagOf(name)} <${spec.type === 'int' ? 'n' : 'value'}>`, help);
    }
  }
  return cmd;
}

export function registerStart(program: Command): void {
  const cmd = program
    .command('start')
    .description('start one node (flags > FLOTILLA_* environment > --config file > defaults)');
  addNodeSettingOptions(cmd);
  cmd.addOption(new Option('--stop-with-stdin', 'stop when stdin closes (used by `flotilla local`)').hideHelp());
  cmd.action(async (opts: Record<string, unknown>) => {
    await runStart(opts);
  });
}

async function runStart(opts: Record<string, unknown>): Promise<void> {
  let config: NodeConfig;
  try {
    config = loadNodeConfig({ flags: opts, env: process.env });
  } catch (err) {
    if (isFlotillaError(err, 'INVALID_CONFIG')) {
      process.stderr.write(`flotilla start: ${err.message.replace(/^INVALID_CONFIG: /, '')}\n`);
      process.exit(ExitCode.usage);
    }
    throw err;
  }

  const logger = createLogger({ nodeId: config.nodeId, level: config.logLevel });
  const metrics = createNodeMetrics({ nodeId: config.nodeId });
  let node: FlotillaNodeLike | null = null;
  let metricsServer: MetricsServer | null = null;
  let stopping = false;
  let starting: Promise<unknown> | null = null;

  const exit = (code: number) => {
    logger.flush();
    process.exit(code);
  };
  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'stopping');
    try {
      await starting?.catch(() => undefined); // a node still starting is closed once it has started
      await node?.close();
    } catch (err) {
      logger.error({ err }, 'close failed');
      code = ExitCode.failed;
    }
    await metricsServer?.close().catch(() => undefined);
    logger.info('stopped');
    exit(code);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without a clean stop');
      exit(ExitCode.failed);
    }
    void stop(signal, ExitCode.ok);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (opts.stopWithStdin === true) {
    process.stdin.on('end', () => void stop('stdin closed', ExitCode.ok));
    process.stdin.on('error', () => void stop('stdin closed', ExitCode.ok));
    process.stdin.resume();
  }

  logger.info({
    listen: formatHostPort(config.listen),
    peerListen: formatHostPort(config.peerListen),
    controllers: config.controllers.map((c) => `${c.id}@${formatHostPort(c)}`).join(','),
    dataDir: config.dataDir,
    clusterId: config.clusterId,
  }, 'starting');

  try {
    if (config.metricsListen !== null) {
      metricsServer = await serveMetrics({
        host: config.metricsListen.host,
        port: config.metricsListen.port,
        registry: metrics.registry,
        status: () => (node === null ? { nodeId: config.nodeId, state: 'starting' } : node.status()),
        token: config.metricsToken,
        tls: config.metricsTls && config.tls !== null ? readTlsMaterial(config.tls) : null,
      });
    }
    const startNode = await loadStartNode();
    const startPromise = startNode(config, { logger, metrics });
    starting = startPromise;
    node = await startPromise; // runs before stop()'s wait on `starting` resumes (registered first)
  } catch (err) {
    if (stopping) return; // stop() reports and exits
    logger.fatal({ err }, 'start failed');
    process.stderr.write(`flotilla start: ${err instanceof Error ? err.message.replace(/^INVALID_CONFIG: /, '') : String(err)}\n`);
    await metricsServer?.close().catch(() => undefined);
    exit(isFlotillaError(err, 'INVALID_CONFIG') ? ExitCode.usage : ExitCode.failed);
    return;
  }
  if (stopping || node === null) return; // stop() closes the node and exits
  const started: FlotillaNodeLike = node;
  const client = started.clientAddress();
  const metricsAddress = metricsServer?.address();
  logger.info({
    client: formatHostPort(client),
    metrics: metricsAddress ? `http://${formatHostPort(metricsAddress)}/metrics` : 'off',
  }, 'node started');

  const closeMetrics = () => (metricsServer === null ? Promise.resolve() : metricsServer.close().catch(() => undefined));
  started.closed.then(
    () => {
      if (stopping) return;
      stopping = true;
      logger.fatal('the node stopped by itself');
      void closeMetrics().finally(() => exit(ExitCode.failed));
    },
    (err: unknown) => {
      if (stopping) return;
      stopping = true;
      logger.fatal({ err }, 'the node failed');
      void closeMetrics().finally(() => exit(ExitCode.failed));
    },
  );
}
