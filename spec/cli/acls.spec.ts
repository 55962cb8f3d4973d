import { expect } from 'chai';
import { bindingsToAdd, filtersOf, parseOperation } from '../../lib/cli/acls.js';
import { CliError } from '../../lib/cli/output.js';

const base = { bootstrap: 'localhost:9092', timeoutMs: 1000 };

describe('cli: flotilla acl (kafka-acls options)', () => {
  it('reads operations by Kafka\'s names in any spelling', () => {
    expect(parseOperation('Read')).to.equal('read');
    expect(parseOperation('DESCRIBE_CONFIGS')).to.equal('describe-configs');
    expect(parseOperation('DescribeConfigs')).to.equal('describe-configs');
    expect(parseOperation('idempotent-write')).to.equal('idempotent-write');
    expect(parseOperation('All')).to.equal('all');
    expect(() => parseOperation('Any')).to.throw(CliError, /unknown --operation/);
  });

  it('add: one ACL per principal × host × operation × resource', () => {
    const b = bindingsToAdd({
      ...base, allowPrincipal: ['User:alice'], denyPrincipal: ['User:bob'], operation: ['Read', 'Describe'], topic: ['orders'], group: ['billing'], denyHost: ['10.0.0.1'],
    });
    expect(b).to.have.length(8);
    expect(b.filter((x) => x.permission === 'deny').every((x) => x.host === '10.0.0.1' && x.principal === 'User:bob')).to.equal(true);
    expect(b.filter((x) => x.permission === 'allow').every((x) => x.host === '*')).to.equal(true);
    expect(bindingsToAdd({ ...base, allowPrincipal: ['User:a'], operation: ['Alter'], cluster: true, resourcePatternType: 'prefixed' })[0])
      .to.include({ resourceType: 'cluster', resourceName: 'kafka-cluster', patternType: 'prefixed' });
    expect(() => bindingsToAdd({ ...base, allowPrincipal: ['User:a'], operation: ['Read'] })).to.throw(CliError, /name a resource/);
    expect(() => bindingsToAdd({ ...base, allowPrincipal: ['alice'], operation: ['Read'], topic: ['t'] })).to.throw(CliError, /Type:name/);
    expect(() => bindingsToAdd({ ...base, allowPrincipal: ['User:a'], operation: ['Read'], topic: ['t'], resourcePatternType: 'match' })).to.throw(CliError, /literal or prefixed/);
  });

  it('list/remove: filters default to ANY, one per resource × principal × operation × host', () => {
    expect(filtersOf(base)).to.deep.equal([{ resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }]);
    const f = filtersOf({ ...base, topic: ['orders'], allowPrincipal: ['User:a'], operation: ['Write'], resourcePatternType: 'match' });
    expect(f).to.deep.equal([{ resourceTypeFilter: 2, resourceNameFilter: 'orders', patternTypeFilter: 2, principalFilter: 'User:a', hostFilter: null, operation: 4, permissionType: 3 }]);
  });
});
