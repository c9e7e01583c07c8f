import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error.js';
import type { Role } from '../models/user.model.js';

export const requireAuth: RequestHandler = function requireAuth(req, _res, next) {
  if (!req.auth) throw AppError.unauthorized();
  next();
};

/** Roles as data: `requireRole('counselor', 'admin')`. Implies requireAuth. */
export function requireRole(...roles: Role[]): RequestHandler {
  return function requireRoleMiddleware(req, _res, next) {
    if (!req.auth) throw AppError.unauthorized();
    if (!roles.includes(req.auth.role)) throw AppError.forbidden('FORBIDDEN_ROLE', 'Your role does not allow this.');
    next();
  };
}
