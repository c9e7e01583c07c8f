import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentCipher } from '../../src/crypto/content-cipher.js';
import { LENIENT_LIMITS, createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, counsel, expectErased, expectReadable, keyRow, secretText, type Counseled } from '../helpers/data-keys.js';
import { postgresUrl } from '../helpers/database.js';
import { attach, binary } from '../helpers/files.js';
import { inCareOf } from '../helpers/practice.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { createUser, type TestUser } from '../helpers/users.js';

const run = promisify(execFile);
const MASTER = 'restore-test-master-key-0123456789abcdefghij';

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** pg_dump and pg_restore of the server's major version: Debian keeps each version's tools under /usr/lib/postgresql/<major>/bin. */
async function postgresTools(): Promise<{ dump: string; restore: string }> {
  const major = await admin(async (client) => Math.floor(Number((await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10_000));
  const dir = `/usr/lib/postgresql/${major}/bin`;
  const tools = existsSync(join(dir, 'pg_dump')) ? { dump: join(dir, 'pg_dump'), restore: join(dir, 'pg_restore') } : { dump: 'pg_dump', restore: 'pg_restore' };
  const { stdout } = await run(tools.dump, ['--version']);
  expect(stdout, `pg_dump ${stdout.trim()} for a PostgreSQL ${major} server`).toMatch(new RegExp(`\\(PostgreSQL\\) ${major}\\.`));
  return tools;
}

/** An attachment a client gave their session: its id and bytes. */
interface Attached {
  id: string;
  name: string;
  bytes: Buffer;
}

async function attachSecret(t: TestApp, auth: string, sessionId: string, label: string): Promise<Attached> {
  const name = `${secretText(label)}.txt`;
  const bytes = Buffer.from(`${secretText(`${label} attachment`)}\n`.repeat(40));
  const res = await attach(t, auth, sessionId, { data: bytes, filename: name }).expect(201);
  return { id: res.body.id as string, name, bytes };
}

/**
 * The guarantee of crypto-shredding, end to end: a backup of the data (a database dump and a
 * copy of the bucket) taken before an account was deleted, restored later and served with the
 * current key store and the same master key, shows that person's content and attachments as
 * erased, and everyone else's as before.
 */
describe.skipIf(!postgresUrl)('a data backup restored after an erasure (PostgreSQL, pg_dump)', () => {
  const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const keysDatabase = `confidant_keys_${suffix}`;
  const restoredDatabase = `confidant_restored_${suffix}`;
  const work = mkdtempSync(join(tmpdir(), 'confidant-restore-'));
  const dumpFile = join(work, 'data.dump');
  /** The restored server's DATA_DIR: its files/ is the bucket copy of the backup. */
  const restoredDataDir = join(work, 'restored-data');
  let keysUrl: string;
  let t: TestApp;
  let server: ServerProcess | undefined;
  let counselorUser: TestUser;
  let leaving: TestUser;
  let staying: TestUser;
  let leavingContent: Counseled;
  let stayingContent: Counseled;
  let leavingKeyId: string;
  let leavingFile: Attached;
  let stayingFile: Attached;

  beforeAll(async () => {
    await admin((client) => client.query(`CREATE DATABASE ${keysDatabase}`));
    keysUrl = withDatabase(postgresUrl!, keysDatabase);
    t = await createTestApp({ lenientLimits: true, env: { KEY_STORE_URL: keysUrl, DATA_ENCRYPTION_KEY: MASTER } });
    counselorUser = await createUser(t, { role: 'counselor' });
    leaving = await createUser(t);
    staying = await createUser(t);
    await inCareOf(t, counselorUser.id, leaving.id);
    await inCareOf(t, counselorUser.id, staying.id);
    const counselor = await bearer(t.app, counselorUser);
    const leavingAuth = await bearer(t.app, leaving);
    const stayingAuth = await bearer(t.app, staying);
    leavingContent = await counsel(t.app, leavingAuth, counselor, counselorUser.id, 'leaving');
    stayingContent = await counsel(t.app, stayingAuth, counselor, counselorUser.id, 'staying');
    leavingFile = await attachSecret(t, leavingAuth, leavingContent.openId, 'leaving');
    stayingFile = await attachSecret(t, stayingAuth, stayingContent.openId, 'staying');
    leavingKeyId = (await keyRow(t, { ownerId: leaving.id }))!.id;
  });

  afterAll(async () => {
    await server?.stop();
    await t?.close();
    await admin(async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${restoredDatabase} WITH (FORCE)`);
      await client.query(`DROP DATABASE IF EXISTS ${keysDatabase} WITH (FORCE)`);
    });
    rmSync(work, { recursive: true, force: true });
  });

  it('keeps the keys in the database KEY_STORE_URL names, and /health/ready says so without a warning', async () => {
    const ready = await request(t.app).get('/health/ready').expect(200);
    expect(ready.body.checks.keyStore).toMatchObject({ status: 'up', location: 'separate-database' });
    expect(ready.body.checks.keyStore.warning).toBeUndefined();
    // The data database's own data_keys (the fallback's table) stays empty.
    const [row] = await t.sequelize.query<{ n: number }>('SELECT count(*)::int AS n FROM data_keys', { type: QueryTypes.SELECT });
    expect(row!.n).toBe(0);
    expect(await t.infra.keyStore.keys.count()).toBe(2); // the two clients; the counselor writes under theirs
  });

  it('a pg_dump of the data database holds the content as ciphertext and no key', async () => {
    const tools = await postgresTools();
    await run(tools.dump, ['--format=custom', `--file=${dumpFile}`, '--no-owner', t.config.database.url!]);
    const { stdout: contents } = await run(tools.restore, ['--list', dumpFile]);
    expect(contents).toContain('TABLE DATA public session_entries');
    // The dump as plain SQL: every wrapped key would show as a row of data_keys; there is none.
    const { stdout: sql } = await run(tools.restore, ['--data-only', '--table=data_keys', '--file=-', dumpFile]);
    expect(sql).toMatch(/COPY public\.data_keys \([^)]*\) FROM stdin;\n\\\.\n/); // an empty COPY block: no row
    for (const key of await t.infra.keyStore.keys.findAll({ raw: true })) expect(sql).not.toContain(key.wrapped!);
    // The other half of the backup: a copy of the bucket, objects that are ciphertext only.
    cpSync(join(t.config.dataDir, 'files'), join(restoredDataDir, 'files'), { recursive: true });
  });

  it('deletes the account through the API: the key store keeps only a tombstone of the key', async () => {
    const auth = await bearer(t.app, leaving);
    await request(t.app).delete('/api/users/me').set('Authorization', auth).send({ password: leaving.password }).expect(204);
    expect(await keyRow(t, { id: leavingKeyId })).toMatchObject({ ownerId: null, wrapped: null });
  });

  it('the old dump restored into a fresh database with the bucket copy, served with the current key store and master key: the erased person’s content and attachments read as erased, everyone else’s read', async () => {
    const tools = await postgresTools();
    await admin((client) => client.query(`CREATE DATABASE ${restoredDatabase}`));
    const restoredUrl = withDatabase(postgresUrl!, restoredDatabase);
    await run(tools.restore, ['--no-owner', '--exit-on-error', `--dbname=${restoredUrl}`, dumpFile]);

    // The backup still holds the deleted person's rows, under their key.
    const restored = new pg.Client({ connectionString: restoredUrl });
    await restored.connect();
    const rows = await restored.query<{ text: string }>('SELECT text FROM session_entries WHERE user_id = $1 AND text IS NOT NULL', [leaving.id]);
    const files = await restored.query<{ wrapped_key: string; filename: string }>('SELECT wrapped_key, filename FROM stored_files WHERE id = $1', [leavingFile.id]);
    await restored.end();
    expect(rows.rows).toHaveLength(4);
    for (const row of rows.rows) expect(ContentCipher.keyIdOf(row.text)).toBe(leavingKeyId);
    expect(files.rows).toHaveLength(1);
    for (const value of Object.values(files.rows[0]!)) expect(ContentCipher.keyIdOf(value)).toBe(leavingKeyId);

    server = await startServerProcess({
      NODE_ENV: 'test',
      ...LENIENT_LIMITS,
      DATABASE_URL: restoredUrl,
      KEY_STORE_URL: keysUrl,
      DATA_ENCRYPTION_KEY: MASTER,
      AUTH_SECRET: t.config.secrets.authSecret,
      JOBS_INTERVAL_S: '0',
      DATA_DIR: restoredDataDir,
    });
    const base = `http://127.0.0.1:${server.port}`;
    let ready = 0;
    for (let attempt = 0; attempt < 200 && ready !== 200; attempt += 1) {
      ready = (await request(base).get('/health/ready')).status;
      if (ready !== 200) await sleep(100);
    }
    expect(ready, server.output()).toBe(200);

    const app = base;
    const counselor = await bearer(app, counselorUser);
    await expectErased(app, counselor, leavingContent);
    await expectReadable(app, counselor, stayingContent);

    // Attachments: the erased person's reads as erased and answers 410, never 500; everyone else's opens byte for byte.
    const download = (auth: string, fileId: string) => request(base).get(`/api/files/${fileId}/stream`).set('Authorization', auth).buffer(true).parse(binary);
    const list = await request(base).get(`/api/sessions/${leavingContent.openId}/attachments`).set('Authorization', counselor).expect(200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: leavingFile.id, filename: null, erased: true })]);
    const gone = await download(counselor, leavingFile.id).expect(410);
    expect(JSON.parse((gone.body as Buffer).toString())).toMatchObject({ code: 'ATTACHMENT_ERASED' });
    const kept = await download(counselor, stayingFile.id).expect(200);
    expect(Buffer.compare(kept.body as Buffer, stayingFile.bytes)).toBe(0);
    expect(kept.headers['content-disposition']).toContain(encodeURIComponent(stayingFile.name));

    // The restored account itself sees its content as erased, in the API and in its export.
    const own = await bearer(app, leaving);
    const page = await request(base).get(`/api/sessions/${leavingContent.openId}/entries`).set('Authorization', own).expect(200);
    for (const item of page.body.items as { kind: string; text?: string | null; erased?: boolean }[]) if (item.kind !== 'emotion') expect(item).toMatchObject({ text: null, erased: true });
    const exported = await request(base).get('/api/users/me/export').set('Authorization', own).expect(200);
    const body = JSON.stringify(exported.body);
    for (const text of [...leavingContent.texts, leavingContent.comment, leavingFile.name]) expect(body).not.toContain(text);
    expect(exported.body.files).toEqual([expect.objectContaining({ id: leavingFile.id, filename: null, erased: true })]);
    await download(own, leavingFile.id).expect(410);
    expect(body).toContain('"erased":true');
    expect(server.output()).not.toMatch(/"level":"error"|"level":50/);
  });
});
