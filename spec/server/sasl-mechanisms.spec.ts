// SCRAM-SHA-256/512 and PLAIN, server side (lib/server/sasl): the RFC 7677 vector, the client of
// lib/kafka/sasl-client.ts against the server, librdkafka's nonce, and the negative vectors of
// research security.md 4.5 C6 and C8: each one fails with a reason (never a throw, never a hang),
// and an unknown user fails exactly like a wrong password (same step, same answer shape).
import { expect } from 'chai';
import { ScramClient } from '../../lib/kafka/sasl-client.js';
import type { ScramCredentialImage } from '../../lib/metadata/image.js';
import { type ScramMechanism, alterScram, describeScram, hash, hmac, saltPassword, scramCredentialRecord, unescapeSaslName } from '../../lib/metadata/scram.js';
import { MetadataImage } from '../../lib/metadata/image.js';
import { replayRecords } from '../../lib/metadata/delta.js';
import { PlainServerExchange, PlainVerifier } from '../../lib/server/sasl/plain.js';
import { type MechanismStep, type ScramLookup, ScramServerExchange } from '../../lib/server/sasl/scram.js';

const SECRET = Buffer.alloc(32, 7);

async function credentialOf(name: string, mechanism: ScramMechanism, password: string, salt: Buffer, iterations = 4096): Promise<ScramCredentialImage> {
  const { type: _t, ...c } = await scramCredentialRecord(name, mechanism, password, salt, iterations) as { type: string } & ScramCredentialImage;
  return c;
}

function lookupOf(creds: ScramCredentialImage[]): ScramLookup {
  return (user, mechanism) => creds.find((c) => c.name === user && c.mechanism === mechanism);
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

/** A client-final with any nonce, its proof computed over it (what librdkafka does with its doubled nonce). */
async function manualFinal(mechanism: ScramMechanism, password: string, clientFirstBare: string, serverFirst: string, nonce: string): Promise<string> {
  const salt = Buffer.from(/s=([^,]+)/.exec(serverFirst)![1]!, 'base64');
  const iterations = Number(/i=(\d+)/.exec(serverFirst)![1]);
  const salted = await saltPassword(mechanism, password, salt, iterations);
  const clientKey = hmac(mechanism, salted, 'Client Key');
  const withoutProof = `c=biws,r=${nonce}`;
  const signature = hmac(mechanism, hash(mechanism, clientKey), `${clientFirstBare},${serverFirst},${withoutProof}`);
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  return `${withoutProof},p=${proof.toString('base64')}`;
}

describe('SASL mechanisms', () => {
  describe('SCRAM-SHA-256: the RFC 7677 test vector', () => {
    const clientFirst = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
    const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
    const clientFinal = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
    const serverFinal = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

    it('the server answers the vector byte for byte', async () => {
      const cred = await credentialOf('user', 'SCRAM-SHA-256', 'pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
      const server = new ScramServerExchange('SCRAM-SHA-256', lookupOf([cred]), SECRET, null, () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0');
      const first = await server.step(utf8(clientFirst));
      expect(first.kind === 'challenge' && first.token.toString()).to.equal(serverFirst);
      const final = await server.step(utf8(clientFinal));
      expect(final.kind).to.equal('success');
      expect(final.kind === 'success' && final.token.toString()).to.equal(serverFinal);
      expect(final.kind === 'success' && final.user).to.equal('user');
    });
    // The client's side of the vector: spec/kafka/sasl-client.spec.ts.
  });

  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    describe(mechanism, () => {
      let creds: ScramCredentialImage[];
      before(async () => {
        creds = [await credentialOf('alice', mechanism, 'alice-secret', Buffer.from('0123456789abcdef'), 8192)];
      });
      const server = (): ScramServerExchange => new ScramServerExchange(mechanism, lookupOf(creds), SECRET);

      async function login(user: string, password: string, mangleFinal?: (final: string, serverFirst: string) => string): Promise<MechanismStep[]> {
        const s = server();
        const c = new ScramClient(mechanism, user, password);
        const first = await s.step(c.first());
        if (first.kind !== 'challenge') return [first];
        let final = (await c.next(first.token))!.toString();
        if (mangleFinal) final = mangleFinal(final, first.token.toString());
        return [first, await s.step(utf8(final))];
      }

      it('logs in with the right password; a wrong password and an unknown user fail alike, at client-final', async () => {
        const ok = await login('alice', 'alice-secret');
        expect(ok.map((s) => s.kind)).to.deep.equal(['challenge', 'success']);
        const wrong = await login('alice', 'nope');
        const unknown = await login('mallory', 'alice-secret');
        expect(wrong.map((s) => s.kind)).to.deep.equal(['challenge', 'failure']);
        expect(unknown.map((s) => s.kind)).to.deep.equal(['challenge', 'failure']);
        expect(wrong[1]).to.deep.equal({ kind: 'failure', reason: 'bad credentials', user: 'alice' });
        expect(unknown[1]).to.deep.equal({ kind: 'failure', reason: 'bad credentials', user: 'mallory' });
        // The unknown user's server-first looks like a real one: a 16-byte salt, stable per name; the tools' default iterations.
        const a = (await login('mallory', 'x'))[0]!;
        const b = (await login('mallory', 'y'))[0]!;
        const saltOf = (s: MechanismStep): string => (s.kind === 'challenge' ? /s=([^,]+)/.exec(s.token.toString())![1]! : '');
        expect(saltOf(a)).to.equal(saltOf(b));
        expect(Buffer.from(saltOf(a), 'base64')).to.have.length(16);
        expect(a.kind === 'challenge' && a.token.toString()).to.match(/,i=8192$/);
      });

      it('takes librdkafka\'s client-final (the client nonce repeated before the server nonce) and the RFC one', async () => {
        for (const repeat of [true, false]) {
          const s = server();
          const cnonce = 'fyko+d2lbbFgONRv9qkxdawL';
          const first = await s.step(utf8(`n,,n=alice,r=${cnonce}`));
          const serverFirst = first.kind === 'challenge' ? first.token.toString() : '';
          const r = /r=([^,]+)/.exec(serverFirst)![1]!;
          const final = await manualFinal(mechanism, 'alice-secret', `n=alice,r=${cnonce}`, serverFirst, repeat ? `${cnonce}${r}` : r);
          expect((await s.step(utf8(final))).kind).to.equal('success');
        }
      });

      const negatives: [string, (s: string) => string][] = [
        ['GS2 flag y', (f) => f.replace(/^n,/, 'y,')],
        ['channel binding p=tls-unique', (f) => f.replace(/^n,/, 'p=tls-unique,')],
        ['authzid other than the user', (f) => f.replace(/^n,,/, 'n,a=bob,')],
        ['= not followed by 2C or 3D in the name', (f) => f.replace('n=alice', 'n=al=ice')],
        ['missing r=', (f) => f.replace(/,r=[^,]*/, '')],
        ['empty nonce', (f) => f.replace(/,r=[^,]*/, ',r=')],
        ['reserved m=', (f) => f.replace('n=alice', 'm=x,n=alice')],
        ['delegation token', (f) => `${f},tokenauth=true`],
        ['not UTF-8', () => '\xff\xfe'],
        ['empty', () => ''],
      ];
      for (const [what, mangle] of negatives) {
        it(`client-first with ${what} fails at once`, async () => {
          const s = server();
          const first = new ScramClient(mechanism, 'alice', 'alice-secret').first().toString('latin1');
          const mangled = mangle(first);
          const step = await s.step(what === 'not UTF-8' ? Buffer.from(mangled, 'latin1') : utf8(mangled));
          expect(step.kind).to.equal('failure');
          expect(await s.step(utf8('c=biws,r=x,p=AAAA'))).to.have.property('kind', 'failure');
        });
      }

      const finalNegatives: [string, (final: string, serverNonce: string) => string][] = [
        ['channel binding other than biws', (f) => f.replace('c=biws', 'c=eSws')],
        ['a nonce not ending with the server nonce', (f, n) => f.replace(`r=${n}`, `r=${n}x`)],
        ['the server nonce cut short', (f, n) => f.replace(`r=${n}`, `r=${n.slice(0, -1)}`)],
        ['a proof of the wrong length', (f) => f.replace(/p=.*$/, 'p=AAAA')],
        ['a proof that is not base64', (f) => f.replace(/p=.*$/, 'p=!!!!')],
        ['an extra attribute', (f) => f.replace(',p=', ',x=1,p=')],
        ['attributes out of order', (f) => { const [c, r, p] = f.split(','); return [r, c, p].join(','); }],
      ];
      for (const [what, mangle] of finalNegatives) {
        it(`client-final with ${what} fails`, async () => {
          const steps = await login('alice', 'alice-secret', (final, serverFirst) => mangle(final, /r=([^,]+)/.exec(serverFirst)![1]!));
          expect(steps.map((s) => s.kind)).to.deep.equal(['challenge', 'failure']);
        });
      }

      it('a replayed client-final of an earlier exchange fails (the server nonce is fresh)', async () => {
        let captured = '';
        const ok = await login('alice', 'alice-secret', (final) => { captured = final; return final; });
        expect(ok[1]!.kind).to.equal('success');
        const s = server();
        await s.step(new ScramClient(mechanism, 'alice', 'x').first());
        expect((await s.step(utf8(captured))).kind).to.equal('failure');
      });

      it('a message after the exchange ended fails', async () => {
        const s = server();
        const c = new ScramClient(mechanism, 'alice', 'alice-secret');
        const first = await s.step(c.first());
        await s.step((await c.next(first.kind === 'challenge' ? first.token : Buffer.alloc(0)))!);
        expect((await s.step(new ScramClient(mechanism, 'alice', 'alice-secret').first())).kind).to.equal('failure');
      });

      it('re-authentication as another user fails', async () => {
        const s = new ScramServerExchange(mechanism, lookupOf(creds), SECRET, 'bob');
        expect((await s.step(new ScramClient(mechanism, 'alice', 'alice-secret').first())).kind).to.equal('failure');
      });
    });
  }

  it('saslname unescapes =2C and =3D only', () => {
    expect(unescapeSaslName('a=2Cb=3Dc')).to.equal('a,b=c');
    expect(unescapeSaslName('a=2')).to.equal(null);
    expect(unescapeSaslName('a=41')).to.equal(null);
  });

  describe('PLAIN, checked against the SCRAM credentials', () => {
    let lookup: ScramLookup;
    before(async () => {
      lookup = lookupOf([
        await credentialOf('alice', 'SCRAM-SHA-512', 'alice-secret', Buffer.from('salt-of-alice-512')),
        await credentialOf('bob', 'SCRAM-SHA-256', 'bob-secret', Buffer.from('salt-of-bob-256')),
      ]);
    });
    const verifier = new PlainVerifier(2, 8);
    const step = (token: Buffer): Promise<MechanismStep> => new PlainServerExchange(lookup, SECRET, verifier).step(token);

    it('logs in with the right password (authzid empty or equal to the user: kafka-python sends it)', async () => {
      expect(await step(utf8('\0alice\0alice-secret'))).to.deep.equal({ kind: 'success', token: Buffer.alloc(0), user: 'alice' });
      expect((await step(utf8('bob\0bob\0bob-secret'))).kind).to.equal('success');
    });

    it('a wrong password and an unknown user fail alike', async () => {
      expect(await step(utf8('\0alice\0wrong'))).to.deep.equal({ kind: 'failure', reason: 'bad credentials', user: 'alice' });
      expect(await step(utf8('\0mallory\0alice-secret'))).to.deep.equal({ kind: 'failure', reason: 'bad credentials', user: 'mallory' });
    });

    const bad: [string, Buffer][] = [
      ['authzid other than the user', utf8('bob\0alice\0alice-secret')],
      ['three NULs', utf8('\0alice\0alice-secret\0')],
      ['one NUL', utf8('alice\0alice-secret')],
      ['no NUL', utf8('alice')],
      ['an empty user', utf8('\0\0alice-secret')],
      ['an empty password', utf8('\0alice\0')],
      ['bytes that are not UTF-8', Buffer.from([0, 0x61, 0, 0xff, 0xfe])],
      ['a 1 MiB token', Buffer.concat([utf8('\0alice\0'), Buffer.alloc(1024 * 1024, 0x61)])],
    ];
    for (const [what, token] of bad) {
      it(`fails on ${what}`, async () => {
        expect((await step(token)).kind).to.equal('failure');
      });
    }

    it('bounds the PBKDF2 checks in flight: beyond the queue a login fails at once', async () => {
      const tiny = new PlainVerifier(1, 1);
      const results = await Promise.all([0, 1, 2, 3].map(() => new PlainServerExchange(lookup, SECRET, tiny).step(utf8('\0alice\0alice-secret'))));
      expect(results.filter((r) => r.kind === 'success')).to.have.length(2);
      expect(results.filter((r) => r.kind === 'failure' && r.reason === 'too many PLAIN logins being checked')).to.have.length(2);
    });
  });

  describe('credentials (lib/metadata/scram.ts): Kafka\'s errors', () => {
    const up = (name: string, mechanism = 2, iterations = 8192) => ({ name, mechanism, iterations, salt: Buffer.from('salt'), saltedPassword: Buffer.alloc(64, 1) });

    it('upserts, describes (mechanism and iterations only) and deletes', async () => {
      const a = alterScram(MetadataImage.EMPTY, { deletions: [], upsertions: [up('alice'), up('bob', 1, 4096)] });
      expect(a.results).to.deep.equal([{ user: 'alice', error: null }, { user: 'bob', error: null }]);
      const image = replayRecords(a.records);
      expect(describeScram(image, null)).to.deep.equal([
        { user: 'alice', error: null, credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 8192 }] },
        { user: 'bob', error: null, credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }] },
      ]);
      // The stored keys are derived from the salted password, never the salted password itself.
      const rec = a.records[0] as unknown as { storedKey: Buffer; serverKey: Buffer; saltedPassword?: unknown };
      expect(rec.saltedPassword).to.equal(undefined);
      expect(rec.storedKey).to.have.length(64);
      const d = alterScram(image, { deletions: [{ name: 'bob', mechanism: 1 }], upsertions: [] });
      expect(describeScram(replayRecords(d.records, image), ['bob', 'alice', 'alice'])).to.deep.equal([
        { user: 'bob', error: { code: 'RESOURCE_NOT_FOUND', message: 'Attempt to describe a user credential that does not exist' }, credentials: [] },
        { user: 'alice', error: { code: 'DUPLICATE_RESOURCE', message: 'Cannot describe SCRAM credentials for the same user twice in a single request' }, credentials: [] },
      ]);
    });

    it('refuses per user: twice in a request, iterations 4095/16385, empty name, mechanism 0, deleting a missing credential', () => {
      const r = alterScram(MetadataImage.EMPTY, {
        deletions: [{ name: 'missing', mechanism: 1 }],
        upsertions: [up('dup'), up('dup', 1), up('few', 2, 4095), up('many', 2, 16385), up('', 2), up('mech', 0), up('ok', 2, 16384)],
      });
      const codes = Object.fromEntries(r.results.map((x) => [x.user, x.error?.code ?? null]));
      expect(codes).to.deep.equal({
        dup: 'DUPLICATE_RESOURCE', missing: 'RESOURCE_NOT_FOUND', few: 'UNACCEPTABLE_CREDENTIAL', many: 'UNACCEPTABLE_CREDENTIAL',
        '': 'UNACCEPTABLE_CREDENTIAL', mech: 'UNSUPPORTED_SASL_MECHANISM', ok: null,
      });
      expect(r.records.map((x) => x.type)).to.deep.equal(['ScramCredential']);
    });

    it('the salted password the client sends gives the credential a login checks', async () => {
      const salt = Buffer.from('pepper');
      const salted = await saltPassword('SCRAM-SHA-256', 'pw', salt, 4096);
      const a = alterScram(MetadataImage.EMPTY, { deletions: [], upsertions: [{ name: 'u', mechanism: 1, iterations: 4096, salt, saltedPassword: salted }] });
      const image = replayRecords(a.records);
      const l: ScramLookup = (user, m) => image.scramCredentials.get(`${m}:${user}`);
      expect((await new PlainServerExchange(l, SECRET, new PlainVerifier()).step(utf8('\0u\0pw'))).kind).to.equal('success');
    });
  });
});

describe('SASL state machine fuzzed (C10)', () => {
  it('random and mutated frames before login never authenticate and never throw', async () => {
    const { default: fc } = await import('fast-check');
    const { SaslAuthenticator } = await import('../../lib/server/sasl/authenticator.js');
    const { plaintextSession } = await import('../../lib/server/session.js');
    const { encodeRequestFrame } = await import('../../lib/kafka/apis.js');
    const { saslHandshakeApi } = await import('../../lib/kafka/sasl-handshake.js');
    const { saslAuthenticateApi } = await import('../../lib/kafka/sasl-authenticate.js');
    const cred = await credentialOf('alice', 'SCRAM-SHA-256', 'pw', Buffer.from('salt'));
    const seeds = [
      encodeRequestFrame(saslHandshakeApi, 1, 1, 'f', { mechanism: 'SCRAM-SHA-256' }).subarray(4),
      encodeRequestFrame(saslHandshakeApi, 0, 1, 'f', { mechanism: 'PLAIN' }).subarray(4),
      encodeRequestFrame(saslAuthenticateApi, 1, 2, 'f', { authBytes: Buffer.from('n,,n=alice,r=abcdef') }).subarray(4),
      encodeRequestFrame(saslAuthenticateApi, 2, 3, 'f', { authBytes: Buffer.from('c=biws,r=abcdef,p=AAAA') }).subarray(4),
      Buffer.from('\0alice\0pw'),
    ];
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
      fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 })).map(([base, edits]) => {
        const b = Buffer.from(base);
        for (const [i, x] of edits) if (b.length > 0) b[i % b.length] = x;
        return b;
      }),
    );
    await fc.assert(fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 6 }), async (frames) => {
      const session = { ...plaintextSession('127.0.0.1', 'SASL'), securityProtocol: 'SASL_PLAINTEXT' as const };
      const auth = new SaslAuthenticator({
        session, settings: { saslMaxReceiveBytes: 524288, saslHandshakeTimeoutMs: 1000, failedAuthenticationDelayMs: 0, connectionsMaxReauthMs: 0, maxUnauthenticatedConnections: 10 },
        mechanisms: ['PLAIN', 'SCRAM-SHA-256'], lookup: lookupOf([cred]), secret: SECRET, verifier: new PlainVerifier(), audit: undefined, now: Date.now,
        onAuthenticated: () => { throw new Error('authenticated from random frames'); },
      });
      for (const f of frames) {
        const r = auth.onFrame(f);
        if (r === null) continue; // an ApiVersions frame: ordinary dispatch
        const out = await r;
        expect(['response', 'close', 'none']).to.include(out.outcome.kind);
      }
      expect(session.principal.name).to.equal('ANONYMOUS');
    }), { seed: 18, numRuns: 300 });
  });
});
