import { Writable } from 'node:stream';
import { Logger } from '@nestjs/common';
import { JsonLogger, patientRef } from './json-logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('JSON logs', () => {
  it('writes one JSON object per line with level, time, app, context and message; object messages become fields', () => {
    const { lines, stream } = capture();
    const logger = new JsonLogger('worker', 'debug', stream);
    logger.log('started', 'Bootstrap');
    logger.debug({ msg: 'clinical event', eventId: 'e-1', correlationId: 'c-1' }, 'ClinicalEvents');
    logger.error('failed', 'Error: boom\n    at x', 'Relay');
    expect(lines).toEqual([
      { level: 30, time: expect.any(String), app: 'worker', context: 'Bootstrap', msg: 'started' },
      {
        level: 20,
        time: expect.any(String),
        app: 'worker',
        context: 'ClinicalEvents',
        msg: 'clinical event',
        eventId: 'e-1',
        correlationId: 'c-1',
      },
      {
        level: 50,
        time: expect.any(String),
        app: 'worker',
        context: 'Relay',
        msg: 'failed',
        stack: 'Error: boom\n    at x',
      },
    ]);
    expect(Date.parse(lines[0].time as string)).not.toBeNaN();
  });

  it('respects LOG_LEVEL', () => {
    const { lines, stream } = capture();
    const logger = new JsonLogger('api', 'warn', stream);
    logger.log('quiet');
    logger.debug('quieter');
    logger.warn('loud');
    expect(lines.map((l) => l.msg)).toEqual(['loud']);
  });

  it('is what Nest Logger instances write to once installed', () => {
    const { lines, stream } = capture();
    Logger.overrideLogger(new JsonLogger('api', 'log', stream));
    new Logger('Tasks').log({ msg: 'routed', taskId: 't-1' });
    Logger.overrideLogger(false);
    expect(lines).toEqual([expect.objectContaining({ context: 'Tasks', msg: 'routed', taskId: 't-1' })]);
  });
});

describe('patientRef', () => {
  it('is stable for a key, differs between keys and patients, and does not contain the id', () => {
    const ref = patientRef('k1', 'MRN0000001');
    expect(ref).toMatch(/^[0-9a-f]{16}$/);
    expect(patientRef('k1', 'MRN0000001')).toBe(ref);
    expect(patientRef('k2', 'MRN0000001')).not.toBe(ref);
    expect(patientRef('k1', 'MRN0000002')).not.toBe(ref);
    expect(ref).not.toContain('0000001');
  });
});
