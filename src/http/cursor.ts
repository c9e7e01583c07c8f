import { z } from 'zod';
import { AppError } from '../errors/app-error.js';

const cursorShape = z.tuple([z.iso.datetime(), z.uuid()]);

export interface Cursor {
  at: Date;
  id: string;
}

/** Keyset pagination: an opaque cursor naming the last row's (timestamp, id). */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Cursor | undefined {
  if (cursor === undefined) return undefined;
  try {
    const [at, id] = cursorShape.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { at: new Date(at), id };
  } catch {
    throw AppError.badRequest('INVALID_CURSOR', 'The cursor is not one this API issued.');
  }
}

/** The answer of a paginated list: the items and the cursor of the next page (null on the last). */
export const pageOf = <T extends z.ZodType>(item: T) => z.strictObject({ items: z.array(item), nextCursor: z.string().nullable() });

/** The page and the cursor of the next one, from `limit + 1` rows. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => { at: Date; id: string }) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const next = rows.length > limit && last ? keyOf(last) : undefined;
  return { items, nextCursor: next ? encodeCursor(next.at, next.id) : null };
}
