import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCa, makeCert, subjectRfc2253 } from '../../lib/app/certs.js';
import { mapDn, parseMappingRules, rfc2253FromSubject } from '../../lib/server/ssl-principal.js';

const plain = (dn: string) => ({ dn, multiValued: false });

describe('TLS principals: RFC 2253 DNs and ssl.principal.mapping.rules (lib/server/ssl-principal.ts)', function () {
  this.timeout(30_000);

  describe('the DN of a certificate equals what openssl prints with -nameopt RFC2253', () => {
    let dir: string;
    before(() => { dir = mkdtempSync(join(tmpdir(), 'flotilla-dn-')); });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const vectors: [string, string, boolean][] = [
      ['plain', '/C=US/O=Flotilla/OU=ServiceUsers/CN=alice', false],
      ['escaped comma in two values', '/C=US/O=Acme, Inc./CN=bob\\, the admin', false],
      ['repeated CN', '/O=Acme/CN=first/CN=second', false],
      ['multi-valued RDN', '/C=US/O=Acme/OU=Eng+OU=Ops/CN=carol', true],
      ['special characters', '/O=semi;colon/OU=#hash/L= lead/CN=quote"q<>', false],
    ];
    for (const [what, subject, multi] of vectors) {
      it(what, () => {
        const ca = makeCa(join(dir, what.replaceAll(' ', '-')));
        const cert = makeCert(join(dir, what.replaceAll(' ', '-')), ca, { name: 'c', subject, multivalueRdn: multi, extendedKeyUsage: ['clientAuth'] });
        const x = new X509Certificate(readFileSync(cert.cert));
        const got = rfc2253FromSubject(x.subject);
        expect(got.dn).to.equal(subjectRfc2253(cert.cert));
        expect(got.multiValued).to.equal(multi);
      });
    }

    it('keeps repeated attributes apart, where getPeerCertificate().subject merges them', () => {
      const ca = makeCa(join(dir, 'merge'));
      const a = makeCert(join(dir, 'merge'), ca, { name: 'a', subject: '/O=Acme/CN=first/CN=second' });
      const b = makeCert(join(dir, 'merge'), ca, { name: 'b', subject: '/O=Acme/CN=second/CN=first' });
      const dnA = rfc2253FromSubject(new X509Certificate(readFileSync(a.cert)).subject).dn;
      const dnB = rfc2253FromSubject(new X509Certificate(readFileSync(b.cert)).subject).dn;
      expect(dnA).to.equal('CN=second,CN=first,O=Acme');
      expect(dnB).to.equal('CN=first,CN=second,O=Acme');
      // A rule on the most specific CN names different principals.
      const rules = parseMappingRules('RULE:^CN=([^,]*),.*$/$1/');
      expect(mapDn(rules, plain(dnA))).to.deep.equal({ ok: true, name: 'second' });
      expect(mapDn(rules, plain(dnB))).to.deep.equal({ ok: true, name: 'first' });
    });
  });

  describe('mapping rules', () => {
    it("maps Kafka's documented examples", () => {
      const rules = parseMappingRules([
        'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L',
        'RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L',
        'RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U',
        'RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U',
        'DEFAULT',
      ].join(', '));
      expect(mapDn(rules, plain('CN=Duke,OU=ServiceUsers,O=Org,C=US'))).to.deep.equal({ ok: true, name: 'duke' });
      expect(mapDn(rules, plain('CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US'))).to.deep.equal({ ok: true, name: 'duke@sme' });
      expect(mapDn(rules, plain('cn=duke,ou=sme,dc=mycp,dc=com'))).to.deep.equal({ ok: true, name: 'DUKE@SME' });
      expect(mapDn(rules, plain('cN=duke,OU=JavaSoft,O=Sun Microsystems'))).to.deep.equal({ ok: true, name: 'DUKE' });
      expect(mapDn(rules, plain('OU=JavaSoft,O=Sun Microsystems,C=US'))).to.deep.equal({ ok: true, name: 'OU=JavaSoft,O=Sun Microsystems,C=US' });
    });

    it('keeps an escaped comma inside a name (a rule written for it)', () => {
      const rules = parseMappingRules('RULE:^CN=((\\\\, *|\\w)+)(,.*|$)/$1/,DEFAULT');
      expect(mapDn(rules, plain('CN=Tkac\\, Adam,OU=ITZ,DC=geodis,DC=cz'))).to.deep.equal({ ok: true, name: 'Tkac\\, Adam' });
    });

    it('fails when no rule applies, and DEFAULT never maps a multi-valued RDN', () => {
      const only = parseMappingRules('RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/');
      const r = mapDn(only, plain('CN=x,OU=Other'));
      expect(r.ok).to.equal(false);
      expect(!r.ok && r.reason).to.match(/no principal mapping rule applies to the certificate subject "CN=x,OU=Other"/);
      const multi = { dn: 'CN=carol,OU=Ops+OU=Eng,O=Acme', multiValued: true };
      const d = mapDn(parseMappingRules('DEFAULT'), multi);
      expect(!d.ok && d.reason).to.match(/multi-valued RDN/);
      expect(mapDn(parseMappingRules('RULE:^CN=([^,]*),OU=Ops\\+OU=Eng,O=Acme$/$1/,DEFAULT'), multi)).to.deep.equal({ ok: true, name: 'carol' });
      expect(mapDn(parseMappingRules(''), plain('CN=x')).ok).to.equal(false);
    });

    it("accepts Kafka's valid rule lists (empty rules ignored, escapes kept)", () => {
      for (const text of [
        'DEFAULT', 'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT', 'RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U',
        'RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/', 'RULE://', '  RULE:// ,  DEFAULT  ', ',,RULE://,,,DEFAULT,,', '',
        'RULE:\\/\\\\\\(\\)\\n\\t/\\/\\//',
      ]) {
        expect(() => parseMappingRules(text), text).not.to.throw();
      }
      expect(parseMappingRules(',,RULE://,,,DEFAULT,,').map((r) => r.kind)).to.deep.equal(['rule', 'default']);
      expect(parseMappingRules('RULE:,RULE:,/,RULE:,\\//U,DEFAULT').map((r) => r.kind)).to.deep.equal(['rule', 'default']);
    });

    it("refuses Kafka's invalid rules with a message naming the rule", () => {
      for (const text of [
        'default', 'DEFAUL', 'DEFAULT/L', 'DEFAULT/U', 'RULE:CN=(.*?),OU=ServiceUsers.*/$1', 'rule:^CN=(.*?),OU=ServiceUsers.*$/$1/',
        'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U', 'RULE:^CN=(.*?),OU=ServiceUsers.*$/L', 'RULE:^CN=(.*?),OU=ServiceUsers.*$/LU',
        'RULE:^CN=(unclosed$/$1/',
      ]) {
        expect(() => parseMappingRules(text), text).to.throw(/bad mapping rule/);
      }
    });

    it('replacements: literal $ and backslash escapes as Java reads them; /U upper-cases', () => {
      expect(mapDn(parseMappingRules('RULE:^CN=(\\w+).*$/\\$$1/'), plain('CN=ab,O=x'))).to.deep.equal({ ok: true, name: '$ab' });
      expect(mapDn(parseMappingRules('RULE:^CN=(\\w+).*$/$1@\\/x/U'), plain('CN=ab,O=x'))).to.deep.equal({ ok: true, name: 'AB@/X' });
      // A back-reference to a group that does not exist stays literal.
      expect(mapDn(parseMappingRules('RULE:^CN=(\\w+).*$/$1-$4/'), plain('CN=ab,O=x'))).to.deep.equal({ ok: true, name: 'ab-$4' });
    });
  });
});
