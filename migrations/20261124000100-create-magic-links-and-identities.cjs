'use strict';

/**
 * Sign-in without a password. `magic_links`: a mailed sign-in link, stored as the SHA-256 of
 * its 256 random bits, for one address, single use, expiring after 15 minutes, bound to the
 * token transport and remember-me choice of the request; `user_id` is empty for a link that
 * creates an account (MAGIC_LINK_SIGNUP), and the `link_*` columns name an OpenID identity
 * the link attaches once it proves the address. `oidc_identities`: a person's accounts at
 * OpenID providers, keyed by (issuer, subject). `oidc_flows`: one sign-in at a provider,
 * from the redirect to the one-time code the SPA exchanges, each step once.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('magic_links', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      email: { type: Sequelize.STRING(254), allowNull: false },
      name: { type: Sequelize.STRING(100), allowNull: true },
      token_hash: { type: Sequelize.STRING(64), allowNull: false, unique: true },
      transport: { type: Sequelize.STRING(8), allowNull: false },
      remember_me: { type: Sequelize.BOOLEAN, allowNull: false },
      link_provider: { type: Sequelize.STRING(32), allowNull: true },
      link_issuer: { type: Sequelize.STRING(512), allowNull: true },
      link_subject: { type: Sequelize.STRING(255), allowNull: true },
      expires_at: { type: Sequelize.DATE, allowNull: false },
      used_at: { type: Sequelize.DATE, allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('magic_links', ['email']);
    await queryInterface.addIndex('magic_links', ['expires_at']);

    await queryInterface.createTable('oidc_identities', {
      id: { type: Sequelize.UUID, primaryKey: true },
      user_id: { type: Sequelize.UUID, allowNull: false, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      provider: { type: Sequelize.STRING(32), allowNull: false },
      issuer: { type: Sequelize.STRING(512), allowNull: false },
      subject: { type: Sequelize.STRING(255), allowNull: false },
      email: { type: Sequelize.STRING(254), allowNull: true },
      created_at: { type: Sequelize.DATE, allowNull: false },
      last_used_at: { type: Sequelize.DATE, allowNull: true },
    });
    await queryInterface.addIndex('oidc_identities', ['issuer', 'subject'], { unique: true });
    await queryInterface.addIndex('oidc_identities', ['user_id']);

    await queryInterface.createTable('oidc_flows', {
      id: { type: Sequelize.UUID, primaryKey: true },
      provider: { type: Sequelize.STRING(32), allowNull: false },
      binding_hash: { type: Sequelize.STRING(64), allowNull: true, unique: true },
      state: { type: Sequelize.STRING(64), allowNull: false, unique: true },
      nonce: { type: Sequelize.STRING(64), allowNull: false },
      code_verifier: { type: Sequelize.STRING(128), allowNull: false },
      return_to: { type: Sequelize.STRING(2048), allowNull: false },
      transport: { type: Sequelize.STRING(8), allowNull: false },
      remember_me: { type: Sequelize.BOOLEAN, allowNull: false },
      link_user_id: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      result_user_id: { type: Sequelize.UUID, allowNull: true, references: { model: 'users', key: 'id' }, onDelete: 'CASCADE' },
      exchange_code_hash: { type: Sequelize.STRING(64), allowNull: true, unique: true },
      started_at: { type: Sequelize.DATE, allowNull: true },
      called_back_at: { type: Sequelize.DATE, allowNull: true },
      exchanged_at: { type: Sequelize.DATE, allowNull: true },
      expires_at: { type: Sequelize.DATE, allowNull: false },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addIndex('oidc_flows', ['expires_at']);
  },

  async down(queryInterface) {
    await queryInterface.dropTable('oidc_flows');
    await queryInterface.dropTable('oidc_identities');
    await queryInterface.dropTable('magic_links');
  },
};
