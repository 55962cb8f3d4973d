/**
 * Benchmark of SegmentLogStore appends: 1 KiB entries, a flush every 64 entries, with fsync on
 * and off. Prints its parameters, the machine and the figures; asserts nothing about time.
 *
 *   npx tsc -p tsconfig.json && node dist/scripts/bench-log-store.js [entries]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../lib/base/clock.js';
import { type Entry, EntryType } from '../lib/raft/core/types.js';
import { SegmentLogStore } from '../lib/storage/segment-log.js';

const ENTRY_BYTES = 1024;
const FLUSH_EVERY = 64;
const entriesTotal = Number(process.argv[2] ?? 20_000);

// The benchmark is the composition root here: it may read the real clock.
const clock: Clock = { nowMs: () => performance.now(), wallMs: () => Date.now() };

async function run(fsync: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-log-'));
  const store = await SegmentLogStore.open({ dir, clock, settings: { fsync } });
  const data = new Uint8Array(ENTRY_BYTES).fill(7);
  const start = performance.now();
  let batch: Entry[] = [];
  for (let i = 1; i <= entriesTotal; i++) {
    batch.push({ index: i, term: 1, type: EntryType.Normal, data });
    if (batch.length === FLUSH_EVERY || i === entriesTotal) {
      store.append(batch);
      batch = [];
      await store.flush();
    }
  }
  const ms = performance.now() - start;
  const bytes = store.logBytes();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  const perSec = (entriesTotal / ms) * 1000;
  console.log(`fsync=${String(fsync).padEnd(5)}  ${entriesTotal} entries in ${ms.toFixed(0)} ms: ${perSec.toFixed(0)} entries/s, ${((bytes / ms) * 1000 / 2 ** 20).toFixed(1)} MB/s on disk (${((entriesTotal * ENTRY_BYTES / ms) * 1000 / 2 ** 20).toFixed(1)} MB/s of entry data), ${(entriesTotal / FLUSH_EVERY).toFixed(0)} flushes`);
}

console.log(`bench-log-store: ${entriesTotal} entries of ${ENTRY_BYTES} bytes, flush every ${FLUSH_EVERY}, format opaque, dir ${tmpdir()}`);
console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${process.platform}`);
await run(true);
await run(false);
