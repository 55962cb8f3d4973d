import { expect } from 'chai';
import { isFlotillaError } from '../../lib/base/errors.js';
import { type RegisterRequest, type RegisterResponse, ControllerMethods } from '../../lib/metadata/controller-api.js';
import { Quorum, until } from './controller-harness.js';
import { uuidOf } from './helpers.js';

describe('metadata/controller: registering a node with its listeners (RegisterBroker v1)', function () {
  this.timeout(30_000);
  let q: Quorum;
  beforeEach(async () => {
    q = await Quorum.start([1, 2, 3], [1, 2, 3]);
  });
  afterEach(async () => q.close());

  const base: RegisterRequest = { brokerId: 7, incarnationId: uuidOf(7007), host: 'n7', clientPort: 9092, peerPort: 19007, rack: null };

  it('records the listeners in the image; a bad listener list is INVALID_REQUEST', async () => {
    await q.activeLeader();
    const listeners = [
      { name: 'PLAINTEXT', host: 'n7', port: 9092, securityProtocol: 'PLAINTEXT' as const },
      { name: 'SSL', host: 'n7.example', port: 9093, securityProtocol: 'SSL' as const },
    ];
    const res = await q.node(1).client.call<RegisterResponse>(ControllerMethods.register, { ...base, listeners });
    await until(() => q.nodes.every((n) => n.sm.appliedIndex >= res.metadataIndex), 'every node applied the registration');
    for (const n of q.nodes) expect(n.sm.image().brokers.get(7)?.listeners, `node ${n.id}`).to.deep.equal(listeners);
    for (const bad of [[], [listeners[0], listeners[0]], [{ ...listeners[1], securityProtocol: 'TLS' }], [{ ...listeners[1], name: 'lower' }]]) {
      const err = await q.node(1).client.call(ControllerMethods.register, { ...base, listeners: bad }).then(() => null, (e: unknown) => e);
      expect(isFlotillaError(err, 'INVALID_REQUEST'), JSON.stringify(bad)).to.equal(true);
    }
  });
});
