/**
 * End-to-end: examples/lock on three real processes (TCP, segment files, LevelDB). Four clients
 * contend for one lock — acquire with a lease, use a fenced resource, renew, release — while the
 * leader is killed with kill -9. No two clients are ever granted the same fencing token, tokens
 * follow real time (a grant that ended before another began has the lower token), and the
 * resource, which refuses tokens below the highest it has seen, is never written by two holders
 * with one token; holders that stall past their lease (now and then, on purpose) are refused by it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { freeBasePort } from './cluster-harness.js';
import { ExampleProcess, sleep, until } from './example-process.js';

const SERVER = new URL('../../examples/lock/server.js', import.meta.url);
const TTL_MS = 400;

interface Grant {
  readonly client: string;
  readonly token: number;
  readonly sentAt: number;
  readonly gotAt: number;
}

describe('examples/lock: three processes, leader killed while clients contend', function () {
  this.timeout(60_000);
  let root: string;
  let nodes: ExampleProcess[];

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'flotilla-lock-e2e-'));
    const base = freeBasePort(3);
    nodes = [1, 2, 3].map((id) => new ExampleProcess(SERVER, id, join(root, `n${id}`), base));
    const cluster = nodes.map((n) => n.spec).join(',');
    for (const n of nodes) n.start(cluster);
  });

  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    rmSync(root, { recursive: true, force: true });
  });

  it('grants each fencing token to one client only, in real-time order, through kill -9 of the leader', async () => {
    let leaderHint = 0;
    const leader = async (): Promise<ExampleProcess | null> => {
      for (const n of nodes) {
        const s = await n.call('GET', '/status');
        if (s?.body.role === 'leader') return n;
      }
      return null;
    };
    await until('a leader', leader);

    /** A lock call on the leader (following redirects); null when the outcome is unknown. */
    const lockCall = async (path: string, body: unknown): Promise<Record<string, unknown> | null> => {
      const end = Date.now() + 3000;
      let i = 0;
      while (Date.now() < end) {
        const target = nodes.find((n) => n.id === leaderHint && n.running) ?? nodes[i++ % nodes.length]!;
        const r = await target.call('POST', path, body, 1500);
        if (r?.status === 200) return r.body;
        if (r?.status === 307) leaderHint = Number(r.body.leader);
        else {
          leaderHint = 0;
          await sleep(30);
        }
        // A timeout (r === null) may have taken effect: the retry is the same client's acquire,
        // which a holder gets answered with its own token again.
      }
      return null;
    };

    const grants: Grant[] = [];
    const resource = { maxToken: 0, writes: 0, refused: 0, writerOf: new Map<number, string>() };
    let stop = false;
    let expiredBeforeUse = 0;
    const worker = async (client: string): Promise<void> => {
      while (!stop) {
        const sentAt = Date.now();
        const r = await lockCall('/locks/L/acquire', { client, ttlMs: TTL_MS });
        if (r?.ok !== true) {
          await sleep(10 + Math.random() * 30);
          continue;
        }
        const token = Number(r.token);
        grants.push({ client, token, sentAt, gotAt: Date.now() });
        // Now and then the holder stalls past its lease (a GC pause): another client gets the
        // lock meanwhile, and the resource must refuse the late write by its lower token.
        const stalled = Math.random() < 0.1;
        if (stalled) await sleep(700);
        // A careful client uses the lock only within its lease, counted from when it asked.
        else if (Date.now() >= sentAt + TTL_MS - 50) {
          expiredBeforeUse++;
          continue;
        }
        // The fenced resource: refuses a token below the highest seen; one writer per token.
        if (token < resource.maxToken) {
          resource.refused++;
          expect(stalled, `${client} #${token} was refused without a stall (highest ${resource.maxToken})`).to.equal(true);
          continue;
        }
        {
          const writer = resource.writerOf.get(token);
          expect(writer === undefined || writer === client, `token ${token} written by ${writer} and ${client}`).to.equal(true);
          resource.writerOf.set(token, client);
          resource.maxToken = token;
          resource.writes++;
        }
        await sleep(Math.random() * 40);
        if (Math.random() < 0.5) await lockCall('/locks/L/renew', { client, token, ttlMs: TTL_MS });
        await lockCall('/locks/L/release', { client, token });
      }
    };
    const workers = ['w1', 'w2', 'w3', 'w4'].map((c) => worker(c));
    await sleep(2500);
    const before = grants.length;
    const victim = (await leader())!;
    await victim.kill();
    const killedAt = Date.now();
    await sleep(5000);
    stop = true;
    await Promise.all(workers);
    const after = grants.filter((g) => g.sentAt > killedAt).length;
    console.log(`      ${grants.length} grants (${before} before kill -9 of node ${victim.id}, ${after} after), tokens up to ${resource.maxToken}, resource writes ${resource.writes}, refused ${resource.refused} (stalled holders), ${expiredBeforeUse} grants answered too late to use`);
    expect(before).to.be.greaterThan(5);
    expect(after).to.be.greaterThan(5);
    expect(resource.refused, 'late writes of stalled holders refused by their token').to.be.greaterThan(0);

    // One client per token.
    const owner = new Map<number, string>();
    for (const g of grants) {
      const o = owner.get(g.token);
      expect(o === undefined || o === g.client, `token ${g.token} granted to ${o} and ${g.client}`).to.equal(true);
      owner.set(g.token, g.client);
    }
    // Real-time order: a grant answered before another was asked for has a lower token (or is the
    // same client's grant repeated).
    const byAnswer = [...grants].sort((a, b) => a.gotAt - b.gotAt);
    for (const b of grants) {
      for (const a of byAnswer) {
        if (a.gotAt >= b.sentAt) break;
        if (a.client !== b.client) expect(a.token, `${a.client} #${a.token} answered before ${b.client} asked, which got #${b.token}`).to.be.below(b.token);
      }
    }
  });
});
