// Cross-checks against an independent encoder: kafka-python 2.0.2 (Debian python3-kafka, under
// /usr/bin/python3). Its protocol classes encode request bodies of the old versions Flotilla
// gained for issue 17 (CreateTopics v0-v2, DeleteTopics v0, DescribeConfigs v0, DescribeGroups
// v0-v1, DeleteGroups v0, OffsetCommit v0, OffsetFetch v0); our codecs must decode them exactly,
// and kafka-python must decode the responses our codecs encode. Skipped when python3-kafka is
// missing (required in CI, as spec/e2e/kafka-clients.spec.ts does).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { ApiDefinition } from '../../lib/kafka/api.js';
import { apis } from '../../lib/kafka/apis.js';
import { createTopicsApi } from '../../lib/kafka/create-topics.js';
import { deleteGroupsApi } from '../../lib/kafka/delete-groups.js';
import { deleteTopicsApi } from '../../lib/kafka/delete-topics.js';
import { describeConfigsApi } from '../../lib/kafka/describe-configs.js';
import { describeGroupsApi } from '../../lib/kafka/describe-groups.js';
import { offsetCommitApi } from '../../lib/kafka/offset-commit.js';
import { offsetFetchApi } from '../../lib/kafka/offset-fetch.js';
import { Reader, Writer, ZERO_UUID } from '../../lib/kafka/primitives.js';

const SCRIPT = new URL('../../../spec/kafka/python/kafka_python_frames.py', import.meta.url).pathname;
const PYTHON = '/usr/bin/python3';

function havePython(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import kafka.protocol.admin'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface PyOut {
  requests: { cls: string; apiKey: number; apiVersion: number; hex: string }[];
  responses: { cls: string; body: unknown }[];
}

function runPython(responses: { cls: string; hex: string }[]): PyOut {
  return JSON.parse(execFileSync(PYTHON, [SCRIPT], { input: JSON.stringify(responses), encoding: 'utf8' })) as PyOut;
}

function encodeResponse<Res>(api: ApiDefinition<unknown, Res>, version: number, body: Res): string {
  const w = new Writer(64);
  api.encodeResponse(w, version, body);
  return Buffer.from(w.finish()).toString('hex');
}

const hex = (s: string): string => Buffer.from(s).toString('hex');

describe('kafka codecs against kafka-python 2.0.2', function () {
  before(function () {
    if (!havePython()) {
      if (process.env['CI']) throw new Error('python3-kafka is required in CI');
      console.log('      (kafka-python is not installed: skipped; apt-get install python3-kafka)');
      this.skip();
    }
  });

  it('decodes the request bodies kafka-python encodes, to the last byte', () => {
    const out = runPython([]);
    const expected: Record<string, unknown> = {
      CreateTopicsRequest_v0: {
        topics: [
          { name: 't0', numPartitions: 3, replicationFactor: 2, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }] },
          { name: 'm', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }, { partitionIndex: 1, brokerIds: [2, 3] }], configs: [] },
        ],
        timeoutMs: 5000, validateOnly: false,
      },
      CreateTopicsRequest_v1: {
        topics: [{ name: 't1', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'cleanup.policy', value: null }] }],
        timeoutMs: 100, validateOnly: true,
      },
      CreateTopicsRequest_v2: { topics: [{ name: 't2', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 100, validateOnly: false },
      DeleteTopicsRequest_v0: { topics: [], topicNames: ['x', 'y'], timeoutMs: 3000 },
      DescribeConfigsRequest_v0: {
        resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms'] }, { resourceType: 4, resourceName: '1', configurationKeys: null }],
        includeSynonyms: false, includeDocumentation: false,
      },
      DescribeGroupsRequest_v0: { groups: ['g', 'h'], includeAuthorizedOperations: false },
      DescribeGroupsRequest_v1: { groups: ['g'], includeAuthorizedOperations: false },
      DeleteGroupsRequest_v0: { groupsNames: ['g', 'h'] },
      OffsetCommitRequest_v0: {
        groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
        topics: [{ name: 't', partitions: [
          { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: 'meta' },
          { partitionIndex: 1, committedOffset: 7, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: '' },
        ] }],
      },
      OffsetFetchRequest_v0: { groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1] }], groups: [], requireStable: false },
    };
    expect(out.requests.map((r) => r.cls)).to.deep.equal(Object.keys(expected));
    for (const r of out.requests) {
      const api = apis.get(r.apiKey)!;
      expect(r.apiVersion, r.cls).to.be.within(api.minVersion, api.maxVersion);
      const reader = new Reader(Buffer.from(r.hex, 'hex'));
      expect(api.decodeRequest(reader, r.apiVersion), r.cls).to.deep.equal(expected[r.cls]);
      expect(reader.remaining, r.cls).to.equal(0);
    }
  });

  it('kafka-python decodes the responses our codecs encode', () => {
    const ours = [
      { cls: 'CreateTopicsResponse_v0', hex: encodeResponse(createTopicsApi, 0, {
        throttleTimeMs: 0, topics: [{ name: 't0', topicId: ZERO_UUID, errorCode: 36, errorMessage: 'exists', topicConfigErrorCode: 0, numPartitions: -1, replicationFactor: -1, configs: [] }],
      }) },
      { cls: 'CreateTopicsResponse_v1', hex: encodeResponse(createTopicsApi, 1, {
        throttleTimeMs: 0, topics: [{ name: 't1', topicId: ZERO_UUID, errorCode: 36, errorMessage: 'exists', topicConfigErrorCode: 0, numPartitions: -1, replicationFactor: -1, configs: [] }],
      }) },
      { cls: 'CreateTopicsResponse_v2', hex: encodeResponse(createTopicsApi, 2, {
        throttleTimeMs: 5, topics: [{ name: 't2', topicId: ZERO_UUID, errorCode: 0, errorMessage: null, topicConfigErrorCode: 0, numPartitions: 2, replicationFactor: 1, configs: [] }],
      }) },
      { cls: 'DeleteTopicsResponse_v0', hex: encodeResponse(deleteTopicsApi, 0, {
        throttleTimeMs: 0, responses: [{ name: 'x', topicId: ZERO_UUID, errorCode: 0, errorMessage: null }, { name: 'y', topicId: ZERO_UUID, errorCode: 3, errorMessage: null }],
      }) },
      { cls: 'DescribeConfigsResponse_v0', hex: encodeResponse(describeConfigsApi, 0, {
        throttleTimeMs: 0,
        results: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't', configs: [{
          name: 'retention.ms', value: '1000', readOnly: false, isDefault: true, configSource: 5, isSensitive: false, synonyms: [], configType: 5, documentation: null,
        }] }],
      }) },
      { cls: 'DescribeGroupsResponse_v0', hex: encodeResponse(describeGroupsApi, 0, {
        throttleTimeMs: 0,
        groups: [{ errorCode: 0, errorMessage: null, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range', authorizedOperations: 0, members: [{
          memberId: 'm', groupInstanceId: null, clientId: 'c', clientHost: '/h', memberMetadata: Buffer.from([1, 2]), memberAssignment: Buffer.from([3]),
        }] }],
      }) },
      { cls: 'DescribeGroupsResponse_v1', hex: encodeResponse(describeGroupsApi, 1, {
        throttleTimeMs: 9, groups: [{ errorCode: 16, errorMessage: null, groupId: 'h', groupState: 'Dead', protocolType: '', protocolData: '', members: [], authorizedOperations: 0 }],
      }) },
      { cls: 'DeleteGroupsResponse_v0', hex: encodeResponse(deleteGroupsApi, 0, {
        throttleTimeMs: 0, results: [{ groupId: 'g', errorCode: 0 }, { groupId: 'h', errorCode: 69 }],
      }) },
      { cls: 'OffsetCommitResponse_v0', hex: encodeResponse(offsetCommitApi, 0, {
        throttleTimeMs: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 1, errorCode: 3 }] }],
      }) },
      { cls: 'OffsetFetchResponse_v0', hex: encodeResponse(offsetFetchApi, 0, {
        throttleTimeMs: 0, errorCode: 0, groups: [],
        topics: [{ name: 't', partitions: [
          { partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, metadata: 'meta', errorCode: 0 },
          { partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
        ] }],
      }) },
    ];
    const decoded = Object.fromEntries(runPython(ours).responses.map((r) => [r.cls, r.body]));
    expect(decoded).to.deep.equal({
      CreateTopicsResponse_v0: { topic_errors: [['t0', 36]] },
      CreateTopicsResponse_v1: { topic_errors: [['t1', 36, 'exists']] },
      CreateTopicsResponse_v2: { throttle_time_ms: 5, topic_errors: [['t2', 0, null]] },
      DeleteTopicsResponse_v0: { topic_error_codes: [['x', 0], ['y', 3]] },
      DescribeConfigsResponse_v0: {
        throttle_time_ms: 0, resources: [[0, null, 2, 't', [['retention.ms', '1000', false, true, false]]]],
      },
      DescribeGroupsResponse_v0: {
        groups: [[0, 'g', 'Stable', 'consumer', 'range', [['m', 'c', '/h', hex('\x01\x02'), hex('\x03')]]]],
      },
      DescribeGroupsResponse_v1: { throttle_time_ms: 9, groups: [[16, 'h', 'Dead', '', '', []]] },
      DeleteGroupsResponse_v0: { throttle_time_ms: 0, results: [['g', 0], ['h', 69]] },
      OffsetCommitResponse_v0: { topics: [['t', [[0, 0], [1, 3]]]] },
      OffsetFetchResponse_v0: { topics: [['t', [[0, 42, 'meta', 0], [1, -1, '', 0]]]] },
    });
  });
});
