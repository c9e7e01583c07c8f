'use strict';

/** @type {import('sequelize-cli').Migration} */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('security_events', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: {
        type: Sequelize.UUID,
        allowNull: true,
        references: { model: 'users', key: 'id' },
        onDelete: 'SET NULL',
      },
      type: { type: Sequelize.STRING(48), allowNull: false },
      ip: { type: Sequelize.STRING(64), allowNull: true },
      user_agent: { type: Sequelize.STRING(256), allowNull: true },
      metadata: { type: Sequelize.JSON, allowNull: false, defaultValue: {} },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('security_events', ['user_id', 'created_at']);
    await queryInterface.addIndex('security_events', ['type', 'created_at']);
    await queryInterface.addIndex('security_events', ['ip', 'created_at']);
    await queryInterface.addIndex('security_events', ['created_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('security_events');
  },
};
