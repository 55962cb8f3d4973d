// ApiVersions v0-v4 through dispatch: the same API list at every version; the features exist from
// v3 on, and a supported feature whose range starts at 0 (kraft.version) only from v4 on
// (KAFKA-17492), as Kafka answers; metadata.version 1-21 (3.9-IV0) finalized at 21 with a
// constant epoch; transaction.version and group.version are not listed; zkMigrationReady false.
import { expect } from 'chai';
import { type ApiVersionsResponse, apiVersionsApi } from '../../lib/kafka/api-versions.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { processFrame, servedApiKeys } from '../../lib/server/dispatch.js';
import { ServerMetrics } from '../../lib/server/metrics.js';
import { MemoryBroker } from './memory-broker.js';

async function ask(version: number): Promise<{ correlationId: number; body: ApiVersionsResponse }> {
  const env = { broker: new MemoryBroker(), metrics: new ServerMetrics(), responseBytesMax: 1 << 20 };
  const frame = encodeRequestFrame(apiVersionsApi, version, 40 + version, 'c', { clientSoftwareName: 'spec', clientSoftwareVersion: '1' });
  const out = await processFrame(frame.subarray(4), env);
  if (out.kind !== 'response') throw new Error(`ApiVersions v${version}: ${out.kind}`);
  return parseResponse(apiVersionsApi, version, out.frame.subarray(4));
}

describe('ApiVersions v0-v4 (dispatch)', () => {
  it('lists the served APIs at every version, ApiVersions itself v0-v4', async () => {
    for (let v = 0; v <= 4; v++) {
      const { correlationId, body } = await ask(v);
      expect(correlationId).to.equal(40 + v);
      expect(body.errorCode).to.equal(0);
      expect(body.apiKeys.map((k) => k.apiKey)).to.deep.equal([...servedApiKeys].sort((a, b) => a - b));
      expect(body.apiKeys.find((k) => k.apiKey === 18)).to.deep.equal({ apiKey: 18, minVersion: 0, maxVersion: 4 });
    }
  });

  it('reports features from v3 on: v3 without ranges starting at 0, v4 with kraft.version 0-0', async () => {
    for (const v of [0, 1, 2]) {
      const { body } = await ask(v);
      expect(body.supportedFeatures).to.deep.equal([]);
      expect(body.finalizedFeaturesEpoch).to.equal(-1);
    }
    const v3 = (await ask(3)).body;
    expect(v3.supportedFeatures).to.deep.equal([{ name: 'metadata.version', minVersion: 1, maxVersion: 21 }]);
    expect(v3.finalizedFeatures).to.deep.equal([{ name: 'metadata.version', maxVersionLevel: 21, minVersionLevel: 21 }]);
    expect(v3.finalizedFeaturesEpoch).to.equal(0);
    expect(v3.zkMigrationReady).to.equal(false);
    const v4 = (await ask(4)).body;
    expect(v4.supportedFeatures).to.deep.equal([
      { name: 'metadata.version', minVersion: 1, maxVersion: 21 },
      { name: 'kraft.version', minVersion: 0, maxVersion: 0 },
    ]);
    // Level 0 is off: Kafka leaves it out of the finalized list.
    expect(v4.finalizedFeatures).to.deep.equal([{ name: 'metadata.version', maxVersionLevel: 21, minVersionLevel: 21 }]);
    for (const body of [v3, v4]) {
      const names = body.supportedFeatures.map((f) => f.name);
      expect(names).to.not.include('transaction.version');
      expect(names).to.not.include('group.version');
    }
  });

  it('answers v4 with response header v0 (KIP-511) and reads its flexible request (header v2)', async () => {
    const env = { broker: new MemoryBroker(), metrics: new ServerMetrics(), responseBytesMax: 1 << 20 };
    const frame = encodeRequestFrame(apiVersionsApi, 4, 3, 'c', { clientSoftwareName: 'apache-kafka-java', clientSoftwareVersion: '4.0.0' });
    const out = await processFrame(frame.subarray(4), env);
    if (out.kind !== 'response') throw new Error(out.kind);
    // size, correlation id, then at once the error code (no tagged header section).
    expect(out.frame.readInt32BE(4)).to.equal(3);
    expect(out.frame.readInt16BE(8)).to.equal(0);
  });
});
