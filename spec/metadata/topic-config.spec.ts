import { expect } from 'chai';
import { isFlotillaError } from '../../lib/base/errors.js';
import {
  clusterDefaultKeys, describeClusterDefaults, describeTopicConfig, effectiveTopicConfig, topicConfigSource, topicConfigSpecs,
  validateClusterDefault, validateTopicConfig, validateTopicConfigs,
} from '../../lib/metadata/topic-config.js';
import { createTopicRecords } from '../../lib/metadata/topics.js';
import { register, replay, uuidOf } from './helpers.js';

function expectBad(fn: () => unknown, key: string): void {
  try {
    fn();
  } catch (err) {
    expect(isFlotillaError(err, 'INVALID_TOPIC_CONFIG'), String(err)).to.equal(true);
    expect(String(err)).to.contain(key);
    return;
  }
  expect.fail(`expected INVALID_TOPIC_CONFIG for ${key}`);
}

describe('metadata/topic-config', () => {
  it('knows the keys Kafka users expect, with Kafka defaults', () => {
    expect(Object.keys(topicConfigSpecs).sort()).to.deep.equal([
      'cleanup.policy', 'compression.type', 'delete.retention.ms', 'flush.messages', 'flush.ms', 'max.compaction.lag.ms',
      'max.message.bytes', 'message.timestamp.type', 'min.cleanable.dirty.ratio', 'min.compaction.lag.ms', 'min.insync.replicas',
      'retention.bytes', 'retention.ms', 'segment.bytes', 'segment.ms',
    ]);
    expect(topicConfigSpecs['retention.ms'].default).to.equal('604800000');
    expect(topicConfigSpecs['max.message.bytes'].default).to.equal('1048588');
    expect(topicConfigSpecs['segment.bytes'].default).to.equal('1073741824');
  });

  it('validates and normalises values, naming the key on a bad one', () => {
    expect(validateTopicConfig('retention.ms', '-1')).to.equal('-1');
    expect(validateTopicConfig('cleanup.policy', 'compact, delete')).to.equal('compact,delete');
    expect(validateTopicConfig('max.compaction.lag.ms', '9223372036854775807')).to.equal('9223372036854775807');
    expect(validateTopicConfig('min.cleanable.dirty.ratio', '0.1')).to.equal('0.1');
    expectBad(() => validateTopicConfig('retention.ms', 'forever'), 'retention.ms');
    expectBad(() => validateTopicConfig('retention.ms', '-2'), 'retention.ms');
    expectBad(() => validateTopicConfig('segment.bytes', '3000000000'), 'segment.bytes');
    expectBad(() => validateTopicConfig('flush.ms', '9223372036854775808'), 'flush.ms');
    expectBad(() => validateTopicConfig('cleanup.policy', 'shred'), 'cleanup.policy');
    expectBad(() => validateTopicConfig('cleanup.policy', 'delete,delete'), 'cleanup.policy');
    expectBad(() => validateTopicConfig('min.cleanable.dirty.ratio', '1.5'), 'min.cleanable.dirty.ratio');
    expectBad(() => validateTopicConfig('message.timestamp.type', 'Now'), 'message.timestamp.type');
    expectBad(() => validateTopicConfig('no.such.key', '1'), 'no.such.key');
    expectBad(() => validateTopicConfigs({ 'retention.ms': '1', 'compression.type': 'brotli' }), 'compression.type');
  });

  it('describes a topic (own values and defaults) and gives typed effective values', () => {
    const base = replay([register(1)]);
    const image = replay(createTopicRecords(base, {
      name: 't', topicId: uuidOf(1), partitionCount: 1, replicationFactor: 1,
      configs: new Map([['retention.ms', '1000'], ['message.timestamp.type', 'LogAppendTime'], ['cleanup.policy', 'compact'], ['max.compaction.lag.ms', '9223372036854775807']]),
    }), base);
    const entries = describeTopicConfig(image, 't');
    expect(entries.map((e) => e.name)).to.deep.equal(Object.keys(topicConfigSpecs).sort());
    expect(entries.find((e) => e.name === 'retention.ms')).to.include({ value: '1000', source: 'topic', readOnly: false, sensitive: false });
    expect(entries.find((e) => e.name === 'segment.bytes')).to.include({ value: '1073741824', source: 'default' });
    const c = effectiveTopicConfig(image, 't');
    expect(c.retentionMs).to.equal(1000);
    expect(c.cleanupPolicy).to.deep.equal({ delete: false, compact: true });
    expect(c.maxCompactionLagMs).to.equal(Number.MAX_SAFE_INTEGER);
    expect(c.maxMessageBytes).to.equal(1048588);
    expect(topicConfigSource.logAppendTime(image, 't')).to.equal(true);
    expect(topicConfigSource.maxMessageBytes(image, 't')).to.equal(1048588);
  });

  it('cluster-wide defaults (broker resource "") stand in for Kafka defaults, under a topic\'s own values', () => {
    expect(Object.values(clusterDefaultKeys).sort()).to.deep.equal(Object.keys(topicConfigSpecs).sort());
    expect(validateClusterDefault('log.retention.ms', ' 5000 ')).to.equal('5000');
    expectBad(() => validateClusterDefault('log.retention.ms', 'soon'), 'log.retention.ms');
    expectBad(() => validateClusterDefault('retention.ms', '1'), 'retention.ms');
    const base = replay([register(1)]);
    const image = replay(createTopicRecords(base, {
      name: 't', topicId: uuidOf(1), partitionCount: 1, replicationFactor: 1, configs: new Map([['retention.ms', '1000']]),
    }), base);
    const before = effectiveTopicConfig(image, 't');
    expect(before.segmentBytes).to.equal(1073741824);
    const withDefaults = replay([
      { type: 'Config', resourceType: 'broker', resourceName: '', key: 'log.retention.ms', value: '7000' },
      { type: 'Config', resourceType: 'broker', resourceName: '', key: 'log.segment.bytes', value: '4096' },
      { type: 'Config', resourceType: 'broker', resourceName: '', key: 'log.cleanup.policy', value: 'compact' },
    ], image);
    const c = effectiveTopicConfig(withDefaults, 't');
    expect(c.retentionMs).to.equal(1000); // the topic's own value wins
    expect(c.segmentBytes).to.equal(4096);
    expect(c.cleanupPolicy).to.deep.equal({ delete: false, compact: true });
    expect(effectiveTopicConfig(image, 't')).to.equal(before); // the older image keeps its values
    const entries = describeTopicConfig(withDefaults, 't');
    expect(entries.find((e) => e.name === 'retention.ms')).to.include({ value: '1000', source: 'topic' });
    expect(entries.find((e) => e.name === 'segment.bytes')).to.include({ value: '4096', source: 'cluster' });
    expect(entries.find((e) => e.name === 'segment.ms')).to.include({ value: '604800000', source: 'default' });
    expect(describeClusterDefaults(withDefaults, true).map((e) => `${e.name}=${e.value}`)).to.deep.equal(['log.cleanup.policy=compact', 'log.retention.ms=7000', 'log.segment.bytes=4096']);
    const all = describeClusterDefaults(withDefaults, false);
    expect(all).to.have.length(Object.keys(clusterDefaultKeys).length);
    expect(all.find((e) => e.name === 'log.roll.ms')).to.include({ value: '604800000', source: 'default' });
  });
});
