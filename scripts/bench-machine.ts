/**
 * `node dist/scripts/bench-machine.js [--seconds S] [--writers N]`
 *
 * What this machine does on its own, for reading the latency figures of `npm run bench`:
 * - how late a bare Node process's 1 ms timer fires (p50, p99, p999, max): the floor of any
 *   latency measured here, whatever the servers do;
 * - write 1,100 B + fdatasync in a loop, in one process and then in N processes at once (the
 *   three nodes of a local cluster share one disk): operations per second and latency.
 * It prints one JSON object per measurement; it asserts nothing.
 */
import { fork } from 'node:child_process';
import { fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '4' }, writers: { type: 'string', default: '3' }, child: { type: 'boolean', default: false } } });
const seconds = Number(values.seconds);

function quantiles(sorted: number[]): { p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number } {
  const q = (p: number): number => Number((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN).toFixed(2));
  return { p50Ms: q(0.5), p99Ms: q(0.99), p999Ms: q(0.999), maxMs: Number((sorted.at(-1) ?? NaN).toFixed(2)) };
}

/** One write+fdatasync loop for `seconds`. */
function syncLoop(): { opsPerSecond: number; p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number } {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-machine-'));
  try {
    const fd = openSync(join(dir, 'f'), 'w');
    const buf = Buffer.alloc(1100, 1);
    const lats: number[] = [];
    const end = Date.now() + seconds * 1000;
    for (let pos = 0; Date.now() < end; pos += buf.length) {
      const t = process.hrtime.bigint();
      writeSync(fd, buf, 0, buf.length, pos);
      fdatasyncSync(fd);
      lats.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return { opsPerSecond: Math.round(lats.length / seconds), ...quantiles(lats.sort((a, b) => a - b)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.child) {
  process.send?.(syncLoop());
} else {
  const late: number[] = [];
  await new Promise<void>((resolve) => {
    const end = Date.now() + seconds * 1000;
    let prev = process.hrtime.bigint();
    const tick = (): void => {
      const now = process.hrtime.bigint();
      late.push(Number(now - prev) / 1e6 - 1);
      prev = now;
      if (Date.now() < end) setTimeout(tick, 1);
      else resolve();
    };
    setTimeout(tick, 1);
  });
  console.log(JSON.stringify({ measurement: '1 ms timer lateness', timers: late.length, ...quantiles(late.sort((a, b) => a - b)) }));
  console.log(JSON.stringify({ measurement: 'write 1,100 B + fdatasync, 1 writer', ...syncLoop() }));
  const writers = Number(values.writers);
  const results = await Promise.all(Array.from({ length: writers }, () => new Promise<unknown>((resolve) => {
    const child = fork(new URL(import.meta.url), ['--child', '--seconds', String(seconds)]);
    child.once('message', resolve);
  })));
  console.log(JSON.stringify({ measurement: `write 1,100 B + fdatasync, ${writers} writers at once`, writers: results }));
}
