import type { Sequelize } from 'sequelize';
import { loadConfig, loadDotEnv, type Config } from '../config/env.js';
import { createSequelize } from '../db/database.js';
import { createLogger } from '../infra/logger.js';
import { defineModels, type Models } from '../models/index.js';

export interface CliContext {
  config: Config;
  sequelize: Sequelize;
  models: Models;
  logger: ReturnType<typeof createLogger>;
}

/**
 * Runs an operations command against the configured database with the same config as
 * the server, closes the connection, and sets the exit code from the result.
 */
export async function runCli(command: (context: CliContext) => Promise<boolean | void>): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const sequelize = createSequelize(config);
  const logger = createLogger({ level: config.log.level === 'silent' ? 'silent' : 'warn', format: config.log.format });
  try {
    const ok = await command({ config, sequelize, models: defineModels(sequelize), logger });
    if (ok === false) process.exitCode = 1;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  } finally {
    await sequelize.close();
  }
}
