import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestDatabase {
  /** Environment that points the app at this database. */
  env: Record<string, string>;
  dialect: 'postgres' | 'sqlite';
  drop(): Promise<void>;
}

/** The PostgreSQL server the suite runs against, when DATABASE_URL is set (CI does). */
export const postgresUrl = process.env.DATABASE_URL;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * A database of its own for one test file: a fresh PostgreSQL database when DATABASE_URL
 * is set, otherwise a SQLite file in a temporary directory. The real migrations run on it.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (postgresUrl) {
    const name = `confidant_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: postgresUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    // Files (the local storage adapter) live under DATA_DIR: a directory of its own here too.
    const dataDir = mkdtempSync(join(tmpdir(), 'confidant-test-'));
    return {
      env: { DATABASE_URL: withDatabase(postgresUrl, name), DATA_DIR: dataDir },
      dialect: 'postgres',
      async drop() {
        rmSync(dataDir, { recursive: true, force: true });
        const client = new pg.Client({ connectionString: postgresUrl });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
      },
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'confidant-test-'));
  return {
    env: { DATA_DIR: dataDir },
    dialect: 'sqlite',
    async drop() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
