/**
 * How a failed append to (or read barrier on) the offsets partition's log becomes the Kafka error of a group request
 * (Kafka's own rule for its offsets topic): the coordinator moved → NOT_COORDINATOR (clients run
 * FindCoordinator again); the log is slow or has no quorum → COORDINATOR_NOT_AVAILABLE (retriable);
 * too large → INVALID_COMMIT_OFFSET_SIZE; anything else UNKNOWN_SERVER_ERROR.
 * The group protocol's own errors (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, ...) are chosen by the
 * state machine directly: they are Kafka's concepts, not internal failures.
 */
import { FlotillaError } from '../base/errors.js';
import type { KafkaErrorName } from '../kafka/errors.js';

export type GroupErrorName = KafkaErrorName;

export function appendErrorName(err: unknown): GroupErrorName {
  if (!(err instanceof FlotillaError)) return 'UNKNOWN_SERVER_ERROR';
  switch (err.code) {
    case 'NOT_LEADER':
    case 'PROPOSAL_DROPPED':
    case 'READ_DROPPED':
    case 'CLOSED':
      return 'NOT_COORDINATOR';
    case 'TIMEOUT':
    case 'BACKPRESSURE':
    case 'UNCOMMITTED_LIMIT':
    case 'LEADER_NOT_AVAILABLE':
    case 'NOT_READY':
    case 'NOT_ENOUGH_NODES':
      return 'COORDINATOR_NOT_AVAILABLE';
    case 'TOO_LARGE':
      return 'INVALID_COMMIT_OFFSET_SIZE';
    default:
      return 'UNKNOWN_SERVER_ERROR';
  }
}
