'use strict';

/**
 * Second factors, part one: the authenticator app (TOTP) and recovery codes. The TOTP
 * secret is field-encrypted under DATA_ENCRYPTION_KEY and bound to its row; `last_used_step`
 * refuses a code a second time. Recovery codes are stored as keyed hashes, used once.
 * Both go with the account (ON DELETE CASCADE).
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('totp_factors', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: { type: Sequelize.UUID, allowNull: false, unique: true, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      secret_encrypted: { type: Sequelize.STRING(255), allowNull: false },
      confirmed_at: { type: Sequelize.DATE, allowNull: true },
      last_used_step: { type: Sequelize.BIGINT, allowNull: true },
      last_used_at: { type: Sequelize.DATE, allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
      updated_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.createTable('recovery_codes', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      code_hash: { type: Sequelize.STRING(64), allowNull: false, unique: true },
      used_at: { type: Sequelize.DATE, allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('recovery_codes', ['user_id']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('recovery_codes');
    await queryInterface.dropTable('totp_factors');
  },
};
