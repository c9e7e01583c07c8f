import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createPractice, type Person, type Practice, requestAs } from '../helpers/practice.js';

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
});
afterAll(() => t.close());

const as = (who: Person) => requestAs(t, who);

const relate = (practice: Practice, who: Person, counselor: Person, client: Person) =>
  as(who).post(`/api/organizations/${practice.id}/care`, { counselorId: counselor.user.id, clientId: client.user.id });

describe('POST /api/organizations/:id/care', () => {
  it('lets a manager relate a counselor and a client of the organization, and records care_started for the client', async () => {
    const practice = await createPractice(t);
    const client = await practice.join('client');

    const res = await relate(practice, practice.manager, practice.counselor, client).expect(201);

    expect(res.body).toEqual({
      id: expect.any(String),
      organizationId: practice.id,
      counselorId: practice.counselor.user.id,
      clientId: client.user.id,
      status: 'active',
      startedAt: expect.any(String),
      endedAt: null,
    });
    await t.context.events.flush();
    const event = await t.context.models.SecurityEvent.findOne({ where: { type: 'care_started', userId: client.user.id } });
    expect(event).toMatchObject({ organizationId: practice.id, metadata: { careId: res.body.id, counselorId: practice.counselor.user.id, by: practice.manager.user.id } });
  });

  it('needs a counselor member (422 NOT_A_COUNSELOR) and a client member (422 NOT_A_CLIENT)', async () => {
    const practice = await createPractice(t);
    const client = await practice.join('client');

    expect((await relate(practice, practice.owner, practice.manager, client).expect(422)).body.code).toBe('NOT_A_COUNSELOR');
    expect((await relate(practice, practice.owner, practice.counselor, practice.admin).expect(422)).body.code).toBe('NOT_A_CLIENT');
    const elsewhere = await createPractice(t);
    expect((await relate(practice, practice.owner, elsewhere.counselor, client).expect(422)).body.code).toBe('NOT_A_COUNSELOR');
    expect((await relate(practice, practice.owner, practice.counselor, elsewhere.client).expect(422)).body.code).toBe('NOT_A_CLIENT');
  });

  it('refuses a disabled counselor account (422)', async () => {
    const practice = await createPractice(t);
    const client = await practice.join('client');
    await t.context.models.User.update({ disabledAt: new Date() }, { where: { id: practice.counselor.user.id } });

    expect((await relate(practice, practice.owner, practice.counselor, client).expect(422)).body.code).toBe('NOT_A_COUNSELOR');
  });

  it('allows one active relationship per pair: a second is 409 CARE_EXISTS, also when both arrive at once', async () => {
    const practice = await createPractice(t);
    const client = await practice.join('client');

    const results = await Promise.all([relate(practice, practice.owner, practice.counselor, client), relate(practice, practice.admin, practice.counselor, client)]);

    expect(results.map((res) => res.status).sort()).toEqual([201, 409]);
    expect(results.find((res) => res.status === 409)!.body.code).toBe('CARE_EXISTS');
    expect(await t.context.models.CareRelationship.count({ where: { organizationId: practice.id, clientId: client.user.id, endedAt: null } })).toBe(1);
  });

  it('is for staff: counselors and clients get 403', async () => {
    const practice = await createPractice(t);
    const client = await practice.join('client');

    for (const who of [practice.counselor, practice.client]) {
      expect((await relate(practice, who, practice.counselor, client).expect(403)).body.code).toBe('FORBIDDEN_ORG_ROLE');
    }
  });
});

describe('GET /api/organizations/:id/care', () => {
  it('shows staff every relationship, counselors and clients only their own', async () => {
    const practice = await createPractice(t);
    const [otherCounselor, otherClient] = [await practice.join('counselor'), await practice.join('client')];
    const theirs = (await relate(practice, practice.owner, otherCounselor, otherClient).expect(201)).body.id;
    const ids = async (who: Person, query = '') => (await as(who).get(`/api/organizations/${practice.id}/care${query}`).expect(200)).body.items.map((item: { id: string }) => item.id);

    expect((await ids(practice.manager)).sort()).toEqual([practice.care.id, theirs].sort());
    expect(await ids(practice.counselor)).toEqual([practice.care.id]);
    expect(await ids(practice.client)).toEqual([practice.care.id]);
    expect(await ids(otherClient)).toEqual([theirs]);
  });

  it('filters by status', async () => {
    const practice = await createPractice(t);
    await as(practice.client).delete(`/api/organizations/${practice.id}/care/${practice.care.id}`).expect(204);
    const ids = async (query: string) => (await as(practice.owner).get(`/api/organizations/${practice.id}/care${query}`).expect(200)).body.items.map((item: { id: string }) => item.id);

    expect(await ids('')).toEqual([]);
    expect(await ids('?status=ended')).toEqual([practice.care.id]);
    expect(await ids('?status=all')).toEqual([practice.care.id]);
  });
});

describe('DELETE /api/organizations/:id/care/:careId', () => {
  it.each(['client', 'counselor', 'admin'] as const)('lets the %s end it: it stays, ended, and care_ended is recorded', async (who) => {
    const practice = await createPractice(t);

    await as(practice[who]).delete(`/api/organizations/${practice.id}/care/${practice.care.id}`).expect(204);

    const stored = await t.context.models.CareRelationship.findByPk(practice.care.id);
    expect(stored).toMatchObject({ endedBy: practice[who].user.id });
    expect(stored!.endedAt).not.toBeNull();
    await t.context.events.flush();
    const event = await t.context.models.SecurityEvent.findOne({ where: { type: 'care_ended', organizationId: practice.id } });
    expect(event).toMatchObject({ userId: practice.client.user.id, metadata: { careId: practice.care.id, by: practice[who].user.id, reason: 'ended' } });
  });

  it('hides it from other members who are not party to it (404) and refuses to end it twice (409)', async () => {
    const practice = await createPractice(t);
    const [otherCounselor, otherClient] = [await practice.join('counselor'), await practice.join('client')];

    for (const who of [otherCounselor, otherClient]) {
      expect((await as(who).delete(`/api/organizations/${practice.id}/care/${practice.care.id}`).expect(404)).body.code).toBe('NOT_FOUND');
    }
    await as(practice.client).delete(`/api/organizations/${practice.id}/care/${practice.care.id}`).expect(204);
    expect((await as(practice.counselor).delete(`/api/organizations/${practice.id}/care/${practice.care.id}`).expect(409)).body.code).toBe('CARE_ALREADY_ENDED');
  });

  it('answers a relationship of another organization with 404', async () => {
    const practice = await createPractice(t);
    const other = await createPractice(t);

    expect((await as(practice.owner).delete(`/api/organizations/${practice.id}/care/${other.care.id}`).expect(404)).body.code).toBe('NOT_FOUND');
    expect((await as(practice.owner).delete(`/api/organizations/${practice.id}/care/${randomUUID()}`).expect(404)).body.code).toBe('NOT_FOUND');
    expect((await t.context.models.CareRelationship.findByPk(other.care.id))!.endedAt).toBeNull();
  });
});
