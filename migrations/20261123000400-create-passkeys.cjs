'use strict';

/**
 * Passkeys (WebAuthn credentials): the public key and signature counter of each, and the
 * challenges of the registration and sign-in ceremonies (single use, short-lived).
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('passkeys', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      credential_id: { type: Sequelize.STRING(1400), allowNull: false, unique: true },
      public_key: { type: Sequelize.TEXT, allowNull: false },
      counter: { type: Sequelize.BIGINT, allowNull: false, defaultValue: 0 },
      transports: { type: Sequelize.JSON, allowNull: false },
      device_type: { type: Sequelize.STRING(16), allowNull: false },
      backed_up: { type: Sequelize.BOOLEAN, allowNull: false, defaultValue: false },
      name: { type: Sequelize.STRING(64), allowNull: false },
      last_used_at: { type: Sequelize.DATE, allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
      updated_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('passkeys', ['user_id']);
    await queryInterface.createTable('webauthn_challenges', {
      id: { type: Sequelize.UUID, primaryKey: true },
      challenge: { type: Sequelize.STRING(128), allowNull: false, unique: true },
      ceremony: { type: Sequelize.STRING(16), allowNull: false },
      user_id: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      expires_at: { type: Sequelize.DATE, allowNull: false },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('webauthn_challenges', ['expires_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('webauthn_challenges');
    await queryInterface.dropTable('passkeys');
  },
};
