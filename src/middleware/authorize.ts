import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error.js';
import type { Role } from '../models/user.model.js';

/** Who may call a route, as data: the OpenAPI document reads it from the middleware. */
export type Access = { kind: 'authenticated' } | { kind: 'roles'; roles: Role[] };

export const requireAuth: RequestHandler & { access: Access } = Object.assign(
  function requireAuth(req: Parameters<RequestHandler>[0], _res: Parameters<RequestHandler>[1], next: Parameters<RequestHandler>[2]) {
    if (!req.auth) throw AppError.unauthorized();
    next();
  },
  { access: { kind: 'authenticated' } as Access },
);

/** Roles as data: `requireRole('counselor', 'admin')`. Implies requireAuth. */
export function requireRole(...roles: Role[]): RequestHandler & { access: Access } {
  const requireRoleMiddleware: RequestHandler = function requireRoleMiddleware(req, _res, next) {
    if (!req.auth) throw AppError.unauthorized();
    if (!roles.includes(req.auth.role)) throw AppError.forbidden('FORBIDDEN_ROLE', 'Your role does not allow this.');
    next();
  };
  return Object.assign(requireRoleMiddleware, { access: { kind: 'roles', roles } as Access });
}
