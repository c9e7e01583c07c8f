import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type RequestHandler } from 'express';
import { z } from 'zod';
import { route, type RouteDefinition } from '../../http/route.js';
import type { MountedRoute } from '../../http/route-table.js';
import { buildOpenApiDocument } from './openapi.js';

const require = createRequire(import.meta.url);
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

/**
 * The docs page is the one HTML response: scripts and styles from this origin only, the
 * inline styles Swagger UI sets on elements, data: images, and no framing.
 */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Confidant API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true });\n`;

/** `/api/openapi.json` and `/api/docs`: the document is built from the route declarations on first use. */
export function docsRoutes(routes: () => MountedRoute[]): RouteDefinition[] {
  let document: unknown;
  const page = (contentType: string) => ({ status: 200, description: contentType === 'text/html' ? 'An HTML page' : 'JavaScript', contentType, cacheControl: 'public, max-age=300' });
  return [
    route(
      { method: 'GET', path: '/openapi.json', access: 'public', summary: 'This OpenAPI 3.1 document', response: { status: 200, description: 'The document', schema: z.looseObject({ openapi: z.literal('3.1.0') }), cacheControl: 'public, max-age=300' } },
      () => (document ??= buildOpenApiDocument(routes())) as { openapi: '3.1.0' },
    ),
    route({ method: 'GET', path: '/docs', access: 'public', summary: 'Interactive API documentation', response: page('text/html') }, ({ res }) => {
      res.set('Content-Security-Policy', DOCS_CSP).set('Cache-Control', 'public, max-age=300').type('html').send(PAGE);
    }),
    route({ method: 'GET', path: '/docs/init.js', access: 'public', summary: 'Script of the documentation page', response: page('application/javascript') }, ({ res }) => {
      res.set('Content-Security-Policy', DOCS_CSP).set('Cache-Control', 'public, max-age=300').type('application/javascript').send(INIT);
    }),
  ];
}

/** Swagger UI's files, under the docs page's CSP (static files, not API endpoints): mounted at `/docs/assets`. */
export function docsAssets(): RequestHandler {
  const serveStatic = express.static(SWAGGER_UI_DIR, { index: false });
  return function docsAsset(req, res, next) {
    res.set('Content-Security-Policy', DOCS_CSP).set('Cache-Control', 'public, max-age=300');
    serveStatic(req, res, next);
  };
}
