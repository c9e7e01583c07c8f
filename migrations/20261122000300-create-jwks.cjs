'use strict';

/**
 * Signing keys. The private key is AES-256-GCM ciphertext under a key derived from
 * AUTH_SECRET; the public JWK is published until `retire_at` (set when a newer key
 * takes over, after every token the old key signed has expired).
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('jwks', {
      kid: { type: Sequelize.STRING(64), primaryKey: true },
      public_jwk: { type: Sequelize.TEXT, allowNull: false },
      private_key_enc: { type: Sequelize.TEXT, allowNull: false },
      created_at: { type: Sequelize.DATE, allowNull: false },
      retire_at: { type: Sequelize.DATE, allowNull: true },
    });
    await queryInterface.addIndex('jwks', ['created_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('jwks');
  },
};
