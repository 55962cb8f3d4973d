// ReplicaManager on one node with real segment files: a replica opens with its topic's effective
// config, so segment.bytes and flush.messages hold from the first record — with no log manager
// running at all (it used to apply them only at its next round, up to a second later).
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerRpc } from '../../lib/cluster/rpc.js';
import { ReplicaManager } from '../../lib/broker/replica-manager.js';
import type { MetadataImage } from '../../lib/metadata/image.js';
import { createTopicRecords } from '../../lib/metadata/topics.js';
import { encodeBatch } from '../../lib/records/encode.js';
import { RaftHost } from '../../lib/raft/host.js';
import { MemoryKv } from '../../lib/storage/memory-kv.js';
import { MemoryNetwork } from '../../lib/transport/memory-transport.js';
import { register, replay, uuidOf } from '../metadata/helpers.js';
import { clock, until } from './helpers.js';

describe('ReplicaManager', function () {
  this.timeout(30_000);
  let dir: string;
  let host: RaftHost;
  let manager: ReplicaManager;
  let rpc: PeerRpc;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-replicas-'));
    const transport = new MemoryNetwork().transport(1);
    transport.setPeers(new Map());
    await transport.start();
    rpc = new PeerRpc({ nodeId: 1, transport, timeoutMs: 500 });
    host = new RaftHost({ nodeId: 1, transport: rpc.raftTransport, settings: { tickMs: 5 } });
    host.start();
    manager = new ReplicaManager({ nodeId: 1, host, kv: new MemoryKv(), dir, fsync: false, clock, rpc, reportLeaders: async () => {} });
  });

  afterEach(async () => {
    await manager.close();
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function imageWith(name: string, configs: ReadonlyMap<string, string>, base: MetadataImage = replay([register(1)])): MetadataImage {
    return replay(createTopicRecords(base, { name, topicId: uuidOf(7), partitionCount: 1, replicationFactor: 1, configs }), base);
  }

  it("opens a replica with its topic's config: segment.bytes and flush.messages hold from the first record", async () => {
    const segmentBytes = 16_384;
    manager.onImage(imageWith('seg', new Map([['segment.bytes', String(segmentBytes)], ['flush.messages', '1']])));
    await until(() => manager.get('seg', 0)?.serving === true);
    const p = manager.get('seg', 0)!;
    const syncsBefore = p.segmentLog.stats.syncs;
    // At once, 300 KB in 1 KB batches (no log manager runs in this test).
    const value = Buffer.alloc(1000, 0x78);
    let batchBytes = 0;
    const n = 300;
    for (let i = 0; i < n; i++) {
      const batch = encodeBatch({ records: [{ key: null, value }] });
      batchBytes = batch.length;
      await p.produce({ batch, maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    }
    const infos = p.segmentLog.segmentInfos();
    expect(infos.length).to.be.greaterThan(15);
    for (const s of infos) expect(s.bytes, `segment at ${s.baseOffset}`).to.be.at.most(segmentBytes + batchBytes);
    // fsync off, flush.messages=1: every append is fsynced (the default would fsync none of them).
    expect(p.segmentLog.stats.syncs - syncsBefore).to.be.at.least(n);
  });

  it('a topic without configs runs on the defaults (the control: one segment, no fsync with fsync off)', async () => {
    manager.onImage(imageWith('plain', new Map()));
    await until(() => manager.get('plain', 0)?.serving === true);
    const p = manager.get('plain', 0)!;
    const syncsBefore = p.segmentLog.stats.syncs;
    for (let i = 0; i < 50; i++) await p.produce({ batch: encodeBatch({ records: [{ key: null, value: Buffer.alloc(1000) }] }), maxBatchBytes: 1 << 20, logAppendTime: false, timeoutMs: 5000 });
    expect(p.segmentLog.segmentInfos().length).to.equal(1);
    expect(p.segmentLog.stats.syncs - syncsBefore).to.equal(0);
  });
});
