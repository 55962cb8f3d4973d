/**
 * ProducerIds: this node's supply of producer ids. The controller hands out blocks of
 * `controller.producerIdBlockSize` consecutive ids through the metadata log (a ProducerIds record
 * moves the next free id past the block before the block is handed out), so no two nodes, and no
 * restart of one, ever hand out the same id. The node takes ids from its block in order and asks
 * for the next block when `prefetchFraction` of the current one is used, so an InitProducerId
 * rarely waits for the controller. Ids of a block not used before a restart are skipped, never
 * reused.
 */
import { FlotillaError } from '../base/errors.js';

export interface ProducerIdBlock {
  readonly firstProducerId: number;
  readonly count: number;
}

export interface ProducerIdsOptions {
  /** Asks the controller for a new block (retries are the caller's: ControllerClient.call). */
  readonly allocate: () => Promise<ProducerIdBlock>;
  /** Used share of the block at which the next one is fetched (default 0.9). */
  readonly prefetchFraction?: number;
  readonly logger?: (line: string) => void;
}

export class ProducerIds {
  private readonly options: ProducerIdsOptions;
  private current: { next: number; readonly first: number; readonly end: number } | null = null;
  private queued: ProducerIdBlock | null = null;
  private fetching: Promise<void> | null = null;
  /** Ids handed out since start (metrics). */
  handedOut = 0;

  constructor(options: ProducerIdsOptions) {
    this.options = options;
  }

  /** The next unused producer id. */
  async next(): Promise<number> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.current === null || this.current.next >= this.current.end) {
        if (this.queued === null) {
          await this.fetch();
          continue;
        }
        const q = this.queued;
        this.current = { next: q.firstProducerId, first: q.firstProducerId, end: q.firstProducerId + q.count };
        this.queued = null;
      }
      const cur = this.current;
      const id = cur.next++;
      this.handedOut++;
      const used = (cur.next - cur.first) / (cur.end - cur.first);
      if (this.queued === null && this.fetching === null && used >= (this.options.prefetchFraction ?? 0.9)) {
        this.fetch().catch((err: unknown) => this.options.logger?.(`producer ids: prefetch failed: ${err instanceof Error ? err.message : String(err)}`));
      }
      return id;
    }
    throw new FlotillaError('NOT_READY', 'no producer id block could be obtained from the controller');
  }

  private fetch(): Promise<void> {
    this.fetching ??= this.options.allocate().then((block) => {
      if (!Number.isSafeInteger(block.firstProducerId) || block.firstProducerId < 0 || !Number.isSafeInteger(block.count) || block.count <= 0) {
        throw new FlotillaError('CORRUPT', `the controller sent a bad producer id block ${JSON.stringify(block)}`);
      }
      this.queued = block;
      this.options.logger?.(`producer ids: block [${block.firstProducerId}, ${block.firstProducerId + block.count})`);
    }).finally(() => {
      this.fetching = null;
    });
    return this.fetching;
  }
}
