/**
 * One Kafka request to one broker, with Flotilla's own codecs (lib/kafka, checked against
 * KafkaJS's encoders in the suite where KafkaJS has them), for what the CLI's client library
 * cannot send: KafkaJS 2.2.4 routes a broker-config resource to the broker whose node id is its
 * name, so it can neither describe nor alter Kafka's entity default (the broker resource ""),
 * which holds the cluster-wide topic defaults (`flotilla cluster config`); and it has no
 * DescribeQuorum, DescribeProducers, ListTransactions, DescribeTransactions or WriteTxnMarkers
 * (`cluster quorum`, `producers`, `transactions`). Everything else goes through KafkaJS.
 *
 * The request is sent to the bootstrap servers in turn until one answers (a single HOST:PORT
 * reaches one chosen broker); the answer is bounded in size and time.
 */
import { parseHostPort } from '../app/config.js';
import { encodeRequestFrame, parseResponse } from '../kafka/apis.js';
import type { Reader, Writer } from '../kafka/primitives.js';
import { SaslLoginError, saslLogin } from '../kafka/sasl-client.js';
import { parseBootstrap } from './client.js';
import { type ClientSecurityFlags, resolveClientSecurity } from './client-security.js';
import { KafkaConnection } from './kafka-connection.js';
import { CliError } from './output.js';

/** Where to send, and the command's security flags (--command-config, ...). */
export interface RequestTarget extends ClientSecurityFlags {
  readonly bootstrap: string;
}

interface RequestApi<Req, Res> {
  readonly apiKey: number;
  readonly name: string;
  isFlexible(version: number): boolean;
  encodeRequest(w: Writer, version: number, body: Req): void;
  decodeResponse(r: Reader, version: number): Res;
}

/**
 * Sends `body` as `api` v`version` to the first bootstrap server of `target` that answers, over
 * TLS and after a SASL login when the target's security settings say so; returns the decoded answer.
 * A bare `HOST:PORT[,...]` string is a plaintext target (tests); commands pass their options.
 */
export async function oneRequest<Req, Res>(target: RequestTarget | string, api: RequestApi<Req, Res>, version: number, body: Req, timeoutMs: number): Promise<Res> {
  if (typeof target === 'string') target = { bootstrap: target };
  const security = resolveClientSecurity(target);
  const failures: string[] = [];
  for (const server of parseBootstrap(target.bootstrap)) {
    const address = parseHostPort(server);
    if (address === null) continue;
    let conn: KafkaConnection | null = null;
    try {
      conn = await KafkaConnection.connect(address.host, address.port, timeoutMs, { tls: security.tls });
      const correlationId = security.sasl ? (await saslLogin(conn, security.sasl)).nextCorrelationId : 1;
      const frame = await conn.request(encodeRequestFrame(api, version, correlationId, 'flotilla-cli', body));
      return parseResponse(api, version, frame).body;
    } catch (err) {
      // A refused login (or a server that failed SCRAM's check): the next server would refuse it too.
      if (err instanceof SaslLoginError) throw new CliError(err.message);
      failures.push(`${server}: ${(err as Error).message}`);
    } finally {
      conn?.close();
    }
  }
  throw new CliError(`${api.name} failed on every bootstrap server (${failures.join('; ')})`);
}
