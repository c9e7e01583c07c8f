'use strict';

/**
 * The key store's table inside the data database, for the fallback only: PostgreSQL without
 * KEY_STORE_URL keeps the wrapped per-person data keys here (docs/SECURITY.md §9), and so its
 * backups carry them. Created by `npm run db:migrate` as the owner, so the DML-only app role
 * can use it; with KEY_STORE_URL the table stays empty and the key store's own database gets
 * the same table from src/db/key-store.ts. SQLite never falls back (its key store is a
 * second file), so nothing is created there. Keep the columns as in src/db/key-store.ts.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    if (queryInterface.sequelize.getDialect() !== 'postgres') return;
    await queryInterface.createTable('data_keys', {
      id: { type: Sequelize.STRING(32), primaryKey: true, allowNull: false },
      owner_id: { type: Sequelize.STRING(64), allowNull: true, unique: true },
      wrapped: { type: Sequelize.TEXT, allowNull: true },
      master_key_id: { type: Sequelize.STRING(16), allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
      destroyed_at: { type: Sequelize.DATE, allowNull: true },
    });
    await queryInterface.addIndex('data_keys', ['master_key_id'], { name: 'data_keys_master_key_id' });
  },

  async down(queryInterface) {
    if (queryInterface.sequelize.getDialect() !== 'postgres') return;
    await queryInterface.dropTable('data_keys');
  },
};
