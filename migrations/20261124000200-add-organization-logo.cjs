'use strict';

/**
 * An organization's logo: the API address of its registered logo file (GET it for a signed
 * URL), set by the files module when a logo is registered.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('organizations', 'logo_url', { type: Sequelize.STRING(2048), allowNull: true });
  },

  async down(queryInterface) {
    await queryInterface.removeColumn('organizations', 'logo_url');
  },
};
