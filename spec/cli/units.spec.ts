// The CLI's pure parts: the local cluster plan, output tables, produce acks, error descriptions.
import { expect } from 'chai';
import type { Message } from 'kafkajs';
import { parseConfigPair, renderNodeStatus } from '../../lib/cli/admin.js';
import { describeClientError, parseBootstrap } from '../../lib/cli/client.js';
import { planLocalCluster } from '../../lib/cli/local.js';
import { formatTable } from '../../lib/cli/output.js';
import { acksOf, parseAcks, toMessage } from '../../lib/cli/produce.js';
import { readFileSync } from 'node:fs';
import { loadNodeConfig, nodeSettingsMarkdown } from '../../lib/app/config.js';

describe('cli units', () => {
  describe('planLocalCluster', () => {
    it('gives node i ports counting up from --port, the first three as controllers', () => {
      const plan = planLocalCluster({ nodes: 4, dataDir: '/data', port: 9092, host: '127.0.0.1' });
      expect(plan.map((p) => [p.nodeId, p.dataDir, p.clientPort, p.peerPort, p.metricsPort])).to.deep.equal([
        [1, '/data/node-1', 9092, 19092, 11092],
        [2, '/data/node-2', 9093, 19093, 11093],
        [3, '/data/node-3', 9094, 19094, 11094],
        [4, '/data/node-4', 9095, 19095, 11095],
      ]);
      const args = plan[3]?.args ?? [];
      expect(args[0]).to.equal('start');
      expect(args[args.indexOf('--controllers') + 1]).to.equal('1@127.0.0.1:19092,2@127.0.0.1:19093,3@127.0.0.1:19094');
      expect(args).to.include('--stop-with-stdin');
    });

    it('produces start arguments that loadNodeConfig accepts', () => {
      for (const nodes of [1, 2, 3, 5]) {
        for (const p of planLocalCluster({ nodes, dataDir: '/data', port: 9092, host: '127.0.0.1', logLevel: 'debug', fsync: false })) {
          const flags: Record<string, unknown> = {};
          const args = p.args.slice(1).filter((a) => a !== '--stop-with-stdin');
          for (let i = 0; i < args.length; i++) {
            const a = args[i] ?? '';
            if (a === '--no-fsync') {
              flags.fsync = false;
              continue;
            }
            const name = a.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
            flags[name] = args[++i];
          }
          const c = loadNodeConfig({ flags, env: {} });
          expect(c.nodeId).to.equal(p.nodeId);
          expect(c.isController).to.equal(p.nodeId <= 3);
          expect(c.controllers).to.have.length(Math.min(3, nodes));
          expect(c.defaultReplicationFactor).to.equal(Math.min(3, nodes));
          expect(c.metricsListen?.port).to.equal(p.metricsPort);
          expect([c.fsync, c.logLevel]).to.deep.equal([false, 'debug']);
        }
      }
    });

    it('refuses plans that run out of ports', () => {
      expect(() => planLocalCluster({ nodes: 3, dataDir: '/d', port: 55535, host: '127.0.0.1' })).to.throw(/leaves no room/);
      expect(() => planLocalCluster({ nodes: 65, dataDir: '/d', port: 9092, host: '127.0.0.1' })).to.throw(/--nodes/);
    });
  });

  it('formatTable aligns columns and shows missing values as -', () => {
    expect(formatTable(['A', 'LONGER'], [[1, [2, 3]], ['wide cell', null]])).to.equal(['A          LONGER', '1          2,3', 'wide cell  -'].join('\n'));
  });

  it('parseAcks', () => {
    expect([parseAcks('all'), parseAcks('-1'), parseAcks('1'), parseAcks('0')]).to.deep.equal([-1, -1, 1, 0]);
    expect(() => parseAcks('2')).to.throw(/invalid --acks "2"/);
  });

  it('toMessage takes the key from --key or --key-separator', () => {
    expect(toMessage('v', {})).to.deep.equal({ key: null, value: 'v' });
    expect(toMessage('v', { key: 'k', partition: 2 })).to.deep.equal({ key: 'k', value: 'v', partition: 2 });
    expect(toMessage('k1:a:b', { keySeparator: ':' })).to.deep.equal({ key: 'k1', value: 'a:b' });
    expect(toMessage('no separator', { keySeparator: ':' })).to.deep.equal({ key: null, value: 'no separator' });
  });

  it('acksOf numbers each partition\'s records from its base offset, in send order', () => {
    const messages: Message[] = [{ value: 'a' }, { value: 'b' }, { value: 'c' }, { value: 'd' }];
    const partitionOf = new Map<Message, number>(messages.map((m, i) => [m, i % 2]));
    const acks = acksOf('t', messages, (m) => partitionOf.get(m), [
      { topicName: 't', partition: 0, errorCode: 0, baseOffset: '10' },
      { topicName: 't', partition: 1, errorCode: 0, baseOffset: '7' },
    ]);
    expect(acks).to.deep.equal([
      { topic: 't', partition: 0, offset: '10' },
      { topic: 't', partition: 1, offset: '7' },
      { topic: 't', partition: 0, offset: '11' },
      { topic: 't', partition: 1, offset: '8' },
    ]);
  });

  it('parseConfigPair and parseBootstrap', () => {
    expect(parseConfigPair('retention.ms=1000', '--config')).to.deep.equal(['retention.ms', '1000']);
    expect(parseConfigPair('a=b=c', '--set')).to.deep.equal(['a', 'b=c']);
    expect(() => parseConfigPair('=x', '--set')).to.throw(/expected KEY=VALUE/);
    expect(parseBootstrap('a:1, b:2')).to.deep.equal(['a:1', 'b:2']);
    expect(() => parseBootstrap('')).to.throw(/--bootstrap/);
  });

  it('describeClientError: one line from a KafkaJS error chain', () => {
    const cause = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9'), { name: 'KafkaJSConnectionError' });
    const err = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9'), { name: 'KafkaJSNumberOfRetriesExceeded', cause });
    expect(describeClientError(err, '127.0.0.1:9')).to.equal('cannot reach the cluster at 127.0.0.1:9: Connection error: connect ECONNREFUSED 127.0.0.1:9');
    const protocol = Object.assign(new Error('Topic with this name already exists'), { name: 'KafkaJSProtocolError', type: 'TOPIC_ALREADY_EXISTS' });
    expect(describeClientError(protocol)).to.equal('TOPIC_ALREADY_EXISTS: Topic with this name already exists');
    const aggregate = Object.assign(new Error('Topic creation errors'), { name: 'KafkaJSAggregateError', errors: [protocol] });
    expect(describeClientError(aggregate)).to.equal('Topic creation errors: TOPIC_ALREADY_EXISTS: Topic with this name already exists');
    const unsupported = Object.assign(new Error('The broker does not support the requested API version'), { name: 'KafkaJSServerDoesNotSupportApiKey', apiName: 'JoinGroup' });
    expect(describeClientError(unsupported)).to.match(/^the cluster does not support JoinGroup yet/);
  });

  it('renderNodeStatus shows scalars on a line and arrays of objects as tables', () => {
    const text = renderNodeStatus({ nodeId: 1, state: 'running', groups: [{ group: 'a-0', term: 3, role: 'leader' }, { group: 'a-1', term: 2, role: 'follower' }], extra: { x: 1 } });
    expect(text).to.equal([
      'nodeId=1  state=running',
      'groups:',
      '  GROUP  TERM  ROLE',
      '  a-0    3     leader',
      '  a-1    2     follower',
      'extra: {"x":1}',
    ].join('\n'));
  });

  it('lib/cli/README.md holds the generated settings table', () => {
    const readme = readFileSync(new URL('../../../lib/cli/README.md', import.meta.url), 'utf8');
    expect(readme).to.contain(nodeSettingsMarkdown());
  });
});
