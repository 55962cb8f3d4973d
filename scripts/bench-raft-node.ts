/**
 * One node of `npm run bench:raft` (scripts/bench-raft.ts forks three of these). A RaftNode on the
 * real TCP transport and the real disk store, with a state machine that only counts. The parent
 * tells the leader to run the load over IPC; the leader proposes with a fixed number in flight and
 * reports throughput and commit latencies (propose -> applied on the leader, i.e. committed by a
 * quorum and durable there).
 */
import { Xoshiro128 } from '../lib/base/prng.js';
import { membershipOf } from '../lib/raft/core/membership.js';
import { RaftHost } from '../lib/raft/host.js';
import { RaftNode } from '../lib/raft/node.js';
import type { StateMachine } from '../lib/raft/state-machine.js';
import { openDiskGroupStore } from '../lib/storage/disk-group-store.js';
import { TcpTransport } from '../lib/transport/tcp-transport.js';
import { systemClock } from '../lib/app/system-clock.js';

const [idText, dir, portsText, fsyncText] = process.argv.slice(2) as [string, string, string, string];
const id = Number(idText);
const ports = portsText.split(',').map(Number);
const ids = ports.map((_, i) => i + 1);

class Counter implements StateMachine<number> {
  count = 0;
  apply(): number {
    return ++this.count;
  }
  snapshot(): Uint8Array {
    return Buffer.from(String(this.count));
  }
  restore(data: Uint8Array): void {
    this.count = Number(Buffer.from(data).toString());
  }
}

const transport = new TcpTransport({ nodeId: id, clusterId: 'bench', listen: { host: '127.0.0.1', port: ports[id - 1]! }, prng: new Xoshiro128(id), clock: systemClock });
transport.setPeers(new Map(ids.filter((p) => p !== id).map((p) => [p, { host: '127.0.0.1', port: ports[p - 1]! }])));
await transport.start();
const host = new RaftHost({ nodeId: id, transport, settings: { tickMs: 50 } });
const store = await openDiskGroupStore({ dir, bootstrap: membershipOf(ids), fsync: fsyncText === 'true', clock: systemClock });
const node = await RaftNode.create({
  host, groupId: 'bench', store, stateMachine: new Counter(),
  node: { snapshotEntries: 20_000, snapshotTrailingEntries: 5_000, maxPendingProposals: 100_000 },
  raft: { maxInflightMessages: 1024, maxUncommittedBytes: 512 * 1024 * 1024 },
});
host.start();
node.on('leader-change', ({ leaderId }: { leaderId: number }) => {
  if (leaderId === id) process.send?.({ type: 'leader', id });
});
process.send?.({ type: 'started', id });

interface LoadCommand {
  type: 'load';
  entries: number;
  inflight: number;
  entryBytes: number;
}

process.on('message', (msg: LoadCommand | { type: 'stop' }) => {
  if (msg.type === 'stop') {
    void (async () => {
      await node.close();
      await host.close();
      await transport.close();
      process.exit(0);
    })();
    return;
  }
  void runLoad(msg).then((result) => process.send?.({ type: 'result', ...result }));
});

async function runLoad(cmd: LoadCommand): Promise<{ seconds: number; latenciesMs: number[]; errors: number }> {
  const payload = Buffer.alloc(cmd.entryBytes, 0x61);
  const latencies: number[] = [];
  let sent = 0;
  let errors = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (sent < cmd.entries) {
      sent++;
      const t0 = performance.now();
      try {
        await node.propose(payload);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: cmd.inflight }, worker));
  return { seconds: (performance.now() - start) / 1000, latenciesMs: latencies, errors };
}
