// Cross-check against KafkaJS 2.2.4's own protocol encoders and decoders (devDependency): every
// request at the version KafkaJS sends to this broker is encoded by KafkaJS and parsed by us, and
// every response we encode at that version is decoded by KafkaJS. The bytes come from an
// independent implementation, so a field misplaced in both our encoder and our decoder shows here.
import { expect } from 'chai';
import { createRequire } from 'node:module';
import { apiVersionsApi } from '../../lib/kafka/api-versions.js';
import { apiVersionsBody, encodeResponseFrame, parseRequest } from '../../lib/kafka/apis.js';
import { createTopicsApi } from '../../lib/kafka/create-topics.js';
import { alterPartitionReassignmentsApi } from '../../lib/kafka/alter-partition-reassignments.js';
import { listPartitionReassignmentsApi } from '../../lib/kafka/list-partition-reassignments.js';
import { alterConfigsApi } from '../../lib/kafka/alter-configs.js';
import { createPartitionsApi } from '../../lib/kafka/create-partitions.js';
import { deleteRecordsApi } from '../../lib/kafka/delete-records.js';
import { deleteTopicsApi } from '../../lib/kafka/delete-topics.js';
import { deleteGroupsApi } from '../../lib/kafka/delete-groups.js';
import { describeGroupsApi } from '../../lib/kafka/describe-groups.js';
import { offsetCommitApi } from '../../lib/kafka/offset-commit.js';
import { describeConfigsApi } from '../../lib/kafka/describe-configs.js';
import { findCoordinatorApi } from '../../lib/kafka/find-coordinator.js';
import { fetchApi } from '../../lib/kafka/fetch.js';
import { listOffsetsApi } from '../../lib/kafka/list-offsets.js';
import { metadataApi } from '../../lib/kafka/metadata.js';
import { ZERO_UUID } from '../../lib/kafka/primitives.js';
import { produceApi } from '../../lib/kafka/produce.js';
import { assertValidBatch, BatchHeader } from '../../lib/records/batch.js';
import { encodeBatch } from '../../lib/records/encode.js';

const require = createRequire(import.meta.url);
const kafkajsRequest = require('kafkajs/src/protocol/request.js');

type Api = { apiKey: number; isFlexible(v: number): boolean; encodeResponse(w: never, v: number, body: never): void };

/** KafkaJS frames a request (size, header v1, body); we parse it without the size prefix. */
async function fromKafkaJs(module: string, version: number, args: unknown): Promise<{ header: unknown; body: any }> {
  const request = require(`kafkajs/src/protocol/requests/${module}/v${version}/request.js`)(args);
  const encoder = await kafkajsRequest({ correlationId: 11, clientId: 'kafkajs', request });
  const frame: Buffer = encoder.buffer;
  const parsed = parseRequest(frame.subarray(4));
  if (parsed.kind !== 'request') throw new Error(`${module} v${version} unsupported`);
  expect(parsed.header).to.deep.equal({ apiKey: request.apiKey, apiVersion: version, correlationId: 11, clientId: 'kafkajs' });
  return { header: parsed.header, body: parsed.body };
}

/** We encode a response frame; KafkaJS decodes the payload after the correlation id. */
async function toKafkaJs(module: string, api: Api, version: number, body: unknown, factoryArgs?: unknown): Promise<any> {
  const frame = encodeResponseFrame(api as never, version, 11, body as never);
  expect(frame.readInt32BE(4)).to.equal(11);
  let response = require(`kafkajs/src/protocol/requests/${module}/v${version}/response.js`);
  // A few KafkaJS responses are factories over the request's arguments.
  if (factoryArgs !== undefined) response = response(factoryArgs);
  return response.decode(frame.subarray(8));
}

describe('kafka codecs against KafkaJS 2.2.4', () => {
  it('ApiVersions v2: KafkaJS reads our advertised table', async () => {
    const { body } = await fromKafkaJs('apiVersions', 2, undefined);
    expect(body).to.deep.equal({ clientSoftwareName: '', clientSoftwareVersion: '' });
    const decoded = await toKafkaJs('apiVersions', apiVersionsApi, 2, apiVersionsBody());
    expect(decoded.errorCode).to.equal(0);
    expect(decoded.apiVersions).to.deep.include({ apiKey: 0, minVersion: 0, maxVersion: 11 });
    expect(decoded.apiVersions).to.have.length(apiVersionsBody().apiKeys.length);
  });

  it('Metadata v6: null topics means all; KafkaJS reads brokers, controller, partitions', async () => {
    expect((await fromKafkaJs('metadata', 6, { topics: [] })).body).to.deep.include({ topics: null, allowAutoTopicCreation: true });
    expect((await fromKafkaJs('metadata', 6, { topics: ['a', 'b'], allowAutoTopicCreation: false })).body)
      .to.deep.include({ topics: [{ topicId: ZERO_UUID, name: 'a' }, { topicId: ZERO_UUID, name: 'b' }], allowAutoTopicCreation: false });
    const decoded = await toKafkaJs('metadata', metadataApi, 6, {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: 'h1', port: 9092, rack: null }, { nodeId: 2, host: 'h2', port: 9093, rack: 'r' }],
      clusterId: 'flotilla',
      controllerId: 2,
      topics: [{
        errorCode: 0, name: 't', isInternal: false,
        partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 3, replicaNodes: [1, 2], isrNodes: [1], offlineReplicas: [2] }],
        topicAuthorizedOperations: 0,
      }],
      clusterAuthorizedOperations: 0,
    });
    expect(decoded.brokers).to.deep.equal([{ nodeId: 1, host: 'h1', port: 9092, rack: null }, { nodeId: 2, host: 'h2', port: 9093, rack: 'r' }]);
    expect(decoded.clusterId).to.equal('flotilla');
    expect(decoded.controllerId).to.equal(2);
    expect(decoded.topicMetadata).to.deep.equal([{
      topicErrorCode: 0, topic: 't', isInternal: false,
      partitionMetadata: [{ partitionErrorCode: 0, partitionId: 0, leader: 1, replicas: [1, 2], isr: [1], offlineReplicas: [2] }],
    }]);
  });

  it('Produce v7: the record batch KafkaJS built arrives as raw bytes that lib/records validates', async () => {
    const { body } = await fromKafkaJs('produce', 7, {
      acks: -1, timeout: 30000, transactionalId: null, producerId: -1, producerEpoch: 0,
      topicData: [{ topic: 't', partitions: [{ partition: 2, firstSequence: 0, messages: [{ key: 'k', value: 'v' }, { value: 'w' }] }] }],
    });
    expect(body.acks).to.equal(-1);
    expect(body.timeoutMs).to.equal(30000);
    expect(body.transactionalId).to.equal(null);
    const part = body.topics[0].partitions[0];
    expect(part.partitionIndex).to.equal(2);
    expect(assertValidBatch(part.records, 0, part.records.length)).to.equal(part.records.length);
    expect(new BatchHeader(part.records).recordCount).to.equal(2);
    const decoded = await toKafkaJs('produce', produceApi, 7, {
      responses: [{ name: 't', partitions: [{ partitionIndex: 2, errorCode: 0, baseOffset: 40, logAppendTimeMs: -1, logStartOffset: 0 }] }],
      throttleTimeMs: 0,
    });
    expect(decoded.topics).to.deep.equal([{ topicName: 't', partitions: [{ partition: 2, errorCode: 0, baseOffset: '40', logAppendTime: '-1', logStartOffset: '0' }] }]);
  });

  it('Fetch v11: KafkaJS request fields, and KafkaJS decodes the records of our response', async () => {
    const { body } = await fromKafkaJs('fetch', 11, {
      replicaId: -1, maxWaitTime: 5000, minBytes: 1, maxBytes: 10485760, isolationLevel: 1,
      topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: '7', maxBytes: 1048576 }] }],
    });
    expect(body).to.deep.include({ replicaId: -1, maxWaitMs: 5000, minBytes: 1, maxBytes: 10485760, isolationLevel: 1, sessionId: 0, sessionEpoch: -1, rackId: '' });
    expect(body.topics).to.deep.equal([{ topic: 't', topicId: ZERO_UUID, partitions: [{
      partition: 0, currentLeaderEpoch: -1, fetchOffset: 7, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1048576, replicaDirectoryId: ZERO_UUID,
    }] }]);
    const batch = encodeBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('v') }], baseOffset: 7 });
    const decoded = await toKafkaJs('fetch', fetchApi, 11, {
      throttleTimeMs: 0, errorCode: 0, sessionId: 0,
      responses: [{ topic: 't', partitions: [{
        partitionIndex: 0, errorCode: 0, highWatermark: 8, lastStableOffset: 8, logStartOffset: 0,
        divergingEpoch: { epoch: -1, endOffset: -1 }, currentLeader: { leaderId: -1, leaderEpoch: -1 }, snapshotId: { endOffset: -1, epoch: -1 },
        abortedTransactions: [{ producerId: 9, firstOffset: 3 }], preferredReadReplica: -1, records: batch,
      }] }],
    });
    const p = decoded.responses[0].partitions[0];
    expect(p.highWatermark).to.equal('8');
    expect(p.abortedTransactions).to.deep.equal([{ producerId: '9', firstOffset: '3' }]);
    expect(p.messages).to.have.length(1);
    expect(p.messages[0].offset).to.equal('7');
    expect(p.messages[0].value.toString()).to.equal('v');
  });

  it('ListOffsets v0: maxNumOffsets in the request, the old-style offset list in the response', async () => {
    const lo = await fromKafkaJs('listOffsets', 0, { replicaId: -1, topics: [{ topic: 't', partitions: [{ partition: 1, timestamp: -1, maxNumOffsets: 5 }, { partition: 2, timestamp: 1234 }] }] });
    expect(lo.body).to.deep.equal({
      replicaId: -1, isolationLevel: 0, timeoutMs: 0,
      topics: [{ name: 't', partitions: [
        { partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 5 },
        { partitionIndex: 2, currentLeaderEpoch: -1, timestamp: 1234, maxNumOffsets: 1 },
      ] }],
    });
    const loRes = await toKafkaJs('listOffsets', listOffsetsApi, 0, {
      throttleTimeMs: 0, topics: [{ name: 't', partitions: [
        { partitionIndex: 1, errorCode: 0, oldStyleOffsets: [12, 3], timestamp: -1, offset: -1, leaderEpoch: -1 },
        { partitionIndex: 2, errorCode: 0, oldStyleOffsets: [], timestamp: -1, offset: -1, leaderEpoch: -1 },
      ] }],
    });
    expect(loRes.responses).to.deep.equal([{ topic: 't', partitions: [{ partition: 1, errorCode: 0, offsets: ['12', '3'] }, { partition: 2, errorCode: 0, offsets: [] }] }]);
  });

  it('ListOffsets v3, CreateTopics v3, DeleteTopics v1: both directions', async () => {
    const lo = await fromKafkaJs('listOffsets', 3, { replicaId: -1, isolationLevel: 1, topics: [{ topic: 't', partitions: [{ partition: 1, timestamp: -2 }] }] });
    expect(lo.body).to.deep.equal({ replicaId: -1, isolationLevel: 1, topics: [{ name: 't', partitions: [{ partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 }] }], timeoutMs: 0 });
    const loRes = await toKafkaJs('listOffsets', listOffsetsApi, 3, {
      throttleTimeMs: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 1, errorCode: 0, timestamp: -1, offset: 12, leaderEpoch: -1 }] }],
    });
    expect(loRes.responses).to.deep.equal([{ topic: 't', partitions: [{ partition: 1, errorCode: 0, timestamp: '-1', offset: '12' }] }]);

    const ct = await fromKafkaJs('createTopics', 3, {
      topics: [{ topic: 'n', numPartitions: 3, replicationFactor: 1, replicaAssignment: [], configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
      timeout: 1000, validateOnly: false,
    });
    expect(ct.body).to.deep.equal({
      topics: [{ name: 'n', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: 'cleanup.policy', value: 'compact' }] }],
      timeoutMs: 1000, validateOnly: false,
    });
    const ctRes = await toKafkaJs('createTopics', createTopicsApi, 3, {
      throttleTimeMs: 0,
      topics: [{ name: 'n', topicId: '00000000-0000-0000-0000-000000000000', errorCode: 36, errorMessage: 'exists', topicConfigErrorCode: 0, numPartitions: -1, replicationFactor: -1, configs: [] }],
    });
    expect(ctRes.topicErrors).to.deep.equal([{ topic: 'n', errorCode: 36, errorMessage: 'exists' }]);

    const dt = await fromKafkaJs('deleteTopics', 1, { topics: ['x', 'y'], timeout: 500 });
    expect(dt.body).to.deep.equal({ topics: [], topicNames: ['x', 'y'], timeoutMs: 500 });
    const dtRes = await toKafkaJs('deleteTopics', deleteTopicsApi, 1, {
      throttleTimeMs: 0, responses: [{ name: 'x', topicId: '00000000-0000-0000-0000-000000000000', errorCode: 0, errorMessage: null }],
    });
    expect(dtRes.topicErrors).to.deep.equal([{ topic: 'x', errorCode: 0 }]);
  });

  it('FindCoordinator v2, DeleteRecords v1, CreatePartitions v1, DescribeConfigs v2, AlterConfigs v1', async () => {
    const fc = await fromKafkaJs('findCoordinator', 2, { coordinatorKey: 'group-a', coordinatorType: 0 });
    expect(fc.body).to.deep.equal({ key: 'group-a', keyType: 0, coordinatorKeys: [] });
    const fcRes = await toKafkaJs('findCoordinator', findCoordinatorApi, 2, {
      throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: 3, host: 'h3', port: 9094, coordinators: [],
    });
    expect(fcRes).to.deep.include({ errorCode: 0, errorMessage: null, coordinator: { nodeId: 3, host: 'h3', port: 9094 } });

    const dr = await fromKafkaJs('deleteRecords', 1, { topics: [{ topic: 't', partitions: [{ partition: 0, offset: '5' }] }], timeout: 100 });
    expect(dr.body).to.deep.equal({ topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 5 }] }], timeoutMs: 100 });
    const drRes = await toKafkaJs('deleteRecords', deleteRecordsApi, 1, {
      throttleTimeMs: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 0, lowWatermark: 5, errorCode: 0 }] }],
    }, { topics: [{ topic: 't', partitions: [{ partition: 0, offset: '5' }] }] });
    expect(drRes.topics).to.deep.equal([{ topic: 't', partitions: [{ partition: 0, lowWatermark: 5n, errorCode: 0 }] }]);

    const cp = await fromKafkaJs('createPartitions', 1, { topicPartitions: [{ topic: 't', count: 4, assignments: [[1, 2]] }], timeout: 100 });
    expect(cp.body).to.deep.equal({ topics: [{ name: 't', count: 4, assignments: [{ brokerIds: [1, 2] }] }], timeoutMs: 100, validateOnly: false });
    const cpRes = await toKafkaJs('createPartitions', createPartitionsApi, 1, {
      throttleTimeMs: 0, results: [{ name: 't', errorCode: 37, errorMessage: 'no' }],
    });
    expect(cpRes.topicErrors).to.deep.equal([{ topic: 't', errorCode: 37, errorMessage: 'no' }]);

    const dc = await fromKafkaJs('describeConfigs', 2, { resources: [{ type: 2, name: 't', configNames: ['retention.ms'] }], includeSynonyms: true });
    expect(dc.body).to.deep.equal({ resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms'] }], includeSynonyms: true, includeDocumentation: false });
    const dcRes = await toKafkaJs('describeConfigs', describeConfigsApi, 2, {
      throttleTimeMs: 0,
      results: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't', configs: [{
        name: 'retention.ms', value: '1000', readOnly: false, configSource: 1, isSensitive: false,
        synonyms: [{ name: 'retention.ms', value: '1000', source: 1 }],
      }] }],
    });
    expect(dcRes.resources[0].configEntries[0]).to.deep.include({ configName: 'retention.ms', configValue: '1000', readOnly: false, isSensitive: false, configSource: 1 });
    expect(dcRes.resources[0].configEntries[0].configSynonyms).to.deep.equal([{ configName: 'retention.ms', configValue: '1000', configSource: 1 }]);

    const ac = await fromKafkaJs('alterConfigs', 1, { resources: [{ type: 2, name: 't', configEntries: [{ name: 'retention.ms', value: '5' }] }], validateOnly: true });
    expect(ac.body).to.deep.equal({ resources: [{ resourceType: 2, resourceName: 't', configs: [{ name: 'retention.ms', value: '5' }] }], validateOnly: true });
    const acRes = await toKafkaJs('alterConfigs', alterConfigsApi, 1, {
      throttleTimeMs: 0, responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't' }],
    });
    expect(acRes.resources).to.deep.equal([{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't' }]);
  });
  it('the old versions of issue 17: CreateTopics v0-v2, DeleteTopics v0, DescribeConfigs v0, DescribeGroups v0-v1, DeleteGroups v0, OffsetCommit v0', async () => {
    const topics = [{ topic: 'a', numPartitions: 2, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '9' }] }];
    const createdBody = {
      topics: [{ name: 'a', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '9' }] }], timeoutMs: 100,
    };
    expect((await fromKafkaJs('createTopics', 0, { topics, timeout: 100 })).body).to.deep.equal({ ...createdBody, validateOnly: false });
    for (const v of [1, 2]) expect((await fromKafkaJs('createTopics', v, { topics, timeout: 100, validateOnly: true })).body).to.deep.equal({ ...createdBody, validateOnly: true });
    const ctTopic = { name: 'a', topicId: ZERO_UUID, errorCode: 36, errorMessage: 'exists', topicConfigErrorCode: 0, numPartitions: -1, replicationFactor: -1, configs: [] };
    expect((await toKafkaJs('createTopics', createTopicsApi, 0, { throttleTimeMs: 0, topics: [ctTopic] })).topicErrors).to.deep.equal([{ topic: 'a', errorCode: 36 }]);
    expect((await toKafkaJs('createTopics', createTopicsApi, 1, { throttleTimeMs: 0, topics: [ctTopic] })).topicErrors)
      .to.deep.equal([{ topic: 'a', errorCode: 36, errorMessage: 'exists' }]);

    expect((await fromKafkaJs('deleteTopics', 0, { topics: ['a', 'b'], timeout: 100 })).body).to.deep.equal({ topics: [], topicNames: ['a', 'b'], timeoutMs: 100 });
    const dt = await toKafkaJs('deleteTopics', deleteTopicsApi, 0, {
      throttleTimeMs: 0, responses: [{ name: 'a', topicId: ZERO_UUID, errorCode: 0, errorMessage: null }],
    });
    expect(dt.topicErrors).to.deep.equal([{ topic: 'a', errorCode: 0 }]);

    const dc = await fromKafkaJs('describeConfigs', 0, { resources: [{ type: 2, name: 't', configNames: ['retention.ms'] }] });
    expect(dc.body).to.deep.equal({ resources: [{ resourceType: 2, resourceName: 't', configurationKeys: ['retention.ms'] }], includeSynonyms: false, includeDocumentation: false });
    const dcRes = await toKafkaJs('describeConfigs', describeConfigsApi, 0, {
      throttleTimeMs: 0,
      results: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't', configs: [{
        name: 'retention.ms', value: '9', readOnly: false, isDefault: false, configSource: 1, isSensitive: false, synonyms: [], configType: 5, documentation: null,
      }] }],
    });
    // KafkaJS derives v0's configSource from isDefault, readOnly and the resource type (1: DYNAMIC_TOPIC_CONFIG).
    expect(dcRes.resources[0].configEntries).to.deep.equal([{ configName: 'retention.ms', configValue: '9', readOnly: false, isDefault: false, isSensitive: false, configSource: 1 }]);

    for (const v of [0, 1]) {
      expect((await fromKafkaJs('describeGroups', v, { groupIds: ['g', 'h'] })).body).to.deep.equal({ groups: ['g', 'h'], includeAuthorizedOperations: false });
      const dg = await toKafkaJs('describeGroups', describeGroupsApi, v, {
        throttleTimeMs: 0,
        groups: [{ errorCode: 0, errorMessage: null, groupId: 'g', groupState: 'Stable', protocolType: 'consumer', protocolData: 'range', authorizedOperations: 0, members: [{
          memberId: 'm', groupInstanceId: null, clientId: 'c', clientHost: '/h', memberMetadata: Buffer.from([1]), memberAssignment: Buffer.from([2]),
        }] }],
      });
      expect(dg.groups[0]).to.deep.include({ errorCode: 0, groupId: 'g', state: 'Stable', protocolType: 'consumer', protocol: 'range' });
      expect(dg.groups[0].members).to.deep.equal([{ memberId: 'm', clientId: 'c', clientHost: '/h', memberMetadata: Buffer.from([1]), memberAssignment: Buffer.from([2]) }]);
    }

    expect((await fromKafkaJs('deleteGroups', 0, ['g', 'h'])).body).to.deep.equal({ groupsNames: ['g', 'h'] });
    const dgr = await toKafkaJs('deleteGroups', deleteGroupsApi, 0, { throttleTimeMs: 0, results: [{ groupId: 'g', errorCode: 0 }] });
    expect(dgr.results).to.deep.equal([{ groupId: 'g', errorCode: 0 }]);

    const oc = await fromKafkaJs('offsetCommit', 0, { groupId: 'g', topics: [{ topic: 't', partitions: [{ partition: 1, offset: '42', metadata: 'x' }] }] });
    expect(oc.body).to.deep.equal({
      groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 42, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: 'x' }] }],
    });
    const ocRes = await toKafkaJs('offsetCommit', offsetCommitApi, 0, { throttleTimeMs: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 1, errorCode: 0 }] }] });
    expect(ocRes.responses).to.deep.equal([{ topic: 't', partitions: [{ partition: 1, errorCode: 0 }] }]);
  });

  it('AlterPartitionReassignments v0 and ListPartitionReassignments v0 (flexible): KafkaJS requests parse, our answers decode', async () => {
    const alter = await fromKafkaJs('alterPartitionReassignments', 0, { topics: [{ topic: 't', partitionAssignment: [{ partition: 1, replicas: [2, 3, 4] }] }], timeout: 7000 });
    expect(alter.body).to.deep.equal({ timeoutMs: 7000, allowReplicationFactorChange: true, topics: [{ name: 't', partitions: [{ partitionIndex: 1, replicas: [2, 3, 4] }] }] });
    const alterRes = await toKafkaJs('alterPartitionReassignments', alterPartitionReassignmentsApi, 0, {
      throttleTimeMs: 0, allowReplicationFactorChange: true, errorCode: 0, errorMessage: null,
      responses: [{ name: 't', partitions: [{ partitionIndex: 1, errorCode: 0, errorMessage: null }] }],
    });
    expect(alterRes.responses).to.deep.equal([{ topic: 't', partitions: [{ partition: 1, errorCode: 0 }] }]);
    const listAll = await fromKafkaJs('listPartitionReassignments', 0, { topics: null, timeout: 5000 });
    expect(listAll.body).to.deep.equal({ timeoutMs: 5000, topics: null });
    const list = await fromKafkaJs('listPartitionReassignments', 0, { topics: [{ topic: 't', partitions: [0, 1] }], timeout: 5000 });
    expect(list.body).to.deep.equal({ timeoutMs: 5000, topics: [{ name: 't', partitionIndexes: [0, 1] }] });
    const listRes = await toKafkaJs('listPartitionReassignments', listPartitionReassignmentsApi, 0, {
      throttleTimeMs: 0, errorCode: 0, errorMessage: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 1, replicas: [2, 3, 4, 1], addingReplicas: [3, 4], removingReplicas: [1] }] }],
    });
    expect(listRes.topics).to.deep.equal([{ name: 't', partitions: [{ partition: 1, replicas: [2, 3, 4, 1], addingReplicas: [3, 4], removingReplicas: [1] }] }]);
  });
});
