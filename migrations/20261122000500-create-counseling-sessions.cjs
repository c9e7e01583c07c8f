'use strict';

/**
 * Counseling sessions and their timeline. `user_id` on entries repeats the session's
 * client so the dashboard aggregates one client's entries through one index.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('counseling_sessions', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      counselor_id: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'SET NULL' },
      topic: { type: Sequelize.STRING(200), allowNull: true },
      status: { type: Sequelize.STRING(16), allowNull: false, defaultValue: 'active' },
      started_at: { type: Sequelize.DATE, allowNull: false },
      last_resumed_at: { type: Sequelize.DATE, allowNull: true },
      paused_at: { type: Sequelize.DATE, allowNull: true },
      ended_at: { type: Sequelize.DATE, allowNull: true },
      active_seconds: { type: Sequelize.INTEGER, allowNull: false, defaultValue: 0 },
      entry_count: { type: Sequelize.INTEGER, allowNull: false, defaultValue: 0 },
      created_at: { type: Sequelize.DATE, allowNull: false },
      updated_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('counseling_sessions', ['user_id', 'started_at', 'id']);
    await queryInterface.addIndex('counseling_sessions', ['counselor_id', 'started_at', 'id']);
    await queryInterface.addIndex('counseling_sessions', ['started_at', 'id']);
    await queryInterface.addIndex('counseling_sessions', ['status', 'ended_at']);

    await queryInterface.createTable('session_entries', {
      id: { type: Sequelize.UUID, primaryKey: true },
      session_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'counseling_sessions', key: 'id' }, onDelete: 'CASCADE' },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      author_id: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'SET NULL' },
      author_role: { type: Sequelize.STRING(16), allowNull: false },
      kind: { type: Sequelize.STRING(16), allowNull: false },
      emotion: { type: Sequelize.STRING(32), allowNull: true },
      valence: { type: Sequelize.FLOAT, allowNull: true },
      arousal: { type: Sequelize.FLOAT, allowNull: true },
      text: { type: Sequelize.TEXT, allowNull: true },
      speaker: { type: Sequelize.STRING(16), allowNull: true },
      at: { type: Sequelize.DATE, allowNull: false },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('session_entries', ['session_id', 'at', 'id']);
    await queryInterface.addIndex('session_entries', ['user_id', 'kind', 'at']);

    await queryInterface.createTable('session_feedback', {
      id: { type: Sequelize.UUID, primaryKey: true },
      session_id: { type: Sequelize.UUID, allowNull: false, unique: true, references: { model: 'counseling_sessions', key: 'id' }, onDelete: 'CASCADE' },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      rating: { type: Sequelize.INTEGER, allowNull: false },
      comment: { type: Sequelize.TEXT, allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
  },

  async down(queryInterface) {
    await queryInterface.dropTable('session_feedback');
    await queryInterface.dropTable('session_entries');
    await queryInterface.dropTable('counseling_sessions');
  },
};
