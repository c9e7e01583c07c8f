import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories } from '../helpers/factories.js';
import { createPractice, type Person, type Practice, requestAs } from '../helpers/practice.js';
import { login, userWithToken } from '../helpers/users.js';

/**
 * Need-to-know access to counseling content: a counselor only through an active care
 * relationship, an organization's staff and platform admins metadata and aggregates only,
 * a platform admin's break-glass read recorded for the client to see.
 */

let t: TestApp;
let make: ReturnType<typeof factories>;
let platformAdmin: Person;

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
  make = factories(t);
  platformAdmin = await userWithToken(t, { role: 'admin' });
});
afterAll(() => t.close());

const as = (who: Person) => requestAs(t, who);

/** A session of the practice's client with its counselor, with a client note, a counselor note and feedback with a comment. */
async function heldSession(practice: Practice) {
  const { body: session } = await as(practice.client).post('/api/sessions', { counselorId: practice.counselor.user.id, topic: 'Sleep' }).expect(201);
  const path = `/api/sessions/${session.id}`;
  await as(practice.client).post(`${path}/entries`, { kind: 'note', text: 'client words' }).expect(201);
  await as(practice.counselor).post(`${path}/entries`, { kind: 'note', text: 'clinical impression' }).expect(201);
  await as(practice.client).post(`${path}/end`).expect(200);
  await as(practice.client).post(`${path}/feedback`, { rating: 4, comment: 'a private comment' }).expect(201);
  return { id: session.id as string, path };
}

const texts = (res: request.Response) => (res.body.items as { text?: string }[]).map((item) => item.text).filter(Boolean).sort();

describe('POST /api/sessions names a counselor only through an active care relationship', () => {
  it('starts the session in the relationship’s organization', async () => {
    const practice = await createPractice(t);

    const res = await as(practice.client).post('/api/sessions', { counselorId: practice.counselor.user.id }).expect(201);

    expect(res.body).toMatchObject({ userId: practice.client.user.id, counselorId: practice.counselor.user.id, organizationId: practice.id });
  });

  it('answers 422 COUNSELOR_NOT_FOUND for a counselor of the organization without a relationship with the client, and stores nothing', async () => {
    const practice = await createPractice(t);
    const colleague = await practice.join('counselor');
    const topic = `unrelated-${randomUUID()}`;

    const res = await as(practice.client).post('/api/sessions', { counselorId: colleague.user.id, topic }).expect(422);

    expect(res.body.code).toBe('COUNSELOR_NOT_FOUND');
    expect(await t.context.models.CounselingSession.count({ where: { topic } })).toBe(0);
  });

  it('answers 422 once the relationship ended', async () => {
    const practice = await createPractice(t);
    await as(practice.client).delete(`/api/organizations/${practice.id}/care/${practice.care.id}`).expect(204);

    expect((await as(practice.client).post('/api/sessions', { counselorId: practice.counselor.user.id }).expect(422)).body.code).toBe('COUNSELOR_NOT_FOUND');
  });

  it('asks for careId when the client is in the counselor’s care in two organizations, and takes it', async () => {
    const practice = await createPractice(t);
    const second = await make.organization();
    await make.member(second.id, practice.counselor.user.id, 'counselor');
    await make.member(second.id, practice.client.user.id, 'client');
    const there = await make.care(second.id, practice.counselor.user.id, practice.client.user.id);

    const ambiguous = await as(practice.client).post('/api/sessions', { counselorId: practice.counselor.user.id }).expect(422);
    const chosen = await as(practice.client).post('/api/sessions', { careId: there.id }).expect(201);

    expect(ambiguous.body.code).toBe('CARE_RELATIONSHIP_AMBIGUOUS');
    expect(chosen.body).toMatchObject({ counselorId: practice.counselor.user.id, organizationId: second.id });
    expect((await as(practice.client).post('/api/sessions', { careId: randomUUID() }).expect(422)).body.code).toBe('CARE_RELATIONSHIP_NOT_FOUND');
  });

  it('refuses organizationId in the body (400): the organization comes from the relationship', async () => {
    const practice = await createPractice(t);
    const other = await createPractice(t);

    const res = await as(practice.client).post('/api/sessions', { counselorId: practice.counselor.user.id, organizationId: other.id }).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(await t.context.models.CounselingSession.count({ where: { organizationId: other.id } })).toBe(0);
  });
});

describe('a counselor reaches a session through the care relationship only', () => {
  it('reads and writes the sessions of an active relationship and lists them', async () => {
    const practice = await createPractice(t);
    const session = await heldSession(practice);

    expect(texts(await as(practice.counselor).get(`${session.path}/entries`).expect(200))).toEqual(['client words', 'clinical impression']);
    const listed = await as(practice.counselor).get('/api/sessions').expect(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(session.id);
  });

  it('loses every access the moment the relationship ends (404, as for a stranger); the client keeps reading', async () => {
    const practice = await createPractice(t);
    const session = await heldSession(practice);
    const { body: open } = await as(practice.client).post('/api/sessions', { counselorId: practice.counselor.user.id }).expect(201);

    await as(practice.manager).delete(`/api/organizations/${practice.id}/care/${practice.care.id}`).expect(204);

    for (const path of [session.path, `${session.path}/entries`, `${session.path}/report`]) {
      expect((await as(practice.counselor).get(path).expect(404)).body.code).toBe('NOT_FOUND');
    }
    expect((await as(practice.counselor).post(`/api/sessions/${open.id}/entries`, { kind: 'note', text: 'after the end' }).expect(404)).body.code).toBe('NOT_FOUND');
    const listed = await as(practice.counselor).get('/api/sessions').expect(200);
    expect(listed.body.items.map((item: { id: string }) => item.id)).not.toContain(session.id);
    expect(texts(await as(practice.client).get(`${session.path}/entries`).expect(200))).toEqual(['client words']);
  });

  it('opens nothing to an account no longer a counselor, though its relationship was not ended', async () => {
    const practice = await createPractice(t);
    const session = await heldSession(practice);
    await as(platformAdmin).patch(`/api/admin/users/${practice.counselor.user.id}`, { role: 'user' }).expect(200);
    const demoted = { ...practice.counselor, auth: `Bearer ${(await login(t, practice.counselor.user)).accessToken}` };

    await as(demoted).get(session.path).expect(404);
    expect((await as(demoted).get('/api/sessions').expect(200)).body.items.map((item: { id: string }) => item.id)).not.toContain(session.id);
  });

  it('keeps a session from before organizations readable by its client, and closed to the counselor it names', async () => {
    const practice = await createPractice(t);
    const legacy = await make.session({ userId: practice.client.user.id, counselorId: practice.counselor.user.id });
    await make.entry(legacy, { kind: 'emotion', emotion: 'calm', valence: 0.2, arousal: 0.1, at: new Date() });

    expect((await as(practice.client).get(`/api/sessions/${legacy.id}`).expect(200)).body).toMatchObject({ organizationId: null, counselorId: practice.counselor.user.id });
    await as(practice.client).get(`/api/sessions/${legacy.id}/entries`).expect(200);
    await as(practice.counselor).get(`/api/sessions/${legacy.id}`).expect(404);
  });
});

describe('an organization’s staff see metadata and aggregates of its sessions, never content', () => {
  it('shows them the session, lists it, and gives a report without the feedback comment', async () => {
    const practice = await createPractice(t);
    const session = await heldSession(practice);

    for (const staff of [practice.owner, practice.admin, practice.manager]) {
      await as(staff).get(session.path).expect(200);
      expect((await as(staff).get('/api/sessions').expect(200)).body.items.map((item: { id: string }) => item.id)).toContain(session.id);
      const report = await as(staff).get(`${session.path}/report`).expect(200);
      expect(report.body).toMatchObject({ contentWithheld: true, entries: { note: 2, total: 2 }, feedback: { rating: 4, comment: null } });
      expect(JSON.stringify(report.body)).not.toMatch(/client words|clinical impression|a private comment/);
    }
  });

  it('refuses them the timeline (403 CONTENT_RESTRICTED) and running the session (403)', async () => {
    const practice = await createPractice(t);
    const session = await heldSession(practice);
    const { body: open } = await as(practice.client).post('/api/sessions', { counselorId: practice.counselor.user.id }).expect(201);

    const timeline = await as(practice.owner).get(`${session.path}/entries`).expect(403);

    expect(timeline.body.code).toBe('CONTENT_RESTRICTED');
    expect(JSON.stringify(timeline.body)).not.toMatch(/client words|clinical impression/);
    await as(practice.manager).post(`/api/sessions/${open.id}/pause`).expect(403);
    await as(practice.admin).post(`/api/sessions/${open.id}/entries`, { kind: 'note', text: 'staff note' }).expect(403);
    await as(practice.owner).delete(`/api/sessions/${open.id}`).expect(403);
  });

  it('answers the staff of another organization with 404', async () => {
    const practice = await createPractice(t);
    const other = await createPractice(t);
    const session = await heldSession(practice);

    expect((await as(other.owner).get(session.path).expect(404)).body.code).toBe('NOT_FOUND');
    expect((await as(other.owner).get('/api/sessions').expect(200)).body.items.map((item: { id: string }) => item.id)).not.toContain(session.id);
  });
});

describe('a platform admin and session content', () => {
  it('gets metadata and aggregates but no entry text, notes or feedback comment without break-glass', async () => {
    const practice = await createPractice(t);
    const session = await heldSession(practice);

    await as(platformAdmin).get(session.path).expect(200);
    const timeline = await as(platformAdmin).get(`${session.path}/entries`).expect(403);
    const report = await as(platformAdmin).get(`${session.path}/report`).expect(200);

    expect(timeline.body.code).toBe('CONTENT_RESTRICTED');
    expect(timeline.body.detail).toContain('break-glass');
    expect(report.body).toMatchObject({ contentWithheld: true, feedback: { rating: 4, comment: null } });
    expect(JSON.stringify([timeline.body, report.body])).not.toMatch(/client words|clinical impression|a private comment/);
  });

  it('reads everything for the window after stating a reason; the grant and each read show in the client’s own security events', async () => {
    const practice = await createPractice(t);
    const session = await heldSession(practice);
    const reason = 'The client reported an abusive entry to support';

    const granted = await as(platformAdmin).post(`/api/admin/sessions/${session.id}/access`, { reason }).expect(201);
    const timeline = await as(platformAdmin).get(`${session.path}/entries`).expect(200);
    const report = await as(platformAdmin).get(`${session.path}/report`).expect(200);

    expect(granted.body).toEqual({ sessionId: session.id, reason, expiresAt: expect.any(String) });
    const minutes = (Date.parse(granted.body.expiresAt) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(14);
    expect(minutes).toBeLessThanOrEqual(15);
    expect(texts(timeline)).toEqual(['client words', 'clinical impression']);
    expect(report.body).toMatchObject({ contentWithheld: false, feedback: { comment: 'a private comment' } });

    await t.context.events.flush();
    const own = await as(practice.client).get('/api/users/me/security-events').expect(200);
    const breakGlass = (own.body.items as { type: string; metadata: Record<string, unknown> }[]).filter((event) => event.type === 'break_glass_access');
    expect(breakGlass.map((event) => event.metadata).reverse()).toEqual([
      { sessionId: session.id, by: platformAdmin.user.id, access: 'granted', reason, expiresAt: granted.body.expiresAt },
      { sessionId: session.id, by: platformAdmin.user.id, access: 'read', read: 'entries' },
      { sessionId: session.id, by: platformAdmin.user.id, access: 'read', read: 'report' },
    ]);
    const organizationEvents = await as(practice.owner).get(`/api/organizations/${practice.id}/security-events?type=break_glass_access`).expect(200);
    expect(organizationEvents.body.items).toHaveLength(3);
  });

  it('loses the content again when the window has passed, and the grant was the admin’s alone', async () => {
    const practice = await createPractice(t);
    const session = await heldSession(practice);
    const colleague = await userWithToken(t, { role: 'admin' });
    await as(platformAdmin).post(`/api/admin/sessions/${session.id}/access`, { reason: 'Checking a reported entry' }).expect(201);

    await as(colleague).get(`${session.path}/entries`).expect(403);
    await t.context.models.SessionAccessGrant.update({ expiresAt: new Date(Date.now() - 1000) }, { where: { sessionId: session.id } });
    await as(platformAdmin).get(`${session.path}/entries`).expect(403);
  });

  it('never lets break-glass write: entries and feedback stay 403', async () => {
    const practice = await createPractice(t);
    const { body: open } = await as(practice.client).post('/api/sessions', { counselorId: practice.counselor.user.id }).expect(201);
    await as(platformAdmin).post(`/api/admin/sessions/${open.id}/access`, { reason: 'Checking a reported entry' }).expect(201);

    await as(platformAdmin).post(`/api/sessions/${open.id}/entries`, { kind: 'note', text: 'admin words' }).expect(403);
    expect(await t.context.models.SessionEntry.count({ where: { sessionId: open.id } })).toBe(0);
  });

  it('answers an unknown session with 404 and records nothing', async () => {
    const missing = randomUUID();

    await as(platformAdmin).post(`/api/admin/sessions/${missing}/access`, { reason: 'Checking a reported entry' }).expect(404);

    await t.context.events.flush();
    const events = await t.context.models.SecurityEvent.findAll({ where: { type: 'break_glass_access' } });
    expect(events.filter((event) => event.metadata.sessionId === missing)).toEqual([]);
  });
});
