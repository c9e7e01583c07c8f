import { Validator } from '@seriousme/openapi-schema-validator';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('API documentation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  describe('GET /api/openapi.json', () => {
    it('is a valid OpenAPI 3.1 document', async () => {
      const res = await request(t.app).get('/api/openapi.json').expect(200);
      expect(res.body.openapi).toBe('3.1.0');
      const result = await new Validator().validate(res.body);
      expect(result.errors ?? []).toEqual([]);
      expect(result.valid).toBe(true);
    });

    it('documents every route the app serves, and nothing else', async () => {
      const served = t.routes.routes.map((route) => `${route.method} ${route.path}`).sort();
      expect(served.length).toBeGreaterThan(40);
      for (const { spec } of t.routes.routes) expect(spec.summary.length, `${spec.method} ${spec.path} has a summary`).toBeGreaterThan(0);

      const res = await request(t.app).get('/api/openapi.json').expect(200);
      const documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>)
        .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
        .sort();
      expect(documented).toEqual(served);
    });

    it('derives request schemas from the zod schemas the routes validate with', async () => {
      const res = await request(t.app).get('/api/openapi.json').expect(200);
      const addEntry = res.body.paths['/api/sessions/{id}/entries'].post;
      const variants = addEntry.requestBody.content['application/json'].schema.oneOf as { properties: { kind: { const: string } } }[];
      expect(variants.map((variant) => variant.properties.kind.const).sort()).toEqual(['emotion', 'note', 'transcript']);
      expect(addEntry.parameters).toContainEqual(expect.objectContaining({ name: 'id', in: 'path', required: true }));
      const list = res.body.paths['/api/sessions'].get;
      expect(list.parameters).toContainEqual(expect.objectContaining({ name: 'limit', in: 'query', schema: expect.objectContaining({ maximum: 100 }) }));
      expect(list.security).toEqual([{ bearerAuth: [] }]);
      expect(res.body.paths['/health'].get.security).toBeUndefined();
    });
  });

  describe('GET /api/docs', () => {
    it('serves the interactive page with a CSP of its own that allows only this origin', async () => {
      const res = await request(t.app).get('/api/docs').expect(200);
      expect(res.headers['content-type']).toContain('text/html');
      const csp = res.headers['content-security-policy'];
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/https?:|unsafe-eval|\*/);
      expect(res.text).not.toMatch(/<script>[^<]/); // no inline script
      await request(t.app).get('/api/docs/assets/swagger-ui-bundle.js').expect(200);
      await request(t.app).get('/api/docs/init.js').expect(200).expect('content-type', /javascript/);
    });

    it('answers a missing asset with a 404 problem', async () => {
      const res = await request(t.app).get('/api/docs/assets/nope.js').expect(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
    });

    it('keeps the strict API CSP on JSON routes', async () => {
      const res = await request(t.app).get('/api/openapi.json').expect(200);
      expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
    });
  });
});
