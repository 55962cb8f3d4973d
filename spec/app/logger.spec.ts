import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger, lineLogger } from '../../lib/app/logger.js';

/** A destination that keeps the parsed JSON lines. */
function capture(): { lines: Array<Record<string, unknown>>; stream: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('app/logger', () => {
  it('writes JSON lines carrying the node id, level label and time', () => {
    const { lines, stream } = capture();
    const log = createLogger({ nodeId: 3, destination: stream });
    log.info({ topic: 't' }, 'hello');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ nodeId: 3, level: 'info', msg: 'hello', topic: 't' });
    expect(lines[0]?.time).to.be.a('string');
  });

  it('child loggers add group and term to every line', () => {
    const { lines, stream } = capture();
    const log = createLogger({ nodeId: 1, destination: stream }).child({ group: 'orders-0', term: 4 });
    log.warn('stepped down');
    log.info('again');
    expect(lines.map((l) => [l.nodeId, l.group, l.term, l.level])).to.deep.equal([
      [1, 'orders-0', 4, 'warn'],
      [1, 'orders-0', 4, 'info'],
    ]);
  });

  it('honours the level', () => {
    const { lines, stream } = capture();
    const log = createLogger({ nodeId: 1, level: 'warn', destination: stream });
    log.info('dropped');
    log.debug('dropped');
    log.error('kept');
    expect(lines.map((l) => l.msg)).to.deep.equal(['kept']);
  });

  it('lineLogger adapts to (line) => void with fixed or computed fields and a level by content', () => {
    const { lines, stream } = capture();
    const log = createLogger({ nodeId: 2, destination: stream });
    let term = 1;
    const fixed = lineLogger(log, { group: '__metadata' });
    const computed = lineLogger(log, () => ({ group: 't-1', term }));
    fixed('became leader');
    term = 2;
    computed('snapshot failed: disk full');
    computed('host 2: FATAL boom');
    lineLogger(log, {}, { level: 'debug' })('not shown at info');
    expect(lines.map((l) => [l.group, l.term, l.level, l.msg])).to.deep.equal([
      ['__metadata', undefined, 'info', 'became leader'],
      ['t-1', 2, 'warn', 'snapshot failed: disk full'],
      ['t-1', 2, 'error', 'host 2: FATAL boom'],
    ]);
    expect(lines.every((l) => l.nodeId === 2)).to.equal(true);
  });
});
