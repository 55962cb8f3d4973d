/**
 * One Kafka connection of Flotilla's own tools: a TCP socket, or a TLS one (the `ClientTls` of
 * client-security.ts), carrying request frames and handing back their response frames in order.
 * Every answer is bounded in size and time; a failure (the socket's error, a close, an idle
 * timeout, an oversized answer) rejects every request still waiting. It is the `FrameChannel` that
 * lib/kafka/sasl-client.ts logs in over, for the CLI's own-codec commands (one-request.ts) and the specs.
 */
import { isIP, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { FrameChannel } from '../kafka/sasl-client.js';
import { type ClientTls, tlsOptions } from './client-security.js';

/** The largest answer accepted by default (a DescribeConfigs answer is a few KiB). */
export const RESPONSE_BYTES_MAX = 16 * 1024 * 1024;

/** Socket errors that say nothing about TLS (the broker is not there): passed on as they are. */
const UNREACHABLE = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EADDRNOTAVAIL'];

export interface ConnectOptions {
  /** TLS towards the broker (null or absent: plaintext). */
  readonly tls?: ClientTls | null;
  readonly responseBytesMax?: number;
}

export class KafkaConnection implements FrameChannel {
  private readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private readonly waiting: { resolve: (f: Buffer) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | null = null;
  private readonly responseBytesMax: number;

  private constructor(socket: Socket, timeoutMs: number, responseBytesMax: number) {
    this.socket = socket;
    this.responseBytesMax = responseBytesMax;
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the connection closed before the answer')));
  }

  /**
   * Connects to `host:port` within `timeoutMs` (which then bounds each wait for an answer). With
   * `tls`, the handshake is part of the connection, and its failures say so (`TLS: ...`).
   */
  static connect(host: string, port: number, timeoutMs: number, options: ConnectOptions = {}): Promise<KafkaConnection> {
    const tls = options.tls ?? null;
    return new Promise((resolve, reject) => {
      const socket = tls
        ? tlsConnect({ host, port, ...tlsOptions(tls), ...(isIP(host) === 0 ? { servername: host } : {}) })
        : new Socket().connect(port, host);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${host}:${port} in ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (!tls || UNREACHABLE.includes(err.code ?? '')) reject(err);
        else if (err.code === 'ECONNRESET') reject(new Error(`TLS: ${err.message} (is the listener at ${host}:${port} SSL or SASL_SSL?)`));
        else reject(new Error(`TLS: ${err.message}`));
      });
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve(new KafkaConnection(socket, timeoutMs, options.responseBytesMax ?? RESPONSE_BYTES_MAX));
      });
    });
  }

  /** Writes one request frame; resolves with its response frame (without the size prefix). */
  request(frame: Buffer): Promise<Buffer> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(frame);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (size < 0 || size > this.responseBytesMax) {
        this.socket.destroy(new Error(`an answer of ${size} bytes (at most ${this.responseBytesMax})`));
        return;
      }
      if (this.buffered.length < 4 + size) break;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const waiter = this.waiting.shift();
      if (waiter === undefined) {
        this.socket.destroy(new Error('an answer to no request'));
        return;
      }
      waiter.resolve(frame);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.socket.destroy();
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}
