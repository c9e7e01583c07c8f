import type { Router } from 'express';
import { createApp, type AppDeps } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createSequelize } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrator.js';
import { createTestDatabase } from './database.js';

export interface TestAppOptions {
  env?: Record<string, string>;
  extraRoutes?: (router: Router) => void;
  deps?: Partial<Omit<AppDeps, 'config' | 'sequelize'>>;
}

/**
 * The real app on a real, freshly migrated database of its own. Call `close()` in afterAll.
 */
export async function createTestApp(options: TestAppOptions = {}) {
  const database = await createTestDatabase();
  const config = loadConfig({ NODE_ENV: 'test', ...database.env, ...options.env });
  const sequelize = createSequelize(config);
  await migrate(sequelize);
  const { app, context } = createApp({ config, sequelize, extraRoutes: options.extraRoutes, ...options.deps });
  return {
    app,
    context,
    config,
    sequelize,
    dialect: database.dialect,
    async close() {
      // Background work first (mail, events, sealing), so nothing touches a closed database.
      await context.background.idle();
      await context.mailer.idle();
      await context.events.flush();
      await context.auditChain.stop();
      await context.shared?.close();
      await sequelize.close();
      await database.drop();
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;
