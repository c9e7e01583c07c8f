import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retentionJobs } from '../../src/jobs/retention-jobs.js';
import type { RetentionReport } from '../../src/jobs/retention-report.js';
import { runRetentionJobs } from '../../src/jobs/scheduler.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { runCli } from '../helpers/cli.js';
import { factories } from '../helpers/factories.js';
import { attach, PDF } from '../helpers/files.js';
import { createPractice, requestAs, type Practice } from '../helpers/practice.js';

/**
 * `npm run retention:report` (src/cli/retention-report.ts), run as its own process on the
 * database and files of a real app: what it prints is what the jobs then delete at the same
 * time, it prints counts and organization ids only, and it deletes nothing.
 */

const DAY = 86_400_000;
const AT = new Date('2031-01-01T00:00:00Z');
const daysBefore = (days: number) => new Date(AT.getTime() - days * DAY);
const PRIVATE = { organization: 'Jane Roe Counseling', topic: 'Grief after the accident', text: 'my sister Alice said', filename: 'diagnosis-alice-roe.pdf' };

let t: TestApp;
let practice: Practice;
const sessions: Record<'expiredInNone' | 'expiredInPractice' | 'keptInPractice', string> = { expiredInNone: '', expiredInPractice: '', keptInPractice: '' };

const report = (...args: string[]) => runCli('src/cli/retention-report.ts', { env: t.env, args: ['--at', AT.toISOString(), ...args] });

/** A session of the practice's client with one entry and one attachment, ended `days` before AT. */
async function endedSession(organizationId: string | null, days: number) {
  const make = factories(t);
  const session = await make.session({ userId: practice.client.user.id, counselorId: practice.counselor.user.id, organizationId: practice.id, topic: PRIVATE.topic });
  await make.entry(session, { kind: 'note', text: PRIVATE.text, at: session.startedAt });
  await attach(t, practice.client.auth, session.id, { data: PDF, filename: PRIVATE.filename }).expect(201);
  await t.context.models.CounselingSession.update({ status: 'ended', endedAt: daysBefore(days), organizationId }, { where: { id: session.id } });
  return session.id;
}

/** How many rows every table holds, and how many objects the file store. */
async function everything() {
  const rows = Object.fromEntries(await Promise.all(Object.entries(t.context.models).map(async ([name, model]) => [name, await (model as { count(): Promise<number> }).count()] as const)));
  let objects = 0;
  for (const prefix of ['avatars/', 'logos/', 'attachments/']) for await (const _ of t.modules.files.storage.list(prefix)) objects += 1;
  return { rows, objects };
}

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
  practice = await createPractice(t);
  await t.context.models.Organization.update({ name: PRIVATE.organization }, { where: { id: practice.id } });
  await requestAs(t, practice.owner).patch(`/api/organizations/${practice.id}`, { sessionDataRetentionDays: 2555 }).expect(200);
  sessions.expiredInNone = await endedSession(null, 400);
  sessions.expiredInPractice = await endedSession(practice.id, 2600);
  sessions.keptInPractice = await endedSession(practice.id, 400);
  await t.context.models.OneTimeToken.create({ userId: practice.client.user.id, purpose: 'reset_password', tokenHash: randomBytes(32).toString('hex'), expiresAt: daysBefore(1), usedAt: null });
  // Every event of the requests above written and sealed: nothing changes between the report and the run.
  await t.context.events.flush();
  await t.context.auditChain.sealPending();
}, 60_000);
afterAll(() => t.close());

describe('npm run retention:report', () => {
  it('prints, for people, counts by job and kind and the organizations whose sessions lose data; no name, address, topic or text; exit 0', { timeout: 90_000 }, async () => {
    const cli = await report();

    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain(`what a run at ${AT.toISOString()} would delete`);
    expect(cli.stdout).toMatch(/purge-session-data\s+entries\s+2\n\s+attachments\s+2\n/);
    expect(cli.stdout).toContain(`organization ${practice.id}, kept 2555 days: sessions 1, entries 1, attachments 1`);
    expect(cli.stdout).toContain('sessions in no organization, kept 365 days: sessions 1, entries 1, attachments 1');
    expect(cli.stdout).toMatch(/purge-one-time-tokens\s+one time tokens\s+1\n/);
    for (const secret of [...Object.values(PRIVATE), practice.client.user.email, practice.owner.user.email, '127.0.0.1']) expect(cli.stdout).not.toContain(secret);
  });

  it('prints as JSON what a run at the same time then deletes, job by job, and deletes nothing itself', { timeout: 90_000 }, async () => {
    const before = await everything();

    const cli = await report('--json');

    expect(cli.code).toBe(0);
    const printed = JSON.parse(cli.stdout) as RetentionReport;
    expect(printed).toMatchObject({ at: AT.toISOString(), failed: 0 });
    expect(printed.jobs['purge-session-data']).toEqual({
      total: 4,
      removes: { entries: 2, attachments: 2 },
      byOrganization: expect.arrayContaining([
        { organizationId: null, retentionDays: 365, sessions: 1, removes: { entries: 1, attachments: 1 } },
        { organizationId: practice.id, retentionDays: 2555, sessions: 1, removes: { entries: 1, attachments: 1 } },
      ]),
    });
    expect(printed.jobs['purge-security-events']).toMatchObject({ total: expect.any(Number) });
    expect(await everything()).toEqual(before);

    const { models, logger, locks } = t.infra;
    const removed = await runRetentionJobs({ jobs: retentionJobs(t.infra, t.modules), locks, logger, clock: () => AT });

    expect(Object.keys(removed).sort()).toEqual(Object.keys(printed.jobs).sort());
    for (const [name, forecast] of Object.entries(printed.jobs)) expect([name, removed[name]]).toEqual([name, 'total' in forecast ? forecast.total : 'no count']);
    expect(printed.total).toBeGreaterThan(4);
    expect(await models.SessionEntry.count({ where: { sessionId: [sessions.expiredInNone, sessions.expiredInPractice] } })).toBe(0);
    expect(await models.StoredFile.count({ where: { sessionId: [sessions.expiredInNone, sessions.expiredInPractice] } })).toBe(0);
    expect(await models.SessionEntry.count({ where: { sessionId: sessions.keptInPractice } })).toBe(1);
    expect((await everything()).objects).toBe(before.objects - 2);
  });

  it('refuses a time that is not one with exit 2 and the usage', { timeout: 60_000 }, async () => {
    const cli = await runCli('src/cli/retention-report.ts', { env: t.env, args: ['--at', 'next tuesday'] });

    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('--at must be a time');
    expect(cli.stderr).toContain('usage: npm run retention:report');
  });
});
