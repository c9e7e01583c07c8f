import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createSequelize } from '../../src/db/database.js';
import { Lifecycle } from '../../src/infra/lifecycle.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('health routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  describe('GET /health', () => {
    it('answers liveness with status, uptime, version and commit', async () => {
      const res = await request(t.app).get('/health').expect(200);
      expect(res.body).toEqual({ status: 'ok', uptime: expect.any(Number), version: '0.1.0', commit: 'unknown' });
    });
  });

  describe('GET /health/ready', () => {
    it('is 200 with the database check up when the database answers', async () => {
      const res = await request(t.app).get('/health/ready').expect(200);
      expect(res.body.status).toBe('ready');
      expect(res.body.checks.database.status).toBe('up');
    });

    it('is a 503 problem while the process is still starting', async () => {
      const { app } = createApp({ config: t.config, sequelize: t.sequelize, lifecycle: new Lifecycle('starting') });
      const res = await request(app).get('/health/ready').expect(503);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'NOT_READY', phase: 'starting', status: 503 });
    });

    it('is 503 with the database down when PostgreSQL is unreachable', async () => {
      const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nothing', DB_READY_TIMEOUT_MS: '1500' });
      const sequelize = createSequelize(config);
      const { app } = createApp({ config, sequelize });
      try {
        const res = await request(app).get('/health/ready').expect(503);
        expect(res.body.code).toBe('NOT_READY');
        expect(res.body.checks.database.status).toBe('down');
        expect(JSON.stringify(res.body)).not.toContain('127.0.0.1:1');
      } finally {
        await sequelize.close();
      }
    });
  });
});
