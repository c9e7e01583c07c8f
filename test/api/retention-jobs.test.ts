import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobLocks } from '../../src/infra/job-locks.js';
import { retentionJobs } from '../../src/jobs/retention-jobs.js';
import { runRetentionJobs } from '../../src/jobs/scheduler.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories } from '../helpers/factories.js';
import { createUser, type TestUser } from '../helpers/users.js';

/**
 * The data-lifecycle jobs of docs/DESIGN.md §7.4 on a real database. No test here logs in: the only
 * security events are the ones a test writes, so their order in the audit chain is known.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;

let t: TestApp;
let user: TestUser;
beforeAll(async () => {
  t = await createTestApp();
  user = await createUser(t);
});
afterAll(() => t.close());

function run(holder?: string, clock?: () => Date) {
  const { models, logger, locks } = t.infra;
  return runRetentionJobs({ jobs: retentionJobs(t.infra, t.modules), locks: holder ? new JobLocks(models, holder) : locks, logger, clock });
}

const RETENTION_JOBS = () => retentionJobs(t.infra, t.modules);

const ago = (ms: number, from = new Date()) => new Date(from.getTime() - ms);
const hash = () => randomBytes(32).toString('hex');

async function loginSession(fields: { expiresAt: Date; revokedAt?: Date }) {
  return t.context.models.AuthSession.create({
    id: randomUUID(),
    userId: user.id,
    refreshTokenHash: hash(),
    rememberMe: false,
    userAgent: null,
    ip: null,
    lastUsedAt: ago(2 * DAY),
    expiresAt: fields.expiresAt,
    revokedAt: fields.revokedAt ?? null,
  });
}

async function oneTimeToken(fields: { expiresAt: Date; usedAt?: Date }) {
  return t.context.models.OneTimeToken.create({ userId: user.id, purpose: 'reset_password', tokenHash: hash(), expiresAt: fields.expiresAt, usedAt: fields.usedAt ?? null });
}

async function idempotencyKey(expiresAt: Date) {
  return t.context.models.IdempotencyKey.create({
    userId: user.id,
    key: randomUUID(),
    scope: 'sessions.start',
    requestHash: hash(),
    responseStatus: 201,
    responseBody: { id: randomUUID() },
    expiresAt,
  });
}

/** Security events written at `createdAt` (backdated in SQL: Sequelize sets created_at itself). */
async function securityEvents(createdAt: Date, count: number) {
  const rows = await t.context.models.SecurityEvent.bulkCreate(Array.from({ length: count }, () => ({ type: 'login_success' as const, userId: user.id, ip: '203.0.113.9', userAgent: null, metadata: {} })));
  const ids = rows.map((row) => row.id);
  await t.sequelize.query('UPDATE security_events SET created_at = :createdAt WHERE id IN (:ids)', { replacements: { createdAt, ids } });
  return ids;
}

/** A counseling session ending at `endedAt` (or still active) with `entries` notes. */
async function sessionWithEntries(endedAt: Date | null, entries: number) {
  const startedAt = new Date((endedAt ?? new Date()).getTime() - 2 * HOUR);
  const session = await t.context.models.CounselingSession.create({
    userId: user.id,
    counselorId: null,
    topic: null,
    status: endedAt ? 'ended' : 'active',
    startedAt,
    lastResumedAt: endedAt ? null : startedAt,
    endedAt,
  });
  await t.context.models.SessionEntry.bulkCreate(
    Array.from({ length: entries }, (_, i) => ({
      sessionId: session.id, userId: user.id, authorId: user.id, authorRole: 'client' as const, kind: 'note' as const,
      emotion: null, valence: null, arousal: null, text: `n${i}`, speaker: null, at: new Date(startedAt.getTime() + i * 1000),
    })),
  );
  return session.id;
}

/** An invitation into a practice of its own, closed (accepted, revoked) or expiring as told. */
async function invitation(fields: { expiresAt: Date; acceptedAt?: Date; revokedAt?: Date }) {
  const organization = await factories(t).organization();
  return t.context.models.Invitation.create({
    organizationId: organization.id, email: 'invitee@example.com', role: 'client', counselorId: null, invitedBy: user.id, tokenHash: hash(),
    expiresAt: fields.expiresAt, acceptedAt: fields.acceptedAt ?? null, revokedAt: fields.revokedAt ?? null,
  });
}

/** A break-glass grant on a session of the user, its window ending at `expiresAt`. */
async function accessGrant(expiresAt: Date) {
  return t.context.models.SessionAccessGrant.create({ sessionId: await sessionWithEntries(null, 0), adminId: user.id, reason: 'retention test', expiresAt });
}

/** Expired rows of every kind but security events, which leave only as a prefix of the audit chain: past their date at `now`. */
async function seedExpired(now = new Date()) {
  const before = (ms: number) => ago(ms, now);
  return {
    sessions: [(await loginSession({ expiresAt: before(HOUR) })).id, (await loginSession({ expiresAt: before(-DAY), revokedAt: before(2 * DAY) })).id],
    tokens: [(await oneTimeToken({ expiresAt: before(HOUR) })).id, (await oneTimeToken({ expiresAt: before(-HOUR), usedAt: before(60_000) })).id],
    keys: [(await idempotencyKey(before(60_000))).id],
    sessionWithOldEntries: await sessionWithEntries(before(400 * DAY), 3),
    // Closed more than 30 days ago: expired, accepted, revoked.
    invitations: [
      (await invitation({ expiresAt: before(31 * DAY) })).id,
      (await invitation({ expiresAt: before(-DAY), acceptedAt: before(31 * DAY) })).id,
      (await invitation({ expiresAt: before(-DAY), revokedAt: before(40 * DAY) })).id,
    ],
    grants: [(await accessGrant(before(2 * DAY))).id],
  };
}

const EXPECTED_FIRST_RUN: Record<string, number> = {
  'purge-login-sessions': 2,
  'purge-one-time-tokens': 2,
  'purge-idempotency-keys': 1,
  'purge-security-events': 3,
  'purge-session-data': 3,
  'purge-invitations': 3,
  'purge-access-grants': 1,
};

describe('runRetentionJobs', () => {
  it('removes exactly what is past its date, and a second run removes nothing', async () => {
    const oldEvents = await securityEvents(ago(100 * DAY), 3);
    const keptEvents = [...(await securityEvents(ago(89 * DAY), 1)), ...(await securityEvents(ago(DAY), 2))];
    const expired = await seedExpired();
    const kept = {
      sessions: [(await loginSession({ expiresAt: ago(-DAY), revokedAt: ago(HOUR) })).id, (await loginSession({ expiresAt: ago(-DAY) })).id],
      tokens: [(await oneTimeToken({ expiresAt: ago(-HOUR) })).id],
      keys: [(await idempotencyKey(ago(-HOUR))).id],
      sessionsWithEntries: [await sessionWithEntries(ago(10 * DAY), 2), await sessionWithEntries(null, 1)],
      invitations: [(await invitation({ expiresAt: ago(-DAY) })).id, (await invitation({ expiresAt: ago(-DAY), revokedAt: ago(DAY) })).id, (await invitation({ expiresAt: ago(29 * DAY) })).id],
      grants: [(await accessGrant(ago(HOUR))).id, (await accessGrant(ago(-HOUR))).id],
    };
    const { AuthSession, OneTimeToken, IdempotencyKey, SecurityEvent, SessionEntry, CounselingSession, Invitation, SessionAccessGrant } = t.context.models;
    const ids = async (model: { findAll(options: object): Promise<{ get(key: string): unknown }[]> }, where: object = {}) =>
      (await model.findAll({ where, attributes: ['id'] })).map((row) => String(row.get('id'))).sort();

    const first = await run();

    for (const name of Object.keys(RETENTION_JOBS())) expect([name, first[name]]).toEqual([name, EXPECTED_FIRST_RUN[name] ?? 0]);
    expect(await ids(AuthSession, { userId: user.id })).toEqual([...kept.sessions].sort());
    expect(await ids(OneTimeToken)).toEqual(kept.tokens);
    expect(await ids(IdempotencyKey)).toEqual(kept.keys);
    expect(await ids(SecurityEvent)).toEqual([...keptEvents].sort());
    expect(oldEvents.every((id) => !keptEvents.includes(id))).toBe(true);
    expect(await SessionEntry.count({ where: { sessionId: expired.sessionWithOldEntries } })).toBe(0);
    expect(await CounselingSession.count({ where: { id: expired.sessionWithOldEntries } })).toBe(1);
    expect(await SessionEntry.count({ where: { sessionId: kept.sessionsWithEntries } })).toBe(3);
    expect(await ids(Invitation)).toEqual([...kept.invitations].sort());
    expect(await ids(SessionAccessGrant)).toEqual([...kept.grants].sort());
    const [checkpoint] = await t.context.models.AuditCheckpoint.findAll();
    expect(checkpoint?.purgedCount).toBe(3);
    expect((await t.context.auditChain.verify()).ok).toBe(true);

    const second = await run();

    for (const name of Object.keys(RETENTION_JOBS())) expect([name, second[name]]).toEqual([name, 0]);
  });

  it('skips a job whose lock another instance holds, and runs it once the lock is released', async () => {
    const key = await idempotencyKey(ago(60_000));
    const other = new JobLocks(t.context.models, 'other-instance');
    expect(await other.acquire('purge-idempotency-keys', 60_000)).toBe(true);

    const whileHeld = await run();

    expect(whileHeld['purge-idempotency-keys']).toBe('skipped');
    expect(await t.context.models.IdempotencyKey.count({ where: { id: key.id } })).toBe(1);
    await other.release('purge-idempotency-keys', { removed: 0 });
    expect((await run())['purge-idempotency-keys']).toBe(1);
  });

  it('takes over the lock of a holder that crashed once it lapses', async () => {
    await idempotencyKey(ago(60_000));
    await t.context.models.JobLock.update({ holder: 'crashed-instance', lockedUntil: ago(1_000) }, { where: { name: 'purge-idempotency-keys' } });

    const results = await run('successor');

    expect(results['purge-idempotency-keys']).toBe(1);
    const lock = await t.context.models.JobLock.findByPk('purge-idempotency-keys');
    expect(lock).toMatchObject({ holder: 'successor', lastResult: { removed: 1 } });
  });

  it('never lets two concurrent instances remove the same rows twice or fail', async () => {
    await seedExpired();

    const [a, b] = await Promise.all([run('instance-a'), run('instance-b')]);

    for (const name of Object.keys(RETENTION_JOBS())) {
      const outcomes = [a[name], b[name]];
      for (const outcome of outcomes) expect(outcome === 'skipped' || typeof outcome === 'number', `${name}: ${String(outcome)}`).toBe(true);
      const removed = outcomes.filter((outcome): outcome is number => typeof outcome === 'number');
      expect(removed.length, `${name} ran on at least one instance`).toBeGreaterThanOrEqual(1);
      expect(removed.filter((count) => count > 0).length, `${name} removed rows on one instance only`).toBeLessThanOrEqual(1);
      expect(removed.reduce((sum, count) => sum + count, 0)).toBe(name === 'purge-security-events' ? 0 : (EXPECTED_FIRST_RUN[name] ?? 0));
    }
  });
});

describe('what each job would remove (what npm run retention:report prints)', () => {
  it('is what a run at the same time then removes, kind by kind, and counting removes nothing', async () => {
    const now = new Date('2031-03-01T12:00:00Z'); // every job counts and runs at this time, whatever the clock says
    await securityEvents(ago(100 * DAY, now), 2);
    await securityEvents(ago(DAY, now), 1);
    await seedExpired(now);
    const jobs = RETENTION_JOBS();

    const counted = Object.fromEntries(await Promise.all(Object.entries(jobs).map(async ([name, job]) => [name, (await job.count(now)).removes] as const)));
    const countedAgain = Object.fromEntries(await Promise.all(Object.entries(jobs).map(async ([name, job]) => [name, (await job.count(now)).removes] as const)));
    const removed = await run(undefined, () => now);

    expect(countedAgain).toEqual(counted);
    for (const [name, removes] of Object.entries(counted)) {
      expect([name, removed[name]]).toEqual([name, Object.values(removes).reduce((sum, count) => sum + count, 0)]);
    }
    // What the tests above left counts too (in 2031 their kept rows are old): at least what was seeded here.
    expect(counted['purge-security-events']!.securityEvents).toBeGreaterThanOrEqual(2);
    expect(counted['purge-session-data']!.entries).toBeGreaterThanOrEqual(3);
    expect(counted['purge-invitations']!.invitations).toBeGreaterThanOrEqual(3);
    for (const [name, job] of Object.entries(jobs)) expect([name, Object.values((await job.count(now)).removes).every((count) => count === 0)]).toEqual([name, true]);
  });
});
