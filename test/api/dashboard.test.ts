import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories, type SessionFields } from '../helpers/factories.js';
import { createPractice } from '../helpers/practice.js';
import { createUser, userWithToken } from '../helpers/users.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

type Caller = Awaited<ReturnType<typeof userWithToken>>;

let t: TestApp;
let make: ReturnType<typeof factories>;
let admin: Caller;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
  make = factories(t);
  admin = await userWithToken(t, { role: 'admin' });
});
afterAll(() => t.close());

const summary = (who: Caller, query: Record<string, string | number> = {}) => request(t.app).get('/api/dashboard/summary').set('Authorization', who.auth).query(query);

function utcMidnight(date = new Date()): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

/** A session row with a chosen clock, ended unless said otherwise. Every activeSeconds here is whole minutes, so minute totals stay exact. */
const insertSession = (fields: SessionFields) => make.session({ status: 'ended', ...fields });
const insertEmotion = (session: { id: string; userId: string }, at: Date, valence: number, arousal: number) => make.emotion(session, at, valence, arousal);

describe('GET /api/dashboard/summary for a user', () => {
  it('computes the window, today vs yesterday, the streak, the last sessions and recommendations from the data', async () => {
    const who = await userWithToken(t);
    const stranger = await createUser(t);
    const now = new Date();
    const today = utcMidnight(now);
    const yesterday = new Date(today.getTime() - DAY);
    // Today (still running for the last 10 minutes), yesterday and the day before: a 3-day streak.
    const a = await insertSession({ userId: who.user.id, startedAt: new Date(today.getTime() + 1), status: 'active', lastResumedAt: new Date(now.getTime() - 10 * MINUTE) });
    const b = await insertSession({ userId: who.user.id, startedAt: new Date(yesterday.getTime() + 2 * HOUR), activeSeconds: 1200 });
    const c = await insertSession({ userId: who.user.id, startedAt: new Date(today.getTime() - 2 * DAY + 2 * HOUR), activeSeconds: 1800 });
    await insertSession({ userId: who.user.id, startedAt: new Date(today.getTime() - 5 * DAY + 2 * HOUR), activeSeconds: 600 });
    await insertSession({ userId: who.user.id, startedAt: new Date(today.getTime() - 10 * DAY), activeSeconds: 6000 });
    await insertEmotion(a, new Date(today.getTime() + 1), 0.6, 0.9);
    await insertEmotion(a, new Date(today.getTime() + 2), 0.2, 0.7);
    await insertEmotion(b, new Date(yesterday.getTime() + HOUR), -0.2, 0.3);
    await insertEmotion(b, new Date(yesterday.getTime() + 2 * HOUR), 0, 0.5);
    await insertEmotion(c, new Date(today.getTime() - 2 * DAY + 3 * HOUR), -1, 1);
    const theirs = await insertSession({ userId: stranger.id, startedAt: new Date(today.getTime() + 1) });
    await insertEmotion(theirs, new Date(today.getTime() + 1), -1, 0);

    const res = await summary(who).expect(200);

    expect(res.headers['cache-control']).toMatch(/^private/);
    expect(res.body).toMatchObject({
      role: 'user',
      windowDays: 7,
      sessions: 4,
      activeMinutes: 70,
      mood: {
        today: { valence: 0.4, arousal: 0.8 },
        yesterday: { valence: -0.1, arousal: 0.4 },
        trend: { valence: 0.5, arousal: 0.4 },
      },
      streakDays: 3,
    });
    expect(res.body.lastSessions.map((s: { id: string }) => s.id)).toEqual([a.id, b.id, c.id]);
    expect(res.body.recommendations.map((r: { code: string }) => r.code)).toEqual(['HIGH_AROUSAL', 'KEEP_STREAK', 'MOOD_IMPROVING']);

    const month = (await summary(who, { days: 30 }).expect(200)).body;
    expect(month).toMatchObject({ windowDays: 30, sessions: 5, activeMinutes: 170 });
  });

  it('answers a user with no data with zeros, no mood and at most three recommendations', async () => {
    const who = await userWithToken(t);

    const body = (await summary(who, { days: 1 }).expect(200)).body;

    expect(body).toMatchObject({
      sessions: 0,
      activeMinutes: 0,
      mood: { today: { valence: null, arousal: null }, yesterday: { valence: null, arousal: null }, trend: { valence: null, arousal: null } },
      streakDays: 0,
      lastSessions: [],
    });
    expect(body.recommendations.length).toBeLessThanOrEqual(3);
    expect(body.recommendations.map((r: { code: string }) => r.code)).toEqual(['RECONNECT', 'CHECK_IN_MOOD']);
  });

  it('keeps a streak alive through yesterday while today has no session yet, and recommends action on a dropping mood', async () => {
    const who = await userWithToken(t);
    const today = utcMidnight();
    const yesterday = await insertSession({ userId: who.user.id, startedAt: new Date(today.getTime() - DAY + HOUR) });
    await insertSession({ userId: who.user.id, startedAt: new Date(today.getTime() - 2 * DAY + HOUR) });
    await insertSession({ userId: who.user.id, startedAt: new Date(today.getTime() - 4 * DAY + HOUR) });
    await insertEmotion(yesterday, new Date(today.getTime() - DAY + 2 * HOUR), 0.5, 0.2);
    await insertEmotion(yesterday, new Date(today.getTime() + 1), -0.1, 0.2);

    const body = (await summary(who).expect(200)).body;

    expect(body.streakDays).toBe(2);
    expect(body.mood.trend.valence).toBe(-0.6);
    expect(body.recommendations.map((r: { code: string }) => r.code)).toEqual(['MOOD_DROPPING']);
  });

  it.each([['0'], ['91'], ['abc'], ['-1'], ['7.5'], ['']])('answers 400 for days=%j', async (days) => {
    const who = await userWithToken(t);

    const res = await summary(who, { days }).expect(400);

    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });

  it('accepts the bounds days=1 and days=90', async () => {
    const who = await userWithToken(t);

    expect((await summary(who, { days: 1 }).expect(200)).body.windowDays).toBe(1);
    expect((await summary(who, { days: 90 }).expect(200)).body.windowDays).toBe(90);
  });
});

describe('GET /api/dashboard/summary for a counselor', () => {
  it('covers only the clients in their care now, with per-client counts', async () => {
    const counselor = await userWithToken(t, { role: 'counselor' });
    const colleague = await createUser(t, { role: 'counselor' });
    const [first, second, elsewhere, former] = await Promise.all([createUser(t, { name: 'First Client' }), createUser(t, { name: 'Second Client' }), createUser(t), createUser(t)]);
    const { id: practice } = await make.organization();
    await make.care(practice, counselor.user.id, first.id);
    await make.care(practice, counselor.user.id, second.id);
    await make.care(practice, colleague.id, elsewhere.id);
    await make.care(practice, counselor.user.id, former.id, new Date());
    const held = (fields: SessionFields) => insertSession({ counselorId: counselor.user.id, organizationId: practice, ...fields });
    const now = Date.now();
    // Milliseconds on purpose: lastSessionAt must come back exactly.
    const latestOfFirst = new Date(now - HOUR + 123);
    const ofFirst = await held({ userId: first.id, startedAt: latestOfFirst, activeSeconds: 600 });
    await held({ userId: first.id, startedAt: new Date(now - 2 * DAY + 456), activeSeconds: 1200 });
    const latestOfSecond = new Date(now - 3 * DAY + 789);
    await held({ userId: second.id, startedAt: latestOfSecond, activeSeconds: 1800 });
    await insertSession({ userId: first.id, startedAt: new Date(now - 2 * HOUR), activeSeconds: 3000 });
    const foreign = await insertSession({ userId: elsewhere.id, counselorId: colleague.id, organizationId: practice, startedAt: new Date(now - HOUR), activeSeconds: 3000 });
    await held({ userId: second.id, startedAt: new Date(now - 20 * DAY), activeSeconds: 6000 });
    // Held with a client whose care ended, and before organizations existed: neither counts.
    await held({ userId: former.id, startedAt: new Date(now - HOUR), activeSeconds: 3000 });
    await insertSession({ userId: second.id, counselorId: counselor.user.id, startedAt: new Date(now - HOUR), activeSeconds: 3000 });
    await insertEmotion(ofFirst, new Date(Math.max(utcMidnight().getTime() + 1, now - MINUTE)), 0.8, 0.2);
    await insertEmotion(foreign, new Date(Math.max(utcMidnight().getTime() + 1, now - MINUTE)), -0.8, 0.9);

    const body = (await summary(counselor).expect(200)).body;

    expect(body).toMatchObject({ role: 'counselor', windowDays: 7, sessions: 3, activeMinutes: 60 });
    expect(body.mood.today).toEqual({ valence: 0.8, arousal: 0.2 });
    expect(body.lastSessions.map((s: { userId: string }) => s.userId)).toEqual([first.id, first.id, second.id]);
    expect(body.clients).toEqual([
      { userId: first.id, name: 'First Client', sessions: 2, activeMinutes: 30, lastSessionAt: latestOfFirst.toISOString() },
      { userId: second.id, name: 'Second Client', sessions: 1, activeMinutes: 30, lastSessionAt: latestOfSecond.toISOString() },
    ]);
  });
});

describe('GET /api/organizations/:id/dashboard', () => {
  it('gives the staff the organization’s aggregates, computed from its own sessions only', async () => {
    const practice = await createPractice(t);
    const other = await createPractice(t);
    const second = await practice.join('client');
    await make.care(practice.id, practice.counselor.user.id, second.user.id);
    const former = await practice.join('client');
    await make.care(practice.id, practice.counselor.user.id, former.user.id, new Date());
    const held = (userId: string, fields: Partial<SessionFields> = {}) =>
      insertSession({ userId, counselorId: practice.counselor.user.id, organizationId: practice.id, startedAt: new Date(Date.now() - HOUR), activeSeconds: 600, ...fields });
    const first = await held(practice.client.user.id);
    await held(second.user.id, { activeSeconds: 1200 });
    await held(second.user.id, { status: 'active', activeSeconds: 0, startedAt: new Date(Date.now() - 10 * MINUTE), lastResumedAt: new Date(Date.now() - 10 * MINUTE) });
    await held(practice.client.user.id, { startedAt: new Date(Date.now() - 20 * DAY) });
    await insertSession({ userId: other.client.user.id, counselorId: other.counselor.user.id, organizationId: other.id, startedAt: new Date(Date.now() - HOUR), activeSeconds: 6000 });
    await insertSession({ userId: practice.client.user.id, startedAt: new Date(Date.now() - HOUR), activeSeconds: 6000 }); // the client's own, outside the practice
    for (let i = 0; i < 2; i += 1) await insertEmotion(first, new Date(Date.now() - i * MINUTE), 0, 0);
    await t.context.models.SessionFeedback.create({ sessionId: first.id, userId: practice.client.user.id, rating: 4, comment: null });
    await t.context.models.Invitation.create({ organizationId: practice.id, email: 'pending@example.com', role: 'client', counselorId: null, invitedBy: practice.owner.user.id, tokenHash: 'f'.repeat(64), expiresAt: new Date(Date.now() + DAY) });

    const res = await request(t.app).get(`/api/organizations/${practice.id}/dashboard`).set('Authorization', practice.manager.auth).expect(200);

    expect(res.headers['cache-control']).toMatch(/^private/);
    expect(res.body).toEqual({
      organizationId: practice.id,
      windowDays: 7,
      members: { owner: 1, admin: 1, manager: 1, counselor: 1, client: 3 },
      care: { active: 2, ended: 1 },
      pendingInvitations: 1,
      sessions: { byStatus: { ended: 3, active: 1 }, inWindow: 3, activeClients: 2 },
      activeMinutes: 40,
      entriesInWindow: 2,
      feedback: { count: 1, meanRating: 4 },
      counselors: [{ userId: practice.counselor.user.id, name: 'Test Person', clientsInCare: 2, sessions: 3, activeMinutes: 40 }],
    });
  });

  it('sends the same small number of queries however many sessions the organization has', async () => {
    const practice = await createPractice(t);
    const count = async () => {
      let queries = 0;
      // As above: only the tables the dashboard reads (not a new connection's pg_type read, nor background sealing).
      t.sequelize.addHook('afterQuery', 'count-org-dashboard', (_options, query) => {
        const sql = String((query as unknown as { sql?: string }).sql ?? '');
        if (/\b(counseling_sessions|session_entries|session_feedback|memberships|care_relationships|invitations|organizations|users)\b/.test(sql)) queries += 1;
      });
      try {
        await request(t.app).get(`/api/organizations/${practice.id}/dashboard`).set('Authorization', practice.owner.auth).expect(200);
      } finally {
        t.sequelize.removeHook('afterQuery', 'count-org-dashboard');
      }
      return queries;
    };
    await count(); // warms the login session's cache
    const few = await count();
    for (let i = 0; i < 50; i += 1) await insertSession({ userId: practice.client.user.id, counselorId: practice.counselor.user.id, organizationId: practice.id, startedAt: new Date(Date.now() - i * MINUTE), activeSeconds: 60 });

    expect(await count()).toBe(few);
    expect(few).toBeGreaterThan(0);
    expect(few).toBeLessThanOrEqual(15);
  });
});

describe('GET /api/dashboard/summary for an admin', () => {
  it('reports platform totals that move exactly with the data', async () => {
    const before = (await summary(admin).expect(200)).body;
    const client = await createUser(t);
    const counselor = await createUser(t, { role: 'counselor' });
    const disabled = await createUser(t);
    await t.context.models.User.update({ disabledAt: new Date() }, { where: { id: disabled.id } });
    const recent = await insertSession({ userId: client.id, counselorId: counselor.id, startedAt: new Date(Date.now() - HOUR), activeSeconds: 1200 });
    await insertSession({ userId: client.id, startedAt: new Date(Date.now() - 30 * DAY), status: 'paused', activeSeconds: 600 });
    for (let i = 0; i < 3; i += 1) await insertEmotion(recent, new Date(Date.now() - i * MINUTE), 0, 0);

    const res = await summary(admin).expect(200);

    const after = res.body;
    expect(res.headers['cache-control']).toMatch(/^private/);
    expect(after.role).toBe('admin');
    const delta = (path: (body: typeof after) => number | undefined) => (path(after) ?? 0) - (path(before) ?? 0);
    expect(delta((b) => b.users.byRole.user)).toBe(2);
    expect(delta((b) => b.users.byRole.counselor)).toBe(1);
    expect(delta((b) => b.users.byRole.admin)).toBe(0);
    expect(delta((b) => b.users.disabled)).toBe(1);
    expect(delta((b) => b.sessions.byStatus.ended)).toBe(1);
    expect(delta((b) => b.sessions.byStatus.paused)).toBe(1);
    expect(delta((b) => b.sessions.inWindow)).toBe(1);
    expect(delta((b) => b.sessions.activeClients)).toBe(1);
    expect(delta((b) => b.activeMinutes)).toBe(20);
    expect(delta((b) => b.entriesInWindow)).toBe(3);
  });
});

describe('the summary is computed with aggregates', () => {
  /**
   * The statements on the tables the summary reads while `act` runs. Left out: a new pooled
   * PostgreSQL connection first reads pg_type, and the audit chain seals security events in
   * the background; neither depends on the request.
   */
  async function queriesDuring(act: () => Promise<unknown>): Promise<string[]> {
    const statements: string[] = [];
    t.sequelize.addHook('afterQuery', 'count-queries', (_options, query) => {
      const sql = String((query as unknown as { sql?: string }).sql ?? '');
      if (/\b(counseling_sessions|session_entries|session_feedback|users)\b/.test(sql)) statements.push(sql);
    });
    try {
      await act();
    } finally {
      t.sequelize.removeHook('afterQuery', 'count-queries');
    }
    return statements;
  }

  async function userWithSessions(count: number) {
    const who = await userWithToken(t);
    const now = Date.now();
    const rows = await t.context.models.CounselingSession.bulkCreate(
      Array.from({ length: count }, (_, i) => ({
        userId: who.user.id,
        counselorId: null,
        topic: null,
        status: 'ended' as const,
        startedAt: new Date(now - i * HOUR - 30 * MINUTE),
        lastResumedAt: null,
        endedAt: new Date(now - i * HOUR),
        activeSeconds: 60,
      })),
    );
    await t.context.models.SessionEntry.bulkCreate(
      rows.map((row, i) => ({
        sessionId: row.id, userId: who.user.id, authorId: who.user.id, authorRole: 'client' as const,
        kind: 'emotion' as const, emotion: 'calm', valence: 0.1, arousal: 0.1, text: null, speaker: null, at: new Date(now - i * HOUR),
      })),
    );
    // Warm the login-session cache and write the login's security event before counting.
    await summary(who).expect(200);
    await t.context.events.flush();
    return who;
  }

  it('sends the same small number of queries for 5 sessions as for 200', async () => {
    const few = await userWithSessions(5);
    const many = await userWithSessions(200);

    let fewBody: { sessions: number } | undefined;
    let manyBody: { sessions: number } | undefined;
    const forFew = await queriesDuring(async () => (fewBody = (await summary(few).expect(200)).body));
    const forMany = await queriesDuring(async () => (manyBody = (await summary(many).expect(200)).body));

    expect(fewBody!.sessions).toBe(5);
    expect(manyBody!.sessions).toBe(24 * 7);
    expect(forMany.length).toBe(forFew.length);
    expect(forFew.length).toBeGreaterThan(0);
    expect(forFew.length).toBeLessThanOrEqual(5);
  });
});

describe('one definition of active time, on the demo data', () => {
  let demo: TestApp;
  beforeAll(async () => {
    demo = await createTestApp({ lenientLimits: true });
    const queryInterface = demo.sequelize.getQueryInterface();
    for (const seeder of ['20261122000100-demo-accounts.cjs', '20261122000200-demo-sessions.cjs', '20261123000100-demo-practice.cjs']) {
      const { default: module } = (await import(`../../seeders/${seeder}`)) as { default: { up(queryInterface: unknown): Promise<void> } };
      await module.up(queryInterface);
    }
  });
  afterAll(() => demo?.close());

  const demoSummary = async (email: string, password: string) => {
    const token = (await request(demo.app).post('/api/auth/login').send({ email, password, transport: 'body' }).expect(200)).body.accessToken as string;
    return (await request(demo.app).get('/api/dashboard/summary').query({ days: 30 }).set('Authorization', `Bearer ${token}`).expect(200)).body;
  };

  it('counts a running session the same way for the counselor, per client and for the admin', async () => {
    const running = await demo.context.models.CounselingSession.count({ where: { status: 'active' } });
    expect(running).toBeGreaterThan(0); // the demo data has a session still going, the case that differed

    const counselor = await demoSummary('counselor@demo.confidant.local', 'meadow-beacon-quartz-42');
    const admin = await demoSummary('admin@demo.confidant.local', 'orchard-lantern-velvet-42');
    const client = await demoSummary('client@demo.confidant.local', 'harbor-compass-saffron-42');
    const perClient = (counselor.clients as { activeMinutes: number }[]).map((row) => row.activeMinutes);

    // Every demo session is held by the demo counselor: the three scopes cover the same sessions.
    expect(counselor.sessions).toBe(admin.sessions.inWindow);
    expect(Math.abs(counselor.activeMinutes - admin.activeMinutes)).toBeLessThanOrEqual(1); // only the clock moved between the requests
    expect(Math.abs(perClient.reduce((sum, minutes) => sum + minutes, 0) - counselor.activeMinutes)).toBeLessThanOrEqual(perClient.length);
    const ownRow = (counselor.clients as { name: string; activeMinutes: number }[]).find((row) => row.name === 'Cliff Client');
    expect(Math.abs(ownRow!.activeMinutes - client.activeMinutes)).toBeLessThanOrEqual(1);
  });
});
