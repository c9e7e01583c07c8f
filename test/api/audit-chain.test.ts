import { setTimeout as sleep } from 'node:timers/promises';
import { Op, QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JobLocks, newHolderId } from '../../src/infra/job-locks.js';
import { AuditChain, eventHash, personalDigestOf } from '../../src/modules/security-events/audit-chain.js';
import type { SecurityEventModel } from '../../src/models/security-event.model.js';
import { runCli } from '../helpers/cli.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, login, type TestUser } from '../helpers/users.js';

const DAY = 86_400_000;

interface ChainRow {
  id: string;
  seq: number;
  hash: string;
}

/**
 * Writes what is queued and seals everything pending (retrying while another sealer holds the
 * lock). Writing events schedules the app's own sealing 200 ms later; waiting past that timer
 * (timers fire in order) and then for the sealing it started leaves the database quiet, so what
 * the test does next does not race the app's background work.
 */
async function settle(t: TestApp, chain: AuditChain = t.context.auditChain): Promise<void> {
  await t.context.events.flush();
  await sleep(250);
  await t.context.auditChain.sealPending();
  for (let attempt = 0; attempt < 200; attempt += 1) {
    await chain.sealPending();
    if ((await t.context.models.SecurityEvent.count({ where: { seq: null } })) === 0) return;
    await sleep(10);
  }
  throw new Error('events stayed unsealed');
}

async function chainRows(t: TestApp): Promise<ChainRow[]> {
  const rows = await t.sequelize.query<{ id: string; seq: number | string; hash: string }>(
    'SELECT id, seq, hash FROM security_events WHERE seq IS NOT NULL ORDER BY seq',
    { type: QueryTypes.SELECT },
  );
  return rows.map((row) => ({ id: row.id, seq: Number(row.seq), hash: row.hash }));
}

async function totalEvents(t: TestApp): Promise<number> {
  return t.context.models.SecurityEvent.count();
}

async function eventAt(t: TestApp, seq: number): Promise<SecurityEventModel> {
  const event = await t.context.models.SecurityEvent.findOne({ where: { seq } });
  expect(event, `event at seq ${seq}`).not.toBeNull();
  return event!;
}

/** The raw text of a row's metadata, to put it back exactly after tampering. */
async function rawMetadata(t: TestApp, id: string): Promise<string> {
  const [row] = await t.sequelize.query<{ metadata: string }>('SELECT CAST(metadata AS TEXT) AS metadata FROM security_events WHERE id = :id', {
    replacements: { id },
    type: QueryTypes.SELECT,
  });
  return row!.metadata;
}

/** Takes the sealing lock as another instance would, waiting while a sealer of the app holds it. */
async function holdSealLock(t: TestApp): Promise<JobLocks> {
  const blocker = new JobLocks(t.context.models, newHolderId());
  for (let attempt = 0; attempt < 500; attempt += 1) {
    if (await blocker.acquire('audit-seal', 120_000)) return blocker;
    await sleep(10);
  }
  throw new Error('could not take the audit-seal lock');
}

/** Real traffic: a successful login, a failed one, and a logout. */
async function authTraffic(t: TestApp, user: TestUser): Promise<void> {
  const session = await login(t, user);
  await request(t.app).post('/api/auth/login').send({ email: user.email, password: 'not-the-right-password-at-all-1' }).expect(401);
  await request(t.app).post('/api/auth/logout').set('Authorization', `Bearer ${session.accessToken}`).send({}).expect(204);
}


/** Closes the app once nothing is being written or sealed in the background any more. */
async function closeQuietly(t: TestApp): Promise<void> {
  await t.context.events.flush();
  await t.context.auditChain.sealPending().catch(() => undefined);
  await t.close();
}

function databaseEnv(t: TestApp): Record<string, string> {
  return t.config.database.url ? { DATABASE_URL: t.config.database.url } : { DATA_DIR: t.config.dataDir };
}

describe('the security-event hash chain', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true });
    // The chain gets its first link before any traffic: the first seal of an empty chain has its own test below.
    t.context.events.record({ type: 'suspicious_activity', metadata: { note: 'first link' } });
    await settle(t);
    user = await createUser(t);
    await authTraffic(t, user);
    await authTraffic(t, await createUser(t));
    await settle(t);
  });
  afterAll(() => closeQuietly(t));

  it('seals events recorded by real requests into a gap-free chain that verifies', async () => {
    const total = await totalEvents(t);
    expect(total).toBeGreaterThanOrEqual(6);
    const rows = await chainRows(t);
    expect(rows.map((row) => row.seq)).toEqual(Array.from({ length: total }, (_, index) => index + 1));
    const result = await t.context.auditChain.verify();
    expect(result).toMatchObject({ ok: true, verified: total, checkpoint: null, unsealed: 0 });
    expect(result.firstBroken).toBeUndefined();
    const types = (await t.context.models.SecurityEvent.findAll()).map((event) => event.type);
    expect(types).toEqual(expect.arrayContaining(['login_success', 'login_failure', 'logout']));
  });

  it('links each event to the previous one: prev_hash is the hash before it, starting from the genesis hash', async () => {
    const events = await t.context.models.SecurityEvent.findAll({ order: [['seq', 'ASC']] });
    let previous = '0'.repeat(64);
    for (const event of events) {
      expect(event.prevHash).toBe(previous);
      expect(event.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(event.personalDigest).toBe(personalDigestOf(event));
      expect(eventHash(event, Number(event.seq), previous, event.personalDigest!)).toBe(event.hash);
      previous = event.hash!;
    }
    expect(new Set(events.map((event) => event.hash)).size).toBe(events.length);
  });

  it('sealing never happens on the request path: a login answers while sealing is impossible, its event waits unsealed', async () => {
    await settle(t);
    const blocker = await holdSealLock(t);
    try {
      const fresh = await createUser(t);
      const { session } = await login(t, fresh);
      // Right after the response: not written yet, or written but not sealed.
      const [immediately] = await t.sequelize.query<{ seq: number | null }>(
        "SELECT seq FROM security_events WHERE user_id = :userId AND type = 'login_success'",
        { replacements: { userId: fresh.id }, type: QueryTypes.SELECT },
      );
      expect(immediately === undefined || immediately.seq === null).toBe(true);

      await t.context.events.flush();
      const written = await t.context.models.SecurityEvent.findOne({ where: { userId: fresh.id, type: 'login_success' } });
      expect(written).not.toBeNull();
      expect(written!.seq).toBeNull();
      expect(written!.metadata).toMatchObject({ sessionId: session.id });
      expect(await t.context.auditChain.sealPending()).toBe(0); // another instance holds the lock
      const meanwhile = await t.context.auditChain.verify();
      expect(meanwhile.ok).toBe(true);
      expect(meanwhile.unsealed).toBeGreaterThanOrEqual(1);
    } finally {
      await blocker.release('audit-seal', {});
    }
    await settle(t);
    const sealed = await t.context.models.SecurityEvent.findOne({ where: { type: 'login_success' }, order: [['seq', 'DESC']] });
    expect(sealed!.seq).not.toBeNull();
    expect(await t.context.auditChain.verify()).toMatchObject({ ok: true, unsealed: 0 });
  });

  it('detects a row whose metadata was altered, at that seq, and verifies again once it is put back', async () => {
    const target = await eventAt(t, 3);
    const original = await rawMetadata(t, target.id);
    await t.sequelize.query(`UPDATE security_events SET metadata = :metadata WHERE id = :id`, { replacements: { metadata: '{"reason":"nothing happened"}', id: target.id } });
    try {
      const result = await t.context.auditChain.verify();
      expect(result.ok).toBe(false);
      expect(result.firstBroken).toMatchObject({ seq: 3, id: target.id });
      expect(result.firstBroken!.reason).toMatch(/altered/);
      expect(result.verified).toBe(2);
    } finally {
      await t.sequelize.query(`UPDATE security_events SET metadata = :metadata WHERE id = :id`, { replacements: { metadata: original, id: target.id } });
    }
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });

  it('detects an altered address, user agent, user, type or time at that seq', async () => {
    const target = await eventAt(t, 4);
    const other = await createUser(t);
    const changes: [string, Record<string, unknown>, RegExp][] = [
      ['ip = :value', { value: '198.51.100.9' }, /altered/],
      ['user_agent = :value', { value: 'forged-agent/1.0' }, /altered/],
      ['user_id = :value', { value: other.id }, /altered/],
      ['type = :value', { value: target.type === 'logout' ? 'login_success' : 'logout' }, /does not match its hash/],
      ['created_at = :value', { value: new Date(target.createdAt.getTime() - 60_000) }, /does not match its hash/],
    ];
    const restore = { ip: target.ip, user_agent: target.userAgent, user_id: target.userId, type: target.type, created_at: target.createdAt };
    for (const [assignment, replacements, reason] of changes) {
      await t.sequelize.query(`UPDATE security_events SET ${assignment} WHERE id = :id`, { replacements: { ...replacements, id: target.id } });
      const result = await t.context.auditChain.verify();
      expect(result.ok, assignment).toBe(false);
      expect(result.firstBroken, assignment).toMatchObject({ seq: 4, id: target.id });
      expect(result.firstBroken!.reason, assignment).toMatch(reason);
      await t.sequelize.query('UPDATE security_events SET ip = :ip, user_agent = :user_agent, user_id = :user_id, type = :type, created_at = :created_at WHERE id = :id', {
        replacements: { ...restore, id: target.id },
      });
      expect((await t.context.auditChain.verify()).ok, `restored after ${assignment}`).toBe(true);
    }
  });

  it('an altered row whose hashes were recomputed still breaks the link to the next event', async () => {
    const target = await eventAt(t, 2);
    const saved = { metadata: await rawMetadata(t, target.id), personalDigest: target.personalDigest, hash: target.hash };
    const forged = { metadata: { forged: true } };
    const personalDigest = personalDigestOf({ userId: target.userId, ip: target.ip, userAgent: target.userAgent, metadata: forged.metadata });
    const hash = eventHash(target, 2, target.prevHash!, personalDigest);
    await t.sequelize.query('UPDATE security_events SET metadata = :metadata, personal_digest = :personalDigest, hash = :hash WHERE id = :id', {
      replacements: { metadata: JSON.stringify(forged.metadata), personalDigest, hash, id: target.id },
    });
    try {
      const result = await t.context.auditChain.verify();
      expect(result.ok).toBe(false);
      expect(result.firstBroken!.seq).toBe(3);
      expect(result.firstBroken!.reason).toMatch(/prev_hash/);
    } finally {
      await t.sequelize.query('UPDATE security_events SET metadata = :metadata, personal_digest = :personalDigest, hash = :hash WHERE id = :id', {
        replacements: { ...saved, id: target.id },
      });
    }
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });

  it('detects a deleted row in the middle of the chain', async () => {
    const removed = await eventAt(t, 3);
    const copy = removed.get({ plain: true });
    await t.sequelize.query('DELETE FROM security_events WHERE id = :id', { replacements: { id: removed.id } });
    try {
      const result = await t.context.auditChain.verify();
      expect(result.ok).toBe(false);
      expect(result.verified).toBe(2);
      expect(result.firstBroken!.seq).toBe(4);
      expect(result.firstBroken!.reason).toMatch(/expected seq 3, found 4/);
    } finally {
      await t.context.models.SecurityEvent.create(copy);
    }
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });

  it('detects a deleted row even when the rest were renumbered to close the gap', async () => {
    const rows = await chainRows(t);
    const removed = await eventAt(t, 3);
    const copy = removed.get({ plain: true });
    await t.sequelize.query('DELETE FROM security_events WHERE id = :id', { replacements: { id: removed.id } });
    for (const row of rows.filter((item) => item.seq > 3)) {
      await t.sequelize.query('UPDATE security_events SET seq = :seq WHERE id = :id', { replacements: { seq: row.seq - 1, id: row.id } });
    }
    try {
      const result = await t.context.auditChain.verify();
      expect(result.ok).toBe(false);
      expect(result.firstBroken!.seq).toBe(3);
      expect(result.firstBroken!.reason).toMatch(/prev_hash/);
    } finally {
      for (const row of rows.filter((item) => item.seq > 3).reverse()) {
        await t.sequelize.query('UPDATE security_events SET seq = :seq WHERE id = :id', { replacements: { seq: row.seq, id: row.id } });
      }
      await t.context.models.SecurityEvent.create(copy);
    }
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });

  it('detects two events swapped in order (their seq values exchanged)', async () => {
    const [a, b] = [await eventAt(t, 4), await eventAt(t, 5)];
    /** Exchanges the seq values of two events, through a temporary value (seq is unique). */
    const swap = async (first: SecurityEventModel, second: SecurityEventModel) => {
      const [firstSeq, secondSeq] = await Promise.all([first, second].map(async (event) => (await t.context.models.SecurityEvent.findByPk(event.id))!.seq));
      await t.sequelize.query('UPDATE security_events SET seq = -1 WHERE id = :id', { replacements: { id: first.id } });
      await t.sequelize.query('UPDATE security_events SET seq = :seq WHERE id = :id', { replacements: { seq: Number(firstSeq), id: second.id } });
      await t.sequelize.query('UPDATE security_events SET seq = :seq WHERE id = :id', { replacements: { seq: Number(secondSeq), id: first.id } });
    };
    await swap(a, b);
    try {
      const result = await t.context.auditChain.verify();
      expect(result.ok).toBe(false);
      expect(result.firstBroken).toMatchObject({ seq: 4, id: b.id });
    } finally {
      await swap(b, a); // b (now at 4) and a (now at 5) go back to 5 and 4
    }
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });

  it('detects two events whose times were swapped', async () => {
    const [a, b] = [await eventAt(t, 2), await eventAt(t, 5)];
    const setTime = (id: string, at: Date) => t.sequelize.query('UPDATE security_events SET created_at = :at WHERE id = :id', { replacements: { at, id } });
    await setTime(a.id, b.createdAt);
    await setTime(b.id, a.createdAt);
    try {
      const result = await t.context.auditChain.verify();
      expect(result.ok).toBe(false);
      expect(result.firstBroken).toMatchObject({ seq: 2, id: a.id });
    } finally {
      await setTime(a.id, a.createdAt);
      await setTime(b.id, b.createdAt);
    }
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });

  // Known limitation (reported): nothing outside the table anchors the head of the chain, so
  // removing the newest sealed events leaves a shorter chain that still verifies.
  it.fails('detects removal of the newest sealed event (known limitation)', async () => {
    await settle(t);
    const rows = await chainRows(t);
    const newest = await eventAt(t, rows.at(-1)!.seq);
    const copy = newest.get({ plain: true });
    await t.sequelize.query('DELETE FROM security_events WHERE id = :id', { replacements: { id: newest.id } });
    try {
      expect((await t.context.auditChain.verify()).ok).toBe(false);
    } finally {
      await t.context.models.SecurityEvent.create(copy);
    }
  });

  // A released lock is free again at once: a sealer starting in the very millisecond another one
  // released it must still get it (the clock is frozen here to make that millisecond certain).
  it('a sealer that starts the moment another one finished still seals', async () => {
    await settle(t);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date());
      t.context.events.record({ type: 'suspicious_activity', metadata: { frozen: 1 } });
      await t.context.events.flush();
      expect(await t.context.auditChain.sealPending()).toBe(1);
      t.context.events.record({ type: 'suspicious_activity', metadata: { frozen: 2 } });
      await t.context.events.flush();
      expect(await t.context.auditChain.sealPending()).toBe(1);
    } finally {
      vi.useRealTimers();
      await settle(t);
    }
  });

  it('keeps verifying after an account is deleted: the scrubbed events keep their place, re-adding personal data breaks it', async () => {
    const leaving = await createUser(t);
    await authTraffic(t, leaving);
    const { accessToken } = await login(t, leaving);
    await settle(t);
    const before = (await t.context.auditChain.verify()).verified;
    const ids = (await t.context.models.SecurityEvent.findAll({ where: { userId: leaving.id } })).map((event) => event.id);
    expect(ids.length).toBeGreaterThanOrEqual(4);
    await request(t.app).delete('/api/users/me').set('Authorization', `Bearer ${accessToken}`).send({ password: leaving.password }).expect(204);
    await settle(t);

    const rows = await t.context.models.SecurityEvent.findAll({ where: { id: ids } });
    expect(rows).toHaveLength(ids.length);
    for (const row of rows) {
      expect(row.scrubbedAt).not.toBeNull();
      expect([row.userId, row.ip, row.userAgent]).toEqual([null, null, null]);
    }
    expect(await t.context.models.SecurityEvent.count({ where: { scrubbedAt: { [Op.ne]: null } } })).toBeGreaterThanOrEqual(ids.length);
    const result = await t.context.auditChain.verify();
    expect(result.ok).toBe(true);
    expect(result.verified).toBeGreaterThan(before); // + account_deleted
    expect(await t.context.models.SecurityEvent.count({ where: { userId: leaving.id } })).toBe(0);

    const target = rows[0]!;
    await t.sequelize.query('UPDATE security_events SET ip = :ip WHERE id = :id', { replacements: { ip: '192.0.2.44', id: target.id } });
    try {
      const broken = await t.context.auditChain.verify();
      expect(broken.ok).toBe(false);
      expect(broken.firstBroken!.id).toBe(target.id);
      expect(broken.firstBroken!.reason).toMatch(/scrubbed event holds personal data/);
    } finally {
      await t.sequelize.query('UPDATE security_events SET ip = NULL WHERE id = :id', { replacements: { id: target.id } });
    }
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });

  it('seals and verifies across batch boundaries (more than 500 events at once)', async () => {
    for (let index = 0; index < 1_100; index += 1) {
      t.context.events.record({ type: 'rate_limited', ip: `198.51.100.${index % 250}`, metadata: { index } });
    }
    await settle(t);
    const total = await totalEvents(t);
    expect(total).toBeGreaterThan(1_100);
    const rows = await chainRows(t);
    expect(rows).toHaveLength(total);
    expect(rows.every((row, index) => row.seq === index + 1)).toBe(true);
    expect(await t.context.auditChain.verify()).toMatchObject({ ok: true, verified: total, unsealed: 0 });

    // A break beyond the first page of verification is found too.
    const late = await eventAt(t, 1_000);
    const original = await rawMetadata(t, late.id);
    await t.sequelize.query('UPDATE security_events SET metadata = :metadata WHERE id = :id', { replacements: { metadata: '{"index":-1}', id: late.id } });
    try {
      expect((await t.context.auditChain.verify()).firstBroken).toMatchObject({ seq: 1_000, id: late.id });
    } finally {
      await t.sequelize.query('UPDATE security_events SET metadata = :metadata WHERE id = :id', { replacements: { metadata: original, id: late.id } });
    }
  });

  it('never forks under concurrent sealers on several instances while events are being written', async () => {
    const chains = [0, 1, 2].map(() => new AuditChain(t.sequelize, t.context.models, new JobLocks(t.context.models, newHolderId()), t.context.logger));
    for (let round = 0; round < 12; round += 1) {
      const victim = await createUser(t); // one failed login each, below any lockout
      const writes = Promise.all([
        request(t.app).post('/api/auth/login').send({ email: victim.email, password: `wrong-password-round-${round}` }).expect(401),
        (async () => {
          for (let index = 0; index < 20; index += 1) t.context.events.record({ type: 'suspicious_activity', metadata: { round, index } });
          await t.context.events.flush();
        })(),
      ]);
      await Promise.all([writes, ...chains.map((chain) => chain.sealPending()), t.context.auditChain.sealPending(), ...chains.map((chain) => chain.sealPending())]);
    }
    await settle(t, chains[1]);
    const total = await totalEvents(t);
    const rows = await chainRows(t);
    expect(rows).toHaveLength(total);
    expect(new Set(rows.map((row) => row.seq)).size).toBe(total);
    expect(rows.every((row, index) => row.seq === index + 1)).toBe(true);
    expect(await t.context.auditChain.verify()).toMatchObject({ ok: true, verified: total, unsealed: 0 });
  });

  it('never forks even when the lock does not keep sealers apart: the database decides', async () => {
    const noLock = { acquire: async () => true, release: async () => undefined } as unknown as JobLocks;
    const chains = [0, 1, 2].map(() => new AuditChain(t.sequelize, t.context.models, noLock, t.context.logger));
    const failures: unknown[] = [];
    for (let round = 0; round < 10; round += 1) {
      for (let index = 0; index < 30; index += 1) t.context.events.record({ type: 'suspicious_activity', metadata: { round, index, unlocked: true } });
      await Promise.all([t.context.events.flush(), ...chains.map((chain) => chain.sealPending().catch((error: unknown) => failures.push(error)))]);
    }
    await settle(t, chains[0]);
    // On SQLite a writer may find the database busy; such a sealer rolls back and seals nothing.
    for (const failure of failures) expect(t.dialect === 'sqlite' ? String(failure) : 'no failure on PostgreSQL').toMatch(/SQLITE_BUSY|no failure/);
    if (t.dialect === 'postgres') expect(failures).toEqual([]);
    const total = await totalEvents(t);
    const rows = await chainRows(t);
    expect(rows).toHaveLength(total);
    expect(rows.every((row, index) => row.seq === index + 1)).toBe(true);
    expect(await t.context.auditChain.verify()).toMatchObject({ ok: true, verified: total, unsealed: 0 });
  });

  it('npm run audit:verify exits 0 on an intact chain and non-zero naming the seq of an altered row', async () => {
    await settle(t);
    const env = { ...databaseEnv(t), NODE_ENV: 'development', LOG_LEVEL: 'silent', AUTH_SECRET: t.config.secrets.authSecret, DATA_ENCRYPTION_KEY: t.config.secrets.dataEncryptionKey };
    const total = await totalEvents(t);
    const intact = await runCli('src/cli/audit-verify.ts', { env });
    expect(intact.code, intact.stderr).toBe(0);
    expect(intact.stdout).toContain(`audit chain: ${total} events verified from genesis`);
    expect(intact.stdout).toContain('chain intact');
    expect(intact.stdout).not.toContain('BROKEN');

    const target = await eventAt(t, 7);
    const original = await rawMetadata(t, target.id);
    await t.sequelize.query('UPDATE security_events SET metadata = :metadata WHERE id = :id', { replacements: { metadata: '{"edited":true}', id: target.id } });
    try {
      const broken = await runCli('src/cli/audit-verify.ts', { env });
      expect(broken.code).not.toBe(0);
      expect(broken.stdout).toContain(`BROKEN at seq 7 (event ${target.id})`);
      expect(broken.stdout).toContain('audit chain: 6 events verified');
      expect(broken.stdout).not.toContain('chain intact');
    } finally {
      await t.sequelize.query('UPDATE security_events SET metadata = :metadata WHERE id = :id', { replacements: { metadata: original, id: target.id } });
    }
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });
});

describe('retention purges as chain checkpoints', () => {
  let t: TestApp;
  const OLD = 4;
  let total = 0;
  let anchor: string;

  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true });
    // Nothing is sealed while the oldest events are moved back in time, so they become the chain's prefix.
    const blocker = await holdSealLock(t);
    try {
      for (let index = 0; index < 3; index += 1) await authTraffic(t, await createUser(t));
      await t.context.events.flush();
      expect(await t.context.models.SecurityEvent.count({ where: { seq: null } })).toBe(await totalEvents(t));
      const oldest = await t.context.models.SecurityEvent.findAll({ order: [['createdAt', 'ASC'], ['id', 'ASC']], limit: OLD });
      const past = Date.now() - 120 * DAY;
      for (const [index, event] of oldest.entries()) {
        await t.sequelize.query('UPDATE security_events SET created_at = :at WHERE id = :id', { replacements: { at: new Date(past + index * 1_000), id: event.id } });
      }
    } finally {
      await blocker.release('audit-seal', {});
    }
    await settle(t);
    total = await totalEvents(t);
    anchor = (await eventAt(t, OLD)).hash!;
  });
  afterAll(() => closeQuietly(t));

  it('purges the old prefix, records a checkpoint, and the rest verifies from it', async () => {
    expect(await t.context.auditChain.verify()).toMatchObject({ ok: true, verified: total, checkpoint: null });
    const cutoff = new Date(Date.now() - 90 * DAY);
    expect(await t.context.auditChain.countBefore(cutoff)).toBe(OLD); // what the retention report says, deleting nothing
    expect(await totalEvents(t)).toBe(total);
    const purged = await t.context.auditChain.purgeBefore(cutoff);
    expect(purged).toBe(OLD);
    expect(await totalEvents(t)).toBe(total - OLD);
    const rows = await chainRows(t);
    expect(rows[0]!.seq).toBe(OLD + 1);

    const result = await t.context.auditChain.verify();
    expect(result).toMatchObject({ ok: true, verified: total - OLD, checkpoint: { throughSeq: OLD, anchorHash: anchor } });
    const checkpoints = await t.context.models.AuditCheckpoint.findAll();
    expect(checkpoints).toHaveLength(1);
    expect(Number(checkpoints[0]!.throughSeq)).toBe(OLD);
    expect(checkpoints[0]!.purgedCount).toBe(OLD);
  });

  it('a second purge with the same cutoff removes nothing and adds no checkpoint', async () => {
    expect(await t.context.auditChain.purgeBefore(new Date(Date.now() - 90 * DAY))).toBe(0);
    expect(await t.context.models.AuditCheckpoint.count()).toBe(1);
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });

  it('new events continue the chain after the checkpoint', async () => {
    await authTraffic(t, await createUser(t));
    await settle(t);
    const now = await totalEvents(t);
    expect(now).toBeGreaterThan(total - OLD);
    expect(await t.context.auditChain.verify()).toMatchObject({ ok: true, verified: now, checkpoint: { throughSeq: OLD } });
  });

  it('still detects tampering right after the checkpoint: a removed first event or a forged anchor', async () => {
    const first = await eventAt(t, OLD + 1);
    const copy = first.get({ plain: true });
    await t.sequelize.query('DELETE FROM security_events WHERE id = :id', { replacements: { id: first.id } });
    try {
      const result = await t.context.auditChain.verify();
      expect(result.ok).toBe(false);
      expect(result.firstBroken!.seq).toBe(OLD + 2);
    } finally {
      await t.context.models.SecurityEvent.create(copy);
    }
    expect((await t.context.auditChain.verify()).ok).toBe(true);

    await t.sequelize.query('UPDATE audit_checkpoints SET anchor_hash = :hash', { replacements: { hash: 'f'.repeat(64) } });
    try {
      const result = await t.context.auditChain.verify();
      expect(result.ok).toBe(false);
      expect(result.firstBroken).toMatchObject({ seq: OLD + 1, reason: expect.stringMatching(/prev_hash/) });
    } finally {
      await t.sequelize.query('UPDATE audit_checkpoints SET anchor_hash = :hash', { replacements: { hash: anchor } });
    }
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });

  it('purging everything leaves an empty chain that verifies, and sealing resumes after the checkpoint', async () => {
    await settle(t);
    const lastSeq = (await chainRows(t)).at(-1)!.seq;
    const cutoff = new Date(Date.now() + DAY);
    expect(await t.context.auditChain.countBefore(cutoff)).toBe(lastSeq - OLD);
    const purged = await t.context.auditChain.purgeBefore(cutoff);
    expect(purged).toBe(lastSeq - OLD);
    expect(await totalEvents(t)).toBe(0);
    expect(await t.context.auditChain.verify()).toMatchObject({ ok: true, verified: 0, checkpoint: { throughSeq: lastSeq } });

    const blocker = await holdSealLock(t); // this test is about the checkpoint; sealing during traffic has its own
    try {
      await authTraffic(t, await createUser(t));
    } finally {
      await blocker.release('audit-seal', {});
    }
    await settle(t);
    const rows = await chainRows(t);
    expect(rows[0]!.seq).toBe(lastSeq + 1);
    expect(await t.context.auditChain.verify()).toMatchObject({ ok: true, verified: rows.length, checkpoint: { throughSeq: lastSeq } });
  });

  it('requests and sealing never fail each other while an emptied chain gets its first links', { timeout: 120_000 }, async () => {
    const user = await createUser(t);
    const problems: string[] = [];
    for (let round = 0; round < 12; round += 1) {
      await settle(t);
      await t.context.auditChain.purgeBefore(new Date(Date.now() + DAY));
      expect(await totalEvents(t)).toBe(0);
      // 50 events schedule the app's own sealing of an empty chain, while requests write.
      for (let index = 0; index < 50; index += 1) t.context.events.record({ type: 'rate_limited', metadata: { round, index } });
      await t.context.events.flush();
      const signedIn = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' });
      if (signedIn.status !== 200) {
        problems.push(`round ${round}: login -> ${signedIn.status} ${signedIn.body.code}`);
        continue;
      }
      const auth = `Bearer ${signedIn.body.accessToken as string}`;
      const traffic: [string, request.Test][] = [
        ['PUT preferences (dark)', request(t.app).put('/api/users/me/preferences').set('Authorization', auth).send({ theme: 'dark' })],
        ['failed login', request(t.app).post('/api/auth/login').send({ email: `nobody-${round}@example.com`, password: `wrong-password-round-${round}` })],
        ['PUT preferences (light)', request(t.app).put('/api/users/me/preferences').set('Authorization', auth).send({ theme: 'light' })],
        ['logout', request(t.app).post('/api/auth/logout').set('Authorization', auth).send({})],
      ];
      const [responses] = await Promise.all([
        Promise.all(traffic.map(([, pending]) => pending)),
        t.context.auditChain.sealPending().catch((error: unknown) => problems.push(`round ${round}: sealing -> ${String(error)}`)),
      ]);
      responses.forEach((res, index) => {
        if (res.status >= 500) problems.push(`round ${round}: ${traffic[index]![0]} -> ${res.status} ${res.body.code}`);
      });
    }
    expect(problems).toEqual([]);
    await settle(t);
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });
});
