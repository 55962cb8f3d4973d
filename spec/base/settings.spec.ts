import { expect } from 'chai';
import { validateSettings } from '../../lib/base/settings.js';
import { isFlotillaError } from '../../lib/base/errors.js';
import { validateRaftSettings } from '../../lib/raft/core/config.js';

const table = {
  sizeBytes: { type: 'int', default: 10, min: 1, max: 100, unit: 'bytes', doc: 'a size' },
  mode: { type: 'enum', default: 'a', values: ['a', 'b'] as const, doc: 'a mode' },
  on: { type: 'bool', default: false, doc: 'a flag' },
} as const;

describe('settings', () => {
  it('fills defaults and freezes', () => {
    const s = validateSettings(table, {}, 'test');
    expect(s).to.deep.equal({ sizeBytes: 10, mode: 'a', on: false });
    expect(Object.isFrozen(s)).to.equal(true);
  });

  it('names the bad setting', () => {
    for (const [input, fragment] of [
      [{ sizeBytes: 0 }, 'test.sizeBytes must be between 1 and 100 bytes'],
      [{ sizeBytes: 1.5 }, 'test.sizeBytes must be an integer'],
      [{ mode: 'c' }, 'test.mode must be one of a, b'],
      [{ on: 'yes' }, 'test.on must be true or false'],
      [{ nope: 1 }, 'test.nope is not a known setting'],
    ] as const) {
      try {
        validateSettings(table, input, 'test');
        expect.fail('accepted a bad value');
      } catch (err) {
        expect(isFlotillaError(err, 'INVALID_CONFIG')).to.equal(true);
        expect((err as Error).message).to.contain(fragment);
      }
    }
  });

  it('checks relations between raft settings', () => {
    expect(() => validateRaftSettings({ electionTicksMin: 10, electionTicksMax: 10 })).to.throw(/raft.electionTicksMax must be greater/);
    expect(() => validateRaftSettings({ readMode: 'lease', checkQuorum: false })).to.throw(/raft.readMode/);
    expect(validateRaftSettings().electionTicksMin).to.equal(10);
  });
});
