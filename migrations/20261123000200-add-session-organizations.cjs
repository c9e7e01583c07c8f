'use strict';

/**
 * Counseling sessions belong to the organization of the care relationship they were started
 * in. Sessions from before organizations keep `organization_id` null and stay their client's
 * (no counselor reads them: only a care relationship gives a counselor access). An
 * organization with sessions cannot be deleted (RESTRICT; the app answers 409 before that).
 *
 * `session_access_grants`: break-glass, a platform admin's time-limited access to one
 * session's content, with the reason they stated.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('counseling_sessions', 'organization_id', {
      type: Sequelize.UUID,
      allowNull: true,
      references: { model: 'organizations', key: 'id' },
      onDelete: 'RESTRICT',
    });
    await queryInterface.addIndex('counseling_sessions', ['organization_id', 'started_at']);

    await queryInterface.createTable('session_access_grants', {
      id: { type: Sequelize.UUID, primaryKey: true },
      session_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'counseling_sessions', key: 'id' }, onDelete: 'CASCADE' },
      admin_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      reason: { type: Sequelize.STRING(500), allowNull: false },
      expires_at: { type: Sequelize.DATE, allowNull: false },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('session_access_grants', ['session_id', 'admin_id', 'expires_at']);
    await queryInterface.addIndex('session_access_grants', ['expires_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('session_access_grants');
    await queryInterface.removeIndex('counseling_sessions', ['organization_id', 'started_at']);
    await queryInterface.removeColumn('counseling_sessions', 'organization_id');
  },
};
