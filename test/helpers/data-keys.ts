import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { QueryTypes, type Sequelize } from 'sequelize';
import request from 'supertest';
import { expect } from 'vitest';
import type { TestApp } from './app.js';
import { runCli } from './cli.js';

/** The app in-process, or the base URL of a server process. */
type Target = Express | string;

/** Text nobody could guess, so finding it anywhere means it leaked. */
export const secretText = (label: string) => `${label} ${randomUUID()}`;

export interface Counseled {
  /** An open session with a client note, a counselor note, a transcript line and an emotion. */
  openId: string;
  /** An ended session with a note and the client's feedback comment. */
  endedId: string;
  texts: string[];
  comment: string;
}

export async function bearer(app: Target, user: { email: string; password: string }): Promise<string> {
  const res = await request(app).post('/api/auth/login').send({ email: user.email, password: user.password, transport: 'body' }).expect(200);
  return `Bearer ${res.body.accessToken as string}`;
}

/** Counseling content through the HTTP API: what a client and their counselor write. */
export async function counsel(app: Target, client: string, counselor: string, counselorId: string, label: string): Promise<Counseled> {
  const openId = (await request(app).post('/api/sessions').set('Authorization', client).send({ counselorId }).expect(201)).body.id as string;
  const texts = [secretText(`${label} client note`), secretText(`${label} counselor note`), secretText(`${label} transcript`)];
  const add = (auth: string, body: object) => request(app).post(`/api/sessions/${openId}/entries`).set('Authorization', auth).send(body).expect(201);
  await add(client, { kind: 'note', text: texts[0] });
  await add(counselor, { kind: 'note', text: texts[1] });
  await add(client, { kind: 'transcript', text: texts[2], speaker: 'client' });
  await add(client, { kind: 'emotion', emotion: 'anxiety', valence: -0.3, arousal: 0.4 });
  const endedId = (await request(app).post('/api/sessions').set('Authorization', client).send({ counselorId }).expect(201)).body.id as string;
  const last = secretText(`${label} last note`);
  texts.push(last);
  await request(app).post(`/api/sessions/${endedId}/entries`).set('Authorization', client).send({ kind: 'note', text: last }).expect(201);
  await request(app).post(`/api/sessions/${endedId}/end`).set('Authorization', client).expect(200);
  const comment = secretText(`${label} feedback`);
  await request(app).post(`/api/sessions/${endedId}/feedback`).set('Authorization', client).send({ rating: 5, comment }).expect(201);
  return { openId, endedId, texts, comment };
}

interface ReadBack {
  texts: (string | null)[];
  erased: boolean[];
  comment: string | null;
  commentErased: boolean;
}

/** What the counselor reads of the sessions (every entry with text, and the report's feedback). */
export async function readAsCounselor(app: Target, counselor: string, written: Counseled): Promise<ReadBack> {
  const texts: (string | null)[] = [];
  const erased: boolean[] = [];
  for (const id of [written.openId, written.endedId]) {
    const res = await request(app).get(`/api/sessions/${id}/entries`).set('Authorization', counselor).expect(200);
    for (const item of res.body.items as { kind: string; text?: string | null; erased?: boolean }[]) {
      if (item.kind === 'emotion') continue;
      texts.push(item.text ?? null);
      erased.push(item.erased === true);
    }
  }
  const report = await request(app).get(`/api/sessions/${written.endedId}/report`).set('Authorization', counselor).expect(200);
  return { texts, erased, comment: report.body.feedback.comment as string | null, commentErased: report.body.feedback.erased === true };
}

export async function expectReadable(app: Target, counselor: string, written: Counseled): Promise<void> {
  const read = await readAsCounselor(app, counselor, written);
  expect(read.texts.sort()).toEqual([...written.texts].sort());
  expect(read.erased.every((value) => !value)).toBe(true);
  expect(read.comment).toBe(written.comment);
  expect(read.commentErased).toBe(false);
}

/** Every entry reads as erased (text null, `erased: true`), with 200s, never a 500. */
export async function expectErased(app: Target, counselor: string, written: Counseled): Promise<void> {
  const read = await readAsCounselor(app, counselor, written);
  expect(read.texts).toEqual(written.texts.map(() => null));
  expect(read.erased).toEqual(written.texts.map(() => true));
  expect(read.comment).toBeNull();
  expect(read.commentErased).toBe(true);
}

/** Every stored entry text and feedback comment of the given sessions, raw. */
export async function storedContent(sequelize: Sequelize, sessionIds: string[]): Promise<string[]> {
  const entries = await sequelize.query<{ text: string }>('SELECT text FROM session_entries WHERE session_id IN (:ids) AND text IS NOT NULL ORDER BY id', {
    replacements: { ids: sessionIds },
    type: QueryTypes.SELECT,
  });
  const feedback = await sequelize.query<{ comment: string }>('SELECT comment FROM session_feedback WHERE session_id IN (:ids) AND comment IS NOT NULL ORDER BY id', {
    replacements: { ids: sessionIds },
    type: QueryTypes.SELECT,
  });
  return [...entries.map((row) => row.text), ...feedback.map((row) => row.comment)];
}

/** The key store's row for a person, or for a key id. */
export function keyRow(t: Pick<TestApp, 'infra'>, where: { ownerId: string } | { id: string }) {
  return t.infra.keyStore.keys.findOne({ where, raw: true });
}

/** `npm run keys:rotate-data` as its own process, over the test app's database and key store. */
export function runRotateData(t: Pick<TestApp, 'config'>, keys: { DATA_ENCRYPTION_KEY: string; DATA_ENCRYPTION_KEYS_PREVIOUS?: string }) {
  const env = {
    ...(t.config.database.url ? { DATABASE_URL: t.config.database.url } : { DATA_DIR: t.config.dataDir }),
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    AUTH_SECRET: t.config.secrets.authSecret,
    ...keys,
  };
  return runCli('src/cli/keys-rotate-data.ts', { env });
}
