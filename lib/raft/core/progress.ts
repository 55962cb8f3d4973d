/**
 * The leader's view of one follower: how far it matches, what to send next, and how much is in
 * flight. Three states, as etcd's tracker: `probe` (one append per heartbeat until the follower's
 * position is found), `replicate` (pipelined appends, bounded by Inflights), `snapshot` (the
 * follower is behind the log's start and receives the snapshot in chunks).
 */
import { assert } from '../../base/assert.js';

export class Inflights {
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private bytesInFlight = 0;

  private readonly maxMessages: number;
  private readonly maxBytes: number;

  constructor(maxMessages: number, maxBytes: number) {
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
  }

  get count(): number {
    return this.indexes.length - this.head;
  }

  get bytes(): number {
    return this.bytesInFlight;
  }

  full(): boolean {
    return this.count >= this.maxMessages || this.bytesInFlight >= this.maxBytes;
  }

  add(lastIndex: number, bytes: number): void {
    assert(!this.full(), 'inflights: add while full');
    const last = this.indexes.length > this.head ? this.indexes[this.indexes.length - 1]! : -1;
    assert(lastIndex > last, () => `inflights: index ${lastIndex} not above ${last}`);
    this.indexes.push(lastIndex);
    this.sizes.push(bytes);
    this.bytesInFlight += bytes;
  }

  /** Frees every message whose last index is <= `index`. */
  freeTo(index: number): void {
    while (this.head < this.indexes.length && this.indexes[this.head]! <= index) {
      this.bytesInFlight -= this.sizes[this.head]!;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.indexes.length) {
      this.indexes.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Frees the oldest message in flight (its answer may have been lost). */
  freeFirst(): void {
    if (this.count > 0) this.freeTo(this.indexes[this.head]!);
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.head = 0;
    this.bytesInFlight = 0;
  }
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append is out and unanswered; wait for a response or a heartbeat. */
  probeSent = false;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Highest heartbeat round (context) this follower acknowledged in the current term. */
  ackedRound = 0;
  /**
   * The last heartbeat round sent to this follower (0: none since the state last changed) and
   * `next` when it was sent: an answer to it below that `next` means appends sent before the
   * heartbeat were lost. (Appends sent after it are no evidence: they may still be on the way.)
   */
  heartbeatRound = 0;
  nextAtHeartbeat = 0;
  /** In snapshot state: the snapshot being sent, the next offset to send and the offset acked. */
  snapshotIndex = 0;
  snapshotSendOffset = 0;
  snapshotAckedOffset = 0;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMessages: number, maxInflightBytes: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMessages, maxInflightBytes);
  }

  becomeProbe(): void {
    this.heartbeatRound = 0;
    // Coming back from a snapshot, resume right after it; otherwise right after the match.
    this.next = this.state === 'snapshot' ? Math.max(this.match + 1, this.snapshotIndex + 1) : this.match + 1;
    this.state = 'probe';
    this.probeSent = false;
    this.snapshotIndex = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.heartbeatRound = 0;
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.heartbeatRound = 0;
    this.state = 'snapshot';
    this.snapshotIndex = snapshotIndex;
    this.snapshotSendOffset = 0;
    this.snapshotAckedOffset = 0;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** A successful append response: true if the match moved. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejected append at `rejected`; `matchHint` is where the logs may agree. False when the
   * rejection is stale (out of order or duplicated) and must be ignored.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether sending more appends must wait. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
