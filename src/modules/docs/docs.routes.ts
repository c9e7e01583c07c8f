import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { Router, type Express } from 'express';
import { buildOpenApiDocument } from './openapi.js';
import { listRoutes } from './route-inventory.js';

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

/** `/api/openapi.json` and `/api/docs`: built from the running app's own routes on first use. */
export function docsRoutes(): Router {
  const router = Router();
  let document: unknown;

  router.get('/openapi.json', function openApiDocument(req, res) {
    document ??= buildOpenApiDocument(listRoutes(req.app as Express));
    res.set('Cache-Control', 'public, max-age=300').json(document);
  });

  const docsPage = Router();
  docsPage.use((_req, res, next) => {
    res.set('Content-Security-Policy', DOCS_CSP).set('Cache-Control', 'public, max-age=300');
    next();
  });
  docsPage.get('/', function docsIndex(_req, res) {
    res.type('html').send(PAGE);
  });
  docsPage.get('/init.js', function docsInit(_req, res) {
    res.type('application/javascript').send(INIT);
  });
  docsPage.use('/assets', express.static(SWAGGER_UI_DIR, { index: false }));
  router.use('/docs', docsPage);
  return router;
}
