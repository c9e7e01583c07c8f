'use strict';

/**
 * Practices and care teams: organizations, their members with an org role, invitations by
 * email (the token stored as a SHA-256 hash only, like one_time_tokens) and care
 * relationships between a counselor and a client of the same organization.
 *
 * A care relationship is ended, never deleted: at most one active relationship per
 * organization, counselor and client (a partial unique index). When a counselor's account is
 * deleted the app ends their relationships first and the row keeps the client's history with
 * the counselor unset; a deleted client takes their relationships with them.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('organizations', {
      id: { type: Sequelize.UUID, primaryKey: true },
      name: { type: Sequelize.STRING(100), allowNull: false },
      slug: { type: Sequelize.STRING(50), allowNull: false, unique: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
      updated_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('organizations', ['created_at', 'id']);

    await queryInterface.createTable('memberships', {
      id: { type: Sequelize.UUID, primaryKey: true },
      organization_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'organizations', key: 'id' }, onDelete: 'CASCADE' },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      role: { type: Sequelize.STRING(16), allowNull: false },
      created_at: { type: Sequelize.DATE, allowNull: false },
      updated_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('memberships', ['organization_id', 'user_id'], { unique: true });
    await queryInterface.addIndex('memberships', ['user_id']);

    await queryInterface.createTable('invitations', {
      id: { type: Sequelize.UUID, primaryKey: true },
      organization_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'organizations', key: 'id' }, onDelete: 'CASCADE' },
      email: { type: Sequelize.STRING(254), allowNull: false },
      role: { type: Sequelize.STRING(16), allowNull: false },
      counselor_id: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'SET NULL' },
      invited_by: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'SET NULL' },
      token_hash: { type: Sequelize.STRING(64), allowNull: false, unique: true },
      expires_at: { type: Sequelize.DATE, allowNull: false },
      accepted_at: { type: Sequelize.DATE, allowNull: true },
      accepted_by: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'SET NULL' },
      revoked_at: { type: Sequelize.DATE, allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('invitations', ['organization_id', 'created_at', 'id']);
    await queryInterface.addIndex('invitations', ['email']);
    await queryInterface.addIndex('invitations', ['expires_at']);

    await queryInterface.createTable('care_relationships', {
      id: { type: Sequelize.UUID, primaryKey: true },
      organization_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'organizations', key: 'id' }, onDelete: 'CASCADE' },
      counselor_id: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'SET NULL' },
      client_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      created_by: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'SET NULL' },
      started_at: { type: Sequelize.DATE, allowNull: false },
      ended_at: { type: Sequelize.DATE, allowNull: true },
      ended_by: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'SET NULL' },
      created_at: { type: Sequelize.DATE, allowNull: false },
      updated_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('care_relationships', ['organization_id', 'counselor_id', 'client_id'], {
      unique: true,
      where: { ended_at: null },
      name: 'care_relationships_one_active',
    });
    await queryInterface.addIndex('care_relationships', ['organization_id', 'started_at', 'id']);
    await queryInterface.addIndex('care_relationships', ['counselor_id', 'ended_at']);
    await queryInterface.addIndex('care_relationships', ['client_id', 'ended_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('care_relationships');
    await queryInterface.dropTable('invitations');
    await queryInterface.dropTable('memberships');
    await queryInterface.dropTable('organizations');
  },
};
