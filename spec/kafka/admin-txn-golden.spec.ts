// Golden bytes for the newest admin and transaction versions Flotilla gained for issue 17, as the
// Java client 3.9/4.x sends them once advertised (FindCoordinator v6, DescribeConfigs v4,
// InitProducerId v5, AddOffsetsToTxn v4, EndTxn v4, TxnOffsetCommit v4) and the broker-to-broker
// AddPartitionsToTxn v4 batch. No independent encoder of these versions is at hand: the bytes are
// laid out by hand from the fields of Apache Kafka's message JSON. Each case checks both directions.
import { expect } from 'chai';
import { addOffsetsToTxnApi } from '../../lib/kafka/add-offsets-to-txn.js';
import { addPartitionsToTxnApi } from '../../lib/kafka/add-partitions-to-txn.js';
import { encodeRequestFrame, encodeResponseFrame, parseRequest, parseResponse } from '../../lib/kafka/apis.js';
import { describeConfigsApi } from '../../lib/kafka/describe-configs.js';
import { endTxnApi } from '../../lib/kafka/end-txn.js';
import { findCoordinatorApi } from '../../lib/kafka/find-coordinator.js';
import { initProducerIdApi } from '../../lib/kafka/init-producer-id.js';
import { txnOffsetCommitApi } from '../../lib/kafka/txn-offset-commit.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const str = (s: string): string => Buffer.from(s).toString('hex');
const s16 = (s: string): string => `${Buffer.from([s.length >> 8, s.length & 0xff]).toString('hex')}${str(s)}`;
/** compact string: uvarint(length + 1) + bytes (short strings only). */
const cs = (s: string): string => `${(s.length + 1).toString(16).padStart(2, '0')}${str(s)}`;
const framed = (body: Buffer): Buffer => {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
};
const JAVA = `${s16('java')} 00`; // header v2: client id, empty tagged section

function request(bytes: Buffer): unknown {
  const parsed = parseRequest(bytes);
  if (parsed.kind !== 'request') throw new Error('expected a request');
  expect(parsed.trailingBytes).to.equal(0);
  return parsed.body;
}

describe('kafka golden bytes: newest admin and transaction versions', () => {
  it('FindCoordinator v6: batched keys, one answer per key', () => {
    const body = { key: '', keyType: 1, coordinatorKeys: ['tx-a', 'tx-b'] };
    const bytes = hex(`000a 0006 00000001 ${JAVA} | 01 03 ${cs('tx-a')} ${cs('tx-b')} 00`);
    expect(encodeRequestFrame(findCoordinatorApi, 6, 1, 'java', body)).to.deep.equal(framed(bytes));
    expect(request(bytes)).to.deep.equal(body);
    const res = {
      throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: 0, host: '', port: 0,
      coordinators: [{ key: 'tx-a', nodeId: 2, host: 'h', port: 9092, errorCode: 0, errorMessage: null }],
    };
    const rbytes = hex(`00000001 00 | 00000000 02 ${cs('tx-a')} 00000002 ${cs('h')} 00002384 0000 00 00 | 00`);
    expect(encodeResponseFrame(findCoordinatorApi, 6, 1, res)).to.deep.equal(framed(rbytes));
    expect(parseResponse(findCoordinatorApi, 6, rbytes).body).to.deep.equal(res);
  });

  it('DescribeConfigs v4 (flexible): includeDocumentation; configType and documentation per entry', () => {
    const body = { resources: [{ resourceType: 2, resourceName: 't', configurationKeys: null }], includeSynonyms: false, includeDocumentation: true };
    const bytes = hex(`0020 0004 00000001 ${JAVA} | 02 02 ${cs('t')} 00 00 | 00 01 00`);
    expect(encodeRequestFrame(describeConfigsApi, 4, 1, 'java', body)).to.deep.equal(framed(bytes));
    expect(request(bytes)).to.deep.equal(body);
    const res = {
      throttleTimeMs: 0,
      results: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't', configs: [{
        name: 'retention.ms', value: '1', readOnly: false, isDefault: false, configSource: 1, isSensitive: false, synonyms: [], configType: 5, documentation: 'd',
      }] }],
    };
    const rbytes = hex(`00000001 00 | 00000000 02 0000 00 02 ${cs('t')} 02 ${cs('retention.ms')} ${cs('1')} 00 01 00 01 05 ${cs('d')} 00 00 00`);
    expect(encodeResponseFrame(describeConfigsApi, 4, 1, res)).to.deep.equal(framed(rbytes));
    expect(parseResponse(describeConfigsApi, 4, rbytes).body).to.deep.equal(res);
  });

  it('InitProducerId v5, AddOffsetsToTxn v4, EndTxn v4, TxnOffsetCommit v4 (flexible)', () => {
    const init = { transactionalId: 'tx', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 };
    const ibytes = hex(`0016 0005 00000001 ${JAVA} | ${cs('tx')} 0000ea60 ffffffffffffffff ffff 00`);
    expect(encodeRequestFrame(initProducerIdApi, 5, 1, 'java', init)).to.deep.equal(framed(ibytes));
    expect(request(ibytes)).to.deep.equal(init);
    const addOffsets = { transactionalId: 'tx', producerId: 7, producerEpoch: 1, groupId: 'g' };
    const abytes = hex(`0019 0004 00000001 ${JAVA} | ${cs('tx')} 0000000000000007 0001 ${cs('g')} 00`);
    expect(request(abytes)).to.deep.equal(addOffsets);
    const end = { transactionalId: 'tx', producerId: 7, producerEpoch: 1, committed: true };
    const ebytes = hex(`001a 0004 00000001 ${JAVA} | ${cs('tx')} 0000000000000007 0001 01 00`);
    expect(encodeRequestFrame(endTxnApi, 4, 1, 'java', end)).to.deep.equal(framed(ebytes));
    expect(request(ebytes)).to.deep.equal(end);
    expect(encodeResponseFrame(endTxnApi, 4, 1, { throttleTimeMs: 0, errorCode: 0 })).to.deep.equal(framed(hex('00000001 00 | 00000000 0000 00')));
    expect(encodeResponseFrame(addOffsetsToTxnApi, 4, 1, { throttleTimeMs: 0, errorCode: 90 })).to.deep.equal(framed(hex('00000001 00 | 00000000 005a 00')));
    const commit = {
      transactionalId: 'tx', groupId: 'g', producerId: 7, producerEpoch: 1, generationId: 2, memberId: 'm', groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 9, committedLeaderEpoch: -1, committedMetadata: null }] }],
    };
    const cbytes = hex(`001c 0004 00000001 ${JAVA} | ${cs('tx')} ${cs('g')} 0000000000000007 0001 00000002 ${cs('m')} 00
      02 ${cs('t')} 02 00000000 0000000000000009 ffffffff 00 00 00 00`);
    expect(encodeRequestFrame(txnOffsetCommitApi, 4, 1, 'java', commit)).to.deep.equal(framed(cbytes));
    expect(request(cbytes)).to.deep.equal(commit);
  });

  it('AddPartitionsToTxn v4: a batch of transactions with verifyOnly; results by transaction', () => {
    const body = {
      transactions: [{ transactionalId: 'tx', producerId: 7, producerEpoch: 1, verifyOnly: true, topics: [{ name: 't', partitions: [0, 1] }] }],
      transactionalId: '', producerId: 0, producerEpoch: 0, topics: [],
    };
    const bytes = hex(`0018 0004 00000001 ${JAVA} | 02 ${cs('tx')} 0000000000000007 0001 01 02 ${cs('t')} 03 00000000 00000001 00 00 00`);
    expect(encodeRequestFrame(addPartitionsToTxnApi, 4, 1, 'java', body)).to.deep.equal(framed(bytes));
    expect(request(bytes)).to.deep.equal(body);
    const res = {
      throttleTimeMs: 0, errorCode: 0, results: [],
      resultsByTransaction: [{ transactionalId: 'tx', topicResults: [{ name: 't', results: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 1, errorCode: 48 }] }] }],
    };
    const rbytes = hex(`00000001 00 | 00000000 0000 02 ${cs('tx')} 02 ${cs('t')} 03 00000000 0000 00 00000001 0030 00 00 00 00`);
    expect(encodeResponseFrame(addPartitionsToTxnApi, 4, 1, res)).to.deep.equal(framed(rbytes));
    expect(parseResponse(addPartitionsToTxnApi, 4, rbytes).body).to.deep.equal(res);
  });
});
