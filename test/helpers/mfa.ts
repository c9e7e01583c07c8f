import { generate } from 'otplib';
import request from 'supertest';
import type { TestApp } from './app.js';

/** The code an authenticator app shows for `secret`, `offsetSteps` 30-second steps from now. */
export function totpCode(secret: string, offsetSteps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });
}

/**
 * A code of the next step: a step whose code was already accepted is refused, so a test
 * that needs a second code right after the first one takes the next step's (accepted
 * within ±1 step).
 */
export const nextTotpCode = (secret: string) => totpCode(secret, 1);

/** Sets up and confirms an authenticator app over HTTP; the secret and the recovery codes. */
export async function enrolTotp(t: TestApp, auth: string) {
  const setup = await request(t.app).post('/api/auth/mfa/totp/setup').set('Authorization', auth).expect(200);
  const secret = setup.body.secret as string;
  const confirm = await request(t.app)
    .post('/api/auth/mfa/totp/confirm')
    .set('Authorization', auth)
    .send({ code: await totpCode(secret) })
    .expect(200);
  return { secret, recoveryCodes: confirm.body.recoveryCodes as string[] };
}
