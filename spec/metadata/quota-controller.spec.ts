// AlterClientQuotas through the controller (3 controllers + 1 observer over a memory network):
// forwarded from any node, applied on that node before the answer, on every node after;
// validateOnly changes nothing; bad entries refused with INVALID_REQUEST; a snapshot keeps them.
import { expect } from 'chai';
import type { AlterClientQuotasResponse } from '../../lib/metadata/controller-api.js';
import { ControllerMethods } from '../../lib/metadata/controller-api.js';
import { quotaEntries } from '../../lib/quota/entries.js';
import { Quorum, until } from './controller-harness.js';

describe('metadata/controller: client quotas', function () {
  this.timeout(30_000);
  let q: Quorum;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(q.logs.slice(-40).join('\n'));
    await q.close();
  });

  it('alterClientQuotas from an observer: validateOnly writes nothing, then applied there before the answer and on every node', async () => {
    q = await Quorum.start([1, 2, 3, 4], [1, 2, 3]);
    await q.activeLeader();
    await q.registerAll();
    const entries = [
      { entity: [{ type: 'client-id', name: 'app' }], ops: [{ key: 'producer_byte_rate', value: 1_048_576 }, { key: 'consumer_byte_rate', value: 2_097_152 }] },
      { entity: [{ type: 'user', name: null }], ops: [{ key: 'request_percentage', value: 400 }] },
      { entity: [{ type: 'user', name: 'alice' }, { type: 'client-id', name: null }], ops: [{ key: 'nonsense', value: 1 }] },
    ];
    const dry = await q.node(4).client.call<AlterClientQuotasResponse>(ControllerMethods.alterClientQuotas, { entries, validateOnly: true }, { waitForMetadata: true });
    expect(dry.metadataIndex).to.equal(0);
    expect(dry.results.map((r) => r?.code ?? null)).to.deep.equal([null, 'INVALID_REQUEST', 'INVALID_REQUEST']);
    expect(dry.results[1]?.message).to.match(/request_percentage 400 is above the largest allowed, 100/);
    expect(dry.results[2]?.message).to.match(/unknown quota key "nonsense"/);
    expect(q.nodes.every((n) => n.sm.image().clientQuotas.size === 0)).to.equal(true);

    const res = await q.node(4).client.call<AlterClientQuotasResponse>(ControllerMethods.alterClientQuotas, { entries, validateOnly: false }, { waitForMetadata: true });
    expect(res.metadataIndex).to.be.greaterThan(0);
    expect(res.results.map((r) => r?.code ?? null)).to.deep.equal([null, 'INVALID_REQUEST', 'INVALID_REQUEST']);
    const here = quotaEntries(q.node(4).sm.image());
    expect(here.map((e) => [e.entity, Object.fromEntries(e.values)])).to.deep.equal([[[{ type: 'client-id', name: 'app' }], { producer_byte_rate: 1_048_576, consumer_byte_rate: 2_097_152 }]]);
    await until(() => q.nodes.every((n) => n.sm.image().clientQuotas.size === 1), 'every node holds the quota');

    const removed = await q.node(2).client.call<AlterClientQuotasResponse>(ControllerMethods.alterClientQuotas, {
      entries: [{ entity: [{ type: 'client-id', name: 'app' }], ops: [{ key: 'producer_byte_rate', value: null }] }], validateOnly: false,
    }, { waitForMetadata: true });
    expect(removed.results).to.deep.equal([null]);
    expect(Object.fromEntries(quotaEntries(q.node(2).sm.image())[0]!.values)).to.deep.equal({ consumer_byte_rate: 2_097_152 });
  });
});
