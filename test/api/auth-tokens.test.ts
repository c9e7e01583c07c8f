import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deriveKey, seal } from '../../src/crypto/secret-box.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { userWithToken } from '../helpers/users.js';

const AUDIENCE = 'confidant-api';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
});
afterAll(() => t.close());

function me(app: TestApp, token: string) {
  return request(app.app).get('/api/auth/me').set('Authorization', `Bearer ${token}`);
}

async function jwksKids(app: TestApp): Promise<string[]> {
  const res = await request(app.app).get('/.well-known/jwks.json').expect(200);
  return (res.body.keys as jose.JWK[]).map((key) => key.kid!);
}

/**
 * Puts a key pair we hold into the `jwks` table exactly as the key store seals its own
 * (AES-256-GCM under a key derived from AUTH_SECRET, the kid as associated data), so the
 * app trusts it and we can sign tokens with any claims we like.
 */
async function installSigningKey(app: TestApp) {
  const { publicKey, privateKey } = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const kid = `test-${randomUUID()}`;
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  const sealKey = deriveKey(app.config.secrets.authSecret, 'jwks-private-keys');
  await app.context.models.SigningKey.create({ kid, publicJwk: JSON.stringify(jwk), privateKeyEnc: seal(sealKey, await jose.exportPKCS8(privateKey), kid) });
  return { kid, privateKey };
}

function claimsFor(app: TestApp, subject: { userId: string; sessionId: string }, overrides: jose.JWTPayload = {}): jose.JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: subject.userId,
    sid: subject.sessionId,
    role: 'user',
    iss: app.config.publicUrl,
    aud: AUDIENCE,
    iat: now,
    exp: now + 900,
    jti: randomUUID(),
    ...overrides,
  };
}

function signWith(key: jose.CryptoKey | Uint8Array, header: jose.JWTHeaderParameters, claims: jose.JWTPayload): Promise<string> {
  return new jose.SignJWT(claims).setProtectedHeader(header).sign(key);
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('access tokens issued by POST /api/auth/login', () => {
  it('are EdDSA JWTs with a published kid and the claims sub, sid, role, iss, aud, iat, exp, jti', async () => {
    const { user, accessToken, sessionId } = await userWithToken(t, { role: 'counselor' });

    const header = jose.decodeProtectedHeader(accessToken);
    const claims = jose.decodeJwt(accessToken);

    expect(header.alg).toBe('EdDSA');
    expect(header.typ).toBe('at+jwt'); // RFC 9068: an access token, not some other JWT of ours
    expect(header.kid).toEqual(expect.any(String));
    expect(await jwksKids(t)).toContain(header.kid);
    expect(claims).toEqual({
      sub: user.id,
      sid: sessionId,
      role: 'counselor',
      iss: t.config.publicUrl,
      aud: AUDIENCE,
      iat: expect.any(Number),
      exp: expect.any(Number),
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(claims.exp! - claims.iat!).toBe(t.config.tokens.accessTtlS);
    expect(await t.context.models.AuthSession.findByPk(sessionId)).not.toBeNull();
  });

  it('carry exp - iat = ACCESS_TOKEN_TTL_S when it is configured', async () => {
    const short = await createTestApp({ lenientLimits: true, env: { ACCESS_TOKEN_TTL_S: '120' } });
    try {
      const { accessToken } = await userWithToken(short);

      const claims = jose.decodeJwt(accessToken);

      expect(claims.exp! - claims.iat!).toBe(120);
    } finally {
      await short.close();
    }
  });

  it('give every token its own jti', async () => {
    const first = await userWithToken(t);
    const second = await userWithToken(t);

    expect(jose.decodeJwt(first.accessToken).jti).not.toBe(jose.decodeJwt(second.accessToken).jti);
  });
});

describe('GET /.well-known/jwks.json', () => {
  it('publishes Ed25519 public keys only, never a private part', async () => {
    await userWithToken(t);

    const res = await request(t.app).get('/.well-known/jwks.json').expect(200);

    expect(res.body.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of res.body.keys as jose.JWK[]) {
      expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String), x: expect.any(String) });
      expect(key).not.toHaveProperty('d');
    }
    const rows = await t.context.models.SigningKey.findAll();
    expect(rows.map((row) => row.kid).sort()).toEqual((res.body.keys as jose.JWK[]).map((key) => key.kid).sort());
    for (const row of rows) expect(row.privateKeyEnc).not.toContain('PRIVATE KEY');
  });
});

describe('GET /api/auth/me with forged or malformed tokens', () => {
  it('accepts the genuine token (the control for the refusals below)', async () => {
    const { user, accessToken } = await userWithToken(t);

    const res = await me(t, accessToken).expect(200);

    expect(res.body.id).toBe(user.id);
  });

  it('refuses a token signed by another Ed25519 key under the real kid', async () => {
    const { user, sessionId, accessToken } = await userWithToken(t);
    const { kid } = jose.decodeProtectedHeader(accessToken);
    const attacker = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });

    const forged = await signWith(attacker.privateKey, { alg: 'EdDSA', kid, typ: 'at+jwt' }, claimsFor(t, { userId: user.id, sessionId }, { role: 'admin' }));
    const res = await me(t, forged).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('refuses an unsigned token (alg none)', async () => {
    const { user, sessionId, accessToken } = await userWithToken(t);
    const { kid } = jose.decodeProtectedHeader(accessToken);

    const unsigned = `${base64url({ alg: 'none', kid, typ: 'at+jwt' })}.${base64url(claimsFor(t, { userId: user.id, sessionId }))}.`;
    const res = await me(t, unsigned).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('refuses an HS256 token keyed with the published public key (algorithm confusion)', async () => {
    const { user, sessionId, accessToken } = await userWithToken(t);
    const { kid } = jose.decodeProtectedHeader(accessToken);
    const jwks = await request(t.app).get('/.well-known/jwks.json').expect(200);
    const published = (jwks.body.keys as jose.JWK[]).find((key) => key.kid === kid)!;

    const hs256 = await signWith(Buffer.from(published.x!, 'base64url'), { alg: 'HS256', kid, typ: 'at+jwt' }, claimsFor(t, { userId: user.id, sessionId }));
    const res = await me(t, hs256).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('ignores a jku header pointing to an attacker key set', async () => {
    const { user, sessionId } = await userWithToken(t);
    const attacker = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });

    const token = await signWith(
      attacker.privateKey,
      { alg: 'EdDSA', kid: 'attacker-key', jku: 'https://attacker.example/.well-known/jwks.json', typ: 'at+jwt' },
      claimsFor(t, { userId: user.id, sessionId }),
    );
    const res = await me(t, token).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('ignores an embedded jwk header, with or without a real kid', async () => {
    const { user, sessionId, accessToken } = await userWithToken(t);
    const { kid } = jose.decodeProtectedHeader(accessToken);
    const attacker = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const jwk = await jose.exportJWK(attacker.publicKey);
    const claims = claimsFor(t, { userId: user.id, sessionId });

    const withoutKid = await signWith(attacker.privateKey, { alg: 'EdDSA', jwk, typ: 'at+jwt' }, claims);
    const withRealKid = await signWith(attacker.privateKey, { alg: 'EdDSA', jwk, kid, typ: 'at+jwt' }, { ...claims, jti: randomUUID() });

    expect((await me(t, withoutKid).expect(401)).body.code).toBe('INVALID_TOKEN');
    expect((await me(t, withRealKid).expect(401)).body.code).toBe('INVALID_TOKEN');
  });

  it('refuses a genuine token whose payload was edited (role raised to admin)', async () => {
    const { accessToken } = await userWithToken(t);
    const [header, payload, signature] = accessToken.split('.');
    const edited = { ...(JSON.parse(Buffer.from(payload!, 'base64url').toString()) as jose.JWTPayload), role: 'admin' };

    const res = await me(t, `${header}.${base64url(edited)}.${signature}`).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it.each([
    ['another scheme', 'Basic dXNlcjpwYXNzd29yZA=='],
    ['a bare scheme', 'Bearer'],
    ['two tokens', 'Bearer abc.def.ghi jkl'],
    ['a lower-case scheme without a token', 'bearer '],
    ['a token that is not a JWT', 'Bearer not-a-jwt'],
    ['an empty value', ''],
  ])('refuses a malformed Authorization header (%s) with 401 INVALID_TOKEN', async (_label, header) => {
    const res = await request(t.app).get('/api/auth/me').set('Authorization', header).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it.each([
    ['lower case', 'bearer'],
    ['upper case', 'BEARER'],
    ['mixed case', 'bEaReR'],
  ])('accepts the scheme in %s (auth schemes are case-insensitive, RFC 9110 §11.1)', async (_label, scheme) => {
    const { user, accessToken } = await userWithToken(t);

    const res = await request(t.app).get('/api/auth/me').set('Authorization', `${scheme} ${accessToken}`).expect(200);

    expect(res.body.id).toBe(user.id);
  });

  it.each([
    ['two spaces after the scheme', (token: string) => `Bearer  ${token}`],
    ['a tab after the scheme', (token: string) => `Bearer\t${token}`],
    ['the scheme glued to the token', (token: string) => `Bearer${token}`],
  ])('stays strict about everything but the case of the scheme (%s)', async (_label, header) => {
    const { accessToken } = await userWithToken(t);

    const res = await request(t.app).get('/api/auth/me').set('Authorization', header(accessToken)).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('lets a request without Authorization through anonymously on an open route, but not on /api/auth/me', async () => {
    await request(t.app).get('/.well-known/jwks.json').expect(200);

    const res = await request(t.app).get('/api/auth/me').expect(401);

    expect(res.body.code).toBe('UNAUTHORIZED');
  });

  it('refuses an invalid token even on an open route (present means it must be valid)', async () => {
    const res = await request(t.app).get('/.well-known/jwks.json').set('Authorization', 'Bearer abc.def.ghi').expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('records token_validation_failure with the reason, the address and the user agent', async () => {
    await request(t.app).get('/api/auth/me').set('Authorization', 'Bearer x.y.z').set('User-Agent', 'forger/1.0').expect(401);
    await t.context.events.flush();

    const event = await t.context.models.SecurityEvent.findOne({ where: { type: 'token_validation_failure', userAgent: 'forger/1.0' } });
    expect(event).not.toBeNull();
    expect(event!.ip).toMatch(/127\.0\.0\.1/);
    expect(event!.metadata).toEqual({ reason: expect.any(String) });
  });
});

describe('access tokens signed with a key the app trusts (our own, installed in jwks)', () => {
  let k: TestApp;
  let own: Awaited<ReturnType<typeof installSigningKey>>;
  let subject: { userId: string; sessionId: string };
  beforeAll(async () => {
    k = await createTestApp({ lenientLimits: true });
    own = await installSigningKey(k); // before the first request, so it is the newest key the store loads
    const { user, sessionId } = await userWithToken(k);
    subject = { userId: user.id, sessionId };
  });
  afterAll(() => k.close());

  function tokenWith(overrides: jose.JWTPayload) {
    return signWith(own.privateKey, { alg: 'EdDSA', kid: own.kid, typ: 'at+jwt' }, claimsFor(k, subject, overrides));
  }

  it('accepts a well-formed token (the control: the app trusts our key)', async () => {
    const res = await me(k, await tokenWith({})).expect(200);

    expect(res.body.id).toBe(subject.userId);
    expect(await jwksKids(k)).toContain(own.kid);
  });

  it('refuses a token that expired more than 30 s ago', async () => {
    const now = Math.floor(Date.now() / 1000);

    const res = await me(k, await tokenWith({ iat: now - 960, exp: now - 60 })).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('accepts a token that expired within the 30 s clock skew', async () => {
    const now = Math.floor(Date.now() / 1000);

    await me(k, await tokenWith({ iat: now - 910, exp: now - 10 })).expect(200);
  });

  it.each([
    ['typ JWT', 'JWT'],
    ['typ jwt', 'jwt'],
    ['no typ', undefined],
    ['typ id+jwt', 'id+jwt'],
  ])('refuses a token with %s in the header (the profile is at+jwt)', async (_label, typ) => {
    const header = { alg: 'EdDSA', kid: own.kid, ...(typ !== undefined && { typ }) };

    const res = await me(k, await signWith(own.privateKey, header, claimsFor(k, subject))).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('accepts typ application/at+jwt, the same media type written in full', async () => {
    await me(k, await signWith(own.privateKey, { alg: 'EdDSA', kid: own.kid, typ: 'application/at+jwt' }, claimsFor(k, subject))).expect(200);
  });

  it('refuses a token with a far-future exp, although its session is active', async () => {
    const now = Math.floor(Date.now() / 1000);

    const res = await me(k, await tokenWith({ iat: now, exp: now + 365 * 86_400 })).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('refuses a token that lives longer than ACCESS_TOKEN_TTL_S, even by a minute', async () => {
    const now = Math.floor(Date.now() / 1000);

    await me(k, await tokenWith({ iat: now, exp: now + k.config.tokens.accessTtlS })).expect(200);
    const res = await me(k, await tokenWith({ iat: now, exp: now + k.config.tokens.accessTtlS + 60 })).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('refuses a token issued in the future beyond the clock skew', async () => {
    const now = Math.floor(Date.now() / 1000);

    const res = await me(k, await tokenWith({ iat: now + 3_600, exp: now + 3_600 + 900 })).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it.each([
    ['a foreign issuer', { iss: 'https://attacker.example' }],
    ['an aud array, even one that names this API', { aud: [AUDIENCE, 'some-other-api'] }],
    ['an aud array holding only this API', { aud: [AUDIENCE] }],
    ['a foreign audience', { aud: 'some-other-api' }],
    ['no jti', { jti: undefined }],
    ['no sid', { sid: undefined }],
    ['no exp', { exp: undefined }],
    ['a numeric sid', { sid: 42 }],
  ])('refuses a token with %s', async (_label, overrides) => {
    const res = await me(k, await tokenWith(overrides)).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
  });

  it('refuses a validly signed token for a session that was revoked', async () => {
    const { user, sessionId, auth } = await userWithToken(k);
    await request(k.app).post('/api/auth/logout').set('Authorization', auth).expect(204);

    const res = await me(k, await signWith(own.privateKey, { alg: 'EdDSA', kid: own.kid, typ: 'at+jwt' }, claimsFor(k, { userId: user.id, sessionId }))).expect(401);

    expect(res.body.code).toBe('INVALID_TOKEN');
    expect((await k.context.models.AuthSession.findByPk(sessionId))!.revokedAt).not.toBeNull();
  });
});

describe('a burst of tokens with unknown kids', () => {
  const BURST = 60;

  it(`reads the jwks table once for ${BURST} concurrent tokens with different unknown kids, then not again within 5 s`, async () => {
    const app = await createTestApp({ lenientLimits: true });
    try {
      const { user, sessionId } = await userWithToken(app); // the key set is loaded
      let jwksReads = 0;
      app.context.models.SigningKey.addHook('beforeFind', () => {
        jwksReads += 1;
      });
      const attacker = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const forge = () =>
        Promise.all(
          Array.from({ length: BURST }, () => signWith(attacker.privateKey, { alg: 'EdDSA', kid: randomUUID(), typ: 'at+jwt' }, claimsFor(app, { userId: user.id, sessionId }))),
        );
      const first = await forge();
      const second = await forge();
      // Only the clock moves (no timers): past the 5 s between reloads for unknown kids.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 6_000);

      const firstStatuses = (await Promise.all(first.map((token) => me(app, token)))).map((res) => res.status);
      const readsAfterFirst = jwksReads;
      const secondStatuses = (await Promise.all(second.map((token) => me(app, token)))).map((res) => res.status);

      expect(firstStatuses).toEqual(Array(BURST).fill(401));
      expect(secondStatuses).toEqual(Array(BURST).fill(401));
      expect(readsAfterFirst).toBe(1); // one reload, awaited by every concurrent lookup
      expect(jwksReads).toBe(1); // the attempt is stamped: no reload again within 5 s
    } finally {
      vi.useRealTimers();
      await app.close();
    }
  });
});
