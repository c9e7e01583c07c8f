import type { Router } from 'express';
import { createApp, type AppDeps, type BuiltApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createSequelize } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrator.js';
import { createTestDatabase } from './database.js';

/** Rate limits far above what any test sends, for files that are not about the limits. */
export const LENIENT_LIMITS = { RATE_LIMIT_AUTH_MAX: '10000', RATE_LIMIT_WRITE_MAX: '10000', RATE_LIMIT_GLOBAL_MAX: '10000', MAGIC_LINK_CLIENT_MAX: '10000' };

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Lift the rate-limit tiers out of the way (LENIENT_LIMITS), unless `env` sets them. */
  lenientLimits?: boolean;
  extraRoutes?: (router: Router) => void;
  deps?: Partial<Omit<AppDeps, 'config' | 'sequelize'>>;
}

/** The infrastructure and the security-event log of an app, which most tests read. */
export function testContext(built: Pick<BuiltApp, 'infra' | 'modules'>) {
  return { ...built.infra, events: built.modules.securityEvents.recorder, auditChain: built.modules.securityEvents.auditChain };
}

/**
 * The real app on a real, freshly migrated database of its own. Call `close()` in afterAll.
 */
export async function createTestApp(options: TestAppOptions = {}) {
  const database = await createTestDatabase();
  const env = { NODE_ENV: 'test', ...database.env, ...(options.lenientLimits && LENIENT_LIMITS), ...options.env };
  const config = loadConfig(env);
  const sequelize = createSequelize(config);
  await migrate(sequelize);
  const built = createApp({ config, sequelize, extraRoutes: options.extraRoutes, ...options.deps });
  const { app, infra, modules, drain } = built;
  await infra.keyStore.migrate();
  return {
    app,
    infra,
    modules,
    routes: built.routes,
    context: testContext(built),
    config,
    /** The environment the app was configured from: an operations command run with it works on this app's database and files. */
    env,
    sequelize,
    dialect: database.dialect,
    async close() {
      await drain();
      await database.drop();
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>;
