import type { Response } from 'express';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Writes a streamed 200 answer (a file, an archive). A failure after the headers went out cuts
 * the connection: the client sees a short body, never a wrong one passing as whole.
 */
export async function sendStream(res: Response, headers: Record<string, string>, body: Readable): Promise<void> {
  res.status(200).set(headers);
  await pipeline(body, res).catch(() => res.destroy());
}
