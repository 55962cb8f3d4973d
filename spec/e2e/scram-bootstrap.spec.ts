// `flotilla start --add-scram` as a real process (research security.md 4.5 E3, E4): the bootstrap
// credential is written when the cluster's metadata log is created, survives a restart, is not
// written again by the restarted node, and no password reaches the node's output. Credentials
// added with AlterUserScramCredentials survive the restart too.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KafkaConnection } from '../../lib/cli/kafka-connection.js';
import { alterUserScramCredentialsApi } from '../../lib/kafka/alter-user-scram-credentials.js';
import { encodeRequestFrame, parseResponse } from '../../lib/kafka/apis.js';
import { describeUserScramCredentialsApi } from '../../lib/kafka/describe-user-scram-credentials.js';
import { saltPassword } from '../../lib/metadata/scram.js';
import { TestCluster } from './cluster-harness.js';

const ADMIN_PASSWORD = 'bootstrap-Pw-4417';
const OTHER_PASSWORD = 'carol-Pw-9931';

describe('e2e: bootstrap SCRAM credentials (--add-scram)', function () {
  this.timeout(90_000);
  let cluster: TestCluster;

  before(() => {
    cluster = new TestCluster(1);
  });

  after(async () => {
    await cluster?.destroy();
  });

  async function describeAll(): Promise<unknown> {
    const conn = await KafkaConnection.connect('127.0.0.1', cluster.node(1).clientPort, 10_000);
    try {
      const frame = await conn.request(encodeRequestFrame(describeUserScramCredentialsApi, 0, 1, 'e2e', { users: null }));
      return parseResponse(describeUserScramCredentialsApi, 0, frame).body.results;
    } finally {
      conn.close();
    }
  }

  it('writes the credential once, keeps it (and added ones) across a restart, never logs the password', async () => {
    const pwFile = join(cluster.root, 'admin-password');
    writeFileSync(pwFile, `${ADMIN_PASSWORD}\n`);
    cluster.start(['--add-scram', `SCRAM-SHA-512=[name=admin,password-file=${pwFile}];SCRAM-SHA-256=[name=admin,password=${ADMIN_PASSWORD},iterations=4096]`]);
    await cluster.ready();
    expect(await describeAll()).to.deep.equal([
      { user: 'admin', errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: 1, iterations: 4096 }, { mechanism: 2, iterations: 8192 }] },
    ]);
    const conn = await KafkaConnection.connect('127.0.0.1', cluster.node(1).clientPort, 10_000);
    try {
      const salt = randomBytes(16);
      const saltedPassword = await saltPassword('SCRAM-SHA-256', OTHER_PASSWORD, salt, 4096);
      const frame = await conn.request(encodeRequestFrame(alterUserScramCredentialsApi, 0, 2, 'e2e', {
        deletions: [{ name: 'admin', mechanism: 1 }], upsertions: [{ name: 'carol', mechanism: 1, iterations: 4096, salt, saltedPassword }],
      }));
      expect(parseResponse(alterUserScramCredentialsApi, 0, frame).body.results.map((r) => r.errorCode)).to.deep.equal([0, 0]);
    } finally {
      conn.close();
    }

    await cluster.stop('SIGTERM');
    cluster.node(1).start(cluster.controllers, ['--add-scram', `SCRAM-SHA-512=[name=admin,password-file=${pwFile}];SCRAM-SHA-256=[name=admin,password=${ADMIN_PASSWORD},iterations=4096]`]);
    await cluster.ready();
    // The deleted SCRAM-SHA-256 credential of admin is not written back; carol's stays.
    expect(await describeAll()).to.deep.equal([
      { user: 'admin', errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: 2, iterations: 8192 }] },
      { user: 'carol', errorCode: 0, errorMessage: null, credentialInfos: [{ mechanism: 1, iterations: 4096 }] },
    ]);
    const output = cluster.node(1).output;
    expect(output.match(/bootstrap SCRAM credential/g) ?? []).to.have.length(1);
    expect(output).to.not.contain(ADMIN_PASSWORD);
    expect(output).to.not.contain(OTHER_PASSWORD);
  });
});
