import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgRole } from '../../src/models/membership.model.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories } from '../helpers/factories.js';
import { createPractice, type Person, type Practice, requestAs } from '../helpers/practice.js';
import { userWithToken } from '../helpers/users.js';

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

const slug = () => `org-${randomUUID().slice(0, 8)}`;
const roleOf = async (organizationId: string, userId: string) => (await t.context.models.Membership.findOne({ where: { organizationId, userId } }))?.role ?? null;

async function eventsOf(where: Record<string, unknown>) {
  await t.context.events.flush();
  return t.context.models.SecurityEvent.findAll({ where, order: [['createdAt', 'ASC']] });
}

describe('POST /api/organizations', () => {
  it('creates an organization whose owner is the caller, and records org_created', async () => {
    const founder = await userWithToken(t);
    const wanted = slug();

    const res = await as(founder).post('/api/organizations', { name: '  Harbor Counseling ', slug: wanted }).expect(201);

    expect(res.body).toEqual({ id: expect.any(String), name: 'Harbor Counseling', slug: wanted, logoUrl: null, sessionDataRetentionDays: null, role: 'owner', createdAt: expect.any(String) });
    expect(await roleOf(res.body.id, founder.user.id)).toBe('owner');
    const [event] = await eventsOf({ type: 'org_created', organizationId: res.body.id });
    expect(event).toMatchObject({ userId: founder.user.id, metadata: { slug: wanted } });
  });

  it('refuses an account whose email is not verified with 403 EMAIL_NOT_VERIFIED', async () => {
    const unverified = await userWithToken(t, { verified: false });
    const wanted = slug();

    const res = await as(unverified).post('/api/organizations', { name: 'Unverified', slug: wanted }).expect(403);

    expect(res.body.code).toBe('EMAIL_NOT_VERIFIED');
    expect(await t.context.models.Organization.count({ where: { slug: wanted } })).toBe(0);
  });

  it('answers a slug that is taken with 409 SLUG_TAKEN', async () => {
    const taken = await make.organization();
    const founder = await userWithToken(t);

    const res = await as(founder).post('/api/organizations', { name: 'Copycat', slug: taken.slug }).expect(409);

    expect(res.body.code).toBe('SLUG_TAKEN');
    expect(await t.context.models.Membership.count({ where: { userId: founder.user.id } })).toBe(0);
  });

  it.each([
    ['an upper-case slug', { name: 'X', slug: 'Harbor' }],
    ['a slug with a space', { name: 'X', slug: 'harbor care' }],
    ['a slug of 51 characters', { name: 'X', slug: 'a'.repeat(51) }],
    ['no name', { slug: 'valid-slug' }],
    ['a name with a line break', { name: 'Line\nbreak', slug: 'valid-slug' }],
  ])('refuses %s with 400', async (_what, body) => {
    const founder = await userWithToken(t);

    expect((await as(founder).post('/api/organizations', body).expect(400)).body.code).toBe('VALIDATION_FAILED');
    expect(await t.context.models.Membership.count({ where: { userId: founder.user.id } })).toBe(0);
  });
});

describe('GET /api/organizations', () => {
  it('lists the caller’s own memberships with their role, and nobody else’s organizations', async () => {
    const person = await userWithToken(t);
    const [first, second, foreign] = [await make.organization(), await make.organization(), await make.organization()];
    await make.member(first.id, person.user.id, 'client');
    await make.member(second.id, person.user.id, 'manager');

    const res = await as(person).get('/api/organizations').expect(200);

    expect(res.body.items.map((item: { id: string; role: string }) => [item.id, item.role])).toEqual([
      [second.id, 'manager'],
      [first.id, 'client'],
    ]);
    expect(res.body.items.map((item: { id: string }) => item.id)).not.toContain(foreign.id);
  });

  it('lists every organization to a platform admin, with role null where they are not a member', async () => {
    const organization = await make.organization();

    const res = await as(platformAdmin).get('/api/organizations?limit=100').expect(200);

    expect(res.body.items).toContainEqual(expect.objectContaining({ id: organization.id, role: null }));
  });
});

describe('GET /api/organizations/:id', () => {
  it('shows a member the organization and their role', async () => {
    const practice = await createPractice(t);

    const res = await as(practice.counselor).get(`/api/organizations/${practice.id}`).expect(200);

    expect(res.body).toMatchObject({ id: practice.id, slug: practice.organization.slug, role: 'counselor' });
  });

  it('answers an outsider exactly as for an organization that does not exist (404)', async () => {
    const practice = await createPractice(t);
    const outsider = await userWithToken(t);

    const theirs = await as(outsider).get(`/api/organizations/${practice.id}`).expect(404);
    const missing = await as(outsider).get(`/api/organizations/${randomUUID()}`).expect(404);

    const { requestId: _a, ...theirsBody } = theirs.body;
    const { requestId: _b, ...missingBody } = missing.body;
    expect(theirsBody).toEqual(missingBody);
    for (const suffix of ['/members', '/invitations', '/care', '/dashboard', '/security-events']) {
      expect((await as(outsider).get(`/api/organizations/${practice.id}${suffix}`).expect(404)).body.code).toBe('NOT_FOUND');
    }
  });
});

describe('PATCH /api/organizations/:id', () => {
  it('lets an owner or admin rename it and change the slug', async () => {
    const practice = await createPractice(t);
    const wanted = slug();

    await as(practice.admin).patch(`/api/organizations/${practice.id}`, { name: 'Renamed', slug: wanted }).expect(200);

    expect(await t.context.models.Organization.findByPk(practice.id)).toMatchObject({ name: 'Renamed', slug: wanted });
  });

  it('refuses a manager with 403 and a slug another organization has with 409', async () => {
    const practice = await createPractice(t);
    const other = await make.organization();

    expect((await as(practice.manager).patch(`/api/organizations/${practice.id}`, { name: 'Nope' }).expect(403)).body.code).toBe('FORBIDDEN_ORG_ROLE');
    expect((await as(practice.owner).patch(`/api/organizations/${practice.id}`, { slug: other.slug }).expect(409)).body.code).toBe('SLUG_TAKEN');
    expect((await t.context.models.Organization.findByPk(practice.id))!.name).toBe('Test Practice');
  });
});

describe('PATCH /api/organizations/:id { sessionDataRetentionDays } (the organization’s own retention)', () => {
  // This app runs with the defaults: the platform keeps sessions' data 365 days, an organization may set 365 to 3650.
  const retentionOf = async (id: string) => (await t.context.models.Organization.findByPk(id))!.sessionDataRetentionDays;

  it('lets an owner keep its sessions’ data longer, shows it to members, records org_retention_changed, and null returns to the platform’s', async () => {
    const practice = await createPractice(t);

    const res = await as(practice.owner).patch(`/api/organizations/${practice.id}`, { sessionDataRetentionDays: 3650 }).expect(200);

    expect(res.body).toMatchObject({ id: practice.id, sessionDataRetentionDays: 3650, role: 'owner' });
    expect(await retentionOf(practice.id)).toBe(3650);
    expect((await as(practice.client).get(`/api/organizations/${practice.id}`).expect(200)).body.sessionDataRetentionDays).toBe(3650);
    const [event] = await eventsOf({ type: 'org_retention_changed', organizationId: practice.id });
    expect(event).toMatchObject({ userId: practice.owner.user.id, metadata: { from: null, to: 3650 } });

    await as(practice.admin).patch(`/api/organizations/${practice.id}`, { sessionDataRetentionDays: null }).expect(200);

    expect(await retentionOf(practice.id)).toBeNull();
    expect((await eventsOf({ type: 'org_retention_changed', organizationId: practice.id })).map((row) => row.metadata)).toEqual([{ from: null, to: 3650 }, { from: 3650, to: null }]);
  });

  it('refuses a retention beyond ORG_RETENTION_MAX_DAYS or below the platform’s with 400, and changes nothing, not even the name sent with it', async () => {
    const practice = await createPractice(t);
    await as(practice.owner).patch(`/api/organizations/${practice.id}`, { sessionDataRetentionDays: 730 }).expect(200);

    for (const days of [3651, 364, 0, -1, 400.5, '730']) {
      const res = await as(practice.owner).patch(`/api/organizations/${practice.id}`, { name: 'Renamed', sessionDataRetentionDays: days }).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [expect.objectContaining({ path: 'body.sessionDataRetentionDays' })] });
    }

    expect(await t.context.models.Organization.findByPk(practice.id)).toMatchObject({ name: 'Test Practice', sessionDataRetentionDays: 730 });
    expect(await eventsOf({ type: 'org_retention_changed', organizationId: practice.id })).toHaveLength(1);
  });

  it('refuses managers, counselors, clients and platform admins outside the organization with 403, and outsiders with 404', async () => {
    const practice = await createPractice(t);
    const outsider = await userWithToken(t);

    for (const who of [practice.manager, practice.counselor, practice.client, platformAdmin]) {
      const res = await as(who).patch(`/api/organizations/${practice.id}`, { sessionDataRetentionDays: 3650 }).expect(403);
      expect(res.body.code).toBe('FORBIDDEN_ORG_ROLE');
    }
    await as(outsider).patch(`/api/organizations/${practice.id}`, { sessionDataRetentionDays: 3650 }).expect(404);

    expect(await retentionOf(practice.id)).toBeNull();
    expect(await eventsOf({ type: 'org_retention_changed', organizationId: practice.id })).toEqual([]);
  });

  it('is documented in the OpenAPI document with the configured bounds', async () => {
    const res = await as(platformAdmin).get('/api/openapi.json').expect(200);
    const body = res.body.paths['/api/organizations/{id}'].patch.requestBody.content['application/json'].schema;
    expect(JSON.stringify(body.properties.sessionDataRetentionDays)).toMatch(/"minimum":365.*"maximum":3650|"maximum":3650.*"minimum":365/);
    const shown = res.body.paths['/api/organizations/{id}'].get.responses['200'].content['application/json'].schema;
    expect(shown.required).toContain('sessionDataRetentionDays');
  });
});

describe('DELETE /api/organizations/:id', () => {
  it('deletes an organization without clients or care relationships, with its memberships and invitations', async () => {
    const founder = await userWithToken(t);
    const created = await as(founder).post('/api/organizations', { name: 'Short-lived', slug: slug() }).expect(201);
    await as(founder).post(`/api/organizations/${created.body.id}/invitations`, { email: 'later@example.com', role: 'admin' }).expect(201);

    await as(founder).delete(`/api/organizations/${created.body.id}`).expect(204);

    expect(await t.context.models.Organization.findByPk(created.body.id)).toBeNull();
    expect(await t.context.models.Membership.count({ where: { organizationId: created.body.id } })).toBe(0);
    expect(await t.context.models.Invitation.count({ where: { organizationId: created.body.id } })).toBe(0);
  });

  it('refuses with 409 ORGANIZATION_IN_USE while it has clients, and after they left while care relationships remain', async () => {
    const practice = await createPractice(t);

    expect((await as(practice.owner).delete(`/api/organizations/${practice.id}`).expect(409)).body.code).toBe('ORGANIZATION_IN_USE');
    await as(practice.client).delete(`/api/organizations/${practice.id}/members/${practice.client.user.id}`).expect(204);
    expect((await as(practice.owner).delete(`/api/organizations/${practice.id}`).expect(409)).body.code).toBe('ORGANIZATION_IN_USE');
    expect(await t.context.models.Organization.findByPk(practice.id)).not.toBeNull();
  });

  it('is for owners only: an admin gets 403', async () => {
    const founder = await userWithToken(t);
    const organization = await make.organization();
    await make.member(organization.id, founder.user.id, 'admin');

    expect((await as(founder).delete(`/api/organizations/${organization.id}`).expect(403)).body.code).toBe('FORBIDDEN_ORG_ROLE');
  });
});

describe('GET /api/organizations/:id/members', () => {
  it('lists every member with name, email and role to the staff', async () => {
    const practice = await createPractice(t);

    const res = await as(practice.manager).get(`/api/organizations/${practice.id}/members`).expect(200);

    expect(res.body.items).toHaveLength(5);
    expect(res.body.items).toContainEqual({ userId: practice.client.user.id, name: 'Test Person', email: practice.client.user.email, role: 'client', joinedAt: expect.any(String) });
  });

  it('keeps counselors, clients and platform admins out of the member list (403)', async () => {
    const practice = await createPractice(t);

    for (const who of [practice.counselor, practice.client, platformAdmin]) {
      expect((await as(who).get(`/api/organizations/${practice.id}/members`).expect(403)).body.code).toBe('FORBIDDEN_ORG_ROLE');
    }
  });
});

describe('PATCH /api/organizations/:id/members/:userId (the ceiling)', () => {
  const change = (practice: { id: string }, who: Person, target: Person, role: OrgRole) =>
    as(who).patch(`/api/organizations/${practice.id}/members/${target.user.id}`, { role });

  it('lets an admin promote a client to manager and records org_role_changed', async () => {
    const practice = await createPractice(t);

    const res = await change(practice, practice.admin, practice.client, 'manager').expect(200);

    expect(res.body).toMatchObject({ userId: practice.client.user.id, role: 'manager' });
    const [event] = await eventsOf({ type: 'org_role_changed', organizationId: practice.id });
    expect(event).toMatchObject({ userId: practice.client.user.id, metadata: { by: practice.admin.user.id, from: 'client', to: 'manager' } });
  });

  it('refuses to grant a role above the caller’s own (a manager making an admin)', async () => {
    const practice = await createPractice(t);

    const res = await change(practice, practice.manager, practice.client, 'admin').expect(403);

    expect(res.body.code).toBe('ORG_ROLE_CEILING');
    expect(await roleOf(practice.id, practice.client.user.id)).toBe('client');
  });

  it('refuses to act on a member above the caller (a manager demoting an admin)', async () => {
    const practice = await createPractice(t);

    expect((await change(practice, practice.manager, practice.admin, 'client').expect(403)).body.code).toBe('ORG_ROLE_CEILING');
    expect(await roleOf(practice.id, practice.admin.user.id)).toBe('admin');
  });

  it('refuses counselors and clients (403), and answers a non-member target with 404', async () => {
    const practice = await createPractice(t);
    const stranger = await userWithToken(t);

    expect((await change(practice, practice.counselor, practice.client, 'client').expect(403)).body.code).toBe('FORBIDDEN_ORG_ROLE');
    expect((await change(practice, practice.owner, stranger, 'client').expect(404)).body.code).toBe('NOT_FOUND');
  });

  it('never demotes the last owner (409 LAST_OWNER), even the owner themself', async () => {
    const practice = await createPractice(t);

    expect((await change(practice, practice.owner, practice.owner, 'admin').expect(409)).body.code).toBe('LAST_OWNER');
    expect(await roleOf(practice.id, practice.owner.user.id)).toBe('owner');
  });

  it('lets an owner hand over: make another owner, then step down', async () => {
    const practice = await createPractice(t);

    await change(practice, practice.owner, practice.admin, 'owner').expect(200);
    await change(practice, practice.owner, practice.owner, 'admin').expect(200);

    expect(await roleOf(practice.id, practice.admin.user.id)).toBe('owner');
    expect(await roleOf(practice.id, practice.owner.user.id)).toBe('admin');
  });

  it('gives the counselor role only to a counselor account (422 COUNSELOR_ACCOUNT_REQUIRED)', async () => {
    const practice = await createPractice(t);

    expect((await change(practice, practice.owner, practice.client, 'counselor').expect(422)).body.code).toBe('COUNSELOR_ACCOUNT_REQUIRED');
    expect(await roleOf(practice.id, practice.client.user.id)).toBe('client');
  });

  it('ends the care relationships of a counselor whose role changes, and records care_ended', async () => {
    const practice = await createPractice(t);

    await change(practice, practice.owner, practice.counselor, 'manager').expect(200);

    expect((await t.context.models.CareRelationship.findByPk(practice.care.id))!.endedAt).not.toBeNull();
    const [event] = await eventsOf({ type: 'care_ended', organizationId: practice.id });
    expect(event).toMatchObject({ userId: practice.client.user.id, metadata: { careId: practice.care.id, reason: 'role_changed' } });
  });
});

describe('DELETE /api/organizations/:id/members/:userId', () => {
  it('lets staff remove a member below them: the membership and its care relationships end, member_removed is recorded', async () => {
    const practice = await createPractice(t);

    await as(practice.manager).delete(`/api/organizations/${practice.id}/members/${practice.counselor.user.id}`).expect(204);

    expect(await roleOf(practice.id, practice.counselor.user.id)).toBeNull();
    expect((await t.context.models.CareRelationship.findByPk(practice.care.id))!.endedAt).not.toBeNull();
    const [event] = await eventsOf({ type: 'member_removed', organizationId: practice.id });
    expect(event).toMatchObject({ userId: practice.counselor.user.id, metadata: { by: practice.manager.user.id, role: 'counselor', left: false } });
  });

  it('lets any member leave, but not the last owner (409 LAST_OWNER)', async () => {
    const practice = await createPractice(t);

    await as(practice.client).delete(`/api/organizations/${practice.id}/members/${practice.client.user.id}`).expect(204);
    expect((await as(practice.owner).delete(`/api/organizations/${practice.id}/members/${practice.owner.user.id}`).expect(409)).body.code).toBe('LAST_OWNER');
    expect(await roleOf(practice.id, practice.owner.user.id)).toBe('owner');
  });

  it('refuses a manager removing an admin (403) and a counselor removing a client (403)', async () => {
    const practice = await createPractice(t);

    expect((await as(practice.manager).delete(`/api/organizations/${practice.id}/members/${practice.admin.user.id}`).expect(403)).body.code).toBe('ORG_ROLE_CEILING');
    expect((await as(practice.counselor).delete(`/api/organizations/${practice.id}/members/${practice.client.user.id}`).expect(403)).body.code).toBe('FORBIDDEN_ORG_ROLE');
    expect(await roleOf(practice.id, practice.admin.user.id)).toBe('admin');
    expect(await roleOf(practice.id, practice.client.user.id)).toBe('client');
  });
});

describe('the ceiling and last-owner rules under concurrent requests', () => {
  /**
   * Five rounds, each on a fresh practice with a second member of `role`: the two requests
   * `send` makes leave at the same moment; exactly one may succeed, with `won`.
   */
  async function race(role: OrgRole, send: (practice: Practice, second: Person) => [Promise<Response>, Promise<Response>], won: number) {
    const rounds: { practice: Practice; second: Person; refused: { status: number; code: string } }[] = [];
    for (let round = 0; round < 5; round += 1) {
      const practice = await createPractice(t);
      const second = await practice.join(role);

      const results = await Promise.all(send(practice, second));

      const winners = results.filter((res) => res.status === won);
      expect(winners, `round ${round}: ${results.map((res) => res.status)}`).toHaveLength(1);
      const refused = results.find((res) => res.status !== won)!;
      rounds.push({ practice, second, refused: { status: refused.status, code: refused.body.code } });
    }
    return rounds;
  }
  const member = (practice: Practice, who: Person) => `/api/organizations/${practice.id}/members/${who.user.id}`;

  it('lets only one of two admins demoting each other at the same moment succeed', async () => {
    const rounds = await race('admin', (practice, second) => [as(practice.admin).patch(member(practice, second), { role: 'manager' }), as(second).patch(member(practice, practice.admin), { role: 'manager' })], 200);

    for (const { practice, second, refused } of rounds) {
      expect(refused).toEqual({ status: 403, code: 'ORG_ROLE_CEILING' });
      expect([await roleOf(practice.id, practice.admin.user.id), await roleOf(practice.id, second.user.id)].sort()).toEqual(['admin', 'manager']);
    }
  });

  it('keeps an owner when the only two owners leave at the same moment', async () => {
    const rounds = await race('owner', (practice, second) => [as(practice.owner).delete(member(practice, practice.owner)), as(second).delete(member(practice, second))], 204);

    for (const { practice, refused } of rounds) {
      expect(refused).toEqual({ status: 409, code: 'LAST_OWNER' });
      expect(await t.context.models.Membership.count({ where: { organizationId: practice.id, role: 'owner' } })).toBe(1);
    }
  });

  it('keeps an owner when two owners demote each other at the same moment', async () => {
    const rounds = await race('owner', (practice, second) => [as(practice.owner).patch(member(practice, second), { role: 'admin' }), as(second).patch(member(practice, practice.owner), { role: 'admin' })], 200);

    for (const { practice, refused } of rounds) {
      expect(refused).toEqual({ status: 403, code: 'ORG_ROLE_CEILING' });
      expect(await t.context.models.Membership.count({ where: { organizationId: practice.id, role: 'owner' } })).toBe(1);
    }
  });
});

describe('GET /api/organizations/:id/security-events', () => {
  it('shows the owners and admins their organization’s events only, addresses pseudonymised', async () => {
    const practice = await createPractice(t);
    const other = await createPractice(t);
    await as(practice.owner).patch(`/api/organizations/${practice.id}/members/${practice.manager.user.id}`, { role: 'admin' }).expect(200);
    await as(other.owner).patch(`/api/organizations/${other.id}/members/${other.manager.user.id}`, { role: 'admin' }).expect(200);
    await t.context.events.flush();

    const res = await as(practice.admin).get(`/api/organizations/${practice.id}/security-events`).expect(200);

    expect(res.body.items.map((event: { type: string }) => event.type)).toEqual(['org_role_changed']);
    expect(res.body.items[0]).toMatchObject({ userId: practice.manager.user.id, ip: '127.0.0.0/24' });
  });

  it('seals the organization into the event: moving an event to another organization breaks the chain', async () => {
    const practice = await createPractice(t);
    await as(practice.owner).patch(`/api/organizations/${practice.id}/members/${practice.manager.user.id}`, { role: 'admin' }).expect(200);
    await t.context.events.flush();
    await t.context.auditChain.sealPending();
    expect((await t.context.auditChain.verify()).ok).toBe(true);
    const event = (await t.context.models.SecurityEvent.findOne({ where: { type: 'org_role_changed', organizationId: practice.id } }))!;

    await t.context.models.SecurityEvent.update({ organizationId: randomUUID() }, { where: { id: event.id } });
    try {
      const result = await t.context.auditChain.verify();
      expect(result).toMatchObject({ ok: false, firstBroken: { id: event.id, reason: 'the event content does not match its hash' } });
    } finally {
      await t.context.models.SecurityEvent.update({ organizationId: practice.id }, { where: { id: event.id } });
    }
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });

  it('is for owners and admins: managers and platform admins get 403', async () => {
    const practice = await createPractice(t);

    for (const who of [practice.manager, platformAdmin]) {
      expect((await as(who).get(`/api/organizations/${practice.id}/security-events`).expect(403)).body.code).toBe('FORBIDDEN_ORG_ROLE');
    }
  });
});
