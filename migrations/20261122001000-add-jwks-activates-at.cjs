'use strict';

/**
 * Staged signing-key rotation: a new key is published at once but signs only from
 * `activates_at`, after every verifier's cached copy of the JWKS has expired. Existing keys
 * signed from their creation, so they activate at `created_at`. The column stays nullable:
 * an instance of the previous release writing a key during a rolling deploy leaves it
 * null, which the app reads as `created_at`.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('jwks', 'activates_at', { type: Sequelize.DATE, allowNull: true });
    await queryInterface.sequelize.query('UPDATE jwks SET activates_at = created_at');
  },

  async down(queryInterface) {
    await queryInterface.removeColumn('jwks', 'activates_at');
  },
};
