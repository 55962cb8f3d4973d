import { expect } from 'chai';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClientSecurityFlags, kafkaJsSecurity, parseProperties, resolveClientSecurity } from '../../lib/cli/client-security.js';
import { CliError, ExitCode } from '../../lib/cli/output.js';

describe('cli/client-security: --command-config and the security flags', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-client-sec-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA PEM');
    writeFileSync(join(dir, 'client.pem'), 'CLIENT PEM');
    writeFileSync(join(dir, 'client.key'), 'CLIENT KEY');
    writeFileSync(join(dir, 'pw'), 'from-file\n');
    chmodSync(join(dir, 'pw'), 0o600);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const usageError = (flags: ClientSecurityFlags, re: RegExp): void => {
    try {
      resolveClientSecurity(flags);
    } catch (err) {
      expect(err).to.be.instanceOf(CliError);
      expect((err as CliError).exitCode).to.equal(ExitCode.usage);
      expect((err as Error).message).to.match(re);
      return;
    }
    expect.fail(`accepted ${JSON.stringify(flags)}`);
  };

  it('parses Java properties: separators, comments, continuations, escapes; a later key wins', () => {
    const p = parseProperties([
      '# comment', '! also a comment', '', 'a=1', '  b : two words ', 'c three', 'd=x\\', '   y', 'e=\\u0041\\=\\:\\\\', 'a=again', 'f=', 'g\\ h=i',
    ].join('\n'));
    expect([...p]).to.deep.equal([['a', 'again'], ['b', 'two words '], ['c', 'three'], ['d', 'xy'], ['e', 'A=:\\'], ['f', ''], ['g h', 'i']]);
  });

  it('reads the file local --secure writes (the keys librdkafka and the Java client share)', () => {
    const path = file('client.properties', [
      'security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-512', 'sasl.username=admin', 'sasl.password=p@ss=word',
      `ssl.ca.location=${join(dir, 'ca.pem')}`, '',
    ].join('\n'));
    const s = resolveClientSecurity({ commandConfig: path });
    expect(s.protocol).to.equal('SASL_SSL');
    expect(s.sasl).to.deep.equal({ mechanism: 'SCRAM-SHA-512', username: 'admin', password: 'p@ss=word' });
    expect(s.tls?.ca?.toString()).to.equal('CA PEM');
    expect(s.tls?.checkHostname).to.equal(true);
    const k = kafkaJsSecurity(s);
    expect(k.sasl).to.deep.equal({ mechanism: 'scram-sha-512', username: 'admin', password: 'p@ss=word' });
    expect(k.ssl).to.deep.include({ rejectUnauthorized: true });
    expect(k.ssl).to.not.have.property('checkServerIdentity');
    expect((k.ssl as { ca: Buffer[] }).ca[0]!.toString()).to.equal('CA PEM');
  });

  it('flags override the file; the password comes from a file; the Java JAAS line and librdkafka spellings work', () => {
    const path = file('java.properties', [
      'security.protocol=SASL_PLAINTEXT', 'sasl.mechanisms=PLAIN',
      'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="bob" password="s3cr=t;x";',
    ].join('\n'));
    expect(resolveClientSecurity({ commandConfig: path }).sasl).to.deep.equal({ mechanism: 'PLAIN', username: 'bob', password: 's3cr=t;x' });
    const s = resolveClientSecurity({ commandConfig: path, saslMechanism: 'scram-sha-256', saslUsername: 'carol', saslPasswordFile: join(dir, 'pw') });
    expect(s.sasl).to.deep.equal({ mechanism: 'SCRAM-SHA-256', username: 'carol', password: 'from-file' });
    expect(s.tls).to.equal(null);
    const mtls = resolveClientSecurity({
      securityProtocol: 'ssl', sslCaLocation: join(dir, 'ca.pem'), sslCertificateLocation: join(dir, 'client.pem'), sslKeyLocation: join(dir, 'client.key'),
    });
    expect(mtls.tls?.cert?.toString()).to.equal('CLIENT PEM');
    expect(mtls.tls?.key?.toString()).to.equal('CLIENT KEY');
    const noCheck = resolveClientSecurity({ commandConfig: file('nocheck.properties', 'security.protocol=SSL\nssl.endpoint.identification.algorithm=none\n') });
    expect(noCheck.tls?.checkHostname).to.equal(false);
    expect(kafkaJsSecurity(noCheck).ssl).to.have.property('checkServerIdentity');
    expect(resolveClientSecurity({})).to.deep.equal({ protocol: 'PLAINTEXT', tls: null, sasl: null });
  });

  it('says clearly what is wrong: unknown key, missing file, stores, bad values, missing parts, settings that do not fit the protocol', () => {
    usageError({ commandConfig: join(dir, 'nope.properties') }, /^--command-config: cannot read ".*nope\.properties": no such file$/);
    usageError({ commandConfig: file('typo.properties', 'ssl.ca.locaton=/x\n') }, /--command-config .*typo\.properties: unknown key "ssl\.ca\.locaton" \(known: security\.protocol, /);
    usageError({ commandConfig: file('jks.properties', 'ssl.truststore.location=/x.jks\n') }, /ssl\.truststore\.location is not supported .* give PEM files with ssl\.ca\.location/);
    usageError({ securityProtocol: 'TLS' }, /^--security-protocol: security\.protocol "TLS" is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL$/);
    usageError({ securityProtocol: 'SASL_SSL', saslUsername: 'a', saslPasswordFile: join(dir, 'pw') }, /SASL_SSL needs sasl\.mechanism \(PLAIN, SCRAM-SHA-256, SCRAM-SHA-512\)/);
    usageError({ securityProtocol: 'SASL_SSL', saslMechanism: 'GSSAPI' }, /sasl\.mechanism "GSSAPI" is not one of/);
    usageError({ securityProtocol: 'SASL_SSL', saslMechanism: 'PLAIN', saslUsername: 'a' }, /needs sasl\.password: --sasl-password-file or --command-config/);
    usageError({ securityProtocol: 'SASL_SSL', saslMechanism: 'PLAIN', saslPasswordFile: join(dir, 'pw') }, /needs sasl\.username/);
    usageError({ saslMechanism: 'PLAIN' }, /^--sasl-mechanism: sasl\.mechanism is set but security\.protocol is PLAINTEXT/);
    usageError({ securityProtocol: 'SASL_PLAINTEXT', sslCaLocation: join(dir, 'ca.pem') }, /ssl\.ca\.location is set but security\.protocol is SASL_PLAINTEXT/);
    usageError({ securityProtocol: 'SSL', sslCertificateLocation: join(dir, 'client.pem') }, /ssl\.certificate\.location and ssl\.key\.location go together/);
    usageError({ securityProtocol: 'SSL', sslCaLocation: join(dir, 'missing.pem') }, /^--ssl-ca-location: cannot read/);
    usageError({ commandConfig: file('algo.properties', 'security.protocol=SSL\nssl.endpoint.identification.algorithm=dns\n') }, /must be https or none/);
    usageError({ commandConfig: file('jaas.properties', 'security.protocol=SASL_SSL\nsasl.jaas.config=com.example.Krb5LoginModule required;\n') }, /PlainLoginModule or ScramLoginModule/);
  });
});
