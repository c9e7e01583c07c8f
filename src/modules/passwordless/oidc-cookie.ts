import type { CookieOptions, Request, Response } from 'express';
import type { Config } from '../../config/env.js';
import { OIDC_FLOW_TTL_MS } from './oidc-flows.js';

/**
 * The cookie that binds a provider sign-in to the browser that started it: HttpOnly,
 * SameSite=Lax (the provider's redirect back is a cross-site top-level GET, which Lax admits
 * and Strict would not), scoped to /api/auth/oidc, as long-lived as the flow, Secure in production.
 */
export function oidcCookie(config: Pick<Config, 'isProduction'>) {
  const name = config.isProduction ? '__Secure-confidant_oidc' : 'confidant_oidc';
  const options: CookieOptions = { httpOnly: true, secure: config.isProduction, sameSite: 'lax', path: '/api/auth/oidc' };
  return {
    set: (res: Response, binding: string) => res.cookie(name, binding, { ...options, maxAge: OIDC_FLOW_TTL_MS }),
    read(req: Request): string | undefined {
      const value: unknown = req.cookies?.[name];
      return typeof value === 'string' && value !== '' ? value : undefined;
    },
    clear: (res: Response) => res.clearCookie(name, options),
  };
}

export type OidcCookie = ReturnType<typeof oidcCookie>;
