/**
 * What the multi-group examples (examples/lock, examples/sharded-kv) share: one process of a
 * cluster on loopback — its command line, a TCP transport to its peers, a RaftHost with disk
 * storage for any number of groups — and the small HTTP helpers their APIs use. Library calls
 * only, as a user's server would make them.
 *
 *   --id N --data DIR --cluster 1=127.0.0.1:7001/8001,2=...  (ID=HOST:PEERPORT/HTTPPORT)
 *   [--tick-ms 50] [--fsync true]
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import {
  type DiskGroupStorage, FlotillaError, RaftHost, TcpTransport, Xoshiro128, isFlotillaError, openDiskGroupStorage, systemClock,
} from '../../lib/index.js';

export interface PeerInfo {
  /** host:port of the Raft transport. */
  readonly peer: string;
  /** host:port of the HTTP API. */
  readonly http: string;
}

export interface ClusterProcess {
  readonly id: number;
  readonly peers: ReadonlyMap<number, PeerInfo>;
  readonly self: PeerInfo;
  readonly host: RaftHost;
  readonly storage: DiskGroupStorage;
  readonly transport: TcpTransport;
  readonly log: (line: string) => void;
  /** Extra command-line options of the example, as strings. */
  readonly args: Readonly<Record<string, string | boolean | undefined>>;
  /** Closes the groups, the host, the storage and the transport. */
  stop(): Promise<void>;
}

export function fail(name: string, message: string): never {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(2);
}

/** `1=127.0.0.1:7001/8001,...` -> id 1: peer 127.0.0.1:7001, http 127.0.0.1:8001. */
export function parseCluster(name: string, text: string): Map<number, PeerInfo> {
  const out = new Map<number, PeerInfo>();
  for (const part of text.split(',')) {
    const m = /^(\d+)=([^:/]+):(\d+)\/(\d+)$/.exec(part.trim());
    if (!m) fail(name, `--cluster: cannot parse "${part}" (expected ID=HOST:PEERPORT/HTTPPORT)`);
    out.set(Number(m[1]), { peer: `${m[2]}:${m[3]}`, http: `${m[2]}:${m[4]}` });
  }
  return out;
}

/** Parses the command line and starts the transport and the host (no group yet). */
export async function startClusterProcess(name: string, extra: Record<string, { type: 'string' | 'boolean'; default?: string | boolean }> = {}): Promise<ClusterProcess> {
  const { values: args } = parseArgs({
    options: {
      id: { type: 'string' },
      data: { type: 'string' },
      cluster: { type: 'string' },
      fsync: { type: 'string', default: 'true' },
      'tick-ms': { type: 'string', default: '50' },
      ...extra,
    },
  });
  const id = Number(args.id);
  if (!Number.isInteger(id) || id <= 0) fail(name, '--id must be a positive integer');
  if (typeof args.data !== 'string') fail(name, '--data DIR is required');
  if (typeof args.cluster !== 'string') fail(name, '--cluster ID=PEERHOST:PEERPORT/HTTPPORT,... is required');
  const peers = parseCluster(name, args.cluster);
  const self = peers.get(id) ?? fail(name, `--cluster does not name node ${id}`);
  const log = (line: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${name}[${id}] ${line}\n`);
  };
  const [listenHost, listenPort] = self.peer.split(':') as [string, string];
  const transport = new TcpTransport({
    nodeId: id,
    clusterId: `${name}-example`,
    listen: { host: listenHost, port: Number(listenPort) },
    prng: new Xoshiro128(id * 7919 + 1),
    clock: systemClock,
    logger: log,
  });
  const addresses = new Map<number, { host: string; port: number }>();
  for (const [pid, p] of peers) {
    if (pid === id) continue;
    const [h, port] = p.peer.split(':') as [string, string];
    addresses.set(pid, { host: h, port: Number(port) });
  }
  transport.setPeers(addresses);
  await transport.start();
  const storage = await openDiskGroupStorage({ dir: args.data, fsync: args.fsync !== 'false', clock: systemClock, logger: log });
  const host = new RaftHost({ nodeId: id, transport, storage, settings: { tickMs: Number(args['tick-ms']) }, logger: log });
  host.start();
  return {
    id, peers, self, host, storage, transport, log, args: args as Record<string, string | boolean | undefined>,
    async stop() {
      await host.close();
      await storage.close();
      await transport.close();
    },
  };
}

// ---- HTTP -----------------------------------------------------------------------------------------

const MAX_BODY_BYTES = 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new FlotillaError('TOO_LARGE', `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString();
}

/** The body as a JSON object (400 INVALID_REQUEST otherwise). */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  try {
    const v = JSON.parse(text || '{}') as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new FlotillaError('INVALID_REQUEST', 'the body must be a JSON object');
}

export function send(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  res.writeHead(status, { 'content-type': typeof payload === 'string' ? 'text/plain' : 'application/json', ...headers });
  res.end(text);
}

/**
 * An error as an HTTP answer: NOT_LEADER -> 307 to the leader's HTTP address (503 when no leader
 * is known), a retriable FlotillaError -> 503, another -> 400, anything else -> 500.
 */
export function sendError(res: ServerResponse, req: IncomingMessage, err: unknown, peers: ReadonlyMap<number, PeerInfo>, log: (line: string) => void): void {
  if (isFlotillaError(err, 'NOT_LEADER')) {
    const leaderId = Number(err.details.leaderId ?? 0);
    const leader = peers.get(leaderId);
    if (leader) return send(res, 307, { error: 'NOT_LEADER', leader: leaderId }, { location: `http://${leader.http}${req.url ?? '/'}` });
    return send(res, 503, { error: 'NOT_LEADER', leader: 0, message: 'no leader is known yet; retry' });
  }
  if (isFlotillaError(err)) return send(res, err.retriable ? 503 : 400, { error: err.code, message: err.message });
  log(`request failed: ${String(err)}`);
  return send(res, 500, { error: 'INTERNAL', message: String(err) });
}

/** SIGINT / SIGTERM: run `stop` once, then exit 0. */
export function stopOnSignals(stop: () => Promise<void>, log: (line: string) => void): void {
  let stopping = false;
  const handler = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    stop().then(() => process.exit(0), (err: unknown) => {
      log(`stop failed: ${String(err)}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}
