import { expect } from 'chai';
import { loadNodeConfig } from '../../lib/app/config.js';
import { invalidMessage, minimal } from './config-helpers.js';

// Secured client listeners need a secured peer transport (checked at load; the files are read at start).
const tlsFiles = { tlsCertFile: '/etc/f/node.pem', tlsKeyFile: '/etc/f/node.key', peerTlsCertFile: '/etc/f/node.pem', peerTlsKeyFile: '/etc/f/node.key', peerTlsCaFile: '/etc/f/ca.pem' };

const load = (flags: Record<string, unknown>, env: Record<string, string> = {}) => loadNodeConfig({ flags: { ...minimal, ...flags }, env });

describe('app/config: listeners, TLS and the HTTP endpoints', () => {
  it('--listen alone is one PLAINTEXT listener, and nothing else changes', () => {
    const c = load({ listen: '127.0.0.1:9500', advertisedHost: 'kafka-1' });
    expect(c.listeners).to.deep.equal([{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9500, advertisedHost: 'kafka-1', advertisedPort: 9500, securityProtocol: 'PLAINTEXT', clientAuth: 'none' }]);
    expect(c.tls).to.equal(null);
    expect(c.listen).to.deep.equal({ host: '127.0.0.1', port: 9500 });
  });

  it('parses named listeners, the protocol map (names like protocols map to them), advertised addresses and client auth', () => {
    const c = load({
      listeners: 'PLAINTEXT://127.0.0.1:9092,secure://0.0.0.0:9093,MTLS://:9094',
      advertisedListeners: 'SECURE://kafka-1:19093,MTLS://kafka-1:19094',
      listenerSecurityProtocolMap: 'SECURE:ssl,MTLS:SSL',
      tlsClientAuth: 'MTLS:required',
      tlsCaFile: '/etc/f/ca.pem',
      tlsMinVersion: 'TLSv1.3',
      ...tlsFiles,
    });
    expect(c.listeners).to.deep.equal([
      { name: 'PLAINTEXT', host: '127.0.0.1', port: 9092, advertisedHost: '127.0.0.1', advertisedPort: 9092, securityProtocol: 'PLAINTEXT', clientAuth: 'none' },
      { name: 'SECURE', host: '0.0.0.0', port: 9093, advertisedHost: 'kafka-1', advertisedPort: 19093, securityProtocol: 'SSL', clientAuth: 'none' },
      { name: 'MTLS', host: '0.0.0.0', port: 9094, advertisedHost: 'kafka-1', advertisedPort: 19094, securityProtocol: 'SSL', clientAuth: 'required' },
    ]);
    expect(c.tls).to.deep.equal({ certFile: '/etc/f/node.pem', keyFile: '/etc/f/node.key', caFile: '/etc/f/ca.pem', minVersion: 'TLSv1.3' });
    expect(c.listen).to.deep.equal({ host: '127.0.0.1', port: 9092 });
    expect(c.advertisedHost).to.equal('127.0.0.1');
    // A global mode applies to every TLS listener, never to a plaintext one.
    const all = load({ listeners: 'PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093', tlsClientAuth: 'requested', tlsCaFile: '/ca.pem', ...tlsFiles });
    expect(all.listeners.map((l) => l.clientAuth)).to.deep.equal(['none', 'requested']);
    // Environment variables work as for every setting.
    expect(load({}, { FLOTILLA_LISTENERS: 'SSL://127.0.0.1:9093', FLOTILLA_TLS_CERT_FILE: '/c.pem', FLOTILLA_TLS_KEY_FILE: '/c.key', FLOTILLA_PEER_TLS_CERT_FILE: '/c.pem', FLOTILLA_PEER_TLS_KEY_FILE: '/c.key', FLOTILLA_PEER_TLS_CA_FILE: '/ca.pem' }).listeners[0]!.securityProtocol).to.equal('SSL');
  });

  it('refuses bad listener settings with a message naming the setting', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['not NAME://HOST:PORT', { listeners: 'PLAINTEXT:9092' }, /^invalid setting --listeners: entry "PLAINTEXT:9092" is not NAME:\/\/HOST:PORT/],
      ['duplicate name', { listeners: 'SSL://127.0.0.1:9093,ssl://127.0.0.1:9094', ...tlsFiles }, /^invalid setting --listeners: listener name SSL appears twice/],
      ['duplicate port', { listeners: 'PLAINTEXT://127.0.0.1:9093,SSL://0.0.0.0:9093', ...tlsFiles }, /^invalid setting --listeners: listeners PLAINTEXT and SSL both bind port 9093/],
      ['no protocol', { listeners: 'CLIENT://127.0.0.1:9093' }, /^invalid setting --listener-security-protocol-map: listener CLIENT has no security protocol/],
      ['unknown protocol', { listeners: 'CLIENT://127.0.0.1:9093', listenerSecurityProtocolMap: 'CLIENT:TLS' }, /^invalid setting --listener-security-protocol-map: unknown security protocol "TLS" for listener CLIENT/],
      ['map names nothing', { listeners: 'SSL://127.0.0.1:9093', listenerSecurityProtocolMap: 'CLEINT:SSL', ...tlsFiles }, /^invalid setting --listener-security-protocol-map: names listener CLEINT/],
      ['TLS without cert', { listeners: 'SSL://127.0.0.1:9093' }, /^invalid setting --tls-cert-file: listener SSL is SSL: give --tls-cert-file and --tls-key-file/],
      ['cert without key', { listeners: 'SSL://127.0.0.1:9093', tlsCertFile: '/c.pem' }, /^invalid setting --tls-key-file: is needed with --tls-cert-file/],
      ['advertised unknown', { listeners: 'SSL://127.0.0.1:9093', advertisedListeners: 'OTHER://h:1', ...tlsFiles }, /^invalid setting --advertised-listeners: names listener OTHER, which --listeners does not define/],
      ['advertised wildcard', { listeners: 'SSL://127.0.0.1:9093', advertisedListeners: 'SSL://0.0.0.0:9093', ...tlsFiles }, /^invalid setting --advertised-listeners: listener SSL: 0.0.0.0 is not an address/],
      ['wildcard, no advertised', { listeners: 'SSL://:9093', ...tlsFiles }, /^invalid setting --advertised-listeners: listener SSL binds every address/],
      ['both --listen and --listeners', { listen: '127.0.0.1:9092', listeners: 'PLAINTEXT://127.0.0.1:9093' }, /^invalid setting --listeners: give either --listen/],
      ['client auth mode', { tlsClientAuth: 'always' }, /^invalid setting --tls-client-auth: "always" is not none, requested, required/],
      ['client auth on plaintext', { listeners: 'PLAINTEXT://127.0.0.1:9093', tlsClientAuth: 'PLAINTEXT:required' }, /^invalid setting --tls-client-auth: listener PLAINTEXT is PLAINTEXT/],
      ['client auth unknown listener', { listeners: 'SSL://127.0.0.1:9093', tlsClientAuth: 'MTLS:required', ...tlsFiles }, /^invalid setting --tls-client-auth: names listener MTLS/],
      ['client auth without CA', { listeners: 'SSL://127.0.0.1:9093', tlsClientAuth: 'required', ...tlsFiles }, /^invalid setting --tls-ca-file: listener SSL asks for client certificates \(required\)/],
      ['min version', { tlsMinVersion: 'TLSv1.1' }, /^invalid setting --tls-min-version: /],
      ['mapping rule', { sslPrincipalMappingRules: 'RULE:^CN=(.*?)$/$1/X' }, /^invalid setting --ssl-principal-mapping-rules: bad mapping rule/],
      ['mapping regex', { sslPrincipalMappingRules: 'RULE:^CN=((.*?$/$1/' }, /^invalid setting --ssl-principal-mapping-rules: bad mapping rule .* not a regular expression/],
      ['protocol map without --listeners', { listenerSecurityProtocolMap: 'PLAINTEXT:SSL' }, /^invalid setting --listener-security-protocol-map: maps PLAINTEXT to SSL/],
      ['listener = peer port', { listeners: 'PLAINTEXT://127.0.0.1:19092' }, /^invalid setting --peer-listen: 127.0.0.1:19092 is the same address as listener PLAINTEXT/],
      ['metrics TLS without files', { metricsTls: true }, /^invalid setting --metrics-tls: needs --tls-cert-file/],
      ['short token', { metricsToken: 'abc' }, /^invalid setting --metrics-token: must be 16-4096/],
    ];
    for (const [what, flags, re] of cases) {
      expect(invalidMessage(() => load(flags)), what).to.match(re);
    }
  });

  it('binds the HTTP endpoints to loopback by default, with an optional token and TLS', () => {
    expect(load({ listen: '0.0.0.0:9092', advertisedHost: 'kafka-1' }).metricsListen).to.deep.equal({ host: '127.0.0.1', port: 11092 });
    expect(load({ listen: '127.0.0.5:9092' }).metricsListen).to.deep.equal({ host: '127.0.0.5', port: 11092 });
    expect(load({ listeners: 'SSL://0.0.0.0:9093', advertisedHost: 'kafka-1', ...tlsFiles }).metricsListen).to.deep.equal({ host: '127.0.0.1', port: 11093 });
    const c = load({ metricsToken: 'a-token-of-16-chars', metricsTls: 'true', ...tlsFiles });
    expect(c.metricsToken).to.equal('a-token-of-16-chars');
    expect(c.metricsTls).to.equal(true);
  });
});
