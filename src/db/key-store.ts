import { DataTypes, QueryTypes, type ModelStatic, type QueryInterface, type Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug } from 'umzug';
import type { Config } from '../config/env.js';
import { defineDataKeyRow, type DataKeyRow } from '../models/data-key.model.js';
import { createSequelize } from './database.js';

/** The key store's file beside the data's SQLite file under DATA_DIR: a separate file, a separate backup. */
export const KEY_STORE_SQLITE_FILE = 'confidant-keys.sqlite';

/**
 * Where the wrapped data keys live. `separate-database` (KEY_STORE_URL) and `separate-file`
 * (the SQLite default) keep them out of the data's backups; `same-database` (PostgreSQL
 * without KEY_STORE_URL) is the fallback whose backups carry the keys, so erasure does not
 * reach them.
 */
export type KeyStoreLocation = 'separate-database' | 'separate-file' | 'same-database';

export const SAME_DATABASE_WARNING =
  'KEY_STORE_URL is not set: the wrapped data keys are kept in the data database, so its backups carry them and an erasure does not reach those backups; set KEY_STORE_URL to a second PostgreSQL database (docs/DEPLOY.md)';

/** The key store's own migrations, applied in its database (its own meta table), never in `migrations/`. */
const MIGRATIONS = [
  {
    name: '20261207000100-create-data-keys',
    async up(queryInterface: QueryInterface) {
      await queryInterface.createTable('data_keys', {
        id: { type: DataTypes.STRING(32), primaryKey: true, allowNull: false },
        // The person the key belongs to; null once the key is destroyed (the tombstone names nobody).
        owner_id: { type: DataTypes.STRING(64), allowNull: true, unique: true },
        // `<iv>.<tag>.<ciphertext>` under the master key named by master_key_id; null once destroyed.
        wrapped: { type: DataTypes.TEXT, allowNull: true },
        master_key_id: { type: DataTypes.STRING(16), allowNull: true },
        created_at: { type: DataTypes.DATE, allowNull: false },
        destroyed_at: { type: DataTypes.DATE, allowNull: true },
      });
      await queryInterface.addIndex('data_keys', ['master_key_id'], { name: 'data_keys_master_key_id' });
    },
    async down(queryInterface: QueryInterface) {
      await queryInterface.dropTable('data_keys');
    },
  },
];

/**
 * The connection to the key store: KEY_STORE_URL (a second PostgreSQL database), else the
 * data database itself when that is PostgreSQL (the fallback), else a second SQLite file
 * under DATA_DIR. `migrate()` is applied at start and, once, before the first use.
 */
export class KeyStore {
  readonly location: KeyStoreLocation;
  readonly sequelize: Sequelize;
  readonly keys: ModelStatic<DataKeyRow>;
  private readonly own: boolean;
  private prepared?: Promise<void>;

  constructor(config: Pick<Config, 'database' | 'dataDir' | 'keyStore'>, dataSequelize: Sequelize) {
    if (config.keyStore.url) {
      this.location = 'separate-database';
      this.sequelize = createSequelize({ dataDir: config.dataDir, database: { url: config.keyStore.url, poolMax: 4, readyTimeoutMs: config.database.readyTimeoutMs } });
      this.own = true;
    } else if (config.database.url) {
      this.location = 'same-database';
      this.sequelize = dataSequelize;
      this.own = false;
    } else {
      this.location = 'separate-file';
      this.sequelize = createSequelize({ dataDir: config.dataDir, database: { url: undefined, poolMax: 1, readyTimeoutMs: config.database.readyTimeoutMs } }, false, KEY_STORE_SQLITE_FILE);
      this.own = true;
    }
    this.keys = defineDataKeyRow(this.sequelize);
  }

  /** Whether a backup of the data database carries the keys (the fallback). */
  get sharesDataBackups(): boolean {
    return this.location === 'same-database';
  }

  /**
   * Creates the key store's table if it is missing; idempotent, shared by concurrent callers.
   * The fallback's table comes with the data's migrations (`npm run db:migrate`, as the owner).
   */
  migrate(): Promise<void> {
    if (this.location === 'same-database') return Promise.resolve();
    this.prepared ??= this.applyMigrations().catch((error: unknown) => {
      this.prepared = undefined;
      throw error;
    });
    return this.prepared;
  }

  private async applyMigrations(): Promise<void> {
    const queryInterface = this.sequelize.getQueryInterface();
    const umzug = new Umzug({
      migrations: MIGRATIONS.map((migration) => ({ name: migration.name, up: () => migration.up(queryInterface), down: () => migration.down(queryInterface) })),
      storage: new SequelizeStorage({ sequelize: this.sequelize, modelName: 'KeyStoreMeta', tableName: 'key_store_meta' }),
      context: queryInterface,
      logger: undefined,
    });
    try {
      await umzug.up();
    } catch (error) {
      // Another instance starting at the same moment may have created the table first.
      if ((await umzug.pending()).length > 0) throw error;
    }
  }

  async ping(): Promise<void> {
    await this.sequelize.query('SELECT 1', { type: QueryTypes.SELECT });
  }

  async close(): Promise<void> {
    if (this.own) await this.sequelize.close();
  }
}
