import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createSequelize } from '../../src/db/database.js';
import { JobLocks, newHolderId } from '../../src/infra/job-locks.js';
import { createLogger } from '../../src/infra/logger.js';
import { hashPassword } from '../../src/crypto/passwords.js';
import { InvalidTokenError } from '../../src/modules/auth/access-tokens.js';
import { OneTimeTokens } from '../../src/modules/auth/one-time-tokens.js';
import { AuditChain } from '../../src/modules/security-events/audit-chain.js';
import { sharedInstanceEnv } from '../helpers/instances.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { TEST_PASSWORD } from '../helpers/users.js';

/**
 * `npm run breach:respond` (src/cli/breach-response.ts) run as its own process against a
 * database that a real app prepared: every signing key retired at once, every login
 * session revoked, unused one-time links gone, the event recorded; and the AUTH_SECRET
 * rotation that follows it in docs/OPERATIONS.md.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NEW_PASSWORD = 'quartz-meadow-lantern-orbit-58';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as an operator runs it, through tsx instead of the build, with only the given environment. */
function runBreachResponse(env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      'npx',
      ['tsx', 'src/cli/breach-response.ts'],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('npm run breach:respond', () => {
  let database: TestDatabase;
  let redis: PrivateRedis;
  let env: Record<string, string>;
  const opened: { close(): Promise<void> }[] = [];

  /** An app instance over the shared database, as a server process would build it. */
  function instance(overrides: Record<string, string> = {}, sessionRecheckMs?: number) {
    const config = loadConfig({ ...env, ...overrides });
    const sequelize = createSequelize(config);
    const { app, infra, modules } = createApp({ config, sequelize, sessionRecheckMs });
    opened.push({
      async close() {
        await infra.shared?.close();
        await sequelize.close();
      },
    });
    return { app, infra, modules };
  }
  type Instance = ReturnType<typeof instance>;

  let running: Instance;
  let cli: CliResult;
  let tokens: { accessToken: string; refreshToken: string }[];
  let oldKid: string;
  let resetLink: string;
  const users: { id: string; email: string }[] = [];

  const login = (app: Instance['app'], email: string) =>
    request(app).post('/api/auth/login').send({ email, password: TEST_PASSWORD, transport: 'body' });
  const me = (app: Instance['app'], accessToken: string) => request(app).get('/api/auth/me').set('Authorization', `Bearer ${accessToken}`);

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = await startPrivateRedis();
    env = await sharedInstanceEnv(database, { redisUrl: redis.url, name: 'breach' });

    // A running instance with Redis, whose session state is trusted for 10 minutes: only the
    // revocation message can make it refuse a session it has already seen as active.
    running = instance({}, 600_000);
    const passwordHash = await hashPassword(TEST_PASSWORD);
    for (const name of ['Breach Client', 'Breach Counselor']) {
      const email = `breach-${randomBytes(4).toString('hex')}@example.com`;
      const user = await running.infra.models.User.create({ email, name, passwordHash, emailVerifiedAt: new Date(), role: name.endsWith('Counselor') ? 'counselor' : 'user' });
      users.push({ id: user.id, email });
    }
    tokens = [];
    for (const email of [users[0]!.email, users[0]!.email, users[1]!.email]) {
      const res = await login(running.app, email).expect(200);
      tokens.push({ accessToken: res.body.accessToken, refreshToken: res.body.refreshToken });
    }
    for (const { accessToken } of tokens) await me(running.app, accessToken).expect(200); // verified and cached as active
    oldKid = jose.decodeProtectedHeader(tokens[0]!.accessToken).kid!;
    resetLink = await new OneTimeTokens(running.infra.sequelize, running.infra.models, running.modules.users.accounts.lock).issue(users[0]!.id, 'reset_password', 30 * 60_000);
    await running.modules.securityEvents.recorder.flush();

    cli = await runBreachResponse(env);
  }, 120_000);

  afterAll(async () => {
    for (const app of opened.reverse()) await app.close().catch(() => undefined);
    await redis?.stop();
    await database?.drop();
  });

  it('exits 0 and prints what it did and the remaining AUTH_SECRET step', () => {
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain('login sessions: 3 revoked (reason breach_response)');
    expect(cli.stdout).toContain('signing keys:   1 retired at once');
    expect(cli.stdout).toContain('one-time links: 1 unused');
    expect(cli.stdout).toContain('told over Redis');
    expect(cli.stdout).toMatch(/Remaining manual step[\s\S]*AUTH_SECRET[\s\S]*npm run breach:respond` again/);
    for (const { accessToken, refreshToken } of tokens) {
      expect(cli.stdout + cli.stderr).not.toContain(accessToken);
      expect(cli.stdout + cli.stderr).not.toContain(refreshToken);
    }
  });

  it('revokes every login session in the database with reason breach_response', async () => {
    const sessions = await running.infra.models.AuthSession.findAll();
    expect(sessions).toHaveLength(3);
    for (const session of sessions) {
      expect(session.revokedAt).not.toBeNull();
      expect(session.revokedReason).toBe('breach_response');
    }
  });

  it('makes a running instance refuse the old access tokens at once, although it had cached them as valid', async () => {
    for (const { accessToken } of tokens) {
      const res = await me(running.app, accessToken).expect(401);
      expect(res.body.code).toBe('INVALID_TOKEN');
    }
  });

  it('a fresh instance refuses the old access token: its signing key is retired', async () => {
    const fresh = instance({ REDIS_URL: '' });
    const res = await me(fresh.app, tokens[0]!.accessToken).expect(401);
    expect(res.body.code).toBe('INVALID_TOKEN');
    // Refused for the key itself, not only for the revoked session.
    const error = await fresh.modules.auth.accessTokens.verify(tokens[0]!.accessToken).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect((error as InvalidTokenError).reason).toBe('unknown key');
  });

  it('refuses the refresh tokens', async () => {
    const fresh = instance({ REDIS_URL: '' });
    for (const { refreshToken } of tokens) {
      const res = await request(fresh.app).post('/api/auth/refresh').send({ refreshToken }).expect(401);
      expect(res.body.code).toBe('INVALID_REFRESH_TOKEN');
    }
  });

  it('publishes only the new key in the JWKS; the old kid is gone and retired in the database', async () => {
    const fresh = instance({ REDIS_URL: '' });
    const res = await request(fresh.app).get('/.well-known/jwks.json').expect(200);
    const kids = (res.body.keys as { kid: string }[]).map((key) => key.kid);
    expect(kids).toHaveLength(1);
    expect(kids).not.toContain(oldKid);
    expect(cli.stdout).toContain(`new current key ${kids[0]}`);
    const old = await fresh.infra.models.SigningKey.findByPk(oldKid);
    expect(old!.retireAt!.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('deletes the unused one-time links: the reset link no longer works', async () => {
    expect(await running.infra.models.OneTimeToken.count({ where: { usedAt: null } })).toBe(0);
    const fresh = instance({ REDIS_URL: '' });
    const res = await request(fresh.app).post('/api/auth/reset-password').send({ token: resetLink, password: NEW_PASSWORD }).expect(400);
    expect(res.body.code).toBe('INVALID_OR_EXPIRED_TOKEN');
  });

  it('records suspicious_activity with the action and the count, sealed into a chain that verifies', async () => {
    const { models, sequelize } = running.infra;
    const events = await models.SecurityEvent.findAll({ where: { type: 'suspicious_activity' } });
    expect(events).toHaveLength(1);
    expect(events[0]!.metadata).toMatchObject({ action: 'breach_response', sessionsRevoked: 3 });
    expect(events[0]!.seq).not.toBeNull();
    const chain = new AuditChain(sequelize, models, new JobLocks(models, newHolderId()), createLogger({ level: 'silent', format: 'json' }));
    expect((await chain.verify()).ok).toBe(true);
  });

  it('lets people sign in again, with tokens under the new key', async () => {
    const fresh = instance({ REDIS_URL: '' });
    const res = await login(fresh.app, users[0]!.email).expect(200);
    const [newKid] = (await fresh.modules.auth.keys.jwks()).keys.map((key) => key.kid);
    expect(jose.decodeProtectedHeader(res.body.accessToken).kid).toBe(newKid);
    await me(fresh.app, res.body.accessToken).expect(200);
  });

  describe('then AUTH_SECRET rotated in the platform (docs/OPERATIONS.md)', () => {
    const newSecret = randomBytes(32).toString('base64url');
    let keyUnderOldSecret: string;

    it('keeps the key sealed under the old secret trusted by instances on the new secret only until its tokens expire', async () => {
      const current = await running.infra.models.SigningKey.findAll({ where: { retireAt: null } });
      expect(current).toHaveLength(1); // the key the first run made, sealed under the old secret
      keyUnderOldSecret = current[0]!.kid;
      const restarted = instance({ AUTH_SECRET: newSecret, REDIS_URL: '' });
      await login(restarted.app, users[0]!.email); // whatever the instance does about a key it cannot open
      const fresh = instance({ AUTH_SECRET: newSecret, REDIS_URL: '' });
      const res = await request(fresh.app).get('/.well-known/jwks.json');
      const kids = res.status === 200 ? (res.body.keys as { kid: string }[]).map((key) => key.kid) : [];
      // The restarted instance could not open it, made its own key and scheduled this one to retire.
      const stillActive = await running.infra.models.SigningKey.findByPk(keyUnderOldSecret);
      expect(stillActive!.retireAt).toBeInstanceOf(Date);
      expect(stillActive!.retireAt!.getTime()).toBeGreaterThan(Date.now());
      expect(res.status).toBe(200);
      expect(kids).toContain(keyUnderOldSecret);
    });

    it('running it again with the new secret retires every key of the old secret, revokes the sessions opened meanwhile, and sign-in works', async () => {
      const active = await running.infra.models.AuthSession.count({ where: { revokedAt: null } });
      expect(active).toBeGreaterThan(0); // the sign-in after the first run, at least
      const again = await runBreachResponse({ ...env, AUTH_SECRET: newSecret });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain(`login sessions: ${active} revoked`);
      expect(await running.infra.models.AuthSession.count({ where: { revokedAt: null } })).toBe(0);

      const fresh = instance({ AUTH_SECRET: newSecret, REDIS_URL: '' });
      const kids = ((await request(fresh.app).get('/.well-known/jwks.json').expect(200)).body.keys as { kid: string }[]).map((key) => key.kid);
      expect(kids).toHaveLength(1);
      expect(kids).not.toContain(keyUnderOldSecret);
      expect(again.stdout).toContain(`new current key ${kids[0]}`);
      const res = await login(fresh.app, users[1]!.email).expect(200);
      expect(jose.decodeProtectedHeader(res.body.accessToken).kid).toBe(kids[0]);
      await me(fresh.app, res.body.accessToken).expect(200);
    }, 90_000);
  });
});
