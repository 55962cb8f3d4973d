// SCRAM credentials through the controller (3 controllers + 1 observer over a memory network):
// AlterUserScramCredentials forwarded from any node, applied everywhere, Kafka's per-user errors;
// the bootstrap credentials (--add-scram) written once by the first active controller of an empty
// cluster, and neither rewritten nor restored by later controllers (research 4.5 E1, E2, E4).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { AlterScramResponse } from '../../lib/metadata/controller-api.js';
import { ControllerMethods } from '../../lib/metadata/controller-api.js';
import { scramKey } from '../../lib/metadata/image.js';
import { saltPassword, scramCredentialRecord } from '../../lib/metadata/scram.js';
import { Quorum, until } from './controller-harness.js';

describe('metadata/controller: SCRAM credentials', function () {
  this.timeout(30_000);
  let q: Quorum;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(q.logs.slice(-40).join('\n'));
    await q.close();
  });

  it('writes the bootstrap credential once; a new controller neither writes it again nor restores it after a delete', async () => {
    const admin = await scramCredentialRecord('admin', 'SCRAM-SHA-512', 'admin-pw', randomBytes(16), 4096);
    q = await Quorum.start([1, 2, 3, 4], [1, 2, 3], {}, [admin]);
    const leader = await q.activeLeader();
    await q.registerAll();
    await until(() => q.nodes.every((n) => n.sm.image().scramCredentials.size === 1), 'every image holds the bootstrap credential');
    const written = q.node(4).sm.image().scramCredentials.get(scramKey('admin', 'SCRAM-SHA-512'))!;
    expect(Buffer.from(written.salt)).to.deep.equal(Buffer.from((admin as { salt: Uint8Array }).salt));
    expect(written.iterations).to.equal(4096);

    const del = await q.node(4).client.call<AlterScramResponse>(ControllerMethods.alterScramCredentials, { deletions: [{ name: 'admin', mechanism: 2 }], upsertions: [] }, { waitForMetadata: true });
    expect(del.results).to.deep.equal([{ user: 'admin', error: null }]);
    expect(q.node(4).sm.image().scramCredentials.size).to.equal(0);
    // A leader change: the next active controller (given the same --add-scram) sees a cluster that exists.
    await q.removeNode(leader.id);
    const next = await q.activeLeader();
    expect(next.id).to.not.equal(leader.id);
    await new Promise((r) => setTimeout(r, 300));
    expect(q.node(4).sm.image().scramCredentials.size).to.equal(0);
    expect(q.logs.filter((l) => l.includes('bootstrap SCRAM credential'))).to.have.length(1);
  });

  it('AlterUserScramCredentials from any node: applied on that node before the answer; Kafka\'s errors per user', async () => {
    q = await Quorum.start([1, 2, 3, 4], [1, 2, 3]);
    await q.activeLeader();
    await q.registerAll();
    const salt = randomBytes(16);
    const saltedPassword = await saltPassword('SCRAM-SHA-256', 'pw', salt, 4096);
    const res = await q.node(4).client.call<AlterScramResponse>(ControllerMethods.alterScramCredentials, {
      deletions: [{ name: 'ghost', mechanism: 1 }],
      upsertions: [{ name: 'alice', mechanism: 1, iterations: 4096, salt, saltedPassword }, { name: 'bob', mechanism: 1, iterations: 100, salt, saltedPassword }],
    }, { waitForMetadata: true });
    expect(Object.fromEntries(res.results.map((r) => [r.user, r.error?.code ?? null]))).to.deep.equal({ alice: null, ghost: 'RESOURCE_NOT_FOUND', bob: 'UNACCEPTABLE_CREDENTIAL' });
    const c = q.node(4).sm.image().scramCredentials.get(scramKey('alice', 'SCRAM-SHA-256'))!;
    expect(c.iterations).to.equal(4096);
    expect(Buffer.from(c.storedKey)).to.not.deep.equal(saltedPassword);
    await until(() => q.nodes.every((n) => n.sm.image().scramCredentials.size === 1), 'every node holds the credential');
  });
});
