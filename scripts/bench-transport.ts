/**
 * Benchmark: two TcpTransports on loopback, one direction, frames of 64 KiB and of 1 KiB (a
 * Buffer payload, as Raft entries are). The sender keeps its queue near a target of queued bytes
 * (never blocking, as the Raft host would), the receiver counts. Prints the parameters, the
 * machine and frames/s and MB/s per size; asserts nothing.
 *
 *   npm run build && node dist/scripts/bench-transport.js [durationMs]
 */
import { cpus, platform, release } from 'node:os';
import { systemClock } from '../lib/app/system-clock.js';
import { Xoshiro128 } from '../lib/base/prng.js';
import { TcpTransport } from '../lib/transport/tcp-transport.js';

const durationMs = Number(process.argv[2] ?? 3000);
const sizes = [64 * 1024, 1024];
const targetQueuedBytes = 8 * 1024 * 1024;

console.log(`bench-transport: node ${process.version}, ${platform()} ${release()}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}`);
console.log(`  ${durationMs} ms per size, sender keeps <= ${targetQueuedBytes / 1024 / 1024} MiB queued, loopback TCP, default transport settings`);

for (const size of sizes) {
  const a = new TcpTransport({ nodeId: 1, clusterId: 'bench', listen: { host: '127.0.0.1', port: 0 }, prng: new Xoshiro128(1), clock: systemClock });
  const b = new TcpTransport({ nodeId: 2, clusterId: 'bench', listen: { host: '127.0.0.1', port: 0 }, prng: new Xoshiro128(2), clock: systemClock });
  await a.start();
  await b.start();
  a.setPeers(new Map([[2, { host: '127.0.0.1', port: b.port }]]));
  b.setPeers(new Map([[1, { host: '127.0.0.1', port: a.port }]]));
  while (!a.stats().peers.get(2)?.connected) await new Promise((r) => setTimeout(r, 5));

  let received = 0;
  b.onReceive(() => received++);
  const payload = { g: [['bench/0', [{ data: Buffer.alloc(size, 7) }]]] };
  let sent = 0;
  let refused = 0;
  const start = performance.now();
  while (performance.now() - start < durationMs) {
    // stats() builds a map: look at the queue every 32 sends, not every send.
    fill: while ((a.stats().peers.get(2)?.queuedBytes ?? 0) < targetQueuedBytes) {
      for (let i = 0; i < 32; i++) {
        if (a.send(2, payload)) sent++;
        else {
          refused++;
          break fill;
        }
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  while (received < sent) await new Promise((r) => setImmediate(r));
  const seconds = (performance.now() - start) / 1000;
  const stats = a.stats().peers.get(2)!;
  const mb = stats.bytesSent / 1e6;
  console.log(
    `  ${String(size).padStart(6)} B frames: ${Math.round(received / seconds).toLocaleString('en-US').padStart(9)} frames/s, `
    + `${(mb / seconds).toFixed(1).padStart(7)} MB/s, ${stats.flushes} writes (${(received / Math.max(1, stats.flushes)).toFixed(1)} frames each), `
    + `${refused} sends refused`,
  );
  await a.close();
  await b.close();
}
