import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { userWithToken } from '../helpers/users.js';

const MONITORING_TOKEN = 'monitoring-token-for-the-tests-0123';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { MONITORING_TOKEN, RATE_LIMIT_AUTH_MAX: '1000' } });
});
afterAll(() => t.close());

function stats(authorization?: string) {
  const req = request(t.app).get('/api/errors/stats');
  return authorization === undefined ? req : req.set('Authorization', authorization);
}

describe('GET /api/errors/stats', () => {
  it('answers an admin access token with the counters and recent errors', async () => {
    const { auth } = await userWithToken(t, { role: 'admin' });
    await request(t.app).get('/api/auth/me').expect(401); // something to count

    const res = await stats(auth).expect(200);

    expect(res.body).toMatchObject({ total: expect.any(Number), byClass: expect.any(Object), byCode: expect.any(Object), recent: expect.any(Array) });
    expect(res.body.byCode.UNAUTHORIZED).toBeGreaterThanOrEqual(1);
  });

  it.each(['user', 'counselor'] as const)('answers a %s access token with 403 FORBIDDEN_ROLE', async (role) => {
    const { auth } = await userWithToken(t, { role });

    const res = await stats(auth).expect(403);

    expect(res.body.code).toBe('FORBIDDEN_ROLE');
    expect(res.body).not.toHaveProperty('byCode');
  });

  it('answers the MONITORING_TOKEN bearer with 200', async () => {
    const res = await stats(`Bearer ${MONITORING_TOKEN}`).expect(200);

    expect(res.body.total).toEqual(expect.any(Number));
  });

  it('answers no token with 401 and a wrong monitoring token with 401 INVALID_TOKEN', async () => {
    const anonymous = await stats().expect(401);
    const wrong = await stats(`Bearer ${MONITORING_TOKEN}x`).expect(401);

    expect(anonymous.body.code).toBe('MONITORING_ACCESS_REQUIRED');
    expect(wrong.body.code).toBe('INVALID_TOKEN');
  });

  it('does not treat the monitoring token as a user anywhere else', async () => {
    const res = await request(t.app).get('/api/auth/me').set('Authorization', `Bearer ${MONITORING_TOKEN}`).expect(401);

    expect(res.body.code).toBe('UNAUTHORIZED');
    await request(t.app).get('/api/admin/security-events').set('Authorization', `Bearer ${MONITORING_TOKEN}`).expect(401);
  });
});
