'use strict';

/**
 * The organization an event happened in, so an organization's admins can read its events.
 * Not a foreign key: the record outlives the organization. It is part of the sealed content
 * of an event (outside the personal part, so scrubbing a user keeps it); events written
 * before it existed have it null and hash as before.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('security_events', 'organization_id', { type: Sequelize.UUID, allowNull: true });
    await queryInterface.addIndex('security_events', ['organization_id', 'created_at']);
  },

  async down(queryInterface) {
    await queryInterface.removeIndex('security_events', ['organization_id', 'created_at']);
    await queryInterface.removeColumn('security_events', 'organization_id');
  },
};
