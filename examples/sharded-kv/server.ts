/**
 * examples/sharded-kv: a key-value store whose key space is split over many Raft groups (shards),
 * all hosted by one RaftHost per process: shards are created, moved and dropped at run time with
 * host.createGroup / removeGroup, each with its own membership. Each shard's state machine is
 * examples/kv's KvMachine.
 *
 *   node dist/examples/sharded-kv/server.js --id 1 --data /tmp/skv1 --shards 24 --initial 1,2,3 \
 *     --cluster 1=127.0.0.1:7201/8201,2=127.0.0.1:7202/8202,3=127.0.0.1:7203/8203,4=127.0.0.1:7204/8204
 *   (and --id 2, --id 3; --id 4 later: it starts with no shard)
 *
 * A key belongs to shard fnv1a(key) % shards. The nodes of --initial create every shard with
 * themselves as voters on their first start (an empty data directory); a restarted node reopens
 * the shards its storage holds. Node (shard % initial count) campaigns first, which spreads the
 * leaders.
 *
 *   curl -XPUT -d hello http://127.0.0.1:8201/kv/greeting  # on the shard's leader: 307 to it from
 *                                                        # a replica, 404 SHARD_NOT_HERE elsewhere
 *   curl http://127.0.0.1:8202/kv/greeting                 # linearizable read on a replica
 *   curl http://127.0.0.1:8201/shards                      # the shards here: role, leader, members
 *   curl -XPOST -d '{"from":1,"to":4}' http://LEADER/shards/5/move
 *
 * A move runs on the shard's leader: it asks `to` to join (an empty replica), adds it as a learner,
 * promotes it once it holds the log (retrying while it trails), removes `from` (the leader itself, possibly: it leads
 * until the removal commits, then steps down), and tells `from` to drop its copy. Writes go on
 * during the move; none that was acknowledged is lost (Raft: one membership change at a time,
 * each committed by a quorum of the configuration it leaves and the one it enters).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { FlotillaError, type RaftNode, isFlotillaError } from '../../lib/index.js';
import { type PeerInfo, fail, readBody, readJson, send, sendError, startClusterProcess, stopOnSignals } from '../common/process.js';
import { KvMachine, type KvResult, encodeCommand } from '../kv/kv-machine.js';
import { shardOf } from './shards.js';

const proc = await startClusterProcess('skv', { shards: { type: 'string', default: '24' }, initial: { type: 'string' } });
const { id, host, storage, log, peers } = proc;
const shardCount = Number(proc.args.shards);
if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > 10_000) fail('skv', '--shards must be 1 to 10000');
const initial = String(proc.args.initial ?? [...peers.keys()].join(',')).split(',').map(Number);
if (initial.some((n) => !peers.has(n))) fail('skv', `--initial names a node not in --cluster: ${initial.join(',')}`);

const groupOf = (shard: number): string => `shard-${shard}`;
const machines = new Map<number, KvMachine>();

async function openShard(shard: number, members: readonly number[] | undefined): Promise<RaftNode<KvResult>> {
  const machine = new KvMachine();
  const node = await host.createGroup<KvResult>({
    groupId: groupOf(shard),
    stateMachine: machine,
    members,
    node: { snapshotEntries: 500, proposeTimeoutMs: 5000, readTimeoutMs: 5000 },
  });
  machines.set(shard, machine);
  node.on('leader-change', ({ leaderId, term }: { leaderId: number; term: number }) => {
    if (leaderId === id) log(`shard ${shard}: leader here (term ${term})`);
  });
  return node;
}

const existing = await storage.list();
if (existing.length > 0) {
  for (const g of existing) await openShard(Number(g.slice('shard-'.length)), undefined);
  log(`reopened ${existing.length} shards`);
} else if (initial.includes(id)) {
  for (let s = 0; s < shardCount; s++) {
    const node = await openShard(s, initial);
    if (initial[s % initial.length] === id) node.campaign();
  }
  log(`created ${shardCount} shards on nodes ${initial.join(',')}`);
}

function shardNode(shard: number): RaftNode<KvResult> {
  const node = host.group<KvResult>(groupOf(shard));
  if (!node) throw new FlotillaError('INVALID_REQUEST', `shard ${shard} is not on node ${id}`, { shardNotHere: true });
  return node;
}

function onLeader(node: RaftNode<KvResult>): void {
  if (!node.isLeader) throw new FlotillaError('NOT_LEADER', `node ${id} does not lead ${node.groupId}`, { leaderId: node.leaderId });
}

async function call(peer: PeerInfo, path: string, body: unknown): Promise<void> {
  const res = await fetch(`http://${peer.http}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new FlotillaError('TIMEOUT', `${path} on ${peer.http}: ${res.status} ${await res.text()}`);
}

async function moveShard(shard: number, from: number, to: number): Promise<void> {
  const node = shardNode(shard);
  onLeader(node);
  const m = node.membership;
  if (!m.voters.includes(from)) {
    // A move asked again after it finished (the first answer was lost): tell `from` to drop once more.
    if (!m.voters.includes(to)) throw new FlotillaError('INVALID_REQUEST', `node ${from} is not a voter of shard ${shard}`);
    if (from !== id && peers.has(from)) await call(peers.get(from)!, `/shards/${shard}/drop`, {}).catch(() => {});
    return;
  }
  if (!peers.has(to) || from === to) throw new FlotillaError('INVALID_REQUEST', `cannot move shard ${shard} to node ${to}`);
  if (!m.voters.includes(to)) {
    await call(peers.get(to)!, `/shards/${shard}/join`, {});
    if (!m.learners.includes(to)) await node.addLearner(to);
    // Promotion needs the learner caught up; under load it trails by a few entries: retry.
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        await node.promoteLearner(to);
        break;
      } catch (err) {
        if (!isFlotillaError(err, 'CONFIG_CHANGE_PENDING') || Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  await node.removeMember(from);
  log(`shard ${shard}: moved from node ${from} to node ${to}`);
  if (from === id) await host.removeGroup(groupOf(shard));
  else await call(peers.get(from)!, `/shards/${shard}/drop`, {}).catch((err: unknown) => log(`shard ${shard}: node ${from} did not drop it: ${String(err)}`));
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  if (parts[0] === 'kv' && parts.length === 2) {
    const key = parts[1]!;
    const shard = shardOf(key, shardCount);
    const node = shardNode(shard);
    if (method === 'PUT') {
      onLeader(node);
      const value = await readBody(req);
      return send(res, 200, { ...(await node.propose(encodeCommand({ op: 'put', key, value }))), shard });
    }
    if (method === 'GET') {
      const value = await node.read(() => machines.get(shard)!.data.get(key));
      return value === undefined ? send(res, 404, { error: 'NOT_FOUND', shard }) : send(res, 200, value);
    }
  }
  if (parts[0] === 'shards' && parts.length === 1 && method === 'GET') {
    const out = host.groupIds().filter((g) => g.startsWith('shard-')).map((g) => {
      const node = host.group<KvResult>(g)!;
      const st = node.status();
      return {
        shard: Number(g.slice('shard-'.length)), role: ['follower', 'pre-candidate', 'candidate', 'leader'][st.role], leader: st.leader,
        term: st.term, applied: node.appliedIndex, voters: st.membership.voters, learners: st.membership.learners,
      };
    });
    return send(res, 200, { id, shards: out.sort((a, b) => a.shard - b.shard) });
  }
  if (parts[0] === 'shards' && parts.length === 3 && method === 'POST') {
    const shard = Number(parts[1]);
    if (!Number.isInteger(shard) || shard < 0 || shard >= shardCount) throw new FlotillaError('INVALID_REQUEST', `no shard ${parts[1]}`);
    if (parts[2] === 'join') {
      if (!host.group(groupOf(shard))) await openShard(shard, undefined);
      return send(res, 200, { ok: true });
    }
    if (parts[2] === 'drop') return send(res, 200, { ok: await host.removeGroup(groupOf(shard)) });
    if (parts[2] === 'move') {
      const body = await readJson(req);
      await moveShard(shard, Number(body.from), Number(body.to));
      return send(res, 200, { ok: true, voters: host.group(groupOf(shard))?.membership.voters ?? null });
    }
  }
  return send(res, 404, { error: 'NOT_FOUND', message: `${method} ${url.pathname}` });
}

const [httpHost, httpPort] = proc.self.http.split(':') as [string, string];
const server = createServer((req, res) => {
  route(req, res).catch((err: unknown) => {
    if (err instanceof FlotillaError && err.details.shardNotHere === true) return send(res, 404, { error: 'SHARD_NOT_HERE', message: err.message });
    sendError(res, req, err, peers, log);
  });
});
server.listen(Number(httpPort), httpHost, () => log(`http on ${proc.self.http}, peers on ${proc.self.peer}`));
stopOnSignals(async () => {
  server.close();
  await proc.stop();
}, log);
