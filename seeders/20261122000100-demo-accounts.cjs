'use strict';
// Demo accounts, one per role, for trying the API locally (`npm run db:seed`).
// Never in production: the passwords below are public.
const { randomUUID } = require('node:crypto');
const argon2 = require('argon2');

const DEMO_ACCOUNTS = [
  { email: 'admin@demo.confidant.local', name: 'Ada Admin', role: 'admin', password: 'orchard-lantern-velvet-42' },
  { email: 'counselor@demo.confidant.local', name: 'Cora Counselor', role: 'counselor', password: 'meadow-beacon-quartz-42' },
  { email: 'client@demo.confidant.local', name: 'Cliff Client', role: 'user', password: 'harbor-compass-saffron-42' },
];

function refuseProduction() {
  if (process.env.NODE_ENV === 'production') {
    throw new Error('demo seeders never run in production');
  }
}

/** @type {import('sequelize-cli').Migration} */
module.exports = {
  DEMO_ACCOUNTS,

  async up(queryInterface) {
    refuseProduction();
    const now = new Date();
    const emails = DEMO_ACCOUNTS.map((account) => account.email);
    const [existing] = await queryInterface.sequelize.query('SELECT email FROM users WHERE email IN (:emails)', {
      replacements: { emails },
    });
    const taken = new Set(existing.map((row) => row.email));
    const rows = [];
    for (const account of DEMO_ACCOUNTS.filter((candidate) => !taken.has(candidate.email))) {
      rows.push({
        id: randomUUID(),
        email: account.email,
        name: account.name,
        role: account.role,
        password_hash: await argon2.hash(account.password, { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 }),
        email_verified_at: now,
        created_at: now,
        updated_at: now,
      });
    }
    if (rows.length > 0) await queryInterface.bulkInsert('users', rows);

    console.log('\nDemo accounts (development only):');
    for (const account of DEMO_ACCOUNTS) {
      console.log(`  ${account.role.padEnd(9)} ${account.email.padEnd(32)} ${account.password}`);
    }
    console.log('');
  },

  async down(queryInterface) {
    refuseProduction();
    await queryInterface.bulkDelete('users', { email: DEMO_ACCOUNTS.map((account) => account.email) });
  },
};
