/** What the node-configuration specs share: the least a node needs, and the INVALID_CONFIG check. */
import { expect } from 'chai';
import { isFlotillaError } from '../../lib/base/errors.js';

/** The settings every node must have (flags form). */
export const minimal = { nodeId: '1', dataDir: '/tmp/flotilla-node-1', controllers: '1@127.0.0.1:19092' };

/** Runs `fn`, expects INVALID_CONFIG, returns the message (without the code prefix). */
export function invalidMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isFlotillaError(err, 'INVALID_CONFIG'), String(err)).to.equal(true);
    return (err as Error).message.replace(/^INVALID_CONFIG: /, '');
  }
  return expect.fail('accepted a bad configuration');
}
