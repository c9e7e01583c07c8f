'use strict';

/**
 * One row per login: the row is the refresh-token family. `refresh_token_hash` is the
 * current token, `previous_token_hash` the one it replaced (accepted within the grace
 * window for concurrent tabs); any older token is reuse and revokes the row.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('auth_sessions', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: {
        type: Sequelize.UUID,
        allowNull: false,
        references: { model: 'users', key: 'id' },
        onDelete: 'CASCADE',
      },
      refresh_token_hash: { type: Sequelize.STRING(64), allowNull: false },
      previous_token_hash: { type: Sequelize.STRING(64), allowNull: true },
      rotated_at: { type: Sequelize.DATE, allowNull: true },
      generation: { type: Sequelize.INTEGER, allowNull: false, defaultValue: 0 },
      remember_me: { type: Sequelize.BOOLEAN, allowNull: false, defaultValue: false },
      user_agent: { type: Sequelize.STRING(256), allowNull: true },
      ip: { type: Sequelize.STRING(64), allowNull: true },
      last_used_at: { type: Sequelize.DATE, allowNull: false },
      expires_at: { type: Sequelize.DATE, allowNull: false },
      revoked_at: { type: Sequelize.DATE, allowNull: true },
      revoked_reason: { type: Sequelize.STRING(32), allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
      updated_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('auth_sessions', ['user_id', 'revoked_at']);
    await queryInterface.addIndex('auth_sessions', ['expires_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('auth_sessions');
  },
};
