import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSequelize } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrator.js';
import { createTestDatabase, postgresUrl, type TestDatabase } from '../helpers/database.js';
import { loopback, type LoopbackRequest } from '../helpers/loopback-http.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { TEST_PASSWORD } from '../helpers/users.js';

/**
 * docs/DESIGN.md §11, N instances with shared Redis (one rate limit and instant revocation
 * across them): two API processes on their own loopback ports, one PostgreSQL database, one
 * Redis (a private redis-server, so nothing else sharing a Redis can disturb the counts).
 */

const GLOBAL_MAX = 20;

// Every scenario sends from a client address of its own (127.0.0.x): rate limits are per
// client, so one scenario's traffic never eats into another's budget.
const CLIENT = {
  sequential: '127.0.0.2',
  concurrent: '127.0.0.3',
  revocationSetup: '127.0.0.4',
  revocationPoll: '127.0.0.5',
  throttleA: '127.0.0.6',
  throttleB: '127.0.0.7',
} as const;

describe.skipIf(!postgresUrl)('two instances sharing PostgreSQL and Redis', () => {
  let database: TestDatabase;
  let redis: PrivateRedis;
  let a: ServerProcess;
  let b: ServerProcess;
  const started: ServerProcess[] = [];

  async function readyProbe(server: ServerProcess): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await loopback({ port: server.port, path: '/health/ready' }).catch(() => undefined);
      if (res?.status === 200 && res.body?.status === 'ready') return;
      if (Date.now() > deadline) throw new Error(`instance on ${server.port} never became ready:\n${server.output()}`);
      await sleep(100);
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    const sequelize = createSequelize({ dataDir: '', database: { url: database.env.DATABASE_URL, poolMax: 1, readyTimeoutMs: 2_000 } });
    try {
      await migrate(sequelize);
    } finally {
      await sequelize.close();
    }
    redis = await startPrivateRedis();

    const env = {
      NODE_ENV: 'test',
      ...database.env,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `confidant-multi-${randomBytes(4).toString('hex')}:`,
      AUTH_SECRET: randomBytes(32).toString('base64url'),
      DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64url'),
      REQUIRE_EMAIL_VERIFICATION: 'false',
      RATE_LIMIT_GLOBAL_MAX: String(GLOBAL_MAX),
      JOBS_INTERVAL_S: '0',
      PORT: '0',
    };
    // One after the other: the first generates the signing key, the second finds it.
    a = await startServerProcess(env, 60_000);
    started.push(a);
    await readyProbe(a);
    b = await startServerProcess(env, 60_000);
    started.push(b);
    await readyProbe(b);
    expect(a.port).not.toBe(b.port);
  }, 90_000);

  afterAll(async () => {
    await Promise.allSettled(started.map((server) => server.stop('SIGKILL')));
    await redis?.stop();
    await database?.drop();
  });

  const call = (server: ServerProcess, options: Omit<LoopbackRequest, 'port'>) => loopback({ port: server.port, timeoutMs: 10_000, ...options });

  /** Registers (through A) and logs in (through `via`), returning the access token. */
  async function signUp(via: ServerProcess, from: string) {
    const email = `multi-${randomUUID().slice(0, 8)}@example.com`;
    const registered = await call(a, { method: 'POST', path: '/api/auth/register', from, json: { email, password: TEST_PASSWORD, name: 'Multi Instance' } });
    expect(registered.status, registered.text).toBe(202);
    const login = await call(via, { method: 'POST', path: '/api/auth/login', from, json: { email, password: TEST_PASSWORD, transport: 'body' } });
    expect(login.status, login.text).toBe(200);
    return { email, accessToken: login.body.accessToken as string, sessionId: login.body.session.id as string };
  }

  it('a global limit of N admits exactly N requests across both instances, one after another', async () => {
    const statuses: { instance: 'A' | 'B'; status: number }[] = [];
    for (let i = 0; i < GLOBAL_MAX + 10; i += 1) {
      const instance = i % 2 === 0 ? 'A' : 'B';
      const res = await call(instance === 'A' ? a : b, { path: '/api/auth/me', from: CLIENT.sequential });
      statuses.push({ instance, status: res.status });
      if (res.status === 429) {
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.headers['retry-after']).toBeDefined();
      } else {
        expect(res.status).toBe(401); // anonymous: the tier counted it, then requireAuth refused it
        expect(res.headers['ratelimit']).toBeDefined();
      }
    }
    const admitted = statuses.filter((s) => s.status !== 429);
    expect(admitted).toHaveLength(GLOBAL_MAX);
    // The first N are admitted (half by each instance), every later one is refused by both.
    expect(statuses.slice(0, GLOBAL_MAX).every((s) => s.status === 401)).toBe(true);
    expect(statuses.slice(GLOBAL_MAX).every((s) => s.status === 429)).toBe(true);
    expect(new Set(statuses.slice(GLOBAL_MAX).map((s) => s.instance))).toEqual(new Set(['A', 'B']));
    expect(admitted.filter((s) => s.instance === 'A')).toHaveLength(GLOBAL_MAX / 2);

    // /health stays outside the tiers on both, even for a client that is over its limit.
    for (const server of [a, b]) expect((await call(server, { path: '/health', from: CLIENT.sequential })).status).toBe(200);
  }, 60_000);

  it('admits exactly N of 3N concurrent requests spread over both instances', async () => {
    const responses = await Promise.all(
      Array.from({ length: GLOBAL_MAX * 3 }, (_, i) => call(i % 2 === 0 ? a : b, { path: '/api/auth/me', from: CLIENT.concurrent })),
    );
    const statuses = responses.map((res) => res.status);
    expect(statuses.filter((status) => status !== 429)).toHaveLength(GLOBAL_MAX);
    expect(statuses.every((status) => status === 401 || status === 429)).toBe(true);
  }, 60_000);

  it('refuses a session logged out through A on B within 1 s, although B had cached it as active', async () => {
    const { accessToken } = await signUp(a, CLIENT.revocationSetup);
    const auth = { authorization: `Bearer ${accessToken}` };

    // B verifies A's token and caches the session as active (rechecked only every 60 s).
    const warm = await call(b, { path: '/api/auth/me', headers: auth, from: CLIENT.revocationSetup });
    expect(warm.status, warm.text).toBe(200);

    const logout = await call(a, { method: 'POST', path: '/api/auth/logout', headers: auth, from: CLIENT.revocationSetup });
    expect(logout.status, logout.text).toBe(204);
    const loggedOutAt = performance.now();

    let elapsed = Number.POSITIVE_INFINITY;
    const seen: number[] = [];
    // Bounded in count (under the poll client's budget of N) and in time (3 s).
    for (let attempt = 0; attempt < GLOBAL_MAX - 2; attempt += 1) {
      const res = await call(b, { path: '/api/auth/me', headers: auth, from: CLIENT.revocationPoll });
      seen.push(res.status);
      if (res.status === 401) {
        elapsed = performance.now() - loggedOutAt;
        expect(res.body.code).toBe('INVALID_TOKEN');
        break;
      }
      expect(res.status, res.text).toBe(200);
      if (performance.now() - loggedOutAt > 3_000) break;
      await sleep(50);
    }
    process.stdout.write(`[multi-instance] logout through A refused by B after ${Math.round(elapsed)} ms (polls: ${seen.join(',')})\n`);
    expect(seen).toContain(401);
    expect(elapsed).toBeLessThan(1_000); // docs/DESIGN.md §5.4: refused on every instance within 1 s

    // A, where the logout happened, refuses it too.
    expect((await call(a, { path: '/api/auth/me', headers: auth, from: CLIENT.revocationSetup })).status).toBe(401);
  }, 60_000);

  it('shares per-account login slowing: 5 failures through A, the 6th attempt through B is throttled', async () => {
    const email = `throttle-${randomUUID().slice(0, 8)}@example.com`;
    const registered = await call(a, { method: 'POST', path: '/api/auth/register', from: CLIENT.throttleA, json: { email, password: TEST_PASSWORD, name: 'Throttle Target' } });
    expect(registered.status, registered.text).toBe(202);

    for (let i = 0; i < 5; i += 1) {
      const res = await call(a, { method: 'POST', path: '/api/auth/login', from: CLIENT.throttleA, json: { email, password: `wrong-${i}-${TEST_PASSWORD}`, transport: 'body' } });
      expect(res.status, res.text).toBe(401);
    }
    // From another instance and another client address, even with the right password.
    const sixth = await call(b, { method: 'POST', path: '/api/auth/login', from: CLIENT.throttleB, json: { email, password: TEST_PASSWORD, transport: 'body' } });
    expect(sixth.status, sixth.text).toBe(429);
    expect(sixth.body.code).toBe('LOGIN_THROTTLED');
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(0);
  }, 60_000);

  it('kept both processes alive throughout', () => {
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
  });
});
