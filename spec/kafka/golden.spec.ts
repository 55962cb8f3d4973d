// Golden bytes, built by hand from the field lists of Apache Kafka's message JSON, for one
// classic and one flexible version of ApiVersions and Metadata, for Produce (classic v3-v7 and
// flexible v9-v11), Fetch v12-v17 and ListOffsets v0 and v10.
// Each case checks both directions: our encoder writes exactly these bytes, our decoder reads them.
import { expect } from 'chai';
import { apiVersionsApi } from '../../lib/kafka/api-versions.js';
import { encodeRequestFrame, encodeResponseFrame, parseRequest, parseResponse } from '../../lib/kafka/apis.js';
import { fetchApi } from '../../lib/kafka/fetch.js';
import { listOffsetsApi } from '../../lib/kafka/list-offsets.js';
import { metadataApi } from '../../lib/kafka/metadata.js';
import { ZERO_UUID } from '../../lib/kafka/primitives.js';
import { produceApi } from '../../lib/kafka/produce.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const str = (s: string): string => Buffer.from(s).toString('hex');
/** Prefixes a frame body with its int32 size. */
const framed = (body: Buffer): Buffer => {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
};

describe('kafka golden bytes', () => {
  describe('ApiVersions', () => {
    it('v2 request as KafkaJS 2.2.4 sends it: header v1, clientId "kafkajs", empty body', () => {
      const bytes = hex(`0012 0002 00000000 0007 ${str('kafkajs')}`);
      expect(encodeRequestFrame(apiVersionsApi, 2, 0, 'kafkajs', { clientSoftwareName: '', clientSoftwareVersion: '' }))
        .to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      expect(parsed.kind).to.equal('request');
    });

    it('v3 request as kcat 1.7.1 sends it: header v2, compact strings, tagged sections', () => {
      const bytes = hex(`0012 0003 00000001 0007 ${str('rdkafka')} 00 | 0b ${str('librdkafka')} 06 ${str('2.0.2')} 00`);
      const body = { clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.0.2' };
      expect(encodeRequestFrame(apiVersionsApi, 3, 1, 'rdkafka', body)).to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.header.clientId).to.equal('rdkafka');
      expect(parsed.body).to.deep.equal(body);
    });

    const response = {
      errorCode: 0,
      apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 7 }, { apiKey: 18, minVersion: 0, maxVersion: 3 }],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1,
      finalizedFeatures: [],
      zkMigrationReady: false,
    };

    it('v2 response: header v0, int32 array', () => {
      const bytes = hex('00000000 | 0000 00000002 0000 0003 0007 0012 0000 0003 | 00000000');
      expect(encodeResponseFrame(apiVersionsApi, 2, 0, response)).to.deep.equal(framed(bytes));
      expect(parseResponse(apiVersionsApi, 2, bytes).body).to.deep.equal(response);
    });

    it('v3 response: header still v0 (KIP-511), compact array, per-entry and top-level tagged sections', () => {
      const bytes = hex('00000001 | 0000 03 0000 0003 0007 00 0012 0000 0003 00 | 00000000 00');
      expect(encodeResponseFrame(apiVersionsApi, 3, 1, response)).to.deep.equal(framed(bytes));
      expect(parseResponse(apiVersionsApi, 3, bytes).body).to.deep.equal(response);
    });

    it('v3 response with a tagged field set (finalizedFeaturesEpoch = 5, tag 1)', () => {
      const withEpoch = { ...response, apiKeys: [], finalizedFeaturesEpoch: 5 };
      const bytes = hex('00000001 | 0000 01 | 00000000 | 01 01 08 0000000000000005');
      expect(encodeResponseFrame(apiVersionsApi, 3, 1, withEpoch)).to.deep.equal(framed(bytes));
      expect(parseResponse(apiVersionsApi, 3, bytes).body).to.deep.equal(withEpoch);
    });

    it('v3 response with an unknown tag: skipped', () => {
      const bytes = hex('00000001 | 0000 01 | 00000000 | 01 1f 02 abcd');
      expect(parseResponse(apiVersionsApi, 3, bytes).body).to.deep.equal({ ...response, apiKeys: [] });
    });
  });

  describe('Metadata', () => {
    it('v6 request as KafkaJS sends "all topics": null array, allowAutoTopicCreation', () => {
      const bytes = hex(`0003 0006 00000002 0007 ${str('kafkajs')} | ffffffff 01`);
      const body = { topics: null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
      expect(encodeRequestFrame(metadataApi, 6, 2, 'kafkajs', body)).to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.body).to.deep.equal(body);
    });

    it('v9 request: compact array of one topic, each struct with its tagged section', () => {
      const bytes = hex(`0003 0009 00000003 ffff 00 | 02 02 ${str('a')} 00 | 00 00 01 | 00`);
      const body = { topics: [{ topicId: ZERO_UUID, name: 'a' }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: true };
      expect(encodeRequestFrame(metadataApi, 9, 3, null, body)).to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.body).to.deep.equal(body);
    });

    const response = {
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null }],
      clusterId: 'c',
      controllerId: 1,
      topics: [{
        errorCode: 0, name: 't', topicId: ZERO_UUID, isInternal: false,
        partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 4, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }],
        topicAuthorizedOperations: -(2 ** 31),
      }],
      clusterAuthorizedOperations: -(2 ** 31), errorCode: 0,
    };

    it('v6 response: header v0; no leaderEpoch (v7+) or authorized operations (v8+)', () => {
      const bytes = hex(`00000002 | 00000000 | 00000001 00000001 0001 ${str('h')} 00002384 ffff | 0001 ${str('c')} | 00000001 |
        00000001 0000 0001 ${str('t')} 00 | 00000001 0000 00000000 00000001 | 00000001 00000001 | 00000001 00000001 | 00000000`);
      expect(encodeResponseFrame(metadataApi, 6, 2, response)).to.deep.equal(framed(bytes));
      expect(parseResponse(metadataApi, 6, bytes).body).to.deep.equal({ ...response, topics: [{ ...response.topics[0], partitions: [{ ...response.topics[0]?.partitions[0], leaderEpoch: -1 }] }] });
    });

    it('v9 response: header v1, compact encodings, tagged sections', () => {
      const bytes = hex(`00000003 00 | 00000000 | 02 00000001 02 ${str('h')} 00002384 00 00 | 02 ${str('c')} | 00000001 |
        02 0000 02 ${str('t')} 00 | 02 0000 00000000 00000001 00000004 02 00000001 02 00000001 01 00 | 80000000 00 | 80000000 00`);
      expect(encodeResponseFrame(metadataApi, 9, 3, response)).to.deep.equal(framed(bytes));
      expect(parseResponse(metadataApi, 9, bytes).body).to.deep.equal(response);
    });
  });

  describe('Produce', () => {
    const records = hex('0102030405');
    const request = { transactionalId: null, acks: -1, timeoutMs: 30000, topics: [{ name: 't', partitions: [{ partitionIndex: 0, records }] }] };

    it('v3 request: null transactionalId, record set kept as raw bytes', () => {
      const bytes = hex(`0000 0003 00000004 0007 ${str('kafkajs')} | ffff ffff 00007530 | 00000001 0001 ${str('t')} 00000001 00000000 00000005 0102030405`);
      expect(encodeRequestFrame(produceApi, 3, 4, 'kafkajs', request)).to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.body).to.deep.equal(request);
    });

    it('v7 request with a transactionalId', () => {
      const body = { ...request, transactionalId: 'tx' };
      const bytes = hex(`0000 0007 00000005 ffff | 0002 ${str('tx')} ffff 00007530 | 00000001 0001 ${str('t')} 00000001 00000000 00000005 0102030405`);
      expect(encodeRequestFrame(produceApi, 7, 5, null, body)).to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.body).to.deep.equal(body);
    });

    it('v7 response: baseOffset, logAppendTimeMs, logStartOffset, throttleTimeMs', () => {
      const body = {
        responses: [{ name: 't', partitions: [{
          partitionIndex: 0, errorCode: 0, baseOffset: 42, logAppendTimeMs: -1, logStartOffset: 0, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 },
        }] }],
        throttleTimeMs: 0,
        nodeEndpoints: [],
      };
      const bytes = hex(`00000005 | 00000001 0001 ${str('t')} 00000001 00000000 0000 000000000000002a ffffffffffffffff 0000000000000000 | 00000000`);
      expect(encodeResponseFrame(produceApi, 7, 5, body)).to.deep.equal(framed(bytes));
      expect(parseResponse(produceApi, 7, bytes).body).to.deep.equal(body);
    });
  });

  describe('Produce v8-v11', () => {
    const NO_LEADER = { leaderId: -1, leaderEpoch: -1 };

    it('v8 response: recordErrors (int32 count, batchIndex, nullable message) and errorMessage', () => {
      const body = {
        responses: [{ name: 't', partitions: [{
          partitionIndex: 0, errorCode: 87, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1,
          recordErrors: [{ batchIndex: 1, batchIndexErrorMessage: null }], errorMessage: 'bad', currentLeader: NO_LEADER,
        }] }],
        throttleTimeMs: 0,
        nodeEndpoints: [],
      };
      const bytes = hex(`00000005 | 00000001 0001 ${str('t')} 00000001 00000000 0057 ffffffffffffffff ffffffffffffffff ffffffffffffffff
        00000001 00000001 ffff | 0003 ${str('bad')} | 00000000`);
      expect(encodeResponseFrame(produceApi, 8, 5, body)).to.deep.equal(framed(bytes));
      expect(parseResponse(produceApi, 8, bytes).body).to.deep.equal(body);
    });

    it('v9 request: header v2, compact strings, arrays and record bytes, a tagged section per struct', () => {
      const body = { transactionalId: null, acks: -1, timeoutMs: 30000, topics: [{ name: 't', partitions: [{ partitionIndex: 0, records: hex('0102030405') }] }] };
      const bytes = hex(`0000 0009 00000005 ffff 00 | 00 ffff 00007530 | 02 02 ${str('t')} 02 00000000 06 0102030405 00 00 | 00`);
      expect(encodeRequestFrame(produceApi, 9, 5, null, body)).to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.body).to.deep.equal(body);
    });

    it('v10 response: NOT_LEADER_OR_FOLLOWER with the tagged currentLeader (0) and the top-level tagged nodeEndpoints (0)', () => {
      const body = {
        responses: [{ name: 't', partitions: [{
          partitionIndex: 0, errorCode: 6, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1,
          recordErrors: [], errorMessage: 'no', currentLeader: { leaderId: 2, leaderEpoch: 5 },
        }] }],
        throttleTimeMs: 0,
        nodeEndpoints: [{ nodeId: 2, host: 'h', port: 9093, rack: null }],
      };
      const bytes = hex(`00000005 00 | 02 02 ${str('t')} 02 00000000 0006 ffffffffffffffff ffffffffffffffff ffffffffffffffff
        01 03 ${str('no')} | 01 00 09 00000002 00000005 00 | 00 | 00000000 | 01 00 0d 02 00000002 02 ${str('h')} 00002385 00 00`);
      expect(encodeResponseFrame(produceApi, 10, 5, body)).to.deep.equal(framed(bytes));
      expect(parseResponse(produceApi, 10, bytes).body).to.deep.equal(body);
      // v9 has neither tagged field: the same body without them.
      const v9 = hex(`00000005 00 | 02 02 ${str('t')} 02 00000000 0006 ffffffffffffffff ffffffffffffffff ffffffffffffffff
        01 03 ${str('no')} 00 | 00 | 00000000 00`);
      expect(encodeResponseFrame(produceApi, 9, 5, body)).to.deep.equal(framed(v9));
    });
  });

  describe('Metadata v12, ListOffsets v10, Fetch v13-v17 (topic ids)', () => {
    const ID = '0123456789abcdef0123456789abcdef'.replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5');
    const idHex = ID.replace(/-/g, '');

    it('Metadata v12 request by id (null name; no includeClusterAuthorizedOperations since v11)', () => {
      const body = { topics: [{ topicId: ID, name: null }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
      const bytes = hex(`0003 000c 00000003 ffff 00 | 02 ${idHex} 00 00 | 01 00 | 00`);
      expect(encodeRequestFrame(metadataApi, 12, 3, null, body)).to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.body).to.deep.equal(body);
    });

    it('Metadata v12 response: an unknown id, null name, no clusterAuthorizedOperations', () => {
      const body = {
        throttleTimeMs: 0, brokers: [], clusterId: 'c', controllerId: 1,
        topics: [{ errorCode: 100, name: null, topicId: ID, isInternal: false, partitions: [], topicAuthorizedOperations: -(2 ** 31) }],
        clusterAuthorizedOperations: -(2 ** 31), errorCode: 0,
      };
      const bytes = hex(`00000003 00 | 00000000 01 02 ${str('c')} 00000001 | 02 0064 00 ${idHex} 00 01 80000000 00 | 00`);
      expect(encodeResponseFrame(metadataApi, 12, 3, body)).to.deep.equal(framed(bytes));
      expect(parseResponse(metadataApi, 12, bytes).body).to.deep.equal(body);
    });

    it('ListOffsets v10 request: flexible, MAX_TIMESTAMP (-3), timeoutMs at the end', () => {
      const body = {
        replicaId: -1, isolationLevel: 0, timeoutMs: 1000,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: 4, timestamp: -3, maxNumOffsets: 1 }] }],
      };
      const bytes = hex(`0002 000a 00000004 ffff 00 | ffffffff 00 02 02 ${str('t')} 02 00000000 00000004 fffffffffffffffd 00 00 | 000003e8 00`);
      expect(encodeRequestFrame(listOffsetsApi, 10, 4, null, body)).to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.body).to.deep.equal(body);
    });

    it('Fetch v17 request: topicId, tagged replicaState (1) and replicaDirectoryId (0); no replicaId, no topic name', () => {
      const dir = ID.replace('0123', 'aaaa');
      const body = {
        clusterId: null, replicaId: -1, replicaState: { replicaId: 3, replicaEpoch: 9 }, maxWaitMs: 500, minBytes: 1, maxBytes: 1024, isolationLevel: 0,
        sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: '', topicId: ID, partitions: [{
          partition: 0, currentLeaderEpoch: -1, fetchOffset: 7, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 512, replicaDirectoryId: dir,
        }] }],
        forgottenTopicsData: [{ topic: '', topicId: ID, partitions: [1] }], rackId: '',
      };
      const bytes = hex(`0001 0011 00000006 ffff 00 | 000001f4 00000001 00000400 00 00000000 ffffffff |
        02 ${idHex} 02 00000000 ffffffff 0000000000000007 ffffffff ffffffffffffffff 00000200 01 00 10 ${dir.replace(/-/g, '')} 00 |
        02 ${idHex} 02 00000001 00 | 01 | 01 01 0d 00000003 0000000000000009 00`);
      expect(encodeRequestFrame(fetchApi, 17, 6, null, body)).to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.body).to.deep.equal(body);
    });

    it('Fetch v16 response: topicId instead of the name, tagged nodeEndpoints (0)', () => {
      const body = {
        throttleTimeMs: 0, errorCode: 0, sessionId: 0,
        responses: [{ topic: '', topicId: ID, partitions: [{
          partitionIndex: 0, errorCode: 6, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
          divergingEpoch: { epoch: -1, endOffset: -1 }, currentLeader: { leaderId: 2, leaderEpoch: 5 }, snapshotId: { endOffset: -1, epoch: -1 },
          abortedTransactions: null, preferredReadReplica: -1, records: Buffer.alloc(0),
        }] }],
        nodeEndpoints: [{ nodeId: 2, host: 'h', port: 9093, rack: 'r' }],
      };
      const bytes = hex(`00000006 00 | 00000000 0000 00000000 | 02 ${idHex} 02 00000000 0006
        ffffffffffffffff ffffffffffffffff ffffffffffffffff 00 ffffffff 01 | 01 01 09 00000002 00000005 00 | 00 |
        01 00 0e 02 00000002 02 ${str('h')} 00002385 02 ${str('r')} 00`);
      expect(encodeResponseFrame(fetchApi, 16, 6, body)).to.deep.equal(framed(bytes));
      expect(parseResponse(fetchApi, 16, bytes).body).to.deep.equal(body);
    });
  });

  describe('Fetch v12 (flexible, as platformatic sends it)', () => {
    const request = {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 500, minBytes: 1, maxBytes: 0xa00000, isolationLevel: 1,
      sessionId: 0, sessionEpoch: 0,
      topics: [{ topic: 't', topicId: ZERO_UUID, partitions: [{
        partition: 0, currentLeaderEpoch: 3, fetchOffset: 7, lastFetchedEpoch: 3, logStartOffset: -1, partitionMaxBytes: 0x100000, replicaDirectoryId: ZERO_UUID,
      }] }],
      forgottenTopicsData: [], rackId: '',
    };
    const requestBody = `ffffffff 000001f4 00000001 00a00000 01 00000000 00000000 |
      02 02 ${str('t')} 02 00000000 00000003 0000000000000007 00000003 ffffffffffffffff 00100000 00 00 | 01 01`;

    it('request: header v2, compact arrays, no tagged field when clusterId is null', () => {
      const bytes = hex(`0001 000c 00000006 0002 ${str('pk')} 00 | ${requestBody} 00`);
      expect(encodeRequestFrame(fetchApi, 12, 6, 'pk', request)).to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.body).to.deep.equal(request);
    });

    it('request with the tagged clusterId (tag 0)', () => {
      const bytes = hex(`0001 000c 00000006 0002 ${str('pk')} 00 | ${requestBody} 01 00 02 02 ${str('c')}`);
      expect(encodeRequestFrame(fetchApi, 12, 6, 'pk', { ...request, clusterId: 'c' })).to.deep.equal(framed(bytes));
      const parsed = parseRequest(bytes);
      if (parsed.kind !== 'request') throw new Error('expected a request');
      expect(parsed.body).to.deep.equal({ ...request, clusterId: 'c' });
    });

    it('response: header v1; the tagged currentLeader (tag 1) is a struct with its own tagged section', () => {
      const response = {
        throttleTimeMs: 0, errorCode: 0, sessionId: 0,
        responses: [{ topic: 't', topicId: ZERO_UUID, partitions: [{
          partitionIndex: 0, errorCode: 0, highWatermark: 8, lastStableOffset: 8, logStartOffset: 0,
          divergingEpoch: { epoch: -1, endOffset: -1 }, currentLeader: { leaderId: 1, leaderEpoch: 3 }, snapshotId: { endOffset: -1, epoch: -1 },
          abortedTransactions: null, preferredReadReplica: -1, records: hex('abcd'),
        }] }],
        nodeEndpoints: [],
      };
      const bytes = hex(`00000006 00 | 00000000 0000 00000000 | 02 02 ${str('t')} 02 00000000 0000
        0000000000000008 0000000000000008 0000000000000000 00 ffffffff 03 abcd | 01 01 09 00000001 00000003 00 | 00 | 00`);
      expect(encodeResponseFrame(fetchApi, 12, 6, response)).to.deep.equal(framed(bytes));
      expect(parseResponse(fetchApi, 12, bytes).body).to.deep.equal(response);
    });
  });
});
