import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  envOf,
  flagOf,
  formatControllers,
  loadNodeConfig,
  nodeSettings,
  nodeSettingsMarkdown,
  parseControllers,
  parseHostPort,
} from '../../lib/app/config.js';
import { invalidMessage, minimal } from './config-helpers.js';

describe('app/config', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names flags and environment variables after the settings', () => {
    expect(flagOf('nodeId')).to.equal('--node-id');
    expect(envOf('nodeId')).to.equal('FLOTILLA_NODE_ID');
    expect(envOf('defaultReplicationFactor')).to.equal('FLOTILLA_DEFAULT_REPLICATION_FACTOR');
    expect(flagOf('metricsListen')).to.equal('--metrics-listen');
  });

  it('fills defaults, derives the rest and freezes', () => {
    const c = loadNodeConfig({ flags: minimal, env: {} });
    expect(c).to.deep.equal({
      nodeId: 1,
      dataDir: '/tmp/flotilla-node-1',
      listen: { host: '127.0.0.1', port: 9092 },
      advertisedHost: '127.0.0.1',
      peerListen: { host: '127.0.0.1', port: 19092 },
      controllers: [{ id: 1, host: '127.0.0.1', port: 19092 }],
      isController: true,
      rack: null,
      clusterId: 'flotilla-local',
      metricsListen: { host: '127.0.0.1', port: 11092 },
      logLevel: 'info',
      fsync: true,
      autoCreateTopics: true,
      numPartitions: 1,
      peerAddresses: [],
      defaultReplicationFactor: 3,
      tickMs: 100,
      maxRequestBytes: 104857600,
      logCheckIntervalMs: 1000,
      logCleanerBackoffMs: 15000,
      logCleanerDedupeBytes: 134217728,
      logCleanerIoBytesPerSecond: 67108864,
      peerTls: null,
      listeners: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092, advertisedHost: '127.0.0.1', advertisedPort: 9092, securityProtocol: 'PLAINTEXT', clientAuth: 'none' }],
      tls: null,
      sslPrincipalMappingRules: 'DEFAULT',
      metricsToken: null,
      metricsTls: false,
      sasl: {
        mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'], byListener: new Map(), addScram: [], maxReceiveBytes: 524288, handshakeTimeoutMs: 10000,
        failedAuthenticationDelayMs: 100, connectionsMaxReauthMs: 0, maxUnauthenticatedConnections: 1000, maxConnectionsPerIp: 10000,
      },
      authorizer: false,
      superUsers: [],
      allowEveryoneIfNoAclFound: false,
    });
    expect(Object.isFrozen(c)).to.equal(true);
    expect(Object.isFrozen(c.controllers)).to.equal(true);
    expect(Object.isFrozen(c.listen)).to.equal(true);
  });

  it('parses the SASL mechanisms (all listeners, or per listener) and the bootstrap credentials, never quoting a password', () => {
    const c = loadNodeConfig({ flags: { ...minimal, saslMechanisms: 'PLAIN,SCRAM-SHA-512', connectionsMaxReauthMs: '60000' }, env: {} });
    expect(c.sasl.mechanisms).to.deep.equal(['PLAIN', 'SCRAM-SHA-512']);
    expect(c.sasl.connectionsMaxReauthMs).to.equal(60000);
    const per = loadNodeConfig({ flags: { ...minimal, saslMechanisms: 'CLIENT:SCRAM-SHA-256+PLAIN,SECURE:SCRAM-SHA-512' }, env: {} });
    expect([...per.sasl.byListener]).to.deep.equal([['CLIENT', ['SCRAM-SHA-256', 'PLAIN']], ['SECURE', ['SCRAM-SHA-512']]]);
    expect(invalidMessage(() => loadNodeConfig({ flags: { ...minimal, saslMechanisms: 'GSSAPI' }, env: {} }))).to.match(/^invalid setting --sasl-mechanisms: "GSSAPI" is not a SASL mechanism/);
    const pwFile = join(dir, 'pw');
    writeFileSync(pwFile, 'from-file-secret\n');
    const s = loadNodeConfig({ flags: { ...minimal, addScram: `SCRAM-SHA-512=[name=admin,password=top-secret-1];SCRAM-SHA-256=[name=ops,password-file=${pwFile},iterations=4096]` }, env: {} });
    expect(s.sasl.addScram).to.deep.equal([
      { mechanism: 'SCRAM-SHA-512', name: 'admin', password: 'top-secret-1', iterations: 8192 },
      { mechanism: 'SCRAM-SHA-256', name: 'ops', password: 'from-file-secret', iterations: 4096 },
    ]);
    for (const bad of ['SCRAM-SHA-1=[name=a,password=top-secret-1]', 'SCRAM-SHA-512=[password=top-secret-1]', 'SCRAM-SHA-512=[name=a,password=top-secret-1,iterations=100]',
      'SCRAM-SHA-512=[name=a,password=top-secret-1,colour=top-secret-1]', 'SCRAM-SHA-512=[name=a,password=top-secret-1,password-file=/x]', `SCRAM-SHA-512=[name=a,password-file=${join(dir, 'none')}]`]) {
      const message = invalidMessage(() => loadNodeConfig({ flags: { ...minimal, addScram: bad }, env: {} }));
      expect(message).to.match(/^invalid setting --add-scram: /);
      expect(message).to.not.contain('top-secret-1');
    }
  });

  it('reads the authorization settings: super users as Kafka lists them', () => {
    const c = loadNodeConfig({ flags: { ...minimal, authorizer: 'true', superUsers: 'User:admin; User:ops' }, env: {} });
    expect(c.authorizer).to.equal(true);
    expect(c.superUsers).to.deep.equal(['User:admin', 'User:ops']);
    expect(() => loadNodeConfig({ flags: { ...minimal, superUsers: 'admin' }, env: {} })).to.throw(/--super-users.*Type:name/);
  });

  it('resolves a relative data dir against cwd', () => {
    const c = loadNodeConfig({ flags: { ...minimal, dataDir: 'data/node-1' }, env: {}, cwd: '/srv' });
    expect(c.dataDir).to.equal('/srv/data/node-1');
  });

  it('takes flags over env over config file over defaults', () => {
    const file = join(dir, 'node.json');
    writeFileSync(file, JSON.stringify({ 'node-id': 7, dataDir: '/d', controllers: '7@127.0.0.1:19092', 'tick-ms': 50, rack: 'file-rack', numPartitions: 4 }));
    const env = { FLOTILLA_TICK_MS: '60', FLOTILLA_RACK: 'env-rack', FLOTILLA_FSYNC: 'false', UNRELATED: 'x' };
    const flags = { config: file, rack: 'flag-rack', listen: undefined };
    const c = loadNodeConfig({ flags, env });
    expect(c.nodeId).to.equal(7); // file
    expect(c.numPartitions).to.equal(4); // file
    expect(c.tickMs).to.equal(60); // env over file
    expect(c.fsync).to.equal(false); // env over default
    expect(c.rack).to.equal('flag-rack'); // flag over env and file
    expect(c.listen.port).to.equal(9092); // default
  });

  it('reads the config file from FLOTILLA_CONFIG and `file`', () => {
    const file = join(dir, 'node.json');
    writeFileSync(file, JSON.stringify({ nodeId: 2, dataDir: '/d', controllers: '1@127.0.0.1:19092' }));
    expect(loadNodeConfig({ env: { FLOTILLA_CONFIG: file } }).nodeId).to.equal(2);
    expect(loadNodeConfig({ file, env: {} }).isController).to.equal(false);
  });

  it('accepts boolean flags as booleans (--no-fsync) and strings', () => {
    expect(loadNodeConfig({ flags: { ...minimal, fsync: false }, env: {} }).fsync).to.equal(false);
    expect(loadNodeConfig({ flags: { ...minimal, autoCreateTopics: 'no' }, env: {} }).autoCreateTopics).to.equal(false);
    expect(loadNodeConfig({ flags: { ...minimal, fsync: 'on' }, env: {} }).fsync).to.equal(true);
  });

  it('parses metrics listen: off, explicit, derived from the client port', () => {
    expect(loadNodeConfig({ flags: { ...minimal, metricsListen: 'off' }, env: {} }).metricsListen).to.equal(null);
    expect(loadNodeConfig({ flags: { ...minimal, metricsListen: '0.0.0.0:9100' }, env: {} }).metricsListen).to.deep.equal({ host: '0.0.0.0', port: 9100 });
    expect(loadNodeConfig({ flags: { ...minimal, listen: '127.0.0.1:9093' }, env: {} }).metricsListen).to.deep.equal({ host: '127.0.0.1', port: 11093 });
    expect(loadNodeConfig({ flags: { ...minimal, listen: '127.0.0.1:0' }, env: {} }).metricsListen).to.deep.equal({ host: '127.0.0.1', port: 0 });
  });

  it('uses the advertised host when given, and requires it with a wildcard listener', () => {
    expect(loadNodeConfig({ flags: { ...minimal, listen: '0.0.0.0:9092', advertisedHost: 'kafka-1.example' }, env: {} }).advertisedHost).to.equal('kafka-1.example');
    expect(invalidMessage(() => loadNodeConfig({ flags: { ...minimal, listen: '0.0.0.0:9092' }, env: {} }))).to.match(/^invalid setting --advertised-host: /);
  });

  it('accepts IPv6 listeners', () => {
    const c = loadNodeConfig({ flags: { ...minimal, listen: '[::1]:9092', peerListen: '[::1]:19092', controllers: '1@[::1]:19092' }, env: {} });
    expect(c.listen).to.deep.equal({ host: '::1', port: 9092 });
    expect(c.controllers[0]).to.deep.equal({ id: 1, host: '::1', port: 19092 });
    expect(c.advertisedHost).to.equal('::1');
  });

  describe('every bad value names the setting', () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['node id not a number', { nodeId: 'x' }, /^invalid setting --node-id: must be an integer, got "x"$/],
      ['node id negative', { nodeId: '-1' }, /^invalid setting --node-id: must be between 0 and /],
      ['node id fractional (file-like value)', { nodeId: 1.5 }, /^invalid setting --node-id: must be an integer/],
      ['data dir empty string', { dataDir: '  ' }, /^invalid setting --data-dir: must not be empty/],
      ['listen not HOST:PORT', { listen: 'abc' }, /^invalid setting --listen: "abc" is not HOST:PORT$/],
      ['listen port too large', { listen: '127.0.0.1:70000' }, /^invalid setting --listen: /],
      ['listen with a space', { listen: 'a b:1' }, /^invalid setting --listen: /],
      ['peer listen', { peerListen: 'nope' }, /^invalid setting --peer-listen: "nope" is not HOST:PORT/],
      ['peer listen = listen', { peerListen: '127.0.0.1:9092', controllers: '1@127.0.0.1:9092' }, /^invalid setting --peer-listen: .* same address as --listen/],
      ['metrics listen', { metricsListen: 'on' }, /^invalid setting --metrics-listen: "on" is not HOST:PORT or "off"/],
      ['metrics = peer', { metricsListen: '127.0.0.1:19092' }, /^invalid setting --metrics-listen: .* same address as --peer-listen/],
      ['metrics default above 65535', { listen: '127.0.0.1:64000' }, /^invalid setting --metrics-listen: the default .* above 65535/],
      ['advertised host', { advertisedHost: 'bad host' }, /^invalid setting --advertised-host: /],
      ['controllers garbage', { controllers: 'abc' }, /^invalid setting --controllers: entry "abc" is not ID@HOST:PORT/],
      ['controllers duplicate id', { controllers: '1@127.0.0.1:19092,1@127.0.0.1:19093' }, /^invalid setting --controllers: controller id 1 appears twice/],
      ['controllers port 0', { controllers: '1@127.0.0.1:0' }, /^invalid setting --controllers: .*port 0 is not in 1-65535/],
      ['controllers port too large', { controllers: '1@127.0.0.1:65536' }, /^invalid setting --controllers: .*port 65536 is not in 1-65535/],
      ['controllers own port mismatch', { controllers: '1@127.0.0.1:19999' }, /^invalid setting --controllers: lists this node \(1\) at port 19999, but --peer-listen is 127.0.0.1:19092/],
      ['controllers empty entry', { controllers: '1@127.0.0.1:19092,' }, /^invalid setting --controllers: /],
      ['cluster id', { clusterId: 'a b' }, /^invalid setting --cluster-id: /],
      ['rack with a space', { rack: 'rack 1' }, /^invalid setting --rack: /],
      ['log level', { logLevel: 'loud' }, /^invalid setting --log-level: must be one of trace, debug, info, warn, error, fatal, got "loud"/],
      ['fsync', { fsync: 'maybe' }, /^invalid setting --fsync: must be true or false, got "maybe"/],
      ['auto create topics', { autoCreateTopics: 'sure' }, /^invalid setting --auto-create-topics: must be true or false/],
      ['num partitions', { numPartitions: '0' }, /^invalid setting --num-partitions: must be between 1 and /],
      ['replication factor', { defaultReplicationFactor: '99' }, /^invalid setting --default-replication-factor: must be between 1 and 15, got 99/],
      ['tick', { tickMs: '0' }, /^invalid setting --tick-ms: must be between 1 and 60000 ms, got 0/],
      ['max request bytes', { maxRequestBytes: '12' }, /^invalid setting --max-request-bytes: must be between 1024 and /],
      ['string where a number goes', { tickMs: '10ms' }, /^invalid setting --tick-ms: must be an integer, got "10ms"/],
    ];
    for (const [what, flags, expected] of cases) {
      it(what, () => {
        expect(invalidMessage(() => loadNodeConfig({ flags: { ...minimal, ...flags }, env: {} }))).to.match(expected);
      });
    }

    it('a missing required setting names its flag and environment variable', () => {
      for (const name of ['nodeId', 'dataDir', 'controllers'] as const) {
        const flags: Record<string, unknown> = { ...minimal };
        delete flags[name];
        const msg = invalidMessage(() => loadNodeConfig({ flags, env: {} }));
        expect(msg).to.contain(`invalid setting ${flagOf(name)}: is required`);
        expect(msg).to.contain(envOf(name));
      }
    });

    it('a bad environment value names the variable', () => {
      const msg = invalidMessage(() => loadNodeConfig({ flags: minimal, env: { FLOTILLA_LISTEN: 'abc' } }));
      expect(msg).to.equal('invalid setting --listen (env FLOTILLA_LISTEN): "abc" is not HOST:PORT');
      const msg2 = invalidMessage(() => loadNodeConfig({ flags: minimal, env: { FLOTILLA_TICK_MS: 'fast' } }));
      expect(msg2).to.equal('invalid setting --tick-ms (env FLOTILLA_TICK_MS): must be an integer, got "fast"');
    });

    it('a bad config file value names the file and key', () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify({ 'tick-ms': -5 }));
      expect(invalidMessage(() => loadNodeConfig({ flags: minimal, env: {}, file }))).to.equal(`invalid setting --tick-ms (config file ${file}, key "tick-ms"): must be between 1 and 60000 ms, got -5`);
      writeFileSync(file, JSON.stringify({ listen: 9092 }));
      expect(invalidMessage(() => loadNodeConfig({ flags: minimal, env: {}, file }))).to.match(/^invalid setting --listen \(config file .*\): must be a string, got 9092/);
    });

    it('an unknown key, bad JSON or missing config file names --config', () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify({ nodeID: 1 }));
      expect(invalidMessage(() => loadNodeConfig({ flags: minimal, env: {}, file }))).to.match(/"nodeID" is not a known setting/);
      writeFileSync(file, '{ nodeId: 1');
      expect(invalidMessage(() => loadNodeConfig({ flags: minimal, env: {}, file }))).to.match(/^invalid setting --config: .* is not valid JSON/);
      writeFileSync(file, '[1]');
      expect(invalidMessage(() => loadNodeConfig({ flags: minimal, env: {}, file }))).to.match(/^invalid setting --config: .* must hold a JSON object/);
      expect(invalidMessage(() => loadNodeConfig({ flags: minimal, env: {}, file: join(dir, 'missing.json') }))).to.match(/^invalid setting --config: cannot read/);
    });
  });

  describe('parseControllers', () => {
    it('parses a list, keeps the order, freezes', () => {
      const list = parseControllers('3@10.0.0.3:19092, 1@10.0.0.1:19092,2@node-2.example:19093');
      expect(list).to.deep.equal([
        { id: 3, host: '10.0.0.3', port: 19092 },
        { id: 1, host: '10.0.0.1', port: 19092 },
        { id: 2, host: 'node-2.example', port: 19093 },
      ]);
      expect(Object.isFrozen(list)).to.equal(true);
      expect(formatControllers(list)).to.equal('3@10.0.0.3:19092,1@10.0.0.1:19092,2@node-2.example:19093');
    });

    it('rejects bad lists', () => {
      for (const [text, why] of [
        ['', /must be a list/],
        ['1@a:1,,2@b:2', /must be a list/],
        ['x@a:1', /not ID@HOST:PORT/],
        ['1@a', /not ID@HOST:PORT/],
        ['-1@a:1', /not ID@HOST:PORT/],
        ['1@a:1,2@a:1', /address a:1 appears twice/],
        ['1@a:1,1@b:1', /id 1 appears twice/],
        ['1@a:99999', /port 99999 is not in 1-65535/],
        [Array.from({ length: 16 }, (_, i) => `${i}@h:${1000 + i}`).join(','), /at most 15/],
      ] as const) {
        expect(() => parseControllers(text), text).to.throw(why);
      }
    });
  });

  it('peer TLS: the three files together, resolved against cwd; one alone names the missing ones', () => {
    const c = loadNodeConfig({ flags: { ...minimal, peerTlsCertFile: 'tls/n1.pem', peerTlsKeyFile: 'tls/n1.key', peerTlsCaFile: '/etc/ca.pem' }, env: {}, cwd: '/srv' });
    expect(c.peerTls).to.deep.equal({ certFile: '/srv/tls/n1.pem', keyFile: '/srv/tls/n1.key', caFile: '/etc/ca.pem' });
    expect(invalidMessage(() => loadNodeConfig({ flags: { ...minimal, peerTlsCertFile: 'n1.pem' }, env: {} })))
      .to.equal('invalid setting --peer-tls-key-file: must be given too: peer TLS needs --peer-tls-cert-file, --peer-tls-key-file and --peer-tls-ca-file together');
    expect(invalidMessage(() => loadNodeConfig({ flags: minimal, env: { FLOTILLA_PEER_TLS_CA_FILE: 'ca.pem' } })))
      .to.match(/^invalid setting --peer-tls-cert-file: must be given too/);
  });

  it('parseHostPort', () => {
    expect(parseHostPort('localhost:9092')).to.deep.equal({ host: 'localhost', port: 9092 });
    expect(parseHostPort('[fe80::1]:1')).to.deep.equal({ host: 'fe80::1', port: 1 });
    expect(parseHostPort('h:0')).to.equal(null);
    expect(parseHostPort('h:0', { allowZeroPort: true })).to.deep.equal({ host: 'h', port: 0 });
    for (const bad of ['h', ':1', 'h:', 'h:x', 'h:1:2', 'h:123456', 'a b:1', '::1:9092']) expect(parseHostPort(bad), bad).to.equal(null);
  });

  it('renders the README table with every setting', () => {
    const md = nodeSettingsMarkdown();
    for (const name of Object.keys(nodeSettings)) {
      expect(md).to.contain(`| \`${flagOf(name)}\` | \`${envOf(name)}\` |`);
    }
    expect(md).to.contain('| `--node-id` | `FLOTILLA_NODE_ID` | (required) |');
    expect(md).to.contain('`127.0.0.1:9092`');
  });
});
