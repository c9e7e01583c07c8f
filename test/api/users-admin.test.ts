import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, login, userWithToken } from '../helpers/users.js';

const DEFAULT_PREFERENCES = {
  language: 'en',
  theme: 'system',
  timezone: 'UTC',
  notifications: { email: true, push: false, sessionReminders: true, weeklySummary: false },
};

type Caller = Awaited<ReturnType<typeof userWithToken>>;

let t: TestApp;
let admin: Caller;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
  admin = await userWithToken(t, { role: 'admin' });
});
afterAll(() => t.close());

const as = (who: Caller) => ({
  get: (path: string, query: Record<string, string | number> = {}) => request(t.app).get(path).set('Authorization', who.auth).query(query),
  patch: (path: string, body: object) => request(t.app).patch(path).set('Authorization', who.auth).send(body),
  put: (path: string, body: object) => request(t.app).put(path).set('Authorization', who.auth).send(body),
});

async function eventsOf(userId: string, type: string) {
  await t.context.events.flush();
  return t.context.models.SecurityEvent.findAll({ where: { userId, type } });
}

describe('GET /api/users/me', () => {
  it('returns the caller’s profile, never the password hash, and is not cached', async () => {
    const me = await userWithToken(t, { name: 'Ada Example' });

    const res = await as(me).get('/api/users/me').expect(200);

    expect(res.body).toEqual({ id: me.user.id, email: me.user.email, name: 'Ada Example', role: 'user', avatarUrl: null, emailVerified: true, createdAt: expect.any(String) });
    expect(res.text).not.toMatch(/argon2|passwordHash/);
    expect(res.headers['cache-control']).toContain('no-store');
  });
});

describe('PATCH /api/users/me', () => {
  it('updates the name (trimmed) and an https avatar, and null clears the avatar', async () => {
    const me = await userWithToken(t);

    const updated = await as(me).patch('/api/users/me', { name: '  New Name ', avatarUrl: 'https://cdn.example.com/a.png' }).expect(200);
    expect(updated.body).toMatchObject({ name: 'New Name', avatarUrl: 'https://cdn.example.com/a.png' });
    expect(await t.context.models.User.findByPk(me.user.id)).toMatchObject({ name: 'New Name', avatarUrl: 'https://cdn.example.com/a.png' });

    const cleared = await as(me).patch('/api/users/me', { avatarUrl: null }).expect(200);
    expect(cleared.body.avatarUrl).toBeNull();
    expect((await t.context.models.User.findByPk(me.user.id))!.avatarUrl).toBeNull();
  });

  it.each([
    ['an http avatar', { avatarUrl: 'http://cdn.example.com/a.png' }],
    ['a javascript: avatar', { avatarUrl: 'javascript:alert(1)' }],
    ['a data: avatar', { avatarUrl: 'data:image/png;base64,AAAA' }],
    ['an avatar on an IP address', { avatarUrl: 'https://127.0.0.1/a.png' }],
    ['an empty body', {}],
    ['an empty name', { name: '   ' }],
    ['a name of 101 characters', { name: 'x'.repeat(101) }],
    ['a role', { role: 'admin' }],
    ['an email', { email: 'new@example.com' }],
  ])('rejects %s with 400 and changes nothing', async (_what, body) => {
    const me = await userWithToken(t, { name: 'Unchanged' });

    const res = await as(me).patch('/api/users/me', body).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(await t.context.models.User.findByPk(me.user.id)).toMatchObject({ name: 'Unchanged', avatarUrl: null, role: 'user', email: me.user.email });
  });
});

describe('GET and PUT /api/users/me/preferences', () => {
  it('answers the defaults before anything was saved', async () => {
    const me = await userWithToken(t);

    expect((await as(me).get('/api/users/me/preferences').expect(200)).body).toEqual(DEFAULT_PREFERENCES);
  });

  it('replaces the whole document: omitted keys return to their defaults', async () => {
    const me = await userWithToken(t);

    const first = await as(me).put('/api/users/me/preferences', { theme: 'dark', timezone: 'Europe/Berlin', notifications: { push: true } }).expect(200);
    expect(first.body).toEqual({ ...DEFAULT_PREFERENCES, theme: 'dark', timezone: 'Europe/Berlin', notifications: { ...DEFAULT_PREFERENCES.notifications, push: true } });
    expect((await as(me).get('/api/users/me/preferences').expect(200)).body).toEqual(first.body);

    await as(me).put('/api/users/me/preferences', { language: 'pt-BR' }).expect(200);

    expect((await as(me).get('/api/users/me/preferences').expect(200)).body).toEqual({ ...DEFAULT_PREFERENCES, language: 'pt-BR' });
    expect(await t.context.models.UserPreferences.count({ where: { userId: me.user.id } })).toBe(1);
  });

  it.each([
    ['an unknown key', { theme: 'dark', fontSize: 14 }],
    ['an unknown notification', { notifications: { sms: true } }],
    ['an invalid time zone', { timezone: 'Mars/Olympus_Mons' }],
    ['a language that is not a tag', { language: 'english' }],
    ['an unknown theme', { theme: 'blue' }],
    ['a notification that is not a boolean', { notifications: { email: 'yes' } }],
  ])('rejects %s with 400 and keeps what was saved', async (_what, body) => {
    const me = await userWithToken(t);
    await as(me).put('/api/users/me/preferences', { theme: 'light' }).expect(200);

    const res = await as(me).put('/api/users/me/preferences', body).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect((await as(me).get('/api/users/me/preferences').expect(200)).body).toEqual({ ...DEFAULT_PREFERENCES, theme: 'light' });
  });
});

describe('GET /api/admin/users', () => {
  /** Users whose emails share a prefix of their own, so a filter isolates them. */
  /** Users created in this order, each a second newer than the one before: two made in one millisecond would leave "newest first" to their ids. */
  async function cohort(prefix: string, roles: ('user' | 'counselor')[]) {
    const users = [];
    const start = Date.now();
    for (const [i, role] of roles.entries()) {
      const user = await createUser(t, { role, email: `${prefix}${i}@example.com` });
      await t.sequelize.query('UPDATE users SET created_at = :at WHERE id = :id', { replacements: { at: new Date(start + i * 1000), id: user.id } });
      users.push(user);
    }
    return users;
  }

  it('filters by role, disabled and email prefix', async () => {
    const prefix = `flt${randomUUID().slice(0, 6)}-`;
    const [u0, c1, u2] = await cohort(prefix, ['user', 'counselor', 'user']);
    await t.context.models.User.update({ disabledAt: new Date() }, { where: { id: u2!.id } });
    const ids = async (query: Record<string, string>) => (await as(admin).get('/api/admin/users', { email: prefix, ...query }).expect(200)).body.items.map((u: { id: string }) => u.id).sort();

    expect(await ids({})).toEqual([u0!.id, c1!.id, u2!.id].sort());
    expect(await ids({ role: 'counselor' })).toEqual([c1!.id]);
    expect(await ids({ disabled: 'true' })).toEqual([u2!.id]);
    expect(await ids({ disabled: 'false', role: 'user' })).toEqual([u0!.id]);
    expect(await ids({ email: prefix.toUpperCase() })).toEqual([u0!.id, c1!.id, u2!.id].sort());
    const listed = (await as(admin).get('/api/admin/users', { email: `${prefix}2` }).expect(200)).body.items[0];
    expect(listed).toMatchObject({ id: u2!.id, disabled: true, disabledAt: expect.any(String) });
    expect(listed).not.toHaveProperty('passwordHash');
  });

  it('treats % and _ in the email filter as literal characters, not wildcards', async () => {
    const prefix = `lit${randomUUID().slice(0, 6)}-`;
    await cohort(prefix, ['user']);

    expect((await as(admin).get('/api/admin/users', { email: '%' }).expect(200)).body.items).toEqual([]);
    expect((await as(admin).get('/api/admin/users', { email: `${prefix.slice(0, 3)}_` }).expect(200)).body.items).toEqual([]);
  });

  it('pages with a cursor, newest first, without duplicates or gaps', async () => {
    const prefix = `pg${randomUUID().slice(0, 6)}-`;
    const users = await cohort(prefix, ['user', 'user', 'counselor', 'user', 'user', 'counselor', 'user']);

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page += 1) {
      const res: request.Response = await as(admin).get('/api/admin/users', cursor ? { email: prefix, limit: 3, cursor } : { email: prefix, limit: 3 }).expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((u: { id: string }) => u.id));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }

    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(users.map((u) => u.id)));
    expect(seen[0]).toBe(users[6]!.id);
    expect(cursor).toBeNull();
  });

  it.each([
    ['a bad cursor', { cursor: 'bogus' }, 'INVALID_CURSOR'],
    ['limit 0', { limit: 0 }, 'VALIDATION_FAILED'],
    ['limit 101', { limit: 101 }, 'VALIDATION_FAILED'],
    ['an unknown role', { role: 'root' }, 'VALIDATION_FAILED'],
    ['disabled=maybe', { disabled: 'maybe' }, 'VALIDATION_FAILED'],
    ['an unknown filter', { name: 'x' }, 'VALIDATION_FAILED'],
  ])('answers 400 for %s', async (_what, query, code) => {
    expect((await as(admin).get('/api/admin/users', query).expect(400)).body.code).toBe(code);
  });
});

describe('PATCH /api/admin/users/:id', () => {
  it('disables a user: their token is refused at once, their sessions end, user_disabled is recorded', async () => {
    const target = await userWithToken(t);
    await request(t.app).get('/api/users/me').set('Authorization', target.auth).expect(200);

    const res = await as(admin).patch(`/api/admin/users/${target.user.id}`, { disabled: true }).expect(200);

    expect(res.body).toMatchObject({ id: target.user.id, disabled: true, disabledAt: expect.any(String) });
    expect((await request(t.app).get('/api/users/me').set('Authorization', target.auth).expect(401)).body.code).toBe('INVALID_TOKEN');
    const sessions = await t.context.models.AuthSession.findAll({ where: { userId: target.user.id } });
    expect(sessions.map((s) => s.revokedReason)).toEqual(['user_disabled']);
    expect((await request(t.app).post('/api/auth/refresh').send({ refreshToken: target.refreshToken }).expect(401)).body.code).toBe('INVALID_REFRESH_TOKEN');
    expect((await request(t.app).post('/api/auth/login').send({ email: target.user.email, password: target.user.password }).expect(403)).body.code).toBe('ACCOUNT_DISABLED');
    const [event] = await eventsOf(target.user.id, 'user_disabled');
    expect(event?.metadata).toMatchObject({ by: admin.user.id });
  });

  it('enables a disabled user again', async () => {
    const target = await createUser(t);
    await as(admin).patch(`/api/admin/users/${target.id}`, { disabled: true }).expect(200);

    const res = await as(admin).patch(`/api/admin/users/${target.id}`, { disabled: false }).expect(200);

    expect(res.body).toMatchObject({ disabled: false, disabledAt: null });
    await login(t, target);
  });

  it('changes a role: the old token stops working, role_changed is recorded, a new login carries the new role', async () => {
    const target = await userWithToken(t);

    const res = await as(admin).patch(`/api/admin/users/${target.user.id}`, { role: 'counselor' }).expect(200);

    expect(res.body.role).toBe('counselor');
    await request(t.app).get('/api/users/me').set('Authorization', target.auth).expect(401);
    expect((await t.context.models.AuthSession.findAll({ where: { userId: target.user.id } })).map((s) => s.revokedReason)).toEqual(['role_changed']);
    const [event] = await eventsOf(target.user.id, 'role_changed');
    expect(event?.metadata).toMatchObject({ by: admin.user.id, from: 'user', to: 'counselor' });
    const fresh = await login(t, target.user);
    expect((await request(t.app).get('/api/auth/me').set('Authorization', `Bearer ${fresh.accessToken}`).expect(200)).body.role).toBe('counselor');
  });

  it('leaves sessions alone when nothing changes', async () => {
    const target = await userWithToken(t);

    await as(admin).patch(`/api/admin/users/${target.user.id}`, { role: 'user', disabled: false }).expect(200);

    await request(t.app).get('/api/users/me').set('Authorization', target.auth).expect(200);
    expect(await eventsOf(target.user.id, 'role_changed')).toEqual([]);
  });

  it.each([
    ['an empty body', {}],
    ['an unknown role', { role: 'root' }],
    ['disabled as a string', { disabled: 'true' }],
    ['an unknown key', { role: 'user', email: 'x@example.com' }],
  ])('rejects %s with 400', async (_what, body) => {
    const target = await createUser(t);

    expect((await as(admin).patch(`/api/admin/users/${target.id}`, body).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect(await t.context.models.User.findByPk(target.id)).toMatchObject({ role: 'user', disabledAt: null });
  });

  it('answers 400 for a malformed id and 404 for an unknown one', async () => {
    await as(admin).patch('/api/admin/users/not-a-uuid', { disabled: true }).expect(400);
    expect((await as(admin).patch(`/api/admin/users/${randomUUID()}`, { disabled: true }).expect(404)).body.code).toBe('NOT_FOUND');
  });
});

describe('the last active admin', () => {
  // An app of its own: these tests need to know every admin there is.
  let solo: TestApp;
  beforeAll(async () => {
    solo = await createTestApp({ lenientLimits: true });
  });
  afterAll(() => solo.close());

  const patch = (who: Caller, id: string, body: object) => request(solo.app).patch(`/api/admin/users/${id}`).set('Authorization', who.auth).send(body);
  const activeAdmins = () => solo.context.models.User.count({ where: { role: 'admin', disabledAt: null } });

  it('cannot be demoted or disabled (409 LAST_ADMIN), even with a disabled admin around', async () => {
    const only = await userWithToken(solo, { role: 'admin' });
    const dormant = await createUser(solo, { role: 'admin' });
    await solo.context.models.User.update({ disabledAt: new Date() }, { where: { id: dormant.id } });

    expect((await patch(only, only.user.id, { role: 'counselor' }).expect(409)).body.code).toBe('LAST_ADMIN');
    expect((await patch(only, only.user.id, { disabled: true }).expect(409)).body.code).toBe('LAST_ADMIN');

    expect(await solo.context.models.User.findByPk(only.user.id)).toMatchObject({ role: 'admin', disabledAt: null });
    await request(solo.app).get('/api/users/me').set('Authorization', only.auth).expect(200);
    // With a second active admin, the first may step down.
    await solo.context.models.User.update({ disabledAt: null }, { where: { id: dormant.id } });
    await patch(only, only.user.id, { role: 'user' }).expect(200);
    expect(await activeAdmins()).toBe(1);
  });

  it('survives two admins demoting each other at the same moment: at most one succeeds, an admin remains', async () => {
    const [a, b] = [await createUser(solo, { role: 'admin' }), await createUser(solo, { role: 'admin' })];
    for (let round = 0; round < 3; round += 1) {
      // Exactly these two admins at the start of every round.
      await solo.context.models.User.update({ role: 'user' }, { where: { role: 'admin' } });
      await solo.context.models.User.update({ role: 'admin', disabledAt: null }, { where: { id: [a.id, b.id] } });
      const asA = { user: a, auth: `Bearer ${(await login(solo, a)).accessToken}` } as Caller;
      const asB = { user: b, auth: `Bearer ${(await login(solo, b)).accessToken}` } as Caller;
      expect(await activeAdmins()).toBe(2);

      const statuses = (await Promise.all([patch(asA, b.id, { role: 'user' }), patch(asB, a.id, { disabled: true })])).map((res) => res.status);

      expect(statuses.filter((status) => status === 200).length).toBeLessThanOrEqual(1);
      for (const status of statuses) expect([200, 401, 409]).toContain(status);
      expect(await activeAdmins()).toBeGreaterThanOrEqual(1);
    }
  });
});
