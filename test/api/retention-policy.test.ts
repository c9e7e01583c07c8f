import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { retentionJobs } from '../../src/jobs/retention-jobs.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories } from '../helpers/factories.js';
import { attach, PDF, PNG } from '../helpers/files.js';
import { createPractice, requestAs, type Practice } from '../helpers/practice.js';

/**
 * Retention by policy (docs/DESIGN.md §7.4): the data of an ended session is kept for its
 * organization's own retention, or the platform's. The platform keeps 365 days here, and lets
 * organizations set 30 to 3650. Every job runs at NOW, whatever the clock says.
 */

const DAY = 86_400_000;
const NOW = new Date('2030-06-01T12:00:00Z');
const daysBefore = (days: number) => new Date(NOW.getTime() - days * DAY);

let t: TestApp;
let practice: Practice;
beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true, env: { ORG_RETENTION_MIN_DAYS: '30' } });
  practice = await createPractice(t);
});
afterAll(() => t.close());

const purgeSessionData = () => retentionJobs(t.infra, t.modules)['purge-session-data']!;

/** A session of the practice's client (in `organizationId`, or in none) that ended `days` before NOW, with two entries. */
async function endedSession(organizationId: string | null, days: number) {
  const make = factories(t);
  const endedAt = daysBefore(days);
  const session = await make.session({ userId: practice.client.user.id, organizationId, status: 'ended', startedAt: new Date(endedAt.getTime() - 60_000) });
  for (const at of [1_000, 2_000]) await make.entry(session, { kind: 'note', text: 'kept until its retention ends', at: new Date(session.startedAt.getTime() + at) });
  return session.id;
}

/** A session in the practice with an entry and two attachments (a PDF and an image, uploaded through the API), ended `days` before NOW. */
async function sessionWithAttachments(of: Practice, days: number) {
  const make = factories(t);
  const session = await make.session({ userId: of.client.user.id, counselorId: of.counselor.user.id, organizationId: of.id });
  await make.entry(session, { kind: 'note', text: 'with attachments', at: session.startedAt });
  const files = [
    (await attach(t, of.client.auth, session.id, { data: PDF, filename: 'worksheet.pdf' }).expect(201)).body.id as string,
    (await attach(t, of.counselor.auth, session.id, { data: PNG, filename: 'drawing.png' }).expect(201)).body.id as string,
  ];
  await t.context.models.CounselingSession.update({ status: 'ended', endedAt: daysBefore(days) }, { where: { id: session.id } });
  const keys = (await t.context.models.StoredFile.findAll({ where: { id: files } })).map((file) => file.storageKey);
  return { id: session.id, files, keys };
}

const stored = async (keys: string[]) => (await Promise.all(keys.map((key) => t.modules.files.storage.head(key)))).filter((object) => object !== null).length;

const entriesOf = (sessionId: string) => t.context.models.SessionEntry.count({ where: { sessionId } });

/** A practice of its own whose owner set its retention through the API (null: it keeps the platform's). */
async function practiceKeeping(days: number | null) {
  const other = await createPractice(t);
  if (days !== null) await requestAs(t, other.owner).patch(`/api/organizations/${other.id}`, { sessionDataRetentionDays: days }).expect(200);
  return other;
}

describe('purge-session-data, by the retention of the session’s organization', () => {
  it('keeps a session of an organization with a longer retention past the platform’s, and purges it past its own', async () => {
    const { id: sevenYears } = await practiceKeeping(2555);
    const young = await endedSession(sevenYears, 400);
    const old = await endedSession(sevenYears, 2556);

    await purgeSessionData().run(NOW);

    expect(await entriesOf(young)).toBe(2);
    expect(await entriesOf(old)).toBe(0);
    expect(await t.context.models.CounselingSession.count({ where: { id: [young, old] } })).toBe(2); // the sessions themselves stay
  });

  it('purges sooner for an organization with a shorter retention, where the bounds allow it', async () => {
    const { id: thirtyDays } = await practiceKeeping(30);
    const young = await endedSession(thirtyDays, 20);
    const old = await endedSession(thirtyDays, 40);

    await purgeSessionData().run(NOW);

    expect([await entriesOf(young), await entriesOf(old)]).toEqual([2, 0]);
  });

  it('keeps the platform’s retention for sessions in no organization and in organizations without their own', async () => {
    const { id: platform } = await practiceKeeping(null);
    const sessions = { inNone: [await endedSession(null, 300), await endedSession(null, 400)], inPlatform: [await endedSession(platform, 300), await endedSession(platform, 400)] };

    await purgeSessionData().run(NOW);

    for (const [young, old] of Object.values(sessions)) expect([await entriesOf(young!), await entriesOf(old!)]).toEqual([2, 0]);
  });

  it('holds an override to the bounds configured now: one set beyond ORG_RETENTION_MAX_DAYS keeps data no longer than the maximum', async () => {
    const organization = await practiceKeeping(null);
    await t.context.models.Organization.update({ sessionDataRetentionDays: 9000 }, { where: { id: organization.id } }); // set when the maximum was higher
    const young = await endedSession(organization.id, 3600);
    const old = await endedSession(organization.id, 3700);

    await purgeSessionData().run(NOW);

    expect([await entriesOf(young), await entriesOf(old)]).toEqual([2, 0]);
    expect((await requestAs(t, organization.owner).get(`/api/organizations/${organization.id}`).expect(200)).body.sessionDataRetentionDays).toBe(3650);
  });
});

describe('purge-session-data takes the session’s attachments with its entries', () => {
  it('deletes the attachments of an expired session, rows and stored objects, and keeps those of a session within its retention', async () => {
    const clinic = await createPractice(t);
    await requestAs(t, clinic.owner).patch(`/api/organizations/${clinic.id}`, { sessionDataRetentionDays: 730 }).expect(200);
    const expired = await sessionWithAttachments(clinic, 800);
    const kept = await sessionWithAttachments(clinic, 400);
    expect(await stored([...expired.keys, ...kept.keys])).toBe(4);

    const removed = await purgeSessionData().run(NOW);

    expect(removed).toEqual({ entries: 1, attachments: 2 }); // what the tests above left has gone already
    expect(await t.context.models.StoredFile.count({ where: { id: expired.files } })).toBe(0);
    expect(await stored(expired.keys)).toBe(0);
    expect(await entriesOf(expired.id)).toBe(0);
    expect(await t.context.models.StoredFile.count({ where: { id: kept.files } })).toBe(2);
    expect(await stored(kept.keys)).toBe(2);
    expect(await entriesOf(kept.id)).toBe(1);
  });

  it('leaves an object it could not delete to the orphan sweep: the rows (and the file keys in them) go with the entries all the same', async () => {
    const clinic = await createPractice(t);
    const expired = await sessionWithAttachments(clinic, 400);
    const failing = vi.spyOn(t.modules.files.storage, 'delete').mockRejectedValueOnce(Object.assign(new Error('bucket away'), { name: 'StorageUnavailable' }));

    try {
      await purgeSessionData().run(NOW);
    } finally {
      failing.mockRestore();
    }

    expect(await t.context.models.StoredFile.count({ where: { id: expired.files } })).toBe(0);
    expect(await entriesOf(expired.id)).toBe(0);
    expect(await stored(expired.keys)).toBe(2);
    // The sweep takes objects a day old; the storage dated these when they were written, a moment ago.
    await t.modules.files.retentionJobs['purge-orphaned-files'].run(new Date(Date.now() + 2 * DAY));
    expect(await stored(expired.keys)).toBe(0);
  });

  it('counts, by organization, what the run then deletes, and counting deletes nothing', async () => {
    const clinic = await createPractice(t);
    await requestAs(t, clinic.owner).patch(`/api/organizations/${clinic.id}`, { sessionDataRetentionDays: 730 }).expect(200);
    const expired = [await sessionWithAttachments(clinic, 800), await sessionWithAttachments(clinic, 900)];
    await sessionWithAttachments(clinic, 400);

    const forecast = await purgeSessionData().count(NOW);

    expect(forecast.byOrganization?.find((group) => group.organizationId === clinic.id)).toEqual({
      organizationId: clinic.id, retentionDays: 730, sessions: 2, removes: { entries: 2, attachments: 4 },
    });
    const all = forecast.byOrganization!.reduce((sum, group) => ({ entries: sum.entries + group.removes.entries!, attachments: sum.attachments + group.removes.attachments! }), { entries: 0, attachments: 0 });
    expect(all).toEqual(forecast.removes);
    expect(await t.context.models.StoredFile.count({ where: { sessionId: expired.map((session) => session.id) } })).toBe(4);
    expect(await stored(expired.flatMap((session) => session.keys))).toBe(4);

    expect(await purgeSessionData().run(NOW)).toEqual(forecast.removes);
    expect(await purgeSessionData().count(NOW)).toEqual({ removes: { entries: 0, attachments: 0 }, byOrganization: [] });
  });
});
