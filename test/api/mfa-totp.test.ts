import { generateURI } from 'otplib';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataCipher } from '../../src/crypto/data-cipher.js';
import { rotateTotpSecrets } from '../../src/modules/mfa/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { enrolTotp, totpCode } from '../helpers/mfa.js';
import { userWithToken } from '../helpers/users.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
});
afterAll(() => t.close());

async function eventsOf(userId: string, type: string) {
  await t.context.events.flush();
  return t.context.models.SecurityEvent.findAll({ where: { userId, type } });
}

describe('POST /api/auth/mfa/totp/setup', () => {
  it('answers a secret, its otpauth:// URI and an SVG QR code, and stores the secret encrypted and unconfirmed', async () => {
    const { user, auth } = await userWithToken(t);

    const res = await request(t.app).post('/api/auth/mfa/totp/setup').set('Authorization', auth).expect(200);

    expect(res.body).toEqual({ secret: expect.stringMatching(/^[A-Z2-7]{32}$/), otpauthUrl: expect.any(String), qr: expect.any(String) });
    expect(res.body.otpauthUrl).toBe(generateURI({ issuer: 'Confidant', label: user.email, secret: res.body.secret }));
    const svg = Buffer.from(res.body.qr.replace('data:image/svg+xml;base64,', ''), 'base64').toString('utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const row = await t.context.models.TotpFactor.findOne({ where: { userId: user.id } });
    expect(row!.confirmedAt).toBeNull();
    expect(row!.secretEncrypted).toMatch(/^enc1:/);
    expect(row!.secretEncrypted).not.toContain(res.body.secret);
    const status = await request(t.app).get('/api/auth/mfa').set('Authorization', auth).expect(200);
    expect(status.body).toEqual({ required: false, totp: { enabled: false, confirmedAt: null }, passkeys: 0, recoveryCodesRemaining: 0 });
  });

  it('replaces an unconfirmed secret when asked again: codes of the first no longer confirm', async () => {
    const { user, auth } = await userWithToken(t);
    const first = await request(t.app).post('/api/auth/mfa/totp/setup').set('Authorization', auth).expect(200);
    const second = await request(t.app).post('/api/auth/mfa/totp/setup').set('Authorization', auth).expect(200);
    expect(second.body.secret).not.toBe(first.body.secret);

    await request(t.app).post('/api/auth/mfa/totp/confirm').set('Authorization', auth).send({ code: await totpCode(first.body.secret) }).expect(400);
    await request(t.app).post('/api/auth/mfa/totp/confirm').set('Authorization', auth).send({ code: await totpCode(second.body.secret) }).expect(200);
    expect(await t.context.models.TotpFactor.count({ where: { userId: user.id } })).toBe(1);
  });

  it('refuses with 409 TOTP_ALREADY_ENABLED once an app is confirmed, and keeps the secret', async () => {
    const { user, auth } = await userWithToken(t);
    await enrolTotp(t, auth);
    const before = await t.context.models.TotpFactor.findOne({ where: { userId: user.id } });

    const res = await request(t.app).post('/api/auth/mfa/totp/setup').set('Authorization', auth).expect(409);

    expect(res.body.code).toBe('TOTP_ALREADY_ENABLED');
    const after = await t.context.models.TotpFactor.findOne({ where: { userId: user.id } });
    expect(after!.secretEncrypted).toBe(before!.secretEncrypted);
  });
});

describe('POST /api/auth/mfa/totp/confirm', () => {
  it('enables the app with a current code and answers ten distinct recovery codes, stored only as hashes', async () => {
    const { user, auth } = await userWithToken(t);

    const { recoveryCodes } = await enrolTotp(t, auth);

    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/);
    const stored = await t.context.models.RecoveryCode.findAll({ where: { userId: user.id } });
    expect(stored).toHaveLength(10);
    const hashes = stored.map((row) => row.codeHash).join(' ');
    for (const code of recoveryCodes) expect(hashes).not.toContain(code.replace(/-/g, ''));
    expect((await t.context.models.TotpFactor.findOne({ where: { userId: user.id } }))!.confirmedAt).not.toBeNull();
    expect(await eventsOf(user.id, 'mfa_enabled')).toHaveLength(1);
    const status = await request(t.app).get('/api/auth/mfa').set('Authorization', auth).expect(200);
    expect(status.body).toMatchObject({ totp: { enabled: true, confirmedAt: expect.any(String) }, recoveryCodesRemaining: 10 });
  });

  it('accepts the code of the step before or after the current one, not two steps away', async () => {
    const { auth } = await userWithToken(t);
    const { body } = await request(t.app).post('/api/auth/mfa/totp/setup').set('Authorization', auth).expect(200);

    for (const offset of [-3, 3]) {
      const res = await request(t.app).post('/api/auth/mfa/totp/confirm').set('Authorization', auth).send({ code: await totpCode(body.secret, offset) }).expect(400);
      expect(res.body.code).toBe('INVALID_MFA_CODE');
    }
    await request(t.app).post('/api/auth/mfa/totp/confirm').set('Authorization', auth).send({ code: await totpCode(body.secret, -1) }).expect(200);
  });

  it('refuses a wrong code with 400 INVALID_MFA_CODE and enables nothing', async () => {
    const { user, auth } = await userWithToken(t);
    const { body } = await request(t.app).post('/api/auth/mfa/totp/setup').set('Authorization', auth).expect(200);
    const right = await totpCode(body.secret);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');

    const res = await request(t.app).post('/api/auth/mfa/totp/confirm').set('Authorization', auth).send({ code: wrong }).expect(400);

    expect(res.body.code).toBe('INVALID_MFA_CODE');
    expect((await t.context.models.TotpFactor.findOne({ where: { userId: user.id } }))!.confirmedAt).toBeNull();
    expect(await t.context.models.RecoveryCode.count({ where: { userId: user.id } })).toBe(0);
    expect(await eventsOf(user.id, 'mfa_enabled')).toHaveLength(0);
  });

  it('answers 409 TOTP_SETUP_REQUIRED without a setup first', async () => {
    const { auth } = await userWithToken(t);
    const res = await request(t.app).post('/api/auth/mfa/totp/confirm').set('Authorization', auth).send({ code: '123456' }).expect(409);
    expect(res.body.code).toBe('TOTP_SETUP_REQUIRED');
  });

  it.each([
    ['no body', undefined],
    ['no code', {}],
    ['letters', { code: 'abcdef' }],
    ['seven digits', { code: '1234567' }],
    ['a number, not a string', { code: 123456 }],
    ['an unknown key', { code: '123456', userId: '00000000-0000-4000-8000-000000000000' }],
  ])('refuses %s with 400 and stores nothing', async (_name, body) => {
    const { user, auth } = await userWithToken(t);
    await request(t.app).post('/api/auth/mfa/totp/setup').set('Authorization', auth).expect(200);

    const req = request(t.app).post('/api/auth/mfa/totp/confirm').set('Authorization', auth);
    const res = await (body === undefined ? req : req.send(body)).expect(400);

    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect((await t.context.models.TotpFactor.findOne({ where: { userId: user.id } }))!.confirmedAt).toBeNull();
    expect(await t.context.models.RecoveryCode.count({ where: { userId: user.id } })).toBe(0);
  });
});

describe('DELETE /api/auth/mfa/totp', () => {
  it('removes the app and, as it was the last factor, the recovery codes; records mfa_disabled', async () => {
    const { user, auth } = await userWithToken(t);
    await enrolTotp(t, auth);

    await request(t.app).delete('/api/auth/mfa/totp').set('Authorization', auth).expect(204);

    expect(await t.context.models.TotpFactor.count({ where: { userId: user.id } })).toBe(0);
    expect(await t.context.models.RecoveryCode.count({ where: { userId: user.id } })).toBe(0);
    expect(await eventsOf(user.id, 'mfa_disabled')).toHaveLength(1);
  });

  it('answers 404 when there is no app', async () => {
    const { auth } = await userWithToken(t);
    await request(t.app).delete('/api/auth/mfa/totp').set('Authorization', auth).expect(404);
  });
});

describe('POST /api/auth/mfa/recovery-codes', () => {
  it('replaces the set: ten new codes, the old hashes gone, recovery_codes_regenerated recorded', async () => {
    const { user, auth } = await userWithToken(t);
    const { recoveryCodes: old } = await enrolTotp(t, auth);
    const oldHashes = (await t.context.models.RecoveryCode.findAll({ where: { userId: user.id } })).map((row) => row.codeHash);

    const res = await request(t.app).post('/api/auth/mfa/recovery-codes').set('Authorization', auth).expect(200);

    expect(res.body.recoveryCodes).toHaveLength(10);
    expect(res.body.recoveryCodes.filter((code: string) => old.includes(code))).toEqual([]);
    const newHashes = (await t.context.models.RecoveryCode.findAll({ where: { userId: user.id } })).map((row) => row.codeHash);
    expect(newHashes).toHaveLength(10);
    expect(newHashes.filter((hash) => oldHashes.includes(hash))).toEqual([]);
    expect(await eventsOf(user.id, 'recovery_codes_regenerated')).toHaveLength(1);
  });

  it('answers 409 MFA_NOT_ENABLED without a second factor and stores nothing', async () => {
    const { user, auth } = await userWithToken(t);
    const res = await request(t.app).post('/api/auth/mfa/recovery-codes').set('Authorization', auth).expect(409);
    expect(res.body.code).toBe('MFA_NOT_ENABLED');
    expect(await t.context.models.RecoveryCode.count({ where: { userId: user.id } })).toBe(0);
  });
});

describe('data-key rotation (npm run keys:rotate-data)', () => {
  it('re-encrypts an authenticator-app secret under the new key, bound to its row, and a second run changes nothing', async () => {
    const { user, auth } = await userWithToken(t);
    const { body } = await request(t.app).post('/api/auth/mfa/totp/setup').set('Authorization', auth).expect(200);
    const newKey = 'a-new-data-encryption-key-of-32-bytes-or-more';
    const rotating = new DataCipher(newKey, [t.config.secrets.dataEncryptionKey]);

    const first = await rotateTotpSecrets(t.context.models, rotating);
    const again = await rotateTotpSecrets(t.context.models, rotating);

    expect(first.reencrypted).toBe(first.examined);
    expect(first.examined).toBeGreaterThan(0);
    expect(again).toEqual({ examined: first.examined, reencrypted: 0 });
    const row = await t.context.models.TotpFactor.findOne({ where: { userId: user.id } });
    expect(new DataCipher(newKey).decrypt(row!.secretEncrypted, `totp-factor:${row!.id}`)).toBe(body.secret);
    expect(() => new DataCipher(newKey).decrypt(row!.secretEncrypted, 'totp-factor:00000000-0000-4000-8000-000000000000')).toThrow();
  });
});
