/**
 * THE one place where internal failures become Kafka error codes. Handlers never pick a Kafka code
 * for a FlotillaError themselves: they call `kafkaError(err, context)` and put the code and the
 * message (Kafka's `errorMessage` fields, where the version has one) into the response.
 *
 * | FlotillaError code            | Kafka error                                                   |
 * | ----------------------------- | ------------------------------------------------------------- |
 * | NOT_LEADER, PROPOSAL_DROPPED, READ_DROPPED, CLOSED | NOT_LEADER_OR_FOLLOWER (client refreshes metadata) |
 * | LEADER_NOT_AVAILABLE, NOT_READY | LEADER_NOT_AVAILABLE                                        |
 * | UNKNOWN_TOPIC                 | UNKNOWN_TOPIC_OR_PARTITION                                    |
 * | TIMEOUT, BACKPRESSURE, UNCOMMITTED_LIMIT | REQUEST_TIMED_OUT (retriable; the outcome may be unknown) |
 * | CORRUPT                       | CORRUPT_MESSAGE                                               |
 * | TOO_LARGE                     | MESSAGE_TOO_LARGE (a batch), RECORD_LIST_TOO_LARGE (a record set: context `recordSet` or details.scope) |
 * | INVALID_TOPIC                 | INVALID_PARTITIONS / INVALID_REPLICATION_FACTOR when the message is about those, else INVALID_TOPIC_EXCEPTION |
 * | TOPIC_EXISTS                  | TOPIC_ALREADY_EXISTS                                          |
 * | NOT_ENOUGH_NODES              | INVALID_REPLICATION_FACTOR                                    |
 * | OFFSET_OUT_OF_RANGE, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, POLICY_VIOLATION, INVALID_REQUEST, NOT_CONTROLLER, INVALID_RECORD | the Kafka error of the same name (INVALID_REQUEST with details.operationNotAttempted: OPERATION_NOT_ATTEMPTED; NOT_CONTROLLER in context `quorum`: NOT_LEADER_OR_FOLLOWER) |
 * | INVALID_TOPIC_CONFIG, INVALID_CONFIG | INVALID_CONFIG                                         |
 * | OUT_OF_ORDER_SEQUENCE         | OUT_OF_ORDER_SEQUENCE_NUMBER                                  |
 * | PRODUCER_FENCED               | PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH for requests older than the versions that know it (context `oldFencing`) |
 * | INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE, INVALID_PRODUCER_ID_MAPPING, INVALID_TRANSACTION_TIMEOUT, CONCURRENT_TRANSACTIONS, TRANSACTION_COORDINATOR_FENCED, NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, TRANSACTIONAL_ID_NOT_FOUND, DUPLICATE_VOTER, VOTER_NOT_FOUND | the Kafka error of the same name |
 * | anything else (and non-FlotillaErrors) | UNKNOWN_SERVER_ERROR                                 |
 *
 * Why REQUEST_TIMED_OUT for BACKPRESSURE and UNCOMMITTED_LIMIT: every client retries it (after a
 * metadata refresh), and it promises nothing about the outcome, which is always true.
 */
import { type ErrorCode, FlotillaError, ErrorCodes } from '../base/errors.js';
import { type KafkaErrorName, errorCode } from '../kafka/errors.js';

/** What a handler writes into a response: the int16 code and the message (null when none). */
export interface KafkaErrorValue {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

export const NO_ERROR: KafkaErrorValue = Object.freeze({ errorCode: 0, errorMessage: null });

/**
 * Where the error arose, for the codes whose Kafka name depends on it. `recordSet`: a partition's
 * whole record set in a Produce request (RECORD_LIST_TOO_LARGE); `batch` (default): one batch;
 * `oldFencing`: a transactional request of a version that predates PRODUCER_FENCED; `quorum`:
 * DescribeQuorum (no metadata leader: NOT_LEADER_OR_FOLLOWER, as Kafka's Raft client answers).
 */
export type ErrorContext = 'batch' | 'recordSet' | 'oldFencing' | 'quorum';

/** An error as controller results carry it (lib/metadata/controller-api.ts ItemError). */
export interface CodedError {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

const direct: Partial<Record<ErrorCode, KafkaErrorName>> = {
  NOT_LEADER: 'NOT_LEADER_OR_FOLLOWER',
  PROPOSAL_DROPPED: 'NOT_LEADER_OR_FOLLOWER',
  READ_DROPPED: 'NOT_LEADER_OR_FOLLOWER',
  CLOSED: 'NOT_LEADER_OR_FOLLOWER',
  LEADER_NOT_AVAILABLE: 'LEADER_NOT_AVAILABLE',
  NOT_READY: 'LEADER_NOT_AVAILABLE',
  UNKNOWN_TOPIC: 'UNKNOWN_TOPIC_OR_PARTITION',
  TIMEOUT: 'REQUEST_TIMED_OUT',
  BACKPRESSURE: 'REQUEST_TIMED_OUT',
  UNCOMMITTED_LIMIT: 'REQUEST_TIMED_OUT',
  CORRUPT: 'CORRUPT_MESSAGE',
  TOPIC_EXISTS: 'TOPIC_ALREADY_EXISTS',
  NOT_ENOUGH_NODES: 'INVALID_REPLICATION_FACTOR',
  OFFSET_OUT_OF_RANGE: 'OFFSET_OUT_OF_RANGE',
  FENCED_LEADER_EPOCH: 'FENCED_LEADER_EPOCH',
  UNKNOWN_LEADER_EPOCH: 'UNKNOWN_LEADER_EPOCH',
  POLICY_VIOLATION: 'POLICY_VIOLATION',
  INVALID_REQUEST: 'INVALID_REQUEST',
  NOT_CONTROLLER: 'NOT_CONTROLLER',
  INVALID_TOPIC_CONFIG: 'INVALID_CONFIG',
  INVALID_CONFIG: 'INVALID_CONFIG',
  INVALID_RECORD: 'INVALID_RECORD',
  OUT_OF_ORDER_SEQUENCE: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
  INVALID_PRODUCER_EPOCH: 'INVALID_PRODUCER_EPOCH',
  PRODUCER_FENCED: 'PRODUCER_FENCED',
  INVALID_TXN_STATE: 'INVALID_TXN_STATE',
  INVALID_PRODUCER_ID_MAPPING: 'INVALID_PRODUCER_ID_MAPPING',
  INVALID_TRANSACTION_TIMEOUT: 'INVALID_TRANSACTION_TIMEOUT',
  CONCURRENT_TRANSACTIONS: 'CONCURRENT_TRANSACTIONS',
  TRANSACTION_COORDINATOR_FENCED: 'TRANSACTION_COORDINATOR_FENCED',
  NOT_COORDINATOR: 'NOT_COORDINATOR',
  COORDINATOR_NOT_AVAILABLE: 'COORDINATOR_NOT_AVAILABLE',
  TRANSACTIONAL_ID_NOT_FOUND: 'TRANSACTIONAL_ID_NOT_FOUND',
  DUPLICATE_VOTER: 'DUPLICATE_VOTER',
  VOTER_NOT_FOUND: 'VOTER_NOT_FOUND',
};

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ErrorCodes, code);
}

/** The Kafka error name for an internal error code (and its message, which may refine it). */
export function kafkaErrorName(code: string, message: string, context: ErrorContext = 'batch', details: Readonly<Record<string, unknown>> = {}): KafkaErrorName {
  if (!isErrorCode(code)) return 'UNKNOWN_SERVER_ERROR';
  switch (code) {
    case 'TOO_LARGE':
      return context === 'recordSet' || details['scope'] === 'recordSet' ? 'RECORD_LIST_TOO_LARGE' : 'MESSAGE_TOO_LARGE';
    case 'INVALID_REQUEST':
      // A partition of AddPartitionsToTxn left alone because another one of the request failed.
      return details['operationNotAttempted'] === true ? 'OPERATION_NOT_ATTEMPTED' : 'INVALID_REQUEST';
    case 'NOT_CONTROLLER':
      // DescribeQuorum: no metadata leader answered (Kafka's Raft client says NOT_LEADER_OR_FOLLOWER).
      return context === 'quorum' ? 'NOT_LEADER_OR_FOLLOWER' : 'NOT_CONTROLLER';
    case 'PRODUCER_FENCED':
      // Kafka answers INVALID_PRODUCER_EPOCH to the versions before PRODUCER_FENCED existed.
      return context === 'oldFencing' ? 'INVALID_PRODUCER_EPOCH' : 'PRODUCER_FENCED';
    case 'INVALID_TOPIC':
      if (/replication factor/i.test(message)) return 'INVALID_REPLICATION_FACTOR';
      if (/partition/i.test(message) && !/topic name/i.test(message)) return 'INVALID_PARTITIONS';
      return 'INVALID_TOPIC_EXCEPTION';
    default:
      return direct[code] ?? 'UNKNOWN_SERVER_ERROR';
  }
}

/** Strips the "CODE: " prefix FlotillaError puts before its message. */
function plainMessage(code: string, message: string): string {
  return message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
}

/**
 * Maps anything a BrokerApi call threw or returned as an error to the Kafka code and message.
 * `null` (no error) gives NONE. Non-Flotilla errors are UNKNOWN_SERVER_ERROR with their message.
 */
export function kafkaError(err: unknown, context: ErrorContext = 'batch'): KafkaErrorValue {
  if (err === null || err === undefined) return NO_ERROR;
  if (err instanceof FlotillaError) {
    const message = plainMessage(err.code, err.message);
    return { errorCode: errorCode(kafkaErrorName(err.code, message, context, err.details)), errorMessage: message };
  }
  if (typeof err === 'object' && typeof (err as CodedError).code === 'string' && typeof (err as CodedError).message === 'string') {
    const e = err as CodedError;
    const message = plainMessage(e.code, e.message);
    return { errorCode: errorCode(kafkaErrorName(e.code, message, context, e.details ?? {})), errorMessage: message };
  }
  return { errorCode: errorCode('UNKNOWN_SERVER_ERROR'), errorMessage: err instanceof Error ? err.message : String(err) };
}

/** A Kafka error chosen by the server itself (validation that has no internal error). */
export function kafkaErrorOf(name: KafkaErrorName, message: string | null = null): KafkaErrorValue {
  return { errorCode: errorCode(name), errorMessage: message };
}
