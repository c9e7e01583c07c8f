import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';

const require = createRequire(import.meta.url);
const MIGRATIONS_GLOB = fileURLToPath(new URL('../../migrations/*.cjs', import.meta.url));

interface MigrationModule {
  up(queryInterface: unknown, sequelizeLib: typeof Sequelize): Promise<void>;
  down(queryInterface: unknown, sequelizeLib: typeof Sequelize): Promise<void>;
}

/**
 * The same `migrations/*.cjs` files sequelize-cli runs, applied in-process (development
 * boot and tests). The SequelizeMeta table is shared, so the two never disagree.
 */
export function createMigrator(sequelize: Sequelize) {
  return new Umzug({
    migrations: {
      glob: MIGRATIONS_GLOB,
      resolve: ({ name, path }) => {
        const migration = require(path as string) as MigrationModule;
        const queryInterface = sequelize.getQueryInterface();
        return {
          name,
          up: () => migration.up(queryInterface, Sequelize),
          down: () => migration.down(queryInterface, Sequelize),
        };
      },
    },
    // tableName explicitly: the global `underscored` option would otherwise make it `sequelize_meta`,
    // a table sequelize-cli never reads.
    storage: new SequelizeStorage({ sequelize, modelName: 'SequelizeMeta', tableName: 'SequelizeMeta' }),
    context: sequelize.getQueryInterface(),
    logger: undefined,
  });
}

export async function migrate(sequelize: Sequelize): Promise<string[]> {
  const applied = await createMigrator(sequelize).up();
  return applied.map((migration) => migration.name);
}
