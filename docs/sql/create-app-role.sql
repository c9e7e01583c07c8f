-- Least-privilege role for the Confidant app: DML on the tables in `public`, nothing else.
-- The same statements as `npm run db:create-app-role` (src/db/app-role.ts), for psql.
--
-- Run it as the OWNER role (the one that runs `npm run db:migrate`), after migrating,
-- connected to the app's database. It is idempotent: run it again to change the password.
--
--   psql "$MIGRATION_DATABASE_URL" -v ON_ERROR_STOP=1 \
--        -v app_user=confidant_app -v app_password="$(cat secrets/app_db_password)" \
--        -f docs/sql/create-app-role.sql
--
-- Then point the app at it: DATABASE_URL=postgres://confidant_app:<password>@host:5432/confidant
--
-- Unlike the npm command, this sends the password to the server in clear text inside the
-- ALTER ROLE statement (the server hashes it with password_encryption, scram-sha-256 by
-- default); if statements are logged (log_statement = 'ddl' or 'all'), leave app_password
-- unset here and set it afterwards with psql's \password confidant_app, which sends a hash.

\set ON_ERROR_STOP on

\if :{?app_user}
\else
  \echo 'set the role name: psql ... -v app_user=confidant_app'
  DO $$ BEGIN RAISE EXCEPTION 'app_user is not set'; END $$;
\endif

-- The role name must be a plain lower-case identifier, as the npm command requires.
SELECT :'app_user' ~ '^[a-z_][a-z0-9_]{0,62}$'
       AND :'app_user' NOT LIKE 'pg\_%'
       AND :'app_user' <> 'public'
       AND :'app_user' <> current_user AS app_user_ok \gset
\if :app_user_ok
\else
  DO $$ BEGIN RAISE EXCEPTION 'app_user must match ^[a-z_][a-z0-9_]{0,62}$, must not be reserved, and must differ from the owner role'; END $$;
\endif

BEGIN;

-- Refuse a role that would keep more than DML (superuser, member of the owner, owner of tables).
SELECT format('DO $$ BEGIN RAISE EXCEPTION %L; END $$', 'role ' || r.rolname || ' is too powerful to be the app role')
  FROM pg_roles r
 WHERE r.rolname = :'app_user'
   AND (r.rolsuper OR r.rolreplication OR r.rolbypassrls
        OR pg_has_role(r.oid, current_user, 'MEMBER')
        OR EXISTS (SELECT 1 FROM pg_database d WHERE d.datname = current_database() AND d.datdba = r.oid)
        OR EXISTS (SELECT 1 FROM pg_class c WHERE c.relowner = r.oid)) \gexec

-- Create the role, or reset its attributes.
SELECT format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS', :'app_user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOCREATEDB NOCREATEROLE NOINHERIT', :'app_user') \gexec

-- The password, when given on the command line (see above for \password instead).
\if :{?app_password}
SELECT format('ALTER ROLE %I WITH PASSWORD %L', :'app_user', :'app_password') \gexec
\endif

-- Nobody but the owner creates objects in public (the default since PostgreSQL 15).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('REVOKE CREATE ON SCHEMA public FROM %I', :'app_user') \gexec
SELECT format('REVOKE CREATE ON DATABASE %I FROM %I', current_database(), :'app_user') \gexec

-- Connect, see the schema, and read and write rows: nothing more.
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'app_user') \gexec
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'app_user') \gexec
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I', :'app_user') \gexec
SELECT format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', :'app_user') \gexec

-- Tables and sequences that later migrations create (as this same owner) are covered too.
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', current_user, :'app_user') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I', current_user, :'app_user') \gexec

-- The migration ledger is the owner's: the app may read it but not rewrite history.
SELECT format('REVOKE INSERT, UPDATE, DELETE ON public.%I FROM %I', 'SequelizeMeta', :'app_user')
 WHERE to_regclass('public."SequelizeMeta"') IS NOT NULL \gexec

COMMIT;
