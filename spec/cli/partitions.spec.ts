// The pure parts of `flotilla partitions`: kafka-reassign-partitions plans, read and generated.
import { expect } from 'chai';
import { generatePlan, parsePlan } from '../../lib/cli/partitions.js';
import { CliError } from '../../lib/cli/output.js';

function usageError(fn: () => unknown, match: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(CliError);
    expect((err as CliError).exitCode).to.equal(2);
    expect((err as CliError).message).to.match(match);
    return;
  }
  expect.fail('expected a usage error');
}

describe('cli partitions', () => {
  it('reads kafka-reassign-partitions plans and names what is wrong in a bad one', () => {
    const text = JSON.stringify({ version: 1, partitions: [{ topic: 'a', partition: 0, replicas: [2, 3, 4], log_dirs: ['any', 'any', 'any'] }, { topic: 'b', partition: 1, replicas: [1] }] });
    expect(parsePlan(text, 'plan.json')).to.deep.equal([{ topic: 'a', partition: 0, replicas: [2, 3, 4] }, { topic: 'b', partition: 1, replicas: [1] }]);
    usageError(() => parsePlan('{', 'p'), /p is not JSON/);
    usageError(() => parsePlan('{"version":2,"partitions":[]}', 'p'), /"version" must be 1/);
    usageError(() => parsePlan('{"version":1,"partitions":[]}', 'p'), /non-empty list/);
    usageError(() => parsePlan('{"version":1,"partitions":[{"topic":"a","partition":-1,"replicas":[1]}]}', 'p'), /partitions\[0\]\.partition/);
    usageError(() => parsePlan('{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1,1]}]}', 'p'), /names a node twice/);
    usageError(() => parsePlan('{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[]}]}', 'p'), /non-empty list of node ids/);
    usageError(() => parsePlan('{"version":1,"partitions":[{"topic":"a","partition":0,"replicas":[1]},{"topic":"a","partition":0,"replicas":[2]}]}', 'p'), /a-0 appears twice/);
  });

  it('generates a plan: same replica counts, round-robin over the brokers, preferred leaders spread', () => {
    const current = [0, 1, 2, 3].map((partition) => ({ topic: 't', partition, replicas: [1, 2, 3] }));
    const plan = generatePlan(current, [4, 5, 6, 7]);
    expect(plan.map((p) => p.replicas)).to.deep.equal([[4, 5, 6], [5, 6, 7], [6, 7, 4], [7, 4, 5]]);
    expect(generatePlan([{ topic: 'u', partition: 0, replicas: [1] }], [2, 3]).map((p) => p.replicas)).to.deep.equal([[2]]);
    usageError(() => generatePlan(current, [1, 2]), /has 3 replicas, more than the 2 brokers given/);
  });
});
