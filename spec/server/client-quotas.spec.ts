// DescribeClientQuotas (48) and AlterClientQuotas (49) through the dispatch path, v0 and v1,
// against the memory broker (which applies alterations with the controller's own rules,
// lib/metadata/client-quotas.ts): set, read back with Kafka's filters, validateOnly, per-entry
// INVALID_REQUEST for bad input, remove, and a bad filter answered as the whole response's error.
import { expect } from 'chai';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { alterClientQuotasApi } from '../../lib/kafka/alter-client-quotas.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { describeClientQuotasApi } from '../../lib/kafka/describe-client-quotas.js';
import { errorCode } from '../../lib/kafka/errors.js';
import { type DispatchEnv, processFrame } from '../../lib/server/dispatch.js';
import { ServerMetrics } from '../../lib/server/metrics.js';
import { MemoryBroker } from './memory-broker.js';

async function call<Req, Res>(broker: MemoryBroker, api: ApiDefinition<Req, Res>, version: number, body: Req): Promise<Res> {
  const env: DispatchEnv = { broker, metrics: new ServerMetrics(), responseBytesMax: 1 << 24 };
  const out = await processFrame(encodeRequestFrame(api, version, 1, 'test', body).subarray(4), env);
  if (out.kind !== 'response') throw new Error(`expected a response, got ${out.kind}`);
  expect(env.metrics.handlerFailures).to.equal(0);
  return parseResponse(api, version, out.frame.subarray(4)).body;
}

const set = (entity: [string, string | null][], ops: [string, number | null][]) => ({
  entity: entity.map(([entityType, entityName]) => ({ entityType, entityName })),
  ops: ops.map(([key, value]) => ({ key, value: value ?? 0, remove: value === null })),
});

for (const version of [0, 1]) {
  describe(`server: client quota APIs v${version}`, () => {
    let broker: MemoryBroker;
    beforeEach(() => {
      broker = new MemoryBroker();
    });
    const alter = (entries: ReturnType<typeof set>[], validateOnly = false) => call(broker, alterClientQuotasApi, version, { entries, validateOnly });
    const describeQ = (components: { entityType: string; matchType: number; match: string | null }[], strict = false) =>
      call(broker, describeClientQuotasApi, version, { components, strict });

    it('sets quotas, reads them back with filters, removes them; validateOnly changes nothing', async () => {
      const dry = await alter([set([['client-id', 'app']], [['producer_byte_rate', 1024]])], true);
      expect(dry.entries.map((e) => e.errorCode)).to.deep.equal([0]);
      expect((await describeQ([])).entries).to.deep.equal([]);

      const res = await alter([
        set([['client-id', 'app']], [['producer_byte_rate', 1024], ['consumer_byte_rate', 2048]]),
        set([['user', null], ['client-id', null]], [['request_percentage', 25.5]]),
        set([['ip', '10.0.0.7']], [['connection_creation_rate', 5]]),
      ]);
      expect(res.entries.map((e) => [e.errorCode, e.entity])).to.deep.equal([
        [0, [{ entityType: 'client-id', entityName: 'app' }]],
        [0, [{ entityType: 'user', entityName: null }, { entityType: 'client-id', entityName: null }]],
        [0, [{ entityType: 'ip', entityName: '10.0.0.7' }]],
      ]);
      const exact = await describeQ([{ entityType: 'client-id', matchType: 0, match: 'app' }], true);
      expect(exact.errorCode).to.equal(0);
      expect(exact.entries).to.deep.equal([{
        entity: [{ entityType: 'client-id', entityName: 'app' }],
        values: [{ key: 'producer_byte_rate', value: 1024 }, { key: 'consumer_byte_rate', value: 2048 }],
      }]);
      const defaults = await describeQ([{ entityType: 'user', matchType: 1, match: null }]);
      expect(defaults.entries).to.deep.equal([{
        entity: [{ entityType: 'user', entityName: null }, { entityType: 'client-id', entityName: null }], values: [{ key: 'request_percentage', value: 25.5 }],
      }]);
      expect((await describeQ([{ entityType: 'ip', matchType: 2, match: null }]))?.entries?.length).to.equal(1);
      expect((await describeQ([]))?.entries?.length).to.equal(3);

      await alter([set([['client-id', 'app']], [['producer_byte_rate', null], ['consumer_byte_rate', null]])]);
      expect((await describeQ([{ entityType: 'client-id', matchType: 0, match: 'app' }])).entries).to.deep.equal([]);
    });

    it('bad entries: INVALID_REQUEST with a message each, the good entry still applies', async () => {
      const res = await alter([
        set([['client-id', 'app']], [['producer_byte_rate', Number.NaN]]),
        set([['client-id', 'app']], [['producer_byte_rate', -10]]),
        set([['client-id', 'app']], [['producer_byte_rate', 1e30]]),
        set([['client-id', 'app']], [['unknown_key', 1]]),
        set([['group', 'g']], [['producer_byte_rate', 1]]),
        set([['user', 'u'], ['ip', '1.2.3.4']], [['connection_creation_rate', 1]]),
        set([['user', 'bob']], [['producer_byte_rate', 4096]]),
      ]);
      const INVALID = errorCode('INVALID_REQUEST');
      expect(res.entries.map((e) => e.errorCode)).to.deep.equal([INVALID, INVALID, INVALID, INVALID, INVALID, INVALID, 0]);
      expect(res.entries.map((e) => e.errorMessage)).to.satisfy((m: (string | null)[]) =>
        /number/.test(m[0]!) && /greater than 0/.test(m[1]!) && /largest allowed/.test(m[2]!) && /unknown quota key/.test(m[3]!) && /unknown entity type "group"/.test(m[4]!) && /cannot be combined/.test(m[5]!));
      expect((await describeQ([]))?.entries?.map((e) => e.entity)).to.deep.equal([[{ entityType: 'user', entityName: 'bob' }]]);
    });

    it("a bad filter is the whole answer's error, entries null", async () => {
      const unknown = await describeQ([{ entityType: 'group', matchType: 2, match: null }]);
      expect([unknown.errorCode, unknown.entries]).to.deep.equal([errorCode('UNSUPPORTED_VERSION'), null]);
      const bad = await describeQ([{ entityType: 'user', matchType: 0, match: null }]);
      expect([bad.errorCode, bad.entries]).to.deep.equal([errorCode('INVALID_REQUEST'), null]);
      expect(bad.errorMessage).to.match(/MATCH_TYPE_EXACT/);
    });
  });
}
