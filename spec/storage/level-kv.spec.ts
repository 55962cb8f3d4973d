import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvStore } from '../../lib/storage/kv.js';
import { KvBatcher } from '../../lib/storage/kv-batcher.js';
import { LevelKv } from '../../lib/storage/level-kv.js';
import { kvConformance } from './kv-conformance.js';

function levelFixture(batched: boolean) {
  return () => {
    const dirs: string[] = [];
    const open = new Set<KvStore>();
    const wrap = (kv: LevelKv): KvStore => (batched ? new KvBatcher(kv) : kv);
    const location = new WeakMap<KvStore, string>();
    return {
      async make(settings?: Record<string, unknown>) {
        const dir = await mkdtemp(join(tmpdir(), 'flotilla-kv-'));
        dirs.push(dir);
        const kv = wrap(await LevelKv.open(join(dir, 'kv'), settings));
        location.set(kv, join(dir, 'kv'));
        open.add(kv);
        return kv;
      },
      async reopen(kv: KvStore) {
        await kv.close();
        open.delete(kv);
        const at = location.get(kv)!;
        const again = wrap(await LevelKv.open(at, { ...kv.kvSettings }));
        location.set(again, at);
        open.add(again);
        return again;
      },
      async cleanup() {
        for (const kv of open) await kv.close().catch(() => undefined);
        for (const dir of dirs) await rm(dir, { recursive: true, force: true });
      },
    };
  };
}

kvConformance('LevelKv', levelFixture(false));
kvConformance('KvBatcher over LevelKv', levelFixture(true));

describe('LevelKv', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flotilla-kv-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds LevelDB\'s lock: a second open of the same directory fails', async () => {
    const kv = await LevelKv.open(join(dir, 'kv'));
    let failed = false;
    try {
      const second = await LevelKv.open(join(dir, 'kv'));
      await second.close();
    } catch {
      failed = true;
    }
    await kv.close();
    expect(failed).to.equal(true);
    const again = await LevelKv.open(join(dir, 'kv'));
    await again.close();
  });

  it('group-commits many groups\' sync writes into one LevelDB write', async () => {
    const kv = new KvBatcher(await LevelKv.open(join(dir, 'kv')));
    const writes = [];
    for (let g = 0; g < 500; g++) writes.push(kv.batch([{ type: 'put', key: `raft/g${g}/hard`, value: { term: 1, vote: g, commit: 0 } }], { sync: true }));
    await Promise.all(writes);
    expect(kv.stats.writes).to.equal(1);
    expect(kv.stats.syncWrites).to.equal(1);
    expect(kv.stats.batches).to.equal(500);
    expect(await kv.get('raft/g499/hard')).to.deep.equal({ term: 1, vote: 499, commit: 0 });
    await kv.close();
  });

  it('recovers every acknowledged write after the process is killed (SIGKILL) mid-stream', async function () {
    this.timeout(15_000);
    const at = join(dir, 'kv');
    const module = new URL('../../lib/storage/level-kv.js', import.meta.url).href;
    // The child writes batches forever, printing each index once its write has resolved.
    const child = spawn(process.execPath, ['--input-type=module', '-e', `
      const { LevelKv } = await import(${JSON.stringify(module)});
      const kv = await LevelKv.open(${JSON.stringify(at)});
      for (let i = 0; ; i++) {
        await kv.batch([{ type: 'put', key: 'n/' + String(i).padStart(8, '0'), value: i }, { type: 'put', key: 'last', value: i }], { sync: i % 2 === 0 });
        process.stdout.write(i + '\\n');
      }
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = -1;
    let buffered = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const l of lines) acked = Number(l);
        if (acked >= 300 && child.exitCode === null && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((r) => child.once('exit', r));
    const kv = await LevelKv.open(at);
    const last = (await kv.get('last')) as number;
    expect(last).to.be.at.least(acked);
    const keys = await kv.range({ prefix: 'n/' });
    expect(keys.length).to.equal(last + 1);
    expect(keys.map(([, v]) => v)).to.deep.equal([...Array(last + 1).keys()]);
    await kv.close();
  });
});
