'use strict';

/**
 * An organization's own retention of its sessions' data, in days, for a practice whose law
 * asks for another time than the platform's SESSION_DATA_RETENTION_DAYS; null (every existing
 * organization) keeps the platform's. The bounds are configuration (ORG_RETENTION_MIN_DAYS,
 * ORG_RETENTION_MAX_DAYS), checked by the API and again by the retention job.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('organizations', 'session_data_retention_days', { type: Sequelize.INTEGER, allowNull: true });
  },

  async down(queryInterface) {
    await queryInterface.removeColumn('organizations', 'session_data_retention_days');
  },
};
