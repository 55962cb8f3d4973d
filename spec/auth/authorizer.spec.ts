import { expect } from 'chai';
import fc from 'fast-check';
import { type AclOperation, type PatternType, type Permission, type ResourceType, bindingFromWire, filterFromWire, filterMatches } from '../../lib/auth/acl.js';
import { type Action, Authorizer, aclApplies } from '../../lib/auth/authorizer.js';
import type { AclImage } from '../../lib/metadata/image.js';
import { normaliseAddress } from '../../lib/server/session.js';
import { replayRecords } from '../../lib/metadata/delta.js';
import type { MetadataImage } from '../../lib/metadata/image.js';
import { planAclCreations, planAclDeletions } from '../../lib/auth/acl.js';
import { decodeSnapshot, encodeSnapshot } from '../../lib/metadata/snapshot.js';

let nextId = 0;
function acl(
  principal: string, operation: AclOperation, permission: Permission, resourceName: string,
  opts: { type?: ResourceType; pattern?: PatternType; host?: string } = {},
): AclImage {
  nextId++;
  return {
    aclId: `00000000-0000-4000-8000-${String(nextId).padStart(12, '0')}`, resourceType: opts.type ?? 'topic', resourceName,
    patternType: opts.pattern ?? 'literal', principal, host: opts.host ?? '*', operation, permission,
  };
}

function authorizerOf(acls: readonly AclImage[], settings: { superUsers?: string[]; allowEveryone?: boolean } = {}): Authorizer {
  const map = new Map(acls.map((a) => [a.aclId, a]));
  return new Authorizer({ superUsers: settings.superUsers ?? [], allowEveryoneIfNoAclFound: settings.allowEveryone ?? false }, () => map);
}

const topic = (name: string, operation: AclOperation): Action => ({ operation, resourceType: 'topic', resourceName: name });

describe('auth: the authorizer engine (StandardAuthorizer semantics)', () => {
  it('F1: a matching DENY beats any ALLOW (literal, prefixed, *, User:*, host-specific)', () => {
    const cases: [AclImage[], string][] = [
      [[acl('User:alice', 'read', 'allow', 'orders'), acl('User:alice', 'read', 'deny', 'orders')], 'literal'],
      [[acl('User:alice', 'read', 'allow', 'orders'), acl('User:alice', 'read', 'deny', 'ord', { pattern: 'prefixed' })], 'prefixed deny'],
      [[acl('User:alice', 'read', 'allow', 'ord', { pattern: 'prefixed' }), acl('User:alice', 'read', 'deny', '*')], 'wildcard deny'],
      [[acl('User:alice', 'read', 'allow', 'orders'), acl('User:*', 'read', 'deny', 'orders')], 'User:* deny'],
      [[acl('User:alice', 'read', 'allow', 'orders'), acl('User:alice', 'read', 'deny', 'orders', { host: '10.0.0.1' })], 'host deny'],
      [[acl('User:alice', 'all', 'allow', 'orders'), acl('User:alice', 'all', 'deny', 'orders')], 'ALL'],
    ];
    for (const [acls, what] of cases) {
      const d = authorizerOf(acls).authorize('User:alice', '10.0.0.1', topic('orders', 'read'));
      expect(d.allowed, what).to.equal(false);
      expect(d.rule, what).to.equal(`acl ${acls[1]!.aclId}`);
      // Without the DENY the ALLOW holds.
      expect(authorizerOf([acls[0]!]).authorize('User:alice', '10.0.0.1', topic('orders', 'read')).allowed, what).to.equal(true);
    }
    // A host-specific DENY for another host does not apply.
    const a = authorizerOf([acl('User:alice', 'read', 'allow', 'orders'), acl('User:alice', 'read', 'deny', 'orders', { host: '10.0.0.2' })]);
    expect(a.authorize('User:alice', '10.0.0.1', topic('orders', 'read')).allowed).to.equal(true);
  });

  it('F2: implications hold for ALLOW only', () => {
    for (const op of ['read', 'write', 'delete', 'alter', 'describe'] as const) {
      expect(authorizerOf([acl('User:a', op, 'allow', 't')]).authorize('User:a', '', topic('t', 'describe')).allowed, op).to.equal(true);
    }
    for (const op of ['create', 'alter-configs', 'describe-configs', 'cluster-action', 'idempotent-write'] as const) {
      expect(authorizerOf([acl('User:a', op, 'allow', 't')]).authorize('User:a', '', topic('t', 'describe')).allowed, op).to.equal(false);
    }
    // ALLOW READ does not give WRITE.
    expect(authorizerOf([acl('User:a', 'read', 'allow', 't')]).authorize('User:a', '', topic('t', 'write')).allowed).to.equal(false);
    // DENY READ does not deny DESCRIBE.
    const denyRead = authorizerOf([acl('User:a', 'describe', 'allow', 't'), acl('User:a', 'read', 'deny', 't')]);
    expect(denyRead.authorize('User:a', '', topic('t', 'describe')).allowed).to.equal(true);
    expect(denyRead.authorize('User:a', '', topic('t', 'read')).allowed).to.equal(false);
    // ALTER_CONFIGS ⇒ DESCRIBE_CONFIGS, not the reverse.
    expect(authorizerOf([acl('User:a', 'alter-configs', 'allow', 't')]).authorize('User:a', '', topic('t', 'describe-configs')).allowed).to.equal(true);
    expect(authorizerOf([acl('User:a', 'describe-configs', 'allow', 't')]).authorize('User:a', '', topic('t', 'alter-configs')).allowed).to.equal(false);
    // ALLOW ALL ⇒ everything; DENY ALL ⇒ nothing.
    const all = authorizerOf([acl('User:a', 'all', 'allow', 't')]);
    for (const op of ['read', 'write', 'create', 'delete', 'alter', 'describe', 'describe-configs', 'alter-configs'] as const) {
      expect(all.authorize('User:a', '', topic('t', op)).allowed, op).to.equal(true);
    }
    const denyAll = authorizerOf([acl('User:a', 'all', 'allow', 't'), acl('User:a', 'all', 'deny', 't')]);
    for (const op of ['read', 'describe', 'describe-configs'] as const) expect(denyAll.authorize('User:a', '', topic('t', op)).allowed, op).to.equal(false);
  });

  it('F3: super users pass a DENY ALL; a change of the list applies at once', () => {
    const acls = [acl('User:admin', 'all', 'deny', '*'), acl('User:*', 'all', 'deny', '*', { type: 'cluster' })];
    const a = authorizerOf(acls, { superUsers: ['User:admin'] });
    expect(a.authorize('User:admin', '1.2.3.4', topic('x', 'delete'))).to.deep.equal({ allowed: true, rule: 'super-user' });
    expect(a.authorize('User:bob', '1.2.3.4', topic('x', 'delete')).allowed).to.equal(false);
    a.configure({ superUsers: ['User:bob'], allowEveryoneIfNoAclFound: false });
    expect(a.authorize('User:admin', '1.2.3.4', topic('x', 'delete')).allowed).to.equal(false);
    expect(a.authorize('User:bob', '1.2.3.4', topic('x', 'delete')).allowed).to.equal(true);
  });

  it('F4: allow-everyone applies only to a resource without any ACL', () => {
    const none = authorizerOf([], { allowEveryone: true });
    expect(none.authorize('User:x', '', topic('t', 'write'))).to.deep.equal({ allowed: true, rule: 'no-acl-found' });
    expect(authorizerOf([]).authorize('User:x', '', topic('t', 'write'))).to.deep.equal({ allowed: false, rule: 'no-acl-found' });
    // An ACL for another principal on the resource flips it to deny.
    const other = authorizerOf([acl('User:alice', 'read', 'allow', 't')], { allowEveryone: true });
    expect(other.authorize('User:x', '', topic('t', 'write'))).to.deep.equal({ allowed: false, rule: 'default-deny' });
    // ... also through a prefix or *; an ACL on another resource does not.
    expect(authorizerOf([acl('User:alice', 'read', 'allow', 't', { pattern: 'prefixed' })], { allowEveryone: true }).authorize('User:x', '', topic('tx', 'read')).allowed).to.equal(false);
    expect(authorizerOf([acl('User:alice', 'read', 'allow', '*')], { allowEveryone: true }).authorize('User:x', '', topic('tx', 'read')).allowed).to.equal(false);
    expect(authorizerOf([acl('User:alice', 'read', 'allow', 'u')], { allowEveryone: true }).authorize('User:x', '', topic('t', 'read')).allowed).to.equal(true);
    expect(authorizerOf([acl('User:alice', 'read', 'allow', 't', { type: 'group' })], { allowEveryone: true }).authorize('User:x', '', topic('t', 'read')).allowed).to.equal(true);
  });

  it('F5: KAFKA-14265: prefixed foobar, fooa, f — the resource foobar still sees f', () => {
    const f = acl('User:a', 'read', 'allow', 'f', { pattern: 'prefixed' });
    const a = authorizerOf([acl('User:b', 'read', 'allow', 'foobar', { pattern: 'prefixed' }), acl('User:b', 'read', 'allow', 'fooa', { pattern: 'prefixed' }), f]);
    expect(a.authorize('User:a', '', topic('foobar', 'read'))).to.deep.equal({ allowed: true, rule: `acl ${f.aclId}` });
    // A DENY on the shadowed prefix is found too.
    const d = acl('User:a', 'read', 'deny', 'fo', { pattern: 'prefixed' });
    const b = authorizerOf([acl('User:a', 'read', 'allow', 'foobar'), acl('User:b', 'read', 'allow', 'fooa', { pattern: 'prefixed' }), acl('User:b', 'read', 'allow', 'foob', { pattern: 'literal' }), d]);
    expect(b.authorize('User:a', '', topic('foobar', 'read'))).to.deep.equal({ allowed: false, rule: `acl ${d.aclId}` });
    // A literal foo does not match foobar; a prefixed foo does.
    expect(authorizerOf([acl('User:a', 'read', 'allow', 'foo')]).authorize('User:a', '', topic('foobar', 'read')).allowed).to.equal(false);
    expect(authorizerOf([acl('User:a', 'read', 'allow', 'foo', { pattern: 'prefixed' })]).authorize('User:a', '', topic('foobar', 'read')).allowed).to.equal(true);
    // A prefixed '' is refused at creation, as are MATCH/ANY patterns, ANY/UNKNOWN operations, a bad cluster name or principal.
    const base = { resourceType: 2, resourceName: 'x', patternType: 3, principal: 'User:a', host: '*', operation: 3, permissionType: 3 };
    expect(bindingFromWire({ ...base, patternType: 4, resourceName: '' })).to.be.a('string');
    for (const bad of [{ patternType: 1 }, { patternType: 2 }, { operation: 1 }, { operation: 0 }, { permissionType: 1 }, { resourceType: 1 },
      { resourceType: 4, resourceName: 'c' }, { principal: 'alice' }, { principal: 'User:' }]) {
      expect(bindingFromWire({ ...base, ...bad }), JSON.stringify(bad)).to.be.a('string');
    }
    expect(bindingFromWire({ ...base, resourceType: 4, resourceName: 'kafka-cluster' })).to.be.an('object');
  });

  it('F6: a host ACL matches the normalised address of an IPv4 client of a dual-stack listener', () => {
    const a = authorizerOf([acl('User:a', 'read', 'allow', 't', { host: '127.0.0.1' })]);
    expect(a.authorize('User:a', normaliseAddress('::ffff:127.0.0.1'), topic('t', 'read')).allowed).to.equal(true);
    expect(a.authorize('User:a', '127.0.0.2', topic('t', 'read')).allowed).to.equal(false);
  });

  it('F9: authorizeByResourceType(WRITE, TOPIC)', () => {
    const by = (acls: AclImage[], principal = 'User:a', superUsers: string[] = []): boolean =>
      authorizerOf(acls, { superUsers }).authorizeByResourceType(principal, '', 'write', 'topic').allowed;
    expect(by([])).to.equal(false);
    expect(by([acl('User:a', 'write', 'allow', 'or', { pattern: 'prefixed' })])).to.equal(true);
    expect(by([acl('User:a', 'write', 'allow', 'orders'), acl('User:a', 'write', 'deny', 'orders')])).to.equal(false);
    expect(by([acl('User:a', 'write', 'allow', 'orders'), acl('User:a', 'write', 'deny', 'or', { pattern: 'prefixed' })])).to.equal(false);
    expect(by([acl('User:a', 'write', 'allow', 'orders'), acl('User:a', 'write', 'deny', 'x', { pattern: 'prefixed' })])).to.equal(true);
    expect(by([acl('User:a', 'write', 'allow', 'orders'), acl('User:*', 'all', 'deny', '*')])).to.equal(false);
    expect(by([acl('User:a', 'all', 'allow', '*'), acl('User:a', 'write', 'deny', 'orders')])).to.equal(true);
    expect(by([acl('User:b', 'write', 'allow', 'orders')])).to.equal(false);
    expect(by([acl('User:a', 'read', 'allow', 'orders')])).to.equal(false);
    expect(by([acl('User:*', 'write', 'deny', '*')], 'User:root', ['User:root'])).to.equal(true);
  });

  it('DescribeAcls/DeleteAcls filters: ANY, exact, MATCH (literal, *, prefixes)', () => {
    const lit = acl('User:a', 'read', 'allow', 'foobar');
    const star = acl('User:a', 'read', 'allow', '*');
    const pre = acl('User:a', 'read', 'allow', 'foo', { pattern: 'prefixed' });
    const other = acl('User:a', 'read', 'allow', 'bar', { pattern: 'prefixed' });
    const group = acl('User:a', 'read', 'allow', 'foobar', { type: 'group' });
    const all = [lit, star, pre, other, group];
    const f = (over: Partial<Parameters<typeof filterFromWire>[0]>): AclImage[] => {
      const filter = filterFromWire({ resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1, ...over });
      if (typeof filter === 'string') throw new Error(filter);
      return all.filter((a) => filterMatches(filter, a));
    };
    expect(f({})).to.have.length(5);
    expect(f({ resourceTypeFilter: 2, resourceNameFilter: 'foobar', patternTypeFilter: 2 })).to.deep.equal([lit, star, pre]);
    expect(f({ resourceTypeFilter: 2, resourceNameFilter: 'foobar', patternTypeFilter: 1 })).to.deep.equal([lit]);
    expect(f({ resourceTypeFilter: 2, resourceNameFilter: 'foo', patternTypeFilter: 4 })).to.deep.equal([pre]);
    expect(f({ resourceTypeFilter: 3 })).to.deep.equal([group]);
    expect(filterFromWire({ resourceTypeFilter: 0, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 })).to.be.a('string');
  });

  it('F8: through the metadata log: removing one of three ACLs leaves the other two (the DENY included), also after a snapshot', () => {
    let n = 0;
    const newId = (): string => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    const b = (principal: string, operation: AclOperation, permission: Permission) => ({
      resourceType: 'topic', resourceName: 'orders', patternType: 'literal', principal, host: '*', operation, permission,
    });
    const created = planAclCreations([], [b('User:alice', 'write', 'allow'), b('User:alice', 'describe', 'allow'), b('User:bob', 'write', 'deny')], newId);
    expect(created.problems).to.deep.equal([null, null, null]);
    let image: MetadataImage = replayRecords(created.added.map((a) => ({ type: 'Acl' as const, ...a })));
    // The same binding again is no new ACL.
    expect(planAclCreations(image.acls.values(), [b('User:alice', 'write', 'allow')], newId).added).to.deep.equal([]);
    const removal = planAclDeletions(image.acls.values(), [{ resourceType: 'topic', resourceName: 'orders', patternType: 'literal', principal: 'User:alice', host: null, operation: 'describe', permission: null }]);
    expect(removal.removed).to.have.length(1);
    image = replayRecords(removal.removed.map((a) => ({ type: 'RemoveAcl' as const, aclId: a.aclId })), image);
    for (const img of [image, decodeSnapshot(encodeSnapshot(image))]) {
      const a = new Authorizer({ superUsers: [], allowEveryoneIfNoAclFound: true }, () => img.acls);
      expect(img.acls.size).to.equal(2);
      expect(a.authorize('User:alice', '1.1.1.1', topic('orders', 'write')).allowed).to.equal(true);
      expect(a.authorize('User:alice', '1.1.1.1', topic('orders', 'describe')).allowed).to.equal(true); // WRITE implies it
      expect(a.authorize('User:alice', '1.1.1.1', topic('orders', 'read')).allowed).to.equal(false);
      expect(a.authorize('User:bob', '1.1.1.1', topic('orders', 'write')).allowed).to.equal(false);
    }
  });

  it('F7: equals a naive reference model over random ACL sets and requests', () => {
    const names = ['', 'f', 'fo', 'foo', 'fooa', 'foob', 'foobar', 'foobaz', 'g', '*', 'ba'];
    const ops = ['all', 'read', 'write', 'create', 'delete', 'alter', 'describe', 'describe-configs', 'alter-configs', 'idempotent-write'] as const;
    const principals = ['User:a', 'User:b', 'User:*'];
    const hosts = ['*', '10.0.0.1', '10.0.0.2'];
    const types = ['topic', 'group'] as const;
    const aclArb = fc.record({
      resourceType: fc.constantFrom(...types), resourceName: fc.constantFrom(...names.filter((n) => n !== '')), patternType: fc.constantFrom('literal', 'prefixed'),
      principal: fc.constantFrom(...principals), host: fc.constantFrom(...hosts), operation: fc.constantFrom(...ops), permission: fc.constantFrom('allow', 'deny'),
    });
    const reqArb = fc.record({
      principal: fc.constantFrom('User:a', 'User:b', 'User:c'), host: fc.constantFrom('10.0.0.1', '10.0.0.2'),
      operation: fc.constantFrom(...ops.filter((o) => o !== 'all')), resourceType: fc.constantFrom(...types),
      resourceName: fc.constantFrom(...names.filter((n) => n !== ''), 'foobarx', 'zz'), allowEveryone: fc.boolean(),
    });
    // The reference: scan every ACL, match patterns the obvious way.
    type Req = typeof reqArb extends fc.Arbitrary<infer T> ? T : never;
    const reference = (acls: readonly AclImage[], r: Req): boolean => {
      const onResource = acls.filter((a) => a.resourceType === r.resourceType && (a.patternType === 'literal'
        ? a.resourceName === r.resourceName || a.resourceName === '*'
        : r.resourceName.startsWith(a.resourceName)));
      const applying = onResource.filter((a) => aclApplies(a, r.principal, r.host, r.operation));
      if (applying.some((a) => a.permission === 'deny')) return false;
      if (applying.some((a) => a.permission === 'allow')) return true;
      return onResource.length === 0 && r.allowEveryone;
    };
    fc.assert(fc.property(fc.array(aclArb, { maxLength: 25 }), fc.array(reqArb, { minLength: 1, maxLength: 20 }), (raw, reqs) => {
      const acls = raw.map((a, i) => ({ ...a, aclId: `id-${i}` }) as AclImage);
      const map = new Map(acls.map((a) => [a.aclId, a]));
      for (const r of reqs) {
        const a = new Authorizer({ superUsers: [], allowEveryoneIfNoAclFound: r.allowEveryone }, () => map);
        const got = a.authorize(r.principal, r.host, r).allowed;
        if (got !== reference(acls, r)) throw new Error(`differs for ${JSON.stringify(r)}: engine ${got}`);
      }
    }), { numRuns: 400 });
  });
});
