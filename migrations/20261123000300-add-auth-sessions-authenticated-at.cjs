'use strict';

/**
 * When the person behind a login session last proved who they are (the sign-in, or
 * POST /api/auth/reauthenticate): sensitive actions need it within the last 5 minutes.
 * Sessions from before this column count as authenticated long ago.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('auth_sessions', 'authenticated_at', { type: Sequelize.DATE, allowNull: true });
  },

  async down(queryInterface) {
    await queryInterface.removeColumn('auth_sessions', 'authenticated_at');
  },
};
