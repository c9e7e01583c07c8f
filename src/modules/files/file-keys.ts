import { randomUUID } from 'node:crypto';

/** A prefix: letters, digits, `/ _ -`, 1-64 characters, never absolute, never a `..` segment. */
const PREFIX = /^[A-Za-z0-9/_-]{1,64}$/;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** Every key the server issues: `<prefix>/<uuid>.<ext>` with a prefix as above. */
const KEY = new RegExp(`^((?:avatars|logos|attachments)/${UUID})/(${UUID})\\.([a-z0-9]{1,8})$`);

export function isSafePrefix(prefix: string): boolean {
  return PREFIX.test(prefix) && !prefix.startsWith('/') && !prefix.split('/').some((segment) => segment === '..' || segment === '.' || segment === '');
}

/** A new key under `prefix`; the prefix is built by the server, and checked again here. */
export function newStorageKey(prefix: string, extension: string): { id: string; key: string } {
  if (!isSafePrefix(prefix) || !/^[a-z0-9]{1,8}$/.test(extension)) throw new Error(`unsafe storage key parts: ${prefix} .${extension}`);
  const id = randomUUID();
  return { id, key: `${prefix}/${id}.${extension}` };
}

/** Whether a client-sent key has exactly the format the server issues (and so no traversal, no absolute path). */
export function isIssuedKeyFormat(key: string): boolean {
  const match = KEY.exec(key);
  return match !== null && isSafePrefix(match[1]!);
}

export const keyPrefixes = {
  avatar: (userId: string) => `avatars/${userId}`,
  orgLogo: (organizationId: string) => `logos/${organizationId}`,
  attachment: (sessionId: string) => `attachments/${sessionId}`,
  /** What the orphan sweep lists. */
  all: ['avatars/', 'logos/', 'attachments/'] as const,
};
