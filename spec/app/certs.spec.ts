import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localSans, makeCa, makeCert, makeSelfSigned, subjectRfc2253 } from '../../lib/app/certs.js';

describe('certificates made with openssl (lib/app/certs.ts)', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'flotilla-certs-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('signs a node certificate with SANs and both EKUs, and a client certificate, under a fresh CA', () => {
    const ca = makeCa(dir);
    const caCert = new X509Certificate(readFileSync(ca.cert));
    expect(caCert.ca).to.equal(true);
    const node = makeCert(dir, ca, { name: 'node-1', subject: '/CN=localhost', sans: localSans });
    const x = new X509Certificate(readFileSync(node.cert));
    expect(x.verify(caCert.publicKey)).to.equal(true);
    expect(x.checkIP('127.0.0.1')).to.equal('127.0.0.1');
    expect(x.checkHost('localhost')).to.equal('localhost');
    expect(x.keyUsage).to.include.members(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const client = makeCert(dir, ca, { name: 'alice', subject: '/C=US/O=Flotilla/OU=ServiceUsers/CN=alice', extendedKeyUsage: ['clientAuth'] });
    expect(subjectRfc2253(client.cert)).to.equal('CN=alice,OU=ServiceUsers,O=Flotilla,C=US');
    expect(new X509Certificate(readFileSync(client.cert)).keyUsage).to.deep.equal(['1.3.6.1.5.5.7.3.2']);
  });

  it('makes an expired certificate and a foreign self-signed one', () => {
    const ca = makeCa(join(dir, 'b'));
    const old = makeCert(join(dir, 'b'), ca, { name: 'old', subject: '/CN=old', expired: true });
    const x = new X509Certificate(readFileSync(old.cert));
    expect(Date.parse(x.validTo)).to.be.below(Date.parse('2021-01-01'));
    expect(x.verify(new X509Certificate(readFileSync(ca.cert)).publicKey)).to.equal(true);
    const foreign = makeSelfSigned(dir, 'mallory', '/CN=mallory');
    expect(new X509Certificate(readFileSync(foreign.cert)).verify(new X509Certificate(readFileSync(ca.cert)).publicKey)).to.equal(false);
  });
});
