import type { MountedRoute } from '../../http/route-table.js';
import { docsAssets, docsRoutes } from './docs.routes.js';

/** The OpenAPI document (from the route declarations) and the interactive page for it. */
export function createDocsModule(routes: () => MountedRoute[]) {
  return { routes: docsRoutes(routes), assets: docsAssets() };
}
