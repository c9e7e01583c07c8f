import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { postgresUrl } from '../helpers/database.js';
import { capturingLogger } from '../helpers/logger.js';
import { userWithToken } from '../helpers/users.js';

/**
 * A failover in progress: PostgreSQL accepts reads but refuses writes with SQLSTATE 25006.
 * The test database is made read-only for new sessions (ALTER DATABASE … SET
 * default_transaction_read_only) and the app's connections are ended, so its pool reconnects
 * into read-only sessions, as it would to a standby.
 */
describe.skipIf(!postgresUrl)('a read-only database (PostgreSQL)', () => {
  const { logger, lines } = capturingLogger();
  let t: TestApp;
  let admin: pg.Client;
  let databaseName: string;
  let user: Awaited<ReturnType<typeof userWithToken>>;

  /** Sets the database's default for new sessions and ends the app's current ones. */
  async function setReadOnly(on: boolean) {
    await admin.query(on ? `ALTER DATABASE "${databaseName}" SET default_transaction_read_only = on` : `ALTER DATABASE "${databaseName}" RESET default_transaction_read_only`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [databaseName]);
  }

  /** Reads until the pool has replaced the ended connections (bounded in count, not time). */
  async function untilReadsWork() {
    for (let attempt = 0; attempt < 40; attempt += 1) {
      if ((await request(t.app).get('/api/users/me').set('Authorization', user.auth)).status === 200) return;
      await sleep(50);
    }
    throw new Error('reads never recovered');
  }

  const rename = (name: string) => request(t.app).patch('/api/users/me').set('Authorization', user.auth).send({ name });
  const loud = () => lines.filter((line) => line.level === 'warn' || line.level === 'error');

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_WRITE_MAX: '1000', RATE_LIMIT_AUTH_MAX: '1000' }, deps: { logger } });
    databaseName = new URL(t.config.database.url!).pathname.slice(1);
    admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    user = await userWithToken(t);
    await rename('Before Failover').expect(200);
  });

  afterAll(async () => {
    await setReadOnly(false).catch(() => undefined);
    await admin?.end();
    await t?.close();
  });

  it('answers writes and refreshes with 503 DATABASE_UNAVAILABLE and Retry-After, keeps reads working, and logs it once', async () => {
    await setReadOnly(true);
    await untilReadsWork();
    lines.length = 0;

    const writes = [];
    for (let i = 0; i < 8; i += 1) writes.push(await rename(`During Failover ${i}`));
    const refresh = await request(t.app).post('/api/auth/refresh').send({ refreshToken: user.refreshToken });
    const read = await request(t.app).get('/api/users/me').set('Authorization', user.auth);

    for (const res of [...writes, refresh]) {
      expect(res.status, res.text).toBe(503);
      expect(res.body.code).toBe('DATABASE_UNAVAILABLE');
      expect(res.body.detail).toMatch(/accepts no writes/);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).not.toHaveProperty('debug');
      expect(res.text).not.toMatch(/read-only transaction|UPDATE|25006/);
    }
    expect(read.status).toBe(200);
    expect(read.body.name).toBe('Before Failover');
    const failures = loud().filter((line) => line.message.includes('answering 503') || line.message === 'request failed');
    expect(failures.map((line) => line.message)).toEqual(['database:read-only: answering 503 DATABASE_UNAVAILABLE until it passes (logged once per change)']);
    expect(loud().filter((line) => line.level === 'error' && line.fields.code === 'DATABASE_ERROR')).toEqual([]);
    expect(t.context.errorHandler.stats.snapshot().total).toBeGreaterThanOrEqual(9);
  });

  it('takes writes again once the database accepts them', async () => {
    await setReadOnly(false);
    await untilReadsWork();

    for (let attempt = 0; attempt < 40; attempt += 1) {
      const res = await rename('After Failover');
      if (res.status === 200) break;
      expect(res.status).toBe(503);
      await sleep(50);
    }

    expect((await request(t.app).get('/api/users/me').set('Authorization', user.auth)).body.name).toBe('After Failover');
  });
});
