// Golden bytes for the group APIs, built by hand from the field lists of Apache Kafka's message
// JSON, at the versions the clients send: KafkaJS 2.2.4 (JoinGroup v5, SyncGroup/Heartbeat/
// LeaveGroup v3, OffsetCommit v5, OffsetFetch v4) and librdkafka 2.0.2 (OffsetFetch v7 flexible,
// ListGroups v4 flexible, LeaveGroup v1). Each case checks both directions.
import { expect } from 'chai';
import { encodeRequestFrame, encodeResponseFrame, parseRequest, parseResponse } from '../../lib/kafka/apis.js';
import { deleteGroupsApi } from '../../lib/kafka/delete-groups.js';
import { heartbeatApi } from '../../lib/kafka/heartbeat.js';
import { joinGroupApi } from '../../lib/kafka/join-group.js';
import { leaveGroupApi } from '../../lib/kafka/leave-group.js';
import { listGroupsApi } from '../../lib/kafka/list-groups.js';
import { offsetCommitApi } from '../../lib/kafka/offset-commit.js';
import { offsetFetchApi } from '../../lib/kafka/offset-fetch.js';
import { syncGroupApi } from '../../lib/kafka/sync-group.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');
const str = (s: string): string => Buffer.from(s).toString('hex');
/** int16 length + bytes. */
const s16 = (s: string): string => `${Buffer.from([s.length >> 8, s.length & 0xff]).toString('hex')}${str(s)}`;
/** compact string: uvarint(length + 1) + bytes (short strings only). */
const cs = (s: string): string => `${(s.length + 1).toString(16).padStart(2, '0')}${str(s)}`;
const framed = (body: Buffer): Buffer => {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
};

function request(bytes: Buffer): unknown {
  const parsed = parseRequest(bytes);
  if (parsed.kind !== 'request') throw new Error('expected a request');
  return parsed.body;
}

describe('kafka golden bytes: group APIs', () => {
  it('JoinGroup v5 request (KafkaJS): header v1, classic strings, nullable groupInstanceId, protocols', () => {
    const body = {
      groupId: 'g', sessionTimeoutMs: 30000, rebalanceTimeoutMs: 60000, memberId: '', groupInstanceId: null,
      protocolType: 'consumer', protocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([1, 2]) }], reason: null,
    };
    const bytes = hex(`000b 0005 00000007 ${s16('kafkajs')} | ${s16('g')} 00007530 0000ea60 0000 ffff ${s16('consumer')}
      00000001 ${s16('RoundRobinAssigner')} 00000002 0102`);
    expect(encodeRequestFrame(joinGroupApi, 5, 7, 'kafkajs', body)).to.deep.equal(framed(bytes));
    expect(request(bytes)).to.deep.equal(body);
  });

  it('JoinGroup v5 response: MEMBER_ID_REQUIRED with the generated member id', () => {
    const body = {
      throttleTimeMs: 0, errorCode: 79, generationId: -1, protocolType: null, protocolName: '', leader: '', skipAssignment: false, memberId: 'm-1', members: [],
    };
    const bytes = hex(`00000007 | 00000000 004f ffffffff 0000 0000 ${s16('m-1')} 00000000`);
    expect(encodeResponseFrame(joinGroupApi, 5, 7, body)).to.deep.equal(framed(bytes));
    expect(parseResponse(joinGroupApi, 5, bytes).body).to.deep.equal(body);
  });

  it('JoinGroup v6 response (flexible): header v1, compact strings and arrays, tagged sections', () => {
    const body = {
      throttleTimeMs: 0, errorCode: 0, generationId: 1, protocolType: null, protocolName: 'range', leader: 'a', skipAssignment: false, memberId: 'a',
      members: [{ memberId: 'a', groupInstanceId: 'i', metadata: Buffer.from([9]) }],
    };
    const bytes = hex(`00000002 00 | 00000000 0000 00000001 ${cs('range')} ${cs('a')} ${cs('a')} 02 ${cs('a')} ${cs('i')} 02 09 00 | 00`);
    expect(encodeResponseFrame(joinGroupApi, 6, 2, body)).to.deep.equal(framed(bytes));
    expect(parseResponse(joinGroupApi, 6, bytes).body).to.deep.equal(body);
  });

  it('SyncGroup v3 request and response', () => {
    const body = {
      groupId: 'g', generationId: 3, memberId: 'm', groupInstanceId: null, protocolType: null, protocolName: null,
      assignments: [{ memberId: 'm', assignment: Buffer.from([7]) }],
    };
    const bytes = hex(`000e 0003 00000001 ${s16('kafkajs')} | ${s16('g')} 00000003 ${s16('m')} ffff 00000001 ${s16('m')} 00000001 07`);
    expect(encodeRequestFrame(syncGroupApi, 3, 1, 'kafkajs', body)).to.deep.equal(framed(bytes));
    expect(request(bytes)).to.deep.equal(body);
    const res = { throttleTimeMs: 0, errorCode: 0, protocolType: null, protocolName: null, assignment: Buffer.from([7]) };
    const rbytes = hex('00000001 | 00000000 0000 00000001 07');
    expect(encodeResponseFrame(syncGroupApi, 3, 1, res)).to.deep.equal(framed(rbytes));
  });

  it('Heartbeat v3 response: REBALANCE_IN_PROGRESS', () => {
    const bytes = hex('00000004 | 00000000 001b');
    expect(parseResponse(heartbeatApi, 3, bytes).body).to.deep.equal({ throttleTimeMs: 0, errorCode: 27 });
  });

  it('LeaveGroup v1 (librdkafka) has one memberId; v3 (KafkaJS) a batch of members', () => {
    const v1 = hex(`000d 0001 00000005 ${s16('rdkafka')} | ${s16('g')} ${s16('m')}`);
    expect(request(v1)).to.deep.equal({ groupId: 'g', memberId: 'm', members: [] });
    const body = { groupId: 'g', memberId: '', members: [{ memberId: 'm', groupInstanceId: 's', reason: null }] };
    const v3 = hex(`000d 0003 00000005 ${s16('kafkajs')} | ${s16('g')} 00000001 ${s16('m')} ${s16('s')}`);
    expect(encodeRequestFrame(leaveGroupApi, 3, 5, 'kafkajs', body)).to.deep.equal(framed(v3));
    expect(request(v3)).to.deep.equal(body);
  });

  it('OffsetCommit v5 request (KafkaJS): no retention time, no leader epoch', () => {
    const body = {
      groupId: 'g', generationId: 2, memberId: 'm', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }],
    };
    const bytes = hex(`0008 0005 00000009 ${s16('kafkajs')} | ${s16('g')} 00000002 ${s16('m')}
      00000001 ${s16('t')} 00000001 00000000 000000000000002a ffff`);
    expect(encodeRequestFrame(offsetCommitApi, 5, 9, 'kafkajs', body)).to.deep.equal(framed(bytes));
    expect(request(bytes)).to.deep.equal(body);
  });

  it('OffsetFetch v4 response: -1 for a partition never committed, top-level errorCode', () => {
    const body = {
      throttleTimeMs: 0, errorCode: 0, groups: [],
      topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: 0 }] }],
    };
    const bytes = hex(`00000003 | 00000000 00000001 ${s16('t')} 00000001 00000001 ffffffffffffffff 0000 0000 | 0000`);
    expect(encodeResponseFrame(offsetFetchApi, 4, 3, body)).to.deep.equal(framed(bytes));
    expect(parseResponse(offsetFetchApi, 4, bytes).body).to.deep.equal(body);
  });

  it('OffsetFetch v7 request (librdkafka, flexible): requireStable, compact topics', () => {
    const body = { groupId: 'g', topics: [{ name: 't', partitionIndexes: [0, 1] }], groups: [], requireStable: true };
    const bytes = hex(`0009 0007 00000002 ${s16('rdkafka')} 00 | ${cs('g')} 02 ${cs('t')} 03 00000000 00000001 00 01 00`);
    expect(encodeRequestFrame(offsetFetchApi, 7, 2, 'rdkafka', body)).to.deep.equal(framed(bytes));
    expect(request(bytes)).to.deep.equal(body);
  });

  it('ListGroups v4 (librdkafka, flexible) with a states filter; DeleteGroups v1', () => {
    const bytes = hex(`0010 0004 00000001 ${s16('rdkafka')} 00 | 02 ${cs('Stable')} 00`);
    expect(request(bytes)).to.deep.equal({ statesFilter: ['Stable'], typesFilter: [] });
    const res = { throttleTimeMs: 0, errorCode: 0, groups: [{ groupId: 'g', protocolType: 'consumer', groupState: 'Stable', groupType: '' }] };
    const rbytes = hex(`00000001 00 | 00000000 0000 02 ${cs('g')} ${cs('consumer')} ${cs('Stable')} 00 00`);
    expect(encodeResponseFrame(listGroupsApi, 4, 1, res)).to.deep.equal(framed(rbytes));
    const del = hex(`002a 0001 00000001 ${s16('kafkajs')} | 00000001 ${s16('g')}`);
    expect(request(del)).to.deep.equal({ groupsNames: ['g'] });
    expect(deleteGroupsApi.maxVersion).to.equal(2);
  });
  // The newest versions, as the Java client 3.9/4.x sends them once advertised. No independent
  // encoder of them is at hand: the bytes are laid out by hand from the message JSON.
  it('JoinGroup v8 request (reason) and v9 response (protocolType, skipAssignment), flexible', () => {
    const body = {
      groupId: 'g', sessionTimeoutMs: 45000, rebalanceTimeoutMs: 300000, memberId: 'm', groupInstanceId: null,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from([1]) }], reason: 'rebalance failed due to x',
    };
    const bytes = hex(`000b 0008 00000004 ${s16('java')} 00 | ${cs('g')} 0000afc8 000493e0 ${cs('m')} 00 ${cs('consumer')}
      02 ${cs('range')} 02 01 00 ${cs('rebalance failed due to x')} 00`);
    expect(encodeRequestFrame(joinGroupApi, 8, 4, 'java', body)).to.deep.equal(framed(bytes));
    expect(request(bytes)).to.deep.equal(body);
    const res = {
      throttleTimeMs: 0, errorCode: 0, generationId: 3, protocolType: 'consumer', protocolName: 'range', leader: 'm', skipAssignment: true, memberId: 'm',
      members: [{ memberId: 'm', groupInstanceId: 'i', metadata: Buffer.from([1]) }],
    };
    const rbytes = hex(`00000004 00 | 00000000 0000 00000003 ${cs('consumer')} ${cs('range')} ${cs('m')} 01 ${cs('m')} 02 ${cs('m')} ${cs('i')} 02 01 00 | 00`);
    expect(encodeResponseFrame(joinGroupApi, 9, 4, res)).to.deep.equal(framed(rbytes));
    expect(parseResponse(joinGroupApi, 9, rbytes).body).to.deep.equal(res);
    // v7+ errors carry null protocol names (compact length 0).
    const err = { ...res, errorCode: 25, generationId: -1, protocolType: null, protocolName: null, leader: '', skipAssignment: false, members: [] };
    const ebytes = hex(`00000004 00 | 00000000 0019 ffffffff 00 00 01 ${cs('m')} 01 | 00`); // no skipAssignment before v9
    expect(encodeResponseFrame(joinGroupApi, 7, 4, err)).to.deep.equal(framed(ebytes));
    expect(parseResponse(joinGroupApi, 7, ebytes).body).to.deep.equal(err);
  });

  it('SyncGroup v5 and LeaveGroup v5, flexible: protocol type and name, member reasons', () => {
    const sync = {
      groupId: 'g', generationId: 3, memberId: 'm', groupInstanceId: null, protocolType: 'consumer', protocolName: 'range',
      assignments: [{ memberId: 'm', assignment: Buffer.from([7]) }],
    };
    const sbytes = hex(`000e 0005 00000001 ${s16('java')} 00 | ${cs('g')} 00000003 ${cs('m')} 00 ${cs('consumer')} ${cs('range')} 02 ${cs('m')} 02 07 00 00`);
    expect(encodeRequestFrame(syncGroupApi, 5, 1, 'java', sync)).to.deep.equal(framed(sbytes));
    expect(request(sbytes)).to.deep.equal(sync);
    const sres = { throttleTimeMs: 0, errorCode: 0, protocolType: 'consumer', protocolName: 'range', assignment: Buffer.from([7]) };
    expect(encodeResponseFrame(syncGroupApi, 5, 1, sres)).to.deep.equal(framed(hex(`00000001 00 | 00000000 0000 ${cs('consumer')} ${cs('range')} 02 07 00`)));
    const leave = { groupId: 'g', memberId: '', members: [{ memberId: 'm', groupInstanceId: null, reason: 'the consumer is being closed' }] };
    const lbytes = hex(`000d 0005 00000001 ${s16('java')} 00 | ${cs('g')} 02 ${cs('m')} 00 ${cs('the consumer is being closed')} 00 00`);
    expect(encodeRequestFrame(leaveGroupApi, 5, 1, 'java', leave)).to.deep.equal(framed(lbytes));
    expect(request(lbytes)).to.deep.equal(leave);
  });

  it('ListGroups v5 (typesFilter, groupType), OffsetFetch v9 (memberId, memberEpoch), OffsetCommit v9, flexible', () => {
    const lbytes = hex(`0010 0005 00000001 ${s16('java')} 00 | 01 02 ${cs('classic')} 00`);
    expect(request(lbytes)).to.deep.equal({ statesFilter: [], typesFilter: ['classic'] });
    const lres = { throttleTimeMs: 0, errorCode: 0, groups: [{ groupId: 'g', protocolType: 'consumer', groupState: 'Empty', groupType: 'classic' }] };
    expect(encodeResponseFrame(listGroupsApi, 5, 1, lres))
      .to.deep.equal(framed(hex(`00000001 00 | 00000000 0000 02 ${cs('g')} ${cs('consumer')} ${cs('Empty')} ${cs('classic')} 00 00`)));
    const fetch = {
      groupId: '', topics: null, requireStable: true,
      groups: [{ groupId: 'g', memberId: null, memberEpoch: -1, topics: [{ name: 't', partitionIndexes: [0] }] }],
    };
    const fbytes = hex(`0009 0009 00000002 ${s16('java')} 00 | 02 ${cs('g')} 00 ffffffff 02 ${cs('t')} 02 00000000 00 00 01 00`);
    expect(encodeRequestFrame(offsetFetchApi, 9, 2, 'java', fetch)).to.deep.equal(framed(fbytes));
    expect(request(fbytes)).to.deep.equal(fetch);
    const commit = {
      groupId: 'g', generationId: 3, memberId: 'm', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: 2, commitTimestamp: -1, committedMetadata: '' }] }],
    };
    const cbytes = hex(`0008 0009 00000003 ${s16('java')} 00 | ${cs('g')} 00000003 ${cs('m')} 00 02 ${cs('t')} 02 00000000 0000000000000005 00000002 01 00 00 00`);
    expect(encodeRequestFrame(offsetCommitApi, 9, 3, 'java', commit)).to.deep.equal(framed(cbytes));
    expect(request(cbytes)).to.deep.equal(commit);
  });
});
