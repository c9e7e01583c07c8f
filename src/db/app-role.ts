/**
 * The least-privilege PostgreSQL role the app connects as (docs/DESIGN.md §7.2). Migrations run as the
 * owner role; this role gets DML on the tables in `public` and nothing else: it cannot
 * create, alter, drop or truncate tables, create indexes or schemas, or create roles.
 * `npm run db:create-app-role` (src/cli/create-app-role.ts) runs this as the owner;
 * docs/sql/create-app-role.sql holds the same statements for psql.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';

/** sequelize-cli's and umzug's record of applied migrations (src/db/migrator.ts), quoted. */
const MIGRATION_TABLE = pg.escapeIdentifier('SequelizeMeta');

import { AppRoleError, MIN_PASSWORD_LENGTH, PASSWORD_PATTERN, validateRoleName } from '../config/app-role-settings.js';

export { AppRoleError, readAppRoleSettings, ROLE_NAME_PATTERN, type AppRoleSettings } from '../config/app-role-settings.js';

export interface AppRoleResult {
  role: string;
  database: string;
  owner: string;
  created: boolean;
}

/**
 * A SCRAM-SHA-256 verifier in PostgreSQL's format (RFC 7677, as `ALTER ROLE ... PASSWORD`
 * stores it). Sending the verifier instead of the password keeps the cleartext out of the
 * server's statement log and does not depend on the server's `password_encryption`.
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** The GRANT/REVOKE statements, in order, for an existing role (names already checked). */
export function privilegeStatements(names: { role: string; owner: string; database: string }): string[] {
  const role = pg.escapeIdentifier(names.role);
  const owner = pg.escapeIdentifier(names.owner);
  const database = pg.escapeIdentifier(names.database);
  return [
    // Nobody but the owner creates objects in public (the default since PostgreSQL 15).
    'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
    `REVOKE CREATE ON SCHEMA public FROM ${role}`,
    `REVOKE CREATE ON DATABASE ${database} FROM ${role}`,
    `GRANT CONNECT ON DATABASE ${database} TO ${role}`,
    `GRANT USAGE ON SCHEMA public TO ${role}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role}`,
    // Tables and sequences that later migrations create (as the owner) are covered too.
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${role}`,
  ];
}

interface ExistingRole {
  oid: number;
  rolsuper: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  member_of_owner: boolean;
  owns_database: boolean;
  owned_relations: number;
}

/** Reasons an existing role must not become the app role: it would keep more than DML. */
function tooPowerful(existing: ExistingRole): string[] {
  const reasons: string[] = [];
  if (existing.rolsuper) reasons.push('is a superuser');
  if (existing.rolreplication) reasons.push('has REPLICATION');
  if (existing.rolbypassrls) reasons.push('has BYPASSRLS');
  if (existing.member_of_owner) reasons.push('is a member of the owner role');
  if (existing.owns_database) reasons.push('owns the database');
  if (existing.owned_relations > 0) reasons.push(`owns ${existing.owned_relations} table(s) or other relations`);
  return reasons;
}

/**
 * Creates the app role, or resets its password and attributes, and grants it DML only on
 * the current database's `public` schema, now and for tables the owner creates later.
 * Idempotent, in one transaction. `client` must be connected as the owner role.
 */
export async function createAppRole(client: pg.ClientBase, options: { role: string; password: string }): Promise<AppRoleResult> {
  const invalid = validateRoleName(options.role);
  if (invalid) throw new AppRoleError(invalid);
  if (options.password.length < MIN_PASSWORD_LENGTH || !PASSWORD_PATTERN.test(options.password)) {
    throw new AppRoleError(`the password must be at least ${MIN_PASSWORD_LENGTH} printable ASCII characters`);
  }

  const whoami = await client.query<{ owner: string; database: string }>('SELECT current_user AS owner, current_database() AS database');
  const { owner, database } = whoami.rows[0] as { owner: string; database: string };
  if (owner === options.role) {
    throw new AppRoleError(`APP_DB_USER "${options.role}" is the role this command connects as; the app role must differ from the owner`);
  }

  const role = pg.escapeIdentifier(options.role);
  const password = pg.escapeLiteral(scramSha256Verifier(options.password));
  await client.query('BEGIN');
  try {
    const existing = await client.query<ExistingRole>(
      `SELECT r.oid::int AS oid, r.rolsuper, r.rolreplication, r.rolbypassrls,
              pg_has_role(r.oid, current_user, 'MEMBER') AS member_of_owner,
              EXISTS (SELECT 1 FROM pg_database d WHERE d.datname = current_database() AND d.datdba = r.oid) AS owns_database,
              (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid) AS owned_relations
         FROM pg_roles r WHERE r.rolname = $1`,
      [options.role],
    );
    const current = existing.rows[0];
    if (current) {
      const reasons = tooPowerful(current);
      if (reasons.length > 0) {
        throw new AppRoleError(`role "${options.role}" ${reasons.join(', ')}; it cannot serve as a DML-only app role`);
      }
      // SUPERUSER, REPLICATION and BYPASSRLS are already off (checked above); naming them here
      // would need superuser rights the owner may not have.
      await client.query(`ALTER ROLE ${role} WITH LOGIN NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD ${password}`);
    } else {
      await client.query(
        `CREATE ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS PASSWORD ${password}`,
      );
    }
    for (const statement of privilegeStatements({ role: options.role, owner, database })) {
      await client.query(statement);
    }
    // The migration ledger is the owner's: the app may read it but not rewrite history.
    const ledger = await client.query<{ present: boolean }>(`SELECT to_regclass('public.${MIGRATION_TABLE}') IS NOT NULL AS present`);
    if (ledger.rows[0]?.present) await client.query(`REVOKE INSERT, UPDATE, DELETE ON public.${MIGRATION_TABLE} FROM ${role}`);
    await client.query('COMMIT');
    return { role: options.role, database, owner, created: !current };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
