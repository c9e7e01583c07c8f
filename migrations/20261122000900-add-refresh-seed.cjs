'use strict';

/**
 * Refresh tokens become `<session>.<generation>.<mac>`, the mac keyed by AUTH_SECRET over the
 * session's random seed: the server can tell a genuine retired token (reuse: the session
 * ends) from a forged one (refused, nothing else happens).
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('auth_sessions', 'refresh_seed', { type: Sequelize.STRING(64), allowNull: true });
  },

  async down(queryInterface) {
    await queryInterface.removeColumn('auth_sessions', 'refresh_seed');
  },
};
