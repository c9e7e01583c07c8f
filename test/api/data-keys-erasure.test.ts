import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, counsel, expectReadable, keyRow, storedContent, type Counseled } from '../helpers/data-keys.js';
import { inCareOf } from '../helpers/practice.js';
import { createUser, type TestUser } from '../helpers/users.js';

describe('DELETE /api/users/me: crypto-shredding', () => {
  let t: TestApp;
  let counselorUser: TestUser;
  let counselor: string;
  let leaving: TestUser;
  let staying: TestUser;
  let leavingContent: Counseled;
  let stayingContent: Counseled;

  beforeAll(async () => {
    t = await createTestApp({ lenientLimits: true });
    counselorUser = await createUser(t, { role: 'counselor' });
    leaving = await createUser(t);
    staying = await createUser(t);
    await inCareOf(t, counselorUser.id, leaving.id);
    await inCareOf(t, counselorUser.id, staying.id);
    counselor = await bearer(t.app, counselorUser);
    leavingContent = await counsel(t.app, await bearer(t.app, leaving), counselor, counselorUser.id, 'leaving');
    stayingContent = await counsel(t.app, await bearer(t.app, staying), counselor, counselorUser.id, 'staying');
  });
  afterAll(() => t.close());

  it('refuses a wrong password with 403 and destroys nothing', async () => {
    const auth = await bearer(t.app, leaving);
    await request(t.app).delete('/api/users/me').set('Authorization', auth).send({ password: 'not-the-password-at-all-42' }).expect(403);
    const key = await keyRow(t, { ownerId: leaving.id });
    expect(key?.wrapped).toEqual(expect.any(String));
    await expectReadable(t.app, counselor, leavingContent);
  });

  it('destroys the person’s data key first, then the rows; a tombstone naming nobody stays', async () => {
    const key = (await keyRow(t, { ownerId: leaving.id }))!;
    const order: string[] = [];
    const keys = t.infra.content.keys;
    const destroy = keys.destroy.bind(keys);
    keys.destroy = async (personId: string) => {
      // When the key goes, the rows are all still there.
      order.push(`key:${(await storedContent(t.sequelize, [leavingContent.openId, leavingContent.endedId])).length}`);
      return destroy(personId);
    };
    try {
      const auth = await bearer(t.app, leaving);
      await request(t.app).delete('/api/users/me').set('Authorization', auth).send({ password: leaving.password }).expect(204);
    } finally {
      keys.destroy = destroy;
    }
    expect(order).toEqual(['key:5']);
    expect(await storedContent(t.sequelize, [leavingContent.openId, leavingContent.endedId])).toEqual([]);
    expect(await keyRow(t, { ownerId: leaving.id })).toBeNull();
    const tombstone = (await keyRow(t, { id: key.id }))!;
    expect(tombstone).toMatchObject({ ownerId: null, wrapped: null, masterKeyId: null });
    expect(tombstone.destroyedAt).not.toBeNull();
  });

  it('leaves everyone else’s content readable', async () => {
    await expectReadable(t.app, counselor, stayingContent);
    expect((await keyRow(t, { ownerId: staying.id }))?.wrapped).toEqual(expect.any(String));
  });
});
