// The one mapping from FlotillaError codes to Kafka error codes.
import { expect } from 'chai';
import { FlotillaError } from '../../lib/base/errors.js';
import { errorCode, errorName } from '../../lib/kafka/errors.js';
import { NO_ERROR, kafkaError } from '../../lib/server/errors.js';

const nameOf = (err: unknown, context?: 'batch' | 'recordSet'): string | undefined => errorName(kafkaError(err, context).errorCode);

describe('server errors: FlotillaError → Kafka error code', () => {
  it('maps every code of the table', () => {
    const cases: [string, string, string][] = [
      ['NOT_LEADER', 'x', 'NOT_LEADER_OR_FOLLOWER'],
      ['PROPOSAL_DROPPED', 'x', 'NOT_LEADER_OR_FOLLOWER'],
      ['LEADER_NOT_AVAILABLE', 'x', 'LEADER_NOT_AVAILABLE'],
      ['NOT_READY', 'x', 'LEADER_NOT_AVAILABLE'],
      ['UNKNOWN_TOPIC', 'x', 'UNKNOWN_TOPIC_OR_PARTITION'],
      ['TIMEOUT', 'x', 'REQUEST_TIMED_OUT'],
      ['BACKPRESSURE', 'x', 'REQUEST_TIMED_OUT'],
      ['UNCOMMITTED_LIMIT', 'x', 'REQUEST_TIMED_OUT'],
      ['CORRUPT', 'x', 'CORRUPT_MESSAGE'],
      ['TOO_LARGE', 'x', 'MESSAGE_TOO_LARGE'],
      ['INVALID_TOPIC', 'topic name "a b" may contain only ...', 'INVALID_TOPIC_EXCEPTION'],
      ['INVALID_TOPIC', 'partition count 0 is not an integer in [1, 10000]', 'INVALID_PARTITIONS'],
      ['INVALID_TOPIC', 'topic "t" has 3 partitions; the new count 2 must be larger', 'INVALID_PARTITIONS'],
      ['INVALID_TOPIC', 'replication factor 0 is not an integer in [1, 16]', 'INVALID_REPLICATION_FACTOR'],
      ['TOPIC_EXISTS', 'x', 'TOPIC_ALREADY_EXISTS'],
      ['NOT_ENOUGH_NODES', 'x', 'INVALID_REPLICATION_FACTOR'],
      ['OFFSET_OUT_OF_RANGE', 'x', 'OFFSET_OUT_OF_RANGE'],
      ['FENCED_LEADER_EPOCH', 'x', 'FENCED_LEADER_EPOCH'],
      ['UNKNOWN_LEADER_EPOCH', 'x', 'UNKNOWN_LEADER_EPOCH'],
      ['POLICY_VIOLATION', 'x', 'POLICY_VIOLATION'],
      ['INVALID_REQUEST', 'x', 'INVALID_REQUEST'],
      ['NOT_CONTROLLER', 'x', 'NOT_CONTROLLER'],
      ['INVALID_TOPIC_CONFIG', 'x', 'INVALID_CONFIG'],
      ['INVALID_RECORD', 'x', 'INVALID_RECORD'],
      ['CONFIG_CHANGE_INVALID', 'x', 'UNKNOWN_SERVER_ERROR'],
    ];
    for (const [code, message, kafka] of cases) {
      expect(nameOf(new FlotillaError(code as never, message)), `${code}: ${message}`).to.equal(kafka);
      // Controller results carry { code, message } (ItemError): same mapping.
      expect(nameOf({ code, message }), `item ${code}`).to.equal(kafka);
    }
  });

  it('TOO_LARGE is RECORD_LIST_TOO_LARGE for a whole record set', () => {
    expect(nameOf(new FlotillaError('TOO_LARGE', 'x'), 'recordSet')).to.equal('RECORD_LIST_TOO_LARGE');
    expect(nameOf(new FlotillaError('TOO_LARGE', 'x', { scope: 'recordSet' }))).to.equal('RECORD_LIST_TOO_LARGE');
  });

  it('keeps the message without the code prefix; null is NONE; anything else UNKNOWN_SERVER_ERROR', () => {
    expect(kafkaError(new FlotillaError('NOT_LEADER', 'leader is 3'))).to.deep.equal({ errorCode: 6, errorMessage: 'leader is 3' });
    expect(kafkaError(null)).to.equal(NO_ERROR);
    expect(kafkaError(new TypeError('boom'))).to.deep.equal({ errorCode: errorCode('UNKNOWN_SERVER_ERROR'), errorMessage: 'boom' });
    expect(kafkaError({ code: 'NO_SUCH_CODE', message: 'm' }).errorCode).to.equal(-1);
  });
});
