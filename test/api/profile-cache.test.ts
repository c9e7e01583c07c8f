import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type BuiltApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { hashPassword } from '../../src/crypto/passwords.js';
import { createSequelize } from '../../src/db/database.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { sharedInstanceEnv } from '../helpers/instances.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { TEST_PASSWORD, userWithToken } from '../helpers/users.js';

/** Polls `check` every 25 ms until it holds or `ms` have passed; returns whether it held. */
async function within(ms: number, check: () => Promise<boolean> | boolean): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > deadline) return false;
    await sleep(25);
  }
}

describe('GET /api/users/me from the profile cache', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true });
  });
  afterAll(() => t.close());

  const me = (auth: string) => request(t.app).get('/api/users/me').set('Authorization', auth).expect(200);

  it('reads the account once for repeated requests', async () => {
    const who = await userWithToken(t);
    const before = t.modules.users.profiles.misses;
    for (let i = 0; i < 20; i += 1) expect((await me(who.auth)).body.email).toBe(who.user.email);
    expect(t.modules.users.profiles.misses - before).toBe(1);
  });

  it('answers with the new name right after PATCH /api/users/me', async () => {
    const who = await userWithToken(t);
    await me(who.auth);
    await request(t.app).patch('/api/users/me').set('Authorization', who.auth).send({ name: 'Renamed Person' }).expect(200);
    expect((await me(who.auth)).body.name).toBe('Renamed Person');
  });

  it('answers with the new role after an admin changes it and the person signs in again', async () => {
    const admin = await userWithToken(t, { role: 'admin' });
    const who = await userWithToken(t);
    expect((await me(who.auth)).body.role).toBe('user');
    await request(t.app).patch(`/api/admin/users/${who.user.id}`).set('Authorization', admin.auth).send({ role: 'counselor' }).expect(200);
    const again = await request(t.app).post('/api/auth/login').send({ email: who.user.email, password: TEST_PASSWORD, transport: 'body' }).expect(200);
    expect((await me(`Bearer ${again.body.accessToken}`)).body.role).toBe('counselor');
  });

  it('answers emailVerified: true once the address is verified, even if the profile was cached before', async () => {
    const who = await userWithToken(t, { verified: false });
    expect((await me(who.auth)).body.emailVerified).toBe(false);
    await t.modules.users.accounts.markEmailVerified(who.user.id);
    expect((await me(who.auth)).body.emailVerified).toBe(true);
  });
});

describe('the profile cache across two instances sharing Redis', () => {
  let database: TestDatabase;
  let redis: PrivateRedis;
  const apps: BuiltApp[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await startPrivateRedis();
    const env = await sharedInstanceEnv(database, { redisUrl: redis.url, name: 'profiles' });
    for (let i = 0; i < 2; i += 1) {
      const config = loadConfig(env);
      apps.push(createApp({ config, sequelize: createSequelize(config) }));
    }
    await within(10_000, () => apps.every((app) => app.infra.shared!.ready));
  }, 60_000);

  afterAll(async () => {
    for (const app of apps) await app.drain().catch(() => undefined);
    await redis?.stop();
    await database?.drop();
  });

  it('a rename on one instance reaches the other one’s cache within a second', async () => {
    const [a, b] = apps as [BuiltApp, BuiltApp];
    const email = `cached-${randomBytes(4).toString('hex')}@example.com`;
    await a.infra.models.User.create({ email, name: 'First Name', passwordHash: await hashPassword(TEST_PASSWORD), emailVerifiedAt: new Date() });
    const token = (await request(a.app).post('/api/auth/login').send({ email, password: TEST_PASSWORD, transport: 'body' }).expect(200)).body.accessToken as string;
    const meOn = (app: BuiltApp) => request(app.app).get('/api/users/me').set('Authorization', `Bearer ${token}`).expect(200);
    expect((await meOn(a)).body.name).toBe('First Name'); // cached on A

    await request(b.app).patch('/api/users/me').set('Authorization', `Bearer ${token}`).send({ name: 'Second Name' }).expect(200);

    expect(await within(1_000, async () => (await meOn(a)).body.name === 'Second Name')).toBe(true);
  });
});
