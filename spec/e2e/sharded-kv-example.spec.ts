/**
 * End-to-end: examples/sharded-kv — 24 shards (Raft groups) on three real processes, each
 * process one RaftHost. Under a steady load of writes: a shard moves from node 1 to a node that
 * joins (node 4: join, learner, promote, remove node 1, node 1 drops its copy), then node 2 is
 * killed with kill -9 and every shard it led elects a leader elsewhere. Every acknowledged write
 * is then read back (linearizable reads) with its value or a later one of the same writer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { shardOf } from '../../examples/sharded-kv/shards.js';
import { freeBasePort } from './cluster-harness.js';
import { ExampleProcess, sleep, until } from './example-process.js';

const SERVER = new URL('../../examples/sharded-kv/server.js', import.meta.url);
const SHARDS = 24;

interface ShardView {
  shard: number;
  role: string;
  leader: number;
  voters: number[];
  learners: number[];
}

describe('examples/sharded-kv: 24 groups on three processes, a fourth joins to take a shard', function () {
  this.timeout(90_000);
  let root: string;
  let nodes: ExampleProcess[];
  let cluster: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'flotilla-skv-e2e-'));
    const base = freeBasePort(4);
    nodes = [1, 2, 3, 4].map((id) => new ExampleProcess(SERVER, id, join(root, `n${id}`), base));
    cluster = nodes.map((n) => n.spec).join(',');
    for (const n of nodes.slice(0, 3)) n.start(cluster, ['--shards', String(SHARDS), '--initial', '1,2,3']);
  });

  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(root, { recursive: true, force: true });
  });

  const node = (id: number): ExampleProcess => nodes[id - 1]!;
  const shardsOn = async (n: ExampleProcess): Promise<ShardView[] | null> => {
    const r = await n.call('GET', '/shards');
    return r?.status === 200 ? (r.body.shards as ShardView[]) : null;
  };
  /** Shard -> the node that says it leads it, among running nodes. */
  const leaders = async (): Promise<Map<number, number>> => {
    const out = new Map<number, number>();
    for (const n of nodes) {
      for (const s of (await shardsOn(n)) ?? []) if (s.role === 'leader') out.set(s.shard, n.id);
    }
    return out;
  };

  it('moves a shard to a new node under load and fails over a killed node\'s shards, losing no acknowledged write', async () => {
    await until('a leader for every shard', async () => (await leaders()).size === SHARDS, 30_000);
    const leaderCache = new Map<number, number>();

    /** A write routed to its shard's leader; true once acknowledged, false if not within 5 s. */
    const put = async (key: string, value: string): Promise<boolean> => {
      const shard = shardOf(key, SHARDS);
      const end = Date.now() + 5000;
      let i = 0;
      while (Date.now() < end) {
        const cached = leaderCache.get(shard);
        const target = cached !== undefined && node(cached).running ? node(cached) : nodes[i++ % nodes.length]!;
        const r = await target.call('PUT', `/kv/${key}`, value, 2000);
        if (r?.status === 200) {
          leaderCache.set(shard, target.id);
          return true;
        }
        if (r?.status === 307 && Number(r.body.leader) > 0) leaderCache.set(shard, Number(r.body.leader));
        else {
          leaderCache.delete(shard);
          if (r === null || r.status === 503) await sleep(20);
        }
      }
      return false;
    };

    const acked = new Map<string, number>();
    const attempted = new Map<string, number>();
    let stop = false;
    let acks = 0;
    const moved = shardOf('w0-0', SHARDS);
    // Writer 4 writes only keys of the shard that moves.
    const movedKeys = Array.from({ length: 2000 }, (_, i) => `m-${i}`).filter((k) => shardOf(k, SHARDS) === moved).slice(0, 10);
    const movedAcks: number[] = [];
    const writer = async (w: number): Promise<void> => {
      for (let seq = 1; !stop; seq++) {
        const key = w === 4 ? movedKeys[seq % movedKeys.length]! : `w${w}-${seq % 40}`;
        attempted.set(key, seq);
        if (await put(key, String(seq))) {
          acked.set(key, seq);
          acks++;
          if (shardOf(key, SHARDS) === moved) movedAcks.push(Date.now());
        }
      }
    };
    const writers = [0, 1, 2, 3, 4].map((w) => writer(w));
    await sleep(1000);

    // ---- Move the shard of w0-0 from node 1 to node 4 (which joins the cluster now), under load.
    node(4).start(cluster, ['--shards', String(SHARDS), '--initial', '1,2,3']);
    await until('node 4 up', async () => (await shardsOn(node(4))) !== null);
    const acksBefore = acks;
    const moveStart = Date.now();
    await until('the move', async () => {
      const l = (await leaders()).get(moved);
      if (l === undefined) return false;
      const r = await node(l).call('POST', `/shards/${moved}/move`, { from: 1, to: 4 }, 40_000);
      if (r?.status !== 200) console.log(`      move: ${r?.status} ${JSON.stringify(r?.body)}`);
      return r?.status === 200;
    }, 45_000);
    const duringMove = movedAcks.filter((t) => t >= moveStart).length;
    console.log(`      shard ${moved} moved from node 1 to node 4 in ${Date.now() - moveStart} ms; ${acks - acksBefore} writes acknowledged meanwhile, ${duringMove} of them to that shard`);
    expect(duringMove, 'writes to the moving shard acknowledged during the move').to.be.greaterThan(0);
    const on4 = (await shardsOn(node(4)))!.find((s) => s.shard === moved);
    expect(on4, 'node 4 hosts the moved shard').to.not.equal(undefined);
    await until('node 4 sees the final membership', async () => {
      const v = (await shardsOn(node(4)))!.find((s) => s.shard === moved)!;
      return v.voters.slice().sort().join(',') === '2,3,4';
    });
    await until('node 1 dropped its copy', async () => !(await shardsOn(node(1)))!.some((s) => s.shard === moved));
    expect((await shardsOn(node(1)))!.length).to.equal(SHARDS - 1);
    await sleep(500);

    // ---- kill -9 node 2: every shard it led elects a leader elsewhere.
    const led = [...(await leaders())].filter(([, l]) => l === 2).map(([s]) => s);
    expect(led.length, 'node 2 leads some shards').to.be.greaterThan(0);
    const killedAt = Date.now();
    await node(2).kill();
    await until('new leaders for node 2\'s shards', async () => {
      const now = await leaders();
      return led.every((s) => now.get(s) !== undefined && now.get(s) !== 2);
    }, 20_000);
    console.log(`      node 2 led ${led.length} shards; all led elsewhere ${Date.now() - killedAt} ms after kill -9`);
    await sleep(1000);
    stop = true;
    await Promise.all(writers);
    expect(acks).to.be.greaterThan(100);

    // ---- Every acknowledged write reads back (its value, or a later attempt of its writer).
    for (const [key, seq] of acked) {
      const value = await until(`a read of ${key}`, async () => {
        for (const n of nodes) {
          const r = await n.call('GET', `/kv/${key}`);
          if (r?.status === 200) return Number((r.body as { text?: string }).text ?? r.body);
          if (r?.status === 404 && r.body.error === 'NOT_FOUND') return -1;
        }
        return null;
      }, 10_000);
      expect(value, `${key}: acknowledged ${seq}`).to.be.at.least(seq);
      expect(value, `${key}: attempted up to ${attempted.get(key)}`).to.be.at.most(attempted.get(key)!);
    }
    console.log(`      ${acks} writes acknowledged; the last of each of ${acked.size} keys read back`);
  });
});
