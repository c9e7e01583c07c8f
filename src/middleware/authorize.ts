import type { RequestHandler } from 'express';
import { AppError } from '../errors/app-error.js';
import type { AccessSpec } from '../http/route.js';

const requireAuth: RequestHandler = function requireAuth(req, _res, next) {
  if (!req.auth) throw AppError.unauthorized();
  next();
};

function requireRole(roles: readonly string[]): RequestHandler {
  return function requireRole(req, _res, next) {
    if (!req.auth) throw AppError.unauthorized();
    if (!roles.includes(req.auth.role)) throw AppError.forbidden('FORBIDDEN_ROLE', 'Your role does not allow this.');
    next();
  };
}

/** Admins, or the bearer MONITORING_TOKEN (recognised, in constant time, by `authenticate`). */
const requireMonitoring: RequestHandler = function requireMonitoring(req, _res, next) {
  if (req.serviceToken === 'monitoring' || req.auth?.role === 'admin') return next();
  if (req.auth) throw AppError.forbidden('FORBIDDEN_ROLE', 'Only admins and monitoring may read error statistics.');
  throw AppError.unauthorized('MONITORING_ACCESS_REQUIRED', 'An admin access token or the monitoring token is required.');
};

/** A session that may only enrol a second factor goes no further than the routes that enrol one. */
const refuseEnrolmentOnly: RequestHandler = function refuseEnrolmentOnly(req, _res, next) {
  if (req.auth?.enrolmentOnly) {
    throw AppError.forbidden('MFA_ENROLMENT_REQUIRED', 'Your role requires a second factor: set up an authenticator app or a passkey, then refresh the session.');
  }
  next();
};

/** `/metrics`: the MONITORING_TOKEN, the METRICS_TOKEN (which opens nothing else), or an admin. */
const requireMetrics: RequestHandler = function requireMetrics(req, _res, next) {
  if (req.serviceToken !== undefined || req.auth?.role === 'admin') return next();
  if (req.auth) throw AppError.forbidden('FORBIDDEN_ROLE', 'Only admins and the monitoring or metrics token may read metrics.');
  throw AppError.unauthorized('METRICS_ACCESS_REQUIRED', 'The METRICS_TOKEN, the MONITORING_TOKEN or an admin access token is required.');
};

/** The middleware that enforces a route's declared access (roles as data). */
export function accessGuard(access: AccessSpec, options: { duringEnrolment?: boolean } = {}): RequestHandler[] {
  if (access === 'public') return [];
  const enrolment = options.duringEnrolment ? [] : [refuseEnrolmentOnly];
  if (access === 'authenticated') return [requireAuth, ...enrolment];
  if (access === 'monitoring') return [requireMonitoring, ...enrolment];
  if (access === 'metrics') return [requireMetrics, ...enrolment];
  return [requireRole(access.roles), ...enrolment];
}
