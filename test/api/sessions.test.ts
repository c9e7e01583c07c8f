import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { factories } from '../helpers/factories.js';
import { createUser, userWithToken } from '../helpers/users.js';

const HOUR = 3_600_000;

type Caller = Awaited<ReturnType<typeof userWithToken>>;

let t: TestApp;
let make: ReturnType<typeof factories>;
let client: Caller;
let counselor: Caller;
let admin: Caller;
/** The practice where `counselor` has `client` in their care. */
let practice: string;

beforeAll(async () => {
  t = await createTestApp({ lenientLimits: true });
  make = factories(t);
  client = await userWithToken(t);
  counselor = await userWithToken(t, { role: 'counselor' });
  admin = await userWithToken(t, { role: 'admin' });
  practice = (await make.organization()).id;
  await make.member(practice, client.user.id, 'client');
  await make.member(practice, counselor.user.id, 'counselor');
  await make.care(practice, counselor.user.id, client.user.id);
});

/** A counselor and clients in their care, in the practice. */
async function inCare(counselorId: string, ...clientIds: string[]) {
  for (const clientId of clientIds) {
    await make.member(practice, clientId, 'client');
    await make.care(practice, counselorId, clientId);
  }
}
afterAll(() => t.close());

const post = (who: Caller, path: string, body: object = {}) => request(t.app).post(path).set('Authorization', who.auth).send(body);
const get = (who: Caller, path: string, query: Record<string, string | number> = {}) => request(t.app).get(path).set('Authorization', who.auth).query(query);
const start = (who: Caller, body: object = {}, key?: string) => {
  const req = request(t.app).post('/api/sessions').set('Authorization', who.auth);
  return (key === undefined ? req : req.set('Idempotency-Key', key)).send(body);
};

const countSessions = (where: Record<string, unknown>) => t.context.models.CounselingSession.count({ where });

describe('POST /api/sessions', () => {
  it('starts a session owned by the caller with 201', async () => {
    const res = await start(client, { counselorId: counselor.user.id, topic: '  Sleep  ' }).expect(201);

    expect(res.body).toMatchObject({
      id: expect.any(String),
      userId: client.user.id,
      counselorId: counselor.user.id,
      organizationId: practice,
      topic: 'Sleep',
      status: 'active',
      pausedAt: null,
      endedAt: null,
      durationSeconds: 0,
    });
    const stored = await t.context.models.CounselingSession.findByPk(res.body.id);
    expect(stored).toMatchObject({ userId: client.user.id, counselorId: counselor.user.id, organizationId: practice, status: 'active' });
  });

  it('makes a counselor who starts a session its client', async () => {
    const res = await start(counselor, { topic: 'supervision' }).expect(201);

    expect(res.body).toMatchObject({ userId: counselor.user.id, counselorId: null });
  });

  it.each([
    ['a plain user', () => client.user.id],
    ['an unknown id', () => randomUUID()],
    ['an admin', () => admin.user.id],
  ])('answers 422 COUNSELOR_NOT_FOUND when counselorId names %s, and stores nothing', async (_what, counselorId) => {
    const topic = `no-counselor-${randomUUID()}`;

    const res = await start(client, { counselorId: counselorId(), topic }).expect(422);

    expect(res.body.code).toBe('COUNSELOR_NOT_FOUND');
    expect(await countSessions({ topic })).toBe(0);
  });

  it('answers 422 COUNSELOR_NOT_FOUND for a disabled counselor (in care) and for the caller themself', async () => {
    const disabled = await createUser(t, { role: 'counselor' });
    await make.member(practice, disabled.id, 'counselor');
    await make.care(practice, disabled.id, client.user.id);
    await t.context.models.User.update({ disabledAt: new Date() }, { where: { id: disabled.id } });

    expect((await start(client, { counselorId: disabled.id }).expect(422)).body.code).toBe('COUNSELOR_NOT_FOUND');
    expect((await start(counselor, { counselorId: counselor.user.id }).expect(422)).body.code).toBe('COUNSELOR_NOT_FOUND');
  });
});

describe('POST /api/sessions with Idempotency-Key', () => {
  it('replays the first result for the same key and body, with Idempotent-Replayed: true and no second row', async () => {
    const key = `retry-${randomUUID()}`;
    const topic = `idem-${key}`;

    const first = await start(client, { topic }, key).expect(201);
    const second = await start(client, { topic }, key).expect(201);

    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(await countSessions({ topic })).toBe(1);
  });

  it('refuses the same key with a different body: 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const key = `reuse-${randomUUID()}`;
    await start(client, { topic: `first-${key}` }, key).expect(201);

    const res = await start(client, { topic: `second-${key}` }, key).expect(422);

    expect(res.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await countSessions({ topic: `second-${key}` })).toBe(0);
  });

  it('keeps keys per user: the same key from another user starts their own session', async () => {
    const key = `shared-${randomUUID()}`;
    const other = await userWithToken(t);

    const mine = await start(client, { topic: key }, key).expect(201);
    const theirs = await start(other, { topic: key }, key).expect(201);

    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(theirs.body.userId).toBe(other.user.id);
    expect(await countSessions({ topic: key })).toBe(2);
  });

  it.each([['with spaces'], ['semi;colon'], ['x'.repeat(256)], ['']])('rejects the malformed key %j with 400 and starts nothing', async (key) => {
    const topic = `bad-key-${randomUUID()}`;

    const res = await start(client, { topic }, key).expect(400);

    expect(res.body.code).toBe('INVALID_IDEMPOTENCY_KEY');
    expect(await countSessions({ topic })).toBe(0);
  });

  it('starts exactly one session for 10 concurrent requests with the same key, and all get its id', async () => {
    const key = `burst-${randomUUID()}`;

    const responses = await Promise.all(Array.from({ length: 10 }, () => start(client, { topic: key }, key)));

    expect(responses.map((res) => res.status)).toEqual(Array(10).fill(201));
    expect(new Set(responses.map((res) => res.body.id)).size).toBe(1);
    expect(responses.filter((res) => res.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(await countSessions({ topic: key })).toBe(1);
    expect(await t.context.models.IdempotencyKey.count({ where: { userId: client.user.id, key } })).toBe(1);
  });
});

describe('GET /api/sessions', () => {
  it('lists own sessions to a client, own and those of clients in their care to a counselor, all to an admin', async () => {
    const [u1, u2, c1] = await Promise.all([userWithToken(t), userWithToken(t), userWithToken(t, { role: 'counselor' })]);
    await make.member(practice, c1.user.id, 'counselor');
    await inCare(c1.user.id, u1.user.id, u2.user.id);
    const at = (day: number) => new Date(Date.UTC(2001, 0, day));
    const a = await make.session({ userId: u1.user.id, counselorId: c1.user.id, organizationId: practice, startedAt: at(1) });
    const b = await make.session({ userId: u1.user.id, startedAt: at(2) });
    const c = await make.session({ userId: u2.user.id, counselorId: c1.user.id, organizationId: practice, startedAt: at(3) });
    const d = await make.session({ userId: u2.user.id, startedAt: at(4) });
    const e = await make.session({ userId: c1.user.id, startedAt: at(5) });
    const ids = async (who: Caller, query: Record<string, string> = {}) => (await get(who, '/api/sessions', query).expect(200)).body.items.map((s: { id: string }) => s.id);

    expect(await ids(u1)).toEqual([b.id, a.id]);
    expect(await ids(u2)).toEqual([d.id, c.id]);
    expect(await ids(c1)).toEqual([e.id, c.id, a.id]);
    expect(await ids(admin, { from: at(1).toISOString(), to: at(5).toISOString() })).toEqual([e.id, d.id, c.id, b.id, a.id]);
  });

  it('filters by status, from and to (both inclusive)', async () => {
    const who = await userWithToken(t);
    const day = (month: number, date: number) => new Date(Date.UTC(2020, month - 1, date));
    const s1 = await make.session({ userId: who.user.id, status: 'active', startedAt: day(1, 10) });
    const s2 = await make.session({ userId: who.user.id, status: 'ended', startedAt: day(1, 20) });
    const s3 = await make.session({ userId: who.user.id, status: 'paused', startedAt: day(2, 5) });
    const s4 = await make.session({ userId: who.user.id, status: 'ended', startedAt: day(3, 1) });
    const ids = async (query: Record<string, string>) => (await get(who, '/api/sessions', query).expect(200)).body.items.map((s: { id: string }) => s.id);

    expect(await ids({ status: 'ended' })).toEqual([s4.id, s2.id]);
    expect(await ids({ status: 'active' })).toEqual([s1.id]);
    expect(await ids({ from: day(1, 20).toISOString(), to: day(2, 5).toISOString() })).toEqual([s3.id, s2.id]);
    expect(await ids({ status: 'ended', from: day(2, 1).toISOString() })).toEqual([s4.id]);
    expect(await ids({ to: '2020-01-10T00:00:00+00:00' })).toEqual([s1.id]);
  });

  it('pages through 25 sessions 10 at a time without duplicates or gaps, ties broken by id', async () => {
    const who = await userWithToken(t);
    const base = Date.UTC(2019, 5, 1);
    // Groups of three share a start time, so the id must break ties.
    const rows = await Promise.all(Array.from({ length: 25 }, (_, i) => make.session({ userId: who.user.id, startedAt: new Date(base - Math.floor(i / 3) * 60_000) })));
    const expected = rows
      .map((row) => ({ id: row.id, at: row.startedAt.getTime() }))
      .sort((x, y) => y.at - x.at || (x.id < y.id ? 1 : -1))
      .map((row) => row.id);

    const pages: string[][] = [];
    let cursor: string | null | undefined;
    do {
      const res = await get(who, '/api/sessions', { limit: 10, ...(cursor && { cursor }) }).expect(200);
      pages.push(res.body.items.map((s: { id: string }) => s.id));
      cursor = res.body.nextCursor;
    } while (cursor && pages.length < 10);

    expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
    expect(pages.flat()).toEqual(expected);
    expect(cursor).toBeNull();
  });

  it.each([
    ['garbage', 'not-a-cursor'],
    ['JSON of the wrong shape', Buffer.from(JSON.stringify({ at: 1 })).toString('base64url')],
    ['a bad timestamp', Buffer.from(JSON.stringify(['yesterday', randomUUID()])).toString('base64url')],
    ['a bad id', Buffer.from(JSON.stringify([new Date().toISOString(), 'not-a-uuid'])).toString('base64url')],
  ])('answers 400 INVALID_CURSOR for %s', async (_what, cursor) => {
    const res = await get(client, '/api/sessions', { cursor }).expect(400);

    expect(res.body.code).toBe('INVALID_CURSOR');
  });

  it.each([['0'], ['101'], ['abc'], ['2.5'], ['-1']])('answers 400 for limit=%s', async (limit) => {
    const res = await get(client, '/api/sessions', { limit }).expect(400);

    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [expect.objectContaining({ path: 'query.limit' })] });
  });

  it('answers 400 when from is after to, or status is unknown', async () => {
    await get(client, '/api/sessions', { from: '2020-02-01T00:00:00Z', to: '2020-01-01T00:00:00Z' }).expect(400);
    await get(client, '/api/sessions', { status: 'archived' }).expect(400);
  });
});

describe('POST /api/sessions/:id/pause, /resume, /end', () => {
  const act = (who: Caller, id: string, action: string) => post(who, `/api/sessions/${id}/${action}`);

  it('walks active → paused → active → ended', async () => {
    const { body } = await start(client, { counselorId: counselor.user.id }).expect(201);

    const paused = await act(client, body.id, 'pause').expect(200);
    expect(paused.body).toMatchObject({ status: 'paused', pausedAt: expect.any(String), endedAt: null });
    const resumed = await act(counselor, body.id, 'resume').expect(200);
    expect(resumed.body).toMatchObject({ status: 'active', pausedAt: null });
    const ended = await act(client, body.id, 'end').expect(200);
    expect(ended.body).toMatchObject({ status: 'ended', endedAt: expect.any(String) });

    expect((await t.context.models.CounselingSession.findByPk(body.id))!.status).toBe('ended');
  });

  it('ends a paused session', async () => {
    const session = await make.session({ userId: client.user.id, status: 'paused' });

    expect((await act(client, session.id, 'end').expect(200)).body.status).toBe('ended');
  });

  it.each([
    ['pause', 'paused'],
    ['resume', 'active'],
    ['pause', 'ended'],
    ['resume', 'ended'],
    ['end', 'ended'],
  ] as const)('refuses to %s a %s session with 409 INVALID_TRANSITION and changes nothing', async (action, status) => {
    const session = await make.session({ userId: client.user.id, status });

    const res = await act(client, session.id, action).expect(409);

    expect(res.body.code).toBe('INVALID_TRANSITION');
    const stored = await t.context.models.CounselingSession.findByPk(session.id);
    expect(stored!.status).toBe(status);
    expect(stored!.updatedAt.getTime()).toBe(session.updatedAt.getTime());
  });

  it('counts active time only: paused time is not duration', async () => {
    const { body } = await start(client).expect(201);
    const { CounselingSession } = t.context.models;
    const now = Date.now();
    // Started two hours ago and active since.
    await CounselingSession.update({ startedAt: new Date(now - 2 * HOUR), lastResumedAt: new Date(now - 2 * HOUR) }, { where: { id: body.id } });

    const paused = (await act(client, body.id, 'pause').expect(200)).body;
    expect(paused.durationSeconds).toBeGreaterThanOrEqual(7200);
    expect(paused.durationSeconds).toBeLessThan(7200 + 60);

    // ...the pause began an hour ago (the history moves one hour back); paused time adds nothing.
    await CounselingSession.update({ startedAt: new Date(now - 3 * HOUR), pausedAt: new Date(now - HOUR) }, { where: { id: body.id } });
    expect((await get(client, `/api/sessions/${body.id}`).expect(200)).body.durationSeconds).toBe(paused.durationSeconds);

    // ...resumed half an hour ago.
    await act(client, body.id, 'resume').expect(200);
    await CounselingSession.update({ lastResumedAt: new Date(Date.now() - HOUR / 2) }, { where: { id: body.id } });
    const ended = (await act(client, body.id, 'end').expect(200)).body;

    expect(ended.durationSeconds).toBeGreaterThanOrEqual(paused.durationSeconds + 1800);
    expect(ended.durationSeconds).toBeLessThan(paused.durationSeconds + 1800 + 60);
    expect((await CounselingSession.findByPk(body.id))!.activeSeconds).toBe(ended.durationSeconds);
    // Three hours since the start, half an hour of it paused.
    expect(3 * 3600 - ended.durationSeconds).toBeGreaterThan(1800 - 60);
  });
});

describe('POST /api/sessions/:id/entries', () => {
  const addEntry = (who: Caller, id: string, body: object) => post(who, `/api/sessions/${id}/entries`, body);

  it('appends an entry of each kind with 201', async () => {
    const session = await make.session({ userId: client.user.id, counselorId: counselor.user.id, organizationId: practice, startedAt: new Date(Date.now() - HOUR) });
    const at = new Date(Date.now() - 10 * 60_000).toISOString();

    const emotion = await addEntry(client, session.id, { kind: 'emotion', emotion: 'hope', valence: -1, arousal: 1, at }).expect(201);
    const note = await addEntry(client, session.id, { kind: 'note', text: '  remember this  ' }).expect(201);
    const transcript = await addEntry(counselor, session.id, { kind: 'transcript', text: 'How was the week?', speaker: 'counselor' }).expect(201);

    expect(emotion.body).toEqual({ id: expect.any(String), kind: 'emotion', authorId: client.user.id, authorRole: 'client', emotion: 'hope', valence: -1, arousal: 1, at });
    expect(note.body).toMatchObject({ kind: 'note', text: 'remember this', authorRole: 'client' });
    expect(transcript.body).toMatchObject({ kind: 'transcript', text: 'How was the week?', speaker: 'counselor', authorId: counselor.user.id, authorRole: 'counselor' });
    expect(await t.context.models.SessionEntry.count({ where: { sessionId: session.id } })).toBe(3);
    expect((await t.context.models.CounselingSession.findByPk(session.id))!.entryCount).toBe(3);
  });

  it('accepts text of exactly 10,000 characters', async () => {
    const session = await make.session({ userId: client.user.id });

    const res = await addEntry(client, session.id, { kind: 'note', text: 'x'.repeat(10_000) }).expect(201);

    expect(res.body.text).toHaveLength(10_000);
  });

  it.each([
    ['an unknown kind', { kind: 'mood', text: 'hi' }],
    ['no kind', { text: 'hi' }],
    ['an extra key', { kind: 'note', text: 'hi', speaker: 'client' }],
    ['valence 1.5', { kind: 'emotion', emotion: 'joy', valence: 1.5, arousal: 0.5 }],
    ['arousal -0.1', { kind: 'emotion', emotion: 'joy', valence: 0.5, arousal: -0.1 }],
    ['valence as a string', { kind: 'emotion', emotion: 'joy', valence: '0.5', arousal: 0.5 }],
    ['an emotion not in the list', { kind: 'emotion', emotion: 'elated', valence: 0.5, arousal: 0.5 }],
    ['text over 10,000 characters', { kind: 'note', text: 'x'.repeat(10_001) }],
    ['blank text', { kind: 'note', text: '   ' }],
    ['an unknown speaker', { kind: 'transcript', text: 'hi', speaker: 'narrator' }],
    ['at without an offset', { kind: 'note', text: 'hi', at: '2030-01-01T00:00:00' }],
    ['at in the future', { kind: 'note', text: 'hi', at: new Date(Date.now() + HOUR).toISOString() }],
    ['at before the session started', { kind: 'note', text: 'hi', at: new Date(Date.now() - 48 * HOUR).toISOString() }],
  ])('rejects %s with 400 and stores nothing', async (_what, body) => {
    const session = await make.session({ userId: client.user.id });

    const res = await addEntry(client, session.id, body).expect(400);

    expect(res.body.code).toMatch(/^(VALIDATION_FAILED|ENTRY_TIME_OUT_OF_RANGE)$/);
    expect(await t.context.models.SessionEntry.count({ where: { sessionId: session.id } })).toBe(0);
    expect((await t.context.models.CounselingSession.findByPk(session.id))!.entryCount).toBe(0);
  });

  it('refuses entries once the session ended: 409 SESSION_ENDED', async () => {
    const session = await make.session({ userId: client.user.id, counselorId: counselor.user.id, organizationId: practice, status: 'ended' });

    for (const who of [client, counselor]) {
      const res = await addEntry(who, session.id, { kind: 'note', text: 'too late' }).expect(409);
      expect(res.body.code).toBe('SESSION_ENDED');
    }
    expect(await t.context.models.SessionEntry.count({ where: { sessionId: session.id } })).toBe(0);
  });

  it('hides a counselor’s note from the client, in the timeline and the report, and shows it to the counselor; a platform admin gets the counts only', async () => {
    const session = await make.session({ userId: client.user.id, counselorId: counselor.user.id, organizationId: practice, startedAt: new Date(Date.now() - HOUR) });
    const clientNote = (await addEntry(client, session.id, { kind: 'note', text: 'my note' }).expect(201)).body;
    const privateNote = (await addEntry(counselor, session.id, { kind: 'note', text: 'clinical impression' }).expect(201)).body;
    const transcript = (await addEntry(counselor, session.id, { kind: 'transcript', text: 'said aloud', speaker: 'counselor' }).expect(201)).body;
    const entriesSeenBy = async (who: Caller) => (await get(who, `/api/sessions/${session.id}/entries`).expect(200)).body.items.map((e: { id: string }) => e.id).sort();
    const notesInReportOf = async (who: Caller) => (await get(who, `/api/sessions/${session.id}/report`).expect(200)).body.entries;

    const everything = [clientNote.id, privateNote.id, transcript.id].sort();
    expect(await entriesSeenBy(client)).toEqual([clientNote.id, transcript.id].sort());
    expect(await entriesSeenBy(counselor)).toEqual(everything);
    // Need-to-know: no timeline for a platform admin without break-glass (test/api/need-to-know.test.ts).
    expect((await get(admin, `/api/sessions/${session.id}/entries`).expect(403)).body.code).toBe('CONTENT_RESTRICTED');
    expect(await notesInReportOf(client)).toMatchObject({ note: 1, transcript: 1, total: 2 });
    expect(await notesInReportOf(counselor)).toMatchObject({ note: 2, transcript: 1, total: 3 });
    expect(await notesInReportOf(admin)).toMatchObject({ note: 2, transcript: 1, total: 3 });
  });

  it('pages the timeline in time order', async () => {
    const session = await make.session({ userId: client.user.id, startedAt: new Date(Date.now() - 2 * HOUR) });
    const base = session.startedAt.getTime();
    // Written newest first: the timeline orders by `at`, not by insertion.
    const written: string[] = [];
    for (let i = 0; i < 7; i += 1) {
      const at = new Date(base + (6 - i) * 60_000).toISOString();
      written.push((await addEntry(client, session.id, { kind: 'note', text: `n${i}`, at }).expect(201)).body.id);
    }
    const expected = [...written].reverse();

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page += 1) {
      const res: request.Response = await get(client, `/api/sessions/${session.id}/entries`, cursor ? { limit: 3, cursor } : { limit: 3 }).expect(200);
      seen.push(...res.body.items.map((e: { id: string }) => e.id));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }

    expect(seen).toEqual(expected);
    expect(cursor).toBeNull();
    await get(client, `/api/sessions/${session.id}/entries`, { cursor: 'nope' }).expect(400);
  });
});

describe('entries per session are bounded (MAX_ENTRIES_PER_SESSION=3)', () => {
  let small: TestApp;
  let who: Caller;
  beforeAll(async () => {
    small = await createTestApp({ lenientLimits: true, env: { MAX_ENTRIES_PER_SESSION: '3' } });
    who = await userWithToken(small);
  });
  afterAll(() => small.close());

  const addNote = (id: string) => request(small.app).post(`/api/sessions/${id}/entries`).set('Authorization', who.auth).send({ kind: 'note', text: 'n' });

  it('answers the fourth entry with 409 ENTRY_LIMIT_REACHED', async () => {
    const session = await factories(small).session({ userId: who.user.id });
    for (let i = 0; i < 3; i += 1) await addNote(session.id).expect(201);

    const res = await addNote(session.id).expect(409);

    expect(res.body.code).toBe('ENTRY_LIMIT_REACHED');
    expect(await small.context.models.SessionEntry.count({ where: { sessionId: session.id } })).toBe(3);
  });

  it('admits exactly three of six concurrent entries', async () => {
    const session = await factories(small).session({ userId: who.user.id });

    const statuses = (await Promise.all(Array.from({ length: 6 }, () => addNote(session.id)))).map((res) => res.status);

    expect(statuses.filter((status) => status === 201)).toHaveLength(3);
    expect(statuses.filter((status) => status === 409)).toHaveLength(3);
    expect(await small.context.models.SessionEntry.count({ where: { sessionId: session.id } })).toBe(3);
  });
});

describe('POST /api/sessions/:id/feedback', () => {
  const feedback = (who: Caller, id: string, body: object) => post(who, `/api/sessions/${id}/feedback`, body);

  it('is refused before the session ends: 409 SESSION_NOT_ENDED', async () => {
    for (const status of ['active', 'paused'] as const) {
      const session = await make.session({ userId: client.user.id, status });
      const res = await feedback(client, session.id, { rating: 5 }).expect(409);
      expect(res.body.code).toBe('SESSION_NOT_ENDED');
    }
  });

  it('is taken once after the end (201), then 409 FEEDBACK_EXISTS', async () => {
    const session = await make.session({ userId: client.user.id, status: 'ended' });

    const first = await feedback(client, session.id, { rating: 4, comment: 'Helpful.' }).expect(201);
    const again = await feedback(client, session.id, { rating: 1 }).expect(409);

    expect(first.body).toMatchObject({ rating: 4, comment: 'Helpful.', createdAt: expect.any(String) });
    expect(again.body.code).toBe('FEEDBACK_EXISTS');
    const stored = await t.context.models.SessionFeedback.findAll({ where: { sessionId: session.id } });
    expect(stored.map((row) => row.rating)).toEqual([4]);
    expect((await get(client, `/api/sessions/${session.id}/report`).expect(200)).body.feedback).toMatchObject({ rating: 4, comment: 'Helpful.' });
  });

  it.each([[0], [6], [2.5], ['5'], [null]])('rejects rating %j with 400', async (rating) => {
    const session = await make.session({ userId: client.user.id, status: 'ended' });

    await feedback(client, session.id, { rating }).expect(400);

    expect(await t.context.models.SessionFeedback.count({ where: { sessionId: session.id } })).toBe(0);
  });

  it('rejects a comment over 2,000 characters with 400', async () => {
    const session = await make.session({ userId: client.user.id, status: 'ended' });

    await feedback(client, session.id, { rating: 3, comment: 'x'.repeat(2_001) }).expect(400);
  });
});

describe('GET /api/sessions/:id/report', () => {
  it('reports counts, the emotion distribution, means and the direction of the trends', async () => {
    const session = await make.session({ userId: client.user.id, counselorId: counselor.user.id, startedAt: new Date(Date.now() - 5 * HOUR) });
    const at = (hours: number) => new Date(session.startedAt.getTime() + hours * HOUR);
    // Valence rises 0.4 an hour, arousal falls 0.2 an hour.
    const readings = [
      { emotion: 'sadness', valence: -0.4, arousal: 0.9 },
      { emotion: 'sadness', valence: 0, arousal: 0.7 },
      { emotion: 'calm', valence: 0.4, arousal: 0.5 },
      { emotion: 'joy', valence: 0.8, arousal: 0.3 },
    ];
    for (const [hour, reading] of readings.entries()) await make.entry(session, { kind: 'emotion', at: at(hour), ...reading });
    await make.entry(session, { kind: 'note', at: at(1), text: 'mine' });
    await make.entry(session, { kind: 'note', at: at(2), text: 'private', authorRole: 'counselor', authorId: counselor.user.id });
    await make.entry(session, { kind: 'transcript', at: at(3), text: 'hello', speaker: 'client' });

    const report = (await get(client, `/api/sessions/${session.id}/report`).expect(200)).body;

    expect(report.session.id).toBe(session.id);
    expect(report.entries).toEqual({ emotion: 4, note: 1, transcript: 1, total: 6 });
    expect(report.emotions).toEqual([
      { emotion: 'sadness', count: 2 },
      { emotion: 'calm', count: 1 },
      { emotion: 'joy', count: 1 },
    ]);
    expect(report.valence.mean).toBeCloseTo(0.2, 3);
    expect(report.valence.slopePerHour).toBeCloseTo(0.4, 3);
    expect(report.valence.direction).toBe('rising');
    expect(report.arousal.mean).toBeCloseTo(0.6, 3);
    expect(report.arousal.slopePerHour).toBeCloseTo(-0.2, 3);
    expect(report.arousal.direction).toBe('falling');
    expect(report.durationSeconds).toBeGreaterThanOrEqual(5 * 3600);
    expect(report.feedback).toBeNull();
  });

  it('reports an empty session with zero counts and no trend', async () => {
    const session = await make.session({ userId: client.user.id });

    const report = (await get(client, `/api/sessions/${session.id}/report`).expect(200)).body;

    expect(report.entries).toEqual({ emotion: 0, note: 0, transcript: 0, total: 0 });
    expect(report.emotions).toEqual([]);
    expect(report.valence).toEqual({ mean: null, slopePerHour: null, direction: null });
  });

  it('calls a flat series steady', async () => {
    const session = await make.session({ userId: client.user.id, startedAt: new Date(Date.now() - 3 * HOUR) });
    for (let hour = 0; hour < 3; hour += 1) {
      await make.entry(session, { kind: 'emotion', emotion: 'neutral', valence: 0.1, arousal: 0.5, at: new Date(session.startedAt.getTime() + hour * HOUR) });
    }

    const report = (await get(client, `/api/sessions/${session.id}/report`).expect(200)).body;

    expect(report.valence).toMatchObject({ direction: 'steady' });
    expect(report.valence.mean).toBeCloseTo(0.1, 3);
  });
});

describe('DELETE /api/sessions/:id', () => {
  it('deletes the session with its timeline and feedback', async () => {
    const session = await make.session({ userId: client.user.id, status: 'ended', startedAt: new Date(Date.now() - HOUR) });
    await make.entry(session, { kind: 'note', text: 'gone', at: new Date(session.startedAt.getTime() + 1000) });
    await t.context.models.SessionFeedback.create({ sessionId: session.id, userId: client.user.id, rating: 5, comment: null });

    await request(t.app).delete(`/api/sessions/${session.id}`).set('Authorization', client.auth).expect(204);

    await get(client, `/api/sessions/${session.id}`).expect(404);
    expect(await t.context.models.SessionEntry.count({ where: { sessionId: session.id } })).toBe(0);
    expect(await t.context.models.SessionFeedback.count({ where: { sessionId: session.id } })).toBe(0);
  });
});
