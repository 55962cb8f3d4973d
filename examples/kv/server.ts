/**
 * examples/kv: a replicated key-value store built on Flotilla's Raft library, with a small HTTP
 * API. Three processes on loopback form a group:
 *
 *   node dist/examples/kv/server.js --id 1 --data /tmp/kv1 --cluster 1=127.0.0.1:7001/8001,2=127.0.0.1:7002/8002,3=127.0.0.1:7003/8003
 *   (and the same with --id 2, --id 3)
 *
 *   curl -XPUT -d hello http://127.0.0.1:8001/kv/greeting   # on the leader (followers redirect, 307)
 *   curl http://127.0.0.1:8002/kv/greeting                  # linearizable read on any node
 *   curl -XDELETE http://127.0.0.1:8001/kv/greeting
 *   curl http://127.0.0.1:8001/status
 *
 * A node added later starts with `--join` (an empty membership: it learns the group from the
 * leader) and is added through the leader: POST /members/4 with {"peer":"127.0.0.1:7004",
 * "http":"127.0.0.1:8004"} adds it as a learner, waits for it to catch up, and promotes it.
 * DELETE /members/N removes a member (the leader too). POST /transfer/N hands leadership over.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { FlotillaError, isFlotillaError } from '../../lib/base/errors.js';
import { membershipOf } from '../../lib/raft/core/membership.js';
import { RaftHost } from '../../lib/raft/host.js';
import { RaftNode } from '../../lib/raft/node.js';
import { openDiskGroupStore } from '../../lib/storage/disk-group-store.js';
import { TcpTransport } from '../../lib/transport/tcp-transport.js';
import { systemClock } from '../../lib/app/system-clock.js';
import { Xoshiro128 } from '../../lib/base/prng.js';
import { KvMachine, type KvResult, type PeerInfo, encodeCommand } from './kv-machine.js';

const { values: args } = parseArgs({
  options: {
    id: { type: 'string' },
    data: { type: 'string' },
    cluster: { type: 'string' },
    join: { type: 'boolean', default: false },
    fsync: { type: 'string', default: 'true' },
    'tick-ms': { type: 'string', default: '50' },
    'snapshot-entries': { type: 'string', default: '1000' },
  },
});

function fail(message: string): never {
  process.stderr.write(`kv: ${message}\n`);
  process.exit(2);
}

const id = Number(args.id);
if (!Number.isInteger(id) || id <= 0) fail('--id must be a positive integer');
if (!args.data) fail('--data DIR is required');
if (!args.cluster) fail('--cluster ID=PEERHOST:PEERPORT/HTTPPORT,... is required');

/** `1=127.0.0.1:7001/8001` -> id 1, peer 127.0.0.1:7001, http 127.0.0.1:8001 */
function parseCluster(text: string): Map<number, PeerInfo> {
  const out = new Map<number, PeerInfo>();
  for (const part of text.split(',')) {
    const m = /^(\d+)=([^:/]+):(\d+)\/(\d+)$/.exec(part.trim());
    if (!m) fail(`--cluster: cannot parse "${part}" (expected ID=HOST:PEERPORT/HTTPPORT)`);
    out.set(Number(m[1]), { peer: `${m[2]}:${m[3]}`, http: `${m[2]}:${m[4]}` });
  }
  return out;
}

const initialPeers = parseCluster(args.cluster);
const self = initialPeers.get(id) ?? fail(`--cluster does not name node ${id}`);
const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} kv[${id}] ${line}\n`);
};

const machine = new KvMachine();
const peers = new Map<number, PeerInfo>(initialPeers);
const [listenHost, listenPort] = self.peer.split(':') as [string, string];
const transport = new TcpTransport({
  nodeId: id,
  clusterId: 'kv-example',
  listen: { host: listenHost, port: Number(listenPort) },
  prng: new Xoshiro128(id * 7919 + 1),
  clock: systemClock,
  logger: log,
});
const applyPeers = (): void => {
  const map = new Map<number, { host: string; port: number }>();
  for (const [pid, p] of peers) {
    if (pid === id) continue;
    const [h, port] = p.peer.split(':') as [string, string];
    map.set(pid, { host: h, port: Number(port) });
  }
  transport.setPeers(map);
};
machine.onPeers = (replicated) => {
  for (const [pid, p] of replicated) peers.set(pid, p);
  applyPeers();
};
applyPeers();
await transport.start();

const host = new RaftHost({ nodeId: id, transport, settings: { tickMs: Number(args['tick-ms']) }, logger: log });
const bootstrap = args.join ? membershipOf([]) : membershipOf([...initialPeers.keys()]);
const store = await openDiskGroupStore({ dir: args.data, bootstrap, fsync: args.fsync !== 'false', logger: log, clock: systemClock });
const node = await RaftNode.create({
  host, groupId: 'kv', store, stateMachine: machine, logger: log,
  node: { snapshotEntries: Number(args['snapshot-entries']) },
});
node.on('leader-change', ({ leaderId, term }: { leaderId: number; term: number }) => log(`leader is now ${leaderId} (term ${term})`));
host.start();

// ---- HTTP ---------------------------------------------------------------------------------------

const MAX_BODY_BYTES = 1024 * 1024;

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new FlotillaError('BACKPRESSURE', `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString();
}

function send(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  res.writeHead(status, { 'content-type': typeof payload === 'string' ? 'text/plain' : 'application/json', ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, req: IncomingMessage, err: unknown): void {
  if (isFlotillaError(err, 'NOT_LEADER')) {
    const leader = peers.get(node.leaderId);
    if (leader) return send(res, 307, { error: 'NOT_LEADER', leader: node.leaderId }, { location: `http://${leader.http}${req.url ?? '/'}` });
    return send(res, 503, { error: 'NOT_LEADER', leader: 0, message: 'no leader is known yet; retry' });
  }
  if (isFlotillaError(err)) return send(res, err.retriable ? 503 : 400, { error: err.code, message: err.message });
  log(`request failed: ${String(err)}`);
  return send(res, 500, { error: 'INTERNAL', message: String(err) });
}

async function proposeOnLeader(command: Parameters<typeof encodeCommand>[0]): Promise<KvResult> {
  if (!node.isLeader) throw new FlotillaError('NOT_LEADER', `node ${id} is not the leader`, { leaderId: node.leaderId });
  return node.propose(encodeCommand(command));
}

async function waitCaughtUp(member: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const st = node.status();
    const pr = st.progress.get(member);
    if (pr && pr.match >= st.commit) return;
    if (Date.now() > end) throw new FlotillaError('TIMEOUT', `node ${member} did not catch up in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  if (parts[0] === 'kv' && parts.length === 2) {
    const key = parts[1]!;
    if (method === 'PUT' || method === 'POST') return send(res, 200, await proposeOnLeader({ op: 'put', key, value: await body(req) }));
    if (method === 'DELETE') return send(res, 200, await proposeOnLeader({ op: 'del', key }));
    if (method === 'GET') {
      const stale = url.searchParams.get('stale') === 'true';
      const value = stale ? machine.data.get(key) : await node.read(() => machine.data.get(key));
      return value === undefined ? send(res, 404, { error: 'NOT_FOUND' }) : send(res, 200, value);
    }
  }
  if (parts[0] === 'status' && method === 'GET') {
    const st = node.status();
    return send(res, 200, {
      id, role: ['follower', 'pre-candidate', 'candidate', 'leader'][st.role], term: st.term, leader: st.leader,
      commit: st.commit, applied: node.appliedIndex, firstIndex: st.firstIndex, lastIndex: st.lastIndex,
      snapshotIndex: store.snapshotMeta().index, voters: st.membership.voters, learners: st.membership.learners,
      keys: machine.data.size, peers: Object.fromEntries(peers),
      progress: Object.fromEntries([...st.progress].map(([k, v]) => [k, v])),
    });
  }
  if (parts[0] === 'members' && parts.length === 2) {
    const member = Number(parts[1]);
    if (!node.isLeader) throw new FlotillaError('NOT_LEADER', `node ${id} is not the leader`, { leaderId: node.leaderId });
    if (method === 'POST') {
      const info = JSON.parse((await body(req)) || '{}') as Partial<PeerInfo>;
      if (!info.peer || !info.http) return send(res, 400, { error: 'BAD_REQUEST', message: 'body needs {"peer":"HOST:PORT","http":"HOST:PORT"}' });
      await proposeOnLeader({ op: 'peer', id: member, peer: info.peer, http: info.http });
      if (!node.membership.learners.includes(member) && !node.membership.voters.includes(member)) await node.addLearner(member);
      await waitCaughtUp(member, 60_000);
      if (!node.membership.voters.includes(member)) await node.promoteLearner(member);
      return send(res, 200, { ok: true, voters: node.membership.voters, learners: node.membership.learners });
    }
    if (method === 'DELETE') {
      await node.removeMember(member);
      return send(res, 200, { ok: true, voters: node.membership.voters, learners: node.membership.learners });
    }
  }
  if (parts[0] === 'transfer' && parts.length === 2 && method === 'POST') {
    await node.transferLeadership(Number(parts[1]));
    return send(res, 200, { ok: true, leader: node.leaderId });
  }
  return send(res, 404, { error: 'NOT_FOUND', message: `${method} ${url.pathname}` });
}

const [httpHost, httpPort] = self.http.split(':') as [string, string];
const server = createServer((req, res) => {
  route(req, res).catch((err: unknown) => sendError(res, req, err));
});
server.listen(Number(httpPort), httpHost, () => log(`http on ${self.http}, peers on ${self.peer}, data in ${args.data}`));

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  server.close();
  await node.close();
  await host.close();
  await transport.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
