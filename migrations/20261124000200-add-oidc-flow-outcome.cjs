'use strict';

/**
 * What a provider's callback established, kept for the one exchange of its code: the identity
 * (issuer, subject, address) the ID token named, and either the account it signs in to or the
 * reason it was refused, which the exchange answers as a problem.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('oidc_flows', 'identity_issuer', { type: Sequelize.STRING(512), allowNull: true });
    await queryInterface.addColumn('oidc_flows', 'identity_subject', { type: Sequelize.STRING(255), allowNull: true });
    await queryInterface.addColumn('oidc_flows', 'identity_email', { type: Sequelize.STRING(254), allowNull: true });
    await queryInterface.addColumn('oidc_flows', 'refusal', { type: Sequelize.STRING(48), allowNull: true });
  },

  async down(queryInterface) {
    for (const column of ['refusal', 'identity_email', 'identity_subject', 'identity_issuer']) await queryInterface.removeColumn('oidc_flows', column);
  },
};
