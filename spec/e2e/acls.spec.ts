/**
 * End-to-end, issue 18 (authorization): a 3-node cluster of real `flotilla start` processes with
 * `--authorizer`. Until SASL is in, every connection is User:ANONYMOUS, so the cluster first runs
 * with ANONYMOUS as its super user: ACLs for ANONYMOUS are created with `flotilla acl add`, listed
 * through every node, and one of three removed (F8). Then every node restarts with another super
 * user, so that ANONYMOUS is subject to the ACLs: they survived the restart and are effective on
 * every node (WRITE on orders allowed, READ on orders denied by the DENY, other topics refused),
 * KafkaJS sees TOPIC_AUTHORIZATION_FAILED, the ACL APIs need the cluster ALTER/DESCRIBE, and the
 * denials are counted in /metrics.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import kafkajs from 'kafkajs';

// KafkaJS is CommonJS: its named exports come through the default import.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, ResourcePatternTypes, logLevel } = kafkajs;
import { encodeBatch } from '../../lib/records/encode.js';
import { fetchApi } from '../../lib/kafka/fetch.js';
import { produceApi } from '../../lib/kafka/produce.js';
import { describeAclsApi } from '../../lib/kafka/describe-acls.js';
import { errorCode } from '../../lib/kafka/errors.js';
import { oneRequest } from '../../lib/cli/one-request.js';
import { TestCluster, kafkaPython, runChild } from './cluster-harness.js';

const BIN = new URL('../../../bin/flotilla.js', import.meta.url).pathname;
const PY_ACLS = new URL('../../../spec/e2e/python/kafka_python_acls.py', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface AclRow {
  resourceType: string;
  resourceName: string;
  patternType: string;
  principal: string;
  host: string;
  operation: string;
  permission: string;
}

describe('ACLs against a 3-node cluster with --authorizer', function () {
  this.timeout(180_000);
  let cluster: TestCluster;

  const flotilla = (args: readonly string[], bootstrap: string): Promise<Run> => new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'acl', ...args, '--bootstrap', bootstrap, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const ok = async (args: readonly string[], bootstrap = cluster.bootstrap[0]!): Promise<Record<string, unknown>> => {
    const r = await flotilla(args, bootstrap);
    expect(r.code, `flotilla acl ${args.join(' ')}: ${r.stderr}`).to.equal(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const listed = async (bootstrap: string): Promise<string[]> =>
    ((await ok(['list'], bootstrap))['acls'] as AclRow[]).map((a) => `${a.permission} ${a.operation} ${a.resourceType}:${a.patternType}:${a.resourceName} ${a.principal}@${a.host}`).sort();

  const batch = (): Buffer => encodeBatch({ records: [{ value: Buffer.from('v') }], baseTimestamp: Date.now() });
  const produceCode = async (node: string, topic: string): Promise<number> => {
    const r = await oneRequest(node, produceApi, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, records: batch() }] }] }, 10_000);
    return r.responses[0]!.partitions[0]!.errorCode;
  };
  const fetchCode = async (node: string, topic: string): Promise<number> => {
    const r = await oneRequest(node, fetchApi, 12, {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 100_000, isolationLevel: 0,
      sessionId: 0, sessionEpoch: -1, topics: [{ topic, topicId: '00000000-0000-0000-0000-000000000000', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 100_000, replicaDirectoryId: '00000000-0000-0000-0000-000000000000' }] }],
      forgottenTopicsData: [], rackId: '',
    }, 10_000);
    return r.responses[0]!.partitions[0]!.errorCode;
  };

  before(async () => {
    cluster = new TestCluster(3);
    cluster.start(['--no-fsync', '--authorizer', '--super-users', 'User:ANONYMOUS']);
    await cluster.ready();
    const admin = cluster.kafka('acls-e2e').admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 1, replicationFactor: 3 }, { topic: 'other', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
  });

  after(async function () {
    if (this.currentTest?.state === 'failed' || process.env.E2E_VERBOSE) console.log(cluster.output());
    await cluster.destroy();
  });

  it('ACLs added with the CLI are listed through every node; removing one of three leaves the other two (F8)', async () => {
    const added = await ok(['add', '--allow-principal', 'User:ANONYMOUS', '--operation', 'All', '--operation', 'AlterConfigs', '--topic', 'orders']);
    expect(added['added']).to.have.length(2);
    await ok(['add', '--deny-principal', 'User:ANONYMOUS', '--operation', 'Read', '--topic', 'orders']);
    const three = [
      'ALLOW ALL TOPIC:LITERAL:orders User:ANONYMOUS@*', 'ALLOW ALTER_CONFIGS TOPIC:LITERAL:orders User:ANONYMOUS@*', 'DENY READ TOPIC:LITERAL:orders User:ANONYMOUS@*',
    ];
    // Read-your-writes on the node that took them; the others once their metadata applied (a read of the image, so poll briefly).
    expect(await listed(cluster.bootstrap[0]!)).to.deep.equal(three);
    for (const node of cluster.bootstrap) {
      const end = Date.now() + 10_000;
      let seen: string[] = [];
      while (Date.now() < end && (seen = await listed(node)).length !== 3) await new Promise((r) => setTimeout(r, 100));
      expect(seen, node).to.deep.equal(three);
    }
    // A bad creation is refused with a clear error and a non-zero exit.
    const bad = await flotilla(['add', '--allow-principal', 'alice', '--operation', 'Read', '--topic', 'orders'], cluster.bootstrap[0]!);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.match(/Type:name/);
    const removed = await ok(['remove', '--topic', 'orders', '--operation', 'AlterConfigs', '--allow-principal', 'User:ANONYMOUS'], cluster.bootstrap[1]!);
    expect((removed['removed'] as AclRow[]).map((a) => a.operation)).to.deep.equal(['ALTER_CONFIGS']);
    expect(await listed(cluster.bootstrap[1]!)).to.deep.equal([three[0], three[2]]);
  });

  it('H1: KafkaJS creates, describes (grouped by resource) and deletes ACLs through another node', async () => {
    const admin = new Kafka({ clientId: 'acls-e2e-admin', brokers: [cluster.bootstrap[2]!], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const entry = {
        resourceType: AclResourceTypes.GROUP, resourceName: 'billing', resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:ANONYMOUS', host: '*',
        permissionType: AclPermissionTypes.ALLOW,
      };
      await admin.createAcls({ acl: [{ ...entry, operation: AclOperationTypes.READ }, { ...entry, operation: AclOperationTypes.DESCRIBE }] });
      const described = await admin.describeAcls({
        resourceType: AclResourceTypes.GROUP, resourceName: 'billing', resourcePatternType: ResourcePatternTypes.LITERAL,
        operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
      });
      expect(described.resources).to.have.length(1);
      expect(described.resources[0]!.acls.map((a) => a.operation).sort()).to.deep.equal([AclOperationTypes.READ, AclOperationTypes.DESCRIBE].sort());
      const deleted = await admin.deleteAcls({
        filters: [{ resourceType: AclResourceTypes.GROUP, resourceName: 'billing', resourcePatternType: ResourcePatternTypes.LITERAL, operation: AclOperationTypes.DESCRIBE, permissionType: AclPermissionTypes.ANY }],
      });
      expect(deleted.filterResponses[0]!.matchingAcls).to.have.length(1);
      expect((await listed(cluster.bootstrap[2]!)).filter((l) => l.includes('GROUP'))).to.deep.equal(['ALLOW READ GROUP:LITERAL:billing User:ANONYMOUS@*']);
    } finally {
      await admin.disconnect();
    }
  });

  it('H1: kafka-python creates, describes and deletes a PREFIXED ACL', async function () {
    const python = kafkaPython();
    if (python === null) return this.skip();
    const out = JSON.parse(await runChild(python, [PY_ACLS, cluster.bootstrap.join(',')], 60_000)) as {
      created: number; failed: string[]; described: string[][]; describeError: string; deleted: number; after: number;
    };
    expect(out).to.deep.include({ created: 1, failed: [], deleted: 1, after: 0 });
    expect(out.described).to.deep.equal([['User:py', 'WRITE', 'PREFIXED', 'py-acl']]);
  });

  it('after a restart without ANONYMOUS as super user, the remaining ACLs hold on every node', async () => {
    await cluster.stop('SIGTERM');
    cluster.start(['--no-fsync', '--authorizer', '--super-users', 'User:admin']);
    await cluster.ready();
    const T = errorCode('TOPIC_AUTHORIZATION_FAILED');
    for (const node of cluster.bootstrap) {
      // ALLOW ALL on orders: WRITE passes the authorizer (the answer may still be NOT_LEADER on a follower).
      expect(await produceCode(node, 'orders'), `${node} produce orders`).to.not.equal(T);
      // The DENY READ beats the ALLOW ALL.
      expect(await fetchCode(node, 'orders'), `${node} fetch orders`).to.equal(T);
      // No ACL on other: refused.
      expect(await produceCode(node, 'other'), `${node} produce other`).to.equal(T);
      // The ACL APIs need DESCRIBE/ALTER on the cluster.
      const d = await oneRequest(node, describeAclsApi, 2, { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }, 10_000);
      expect(d.errorCode).to.equal(errorCode('CLUSTER_AUTHORIZATION_FAILED'));
    }
    const refused = await flotilla(['add', '--allow-principal', 'User:ANONYMOUS', '--operation', 'Read', '--topic', 'other'], cluster.bootstrap[0]!);
    expect(refused.code).to.not.equal(0);
    expect(refused.stderr).to.match(/CLUSTER_AUTHORIZATION_FAILED/);
  });

  it('KafkaJS: producing to orders works; producing to other fails with TOPIC_AUTHORIZATION_FAILED; denials are counted in /metrics', async () => {
    const kafka = cluster.kafka('acls-e2e-kjs');
    const producer = kafka.producer({ retry: { retries: 2, initialRetryTime: 100 } });
    await producer.connect();
    try {
      await producer.send({ topic: 'orders', acks: -1, messages: [{ value: 'ok' }] });
      let failure: unknown = null;
      await producer.send({ topic: 'other', acks: -1, messages: [{ value: 'no' }] }).catch((err: unknown) => (failure = err));
      // KafkaJS wraps the protocol error (type TOPIC_AUTHORIZATION_FAILED) once its retries end.
      const e = failure as { type?: string; cause?: { type?: string } } | null;
      expect(e, 'the send to other was refused').to.not.equal(null);
      expect(e?.type ?? e?.cause?.type ?? String(e)).to.match(/TOPIC_AUTHORIZATION_FAILED/);
    } finally {
      await producer.disconnect();
    }
    // Each node refused at least the Produce to other and the Fetch of orders above (the binder runs once a second).
    await new Promise((r) => setTimeout(r, 1500));
    const metrics = await Promise.all(cluster.nodes.map(async (n) => (await fetch(`http://127.0.0.1:${n.metricsPort}/metrics`)).text()));
    for (const text of metrics) {
      expect(text).to.match(/flotilla_authz_denied_total\{api="Fetch",resource_type="Topic"[^}]*\} [1-9]/);
      expect(text).to.match(/flotilla_authz_denied_total\{api="Produce",resource_type="Topic"[^}]*\} [1-9]/);
    }
    // One audit line per denial in the node's log.
    expect(cluster.output()).to.match(/"event":"authorization-denied".*"principal":"User:ANONYMOUS"/);
  });
});
