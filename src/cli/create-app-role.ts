/**
 * `npm run db:create-app-role`: creates (or updates) the least-privilege role the app
 * connects as, with DML rights only. Connects as the OWNER role (MIGRATION_DATABASE_URL,
 * else DATABASE_URL; each may be given as `_FILE`), after `npm run db:migrate`:
 *
 *   MIGRATION_DATABASE_URL=postgres://owner:...@host:5432/confidant \
 *   APP_DB_USER=confidant_app APP_DB_PASSWORD_FILE=secrets/app_db_password \
 *   npm run db:create-app-role
 *
 * Idempotent: run it again to reset the password or after new migrations. The password is
 * sent as a SCRAM verifier and never printed. The app then uses
 * DATABASE_URL=postgres://confidant_app:<password>@host:5432/confidant.
 */
import pg from 'pg';
import { readAppRoleSettings } from '../config/app-role-settings.js';
import { loadDotEnv } from '../config/env.js';
import { createAppRole } from '../db/app-role.js';

async function main(): Promise<void> {
  loadDotEnv();
  const settings = readAppRoleSettings();
  const client = new pg.Client({
    connectionString: settings.ownerUrl,
    application_name: 'confidant-create-app-role',
    connectionTimeoutMillis: 10_000,
  });
  // Notices (e.g. "no privileges could be revoked" when the owner does not own schema public) are worth seeing.
  client.on('notice', (notice) => process.stderr.write(`${notice.severity ?? 'NOTICE'}: ${notice.message}\n`));
  await client.connect();
  try {
    const result = await createAppRole(client, { role: settings.role, password: settings.password });
    process.stdout.write(
      `app role ${result.role} ${result.created ? 'created' : 'updated'} in database ${result.database}: ` +
        `SELECT, INSERT, UPDATE, DELETE on tables in public (including future tables of ${result.owner}); no DDL\n`,
    );
  } finally {
    await client.end();
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(`db:create-app-role failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
