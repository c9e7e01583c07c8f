import type { Request } from 'express';

/** Who is asking, for security events and login sessions: the client address and user agent. */
export function requestMeta(req: Request) {
  return { ip: req.ip ?? null, userAgent: req.get('user-agent')?.slice(0, 256) ?? null };
}
