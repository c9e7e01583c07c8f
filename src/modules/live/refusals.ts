import type { RequestMeta } from '../../http/request-meta.js';
import type { SecurityEventRecorder } from '../security-events/index.js';

export type RefusalReason = 'origin' | 'address_cap' | 'user_cap' | 'auth_timeout' | 'no_auth' | 'invalid_token' | 'shutting_down';

export const REFUSAL_REASONS: readonly RefusalReason[] = ['origin', 'address_cap', 'user_cap', 'auth_timeout', 'no_auth', 'invalid_token', 'shutting_down'];

const WINDOW_MS = 60_000;
const MAX_KEYS = 10_000;

/**
 * `live_connection_refused` security events at a bounded rate: one per reason and client
 * address a minute, so a client hammering the channel cannot flood the event log. Every
 * refusal is still counted (`count`, for the metrics).
 */
export function refusalLog(events: Pick<SecurityEventRecorder, 'record'>, count: (reason: RefusalReason) => void) {
  const lastRecorded = new Map<string, number>();
  return function refused(reason: RefusalReason, meta: RequestMeta, userId?: string): void {
    count(reason);
    const key = `${reason}|${meta.ip ?? ''}`;
    const now = Date.now();
    const last = lastRecorded.get(key);
    if (last !== undefined && now - last < WINDOW_MS) return;
    if (lastRecorded.size >= MAX_KEYS) lastRecorded.clear();
    lastRecorded.set(key, now);
    events.record({ type: 'live_connection_refused', userId: userId ?? null, ...meta, metadata: { reason } });
  };
}
