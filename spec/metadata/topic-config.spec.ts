import { expect } from 'chai';
import { isFlotillaError } from '../../lib/base/errors.js';
import {
  describeTopicConfig, effectiveTopicConfig, topicConfigSource, topicConfigSpecs, validateTopicConfig, validateTopicConfigs,
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
});
