'use strict';

/**
 * Scheduled jobs (docs/DESIGN.md §7.4) run on one instance at a time: an instance takes a job's row
 * until `locked_until`, so a crashed holder's lock simply expires.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('job_locks', {
      name: { type: Sequelize.STRING(64), primaryKey: true },
      holder: { type: Sequelize.STRING(128), allowNull: false },
      locked_until: { type: Sequelize.DATE, allowNull: false },
      last_run_at: { type: Sequelize.DATE, allowNull: true },
      last_result: { type: Sequelize.JSON, allowNull: true },
    });
  },

  async down(queryInterface) {
    await queryInterface.dropTable('job_locks');
  },
};
