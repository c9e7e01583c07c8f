import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type AppLogger } from '../../src/infra/logger.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { captureLogs } from '../helpers/log-capture.js';

const lines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('log lines of a request (JSON)', () => {
  let t: TestApp;
  let logs: AppLogger;
  const { sink, text } = captureLogs();

  beforeAll(async () => {
    logs = createLogger({ level: 'info', format: 'json' }, sink);
    t = await createTestApp({
      lenientLimits: true,
      deps: { logs },
      extraRoutes: (router) =>
        router.post('/test/log', async (req, res) => {
          await new Promise((resolve) => setTimeout(resolve, 5)); // a later turn of the event loop
          logs.info('handled', { note: req.body.note });
          res.json({ ok: true });
        }),
    });
  });
  afterAll(() => t.close());

  it('carries the request id on the access line and on app lines written within the request, after the body was parsed', async () => {
    const response = await request(t.app).post('/test/log').set('X-Request-Id', 'req-log-1').send({ note: 'line one\n{"level":"error","msg":"forged"}' }).expect(200);
    expect(response.headers['x-request-id']).toBe('req-log-1');
    await logs.flush();
    const written = lines(text.out);
    const handled = written.find((line) => line.msg === 'handled');
    const access = written.find((line) => line.msg === 'request' && line.path === '/test/log');
    expect(handled).toMatchObject({ level: 'info', requestId: 'req-log-1', note: 'line one\n{"level":"error","msg":"forged"}' });
    expect(access).toMatchObject({ requestId: 'req-log-1', method: 'POST', status: 200 });
    expect(written.some((line) => line.msg === 'forged')).toBe(false); // the newline stayed inside its JSON string
  });

  it('never writes the Authorization header, cookies or auth query values on the access line', async () => {
    await request(t.app).get('/api/auth/verify-email?token=secret-token-value').set('Authorization', 'Bearer not-a-real-token').set('Cookie', 'refresh=abc');
    await logs.flush();
    const everything = text.out + text.err;
    expect(everything).not.toContain('secret-token-value');
    expect(everything).not.toContain('not-a-real-token');
    expect(everything).toContain('token=[redacted]');
  });

  it('writes lines outside a request without a request id, warnings to stderr', async () => {
    logs.warn('outside', { password: 'hunter2', nested: { token: 'abc' } });
    await logs.flush();
    const [line] = lines(text.err).filter((entry) => entry.msg === 'outside');
    expect(line).toMatchObject({ level: 'warn', password: '[redacted]', nested: { token: '[redacted]' } });
    expect(line).not.toHaveProperty('requestId');
  });
});
