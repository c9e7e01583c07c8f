import { z } from 'zod';
import { addEntrySchema } from '../sessions/index.js';

/** The longest frame a socket may send (16 KiB); beyond, the socket is closed with 1009. */
export const MAX_FRAME_BYTES = 16 * 1024;

const sessionId = z.uuid();
/** The client's own label for an entry, echoed in its `entry.accepted` or `error` frame. */
const ref = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/).optional();

/** What a client may send: JSON text frames of exactly these shapes, nothing more. */
export const clientMessage = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('auth'), token: z.string().min(1).max(4096) }),
  z.strictObject({ type: z.literal('subscribe'), sessionId }),
  z.strictObject({ type: z.literal('unsubscribe'), sessionId }),
  z.strictObject({ type: z.literal('entry'), sessionId, ref, entry: addEntrySchema.body }),
]);

export type ClientMessage = z.output<typeof clientMessage>;

/**
 * Close codes of the channel. The 1xxx ones are the protocol's own; 44xx mirror the HTTP
 * statuses a REST client would have seen.
 */
export const CLOSE = {
  goingAway: 1001, //         the server shuts down: reconnect (to another instance)
  unsupportedData: 1003, //   a binary frame
  invalidPayload: 1007, //    not JSON (or not UTF-8)
  tooBig: 1009, //            a frame above 16 KiB (ws closes with it itself)
  unauthenticated: 4401, //   no valid auth message in time, or the login session ended
  forbidden: 4403, //         what the socket followed is no longer the account's to see
  tooMany: 4429, //           a flood of messages, or too many sockets of the account
} as const;
