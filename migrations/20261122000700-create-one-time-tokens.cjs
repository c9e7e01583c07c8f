'use strict';

/**
 * Email verification and password reset tokens: 256-bit random, stored only as a SHA-256
 * hash, single use (`used_at`), expiring.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('one_time_tokens', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      purpose: { type: Sequelize.STRING(32), allowNull: false },
      token_hash: { type: Sequelize.STRING(64), allowNull: false, unique: true },
      expires_at: { type: Sequelize.DATE, allowNull: false },
      used_at: { type: Sequelize.DATE, allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('one_time_tokens', ['user_id', 'purpose']);
    await queryInterface.addIndex('one_time_tokens', ['expires_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('one_time_tokens');
  },
};
