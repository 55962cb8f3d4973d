// Test helpers for the Kafka server: a raw TCP client that sends frames and reads response frames,
// and a server started on a free port over a MemoryBroker.
import { type Socket, connect } from 'node:net';
import { systemClock } from '../../lib/app/system-clock.js';
import { GroupCoordinator } from '../../lib/group/coordinator.js';
import { type GroupRecord, replay } from '../../lib/group/records.js';
import { systemTimers } from '../../lib/group/timers.js';
import type { DispatchEnv } from '../../lib/server/dispatch.js';
import { KafkaServer, type KafkaServerOptions } from '../../lib/server/listener.js';
import { ServerMetrics } from '../../lib/server/metrics.js';
import { MemoryBroker } from './memory-broker.js';

export class RawClient {
  readonly socket: Socket;
  private buffered = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private readonly waiting: ((f: Buffer | null) => void)[] = [];
  ended = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        const w = this.waiting.shift();
        if (w) w(frame);
        else this.frames.push(frame);
      }
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.ended = true;
      for (const w of this.waiting.splice(0)) w(null);
      resolve();
    }));
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    return new RawClient(socket);
  }

  send(frame: Buffer): void {
    this.socket.write(frame);
  }

  /** The next response frame (without its size prefix), or null once the connection is closed. */
  next(): Promise<Buffer | null> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  pending(): number {
    return this.frames.length;
  }

  close(): void {
    this.socket.destroy();
  }
}

export async function startServer(
  options: Partial<KafkaServerOptions> = {},
  broker = new MemoryBroker(),
): Promise<{ server: KafkaServer; broker: MemoryBroker; port: number }> {
  const server = new KafkaServer({ broker, host: '127.0.0.1', port: 0, ...options });
  await server.start();
  const port = server.address().port;
  broker.port = port;
  return { server, broker, port };
}

/**
 * For in-process dispatch (version matrix, limits): a fresh in-memory broker with topic 't' (2
 * partitions, no auto-creation, fetches answered at once) and a real group coordinator (its log
 * an array; no rebalance delay, so a JoinGroup is answered at once); `close` after the request.
 * No transaction coordinator: the transactional APIs answer COORDINATOR_NOT_AVAILABLE.
 */
export function dispatchEnv(): { env: DispatchEnv; close: () => void } {
  const broker = new MemoryBroker({ fetchWaitMaxMs: 0, partitionsMax: 8 });
  broker.addTopic('t', 2);
  broker.autoCreate = false;
  const groups = new GroupCoordinator({
    clock: systemClock, timers: systemTimers,
    settings: { offsetsTopicPartitions: 1, groupInitialRebalanceDelayMs: 0 },
    locate: () => ({ nodeId: broker.nodeId, host: '127.0.0.1', port: 9092 }),
  });
  const records: GroupRecord[] = [];
  groups.loadPartition(0, { append: async (rs) => { records.push(...rs); } }, replay(records));
  return { env: { broker, groups, metrics: new ServerMetrics(), responseBytesMax: 256 * 1024 * 1024 }, close: () => groups.close() };
}
