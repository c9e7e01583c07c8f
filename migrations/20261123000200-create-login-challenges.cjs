'use strict';

/**
 * A password sign-in of an account with a second factor waits here for the factor: the
 * challenge token is stored as a SHA-256 hash, bound to the login's transport and
 * remember-me choice, single use, expiring after 5 minutes, void after 5 tried codes.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('login_challenges', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      token_hash: { type: Sequelize.STRING(64), allowNull: false, unique: true },
      transport: { type: Sequelize.STRING(8), allowNull: false },
      remember_me: { type: Sequelize.BOOLEAN, allowNull: false },
      attempts: { type: Sequelize.INTEGER, allowNull: false, defaultValue: 0 },
      expires_at: { type: Sequelize.DATE, allowNull: false },
      used_at: { type: Sequelize.DATE, allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('login_challenges', ['expires_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('login_challenges');
  },
};
