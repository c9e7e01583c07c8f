'use strict';

/**
 * Export archives: one row per archive a person asked for, its state, and where the
 * encrypted zip waits (with its key, sealed under the person's data key) until it is
 * downloaded once or 24 hours have passed.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('data_exports', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      status: { type: Sequelize.STRING(16), allowNull: false },
      storage_key: { type: Sequelize.STRING(200), allowNull: true },
      sealed_key: { type: Sequelize.TEXT, allowNull: true },
      size: { type: Sequelize.BIGINT, allowNull: true },
      started_at: { type: Sequelize.DATE, allowNull: true },
      completed_at: { type: Sequelize.DATE, allowNull: true },
      downloaded_at: { type: Sequelize.DATE, allowNull: true },
      expires_at: { type: Sequelize.DATE, allowNull: false },
      created_at: { type: Sequelize.DATE, allowNull: false },
      updated_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('data_exports', ['user_id', 'created_at']);
    await queryInterface.addIndex('data_exports', ['status']);
    await queryInterface.addIndex('data_exports', ['expires_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('data_exports');
  },
};
