import type { Express } from 'express';
import type { Access } from '../../middleware/authorize.js';
import type { RequestSchemas } from '../../middleware/validate.js';

export interface RouteInfo {
  method: string;
  /** Express form, `/api/sessions/:id`. */
  path: string;
  schemas: RequestSchemas;
  access?: Access;
  monitoring?: boolean;
}

interface Handle {
  (...args: never[]): unknown;
  stack?: Layer[];
  schemas?: RequestSchemas;
  access?: Access;
  monitoring?: boolean;
}

interface Layer {
  rawPath?: string | string[];
  handle: Handle;
  route?: { path: string; methods: Record<string, boolean>; stack: Layer[] };
}

function join(prefix: string, path: string): string {
  const joined = `${prefix}/${path}`.replace(/\/+/g, '/');
  return joined.length > 1 ? joined.replace(/\/$/, '') : joined;
}

/**
 * Every route the app serves, read from Express's own router stack, with what its
 * middleware declares: the zod schemas of `validate` and the access of `requireAuth` /
 * `requireRole`. The OpenAPI document and the authorization tests are built from this,
 * so a route cannot exist without appearing in them.
 */
export function listRoutes(app: Express): RouteInfo[] {
  const routes: RouteInfo[] = [];
  const walk = (layers: Layer[], prefix: string, inherited: Pick<RouteInfo, 'access' | 'monitoring'>) => {
    let scope = { ...inherited };
    for (const layer of layers) {
      const mount = typeof layer.rawPath === 'string' ? layer.rawPath : '/';
      if (layer.route) {
        const handlers = layer.route.stack.map((item) => item.handle);
        const schemas = Object.assign({}, ...handlers.map((handler) => handler.schemas ?? {})) as RequestSchemas;
        const access = handlers.find((handler) => handler.access)?.access ?? scope.access;
        const monitoring = handlers.some((handler) => handler.monitoring) || scope.monitoring;
        for (const method of Object.keys(layer.route.methods)) {
          routes.push({ method: method.toUpperCase(), path: join(prefix, layer.route.path), schemas, access, monitoring });
        }
      } else if (layer.handle.stack) {
        walk(layer.handle.stack, join(prefix, mount), scope);
      } else if (layer.handle.access) {
        scope = { ...scope, access: layer.handle.access }; // router.use(requireRole(...)) guards what follows
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '', {});
  return routes;
}
