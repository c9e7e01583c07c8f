import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/crypto/passwords.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser } from '../helpers/users.js';

const STRONG = 'amber-quarry-lantern-sextant-48';
const ACCEPTED = { status: 'accepted', message: expect.any(String) };

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { RATE_LIMIT_AUTH_MAX: '1000', RATE_LIMIT_WRITE_MAX: '1000' } });
});
afterAll(() => t.close());

function register(body: Record<string, unknown>) {
  return request(t.app).post('/api/auth/register').send(body);
}

/** `$argon2id$v=19$m=19456,p=1,t=2$salt$hash` → its algorithm and parameters, whatever their order. */
function argon2Parameters(hash: string) {
  const [, algorithm, , parameters = ''] = hash.split('$');
  return { algorithm, ...Object.fromEntries(parameters.split(',').map((pair) => pair.split('='))) };
}

async function usersWithEmail(email: string) {
  return t.context.models.User.count({ where: { email } });
}

describe('POST /api/auth/register', () => {
  it('answers 202 with a generic body and stores the email trimmed and lower-cased', async () => {
    const res = await register({ email: '  Rosalind.Franklin@Example.COM ', password: STRONG, name: 'Rosalind' }).expect(202);

    expect(res.body).toEqual(ACCEPTED);
    const user = await t.context.models.User.findOne({ where: { email: 'rosalind.franklin@example.com' } });
    expect(user).not.toBeNull();
    expect(user!.name).toBe('Rosalind');
    expect(user!.role).toBe('user');
    expect(user!.emailVerifiedAt).toBeNull();
  });

  it('stores an argon2id hash with m=19456, t=2, p=1 and never returns it', async () => {
    const res = await register({ email: 'hash.check@example.com', password: STRONG, name: 'Hash Check' }).expect(202);

    const user = await t.context.models.User.findOne({ where: { email: 'hash.check@example.com' } });
    expect(argon2Parameters(user!.passwordHash)).toEqual({ algorithm: 'argon2id', m: '19456', t: '2', p: '1' });
    expect(await verifyPassword(user!.passwordHash, STRONG)).toBe(true);
    expect(res.text).not.toContain('$argon2');
    expect(res.text).not.toContain(STRONG);
  });

  it('answers an existing email with exactly the same status and body and changes nothing', async () => {
    const existing = await createUser(t, { email: 'taken@example.com' });
    const hashBefore = (await t.context.models.User.findOne({ where: { email: existing.email } }))!.passwordHash;
    const fresh = await register({ email: 'not-taken@example.com', password: STRONG, name: 'Someone' });

    const duplicate = await register({ email: ' TAKEN@example.com', password: 'other-granite-meadow-pylon-93', name: 'Intruder' });

    expect(duplicate.status).toBe(fresh.status);
    expect(duplicate.body).toEqual(fresh.body);
    expect(await usersWithEmail('taken@example.com')).toBe(1);
    const after = await t.context.models.User.findOne({ where: { email: 'taken@example.com' } });
    expect(after!.passwordHash).toBe(hashBefore);
    expect(after!.name).toBe(existing.name);
  });

  it.each([
    ['a weak password (zxcvbn below 3)', 'password1234', 'Weak Person'],
    ['a keyboard walk', 'qwertyuiopas', 'Walk Person'],
    ['a password shorter than 12 characters', 'qV7#mZ2!xR9', 'Short Person'],
    ['a password longer than 128 characters', `${'qV7#mZ2!xR9p'.repeat(10)}abcdefghi`, 'Long Person'],
    ['a password containing the name', 'Bartholomew-quasar-lantern-88', 'Bartholomew'],
  ])('refuses %s with 400 VALIDATION_FAILED and creates nobody', async (_label, password, name) => {
    const email = `${name.toLowerCase().replace(/\s/g, '-')}@example.com`;

    const res = await register({ email, password, name }).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'password' })]));
    expect(await usersWithEmail(email)).toBe(0);
  });

  it('refuses a password containing the email local part', async () => {
    const res = await register({ email: 'marigold.skyline@example.com', password: 'Marigold.Skyline-tundra-77', name: 'Mari' }).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors).toContainEqual({ path: 'password', message: 'must not contain your email address' });
    expect(await usersWithEmail('marigold.skyline@example.com')).toBe(0);
  });

  it('refuses a weak password for an existing email the same way (400 either way)', async () => {
    const existing = await createUser(t, { email: 'weak-existing@example.com' });
    const unknown = await register({ email: 'weak-unknown@example.com', password: 'password1234', name: 'A Person' });

    const res = await register({ email: existing.email, password: 'password1234', name: 'A Person' });

    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect({ ...res.body, requestId: undefined }).toEqual({ ...unknown.body, requestId: undefined });
  });

  it('rejects unknown body keys such as role and creates no admin', async () => {
    const res = await register({ email: 'mallory@example.com', password: STRONG, name: 'Mallory', role: 'admin' }).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(await usersWithEmail('mallory@example.com')).toBe(0);
    expect(await t.context.models.User.count({ where: { role: 'admin' } })).toBe(0);
  });

  it.each([
    ['no email', { password: STRONG, name: 'X Person' }],
    ['an invalid email', { email: 'not-an-email', password: STRONG, name: 'X Person' }],
    ['an empty name', { email: 'empty-name@example.com', password: STRONG, name: '   ' }],
    ['a non-string password', { email: 'numeric@example.com', password: 123456789012345, name: 'X Person' }],
  ])('refuses %s with 400 VALIDATION_FAILED', async (_label, body) => {
    const before = await t.context.models.User.count();

    const res = await register(body).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(await t.context.models.User.count()).toBe(before);
  });

  it('records account_created for a new account and nothing for a duplicate', async () => {
    await register({ email: 'events@example.com', password: STRONG, name: 'Eve Nts' }).expect(202);
    await register({ email: 'events@example.com', password: STRONG, name: 'Eve Nts' }).expect(202);
    await t.context.events.flush();

    const user = await t.context.models.User.findOne({ where: { email: 'events@example.com' } });
    const events = await t.context.models.SecurityEvent.findAll({ where: { userId: user!.id } });
    expect(events.map((event) => event.type)).toEqual(['account_created']);
  });
});
