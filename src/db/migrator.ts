import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { QueryTypes, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';

const require = createRequire(import.meta.url);
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const MIGRATIONS_GLOB = `${MIGRATIONS_DIR}*.cjs`;
const META_TABLE = 'SequelizeMeta';

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
    storage: new SequelizeStorage({ sequelize, modelName: META_TABLE, tableName: META_TABLE }),
    context: sequelize.getQueryInterface(),
    logger: undefined,
  });
}

export async function migrate(sequelize: Sequelize): Promise<string[]> {
  const applied = await createMigrator(sequelize).up();
  return applied.map((migration) => migration.name);
}

/**
 * The migrations this code expects that the database has not applied, read without
 * writing anything (umzug's storage would create its table, which the app's DML-only role
 * may not do). `missing` means no migration was ever applied.
 */
export async function schemaStatus(sequelize: Sequelize): Promise<{ missing: boolean; pending: string[] }> {
  const expected = readdirSync(MIGRATIONS_DIR)
    .filter((name) => name.endsWith('.cjs'))
    .sort();
  const queryInterface = sequelize.getQueryInterface();
  if (!(await queryInterface.tableExists(META_TABLE))) return { missing: true, pending: expected };
  const rows = await sequelize.query<{ name: string }>(`SELECT name FROM "${META_TABLE}"`, { type: QueryTypes.SELECT });
  const applied = new Set(rows.map((row) => row.name));
  return { missing: applied.size === 0, pending: expected.filter((name) => !applied.has(name)) };
}
