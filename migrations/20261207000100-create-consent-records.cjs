'use strict';

/**
 * Consent records: every acceptance and withdrawal of a versioned document (terms, privacy,
 * the explicit consent to process health data), kept as a history, newest last.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('consent_records', {
      // An append-only log: the id orders it, also where two records share a millisecond.
      id: { type: Sequelize.INTEGER, primaryKey: true, autoIncrement: true },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      document: { type: Sequelize.STRING(32), allowNull: false },
      version: { type: Sequelize.STRING(32), allowNull: false },
      action: { type: Sequelize.STRING(16), allowNull: false },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('consent_records', ['user_id', 'id']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('consent_records');
  },
};
