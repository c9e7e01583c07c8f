'use strict';

/**
 * Stored files: avatars and organization logos (uploaded straight to storage through a
 * presigned POST, `pending` until registered) and counseling attachments (uploaded through
 * the API, encrypted with a per-file key that is itself encrypted under the data key).
 * A session's or an organization's files go with it; an uploader's deletion keeps the
 * attachments they gave a client (uploaded_by becomes null).
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('stored_files', {
      id: { type: Sequelize.UUID, primaryKey: true },
      purpose: { type: Sequelize.STRING(16), allowNull: false },
      status: { type: Sequelize.STRING(16), allowNull: false },
      storage_key: { type: Sequelize.STRING(200), allowNull: false, unique: true },
      uploaded_by: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'SET NULL' },
      session_id: { type: Sequelize.UUID, allowNull: true, references: { model: 'counseling_sessions', key: 'id' }, onDelete: 'CASCADE' },
      organization_id: { type: Sequelize.UUID, allowNull: true, references: { model: 'organizations', key: 'id' }, onDelete: 'CASCADE' },
      content_type: { type: Sequelize.STRING(100), allowNull: false },
      size: { type: Sequelize.BIGINT, allowNull: false },
      filename: { type: Sequelize.TEXT, allowNull: true },
      wrapped_key: { type: Sequelize.TEXT, allowNull: true },
      expires_at: { type: Sequelize.DATE, allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
      updated_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('stored_files', ['uploaded_by', 'purpose', 'status']);
    await queryInterface.addIndex('stored_files', ['session_id']);
    await queryInterface.addIndex('stored_files', ['organization_id', 'purpose']);
    await queryInterface.addIndex('stored_files', ['status', 'expires_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('stored_files');
  },
};
