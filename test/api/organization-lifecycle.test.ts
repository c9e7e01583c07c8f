import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories } from '../helpers/factories.js';
import { createPractice, type Person } from '../helpers/practice.js';
import { TEST_PASSWORD } from '../helpers/users.js';

/** A person's organizations in the GDPR export and when their account is deleted. */

let t: TestApp;
let make: ReturnType<typeof factories>;

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
  make = factories(t);
});
afterAll(() => t.close());

const exportOf = async (who: Person) => (await request(t.app).get('/api/users/me/export').set('Authorization', who.auth).expect(200)).body;
const deleteAccount = (who: Person) => request(t.app).delete('/api/users/me').set('Authorization', who.auth).send({ password: TEST_PASSWORD });

describe('GET /api/users/me/export and organizations', () => {
  it('holds the person’s memberships, care relationships and the invitations to their address, and nobody else’s address', async () => {
    const practice = await createPractice(t);
    const other = await createPractice(t);
    const invitedTo = await make.organization({ name: 'Invited Practice' });
    await t.context.models.Invitation.create({ organizationId: invitedTo.id, email: practice.client.user.email, role: 'client', counselorId: null, invitedBy: other.owner.user.id, tokenHash: 'a'.repeat(64), expiresAt: new Date(Date.now() + 86_400_000) });

    const exported = await exportOf(practice.client);

    expect(exported.organizations).toEqual({
      memberships: [{ organizationId: practice.id, name: 'Test Practice', slug: practice.organization.slug, role: 'client', joinedAt: expect.any(String) }],
      careRelationships: [expect.objectContaining({ id: practice.care.id, counselorId: practice.counselor.user.id, clientId: practice.client.user.id, status: 'active', as: 'client' })],
      invitations: { received: [expect.objectContaining({ organizationId: invitedTo.id, role: 'client', status: 'pending' })], sentCount: 0 },
    });
    const text = JSON.stringify(exported);
    for (const foreign of [practice.counselor.user.email, other.owner.user.email, other.id, other.care.id]) expect(text).not.toContain(foreign);
  });

  it('gives a counselor their side of the relationships, and a staff member only the count of the invitations they sent', async () => {
    const practice = await createPractice(t);
    const invitee = `invitee-${randomUUID().slice(0, 8)}@example.com`;
    await request(t.app).post(`/api/organizations/${practice.id}/invitations`).set('Authorization', practice.manager.auth).send({ email: invitee, role: 'client' }).expect(201);

    const counselor = await exportOf(practice.counselor);
    const manager = await exportOf(practice.manager);

    expect(counselor.organizations.careRelationships).toEqual([expect.objectContaining({ id: practice.care.id, as: 'counselor' })]);
    expect(manager.organizations.invitations).toEqual({ received: [], sentCount: 1 });
    expect(JSON.stringify(manager)).not.toContain(invitee);
  });
});

describe('DELETE /api/users/me and organizations', () => {
  it('refuses the last owner of an organization with 409 LAST_OWNER and changes nothing, then deletes once ownership moved', async () => {
    const practice = await createPractice(t);

    const refused = await deleteAccount(practice.owner).expect(409);

    expect(refused.body.code).toBe('LAST_OWNER');
    await request(t.app).get('/api/users/me').set('Authorization', practice.owner.auth).expect(200);
    expect(await t.context.models.Membership.count({ where: { organizationId: practice.id, role: 'owner' } })).toBe(1);

    await request(t.app).patch(`/api/organizations/${practice.id}/members/${practice.admin.user.id}`).set('Authorization', practice.owner.auth).send({ role: 'owner' }).expect(200);
    await deleteAccount(practice.owner).expect(204);
    expect(await t.context.models.Membership.count({ where: { userId: practice.owner.user.id } })).toBe(0);
  });

  it('keeps an owner when the only two owners delete their accounts at the same moment', async () => {
    for (let round = 0; round < 3; round += 1) {
      const practice = await createPractice(t);
      const second = await practice.join('owner');

      const results = await Promise.all([deleteAccount(practice.owner), deleteAccount(second)]);

      expect(results.map((res) => res.status).sort()).toEqual([204, 409]);
      expect(await t.context.models.Membership.count({ where: { organizationId: practice.id, role: 'owner' } })).toBe(1);
    }
  });

  it('ends a deleted counselor’s care relationships: the client keeps the relationship’s history and their sessions, care_ended and member_removed are recorded', async () => {
    const practice = await createPractice(t);
    const { body: session } = await request(t.app).post('/api/sessions').set('Authorization', practice.client.auth).send({ counselorId: practice.counselor.user.id }).expect(201);

    await deleteAccount(practice.counselor).expect(204);

    const care = await t.context.models.CareRelationship.findByPk(practice.care.id);
    expect(care).toMatchObject({ counselorId: null, clientId: practice.client.user.id });
    expect(care!.endedAt).not.toBeNull();
    expect((await request(t.app).get(`/api/sessions/${session.id}`).set('Authorization', practice.client.auth).expect(200)).body).toMatchObject({ counselorId: null, organizationId: practice.id });
    await t.context.events.flush();
    const ended = await t.context.models.SecurityEvent.findOne({ where: { type: 'care_ended', userId: practice.client.user.id } });
    expect(ended).toMatchObject({ organizationId: practice.id, metadata: { careId: practice.care.id, reason: 'account_deleted' } });
    const removed = await t.context.models.SecurityEvent.findAll({ where: { type: 'member_removed', organizationId: practice.id } });
    expect(removed.map((event) => event.metadata)).toEqual([{ role: 'counselor', reason: 'account_deleted' }]);
    expect((await t.context.auditChain.verify()).ok).toBe(true);
  });

  it('takes a deleted client’s memberships, relationships and sessions with them, after which an organization without clients can be deleted', async () => {
    const practice = await createPractice(t);
    await request(t.app).post('/api/sessions').set('Authorization', practice.client.auth).send({ counselorId: practice.counselor.user.id }).expect(201);

    await deleteAccount(practice.client).expect(204);

    expect(await t.context.models.CareRelationship.count({ where: { organizationId: practice.id } })).toBe(0);
    expect(await t.context.models.CounselingSession.count({ where: { organizationId: practice.id } })).toBe(0);
    await request(t.app).delete(`/api/organizations/${practice.id}`).set('Authorization', practice.owner.auth).expect(204);
  });
});
