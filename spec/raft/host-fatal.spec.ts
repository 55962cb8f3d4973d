/**
 * A failed durable write is fatal for the host: it stops, reports once, and everything waiting on
 * it settles, so the node can stop loudly. Found by a chaos run (disk-full, seed 1): ENOSPC during
 * a flush while other groups had been touched left `idle()` waiting forever, and the node hung in
 * its stop sequence (closing its replicas) instead of exiting.
 */
import { expect } from 'chai';
import { membershipOf } from '../../lib/raft/core/membership.js';
import { MemoryGroupStore } from '../../lib/raft/group-store.js';
import { RaftHost } from '../../lib/raft/host.js';
import { RaftNode } from '../../lib/raft/node.js';
import type { StateMachine } from '../../lib/raft/state-machine.js';

class Noop implements StateMachine<void> {
  apply(): void {}
  snapshot(): Uint8Array {
    return new Uint8Array(0);
  }
  restore(): void {}
}

/** A store whose flushes fail with ENOSPC once `full` is set (after a while, so ticks touch groups meanwhile). */
class FullDiskStore extends MemoryGroupStore {
  full = false;
  override async flush(): Promise<void> {
    if (!this.full) return super.flush();
    await new Promise((r) => setTimeout(r, 30));
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  }
}

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms))]);
}

describe('RaftHost: a failed durable write', () => {
  it('is fatal once, and idle() and every group close() settle afterwards', async () => {
    const fatal: unknown[] = [];
    const host = new RaftHost({ nodeId: 1, transport: { send: () => true, onReceive: () => {} }, settings: { tickMs: 2 }, onFatal: (err) => fatal.push(err) });
    const stores = [new FullDiskStore(membershipOf([1])), new FullDiskStore(membershipOf([1]))];
    const nodes = await Promise.all(stores.map((store, i) => RaftNode.create({ host, groupId: `g${i}`, store, stateMachine: new Noop() })));
    host.start();
    for (const n of nodes) n.campaign();
    const end = Date.now() + 5000;
    while (!nodes.every((n) => n.isLeader) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(nodes.every((n) => n.isLeader)).to.equal(true);
    for (const s of stores) s.full = true;
    const proposals = nodes.map((n) => n.propose(Buffer.from('x')).then(() => 'applied', (err: unknown) => String(err)));
    while (fatal.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(fatal).to.have.length(1);
    expect(String(fatal[0])).to.contain('ENOSPC');
    await within(1000, host.idle(), 'host.idle()');
    await within(1000, Promise.all(nodes.map((n) => n.close())), 'RaftNode.close()');
    expect(await within(1000, Promise.all(proposals), 'the proposals')).to.satisfy((r: string[]) => r.every((x) => x !== 'applied'));
    await within(1000, host.close(), 'host.close()');
  });
});
