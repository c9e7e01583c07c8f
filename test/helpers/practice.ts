import request from 'supertest';
import type { OrgRole } from '../../src/models/membership.model.js';
import type { TestApp } from './app.js';
import { factories } from './factories.js';
import { userWithToken } from './users.js';

export type Person = Awaited<ReturnType<typeof userWithToken>>;

/**
 * A practice straight in the database: its owner, an admin, a manager, a counselor and a
 * client with an active care relationship between them, each signed in.
 */
export async function createPractice(t: TestApp, options: { slug?: string } = {}) {
  const make = factories(t);
  const organization = await make.organization({ slug: options.slug });
  const join = async (role: OrgRole) => {
    const person = await userWithToken(t, { role: role === 'counselor' ? 'counselor' : 'user' });
    await make.member(organization.id, person.user.id, role);
    return person;
  };
  const [owner, admin, manager, counselor, client] = [await join('owner'), await join('admin'), await join('manager'), await join('counselor'), await join('client')];
  const care = await make.care(organization.id, counselor.user.id, client.user.id);
  return { organization, id: organization.id, owner, admin, manager, counselor, client, care, join };
}

export type Practice = Awaited<ReturnType<typeof createPractice>>;

/** A practice of their own where the counselor has the client in their care (straight in the database). */
export async function inCareOf(t: Pick<TestApp, 'context'>, counselorId: string, clientId: string) {
  const make = factories(t);
  const organization = await make.organization();
  await make.member(organization.id, counselorId, 'counselor');
  await make.member(organization.id, clientId, 'client');
  return make.care(organization.id, counselorId, clientId);
}

/** Requests to the app signed in as the person. */
export function requestAs(t: Pick<TestApp, 'app'>, who: { auth: string }) {
  return {
    get: (path: string) => request(t.app).get(path).set('Authorization', who.auth),
    post: (path: string, body: object = {}) => request(t.app).post(path).set('Authorization', who.auth).send(body),
    patch: (path: string, body: object) => request(t.app).patch(path).set('Authorization', who.auth).send(body),
    delete: (path: string) => request(t.app).delete(path).set('Authorization', who.auth),
  };
}
