import cookieParser from 'cookie-parser';
import type { Router } from 'express';
import type { ModuleDefaults, RouteTable } from './http/route-table.js';
import type { RouteDefinition } from './http/route.js';
import type { Modules } from './modules/index.js';

interface Mount extends Omit<ModuleDefaults, 'use'> {
  prefix: string;
  routes: (modules: Modules) => RouteDefinition[];
  use?: (modules: Modules) => ModuleDefaults['use'];
}

/**
 * Where every module's routes are served, with the module's defaults for its routes (body
 * limit, documentation tag). Most routes take a few fields; entries carry up to 10,000
 * characters of text.
 */
export const MOUNTS: Mount[] = [
  { prefix: '', routes: (m: Modules) => m.health.routes, tag: 'Health' },
  { prefix: '', routes: (m: Modules) => m.metrics.routes, tag: 'Monitoring' },
  { prefix: '', routes: (m: Modules) => m.auth.jwksRoutes, tag: 'Auth' },
  // The refresh and CSRF cookies live under /api/auth only: nothing else parses cookies.
  { prefix: '/api/auth', routes: (m: Modules) => m.auth.routes, tag: 'Auth', bodyLimit: '16kb', use: () => [{ handler: cookieParser() }] },
  { prefix: '/api/auth', routes: (m: Modules) => m.passwordless.routes, tag: 'Sign in without a password', bodyLimit: '16kb', use: () => [{ handler: cookieParser() }] },
  { prefix: '/api/auth', routes: (m: Modules) => m.mfa.routes, tag: 'Second factors', bodyLimit: '16kb' },
  { prefix: '/api/sessions', routes: (m: Modules) => m.sessions.routes, tag: 'Counseling sessions', bodyLimit: '64kb' },
  { prefix: '/api/live', routes: (m: Modules) => m.live.routes, tag: 'Live sessions' },
  // Attachments stream through busboy, never the JSON parser.
  { prefix: '/api/sessions', routes: (m: Modules) => m.files.attachmentRoutes, tag: 'Files', bodyLimit: '64kb' },
  { prefix: '/api/files', routes: (m: Modules) => m.files.routes, tag: 'Files', bodyLimit: '16kb' },
  { prefix: '/api/organizations', routes: (m: Modules) => m.organizations.routes, tag: 'Organizations', bodyLimit: '16kb' },
  { prefix: '/api/organizations', routes: (m: Modules) => m.dashboard.organizationRoutes, tag: 'Organizations' },
  { prefix: '/api/invitations', routes: (m: Modules) => m.organizations.invitationRoutes, tag: 'Organizations', bodyLimit: '16kb' },
  { prefix: '/api/dashboard', routes: (m: Modules) => m.dashboard.routes, tag: 'Dashboard' },
  { prefix: '/api/users', routes: (m: Modules) => m.users.routes, tag: 'Users', bodyLimit: '16kb' },
  { prefix: '/api/users', routes: (m: Modules) => m.privacy.routes, tag: 'Users', bodyLimit: '16kb' },
  { prefix: '/api/users', routes: (m: Modules) => m.consent.routes, tag: 'Consent', bodyLimit: '16kb' },
  { prefix: '/api/exports', routes: (m: Modules) => m.privacy.downloadRoutes, tag: 'Users' },
  { prefix: '/api/admin', routes: (m: Modules) => m.admin.routes, tag: 'Admin', bodyLimit: '16kb' },
  { prefix: '/api', routes: (m: Modules) => m.monitoring.routes, tag: 'Monitoring' },
  { prefix: '/api', routes: (m: Modules) => m.docs.routes, tag: 'Docs', use: (m: Modules) => [{ path: '/docs/assets', handler: m.docs.assets }] },
];

/** Every feature router, mounted in one place. */
export function mountRoutes(app: Router, table: RouteTable, modules: Modules): void {
  for (const mount of MOUNTS) {
    const router = table.router(mount.prefix, mount.routes(modules), { tag: mount.tag, bodyLimit: mount.bodyLimit, use: mount.use?.(modules) });
    if (mount.prefix === '') app.use(router);
    else app.use(mount.prefix, router);
  }
}
