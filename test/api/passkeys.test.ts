import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, login, type TestUser } from '../helpers/users.js';
import { SoftAuthenticator, type SoftPasskey } from '../helpers/webauthn.js';

/** The test configuration: APP_URL and CORS_ORIGINS http://localhost:5173, so the relying party is `localhost`. */
const ORIGIN = 'http://localhost:5173';

let t: TestApp;
const authenticator = new SoftAuthenticator(ORIGIN);
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
});
afterAll(() => t.close());
afterEach(() => {
  vi.useRealTimers();
});

async function signedIn(): Promise<{ user: TestUser; auth: string }> {
  const user = await createUser(t);
  return { user, auth: `Bearer ${(await login(t, user)).accessToken}` };
}

const registrationOptions = (auth: string) => request(t.app).post('/api/auth/passkeys/register/options').set('Authorization', auth).expect(200);

/** Registers a passkey over HTTP; the authenticator's side of it and the API's view. */
async function addPasskey(auth: string, name?: string): Promise<{ passkey: SoftPasskey; view: { id: string; name: string } }> {
  const options = await registrationOptions(auth);
  const { passkey, response } = authenticator.create(options.body);
  const res = await request(t.app).post('/api/auth/passkeys/register/verify').set('Authorization', auth).send({ response, ...(name && { name }) }).expect(201);
  return { passkey, view: res.body };
}

const signInOptions = () => request(t.app).post('/api/auth/passkeys/login/options').expect(200);
const signIn = (response: object, extra: object = { transport: 'body' }) => request(t.app).post('/api/auth/passkeys/login/verify').send({ response, ...extra });

async function eventsOf(userId: string, type: string) {
  await t.context.events.flush();
  return t.context.models.SecurityEvent.findAll({ where: { userId, type } });
}

describe('POST /api/auth/passkeys/register/options and /verify', () => {
  it('offers a discoverable, user-verified credential for this relying party and the account, and registers it', async () => {
    const { user, auth } = await signedIn();

    const options = await registrationOptions(auth);
    expect(options.body).toMatchObject({
      rp: { id: 'localhost', name: 'Confidant' },
      user: { name: user.email, displayName: user.name, id: Buffer.from(user.id.replace(/-/g, ''), 'hex').toString('base64url') },
      attestation: 'none',
      excludeCredentials: [],
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      timeout: 120_000,
    });
    // EdDSA, ES256, RS256 on every Node line: no ML-DSA, which Node 24 could verify and Node 20 could not.
    expect(options.body.pubKeyCredParams).toEqual([-8, -7, -257].map((alg) => ({ alg, type: 'public-key' })));
    const { response } = authenticator.create(options.body);
    const res = await request(t.app).post('/api/auth/passkeys/register/verify').set('Authorization', auth).send({ response, name: 'Laptop' }).expect(201);

    expect(res.body).toEqual({ id: expect.any(String), name: 'Laptop', deviceType: 'singleDevice', backedUp: false, transports: ['internal'], createdAt: expect.any(String), lastUsedAt: null });
    const row = await t.context.models.Passkey.findByPk(res.body.id);
    expect(row).toMatchObject({ userId: user.id, credentialId: response.id, name: 'Laptop' });
    expect(Number(row!.counter)).toBe(0);
    expect(await eventsOf(user.id, 'passkey_added')).toHaveLength(1);
    const list = await request(t.app).get('/api/auth/passkeys').set('Authorization', auth).expect(200);
    expect(list.body.items.map((item: { id: string }) => item.id)).toEqual([res.body.id]);
    expect(JSON.stringify(list.body)).not.toContain(row!.publicKey);
    expect((await request(t.app).get('/api/auth/mfa').set('Authorization', auth).expect(200)).body.passkeys).toBe(1);
    // The next registration excludes the passkey the account already has.
    expect((await registrationOptions(auth)).body.excludeCredentials).toEqual([{ id: response.id, type: 'public-key', transports: ['internal'] }]);
  });

  it.each([
    ['another origin', (options: { challenge: string; rp: { id: string }; user: { id: string } }) => authenticator.create(options, { origin: 'https://evil.example' }).response],
    ['an authenticator that did not verify the person', (options: { challenge: string; rp: { id: string }; user: { id: string } }) => new SoftAuthenticator(ORIGIN, 'localhost', false).create(options).response],
    ['another relying party', (options: { challenge: string; rp: { id: string }; user: { id: string } }) => authenticator.create({ ...options, rp: { id: 'evil.example' } }).response],
  ])('refuses a credential made for %s with 400 INVALID_PASSKEY and stores nothing', async (_name, make) => {
    const { user, auth } = await signedIn();
    const response = make((await registrationOptions(auth)).body);

    const res = await request(t.app).post('/api/auth/passkeys/register/verify').set('Authorization', auth).send({ response }).expect(400);

    expect(res.body.code).toBe('INVALID_PASSKEY');
    expect(await t.context.models.Passkey.count({ where: { userId: user.id } })).toBe(0);
  });

  it('uses a challenge once, for its own account only, and not after it expired', async () => {
    const { user, auth } = await signedIn();
    const other = await signedIn();

    const once = await registrationOptions(auth);
    const first = authenticator.create(once.body).response;
    await request(t.app).post('/api/auth/passkeys/register/verify').set('Authorization', auth).send({ response: first }).expect(201);
    const replay = authenticator.create(once.body).response;
    await request(t.app).post('/api/auth/passkeys/register/verify').set('Authorization', auth).send({ response: replay }).expect(400);

    const theirs = authenticator.create((await registrationOptions(other.auth)).body).response;
    await request(t.app).post('/api/auth/passkeys/register/verify').set('Authorization', auth).send({ response: theirs }).expect(400);

    const late = await registrationOptions(auth);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    vi.setSystemTime(Date.now() + 3 * 60_000);
    await request(t.app).post('/api/auth/passkeys/register/verify').set('Authorization', auth).send({ response: authenticator.create(late.body).response }).expect(400);

    expect(await t.context.models.Passkey.count({ where: { userId: user.id } })).toBe(1);
    expect(await t.context.models.Passkey.count({ where: { userId: other.user.id } })).toBe(0);
  });
});

describe('signing in with a passkey (POST /api/auth/passkeys/login/options and /verify)', () => {
  it('signs in without an email: the passkey names the account; the counter advances', async () => {
    const { user, auth } = await signedIn();
    const { passkey, view } = await addPasskey(auth);

    const options = await signInOptions();
    expect(options.body).toEqual({ challenge: expect.any(String), rpId: 'localhost', timeout: 120_000, userVerification: 'required' });
    const res = await signIn(authenticator.get(passkey, options.body), { transport: 'body', rememberMe: true }).expect(200);

    expect(res.body).toMatchObject({ tokenType: 'Bearer', user: { id: user.id }, session: { rememberMe: true }, refreshToken: expect.any(String) });
    expect(res.body).not.toHaveProperty('mfaEnrolmentRequired');
    await request(t.app).get('/api/auth/me').set('Authorization', `Bearer ${res.body.accessToken}`).expect(200);
    const row = await t.context.models.Passkey.findByPk(view.id);
    expect(Number(row!.counter)).toBe(1);
    expect(row!.lastUsedAt).not.toBeNull();
    const success = (await eventsOf(user.id, 'login_success')).find((event) => event.metadata.method === 'passkey');
    expect(success!.metadata).toMatchObject({ sessionId: res.body.session.id });
  });

  it('refuses a replayed assertion (its challenge is used up) and one whose counter did not advance', async () => {
    const { user, auth } = await signedIn();
    const { passkey } = await addPasskey(auth);
    const assertion = authenticator.get(passkey, (await signInOptions()).body);
    await signIn(assertion).expect(200);

    const replayed = await signIn(assertion).expect(401);
    const cloned = await signIn(authenticator.get(passkey, (await signInOptions()).body, { counter: 1 })).expect(401);

    expect(replayed.body.code).toBe('INVALID_PASSKEY');
    expect(cloned.body.code).toBe('INVALID_PASSKEY');
    const suspicious = await eventsOf(user.id, 'suspicious_activity');
    expect(suspicious.map((event) => event.metadata.reason)).toEqual(['passkey_counter_not_advanced']);
  });

  it('refuses an assertion for another origin or relying party, an unknown passkey and a made-up challenge alike', async () => {
    const { auth } = await signedIn();
    const { passkey } = await addPasskey(auth);
    const stranger = authenticator.create({ challenge: 'x', rp: { id: 'localhost' }, user: { id: 'AAAA' } }).passkey;

    const answers = [
      await signIn(authenticator.get(passkey, (await signInOptions()).body, { origin: 'https://evil.example' })),
      await signIn(authenticator.get(passkey, (await signInOptions()).body, { rpId: 'evil.example' })),
      await signIn(authenticator.get(stranger, (await signInOptions()).body)),
      await signIn(authenticator.get(passkey, { challenge: Buffer.from('never issued').toString('base64url') })),
    ];

    const bodies = answers.map((res) => {
      expect(res.status).toBe(401);
      const { requestId: _id, ...body } = res.body;
      return body;
    });
    for (const body of bodies) expect(body).toEqual(bodies[0]);
  });

  it('is a second factor: a password sign-in of an account with a passkey answers a challenge naming it', async () => {
    const { user, auth } = await signedIn();
    await addPasskey(auth);

    const res = await request(t.app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);

    expect(res.body).toMatchObject({ mfaRequired: true, methods: ['passkey'] });
  });

  it('sets the cookie transport by default', async () => {
    const { auth } = await signedIn();
    const { passkey } = await addPasskey(auth);

    const res = await signIn(authenticator.get(passkey, (await signInOptions()).body), {}).expect(200);

    expect(res.body).toHaveProperty('csrfToken');
    expect(([] as string[]).concat(res.headers['set-cookie'] ?? []).some((cookie) => cookie.startsWith('confidant_refresh='))).toBe(true);
  });
});

describe('managing passkeys', () => {
  it('renames a passkey of the caller, and answers 404 for somebody else’s', async () => {
    const { auth } = await signedIn();
    const other = await signedIn();
    const { view } = await addPasskey(auth, 'Old name');

    const renamed = await request(t.app).patch(`/api/auth/passkeys/${view.id}`).set('Authorization', auth).send({ name: 'Phone' }).expect(200);
    await request(t.app).patch(`/api/auth/passkeys/${view.id}`).set('Authorization', other.auth).send({ name: 'Mine now' }).expect(404);

    expect(renamed.body.name).toBe('Phone');
    expect((await t.context.models.Passkey.findByPk(view.id))!.name).toBe('Phone');
  });

  it('removes a passkey (needs a recent authentication), records passkey_removed; somebody else’s is 404', async () => {
    const { user, auth } = await signedIn();
    const other = await signedIn();
    const { view } = await addPasskey(auth);

    await request(t.app).delete(`/api/auth/passkeys/${view.id}`).set('Authorization', other.auth).expect(404);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    vi.setSystemTime(Date.now() + 6 * 60_000);
    const stale = await request(t.app).delete(`/api/auth/passkeys/${view.id}`).set('Authorization', auth).expect(401);
    expect(stale.body).toMatchObject({ code: 'REAUTHENTICATION_REQUIRED', methods: ['password', 'passkey', 'magic_link'] });
    vi.useRealTimers();
    await request(t.app).delete(`/api/auth/passkeys/${view.id}`).set('Authorization', auth).expect(204);

    expect(await t.context.models.Passkey.count({ where: { userId: user.id } })).toBe(0);
    expect(await eventsOf(user.id, 'passkey_removed')).toHaveLength(1);
  });

  it('reauthenticates with a passkey of the caller, not with somebody else’s', async () => {
    const { auth } = await signedIn();
    const other = await signedIn();
    const { passkey } = await addPasskey(auth);
    const theirs = (await addPasskey(other.auth)).passkey;

    await request(t.app).post('/api/auth/reauthenticate').set('Authorization', auth).send({ passkey: authenticator.get(theirs, (await signInOptions()).body) }).expect(403);
    const res = await request(t.app).post('/api/auth/reauthenticate').set('Authorization', auth).send({ passkey: authenticator.get(passkey, (await signInOptions()).body) }).expect(200);

    expect(res.body).toEqual({ authenticatedAt: expect.any(String), validUntil: expect.any(String) });
  });
});

describe('bad input on the passkey routes', () => {
  it.each([
    ['POST', '/api/auth/passkeys/register/verify', undefined],
    ['POST', '/api/auth/passkeys/register/verify', { response: { id: 'x' } }],
    ['POST', '/api/auth/passkeys/register/verify', { response: 'not an object' }],
    ['POST', '/api/auth/passkeys/login/verify', {}],
    ['POST', '/api/auth/passkeys/login/verify', { response: { id: 'x', rawId: 'x', type: 'public-key', response: {}, clientExtensionResults: {} } }],
    ['POST', '/api/auth/passkeys/login/verify', { response: { id: '!!', rawId: 'x', type: 'public-key', response: { clientDataJSON: 'a', authenticatorData: 'a', signature: 'a' }, clientExtensionResults: {} } }],
    ['PATCH', '/api/auth/passkeys/00000000-0000-4000-8000-000000000000', { name: '' }],
    ['PATCH', '/api/auth/passkeys/00000000-0000-4000-8000-000000000000', { name: 'a\nb' }],
    ['PATCH', '/api/auth/passkeys/not-a-uuid', { name: 'Phone' }],
    ['DELETE', '/api/auth/passkeys/not-a-uuid', undefined],
  ])('%s %s with %j is a 400 that stores nothing', async (method, path, body) => {
    const { user, auth } = await signedIn();
    const verb = method.toLowerCase() as 'post' | 'patch' | 'delete';

    const req = request(t.app)[verb](path).set('Authorization', auth);
    const res = await (body === undefined ? req : req.send(body)).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(await t.context.models.Passkey.count({ where: { userId: user.id } })).toBe(0);
    expect(await t.context.models.AuthSession.count({ where: { userId: user.id } })).toBe(1);
  });
});
