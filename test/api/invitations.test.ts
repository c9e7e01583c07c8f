import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createPractice, type Person, type Practice, requestAs } from '../helpers/practice.js';
import { startSmtpServer, type ReceivedMail, type TestSmtpServer } from '../helpers/smtp.js';
import { userWithToken } from '../helpers/users.js';

const APP_URL = 'https://app.example.test';
const LINK = /https:\/\/app\.example\.test\/accept-invitation#token=([A-Za-z0-9_-]{43})/;

let smtp: TestSmtpServer;
let t: TestApp;

beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await createTestApp({ lenientLimits: true, env: { SMTP_URL: smtp.url, APP_URL } });
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

const as = (who: Person) => requestAs(t, who);

const address = (label: string) => `${label}-${randomUUID().slice(0, 8)}@example.com`;

async function invite(practice: Practice, who: Person, body: { email: string; role: string; counselorId?: string }) {
  const res = await as(who).post(`/api/organizations/${practice.id}/invitations`, body);
  await t.context.mailer.idle();
  return res;
}

/** The token of the last invitation mailed to the address; text and HTML carry the same link. */
function tokenFor(email: string): string {
  const mail = smtp.to(email).at(-1) as ReceivedMail;
  expect(mail, `no mail to ${email}`).toBeDefined();
  const match = LINK.exec(mail.text)!;
  expect(match).not.toBeNull();
  expect(mail.html).toContain(`href="${match[0]}"`);
  return match[1]!;
}

const accept = (who: Person, token: string) => as(who).post('/api/invitations/accept', { token });
const roleIn = async (practice: Practice, userId: string) => (await t.context.models.Membership.findOne({ where: { organizationId: practice.id, userId } }))?.role ?? null;

describe('POST /api/organizations/:id/invitations', () => {
  it('mails a one-time link to APP_URL/accept-invitation, stores only its hash, and records member_invited', async () => {
    const practice = await createPractice(t);
    const email = address('invitee');

    const res = await invite(practice, practice.admin, { email: email.toUpperCase(), role: 'counselor' });

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ organizationId: practice.id, email, role: 'counselor', counselorId: null, invitedBy: practice.admin.user.id, status: 'pending', acceptedAt: null });
    const days = (Date.parse(res.body.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    const token = tokenFor(email);
    const stored = await t.context.models.Invitation.findByPk(res.body.id);
    expect(stored!.tokenHash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(await t.context.models.Invitation.findAll({ raw: true }))).not.toContain(token);
    await t.context.events.flush();
    const event = await t.context.models.SecurityEvent.findOne({ where: { type: 'member_invited', organizationId: practice.id } });
    expect(event).toMatchObject({ userId: practice.admin.user.id, metadata: { invitationId: res.body.id, role: 'counselor' } });
  });

  it('answers an address that has an account exactly as one that has none, and mails both the same text', async () => {
    const practice = await createPractice(t);
    const existing = await userWithToken(t);
    const unknown = address('nobody');

    const known = await invite(practice, practice.owner, { email: existing.user.email, role: 'client' });
    const fresh = await invite(practice, practice.owner, { email: unknown, role: 'client' });

    const shape = (body: Record<string, unknown>) => ({ ...body, id: '', email: '', createdAt: '', expiresAt: '' });
    expect(known.status).toBe(fresh.status);
    expect(shape(known.body)).toEqual(shape(fresh.body));
    const text = (email: string) => smtp.to(email).at(-1)!.text.replace(LINK, 'LINK');
    expect(text(existing.user.email)).toBe(text(unknown));
    expect(smtp.to(existing.user.email).at(-1)!.subject).toBe(smtp.to(unknown).at(-1)!.subject);
  });

  it('escapes the organization’s and the inviter’s names in the HTML mail', async () => {
    const practice = await createPractice(t);
    await t.context.models.Organization.update({ name: '<img src=x onerror=alert(1)>' }, { where: { id: practice.id } });
    const email = address('escaped');

    await invite(practice, practice.owner, { email, role: 'client' }).then((res) => expect(res.status).toBe(201));

    const mail = smtp.to(email).at(-1)!;
    expect(mail.html).not.toContain('<img');
    expect(mail.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('keeps the ceiling: a manager cannot invite an admin, a client cannot invite at all', async () => {
    const practice = await createPractice(t);
    const email = address('ceiling');

    expect((await invite(practice, practice.manager, { email, role: 'admin' })).body.code).toBe('ORG_ROLE_CEILING');
    expect((await invite(practice, practice.client, { email, role: 'client' })).body.code).toBe('FORBIDDEN_ORG_ROLE');
    expect(await t.context.models.Invitation.count({ where: { email } })).toBe(0);
    expect(smtp.to(email)).toHaveLength(0);
  });

  it('lets a counselor invite clients into their own care only', async () => {
    const practice = await createPractice(t);
    const other = await practice.join('counselor');
    const email = address('own-client');

    expect((await invite(practice, practice.counselor, { email, role: 'manager' })).body.code).toBe('ORG_ROLE_CEILING');
    expect((await invite(practice, practice.counselor, { email, role: 'client', counselorId: other.user.id })).body.code).toBe('ORG_ROLE_CEILING');
    const res = await invite(practice, practice.counselor, { email, role: 'client' });

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ role: 'client', counselorId: practice.counselor.user.id });
  });

  it('replaces an earlier pending invitation to the same address: the old link stops working', async () => {
    const practice = await createPractice(t);
    const invitee = await userWithToken(t);
    await invite(practice, practice.owner, { email: invitee.user.email, role: 'client' });
    const first = tokenFor(invitee.user.email);
    await invite(practice, practice.owner, { email: invitee.user.email, role: 'manager' });
    const second = tokenFor(invitee.user.email);

    expect((await accept(invitee, first).expect(400)).body.code).toBe('INVALID_OR_EXPIRED_INVITATION');
    await accept(invitee, second).expect(200);
    expect(await roleIn(practice, invitee.user.id)).toBe('manager');
  });
});

describe('POST /api/invitations/accept', () => {
  it('joins the organization with the invited role and records member_joined', async () => {
    const practice = await createPractice(t);
    const invitee = await userWithToken(t);
    await invite(practice, practice.admin, { email: invitee.user.email, role: 'manager' });

    const res = await accept(invitee, tokenFor(invitee.user.email)).expect(200);

    expect(res.body).toEqual({ organization: expect.objectContaining({ id: practice.id, role: 'manager' }), care: null });
    expect(await roleIn(practice, invitee.user.id)).toBe('manager');
    await t.context.events.flush();
    expect(await t.context.models.SecurityEvent.count({ where: { type: 'member_joined', userId: invitee.user.id, organizationId: practice.id } })).toBe(1);
  });

  it('refuses a second use of the token with 400, also when both uses arrive at once', async () => {
    const practice = await createPractice(t);
    const invitee = await userWithToken(t);
    await invite(practice, practice.owner, { email: invitee.user.email, role: 'client' });
    const token = tokenFor(invitee.user.email);

    const results = await Promise.all([accept(invitee, token), accept(invitee, token), accept(invitee, token)]);

    expect(results.map((res) => res.status).sort()).toEqual([200, 400, 400]);
    expect((await accept(invitee, token).expect(400)).body.code).toBe('INVALID_OR_EXPIRED_INVITATION');
    expect(await t.context.models.Membership.count({ where: { organizationId: practice.id, userId: invitee.user.id } })).toBe(1);
  });

  it('refuses an expired invitation with 400 and adds nobody', async () => {
    const practice = await createPractice(t);
    const invitee = await userWithToken(t);
    const created = await invite(practice, practice.owner, { email: invitee.user.email, role: 'client' });
    await t.context.models.Invitation.update({ expiresAt: new Date(Date.now() - 1000) }, { where: { id: created.body.id } });

    expect((await accept(invitee, tokenFor(invitee.user.email)).expect(400)).body.code).toBe('INVALID_OR_EXPIRED_INVITATION');
    expect(await roleIn(practice, invitee.user.id)).toBeNull();
  });

  it('answers another account exactly as an unknown token, and leaves the invitation usable by its addressee', async () => {
    const practice = await createPractice(t);
    const invitee = await userWithToken(t);
    const intruder = await userWithToken(t);
    await invite(practice, practice.owner, { email: invitee.user.email, role: 'client' });
    const token = tokenFor(invitee.user.email);

    const wrong = await accept(intruder, token).expect(400);
    const unknown = await accept(intruder, 'B'.repeat(43)).expect(400);

    const { requestId: _a, ...wrongBody } = wrong.body;
    const { requestId: _b, ...unknownBody } = unknown.body;
    expect(wrongBody).toEqual(unknownBody);
    expect(await roleIn(practice, intruder.user.id)).toBeNull();
    await accept(invitee, token).expect(200);
  });

  it('needs the invited address verified (403 EMAIL_NOT_VERIFIED), and keeps the invitation', async () => {
    const practice = await createPractice(t);
    const invitee = await userWithToken(t, { verified: false });
    await invite(practice, practice.owner, { email: invitee.user.email, role: 'client' });
    const token = tokenFor(invitee.user.email);

    expect((await accept(invitee, token).expect(403)).body.code).toBe('EMAIL_NOT_VERIFIED');
    await t.context.models.User.update({ emailVerifiedAt: new Date() }, { where: { id: invitee.user.id } });
    await accept(invitee, token).expect(200);
  });

  it('refuses a revoked invitation with 400', async () => {
    const practice = await createPractice(t);
    const invitee = await userWithToken(t);
    const created = await invite(practice, practice.owner, { email: invitee.user.email, role: 'client' });

    await as(practice.manager).delete(`/api/organizations/${practice.id}/invitations/${created.body.id}`).expect(204);

    expect((await accept(invitee, tokenFor(invitee.user.email)).expect(400)).body.code).toBe('INVALID_OR_EXPIRED_INVITATION');
  });

  it('starts the care relationship of a counselor’s invitation, and records care_started', async () => {
    const practice = await createPractice(t);
    const invitee = await userWithToken(t);
    await invite(practice, practice.counselor, { email: invitee.user.email, role: 'client' });

    const res = await accept(invitee, tokenFor(invitee.user.email)).expect(200);

    expect(res.body.care).toMatchObject({ organizationId: practice.id, counselorId: practice.counselor.user.id, clientId: invitee.user.id, status: 'active' });
    await t.context.events.flush();
    const event = await t.context.models.SecurityEvent.findOne({ where: { type: 'care_started', userId: invitee.user.id } });
    expect(event).toMatchObject({ organizationId: practice.id, metadata: { counselorId: practice.counselor.user.id, by: practice.counselor.user.id } });
  });

  it('takes an existing client into the care the invitation names, without a second membership', async () => {
    const practice = await createPractice(t);
    await invite(practice, practice.counselor, { email: practice.client.user.email, role: 'client' });
    const other = await practice.join('counselor');
    await invite(practice, other, { email: practice.client.user.email, role: 'client' });

    const res = await accept(practice.client, tokenFor(practice.client.user.email)).expect(200);

    expect(res.body.care).toMatchObject({ counselorId: other.user.id, clientId: practice.client.user.id });
    expect(await t.context.models.Membership.count({ where: { organizationId: practice.id, userId: practice.client.user.id } })).toBe(1);
  });

  it('refuses a member whose role differs (409 ALREADY_MEMBER) and a non-counselor account for the counselor role (422); both invitations stay pending', async () => {
    const practice = await createPractice(t);
    await invite(practice, practice.owner, { email: practice.client.user.email, role: 'manager' });
    const outsider = await userWithToken(t);
    await invite(practice, practice.owner, { email: outsider.user.email, role: 'counselor' });

    expect((await accept(practice.client, tokenFor(practice.client.user.email)).expect(409)).body.code).toBe('ALREADY_MEMBER');
    expect((await accept(outsider, tokenFor(outsider.user.email)).expect(422)).body.code).toBe('COUNSELOR_ACCOUNT_REQUIRED');
    expect(await t.context.models.Invitation.count({ where: { organizationId: practice.id, acceptedAt: null, revokedAt: null } })).toBe(2);
  });

  it('rejects a malformed token and extra fields (role, organizationId) with 400', async () => {
    const invitee = await userWithToken(t);

    for (const body of [{ token: 'short' }, { token: 'C'.repeat(43), role: 'owner' }, { token: 'C'.repeat(43), organizationId: randomUUID() }]) {
      expect((await as(invitee).post('/api/invitations/accept', body).expect(400)).body.code).toBe('VALIDATION_FAILED');
    }
  });
});

describe('GET and DELETE /api/organizations/:id/invitations', () => {
  it('lists pending invitations to the staff, and a counselor’s own to the counselor', async () => {
    const practice = await createPractice(t);
    const byOwner = await invite(practice, practice.owner, { email: address('staff'), role: 'manager' });
    const byCounselor = await invite(practice, practice.counselor, { email: address('client'), role: 'client' });

    const staff = await as(practice.manager).get(`/api/organizations/${practice.id}/invitations`).expect(200);
    const counselor = await as(practice.counselor).get(`/api/organizations/${practice.id}/invitations`).expect(200);

    expect(staff.body.items.map((item: { id: string }) => item.id).sort()).toEqual([byOwner.body.id, byCounselor.body.id].sort());
    expect(counselor.body.items.map((item: { id: string }) => item.id)).toEqual([byCounselor.body.id]);
    expect((await as(practice.client).get(`/api/organizations/${practice.id}/invitations`).expect(403)).body.code).toBe('FORBIDDEN_ORG_ROLE');
  });

  it('shows revoked invitations with status=all, and refuses to revoke one twice (409)', async () => {
    const practice = await createPractice(t);
    const created = await invite(practice, practice.owner, { email: address('revoked'), role: 'client' });

    await as(practice.owner).delete(`/api/organizations/${practice.id}/invitations/${created.body.id}`).expect(204);
    const again = await as(practice.owner).delete(`/api/organizations/${practice.id}/invitations/${created.body.id}`).expect(409);

    expect(again.body.code).toBe('INVITATION_NOT_PENDING');
    const all = await as(practice.owner).get(`/api/organizations/${practice.id}/invitations?status=all`).expect(200);
    expect(all.body.items).toContainEqual(expect.objectContaining({ id: created.body.id, status: 'revoked', revokedAt: expect.any(String) }));
    expect((await as(practice.owner).get(`/api/organizations/${practice.id}/invitations`).expect(200)).body.items).toEqual([]);
  });

  it('keeps the ceiling on revoking (a manager and an admin’s invitation: 403) and hides others’ invitations from a counselor (404)', async () => {
    const practice = await createPractice(t);
    const forAdmin = await invite(practice, practice.owner, { email: address('admin'), role: 'admin' });

    expect((await as(practice.manager).delete(`/api/organizations/${practice.id}/invitations/${forAdmin.body.id}`).expect(403)).body.code).toBe('ORG_ROLE_CEILING');
    expect((await as(practice.counselor).delete(`/api/organizations/${practice.id}/invitations/${forAdmin.body.id}`).expect(404)).body.code).toBe('NOT_FOUND');
    expect((await t.context.models.Invitation.findByPk(forAdmin.body.id))!.revokedAt).toBeNull();
  });
});
