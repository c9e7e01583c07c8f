import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as jose from 'jose';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { createApp } from '../../src/app.js';
import { createSequelize } from '../../src/db/database.js';
import { createMigrator, migrate } from '../../src/db/migrator.js';
import { ACTIVATION_DELAY_MS, CLOCK_SKEW_S } from '../../src/modules/auth/signing-keys.js';
import { createTestApp, testContext, type TestApp } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/database.js';
import { userWithToken } from '../helpers/users.js';

/**
 * Staged signing-key rotation: next → current → retiring. A new key is published first and
 * signs only once every JWKS cache (max-age=300) has seen it; every instance switches by
 * itself at the activation time.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const kidOf = (token: string) => jose.decodeProtectedHeader(token).kid!;
const me = (app: TestApp['app'], token: string) => request(app).get('/api/auth/me').set('Authorization', `Bearer ${token}`);

async function jwksKids(app: TestApp['app']): Promise<string[]> {
  const res = await request(app).get('/.well-known/jwks.json').expect(200);
  return (res.body.keys as jose.JWK[]).map((key) => key.kid!);
}

/** Only the clock moves (no timers run): the app sees `ms` more of wall time. */
function advanceClock(ms: number): void {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + ms });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('staged signing key rotation', () => {
  // The clock only moves forward within one app: the first two tests share it.
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true });
  });
  afterAll(() => t.close());

  it('publishes a next key at once, keeps signing with the current one, and switches by itself at the activation time', async () => {
    const before = await userWithToken(t);
    const oldKid = kidOf(before.accessToken);
    const rotatedAt = Date.now();

    const newKid = await t.modules.auth.keys.rotate();

    // next: published (JWKS caches pick it up), not yet signing.
    expect(await jwksKids(t.app)).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(kidOf((await userWithToken(t)).accessToken)).toBe(oldKid);
    expect((await t.modules.auth.keys.stages()).map(({ kid, stage }) => ({ kid, stage }))).toEqual([
      { kid: oldKid, stage: 'current' },
      { kid: newKid, stage: 'next' },
    ]);
    const newRow = (await t.context.models.SigningKey.findByPk(newKid))!;
    const oldRow = (await t.context.models.SigningKey.findByPk(oldKid))!;
    expect(newRow.activatesAt!.getTime() - rotatedAt).toBeGreaterThanOrEqual(ACTIVATION_DELAY_MS);
    expect(ACTIVATION_DELAY_MS).toBeGreaterThan(300_000); // longer than the JWKS max-age
    expect(newRow.retireAt).toBeNull();
    // The old key verifies until every token it signs before the switch has expired.
    expect(oldRow.retireAt!.getTime()).toBe(newRow.activatesAt!.getTime() + (t.config.tokens.accessTtlS + CLOCK_SKEW_S) * 1000);

    // current: from the activation time on, new tokens carry the new kid; nobody ran anything.
    advanceClock(newRow.activatesAt!.getTime() - Date.now() + 1_000);
    const after = await userWithToken(t);
    expect(kidOf(after.accessToken)).toBe(newKid);
    await me(t.app, after.accessToken).expect(200);
    await me(t.app, before.accessToken).expect(200); // retiring: the old key still verifies
    expect((await t.modules.auth.keys.stages()).map(({ kid, stage }) => ({ kid, stage }))).toEqual([
      { kid: oldKid, stage: 'retiring' },
      { kid: newKid, stage: 'current' },
    ]);
  });

  it('retires the old key from the JWKS once its tokens have expired', async () => {
    const [current] = await t.context.models.SigningKey.findAll({ where: { retireAt: null } });
    const retiring = (await t.context.models.SigningKey.findAll()).filter((row) => row.retireAt !== null);
    const lastRetirement = Math.max(...retiring.map((row) => row.retireAt!.getTime()));

    advanceClock(lastRetirement - Date.now() + 61_000); // past retire_at and the next 60 s reload

    expect(await jwksKids(t.app)).toEqual([current!.kid]);
  });

  it('leaves breach response immediate: its key signs at once and every other key, a pending next one too, retires at once', async () => {
    const t = await createTestApp({ lenientLimits: true });
    onTestFinished(() => t.close());
    await userWithToken(t);
    const pending = await t.modules.auth.keys.rotate();
    expect(await jwksKids(t.app)).toContain(pending);

    const breachKid = await t.modules.auth.keys.rotate({ retireOthersNow: true });

    expect(await jwksKids(t.app)).toEqual([breachKid]);
    expect(kidOf((await userWithToken(t)).accessToken)).toBe(breachKid);
    expect((await t.context.models.SigningKey.findByPk(pending))!.retireAt!.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('switches a second instance over the same database at the activation time itself, not at its next reload', async () => {
    const t = await createTestApp({ lenientLimits: true });
    onTestFinished(() => t.close());
    const other = createApp({ config: t.config, sequelize: t.sequelize });
    const warm = await userWithToken({ ...t, app: other.app, context: testContext(other) });
    const oldKid = kidOf(warm.accessToken);
    const newKid = await t.modules.auth.keys.rotate();
    await jwksKids(other.app); // the other instance has loaded the key set (it reloads every 60 s)
    const { activatesAt } = (await t.context.models.SigningKey.findByPk(newKid))!;

    advanceClock(activatesAt!.getTime() - Date.now() - 1_000);
    const justBefore = kidOf((await userWithToken({ ...t, app: other.app, context: testContext(other) })).accessToken);
    let reloads = 0;
    other.infra.models.SigningKey.addHook('beforeFind', () => {
      reloads += 1;
    });
    advanceClock(2_000);
    const justAfter = kidOf((await userWithToken({ ...t, app: other.app, context: testContext(other) })).accessToken);

    expect([justBefore, justAfter]).toEqual([oldKid, newKid]);
    expect(reloads).toBe(0); // the key set loaded a second earlier already held the next key
  });
});

describe('npm run keys:rotate (as a process)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await t.modules.auth.keys.jwks(); // the first key, as a server start makes it
  });
  afterAll(() => t.close());

  function runKeysRotate(): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const database = t.config.database.url ? { DATABASE_URL: t.config.database.url } : { DATA_DIR: t.config.dataDir };
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', ...database, AUTH_SECRET: t.config.secrets.authSecret, DATA_ENCRYPTION_KEY: t.config.secrets.dataEncryptionKey };
    return new Promise((resolve) => {
      execFile('npx', ['tsx', 'src/cli/keys-rotate.ts'], { cwd: ROOT, env, timeout: 90_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      });
    });
  }

  it('adds a next key and prints every stage with its times', async () => {
    const [first] = await t.context.models.SigningKey.findAll();

    const cli = await runKeysRotate();

    expect(cli.code, cli.stderr).toBe(0);
    const rows = await t.context.models.SigningKey.findAll({ order: [['createdAt', 'ASC']] });
    expect(rows).toHaveLength(2);
    const next = rows.find((row) => row.kid !== first!.kid)!;
    expect(cli.stdout).toContain(`new signing key ${next.kid}: published now, signs from ${next.activatesAt!.toISOString()}`);
    expect(cli.stdout).toMatch(new RegExp(`current\\s+${first!.kid}\\s+signs until ${next.activatesAt!.toISOString()}, then verifies until ${(await t.context.models.SigningKey.findByPk(first!.kid))!.retireAt!.toISOString()}`));
    expect(cli.stdout).toMatch(new RegExp(`next\\s+${next.kid}\\s+published, signs from`));
  }, 120_000);
});

describe('the migration that adds jwks.activates_at', () => {
  it('keeps existing keys signing: they activate at their created_at', async () => {
    const database = await createTestDatabase();
    const sequelize = createSequelize({ dataDir: database.env.DATA_DIR ?? '', database: { url: database.env.DATABASE_URL, poolMax: 1, readyTimeoutMs: 2_000 } });
    try {
      await createMigrator(sequelize).up({ to: '20261122000900-add-refresh-seed.cjs' });
      const createdAt = new Date('2026-11-01T10:00:00.000Z');
      await sequelize.getQueryInterface().bulkInsert('jwks', [{ kid: 'before-staging', public_jwk: '{}', private_key_enc: 'x', created_at: createdAt }]);

      await migrate(sequelize);

      const [row] = await sequelize.query<{ activates_at: string | Date }>("SELECT activates_at FROM jwks WHERE kid = 'before-staging'", { type: QueryTypes.SELECT });
      expect(new Date(row!.activates_at).getTime()).toBe(createdAt.getTime());
    } finally {
      await sequelize.close();
      await database.drop();
    }
  });
});
