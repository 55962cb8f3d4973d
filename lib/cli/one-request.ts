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
import { Socket } from 'node:net';
import { parseHostPort } from '../app/config.js';
import { encodeRequestFrame, parseResponse } from '../kafka/apis.js';
import type { Reader, Writer } from '../kafka/primitives.js';
import { parseBootstrap } from './client.js';
import { CliError } from './output.js';

/** The largest answer accepted (a DescribeConfigs answer is a few KiB). */
const RESPONSE_BYTES_MAX = 16 * 1024 * 1024;

interface RequestApi<Req, Res> {
  readonly apiKey: number;
  readonly name: string;
  isFlexible(version: number): boolean;
  encodeRequest(w: Writer, version: number, body: Req): void;
  decodeResponse(r: Reader, version: number): Res;
}

/** Sends `body` as `api` v`version` to the first bootstrap server that answers; returns the decoded answer. */
export async function oneRequest<Req, Res>(bootstrap: string, api: RequestApi<Req, Res>, version: number, body: Req, timeoutMs: number): Promise<Res> {
  const failures: string[] = [];
  for (const server of parseBootstrap(bootstrap)) {
    const address = parseHostPort(server);
    if (address === null) continue;
    try {
      const frame = await exchange(address.host, address.port, encodeRequestFrame(api, version, 1, 'flotilla-cli', body), timeoutMs);
      return parseResponse(api, version, frame).body;
    } catch (err) {
      failures.push(`${server}: ${(err as Error).message}`);
    }
  }
  throw new CliError(`${api.name} failed on every bootstrap server (${failures.join('; ')})`);
}

/** Writes one request frame and reads one response frame (without its size prefix). */
function exchange(host: string, port: number, request: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = (err: Error | null, frame?: Buffer): void => {
      socket.destroy();
      if (err !== null) reject(err);
      else resolve(frame!);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`no answer in ${timeoutMs} ms`)));
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error('the connection closed before the answer')));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < 4) return;
      const all = Buffer.concat(chunks, received);
      const size = all.readInt32BE(0);
      if (size < 0 || size > RESPONSE_BYTES_MAX) return finish(new Error(`an answer of ${size} bytes`));
      if (received >= 4 + size) finish(null, all.subarray(4, 4 + size));
    });
    socket.connect(port, host, () => socket.write(request));
  });
}
