import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, login, userWithToken } from '../helpers/users.js';


let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
});
afterAll(() => t.close());

function me(accessToken: string) {
  return request(t.app).get('/api/auth/me').set('Authorization', `Bearer ${accessToken}`);
}

/** One user with two login sessions from different devices. */
async function userWithTwoDevices() {
  const user = await createUser(t);
  const phone = await request(t.app)
    .post('/api/auth/login')
    .set('User-Agent', 'confidant-android/3.0')
    .send({ email: user.email, password: user.password, transport: 'body' })
    .expect(200);
  const laptop = await request(t.app)
    .post('/api/auth/login')
    .set('User-Agent', 'Mozilla/5.0 laptop')
    .send({ email: user.email, password: user.password, transport: 'body', rememberMe: true })
    .expect(200);
  return { user, phone: phone.body, laptop: laptop.body };
}

describe('GET /api/auth/sessions', () => {
  it('lists the caller’s active sessions with device, address, dates and the current flag', async () => {
    const { phone, laptop } = await userWithTwoDevices();

    const res = await request(t.app).get('/api/auth/sessions').set('Authorization', `Bearer ${laptop.accessToken}`).expect(200);

    expect(res.body.items).toHaveLength(2);
    const byId = Object.fromEntries((res.body.items as { id: string }[]).map((item) => [item.id, item]));
    expect(byId[laptop.session.id]).toEqual({
      id: laptop.session.id,
      userAgent: 'Mozilla/5.0 laptop',
      ip: expect.stringMatching(/127\.0\.0\.1/),
      rememberMe: true,
      createdAt: expect.any(String),
      lastUsedAt: expect.any(String),
      expiresAt: expect.any(String),
      current: true,
    });
    expect(byId[phone.session.id]).toMatchObject({ userAgent: 'confidant-android/3.0', rememberMe: false, current: false });
    expect(res.headers['cache-control']).toContain('no-store');
  });

  it('never shows token hashes', async () => {
    const { phone, laptop } = await userWithTwoDevices();

    const res = await request(t.app).get('/api/auth/sessions').set('Authorization', `Bearer ${phone.accessToken}`).expect(200);

    const rows = await t.context.models.AuthSession.findAll({ where: { id: [phone.session.id, laptop.session.id] } });
    for (const row of rows) expect(res.text).not.toContain(row.refreshTokenHash);
    expect(res.text).not.toMatch(/hash/i);
    expect(res.text).not.toContain(phone.refreshToken.split('.').at(-1)!);
  });

  it('leaves out revoked sessions and other users’ sessions', async () => {
    const { phone, laptop } = await userWithTwoDevices();
    const stranger = await userWithToken(t);
    await request(t.app).post('/api/auth/logout').set('Authorization', `Bearer ${phone.accessToken}`).expect(204);

    const res = await request(t.app).get('/api/auth/sessions').set('Authorization', `Bearer ${laptop.accessToken}`).expect(200);

    expect(res.body.items.map((item: { id: string }) => item.id)).toEqual([laptop.session.id]);
    expect(res.text).not.toContain(stranger.sessionId);
  });

  it('requires authentication', async () => {
    const res = await request(t.app).get('/api/auth/sessions').expect(401);

    expect(res.body.code).toBe('UNAUTHORIZED');
  });
});

describe('DELETE /api/auth/sessions/:id', () => {
  it('revokes one of the caller’s own sessions; its access token is refused at once', async () => {
    const { user, phone, laptop } = await userWithTwoDevices();
    await me(phone.accessToken).expect(200); // the guard now remembers the phone session as active

    await request(t.app).delete(`/api/auth/sessions/${phone.session.id}`).set('Authorization', `Bearer ${laptop.accessToken}`).expect(204);

    expect((await me(phone.accessToken).expect(401)).body.code).toBe('INVALID_TOKEN');
    await me(laptop.accessToken).expect(200);
    const row = await t.context.models.AuthSession.findByPk(phone.session.id);
    expect(row!.revokedAt).not.toBeNull();
    expect(row!.revokedReason).toBe('revoked_by_user');
    await request(t.app).post('/api/auth/refresh').send({ refreshToken: phone.refreshToken }).expect(401);
    await t.context.events.flush();
    const event = await t.context.models.SecurityEvent.findOne({ where: { type: 'session_revoked', userId: user.id } });
    expect(event!.metadata).toEqual({ sessionId: phone.session.id });
  });

  it('answers 404 for another user’s session id and leaves that session alone (no IDOR)', async () => {
    const attacker = await userWithToken(t);
    const victim = await userWithToken(t);

    const res = await request(t.app).delete(`/api/auth/sessions/${victim.sessionId}`).set('Authorization', attacker.auth).expect(404);

    expect(res.body.code).toBe('NOT_FOUND');
    expect((await t.context.models.AuthSession.findByPk(victim.sessionId))!.revokedAt).toBeNull();
    await me(victim.accessToken).expect(200);
  });

  it('answers 404 for an unknown session id and for one already revoked', async () => {
    const { phone, laptop } = await userWithTwoDevices();
    await request(t.app).delete(`/api/auth/sessions/${phone.session.id}`).set('Authorization', `Bearer ${laptop.accessToken}`).expect(204);

    await request(t.app).delete(`/api/auth/sessions/${phone.session.id}`).set('Authorization', `Bearer ${laptop.accessToken}`).expect(404);
    await request(t.app).delete('/api/auth/sessions/00000000-0000-4000-8000-000000000000').set('Authorization', `Bearer ${laptop.accessToken}`).expect(404);
  });

  it('answers 400 VALIDATION_FAILED for an id that is not a UUID', async () => {
    const { auth, sessionId } = await userWithToken(t);

    const res = await request(t.app).delete('/api/auth/sessions/not-a-uuid').set('Authorization', auth).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect((await t.context.models.AuthSession.findByPk(sessionId))!.revokedAt).toBeNull();
  });

  it('requires authentication', async () => {
    const { sessionId } = await userWithToken(t);

    await request(t.app).delete(`/api/auth/sessions/${sessionId}`).expect(401);

    expect((await t.context.models.AuthSession.findByPk(sessionId))!.revokedAt).toBeNull();
  });
});

describe('POST /api/auth/logout', () => {
  it('ends the current session only; its access token is refused on the very next request', async () => {
    const { user, phone, laptop } = await userWithTwoDevices();
    await me(phone.accessToken).expect(200);

    await request(t.app).post('/api/auth/logout').set('Authorization', `Bearer ${phone.accessToken}`).expect(204);

    expect((await me(phone.accessToken).expect(401)).body.code).toBe('INVALID_TOKEN');
    await me(laptop.accessToken).expect(200);
    expect((await t.context.models.AuthSession.findByPk(phone.session.id))!.revokedReason).toBe('logout');
    expect((await t.context.models.AuthSession.findByPk(laptop.session.id))!.revokedAt).toBeNull();
    await t.context.events.flush();
    const event = await t.context.models.SecurityEvent.findOne({ where: { type: 'logout', userId: user.id } });
    expect(event!.metadata).toEqual({ sessionId: phone.session.id });
  });

  it('ends the session named by a body refresh token when no access token is sent', async () => {
    const { refreshToken, sessionId, accessToken } = await userWithToken(t);

    await request(t.app).post('/api/auth/logout').send({ refreshToken }).expect(204);

    expect((await t.context.models.AuthSession.findByPk(sessionId))!.revokedReason).toBe('logout');
    await me(accessToken).expect(401);
  });

  it('answers 401 with neither an access token nor a refresh token', async () => {
    await request(t.app).post('/api/auth/logout').send({}).expect(401);
  });
});

describe('POST /api/auth/logout-all', () => {
  it('ends every session of the caller and no one else’s', async () => {
    const { user, phone, laptop } = await userWithTwoDevices();
    const stranger = await userWithToken(t);

    const res = await request(t.app).post('/api/auth/logout-all').set('Authorization', `Bearer ${phone.accessToken}`).expect(200);

    expect(res.body).toEqual({ endedSessions: 2 });
    await me(phone.accessToken).expect(401);
    await me(laptop.accessToken).expect(401);
    await me(stranger.accessToken).expect(200);
    const rows = await t.context.models.AuthSession.findAll({ where: { userId: user.id } });
    expect(rows.map((row) => row.revokedReason)).toEqual(['logout_all', 'logout_all']);
    await request(t.app).post('/api/auth/refresh').send({ refreshToken: laptop.refreshToken }).expect(401);
  });

  it('requires authentication', async () => {
    await request(t.app).post('/api/auth/logout-all').expect(401);
  });
});

describe('revocation cost (at most 0.02 session-table queries per request)', () => {
  it('reads auth_sessions at most 10 times for 500 authenticated requests, and still refuses at once after logout', async () => {
    const user = await createUser(t);
    const { accessToken, session } = await login(t, user);
    let sessionQueries = 0;
    t.sequelize.addHook('afterQuery', 'count-auth-sessions', (_options, query) => {
      if (/auth_sessions/.test((query as unknown as { sql?: string }).sql ?? '')) sessionQueries += 1;
    });
    const guardBefore = t.modules.auth.guard.queries;

    try {
      for (let i = 0; i < 500; i += 1) await me(accessToken).expect(200);
    } finally {
      t.sequelize.removeHook('afterQuery', 'count-auth-sessions');
    }

    expect(sessionQueries).toBeLessThanOrEqual(10);
    expect(t.modules.auth.guard.queries - guardBefore).toBeLessThanOrEqual(10);
    expect(sessionQueries / 500).toBeLessThanOrEqual(0.02);
    await request(t.app).post('/api/auth/logout').set('Authorization', `Bearer ${accessToken}`).expect(204);
    expect((await me(accessToken).expect(401)).body.code).toBe('INVALID_TOKEN');
    expect((await t.context.models.AuthSession.findByPk(session.id))!.revokedReason).toBe('logout');
  });

  it('counts every query that names auth_sessions (the counter itself works)', async () => {
    const { sessionId } = await userWithToken(t);
    let sessionQueries = 0;
    t.sequelize.addHook('afterQuery', 'count-check', (_options, query) => {
      if (/auth_sessions/.test((query as unknown as { sql?: string }).sql ?? '')) sessionQueries += 1;
    });
    try {
      await t.context.models.AuthSession.findByPk(sessionId);
    } finally {
      t.sequelize.removeHook('afterQuery', 'count-check');
    }

    expect(sessionQueries).toBe(1);
  });
});
