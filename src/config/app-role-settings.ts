import { secretFromEnv } from './env.js';

/** An unquoted, lower-case PostgreSQL identifier of at most 63 bytes. */
export const ROLE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;
export const MIN_PASSWORD_LENGTH = 16;
/** Printable ASCII: SASLprep leaves it unchanged, so the verifier computed for it matches the server's. */
export const PASSWORD_PATTERN = /^[\x20-\x7e]+$/;

export class AppRoleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AppRoleError';
  }
}

export interface AppRoleSettings {
  /** Connection string of the owner role (the one that runs migrations). */
  ownerUrl: string;
  role: string;
  password: string;
}

export function validateRoleName(role: string): string | undefined {
  if (!ROLE_NAME_PATTERN.test(role)) return `APP_DB_USER "${role}" must match ${ROLE_NAME_PATTERN.source}`;
  if (role.startsWith('pg_') || role === 'public') return `APP_DB_USER "${role}" is a reserved role name`;
  return undefined;
}

/**
 * What `npm run db:create-app-role` needs, from the environment: the owner's URL
 * (MIGRATION_DATABASE_URL, else DATABASE_URL, each also as `_FILE`), APP_DB_USER and
 * APP_DB_PASSWORD (or APP_DB_PASSWORD_FILE). Throws one AppRoleError naming every problem;
 * never the password.
 */
export function readAppRoleSettings(env: NodeJS.ProcessEnv = process.env): AppRoleSettings {
  const problems: string[] = [];
  const value = (name: string) => secretFromEnv(env, name, problems)?.trim() || undefined;
  const ownerUrl = value('MIGRATION_DATABASE_URL') ?? value('DATABASE_URL');
  const role = env.APP_DB_USER?.trim() ?? '';
  const password = value('APP_DB_PASSWORD') ?? '';

  if (!ownerUrl) problems.push('MIGRATION_DATABASE_URL (or DATABASE_URL) must be the owner role\'s postgres:// URL');
  else if (!/^postgres(ql)?:\/\//.test(ownerUrl)) problems.push('MIGRATION_DATABASE_URL (or DATABASE_URL) must be a postgres:// URL');
  if (!role) problems.push('APP_DB_USER is required (the name of the role to create)');
  else {
    const invalid = validateRoleName(role);
    if (invalid) problems.push(invalid);
  }
  if (!password) problems.push('APP_DB_PASSWORD (or APP_DB_PASSWORD_FILE) is required');
  else if (password.length < MIN_PASSWORD_LENGTH) problems.push(`APP_DB_PASSWORD must be at least ${MIN_PASSWORD_LENGTH} characters`);
  else if (!PASSWORD_PATTERN.test(password)) problems.push('APP_DB_PASSWORD must be printable ASCII (e.g. openssl rand -hex 32)');

  if (problems.length > 0) throw new AppRoleError(problems.join('; '));
  return { ownerUrl: ownerUrl as string, role, password };
}
