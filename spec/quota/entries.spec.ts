// The quota entity and value rules (lib/quota/entries.ts): Kafka's entity combinations, the keys
// each entity takes, and the value bounds (finite, > 0, integral where Kafka's type is, capped).
import { expect } from 'chai';
import { formatQuotaEntity, quotaEntityKey, quotaEntityProblem, quotaKeysFor, quotaValueProblem } from '../../lib/quota/entries.js';

const user = (name: string | null) => ({ type: 'user' as const, name });
const client = (name: string | null) => ({ type: 'client-id' as const, name });
const ip = (name: string | null) => ({ type: 'ip' as const, name });

describe('quota/entries', () => {
  it('takes a user, a client id, the pair, or an ip alone; refuses the rest with a reason', () => {
    for (const ok of [[user('a')], [client(null)], [user(null), client('c')], [client('c'), user('a')], [ip('10.1.2.3')], [ip('::1')], [ip(null)]]) {
      expect(quotaEntityProblem(ok), JSON.stringify(ok)).to.equal(null);
    }
    expect(quotaEntityProblem([])).to.match(/empty/);
    expect(quotaEntityProblem('user')).to.match(/empty/);
    expect(quotaEntityProblem([user('a'), user('b')])).to.match(/appears twice/);
    expect(quotaEntityProblem([{ type: 'group', name: 'g' }])).to.match(/unknown entity type "group"/);
    expect(quotaEntityProblem([user('')])).to.match(/empty user name/);
    expect(quotaEntityProblem([user('x'.repeat(1025))])).to.match(/longer than 1024/);
    expect(quotaEntityProblem([{ type: 'user', name: 7 }])).to.match(/not a string or null/);
    expect(quotaEntityProblem([ip('my-host')])).to.match(/not an IP address/);
    expect(quotaEntityProblem([ip('10.0.0.1'), user('a')])).to.match(/ip entity cannot be combined/);
    expect(quotaEntityProblem([client(null), ip(null)])).to.match(/ip entity cannot be combined/);
  });

  it('one canonical key per entity, whatever the order of its parts or the characters of its names', () => {
    expect(quotaEntityKey([client('c'), user('a')])).to.equal(quotaEntityKey([user('a'), client('c')]));
    expect(quotaEntityKey([user(null)])).to.not.equal(quotaEntityKey([user('null')]));
    expect(quotaEntityKey([user('a,client-id=b')])).to.not.equal(quotaEntityKey([user('a'), client('b')]));
    expect(formatQuotaEntity([client(null), user('a')])).to.equal('user=a, client-id=<default>');
  });

  it('user and client-id entities take the four client keys; ip entities connection_creation_rate only', () => {
    expect(quotaKeysFor([user('a'), client('b')])).to.deep.equal(['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'controller_mutation_rate']);
    expect(quotaKeysFor([ip(null)])).to.deep.equal(['connection_creation_rate']);
    expect(quotaValueProblem([ip(null)], 'producer_byte_rate', 1)).to.match(/does not apply to an ip entity/);
    expect(quotaValueProblem([user('a')], 'connection_creation_rate', 1)).to.match(/only to ip entities/);
    expect(quotaValueProblem([user('a')], 'producer.byte.rate', 1)).to.match(/unknown quota key "producer.byte.rate"/);
    expect(quotaValueProblem([user('a')], 'bogus', null)).to.match(/unknown quota key/);
  });

  it('values: finite, > 0, whole where Kafka stores an integer, and below each key\'s bound', () => {
    const u = [user('a')];
    expect(quotaValueProblem(u, 'producer_byte_rate', 1_048_576)).to.equal(null);
    expect(quotaValueProblem(u, 'producer_byte_rate', null)).to.equal(null);
    expect(quotaValueProblem(u, 'producer_byte_rate', Number.NaN)).to.match(/must be a number/);
    expect(quotaValueProblem(u, 'producer_byte_rate', Number.POSITIVE_INFINITY)).to.match(/finite/);
    expect(quotaValueProblem(u, 'producer_byte_rate', 0)).to.match(/greater than 0/);
    expect(quotaValueProblem(u, 'consumer_byte_rate', -5)).to.match(/greater than 0/);
    expect(quotaValueProblem(u, 'consumer_byte_rate', 1.5)).to.match(/whole number/);
    expect(quotaValueProblem(u, 'consumer_byte_rate', 2 ** 60)).to.match(/above the largest allowed/);
    expect(quotaValueProblem(u, 'request_percentage', 12.5)).to.equal(null);
    expect(quotaValueProblem(u, 'request_percentage', 100)).to.equal(null);
    expect(quotaValueProblem(u, 'request_percentage', 100.5)).to.match(/above the largest allowed, 100 %/);
    expect(quotaValueProblem(u, 'controller_mutation_rate', 0.5)).to.equal(null);
    expect(quotaValueProblem(u, 'controller_mutation_rate', 1e300)).to.match(/above/);
    expect(quotaValueProblem([ip('1.2.3.4')], 'connection_creation_rate', 2 ** 31)).to.match(/above/);
    expect(quotaValueProblem([ip('1.2.3.4')], 'connection_creation_rate', 20)).to.equal(null);
  });
});
