'use strict';

/** @type {import('sequelize-cli').Migration} */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('user_preferences', {
      user_id: { type: Sequelize.UUID, primaryKey: true, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      language: { type: Sequelize.STRING(16), allowNull: false },
      theme: { type: Sequelize.STRING(16), allowNull: false },
      timezone: { type: Sequelize.STRING(64), allowNull: false },
      notifications: { type: Sequelize.JSON, allowNull: false },
      created_at: { type: Sequelize.DATE, allowNull: false },
      updated_at: { type: Sequelize.DATE, allowNull: false },
    });

    // The same key from the same user within 24 h returns the first result (unique per user).
    await queryInterface.createTable('idempotency_keys', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      key: { type: Sequelize.STRING(255), allowNull: false },
      scope: { type: Sequelize.STRING(64), allowNull: false },
      request_hash: { type: Sequelize.STRING(64), allowNull: false },
      response_status: { type: Sequelize.INTEGER, allowNull: false },
      response_body: { type: Sequelize.JSON, allowNull: false },
      created_at: { type: Sequelize.DATE, allowNull: false },
      expires_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('idempotency_keys', ['user_id', 'scope', 'key'], { unique: true });
    await queryInterface.addIndex('idempotency_keys', ['expires_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('idempotency_keys');
    await queryInterface.dropTable('user_preferences');
  },
};
