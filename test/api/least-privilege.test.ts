import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Sequelize } from 'sequelize';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { AppRoleError, createAppRole, readAppRoleSettings, scramSha256Verifier } from '../../src/db/app-role.js';
import { createSequelize } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrator.js';
import { createTestDatabase, postgresUrl, type TestDatabase } from '../helpers/database.js';

// docs/DESIGN.md §7.2: migrations run as the owner; the app connects as a role with DML rights only.
// This proves it on a real PostgreSQL database: the role created by `npm run db:create-app-role`
// reads and writes (the real app works over it) but cannot create, alter, drop or truncate.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pgUrl = postgresUrl && /^postgres(ql)?:\/\//.test(postgresUrl) ? postgresUrl : undefined;
const INSUFFICIENT_PRIVILEGE = '42501';

describe('readAppRoleSettings', () => {
  const base = { MIGRATION_DATABASE_URL: 'postgres://owner@127.0.0.1:5432/confidant', APP_DB_USER: 'confidant_app', APP_DB_PASSWORD: 'p'.repeat(32) };

  it('prefers MIGRATION_DATABASE_URL over DATABASE_URL as the owner connection', () => {
    expect(readAppRoleSettings({ ...base, DATABASE_URL: 'postgres://app@127.0.0.1:5432/confidant' })).toEqual({
      ownerUrl: base.MIGRATION_DATABASE_URL,
      role: 'confidant_app',
      password: base.APP_DB_PASSWORD,
    });
    const { MIGRATION_DATABASE_URL: _unused, ...withoutMigrationUrl } = base;
    expect(readAppRoleSettings({ ...withoutMigrationUrl, DATABASE_URL: 'postgres://app@h/db' }).ownerUrl).toBe('postgres://app@h/db');
  });

  it('reads the password from APP_DB_PASSWORD_FILE, trimmed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'confidant-role-'));
    try {
      writeFileSync(join(dir, 'password'), `${'f'.repeat(40)}\n`);
      const { APP_DB_PASSWORD: _unused, ...env } = base;
      expect(readAppRoleSettings({ ...env, APP_DB_PASSWORD_FILE: join(dir, 'password') }).password).toBe('f'.repeat(40));
      expect(() => readAppRoleSettings({ ...base, APP_DB_PASSWORD_FILE: join(dir, 'password') })).toThrow(/both set/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ['Confidant_App', /must match/],
    ['app"; DROP TABLE users; --', /must match/],
    ['1app', /must match/],
    ['a'.repeat(64), /must match/],
    ['pg_app', /reserved/],
    ['public', /reserved/],
  ])('rejects the role name %j', (name, message) => {
    expect(() => readAppRoleSettings({ ...base, APP_DB_USER: name })).toThrow(message);
  });

  it('names every missing or invalid setting without echoing the password', () => {
    let error: unknown;
    try {
      readAppRoleSettings({ DATABASE_URL: 'mysql://x@h/db', APP_DB_PASSWORD: 'short-secret' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AppRoleError);
    const message = (error as Error).message;
    expect(message).toMatch(/postgres:\/\/ URL/);
    expect(message).toMatch(/APP_DB_USER is required/);
    expect(message).toMatch(/at least 16 characters/);
    expect(message).not.toContain('short-secret');
  });
});

/** `SCRAM-SHA-256$<iterations>:<salt>$<storedKey>:<serverKey>` → its parts. */
function parseVerifier(verifier: string) {
  const match = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  if (!match) throw new Error('not a SCRAM-SHA-256 verifier');
  return { iterations: Number(match[1]), salt: Buffer.from(match[2] as string, 'base64') };
}

/** True when `verifier` was made from `password` (recomputed with its own salt). */
function verifies(verifier: string, password: string): boolean {
  const { iterations, salt } = parseVerifier(verifier);
  return scramSha256Verifier(password, salt, iterations) === verifier;
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Runs a command to completion, collecting what it prints. */
async function run(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe.skipIf(!pgUrl)('the least-privilege app role (PostgreSQL)', () => {
  const role = `confidant_app_t${process.pid}_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(24).toString('hex');
  const extraRoles: string[] = [];
  let database: TestDatabase;
  let ownerUrl: string;
  let appUrl: string;
  let ownerSequelize: Sequelize | undefined;
  let appSequelize: Sequelize | undefined;
  let owner: pg.Client;
  let app: pg.Client;

  /** The statement must fail with SQLSTATE 42501 (insufficient_privilege). */
  async function denied(sql: string) {
    await expect(app.query(sql), sql).rejects.toMatchObject({ code: INSUFFICIENT_PRIVILEGE });
  }

  async function storedVerifier(name: string): Promise<string> {
    const result = await owner.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [name]);
    return result.rows[0]?.rolpassword ?? '';
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    ownerUrl = database.env.DATABASE_URL as string;
    // The owner applies the real migrations, as `npm run db:migrate` would with MIGRATION_DATABASE_URL.
    ownerSequelize = createSequelize(loadConfig({ NODE_ENV: 'test', ...database.env }));
    await migrate(ownerSequelize);
    owner = await connect(ownerUrl);

    const result = await createAppRole(owner, { role, password });
    expect(result).toMatchObject({ role, created: true });

    const url = new URL(ownerUrl);
    url.username = role;
    url.password = password;
    appUrl = url.toString();
    app = await connect(appUrl);
  });

  afterAll(async () => {
    await app?.end().catch(() => undefined);
    await appSequelize?.close();
    await ownerSequelize?.close();
    if (owner) {
      // Privileges and default privileges live in this database; DROP OWNED clears them so DROP ROLE can succeed.
      for (const name of [role, ...extraRoles]) await owner.query(`DROP OWNED BY ${pg.escapeIdentifier(name)}`).catch(() => undefined);
      await owner.end();
    }
    await database?.drop();
    const admin = await connect(pgUrl as string);
    for (const name of [role, ...extraRoles]) await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(name)}`);
    await admin.end();
  });

  it('is a plain login role: no superuser, CREATEDB, CREATEROLE, INHERIT, REPLICATION or BYPASSRLS', async () => {
    expect((await app.query('SELECT current_user AS name')).rows[0]).toEqual({ name: role });
    const { rows } = await owner.query(
      'SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = $1',
      [role],
    );
    expect(rows).toEqual([
      { rolcanlogin: true, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolinherit: false, rolreplication: false, rolbypassrls: false },
    ]);
  });

  it('stores the password as a SCRAM-SHA-256 verifier, computed exactly as PostgreSQL does', async () => {
    const verifier = await storedVerifier(role);
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(verifies(verifier, password)).toBe(true);
    expect(verifies(verifier, `${password}x`)).toBe(false);

    // Cross-check against the server's own computation for a throwaway role.
    const probe = `confidant_scram_probe_${randomBytes(3).toString('hex')}`;
    extraRoles.push(probe);
    await owner.query("SET password_encryption = 'scram-sha-256'");
    await owner.query(`CREATE ROLE ${pg.escapeIdentifier(probe)} PASSWORD ${pg.escapeLiteral('correct horse battery staple')}`);
    const serverMade = await storedVerifier(probe);
    expect(verifies(serverMade, 'correct horse battery staple')).toBe(true);
  });

  it('can SELECT, INSERT, UPDATE and DELETE rows', async () => {
    const id = randomUUID();
    const now = new Date();
    await app.query(
      'INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)',
      [id, `${id}@example.com`, 'Row Level', 'user', 'not-a-real-hash', now],
    );
    expect((await app.query('SELECT name FROM users WHERE id = $1', [id])).rows).toEqual([{ name: 'Row Level' }]);
    expect((await app.query("UPDATE users SET name = 'Renamed' WHERE id = $1", [id])).rowCount).toBe(1);
    expect((await app.query('SELECT name FROM users WHERE id = $1', [id])).rows).toEqual([{ name: 'Renamed' }]);
    expect((await app.query('DELETE FROM users WHERE id = $1', [id])).rowCount).toBe(1);
    // Every table the migrations created is readable.
    const tables = await owner.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'");
    expect(tables.rows.length).toBeGreaterThan(5);
    for (const { name } of tables.rows) {
      await expect(app.query(`SELECT count(*) FROM ${pg.escapeIdentifier(name)}`), name).resolves.toBeDefined();
    }
  });

  it('runs the real app: register and log in over HTTP', async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: appUrl,
      RATE_LIMIT_AUTH_MAX: '1000',
      RATE_LIMIT_WRITE_MAX: '1000',
    });
    appSequelize = createSequelize(config);
    const { app: server } = createApp({ config, sequelize: appSequelize });
    const email = `least.privilege.${randomBytes(3).toString('hex')}@example.com`;
    const secret = 'cobalt-orchard-meridian-tundra-36';

    await request(server).post('/api/auth/register').send({ email, password: secret, name: 'Least Privilege' }).expect(202);
    const login = await request(server).post('/api/auth/login').send({ email, password: secret, transport: 'body' }).expect(200);
    expect(login.body.accessToken).toEqual(expect.any(String));

    const me = await request(server).get('/api/users/me').set('Authorization', `Bearer ${login.body.accessToken as string}`).expect(200);
    expect(me.body).toMatchObject({ email });
    const { rows } = await owner.query('SELECT count(*)::int AS n FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1', [email]);
    expect(rows[0]).toEqual({ n: 1 });
  });

  it('keeps per-person data keys in the fallback table as this role (no KEY_STORE_URL): the table came with the migrations', async () => {
    const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: appUrl, RATE_LIMIT_AUTH_MAX: '1000', RATE_LIMIT_WRITE_MAX: '1000' });
    const sequelize = createSequelize(config);
    try {
      const { app: server } = createApp({ config, sequelize });
      const email = `data.keys.${randomBytes(3).toString('hex')}@example.com`;
      const secret = 'cobalt-orchard-meridian-tundra-36';
      await request(server).post('/api/auth/register').send({ email, password: secret, name: 'Data Keys' }).expect(202);
      const login = await request(server).post('/api/auth/login').send({ email, password: secret, transport: 'body' }).expect(200);
      const auth = `Bearer ${login.body.accessToken as string}`;
      const session = await request(server).post('/api/sessions').set('Authorization', auth).send({}).expect(201);
      await request(server).post(`/api/sessions/${session.body.id as string}/entries`).set('Authorization', auth).send({ kind: 'note', text: 'under my own key' }).expect(201);
      const page = await request(server).get(`/api/sessions/${session.body.id as string}/entries`).set('Authorization', auth).expect(200);
      expect(page.body.items[0].text).toBe('under my own key');
      const { rows } = await owner.query('SELECT count(*)::int AS n FROM data_keys k JOIN users u ON u.id::text = k.owner_id WHERE u.email = $1', [email]);
      expect(rows[0]).toEqual({ n: 1 });
    } finally {
      await sequelize.close();
    }
  });

  it('cannot CREATE, ALTER, DROP or TRUNCATE tables, create indexes, views or schemas', async () => {
    await denied('CREATE TABLE intruder (id int)');
    await denied('CREATE TABLE public.intruder (id int)');
    await denied('CREATE VIEW intruder AS SELECT 1 AS one');
    await denied('CREATE SEQUENCE intruder_seq');
    await denied('DROP TABLE users');
    await denied('DROP TABLE security_events CASCADE');
    await denied('ALTER TABLE users ADD COLUMN intruder int');
    await denied('ALTER TABLE users DROP COLUMN email');
    await denied('ALTER TABLE users RENAME TO people');
    await denied('ALTER TABLE users DISABLE TRIGGER ALL');
    await denied('TRUNCATE users');
    await denied('TRUNCATE security_events');
    await denied('CREATE INDEX intruder_idx ON users (name)');
    await denied('DROP INDEX users_role');
    await denied('CREATE SCHEMA intruder');
    await denied('DROP SCHEMA public CASCADE');
    await denied(`CREATE DATABASE intruder_${randomBytes(3).toString('hex')}`);
    // TRUNCATE and REFERENCES/TRIGGER were never granted, only the four DML rights.
    const { rows } = await owner.query<{ privileges: string[] }>(
      `SELECT array_agg(privilege_type::text ORDER BY privilege_type) AS privileges
         FROM information_schema.role_table_grants WHERE grantee = $1 AND table_name = 'users'`,
      [role],
    );
    expect(rows[0]?.privileges).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
  });

  it('cannot create a table in a new schema, nor change its own attributes', async () => {
    const schema = `scratch_${randomBytes(3).toString('hex')}`;
    await owner.query(`CREATE SCHEMA ${schema}`);
    await denied(`CREATE TABLE ${schema}.intruder (id int)`);
    await denied(`ALTER ROLE ${pg.escapeIdentifier(role)} CREATEDB`);
    await denied(`ALTER ROLE ${pg.escapeIdentifier(role)} SUPERUSER`);
  });

  it('may read the migration ledger but not rewrite it', async () => {
    expect((await app.query('SELECT count(*)::int AS n FROM "SequelizeMeta"')).rows[0].n).toBeGreaterThan(0);
    await denied('DELETE FROM "SequelizeMeta"');
    await denied(`INSERT INTO "SequelizeMeta" (name) VALUES ('99999999999999-forged.cjs')`);
  });

  it('gets DML, and only DML, on tables a later migration creates as the owner', async () => {
    await owner.query('CREATE TABLE later_migration (id serial PRIMARY KEY, note text NOT NULL)');
    const inserted = await app.query<{ id: number }>("INSERT INTO later_migration (note) VALUES ('first') RETURNING id");
    const id = inserted.rows[0]?.id;
    expect(id).toEqual(expect.any(Number));
    await app.query("UPDATE later_migration SET note = 'second' WHERE id = $1", [id]);
    expect((await app.query('SELECT note FROM later_migration')).rows).toEqual([{ note: 'second' }]);
    await app.query('DELETE FROM later_migration');
    await denied('DROP TABLE later_migration');
    await denied('TRUNCATE later_migration');
    await denied('ALTER TABLE later_migration ADD COLUMN intruder int');
  });

  it('refuses to turn the owner, or a role that owns tables, into the app role', async () => {
    const { owner: ownerName } = (await owner.query<{ owner: string }>('SELECT current_user AS owner')).rows[0] as { owner: string };
    await expect(createAppRole(owner, { role: ownerName, password })).rejects.toThrow(AppRoleError);

    const tableOwner = `confidant_tblown_${randomBytes(3).toString('hex')}`;
    extraRoles.push(tableOwner);
    await owner.query(`CREATE ROLE ${tableOwner}`);
    await owner.query(`CREATE TABLE owned_elsewhere (id int); ALTER TABLE owned_elsewhere OWNER TO ${tableOwner}`);
    await expect(createAppRole(owner, { role: tableOwner, password })).rejects.toThrow(/owns 1 table/);
    // Nothing of the refused run stuck: it ran in one transaction.
    expect((await owner.query('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [tableOwner])).rows).toEqual([{ rolcanlogin: false }]);
  });

  it('is idempotent: a second run updates the role and keeps every guarantee', async () => {
    const again = await createAppRole(owner, { role, password });
    expect(again).toMatchObject({ role, created: false });
    expect(verifies(await storedVerifier(role), password)).toBe(true);
    await app.query('SELECT count(*) FROM users');
    await denied('CREATE TABLE intruder (id int)');
    await denied('DELETE FROM "SequelizeMeta"');
  });

  it(
    'npm run db:create-app-role: the CLI connects as the owner, exits 0 twice in a row and never prints the password',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'confidant-role-'));
      const newPassword = randomBytes(24).toString('hex');
      writeFileSync(join(dir, 'app_db_password'), `${newPassword}\n`, { mode: 0o600 });
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? tmpdir(),
        NODE_ENV: 'test',
        MIGRATION_DATABASE_URL: ownerUrl,
        // The app's URL, which the command must not use: MIGRATION_DATABASE_URL wins.
        DATABASE_URL: appUrl,
        APP_DB_USER: role,
        APP_DB_PASSWORD_FILE: join(dir, 'app_db_password'),
      };
      try {
        for (let attempt = 1; attempt <= 2; attempt += 1) {
          const result = await run('npx', ['tsx', 'src/cli/create-app-role.ts'], env);
          expect(result.code, result.output).toBe(0);
          expect(result.output).toContain(`app role ${role} updated`);
          expect(result.output).not.toContain(newPassword);
          expect(result.output).not.toContain(password);
        }
        expect(verifies(await storedVerifier(role), newPassword)).toBe(true);
        await denied('CREATE TABLE intruder (id int)');

        const refused = await run('npx', ['tsx', 'src/cli/create-app-role.ts'], { ...env, APP_DB_USER: 'Robert"; DROP TABLE users; --' });
        expect(refused.code).toBe(1);
        expect(refused.output).toMatch(/APP_DB_USER .* must match/);
        expect(refused.output).not.toContain(newPassword);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
