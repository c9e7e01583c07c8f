'use strict';

/**
 * The tamper-evident audit chain (docs/DESIGN.md §6). Each sealed event gets a gap-free `seq`, the
 * previous event's hash and its own; `personal_digest` keeps the hash of its personal
 * fields, so scrubbing them on account deletion leaves the chain verifiable. Retention
 * purges record where the remaining chain starts in `audit_checkpoints`.
 * @type {import('sequelize-cli').Migration}
 */
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('security_events', 'seq', { type: Sequelize.BIGINT, allowNull: true });
    await queryInterface.addColumn('security_events', 'prev_hash', { type: Sequelize.STRING(64), allowNull: true });
    await queryInterface.addColumn('security_events', 'hash', { type: Sequelize.STRING(64), allowNull: true });
    await queryInterface.addColumn('security_events', 'personal_digest', { type: Sequelize.STRING(64), allowNull: true });
    await queryInterface.addColumn('security_events', 'scrubbed_at', { type: Sequelize.DATE, allowNull: true });
    await queryInterface.addIndex('security_events', ['seq'], { unique: true, name: 'security_events_seq_unique' });

    await queryInterface.createTable('audit_checkpoints', {
      id: { type: Sequelize.UUID, primaryKey: true },
      through_seq: { type: Sequelize.BIGINT, allowNull: false, unique: true },
      anchor_hash: { type: Sequelize.STRING(64), allowNull: false },
      purged_count: { type: Sequelize.INTEGER, allowNull: false },
      created_at: { type: Sequelize.DATE, allowNull: false },
    });
  },

  async down(queryInterface) {
    await queryInterface.dropTable('audit_checkpoints');
    await queryInterface.removeIndex('security_events', 'security_events_seq_unique');
    for (const column of ['scrubbed_at', 'personal_digest', 'hash', 'prev_hash', 'seq']) {
      await queryInterface.removeColumn('security_events', column);
    }
  },
};
