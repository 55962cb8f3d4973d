/**
 * examples/lock: a replicated lock service with leases and fencing tokens on Flotilla's Raft
 * library (the state machine: lock-machine.ts). Three processes on loopback:
 *
 *   node dist/examples/lock/server.js --id 1 --data /tmp/lock1 --cluster 1=127.0.0.1:7101/8101,2=127.0.0.1:7102/8102,3=127.0.0.1:7103/8103
 *   (and the same with --id 2, --id 3)
 *
 *   curl -XPOST -d '{"client":"worker-1","ttlMs":5000}' http://127.0.0.1:8101/locks/report/acquire
 *        -> {"ok":true,"token":7,"expiresAt":...}   (or {"ok":false,"holder":...} while held)
 *   curl -XPOST -d '{"client":"worker-1","token":7,"ttlMs":5000}' http://127.0.0.1:8101/locks/report/renew
 *   curl -XPOST -d '{"client":"worker-1","token":7}' http://127.0.0.1:8101/locks/report/release
 *   curl http://127.0.0.1:8102/locks/report      # linearizable read on any node
 *   curl http://127.0.0.1:8101/status
 *
 * Writes go to the leader (a follower answers 307 with the leader's address, 503 while none is
 * known); the leader stamps each command with its clock (`now`). A client holds the lock from the
 * moment it SENT its acquire until that moment plus ttlMs, by its own clock, minus a margin for
 * clock rate differences — and passes its token to every resource it touches, which refuses a
 * token lower than the highest it has seen. All locks live in one Raft group ("locks") created
 * with host.createGroup on disk storage.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { FlotillaError } from '../../lib/index.js';
import { readJson, send, sendError, startClusterProcess, stopOnSignals } from '../common/process.js';
import { type LockCommand, type LockResult, LockMachine, MAX_TTL_MS, encodeLockCommand } from './lock-machine.js';

const proc = await startClusterProcess('lock', { 'snapshot-entries': { type: 'string', default: '1000' } });
const { id, host, log, peers } = proc;
const machine = new LockMachine();
const node = await host.createGroup<LockResult>({
  groupId: 'locks',
  stateMachine: machine,
  members: [...peers.keys()],
  logger: log,
  node: { snapshotEntries: Number(proc.args['snapshot-entries']), proposeTimeoutMs: 5000, readTimeoutMs: 5000 },
});
node.on('leader-change', ({ leaderId, term }: { leaderId: number; term: number }) => log(`leader is now ${leaderId} (term ${term})`));

function field(body: Record<string, unknown>, name: string, kind: 'string' | 'number', optional = false): unknown {
  const v = body[name];
  if (v === undefined && optional) return undefined;
  if (kind === 'string' ? typeof v !== 'string' || v.length === 0 || v.length > 256 : typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new FlotillaError('INVALID_REQUEST', `"${name}" must be ${kind === 'string' ? 'a string of 1-256 characters' : 'a non-negative integer'}`);
  }
  return v;
}

async function command(op: LockCommand['op'], lock: string, body: Record<string, unknown>): Promise<LockResult> {
  if (!node.isLeader) throw new FlotillaError('NOT_LEADER', `node ${id} is not the leader`, { leaderId: node.leaderId });
  const client = field(body, 'client', 'string') as string;
  const token = field(body, 'token', 'number', op === 'acquire' || op === 'renew') as number | undefined;
  const now = Date.now();
  let c: LockCommand;
  if (op === 'release') {
    if (token === undefined) throw new FlotillaError('INVALID_REQUEST', 'release needs the token of the grant');
    c = { op, lock, client, token, now };
  } else {
    const ttlMs = field(body, 'ttlMs', 'number') as number;
    if (ttlMs < 1 || ttlMs > MAX_TTL_MS) throw new FlotillaError('INVALID_REQUEST', `ttlMs must be 1 to ${MAX_TTL_MS}`);
    c = op === 'acquire' ? { op, lock, client, ttlMs, now } : { op, lock, client, ttlMs, now, ...(token === undefined ? {} : { token }) };
  }
  return node.propose(encodeLockCommand(c));
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const method = req.method ?? 'GET';
  if (parts[0] === 'locks' && parts.length === 3 && method === 'POST' && (parts[2] === 'acquire' || parts[2] === 'renew' || parts[2] === 'release')) {
    if (parts[1]!.length === 0 || parts[1]!.length > 256) throw new FlotillaError('INVALID_REQUEST', 'a lock name has 1-256 characters');
    return send(res, 200, await command(parts[2], parts[1]!, await readJson(req)));
  }
  if (parts[0] === 'locks' && parts.length === 2 && method === 'GET') {
    const view = await node.read(() => machine.get(parts[1]!));
    return send(res, 200, view ?? { holder: '', token: 0, expiresAt: 0, clock: 0 });
  }
  if (parts[0] === 'status' && method === 'GET') {
    const st = node.status();
    return send(res, 200, {
      id, role: ['follower', 'pre-candidate', 'candidate', 'leader'][st.role], term: st.term, leader: st.leader,
      commit: st.commit, applied: node.appliedIndex, voters: st.membership.voters,
    });
  }
  return send(res, 404, { error: 'NOT_FOUND', message: `${method} ${url.pathname}` });
}

const [httpHost, httpPort] = proc.self.http.split(':') as [string, string];
const server = createServer((req, res) => {
  route(req, res).catch((err: unknown) => sendError(res, req, err, peers, log));
});
server.listen(Number(httpPort), httpHost, () => log(`http on ${proc.self.http}, peers on ${proc.self.peer}`));
stopOnSignals(async () => {
  server.close();
  await proc.stop();
}, log);
