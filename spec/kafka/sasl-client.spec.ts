import { expect } from 'chai';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { SaslLoginError, saslClient } from '../../lib/kafka/sasl-client.js';

/** RFC 7677 section 3: the SCRAM-SHA-256 example exchange (user "user", password "pencil"). */
const rfc7677 = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

async function refused(fn: () => unknown, re: RegExp): Promise<void> {
  try {
    await fn();
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(SaslLoginError);
    expect((err as Error).message).to.match(re);
    return;
  }
  expect.fail(`accepted; expected ${String(re)}`);
}

describe('kafka/sasl-client: PLAIN and SCRAM clients', () => {
  it('SCRAM-SHA-256 reproduces the RFC 7677 test vector byte for byte and checks the server signature', async () => {
    const c = saslClient('SCRAM-SHA-256', 'user', 'pencil', rfc7677.clientNonce);
    expect(c.first().toString()).to.equal(rfc7677.clientFirst);
    expect((await c.next(Buffer.from(rfc7677.serverFirst)))!.toString()).to.equal(rfc7677.clientFinal);
    expect(c.done).to.equal(false);
    expect(await c.next(Buffer.from(rfc7677.serverFinal))).to.equal(null);
    expect(c.done).to.equal(true);
    await refused(() => c.next(Buffer.from(rfc7677.serverFinal)), /after the exchange completed/);
  });

  it('SCRAM refuses a wrong server signature, a server error, a nonce that does not extend ours, too few or too many iterations, a malformed message', async () => {
    const at = async (serverFirst: string): Promise<ReturnType<typeof saslClient>> => {
      const c = saslClient('SCRAM-SHA-256', 'user', 'pencil', rfc7677.clientNonce);
      c.first();
      await c.next(Buffer.from(serverFirst));
      return c;
    };
    await refused(async () => (await at(rfc7677.serverFirst)).next(Buffer.from('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')), /server signature is wrong/);
    await refused(async () => (await at(rfc7677.serverFirst)).next(Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4')), /server signature is wrong/);
    await refused(async () => (await at(rfc7677.serverFirst)).next(Buffer.from('e=invalid-proof')), /the server refused: invalid-proof/);
    await refused(() => at('e=unknown-user'), /the server refused: unknown-user/);
    await refused(() => at('r=someoneElse123,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'), /does not extend the client nonce/);
    await refused(() => at(`r=${rfc7677.clientNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`), /does not extend the client nonce/);
    await refused(() => at(`r=${rfc7677.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4095`), /iteration count 4095 is below the minimum 4096/);
    await refused(() => at(`r=${rfc7677.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001`), /iteration count 1000001 is above this client's maximum/);
    await refused(() => at(`r=${rfc7677.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4e3`), /is not a number/);
    await refused(() => at(`r=${rfc7677.clientNonce}x,s=not*base64,i=4096`), /salt is empty or not base64/);
    await refused(() => at(`r=${rfc7677.clientNonce}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,m=ext`), /extension/);
    await refused(() => at(`r=${rfc7677.clientNonce}x,i=4096`), /lacks r=, s= or i=/);
    await refused(() => at('garbage'), /malformed server message/);
    await refused(async () => (await at(rfc7677.serverFirst)).next(Buffer.from('x=1')), /server-final lacks v=/);
  });

  it('SCRAM-SHA-512 completes against a server computed independently from the password', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const iterations = 4096;
    const salted = pbkdf2Sync('s3cret,=', salt, iterations, 64, 'sha512');
    const serverKey = createHmac('sha512', salted).update('Server Key').digest();
    const storedKey = createHash('sha512').update(createHmac('sha512', salted).update('Client Key').digest()).digest();
    const c = saslClient('SCRAM-SHA-512', 'al=ice,x', 's3cret,=');
    const clientFirst = c.first().toString();
    expect(clientFirst).to.match(/^n,,n=al=3Dice=2Cx,r=[A-Za-z0-9_-]{32}$/);
    const clientFirstBare = clientFirst.slice(3);
    const serverFirst = `r=${clientFirst.split('r=')[1]!}SERVERPART,s=${salt.toString('base64')},i=${iterations}`;
    const clientFinal = (await c.next(Buffer.from(serverFirst)))!.toString();
    const withoutProof = clientFinal.slice(0, clientFinal.indexOf(',p='));
    const auth = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const proof = Buffer.from(clientFinal.slice(clientFinal.indexOf(',p=') + 3), 'base64');
    const signature = createHmac('sha512', storedKey).update(auth).digest();
    const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]!));
    expect(createHash('sha512').update(clientKey).digest().equals(storedKey)).to.equal(true);
    expect(await c.next(Buffer.from(`v=${createHmac('sha512', serverKey).update(auth).digest('base64')}`))).to.equal(null);
    expect(c.done).to.equal(true);
  });

  it('PLAIN sends authzid-less user and password; an unknown mechanism is refused by name', async () => {
    const c = saslClient('PLAIN', 'alice', 'pw');
    expect(c.first()).to.deep.equal(Buffer.from('\0alice\0pw'));
    expect(await c.next(Buffer.alloc(0))).to.equal(null);
    expect(c.done).to.equal(true);
    await refused(() => saslClient('GSSAPI' as 'PLAIN', 'alice', 'pw'), /unknown SASL mechanism "GSSAPI"/);
    await refused(() => saslClient('SCRAM-SHA-256', 'alice', 'pw', 'a,b'), /client nonce/);
  });
});
