import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LogSink } from '../../src/infra/log-sink.js';
import { createLogger, readableLine, redactFields } from '../../src/infra/logger.js';
import { runWithRequestId } from '../../src/infra/request-context.js';
import { captureLogs } from '../helpers/log-capture.js';

const FORGED = 'hello\n2026-01-01 ERROR forged line';

describe('logger', () => {
  it('JSON: one parseable line per call, secrets redacted at any of the known keys', async () => {
    const { sink, text } = captureLogs();
    const logger = createLogger({ level: 'debug', format: 'json' }, sink);
    logger.info(FORGED, { authorization: 'Bearer abc', cookie: 'a=b', body: { password: 'pw', currentPassword: 'pw2', text: 'session text' } });
    await logger.flush();
    const lines = text.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', msg: FORGED, authorization: '[redacted]', cookie: '[redacted]', body: { password: '[redacted]', currentPassword: '[redacted]', text: '[redacted]' } });
    expect(typeof line.time).toBe('string');
  });

  it('redaction: the headers of a request or response too, deeper values left alone, and the caller’s object never changed', async () => {
    const { sink, text } = captureLogs();
    const logger = createLogger({ level: 'info', format: 'json' }, sink);
    const fields = { req: { method: 'GET', headers: { authorization: 'Bearer abc', cookie: 'sid=1', accept: 'json' } }, res: { headers: { 'set-cookie': 'sid=2' } }, deep: { a: { b: { token: 'kept three levels down' } } }, refreshToken: 'r' };
    const before = JSON.stringify(fields);
    logger.info('headers', fields);
    await logger.flush();
    expect(JSON.parse(text.out)).toMatchObject({
      req: { method: 'GET', headers: { authorization: '[redacted]', cookie: '[redacted]', accept: 'json' } },
      res: { headers: { 'set-cookie': '[redacted]' } },
      refreshToken: '[redacted]',
    });
    expect(JSON.stringify(fields)).toBe(before);
    const plain = { method: 'GET', path: '/health', status: 200 };
    expect(redactFields(plain)).toBe(plain); // nothing secret: no copy
  });

  it('development format: a message or value with a newline stays on one line', async () => {
    const { sink, text } = captureLogs();
    const logger = createLogger({ level: 'debug', format: 'dev' }, sink);
    logger.info(FORGED, { path: '/x\ny', agent: 'a\u001b[31m' });
    logger.error('failed', { error: 'TypeError' });
    await logger.flush();
    expect(text.out.trim().split('\n')).toHaveLength(1);
    expect(text.out).toContain('hello\\n2026-01-01 ERROR forged line');
    expect(text.out).not.toContain('\u001b');
    expect(text.err.trim().split('\n')).toHaveLength(1);
    expect(text.err).toContain('failed');
  });

  it('the fallback line (no pino-pretty installed) escapes control characters too', () => {
    const line = readableLine(JSON.stringify({ level: 'info', time: '2026-01-01T10:00:00.000Z', msg: FORGED, path: '/a\nb', n: 2, word: 'plain' }));
    expect(line.trimEnd().split('\n')).toHaveLength(1);
    expect(line).toBe('10:00:00.000 INFO  hello\\n2026-01-01 ERROR forged line path="/a\\nb" n=2 word=plain\n');
  });

  it('adds the request id in scope, and never overrides one given', async () => {
    const { sink, text } = captureLogs();
    const logger = createLogger({ level: 'info', format: 'json' }, sink);
    runWithRequestId('abc', () => {
      logger.info('one');
      logger.info('two', { requestId: 'given' });
    });
    logger.debug('below the level');
    await logger.flush();
    const lines = text.out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.requestId)).toEqual(['abc', 'given']);
  });

  it('writes nothing at level silent', async () => {
    const { sink, text } = captureLogs();
    const logger = createLogger({ level: 'silent', format: 'json' }, sink);
    logger.error('nothing');
    await logger.flush();
    expect(text.out + text.err).toBe('');
  });
});

describe('log sink', () => {
  it('counts the lines a bounded destination drops for a slow reader, and keeps writing what fits', () => {
    const out = new PassThrough();
    const err = new PassThrough();
    const sink = new LogSink({ out, err });
    sink.write('out', 'kept\n');
    out.emit('drop', 'a line past the bound\n'); // what sonic-boom emits past maxLength
    out.emit('drop', 'another\n');
    expect(sink.dropped).toBe(2);
    expect(String(out.read())).toBe('kept\n');
  });
});
