import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { hashPassword } from '../../src/crypto/passwords.js';
import type { Role } from '../../src/models/user.model.js';
import type { TestApp } from './app.js';

/** Strong enough for the password policy, and shared so hashing happens once per file. */
export const TEST_PASSWORD = 'violet-harbor-canyon-ledger-71';
let testPasswordHash: Promise<string> | undefined;

export interface TestUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  password: string;
}

/** A user row straight in the database (verified unless told otherwise). */
export async function createUser(t: TestApp, options: { role?: Role; verified?: boolean; name?: string; email?: string } = {}): Promise<TestUser> {
  testPasswordHash ??= hashPassword(TEST_PASSWORD);
  const email = options.email ?? `user-${randomUUID().slice(0, 8)}@example.com`;
  const name = options.name ?? 'Test Person';
  const user = await t.context.models.User.create({
    email,
    name,
    role: options.role ?? 'user',
    passwordHash: await testPasswordHash,
    emailVerifiedAt: options.verified === false ? null : new Date(),
  });
  return { id: user.id, email, name, role: user.role, password: TEST_PASSWORD };
}

/** Logs in over HTTP with the body transport and returns the issued tokens. */
export async function login(t: TestApp, user: Pick<TestUser, 'email' | 'password'>, extra: Record<string, unknown> = {}) {
  const res = await request(t.app)
    .post('/api/auth/login')
    .send({ email: user.email, password: user.password, transport: 'body', ...extra })
    .expect(200);
  return res.body as { accessToken: string; refreshToken: string; session: { id: string }; user: { id: string } };
}

/** A user and a valid access token for them. */
export async function userWithToken(t: TestApp, options: Parameters<typeof createUser>[1] = {}) {
  const user = await createUser(t, options);
  const { accessToken, refreshToken, session } = await login(t, user);
  return { user, accessToken, refreshToken, sessionId: session.id, auth: `Bearer ${accessToken}` };
}
