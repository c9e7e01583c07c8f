import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createSequelize } from '../../src/db/database.js';
import { hashPassword } from '../../src/crypto/passwords.js';
import { testContext } from '../helpers/app.js';
import { sharedInstanceEnv } from '../helpers/instances.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { TEST_PASSWORD } from '../helpers/users.js';

/**
 * Revocation rides on Redis pub/sub, which keeps nothing for a subscriber that is away. Two
 * instances over one database and one Redis; B reaches Redis through a proxy the test can
 * cut, so B alone misses a revocation announced by A. On reconnect B must stop trusting
 * every session it cached as active.
 */
describe('revocation across instances when one was disconnected from Redis', () => {
  let database: TestDatabase;
  let redis: PrivateRedis;
  let proxy: TcpProxy;
  const opened: { close(): Promise<void> }[] = [];

  function instance(redisUrl: string, env: Record<string, string>) {
    const config = loadConfig({ ...env, REDIS_URL: redisUrl });
    const sequelize = createSequelize(config);
    const built = createApp({ config, sequelize }); // the real 60 s recheck of session state
    const { app } = built;
    const context = testContext(built);
    opened.push({
      async close() {
        await context.events.flush();
        await context.shared?.close();
        await sequelize.close();
      },
    });
    return { app, context };
  }
  let a: ReturnType<typeof instance>;
  let b: ReturnType<typeof instance>;

  const login = async (email: string) =>
    (await request(a.app).post('/api/auth/login').send({ email, password: TEST_PASSWORD, transport: 'body' }).expect(200)).body.accessToken as string;
  const meOnB = (token: string) => request(b.app).get('/api/auth/me').set('Authorization', `Bearer ${token}`);
  const logoutOnA = (token: string) => request(a.app).post('/api/auth/logout').set('Authorization', `Bearer ${token}`).expect(204);

  /** Polls `check` every 50 ms until it holds or `ms` have passed; returns whether it held. */
  async function within(ms: number, check: () => Promise<boolean> | boolean): Promise<boolean> {
    const deadline = performance.now() + ms;
    for (;;) {
      if (await check()) return true;
      if (performance.now() > deadline) return false;
      await sleep(50);
    }
  }

  let emails: string[];
  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await startPrivateRedis();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: redis.port });
    const env = await sharedInstanceEnv(database, { name: 'reconnect', env: { RATE_LIMIT_GLOBAL_MAX: '5000', RATE_LIMIT_AUTH_MAX: '1000' } });
    a = instance(redis.url, env);
    b = instance(`redis://127.0.0.1:${proxy.port}`, env);
    const passwordHash = await hashPassword(TEST_PASSWORD);
    emails = [];
    for (let i = 0; i < 2; i += 1) {
      const email = `reconnect-${i}-${randomBytes(4).toString('hex')}@example.com`;
      await a.context.models.User.create({ email, name: 'Reconnect Person', passwordHash, emailVerifiedAt: new Date() });
      emails.push(email);
    }
  }, 60_000);

  afterAll(async () => {
    for (const app of opened.reverse()) await app.close().catch(() => undefined);
    await proxy?.close();
    await redis?.stop();
    await database?.drop();
  });

  it('B hears a revocation announced by A while connected (the control)', async () => {
    const token = await login(emails[0]!);
    await meOnB(token).expect(200); // cached as active on B, rechecked only after 60 s

    await logoutOnA(token);

    expect(await within(3_000, async () => (await meOnB(token)).status === 401)).toBe(true);
  });

  it('refuses on B, within 1 s of its reconnect, a session revoked on A while B was cut off from Redis', async () => {
    const token = await login(emails[1]!);
    await meOnB(token).expect(200);

    proxy.cut('reset');
    expect(await within(5_000, () => !b.context.shared!.ready)).toBe(true);
    await logoutOnA(token); // announced over Redis; B cannot hear it
    await meOnB(token).expect(200); // B still trusts what it cached: the announcement is lost

    const acceptedBefore = proxy.connections;
    proxy.restore();
    // Reconnected: both of B's Redis connections (commands, subscriber) are forwarded again.
    expect(await within(10_000, () => proxy.connections >= acceptedBefore + 2 && b.context.shared!.ready)).toBe(true);
    const refused = await within(1_000, async () => (await meOnB(token)).status === 401);

    expect(refused).toBe(true);
    expect((await meOnB(token)).body.code).toBe('INVALID_TOKEN');
  }, 30_000);
});
